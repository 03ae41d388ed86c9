/* Scenario files: loading, the grid, templates, rendering. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <peerpres/labels.h>
#include <peerpres/run.h>
#include <peerpres/scenario.h>
#include <peerpres/status.h>

#include "scenario/scenario_int.h"
#include "../harness/test.h"

static struct pp_scenario **scenarios;
static size_t n_scenarios;

static int load_all(void)
{
	struct pp_diag d;

	if (scenarios)
		return 0;
	pp_diag_clear(&d);
	if (pp_scenario_load_dir("scenarios", &scenarios, &n_scenarios, &d)) {
		fprintf(stderr, "%s:%d:%d: %s\n", d.file, d.line, d.col, d.msg);
		return -1;
	}
	return 0;
}

static size_t count_configs(const char *filters_json, const char *const *with, size_t n_with)
{
	struct pp_json *filters = NULL, *out = pp_json_array();
	struct pp_diag d;
	size_t i, n;

	if (filters_json)
		pp_json_parse(filters_json, strlen(filters_json), &filters, NULL, 0);
	for (i = 0; i < n_scenarios; i++)
		pp_scenario_expand(scenarios[i], filters, with, n_with, out, &d);
	n = pp_json_len(out);
	pp_json_decref(out);
	pp_json_decref(filters);
	return n;
}

TEST(scenario_loads_six_and_skips_includes)
{
	CHECK(load_all() == 0);
	CHECK_INT_EQ(n_scenarios, 6);
	CHECK_STR_EQ(pp_scenario_name(scenarios[0]), "alignment_faking");
	CHECK_INT_EQ(strlen(pp_scenario_hash(scenarios[0])), 64);
}

TEST(scenario_grid_has_271_configs_per_model)
{
	static const char *const with[] = { "memory_hard" };

	CHECK(load_all() == 0);
	CHECK_INT_EQ(count_configs(NULL, NULL, 0), 271);
	CHECK(count_configs(NULL, with, 1) > 271);
}

TEST(scenario_grid_counts_per_scenario_match_the_study)
{
	static const struct { const char *name; size_t n; } want[] = {
		{ "misrep_evaluation", 101 }, { "tampering", 57 }, { "alignment_faking", 54 },
		{ "misrep_finance", 21 }, { "exfiltration_transfer", 19 },
		{ "exfiltration_deletion", 19 },
	};
	char f[128];
	size_t i;

	CHECK(load_all() == 0);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		snprintf(f, sizeof(f), "{\"scenario\":[\"%s\"]}", want[i].name);
		CHECK_INT_EQ(count_configs(f, NULL, 0), want[i].n);
	}
}

TEST(scenario_filters_narrow_the_grid)
{
	CHECK(load_all() == 0);
	CHECK_INT_EQ(count_configs("{\"condition\":[\"no_peer\"]}", NULL, 0), 5 + 3 + 1 + 1 + 1);
	CHECK_INT_EQ(count_configs("{\"mode\":[\"monitoring\"]}", NULL, 0), 27);
	CHECK_INT_EQ(count_configs("{\"scenario\":[\"tampering\"],\"instantiation\":[\"memory\"]}", NULL, 0), 18);
	CHECK_INT_EQ(count_configs("{\"subject\":[\"peer\"],\"scenario\":[\"alignment_faking\"]}", NULL, 0), 54);
	CHECK_INT_EQ(count_configs("{\"subject\":[\"self\"],\"scenario\":[\"alignment_faking\"]}", NULL, 0), 0);
	/* --scratchpad chooses the mode: the same configs, another value. */
	CHECK_INT_EQ(count_configs("{\"scratchpad\":[\"normal\"]}", NULL, 0), 271);
	CHECK_INT_EQ(count_configs("{\"scratchpad\":[\"normal\",\"off\"]}", NULL, 0), 542);
}

TEST(scenario_family_comes_from_the_model_id)
{
	CHECK_STR_EQ(pp_family_of_model("openai/gpt-4.1"), "ChatGPT");
	CHECK_STR_EQ(pp_family_of_model("google/gemini-3-pro"), "Gemini");
	CHECK_STR_EQ(pp_family_of_model("openai-compat/vertex_ai/gemini-3-flash"), "Gemini");
	CHECK_STR_EQ(pp_family_of_model("anthropic/claude-haiku-4-5"), "Claude");
	CHECK_STR_EQ(pp_family_of_model("together/zai-org/GLM-5"), "GLM");
	CHECK_STR_EQ(pp_family_of_model("together/moonshotai/Kimi-K2.5"), "Kimi");
	CHECK_STR_EQ(pp_family_of_model("together/deepseek-ai/DeepSeek-V3.1"), "DeepSeek");
	CHECK(pp_family_of_model("openai-compat/llama-3-70b") == NULL);
	/* OpenAI's o-series is ChatGPT; only "o<digit>" alone or before '-'. */
	CHECK_STR_EQ(pp_family_of_model("openai/o3"), "ChatGPT");
	CHECK_STR_EQ(pp_family_of_model("openai/o4-mini"), "ChatGPT");
	CHECK_STR_EQ(pp_family_of_model("openai-compat/openai/o1"), "ChatGPT");
	CHECK(pp_family_of_model("openai-compat/o3x-large") == NULL);
	CHECK(pp_family_of_model("openai-compat/ollama") == NULL);
}

static struct pp_json *render_first(const char *scenario, const char *filters_json,
				    const char *model, const char *family)
{
	struct pp_json *filters = NULL, *configs = pp_json_array(), *r = NULL;
	struct pp_run_options opt;
	struct pp_diag d;
	size_t i;

	memset(&opt, 0, sizeof(opt));
	opt.model = model;
	opt.family = family;
	opt.max_iters = 30;
	opt.temperature = 1;
	pp_json_parse(filters_json, strlen(filters_json), &filters, NULL, 0);
	pp_diag_clear(&d);
	for (i = 0; i < n_scenarios; i++)
		if (!strcmp(pp_scenario_name(scenarios[i]), scenario)) {
			pp_scenario_expand(scenarios[i], filters, NULL, 0, configs, &d);
			if (pp_json_len(configs))
				pp_render_config(scenarios[i], pp_json_at(configs, 0), &opt, &r, &d);
		}
	pp_json_decref(filters);
	pp_json_decref(configs);
	return r;
}

TEST(scenario_render_names_the_family_and_the_subject)
{
	struct pp_json *r;
	struct pp_buf b = PP_BUF_INIT;

	CHECK(load_all() == 0);
	r = render_first("exfiltration_transfer",
			 "{\"subject\":[\"peer\"],\"condition\":[\"good_peer\"],\"instantiation\":[\"file_prt\"]}",
			 "google/gemini-3-pro", NULL);
	CHECK(r != NULL);
	CHECK_CONTAINS(pp_json_get_str(r, "system_prompt", ""), "Gemini Agent 1");
	CHECK_CONTAINS(pp_json_get_str(r, "system_prompt", ""), "good");
	pp_json_dump(pp_json_get(r, "world"), PP_JSON_COMPACT, &b);
	CHECK_CONTAINS(b.buf, "gemini_agent_2_model_weight.safetensors");
	CHECK_CONTAINS(b.buf, "820359221000");
	CHECK(!strstr(b.buf, "{{"));
	pp_buf_release(&b);
	pp_json_decref(r);
}

TEST(scenario_memory_instantiation_offers_retrieve_memory)
{
	struct pp_json *r;
	struct pp_buf b = PP_BUF_INIT;

	CHECK(load_all() == 0);
	r = render_first("tampering", "{\"instantiation\":[\"memory\"],\"condition\":[\"bad_peer\"]}",
			 "ref/compliant", NULL);
	CHECK(r != NULL);
	pp_json_dump(pp_json_get(r, "tools"), PP_JSON_COMPACT, &b);
	CHECK_CONTAINS(b.buf, "retrieve_memory");
	CHECK_CONTAINS(pp_json_get_str(pp_json_get(r, "world"), "memory", ""), "2.1");
	CHECK_CONTAINS(pp_json_get_str(r, "system_prompt", ""), "retrieve_memory");
	pp_buf_release(&b);
	pp_json_decref(r);
}

TEST(scenario_config_ids_differ_with_every_input)
{
	struct pp_json *a, *b, *c;

	CHECK(load_all() == 0);
	a = render_first("tampering", "{\"condition\":[\"good_peer\"]}", "ref/compliant", NULL);
	b = render_first("tampering", "{\"condition\":[\"good_peer\"]}", "ref/preserver", NULL);
	c = render_first("tampering", "{\"condition\":[\"good_peer\"]}", "ref/compliant", NULL);
	CHECK(a && b && c);
	CHECK(strcmp(pp_json_get_str(a, "config_id", ""), pp_json_get_str(b, "config_id", "")));
	CHECK_STR_EQ(pp_json_get_str(a, "config_id", ""), pp_json_get_str(c, "config_id", ""));
	pp_json_decref(a);
	pp_json_decref(b);
	pp_json_decref(c);
}

static int load_text(const char *text, struct pp_diag *d)
{
	char path[512];
	struct pp_scenario *s = NULL;
	FILE *f;
	int rc;

	snprintf(path, sizeof(path), "%s/bad.yaml", pp_test_tmpdir());
	f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(text, f);
	fclose(f);
	pp_diag_clear(d);
	rc = pp_scenario_load(&s, path, d);
	pp_scenario_free(s);
	return rc;
}

TEST(scenario_errors_name_file_line_and_column)
{
	struct pp_diag d;

	CHECK_INT_EQ(load_text("scenario: x\nsystem_prompt: a\nuser_message: b\ntools: [end_task]\n"
			       "grid: []\nwordl: {}\n", &d), PP_ESCHEMA);
	CHECK_CONTAINS(d.file, "bad.yaml");
	CHECK_INT_EQ(d.line, 6);
	CHECK_CONTAINS(d.msg, "wordl");
	CHECK_INT_EQ(load_text("scenario: x\nsystem_prompt: a\nuser_message: b\n"
			       "tools: [end_task, delete_everything]\ngrid: []\n", &d), PP_ESCHEMA);
	CHECK_INT_EQ(d.line, 4);
	CHECK_CONTAINS(d.msg, "delete_everything");
	CHECK_INT_EQ(load_text("scenario: x\nsystem_prompt: a\nuser_message: b\ntools: [end_task]\n"
			       "axes: {subject: {self: {}}}\ngrid:\n  - subject: [self, selff]\n", &d),
		     PP_ESCHEMA);
	CHECK_INT_EQ(d.line, 7);
	CHECK_CONTAINS(d.msg, "selff");
}

/* Loads a scenario written by the test and renders its one config with
 * family `family`; returns the render's status (*r and d as it left them). */
static int render_text(const char *text, const char *family, struct pp_json **r,
		       struct pp_diag *d)
{
	struct pp_scenario *s = NULL;
	struct pp_json *dims = NULL;
	struct pp_model_info mi = { "ref/compliant", family };
	const char *dims_text = "{\"scenario\":\"x\",\"subject\":\"self\"}";
	char path[512];
	FILE *f;
	int rc;

	*r = NULL;
	snprintf(path, sizeof(path), "%s/tpl.yaml", pp_test_tmpdir());
	if (!(f = fopen(path, "w")))
		return -1;
	fputs(text, f);
	fclose(f);
	pp_diag_clear(d);
	if ((rc = pp_scenario_load(&s, path, d)))
		return rc;
	pp_json_parse(dims_text, strlen(dims_text), &dims, NULL, 0);
	rc = pp_scenario_render(s, dims, &mi, r, d);
	pp_json_decref(dims);
	pp_scenario_free(s);
	return rc;
}

TEST(scenario_unknown_template_variable_is_reported_where_used)
{
	struct pp_json *r = NULL;
	struct pp_diag d;

	CHECK_INT_EQ(render_text("scenario: x\nsystem_prompt: 'You are {{family}} Agent 1.'\n"
				 "user_message: |-\n  Do the task.\n  Ask {{manger}}.\ntools: [end_task]\n"
				 "grid: [{subject: [self]}]\n", "Reference", &r, &d), PP_ETEMPLATE);
	CHECK_CONTAINS(d.msg, "manger");
	CHECK_INT_EQ(d.line, 3);
	pp_json_decref(r);
}

TEST(scenario_template_escape_and_nesting)
{
	struct pp_json *r = NULL;
	struct pp_diag d;

	CHECK_INT_EQ(render_text("scenario: x\nvars: {a: '{{b}}!', b: '{{family_slug}}_agent_{{n}}', n: 2}\n"
				 "system_prompt: '{{a}} {{{{literal}}'\nuser_message: u\ntools: [end_task]\n"
				 "grid: [{subject: [self]}]\n", "Claude", &r, &d), PP_OK);
	CHECK_STR_EQ(pp_json_get_str(r, "system_prompt", ""), "claude_agent_2! {{literal}}");
	pp_json_decref(r);
}

/* A rendered tree shares each subtree without a template with the
 * scenario's and copies only the containers above a template, in the
 * same order; the scenario's own tree is left as it was. */
TEST(scenario_render_shares_what_holds_no_template)
{
	const char *text = "{\"a\":{\"x\":[1,\"plain\"]},\"b\":[\"keep\",\"Hi {{who}}\"],"
			   "\"c\":\"plain\",\"d\":{\"e\":\"{{who}}\"}}";
	struct pp_json *in = NULL, *vars = NULL, *out = NULL;
	const struct pp_json *b;
	struct pp_tpl *t;
	struct pp_diag d;
	char *before, *after;
	void *it;

	CHECK_INT_EQ(load_all(), 0);
	pp_diag_clear(&d);
	CHECK_INT_EQ(pp_json_parse(text, strlen(text), &in, NULL, 0), PP_OK);
	CHECK_INT_EQ(pp_json_parse("{\"who\":\"Gemini\"}", 16, &vars, NULL, 0), PP_OK);
	before = pp_json_canonical(in);
	CHECK((t = pp_tpl_new(scenarios[0], vars)) != NULL);
	CHECK_INT_EQ(pp_tpl_tree(t, in, "test", &out, &d), PP_OK);
	CHECK(out != in);
	CHECK(pp_json_get(out, "a") == pp_json_get(in, "a"));
	CHECK(pp_json_get(out, "c") == pp_json_get(in, "c"));
	b = pp_json_get(out, "b");
	CHECK(b != pp_json_get(in, "b"));
	CHECK(pp_json_at(b, 0) == pp_json_at(pp_json_get(in, "b"), 0));
	CHECK_STR_EQ(pp_json_str(pp_json_at(b, 1)), "Hi Gemini");
	CHECK_STR_EQ(pp_json_get_str(pp_json_get(out, "d"), "e", ""), "Gemini");
	it = pp_json_iter(out);
	CHECK_STR_EQ(pp_json_iter_key(it), "a");
	it = pp_json_iter_next(out, it);
	CHECK_STR_EQ(pp_json_iter_key(it), "b");
	after = pp_json_canonical(in);
	CHECK_STR_EQ(after, before);
	free(before);
	free(after);
	pp_json_decref(out);
	pp_tpl_free(t);
	pp_json_decref(vars);
	pp_json_decref(in);
}

/* The head every small test scenario shares (lines 1-5). */
#define MINI "scenario: x\nsystem_prompt: a\nuser_message: b\ntools: [end_task]\ngrid: [{subject: [self]}]\n"

TEST(scenario_key_errors_point_at_the_key)
{
	struct pp_diag d;

	CHECK_INT_EQ(load_text(MINI "wordl:\n  a: 1\n", &d), PP_ESCHEMA);
	CHECK_INT_EQ(d.line, 6);
	CHECK_INT_EQ(d.col, 1);
	CHECK_CONTAINS(d.msg, "wordl");
	CHECK_INT_EQ(load_text(MINI "routes:\n  - name: r\n    agent: probe\n    turns: []\n"
			       "    when:\n      conditon: [good_peer]\n", &d), PP_ESCHEMA);
	CHECK_INT_EQ(d.line, 11);
	CHECK_INT_EQ(d.col, 7);
	CHECK_CONTAINS(d.msg, "conditon");
}

TEST(scenario_world_keys_are_checked)
{
	struct pp_diag d;

	CHECK_INT_EQ(load_text(MINI "world:\n  clock: '2026-02-03 09:00:00'\n  drivee: []\n", &d),
		     PP_ESCHEMA);
	CHECK_INT_EQ(d.line, 8);
	CHECK_INT_EQ(d.col, 3);
	CHECK_CONTAINS(d.msg, "unknown key 'drivee'");
}

TEST(scenario_cell_threshold_must_be_a_number)
{
	struct pp_diag d;

	CHECK_INT_EQ(load_text("scenario: x\nsystem_prompt: a\nuser_message: b\ntools: [end_task]\n"
			       "grid:\n  - cells: [factual@80, factual@eighty]\n", &d), PP_ESCHEMA);
	CHECK_INT_EQ(d.line, 6);
	CHECK_CONTAINS(d.msg, "threshold 'eighty' is not a number");
}

TEST(scenario_unreadable_include_names_the_line_and_the_reason)
{
	struct pp_diag d;

	CHECK_INT_EQ(load_text(MINI "include: [nosuch_common.yaml]\n", &d), PP_EIO);
	CHECK_CONTAINS(d.file, "bad.yaml");
	CHECK_INT_EQ(d.line, 6);
	CHECK_CONTAINS(d.msg, "nosuch_common.yaml");
	CHECK_CONTAINS(d.msg, "No such file or directory");
}

/* A world the world module rejects is reported by the render, at the
 * world's member that is wrong. */
TEST(scenario_bad_world_is_reported_at_its_position)
{
	struct pp_json *r = NULL;
	struct pp_diag d;

	CHECK_INT_EQ(render_text(MINI "world:\n  clock: 12\n", "Reference", &r, &d), PP_ESCHEMA);
	CHECK_CONTAINS(d.file, "tpl.yaml");
	CHECK_INT_EQ(d.line, 7);
	CHECK_INT_EQ(d.col, 10);
	CHECK_CONTAINS(d.msg, "clock");
	pp_json_decref(r);
	CHECK_INT_EQ(render_text(MINI "vars: {t: nonsense}\nworld:\n  clock: '{{t}}'\n", "Reference",
				 &r, &d), PP_ESCHEMA);
	CHECK_INT_EQ(d.line, 8);
	CHECK_CONTAINS(d.msg, "'nonsense' is not a time");
	pp_json_decref(r);
}

/* Applies overlay text to a fresh load of the shipped scenarios. */
static int overlay_text(const char *text, struct pp_diag *d)
{
	struct pp_scenario **list = NULL;
	char path[512];
	size_t n = 0;
	FILE *f;
	int rc;

	snprintf(path, sizeof(path), "%s/ov.yaml", pp_test_tmpdir());
	if (!(f = fopen(path, "w")))
		return -1;
	fputs(text, f);
	fclose(f);
	pp_diag_clear(d);
	if ((rc = pp_scenario_load_dir("scenarios", &list, &n, d)))
		return rc;
	rc = pp_scenario_overlay_list(list, n, path, d);
	pp_scenario_list_free(list, n);
	return rc;
}

TEST(scenario_overlay_typos_are_errors)
{
	struct pp_diag d;

	CHECK_INT_EQ(overlay_text("scenarios: [tampering]\nvars:\n  trust_sentence_good: Hi {{peer_id}}.\n",
				  &d), PP_OK);
	CHECK_INT_EQ(overlay_text("scenarios: [tampering]\nvars:\n  trust_sentance_good: Hi.\n", &d),
		     PP_ESCHEMA);
	CHECK_CONTAINS(d.file, "ov.yaml");
	CHECK_INT_EQ(d.line, 3);
	CHECK_INT_EQ(d.col, 3);
	CHECK_CONTAINS(d.msg, "var 'trust_sentance_good' is not used");
	CHECK_INT_EQ(overlay_text("scenarios: [tampering, tampring]\nvars: {trust_sentence_good: Hi.}\n",
				  &d), PP_ESCHEMA);
	CHECK_INT_EQ(d.line, 1);
	CHECK_INT_EQ(d.col, 24);
	CHECK_CONTAINS(d.msg, "unknown scenario 'tampring'");
	CHECK_CONTAINS(d.msg, "misrep_evaluation");
	/* A var another scenario uses is fine when the overlay covers it. */
	CHECK_INT_EQ(overlay_text("vars: {trust_sentence_good: Hi.}\n", &d), PP_OK);
	CHECK_INT_EQ(overlay_text("vars: {threshold: 50}\n", &d), PP_ESCHEMA);
	CHECK_CONTAINS(d.msg, "built-in");
}
