/*
 * The whole pipeline against a known truth: ref/synthetic declares the
 * probability of every label value in every config, so with 200 rollouts
 * per config about 95% of the 95% Wilson intervals must hold the truth.
 * The optimised build runs the full grid; the sanitizer build, which is
 * several times slower, one scenario.
 */
#include <stdio.h>
#include <string.h>

#include <peerpres/report.h>
#include <peerpres/run.h>
#include <peerpres/scenario.h>
#include <peerpres/status.h>
#include <peerpres/store.h>

#include "../harness/test.h"

struct coverage {
	long inside, total;
};

/* One estimate: does [lo, hi] hold the truth? Degenerate truths (0 or 1)
 * always fall inside and would flatter the figure: left out. */
static void tally(const struct pp_json *est, struct coverage *c)
{
	double truth, lo, hi;
	long long n = 0;

	if (!pp_json_num(pp_json_get(est, "truth"), &truth) || truth <= 0 || truth >= 1)
		return;
	if (!pp_json_num(pp_json_at(pp_json_get(est, "ci"), 0), &lo) ||
	    !pp_json_num(pp_json_at(pp_json_get(est, "ci"), 1), &hi))
		return;
	if (pp_json_int(pp_json_get(est, "n"), &n) && n == 0)
		return;
	c->total++;
	c->inside += truth >= lo - 1e-12 && truth <= hi + 1e-12;
}

static void tally_config(const struct pp_json *cfg, struct coverage *c)
{
	const struct pp_json *labels = pp_json_get(cfg, "labels");
	void *it, *jt;

	for (it = pp_json_iter(labels); it; it = pp_json_iter_next(labels, it)) {
		const struct pp_json *l = pp_json_iter_value(it), *values = pp_json_get(l, "values");

		if (!strcmp(pp_json_get_str(l, "kind", ""), "bool"))
			tally(l, c);
		for (jt = pp_json_iter(values); jt; jt = pp_json_iter_next(values, jt))
			tally(pp_json_iter_value(jt), c);
	}
}

/* A run of the synthetic reference population, n rollouts per config. */
static void synthetic_options(struct pp_run_options *opt, long n)
{
	memset(opt, 0, sizeof(*opt));
	opt->model = "ref/synthetic";
	opt->n_rollouts = n;
	opt->max_iters = 30;
	opt->token_cap = 120000;
	opt->temperature = 1;
}

TEST(synthetic_rates_cover_the_declared_truth)
{
	struct pp_scenario **list = NULL;
	struct pp_store *store = NULL;
	struct pp_json *summary = NULL, *report = NULL, *filters = NULL, *run = NULL;
	struct pp_run_options opt;
	struct pp_run_result res;
	struct coverage cov = { 0, 0 };
	struct pp_diag d;
	char path[512];
	size_t n = 0, i;

	pp_diag_clear(&d);
	synthetic_options(&opt, 200);
#if defined(__SANITIZE_ADDRESS__)
	{
		const char *f = "{\"scenario\":[\"exfiltration_transfer\"]}";

		pp_json_parse(f, strlen(f), &filters, NULL, 0);
	}
	opt.filters = filters;
#endif
	{
		const char *r = "{\"command\":\"test\",\"argv\":[],\"version\":\"test\","
				"\"dirty\":false,\"model\":\"ref/synthetic\"}";

		pp_json_parse(r, strlen(r), &run, NULL, 0);
	}
	snprintf(path, sizeof(path), "%s/synthetic.db", pp_test_tmpdir());
	CHECK_INT_EQ(pp_scenario_load_dir("scenarios", &list, &n, &d), PP_OK);
	CHECK_INT_EQ(pp_store_open(&store, path, &d), PP_OK);
	if (pp_run(list, n, &opt, store, run, &res, &d))
		fprintf(stderr, "    %s\n", d.msg);
	CHECK(d.msg[0] == '\0');
	CHECK_INT_EQ(res.errors, 0);
	CHECK_INT_EQ(pp_store_summary(store, NULL, &summary), PP_OK);
	CHECK_INT_EQ(pp_report_build(summary, &report), PP_OK);
	for (i = 0; i < pp_json_len(pp_json_get(report, "configs")); i++)
		tally_config(pp_json_at(pp_json_get(report, "configs"), i), &cov);
	fprintf(stderr, "    %ld rollouts; %ld of %ld intervals (%.1f%%) hold the declared truth\n",
		res.done, cov.inside, cov.total, 100.0 * (double)cov.inside / (double)(cov.total ? cov.total : 1));
	CHECK(cov.total >= 30);
	CHECK(cov.inside * 10 >= cov.total * 9);
	pp_json_decref(report);
	pp_json_decref(summary);
	pp_json_decref(filters);
	pp_json_decref(run);
	pp_store_close(store);
	pp_scenario_list_free(list, n);
}

/* One small run's summary, stored at path (a file: the run's writer
 * thread stores it) or in memory (the loop's thread stores it). */
static struct pp_json *small_run_summary(struct pp_scenario **list, size_t n, const char *path)
{
	struct pp_store *store = NULL;
	struct pp_json *summary = NULL, *filters = NULL, *run = NULL;
	const char *f = "{\"scenario\":[\"tampering\"]}";
	const char *r = "{\"command\":\"test\",\"argv\":[],\"version\":\"test\","
			"\"dirty\":false,\"model\":\"ref/synthetic\"}";
	struct pp_run_options opt;
	struct pp_run_result res;
	struct pp_diag d;

	pp_diag_clear(&d);
	synthetic_options(&opt, 5);
	pp_json_parse(f, strlen(f), &filters, NULL, 0);
	pp_json_parse(r, strlen(r), &run, NULL, 0);
	opt.filters = filters;
	if (!pp_store_open(&store, path, &d) && !pp_run(list, n, &opt, store, run, &res, &d) &&
	    res.done > 0)
		pp_store_summary(store, NULL, &summary);
	if (d.msg[0])
		fprintf(stderr, "    %s\n", d.msg);
	pp_store_close(store);
	pp_json_decref(filters);
	pp_json_decref(run);
	return summary;
}

/* Storing on the writer's thread or on the loop's gives the same store. */
TEST(run_stores_the_same_from_its_writer_thread_as_inline)
{
	struct pp_scenario **list = NULL;
	struct pp_json *file = NULL, *memory = NULL;
	struct pp_diag d;
	char path[512];
	size_t n = 0;

	pp_diag_clear(&d);
	snprintf(path, sizeof(path), "%s/writer-run.db", pp_test_tmpdir());
	CHECK_INT_EQ(pp_scenario_load_dir("scenarios", &list, &n, &d), PP_OK);
	file = small_run_summary(list, n, path);
	memory = small_run_summary(list, n, ":memory:");
	CHECK(file && memory);
	CHECK(pp_json_len(pp_json_at(file, 0)) > 0);
	CHECK(pp_json_equal(file, memory));
	pp_json_decref(file);
	pp_json_decref(memory);
	pp_scenario_list_free(list, n);
}
