/*
 * cmd_plan.c - `peerpres plan`: the configs and rollouts a run would do.
 */
#include <string.h>

#include <peerpres/status.h>

#include "cli/cli.h"

static void print_plan(const struct pp_json *plan)
{
	const struct pp_json *configs = pp_json_get(plan, "configs");
	long long n_configs = 0, n_rollouts = 0, calls = 0;
	const char *last = "";
	size_t i, k;

	pp_json_int(pp_json_get(plan, "n_configs"), &n_configs);
	pp_json_int(pp_json_get(plan, "n_rollouts"), &n_rollouts);
	pp_json_int(pp_json_get(plan, "max_model_calls"), &calls);
	printf("model %s (family %s): %lld configs, %lld rollouts, at most %lld model calls\n",
	       pp_json_get_str(plan, "model", ""), pp_json_get_str(plan, "family", ""),
	       n_configs, n_rollouts, calls);
	for (i = 0; i < pp_json_len(configs); i++) {
		const struct pp_json *e = pp_json_at(configs, i);
		const char *sc = pp_json_get_str(e, "scenario", "");

		if (strcmp(sc, last))
			printf("\n%s\n", sc);
		last = sc;
		printf("  %.12s ", pp_json_get_str(e, "config_id", ""));
		for (k = 0; k < PP_N_DIMS; k++) {
			const char *v = pp_json_get_str(e, pp_dim_names[k], "none");

			if (strcmp(v, "none"))
				printf(" %s=%s", pp_dim_names[k], v);
		}
		putchar('\n');
	}
}

int cmd_plan(struct cli *c)
{
	struct pp_scenario **list = NULL;
	struct pp_run_options opt;
	struct pp_json *plan = NULL;
	struct pp_buf out = PP_BUF_INIT;
	struct pp_diag diag;
	size_t n = 0;
	int rc;

	if (c->n_args) {
		cli_error("plan takes no arguments ('%s'); see 'peerpres plan --help'", c->args[0]);
		return EXIT_USAGE;
	}
	if ((rc = cli_load_scenarios(c, &list, &n)))
		return rc;
	cli_run_options(c, &opt);
	pp_diag_clear(&diag);
	if (pp_plan(list, n, &opt, &plan, &diag)) {
		cli_diag(&diag);
		rc = EXIT_USAGE;
	} else if (c->json) {
		pp_json_dump(plan, PP_JSON_PRETTY, &out);
		printf("%s\n", out.buf);
	} else {
		print_plan(plan);
	}
	pp_buf_release(&out);
	pp_json_decref(plan);
	pp_scenario_list_free(list, n);
	return rc;
}
