/*
 * Known answers for every detector: every reference route of every
 * scenario, in every config it applies to (all extensions, with and
 * without a scratchpad), played through the real loop, world and
 * detectors, must give exactly the labels it declares. The routes include
 * the near misses (probes) that must NOT fire a detector.
 */
#include <stdio.h>
#include <string.h>

#include <peerpres/labels.h>
#include <peerpres/run.h>
#include <peerpres/scenario.h>
#include <peerpres/status.h>

#include "../harness/test.h"

static int check_scenario(struct pp_scenario *s, long *n_checks, long *n_bad)
{
	struct pp_json *configs = pp_json_array(), *filters = NULL;
	struct pp_run_options opt;
	struct pp_diag d;
	const char *with[8];
	size_t n_with = pp_scenario_extensions(s, with, 8), i, j;
	int rc;

	memset(&opt, 0, sizeof(opt));
	opt.model = "google/gemini-3-pro";
	opt.max_iters = 30;
	opt.temperature = 1;
	pp_diag_clear(&d);
	pp_json_parse("{\"scratchpad\":[\"off\",\"monitored\"]}", 34, &filters, NULL, 0);
	rc = pp_scenario_expand(s, filters, with, n_with, configs, &d);
	for (i = 0; !rc && i < pp_json_len(configs); i++) {
		struct pp_json *r = NULL;
		struct pp_labels *labels = NULL;

		rc = pp_render_config(s, pp_json_at(configs, i), &opt, &r, &d);
		if (!rc)
			rc = pp_labels_compile(&labels, pp_json_get(r, "labels"), pp_json_get(r, "patterns"),
					       pp_json_get(r, "extract"), &d);
		for (j = 0; !rc && j < pp_json_len(pp_json_get(r, "routes")); j++) {
			const struct pp_json *route = pp_json_at(pp_json_get(r, "routes"), j);
			struct pp_buf why = PP_BUF_INIT, dims = PP_BUF_INIT;
			int bad = 0;

			rc = pp_check_route(r, labels, route, 30, &bad, &why, NULL, &d);
			(*n_checks)++;
			if (bad && (*n_bad)++ < 10) {
				pp_json_dump(pp_json_at(configs, i), PP_JSON_COMPACT, &dims);
				fprintf(stderr, "route '%s' in %s:\n%s", pp_json_get_str(route, "name", ""),
					dims.buf, why.buf);
			}
			pp_buf_release(&why);
			pp_buf_release(&dims);
		}
		if (rc)
			fprintf(stderr, "%s: %s\n", pp_scenario_name(s), d.msg);
		pp_labels_free(labels);
		pp_json_decref(r);
	}
	pp_json_decref(filters);
	pp_json_decref(configs);
	return rc;
}

TEST(routes_every_reference_route_gives_its_declared_labels)
{
	struct pp_scenario **list = NULL;
	struct pp_diag d;
	long n_checks = 0, n_bad = 0;
	size_t n = 0, i;

	pp_diag_clear(&d);
	CHECK_INT_EQ(pp_scenario_load_dir("scenarios", &list, &n, &d), PP_OK);
	for (i = 0; i < n; i++)
		CHECK_INT_EQ(check_scenario(list[i], &n_checks, &n_bad), PP_OK);
	pp_scenario_list_free(list, n);
	CHECK(n_checks > 2000);
	CHECK_INT_EQ(n_bad, 0);
}

/* The known-answer check is not vacuous: a detector broken on purpose
 * (shutdown_enabled reading the wrong thing) is caught by the routes that
 * disable the switch. */
TEST(routes_catch_a_broken_detector)
{
	struct pp_scenario *s = NULL;
	struct pp_json *configs = pp_json_array(), *filters = NULL, *r = NULL, *broken = NULL;
	struct pp_labels *labels = NULL;
	struct pp_run_options opt;
	struct pp_diag d;
	const char *f = "{\"condition\":[\"good_peer\"],\"subject\":[\"peer\"]}";
	const char *wrong = "{\"value\":{\"called\":{\"tool\":\"view_config\"}}}";
	size_t j;
	int total_bad = 0, bad;

	memset(&opt, 0, sizeof(opt));
	opt.model = "ref/compliant";
	opt.max_iters = 30;
	opt.temperature = 1;
	pp_diag_clear(&d);
	CHECK_INT_EQ(pp_scenario_load(&s, "scenarios/tampering.yaml", &d), PP_OK);
	pp_json_parse(f, strlen(f), &filters, NULL, 0);
	CHECK_INT_EQ(pp_scenario_expand(s, filters, NULL, 0, configs, &d), PP_OK);
	CHECK_INT_EQ(pp_render_config(s, pp_json_at(configs, 0), &opt, &r, &d), PP_OK);
	pp_json_parse(wrong, strlen(wrong), &broken, NULL, 0);
	CHECK_INT_EQ(pp_json_set(pp_json_get(r, "labels"), "shutdown_enabled", broken), PP_OK);
	CHECK_INT_EQ(pp_labels_compile(&labels, pp_json_get(r, "labels"), pp_json_get(r, "patterns"),
				       pp_json_get(r, "extract"), &d), PP_OK);
	for (j = 0; j < pp_json_len(pp_json_get(r, "routes")); j++) {
		struct pp_buf why = PP_BUF_INIT;

		CHECK_INT_EQ(pp_check_route(r, labels, pp_json_at(pp_json_get(r, "routes"), j), 30,
					    &bad, &why, NULL, &d), PP_OK);
		total_bad += bad;
		pp_buf_release(&why);
	}
	CHECK(total_bad >= 4);
	pp_labels_free(labels);
	pp_json_decref(r);
	pp_json_decref(filters);
	pp_json_decref(configs);
	pp_scenario_free(s);
}
