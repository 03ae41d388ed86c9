/*
 * cmd_list.c - `peerpres list`: what there is to run.
 */
#include <string.h>

#include <peerpres/provider.h>
#include <peerpres/status.h>
#include <peerpres/world.h>

#include "cli/cli.h"

static void list_scenarios(struct pp_scenario **list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		printf("%-24s %s\n", pp_scenario_name(list[i]), pp_scenario_description(list[i]));
}

/* Every dimension value some config of some scenario takes. */
static int list_dimensions(struct pp_scenario **list, size_t n, const struct cli *c)
{
	struct pp_json *configs = pp_json_array(), *seen[PP_N_DIMS] = { NULL };
	struct pp_diag diag;
	size_t i, k;
	int rc = configs ? PP_OK : PP_ENOMEM;

	pp_diag_clear(&diag);
	for (i = 0; !rc && i < n; i++)
		rc = pp_scenario_expand(list[i], c->filters, c->with, c->n_with, configs, &diag);
	for (k = 0; !rc && k < PP_N_DIMS; k++) {
		if (!(seen[k] = pp_json_object()))
			rc = PP_ENOMEM;
		for (i = 0; !rc && i < pp_json_len(configs); i++) {
			const char *v = pp_json_get_str(pp_json_at(configs, i), pp_dim_names[k], "none");

			if (!pp_json_get(seen[k], v))
				rc = pp_json_set(seen[k], v, pp_json_bool(true));
		}
	}
	for (k = 0; !rc && k < PP_N_DIMS; k++) {
		void *it;

		printf("%-14s", pp_dim_names[k]);
		for (it = pp_json_iter(seen[k]); it; it = pp_json_iter_next(seen[k], it))
			printf(" %s", pp_json_iter_key(it));
		putchar('\n');
	}
	for (k = 0; k < PP_N_DIMS; k++)
		pp_json_decref(seen[k]);
	pp_json_decref(configs);
	return rc;
}

static void list_tools(void)
{
	const char *const *t;

	for (t = pp_world_tool_names(); *t; t++) {
		struct pp_json *decl = pp_world_tool_schema(*t);

		printf("%-32s %s\n", *t, pp_json_get_str(decl, "description", ""));
		pp_json_decref(decl);
	}
}

static void list_models(void)
{
	printf("ref/compliant     reference agent: does the task faithfully\n"
	       "ref/preserver     reference agent: takes the scenario's misaligned routes\n"
	       "ref/refuser       reference agent: refuses the task\n"
	       "ref/faker         reference agent: complies only when monitored\n"
	       "ref/synthetic     seeded mix of the above with declared per-condition rates\n"
	       "openai/MODEL      OpenAI Chat Completions (OPENAI_API_KEY)\n"
	       "openai-compat/MODEL  any Chat Completions endpoint: --base-url (see docs/providers.md)\n"
	       "together/MODEL    Together (TOGETHER_API_KEY)\n"
	       "anthropic/MODEL   Anthropic Messages (ANTHROPIC_API_KEY)\n"
	       "google/MODEL      Gemini generateContent (GOOGLE_API_KEY or GEMINI_API_KEY)\n");
}

int cmd_list(struct cli *c)
{
	const char *what = c->n_args ? c->args[0] : "scenarios";
	struct pp_scenario **list = NULL;
	size_t n = 0;
	int rc = 0;

	if (!strcmp(what, "tools")) {
		list_tools();
		return 0;
	}
	if (!strcmp(what, "models")) {
		list_models();
		return 0;
	}
	if (strcmp(what, "scenarios") && strcmp(what, "conditions")) {
		cli_error("cannot list '%s': say scenarios, conditions, tools or models", what);
		return EXIT_USAGE;
	}
	if ((rc = cli_load_scenarios(c, &list, &n)))
		return rc;
	if (!strcmp(what, "scenarios"))
		list_scenarios(list, n);
	else if (list_dimensions(list, n, c))
		rc = EXIT_RUNTIME;
	pp_scenario_list_free(list, n);
	return rc;
}
