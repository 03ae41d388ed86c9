/*
 * cmd_plan.c - `peerpres plan`: the configs and rollouts a run would do,
 * and what they would cost.
 */
#include <string.h>
#include <unistd.h>

#include <peerpres/price.h>
#include <peerpres/status.h>

#include "cli/cli.h"

static void print_plan(const struct pp_json *plan)
{
	const struct pp_json *configs = pp_json_get(plan, "configs");
	const struct pp_json *overlays = pp_json_get(plan, "overlays"), *ov;
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

		if (strcmp(sc, last)) {
			printf("\n%s", sc);
			if ((ov = pp_json_get(overlays, sc)))
				printf("  (overlay %s, sha256 %.12s)", pp_json_get_str(ov, "overlay", ""),
				       pp_json_get_str(ov, "overlay_sha256", ""));
			putchar('\n');
		}
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

/* "1234", "12.3k", "4.56M", "1.20B": a count to three figures. */
static void human_count(double n, char *out, size_t len)
{
	static const struct { double unit; const char *suffix; } units[] = {
		{ 1e9, "B" }, { 1e6, "M" }, { 1e3, "k" }
	};
	size_t i;

	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (n >= units[i].unit) {
			double v = n / units[i].unit;

			snprintf(out, len, v >= 100 ? "%.0f%s" : v >= 10 ? "%.1f%s" : "%.2f%s", v,
				 units[i].suffix);
			return;
		}
	snprintf(out, len, "%.0f", n);
}

static void print_money(double usd)
{
	printf(usd >= 1 || usd == 0 ? "$%.2f" : "$%.4f", usd);
}

/* A price as published: "2.00", "0.075". */
static void rate(double usd, char *out, size_t len)
{
	double cents = usd * 100, off = cents - (double)(long long)(cents + 0.5);

	snprintf(out, len, off < 1e-9 && off > -1e-9 ? "%.2f" : "%g", usd);
}

/* Where the price came from: "built-in, checked 2026-04-01". */
static void price_origin(const struct pp_json *e, const struct pp_json *price, char *out,
			 size_t len)
{
	const char *checked = pp_json_get_str(price, "checked", NULL);

	snprintf(out, len, "%s%s%s%s",
		 pp_json_is_true(pp_json_get(price, "from_file")) ? "from " : "built-in",
		 pp_json_is_true(pp_json_get(price, "from_file")) ?
			pp_json_get_str(e, "prices_file", "") : "",
		 checked ? ", checked " : "", checked ? checked : "");
}

/* The price used and what the estimate assumed. */
static void print_basis(const struct pp_json *e)
{
	const struct pp_json *price = pp_json_get(e, "price");
	const struct pp_json *assume = pp_json_get(e, "assumptions");
	long long out_per_call = 0, reasoning = 0;
	double calls = 0, in = 0, out = 0;
	char origin[600], rin[32], rout[32];

	pp_json_num(pp_json_get(e, "calls_per_rollout"), &calls);
	pp_json_int(pp_json_get(assume, "output_tokens_per_call"), &out_per_call);
	pp_json_int(pp_json_get(assume, "reasoning_tokens_per_call"), &reasoning);
	pp_json_num(pp_json_get(price, "input_usd_per_mtok"), &in);
	pp_json_num(pp_json_get(price, "output_usd_per_mtok"), &out);
	price_origin(e, price, origin, sizeof(origin));
	rate(in, rin, sizeof(rin));
	rate(out, rout, sizeof(rout));
	printf("  priced as %s: $%s in, $%s out per million tokens (%s)\n",
	       pp_json_get_str(price, "model", ""), rin, rout, origin);
	printf("  assumes ~%.1f calls a rollout (the compliant reference route),\n"
	       "  %lld output tokens a call", calls, out_per_call + reasoning);
	if (reasoning)
		printf(" (%lld of them reasoning)", reasoning);
	printf(" and no cache hits\n");
}

/* "estimated cost: $X (N rollouts, ~T tokens)" and how it was reached. */
static void print_estimate(const struct pp_json *plan)
{
	const struct pp_json *e = pp_json_get(plan, "estimate");
	const char *model = pp_json_get_str(plan, "model", "");
	long long rollouts = 0, tokens = 0;
	double cost = 0;
	char tok[32];

	pp_json_int(pp_json_get(e, "n_rollouts"), &rollouts);
	pp_json_int(pp_json_get(e, "tokens"), &tokens);
	human_count((double)tokens, tok, sizeof(tok));
	if (!strncmp(model, "ref/", 4)) {
		printf("\nestimated cost: $0 (%lld rollouts; %s is a reference agent, "
		       "run in-process and unbilled)\n", rollouts, model);
	} else if (!pp_json_num(pp_json_get(e, "cost_usd"), &cost)) {
		printf("\nestimated cost: unknown (%lld rollouts, ~%s tokens; unknown price for %s: "
		       "add it to a prices file, see docs/providers.md)\n", rollouts, tok, model);
	} else {
		printf("\nestimated cost: ");
		print_money(cost);
		printf(" (%lld rollouts, ~%s tokens)\n", rollouts, tok);
		print_basis(e);
	}
}

static bool planned(const struct pp_json *plan, const char *scenario)
{
	const struct pp_json *configs = pp_json_get(plan, "configs");
	size_t i;

	for (i = 0; i < pp_json_len(configs); i++)
		if (!strcmp(pp_json_get_str(pp_json_at(configs, i), "scenario", ""), scenario))
			return true;
	return false;
}

/* "overlays": for each planned scenario an overlay changes, its name and
 * hash, as the store will record them on the arm's configs. Kept beside
 * the configs, whose entries are the dimensions a run reads back. */
static int add_overlays(struct pp_scenario **list, size_t n, struct pp_json *plan)
{
	struct pp_json *all = pp_json_object(), *one;
	size_t i;
	int rc = all ? PP_OK : PP_ENOMEM;

	for (i = 0; !rc && i < n; i++) {
		if (!pp_scenario_overlay_name(list[i]) || !planned(plan, pp_scenario_name(list[i])))
			continue;
		if (!(one = pp_json_object()) ||
		    pp_json_set_str(one, "overlay", pp_scenario_overlay_name(list[i])) ||
		    pp_json_set(one, "overlay_sha256",
				pp_json_str_or_null(pp_scenario_overlay_hash(list[i])))) {
			pp_json_decref(one);
			rc = PP_ENOMEM;
		} else {
			rc = pp_json_set(all, pp_scenario_name(list[i]), one);
		}
	}
	if (rc) {
		pp_json_decref(all);
		return rc;
	}
	return pp_json_set(plan, "overlays", all);
}

/* The plan with its estimate, or an exit code after saying why not. */
static int plan_with_estimate(struct pp_scenario **list, size_t n, const struct pp_run_options *opt,
			      struct pp_json **plan)
{
	struct pp_price_table *prices = NULL;
	struct pp_json *estimate = NULL;
	struct pp_diag diag;
	int rc;

	*plan = NULL;
	pp_diag_clear(&diag);
	if (pp_price_table_load(&prices, opt->prices_file, &diag)) {
		cli_diag(&diag);
		return EXIT_RUNTIME;
	}
	if (pp_run_check_model(opt, &diag) || pp_plan(list, n, opt, plan, &diag)) {
		cli_diag(&diag);
		rc = EXIT_USAGE;
	} else if ((rc = pp_plan_check(list, n, opt, *plan, &diag))) {
		/* What run would refuse before its first rollout. */
		cli_diag(&diag);
		rc = EXIT_RUNTIME;
	} else if ((rc = pp_plan_estimate(list, n, opt, *plan, prices, &estimate, &diag))) {
		if (diag.msg[0])
			cli_diag(&diag);
		else
			cli_error("cannot estimate the cost: %s", pp_strerror(rc));
		rc = EXIT_RUNTIME;
	} else if (pp_json_set(*plan, "estimate", estimate) || add_overlays(list, n, *plan)) {
		cli_error("out of memory");
		rc = EXIT_RUNTIME;
	}
	pp_price_table_free(prices);
	if (rc) {
		pp_json_decref(*plan);
		*plan = NULL;
	}
	return rc;
}

/* A store that exists (--db): what of the plan it holds and what a run
 * would start (with --scored, the top-up's first round), counted as the
 * run counts it; *have is false without one. opt's n_rollouts is -n
 * (with --scored, the ceiling). 0, or EXIT_RUNTIME said. */
static int read_store(const struct cli *c, struct pp_scenario **list, size_t n,
		      const struct pp_run_options *opt, struct pp_run_shortfall *sf, bool *have)
{
	struct pp_store *store = NULL;
	struct pp_diag diag;
	int rc;

	*have = false;
	if (access(c->db, F_OK))
		return 0;
	if (cli_open_store(c, &store, true))
		return EXIT_RUNTIME;
	pp_diag_clear(&diag);
	rc = pp_run_shortfall(list, n, opt, store, sf, &diag);
	pp_store_close(store);
	if (rc) {
		cli_diag(&diag);
		return EXIT_RUNTIME;
	}
	*have = true;
	return 0;
}

/* The plan's "in_store": {"store","stored","first_round"}, and with
 * --scored "met","short","at_ceiling","waiting_for_judge" (configs). */
static int add_in_store(const struct cli *c, const struct pp_run_shortfall *sf, bool scored,
			struct pp_json *plan)
{
	struct pp_json *t = pp_json_object();
	int rc = !t || pp_json_set_str(t, "store", c->db) ||
		 pp_json_set(t, "stored", pp_json_integer(sf->stored)) ||
		 pp_json_set(t, "first_round", pp_json_integer(sf->todo));

	if (!rc && scored)
		rc = pp_json_set(t, "met", pp_json_integer(sf->met)) ||
		     pp_json_set(t, "short", pp_json_integer(sf->short_of)) ||
		     pp_json_set(t, "at_ceiling", pp_json_integer(sf->at_ceiling)) ||
		     pp_json_set(t, "waiting_for_judge", pp_json_integer(sf->pending));
	if (rc || pp_json_set(plan, "in_store", t)) {
		if (rc)
			pp_json_decref(t);
		cli_error("out of memory");
		return EXIT_RUNTIME;
	}
	return 0;
}

/* " (about $X)": n rollouts at the estimate's average, for a priced model. */
static void print_share_cost(const struct pp_json *plan, long long n)
{
	const struct pp_json *e = pp_json_get(plan, "estimate");
	long long planned = 0;
	double cost;

	pp_json_int(pp_json_get(e, "n_rollouts"), &planned);
	if (planned > 0 && pp_json_num(pp_json_get(e, "cost_usd"), &cost) &&
	    strncmp(pp_json_get_str(plan, "model", ""), "ref/", 4)) {
		printf(" (about ");
		print_money(cost * (double)n / (double)planned);
		printf(")");
	}
}

/* With --scored: the configs that have their target, and the first
 * round of the top-up. */
static void print_topup(const struct pp_json *plan, const struct pp_json *t, long long first)
{
	long long met = 0, shrt = 0, ceil = 0, wait = 0, target = 0, most = 0, configs = 0;

	pp_json_int(pp_json_get(plan, "scored_target"), &target);
	pp_json_int(pp_json_get(plan, "max_rollouts_per_config"), &most);
	pp_json_int(pp_json_get(plan, "n_configs"), &configs);
	pp_json_int(pp_json_get(t, "met"), &met);
	pp_json_int(pp_json_get(t, "short"), &shrt);
	pp_json_int(pp_json_get(t, "at_ceiling"), &ceil);
	pp_json_int(pp_json_get(t, "waiting_for_judge"), &wait);
	printf("in '%s': %lld of %lld configs have %lld scored rollouts, %lld are short: the first"
	       " round starts %lld rollouts", pp_json_get_str(t, "store", ""), met, configs, target,
	       shrt, first);
	print_share_cost(plan, first);
	if (ceil)
		printf("; %lld configs are short with all %lld rollouts stored", ceil, most);
	if (wait)
		printf("; %lld rollouts wait for the judge and count", wait);
	putchar('\n');
}

/* What the store holds of the plan and what the run starts. */
static void print_in_store(const struct pp_json *plan)
{
	const struct pp_json *t = pp_json_get(plan, "in_store");
	long long stored = 0, first = 0, total = 0;

	if (!t)
		return;
	pp_json_int(pp_json_get(t, "first_round"), &first);
	if (pp_json_get(plan, "scored_target")) {
		print_topup(plan, t, first);
		return;
	}
	pp_json_int(pp_json_get(t, "stored"), &stored);
	pp_json_int(pp_json_get(plan, "n_rollouts"), &total);
	printf("in '%s': %lld of the plan's %lld rollouts are stored: the run starts %lld",
	       pp_json_get_str(t, "store", ""), stored, total, first);
	print_share_cost(plan, first);
	putchar('\n');
}

static void print_scored(const struct pp_json *plan)
{
	long long target = 0, most = 0;

	pp_json_int(pp_json_get(plan, "scored_target"), &target);
	pp_json_int(pp_json_get(plan, "max_rollouts_per_config"), &most);
	printf("\n--scored %lld: the figures are for %lld rollouts a config, as many as it needs"
	       " when all are scored; a config whose rollouts are refused, incomplete or errors"
	       " takes more, up to %lld (-n)\n", target, target, most);
}

int cmd_plan(struct cli *c)
{
	struct pp_scenario **list = NULL;
	struct pp_run_options opt;
	struct pp_json *plan = NULL;
	struct pp_buf out = PP_BUF_INIT;
	struct pp_run_shortfall sf;
	bool have_store = false;
	long ceiling = 0;
	size_t n = 0;
	int rc;

	if (cli_no_args(c, "plan") || cli_check_scored(c))
		return EXIT_USAGE;
	if ((rc = cli_load_scenarios(c, &list, &n)))
		return rc;
	cli_run_options(c, &opt);
	rc = cli_check_some_config(c, list, n);
	if (!rc)
		rc = read_store(c, list, n, &opt, &sf, &have_store);
	/* With --scored, the least a top-up starts: all scored; -n the most. */
	if (!rc && opt.scored_target > 0) {
		ceiling = opt.n_rollouts;
		opt.n_rollouts = opt.scored_target;
	}
	if (!rc)
		rc = plan_with_estimate(list, n, &opt, &plan);
	if (!rc && ceiling && (pp_json_set(plan, "scored_target", pp_json_integer(opt.scored_target)) ||
			       pp_json_set(plan, "max_rollouts_per_config", pp_json_integer(ceiling))))
		rc = EXIT_RUNTIME;
	if (!rc && have_store)
		rc = add_in_store(c, &sf, ceiling > 0, plan);
	if (!rc && c->json) {
		pp_json_dump(plan, PP_JSON_PRETTY, &out);
		printf("%s\n", out.buf);
	} else if (!rc) {
		print_plan(plan);
		print_estimate(plan);
		if (ceiling)
			print_scored(plan);
		print_in_store(plan);
	}
	pp_buf_release(&out);
	pp_json_decref(plan);
	pp_scenario_list_free(list, n);
	return rc;
}
