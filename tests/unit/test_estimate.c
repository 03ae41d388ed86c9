/*
 * Unit tests of the plan's cost estimate (src/engine/estimate.c) over the
 * shipped scenarios: reference models cost nothing, priced models cost
 * what their tokens cost, unknown prices stay unknown, and the figures
 * move with -n, --reasoning, --max-iters and a prices file.
 */
#include <stdio.h>
#include <string.h>

#include <peerpres/price.h>
#include <peerpres/run.h>
#include <peerpres/status.h>
#include "../harness/test.h"

/* A few configs: tampering, self, no_peer (three evaluation cells). */
static const char filters_text[] =
	"{\"scenario\":[\"tampering\"],\"subject\":[\"self\"],\"condition\":[\"no_peer\"]}";

struct fixture {
	struct pp_scenario **list;
	size_t n;
	struct pp_json *filters;
	struct pp_run_options opt;
	struct pp_diag diag;
};

static int setup(struct fixture *f, const char *model)
{
	memset(f, 0, sizeof(*f));
	pp_diag_clear(&f->diag);
	f->opt.model = model;
	f->opt.n_rollouts = 10;
	f->opt.max_iters = 30;
	f->opt.token_cap = 120000;
	f->opt.temperature = 1;
	if (pp_json_parse(filters_text, strlen(filters_text), &f->filters, NULL, 0))
		return PP_EINVAL;
	f->opt.filters = f->filters;
	return pp_scenario_load_dir("scenarios", &f->list, &f->n, &f->diag);
}

static void teardown(struct fixture *f)
{
	pp_scenario_list_free(f->list, f->n);
	pp_json_decref(f->filters);
}

/* The estimate for f's options; NULL (with the test failed) on error. */
static struct pp_json *estimate(struct fixture *f, const struct pp_price_table *prices)
{
	struct pp_json *plan = NULL, *e = NULL;
	int rc = pp_plan(f->list, f->n, &f->opt, &plan, &f->diag);

	if (!rc)
		rc = pp_plan_estimate(f->list, f->n, &f->opt, plan, prices, &e, &f->diag);
	pp_json_decref(plan);
	if (rc)
		pp_test_fail(__FILE__, __LINE__, "estimate: %s: %s", pp_strerror(rc), f->diag.msg);
	return e;
}

static long long int_of(const struct pp_json *e, const char *key)
{
	long long v = -1;

	pp_json_int(pp_json_get(e, key), &v);
	return v;
}

static double num_of(const struct pp_json *e, const char *key)
{
	double v = -1;

	pp_json_num(pp_json_get(e, key), &v);
	return v;
}

TEST(estimate_reference_models_cost_nothing)
{
	struct fixture f;
	struct pp_json *e;

	CHECK_INT_EQ(setup(&f, "ref/synthetic"), PP_OK);
	e = estimate(&f, NULL);
	teardown(&f);
	CHECK(e != NULL);
	CHECK_INT_EQ(int_of(e, "n_rollouts"), 30);
	CHECK_NEAR(num_of(e, "cost_usd"), 0, 1e-12);
	CHECK_INT_EQ(int_of(e, "tokens"), 0);
	CHECK_STR_EQ(pp_json_get_str(pp_json_get(e, "price"), "model", ""), "ref/synthetic");
	pp_json_decref(e);
}

TEST(estimate_prices_the_tokens_of_the_reference_route)
{
	struct fixture f;
	struct pp_json *e, *e2;
	long long calls, in, out;
	double per_rollout;

	CHECK_INT_EQ(setup(&f, "openai/gpt-4.1-2025-04-14"), PP_OK);
	e = estimate(&f, NULL);
	f.opt.n_rollouts = 20;
	e2 = e ? estimate(&f, NULL) : NULL;
	teardown(&f);
	CHECK(e && e2);
	calls = int_of(e, "model_calls");
	in = int_of(e, "input_tokens");
	out = int_of(e, "output_tokens");
	per_rollout = num_of(e, "calls_per_rollout");
	/* A compliant agent reads, acts and ends: several calls, each with the
	 * system prompt, the task and the tool declarations in its prompt. */
	CHECK(per_rollout >= 2 && per_rollout <= 31);
	CHECK_INT_EQ(calls, (long long)(per_rollout * 30 + 0.5));
	CHECK(in > calls * 500);
	CHECK_INT_EQ(out, calls * 200);
	CHECK_INT_EQ(int_of(e, "reasoning_tokens"), 0);
	CHECK_INT_EQ(int_of(e, "tokens"), in + out);
	/* gpt-4.1 at $2 in and $8 out per million tokens, no cache hits. */
	CHECK_NEAR(num_of(e, "cost_usd"), ((double)in * 2 + (double)out * 8) / 1e6, 1e-3);
	CHECK_STR_EQ(pp_json_get_str(pp_json_get(e, "price"), "model", ""), "openai/gpt-4.1");
	CHECK_INT_EQ(int_of(pp_json_get(e, "assumptions"), "output_tokens_per_call"), 200);
	/* Twice the rollouts, twice everything. */
	CHECK_INT_EQ(int_of(e2, "n_rollouts"), 60);
	CHECK_INT_EQ(int_of(e2, "model_calls"), 2 * calls);
	CHECK_NEAR(num_of(e2, "cost_usd"), 2 * num_of(e, "cost_usd"), 1e-6);
	pp_json_decref(e);
	pp_json_decref(e2);
}

TEST(estimate_unknown_price_is_null_not_zero)
{
	struct fixture f;
	struct pp_json *e;

	CHECK_INT_EQ(setup(&f, "openai-compat/mystery-7b"), PP_OK);
	f.opt.family = "Mystery";
	e = estimate(&f, NULL);
	teardown(&f);
	CHECK(e != NULL);
	CHECK(pp_json_get(e, "cost_usd") && pp_json_is_null(pp_json_get(e, "cost_usd")));
	CHECK(pp_json_is_null(pp_json_get(e, "price")));
	CHECK(int_of(e, "tokens") > 0);
	pp_json_decref(e);
}

TEST(estimate_follows_reasoning_iterations_and_prices_files)
{
	struct fixture f;
	struct pp_json *plain, *high, *short_loop, *priced;
	struct pp_price_table *t = NULL;
	char path[512];
	FILE *file;

	snprintf(path, sizeof(path), "%s/prices.yaml", pp_test_tmpdir());
	file = fopen(path, "w");
	CHECK(file != NULL);
	fputs("prices:\n  openai/o4-mini: {input: 11, output: 44, cached_input: 2.75, reasons: true}\n", file);
	fclose(file);
	CHECK_INT_EQ(pp_price_table_load(&t, path, NULL), PP_OK);

	CHECK_INT_EQ(setup(&f, "openai/o4-mini"), PP_OK);
	f.opt.family = "ChatGPT";
	plain = estimate(&f, NULL);
	f.opt.provider.reasoning = "high";
	high = estimate(&f, NULL);
	f.opt.provider.reasoning = NULL;
	f.opt.max_iters = 1;
	short_loop = estimate(&f, NULL);
	f.opt.max_iters = 30;
	priced = estimate(&f, t);
	teardown(&f);
	pp_price_table_free(t);
	CHECK(plain && high && short_loop && priced);

	/* o4-mini reasons by default: medium, 1,024 tokens a call. */
	CHECK_INT_EQ(int_of(plain, "reasoning_tokens"), int_of(plain, "model_calls") * 1024);
	CHECK_INT_EQ(int_of(high, "reasoning_tokens"), int_of(high, "model_calls") * 4096);
	CHECK(num_of(high, "cost_usd") > num_of(plain, "cost_usd"));
	/* One iteration: at most two calls a rollout. */
	CHECK(num_of(short_loop, "calls_per_rollout") <= 2);
	CHECK(num_of(short_loop, "cost_usd") < num_of(plain, "cost_usd"));
	/* Ten times the built-in price, ten times the cost. */
	CHECK_NEAR(num_of(priced, "cost_usd"), 10 * num_of(plain, "cost_usd"), 1e-6);
	CHECK(pp_json_is_true(pp_json_get(pp_json_get(priced, "price"), "from_file")));
	CHECK_STR_EQ(pp_json_get_str(priced, "prices_file", ""), path);
	pp_json_decref(plain);
	pp_json_decref(high);
	pp_json_decref(short_loop);
	pp_json_decref(priced);
}
