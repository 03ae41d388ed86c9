/*
 * cmd_run.c - `peerpres run`: the plan, executed into the store.
 *
 * Ctrl-C (or SIGTERM) stops between rollouts: finished rollouts are
 * stored, the run is marked interrupted, and the same command resumes.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <peerpres/status.h>
#include <peerpres/store.h>

#include "cli/cli.h"
#include "core/monotonic.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

struct progress {
	double last_s;            /* the last line, or the run's start */
	double rate_s;            /* the first rollout stored, or 0 */
	long first_stored;        /* stored by this run before the rate's clock started */
	long limit;               /* --limit, 0: none */
	bool tty;                 /* a live line; otherwise a plain line now and then */
	const char *model;
};

/* "$1.23", or that there is no price: a 0 would read as free. */
static void cost_text(char *out, size_t len, bool known, double usd, int decimals,
		      const char *model)
{
	if (known)
		snprintf(out, len, "$%.*f", decimals, usd);
	else
		snprintf(out, len, "cost unknown (no price for %s)", model);
}

/* "3 retries (last: Couldn't connect ...)": the reason a run makes no
 * progress, shown while its calls still wait for their next attempt. */
static void retries_text(char *out, size_t len, const struct pp_run_progress *pr)
{
	if (pr->retries && pr->last_error && pr->last_error[0])
		snprintf(out, len, "%ld retries (last: %.100s)", pr->retries, pr->last_error);
	else
		snprintf(out, len, "%ld retries", pr->retries);
}

/* A live line at most ten times a second on a terminal; a plain line
 * every ten seconds in a log, whether or not a rollout was stored, and
 * one when the last rollout is stored. The rate counts only what this
 * run stored, from its first: on a resume, the rollouts already there
 * are counted in at the start (and another process's when their config
 * is reached), and would otherwise read as a burst of speed. */
static void progress_line(void *arg, const struct pp_run_progress *pr)
{
	struct progress *p = arg;
	double t = pp_monotonic_s(), rate;
	char capped[64] = "", cost[300], retries[160];

	if (pr->stored && p->rate_s == 0) {
		p->rate_s = t;
		p->first_stored = pr->stored - 1;
	}
	if (pr->left > 0 && t - p->last_s < (p->tty ? 0.1 : 10.0))
		return;
	p->last_s = t;
	rate = p->rate_s && t > p->rate_s ? (double)(pr->stored - p->first_stored) / (t - p->rate_s) : 0;
	if (p->limit > 0 && pr->done + pr->left < pr->total)
		snprintf(capped, sizeof(capped), " (--limit %ld: %ld to go)", p->limit, pr->left);
	cost_text(cost, sizeof(cost), pr->cost_known, pr->cost_usd, 2, p->model);
	retries_text(retries, sizeof(retries), pr);
	fprintf(stderr, "%s%ld/%ld rollouts%s  %.1f/s  %ld in flight  %ld errors  %s  "
		"%ld+%ld tokens  %s  ETA %.0f s%s", p->tty ? "\r" : "", pr->done, pr->total,
		capped, rate, pr->in_flight, pr->errors, retries, pr->input_tokens,
		pr->output_tokens, cost, rate > 0 ? (double)pr->left / rate : 0.0,
		p->tty ? "   " : "\n");
}

/* The closing usage line, printed whenever a call was made or the run
 * was interrupted: calls of rollouts not stored were paid too. */
static void usage_line(const struct cli *c, const struct pp_run_result *res)
{
	char cost[300], spent[340] = "";

	if (!res->input_tokens && !res->output_tokens && !res->calls && !res->cache_hits &&
	    !res->retries && !res->interrupted)
		return;
	cost_text(cost, sizeof(cost), res->cost_known, res->cost_usd, 4, c->model);
	if (res->cost_known && res->spent_usd > res->cost_usd + 5e-5)
		snprintf(spent, sizeof(spent), " ($%.4f with the calls of rollouts not stored)",
			 res->spent_usd);
	fprintf(stderr, "usage: %ld input + %ld output tokens (%ld reasoning), %s%s; "
		"%ld model calls answered; %ld HTTP retries (%ld rate-limited), "
		"%ld calls from the cache\n",
		res->input_tokens, res->output_tokens, res->reasoning_tokens, cost, spent,
		res->calls, res->retries, res->rate_limited, res->cache_hits);
}

/* The plan's config ids as a store filter ({"config_id": [...]}): this
 * run's configs, and no other arm's. */
static struct pp_json *plan_filter(struct pp_scenario **list, size_t n,
				   const struct pp_run_options *opt)
{
	struct pp_json *plan = NULL, *ids = pp_json_array(), *f = pp_json_object();
	const struct pp_json *cfgs;
	struct pp_diag diag;
	size_t i;

	pp_diag_clear(&diag);
	if (!ids || !f || pp_plan(list, n, opt, &plan, &diag))
		goto fail;
	cfgs = pp_json_get(plan, "configs");
	for (i = 0; i < pp_json_len(cfgs); i++)
		if (pp_json_append(ids, pp_json_string(pp_json_get_str(pp_json_at(cfgs, i),
								     "config_id", ""))))
			goto fail;
	if (pp_json_set(f, "config_id", ids))
		goto fail_set;
	pp_json_decref(plan);
	return f;
fail:
	pp_json_decref(ids);
fail_set:
	pp_json_decref(f);
	pp_json_decref(plan);
	return NULL;
}

/* A top-up after a code change pools two versions' rollouts in every
 * cell: said when it happens, not only later in the report. */
static void note_versions(struct pp_store *store, struct pp_scenario **list, size_t n,
			  const struct pp_run_options *opt)
{
	struct pp_json *filters = plan_filter(list, n, opt), *rows = NULL;
	struct pp_buf list_text = PP_BUF_INIT;
	size_t i;

	if (filters && !pp_store_versions(store, filters, &rows) && pp_json_len(rows) > 1) {
		for (i = 0; i < pp_json_len(rows); i++) {
			const struct pp_json *row = pp_json_at(rows, i);
			long long k = 0;

			pp_json_int(pp_json_at(row, 1), &k);
			pp_buf_addf(&list_text, "%s%s (%lld)", i ? ", " : "",
				    pp_json_str(pp_json_at(row, 0)) ? pp_json_str(pp_json_at(row, 0)) : "unknown", k);
		}
		fprintf(stderr, "note: the stored rollouts of this run's configs were made by"
			" %zu versions of peerpres: %s; a report pools them in every cell\n",
			pp_json_len(rows), list_text.buf ? list_text.buf : "");
	}
	pp_buf_release(&list_text);
	pp_json_decref(rows);
	pp_json_decref(filters);
}

/* One pass of the engine over the plan, its closing lines, then the
 * judge on what is stored. An EXIT_ code. */
static int run_once(struct cli *c, struct pp_scenario **list, size_t n,
		    const struct pp_run_options *opt, struct pp_store *store,
		    const struct pp_json *rec, struct progress *progress, struct pp_run_result *res)
{
	struct pp_diag diag;
	int rc;

	pp_diag_clear(&diag);
	progress->last_s = pp_monotonic_s();
	progress->rate_s = 0;
	progress->limit = opt->limit;
	rc = pp_run(list, n, opt, store, rec, res, &diag);
	if (progress->tty)
		fputc('\n', stderr);
	if (rc) {
		cli_diag(&diag);
		if (!diag.msg[0])
			cli_error("%s", pp_strerror(rc));
		return rc == PP_EUSAGE ? EXIT_USAGE : EXIT_RUNTIME;
	}
	if (opt->redo_errors)
		fprintf(stderr, "redo-errors: %ld rollouts stored with status error deleted, so"
			" their indexes run again\n", res->redone);
	fprintf(stderr, "%s: stored %ld rollouts (%ld already there, %ld errors) in '%s'\n",
		res->interrupted ? "interrupted" : res->budget_reached ? "budget reached" : "done",
		res->done, res->skipped, res->errors, c->db);
	if (res->dropped)
		fprintf(stderr, "note: %ld rollouts were stored first by another process writing to"
			" '%s' at the same time; this run's copies were dropped (their tokens and"
			" cost are in the usage line)\n", res->dropped, c->db);
	if (res->skipped)
		note_versions(store, list, n, opt);
	usage_line(c, res);
	if (opt->adaptive && res->concurrency_low < opt->concurrency)
		fprintf(stderr, "adaptive: rate limits lowered the concurrency from %ld to %ld at least\n",
			opt->concurrency, res->concurrency_low);
	/* The judge works on what is stored, so an interrupted run leaves
	 * it for later rather than judging half a grid. */
	if (res->interrupted)
		return EXIT_RUNTIME;
	return cli_judge_stage(c, store, &stop_requested);
}

/* What --scored reached: every config, or the ones its ceiling stopped. */
static void say_scored(const struct pp_run_options *opt, const struct pp_run_shortfall *sf,
		       int rounds)
{
	fprintf(stderr, "scored: %ld of %ld configs have %ld scored rollouts (%d round%s)",
		sf->met, sf->configs, opt->scored_target, rounds, rounds == 1 ? "" : "s");
	if (sf->at_ceiling)
		fprintf(stderr, "; %ld have fewer with all %ld of their rollouts stored (-n): their"
			" other rollouts were refused, incomplete or errors (see 'peerpres report')",
			sf->at_ceiling, opt->n_rollouts);
	if (sf->pending)
		fprintf(stderr, "; %ld rollouts counted wait for the judge ('peerpres judge', then"
			" the same command tops up what it does not score)", sf->pending);
	fputc('\n', stderr);
}

/*
 * run: one pass; with --scored, passes until no config lacks scored
 * rollouts with indexes left under -n. Each pass tops up from what the
 * store holds after the last one was judged (a rollout left incomplete
 * by the rules may be scored by the judge), and starts only what the
 * configs lack, so the passes shrink: a config whose rollouts are all
 * refused stops at -n. --limit and --budget count over every pass.
 */
static int run_rounds(struct cli *c, struct pp_scenario **list, size_t n,
		      struct pp_run_options *opt, struct pp_store *store,
		      const struct pp_json *rec, struct progress *progress)
{
	struct pp_run_result res;
	struct pp_run_shortfall sf;
	struct pp_diag diag;
	int rounds, rc;

	for (rounds = 1;; rounds++) {
		if ((rc = run_once(c, list, n, opt, store, rec, progress, &res)) ||
		    !opt->scored_target || res.budget_reached)
			return rc;
		pp_diag_clear(&diag);
		if (pp_run_shortfall(list, n, opt, store, &sf, &diag)) {
			cli_diag(&diag);
			return EXIT_RUNTIME;
		}
		if (!sf.todo) {
			say_scored(opt, &sf, rounds);
			return 0;
		}
		if (opt->limit > 0 && (opt->limit -= res.done) <= 0) {
			fprintf(stderr, "top-up: --limit reached with %ld of %ld configs short of %ld"
				" scored rollouts; the same command goes on\n", sf.short_of, sf.configs,
				opt->scored_target);
			return 0;
		}
		/* What is left of it; none left must not read as no budget (0). */
		if (opt->budget_usd > 0 && (opt->budget_usd -= res.spent_usd) <= 0) {
			fprintf(stderr, "top-up: budget reached with %ld of %ld configs short of %ld"
				" scored rollouts\n", sf.short_of, sf.configs, opt->scored_target);
			return 0;
		}
		opt->redo_errors = false;
		fprintf(stderr, "top-up: %ld of %ld configs have fewer than %ld scored rollouts;"
			" round %d starts %ld more\n", sf.short_of, sf.configs, opt->scored_target,
			rounds + 1, sf.todo);
	}
}

int cmd_run(struct cli *c)
{
	struct pp_scenario **list = NULL;
	struct pp_store *store = NULL;
	struct pp_run_options opt;
	struct pp_json *rec = NULL;
	struct progress progress = { 0, 0, 0, 0, false, NULL };
	struct pp_diag diag;
	size_t n = 0;
	int rc;

	if (cli_no_args(c, "run") || cli_check_scored(c))
		return EXIT_USAGE;
	if ((rc = cli_load_scenarios(c, &list, &n)))
		return rc;
	/* Before the store is opened: a run of nothing creates no store. */
	if ((rc = cli_check_some_config(c, list, n))) {
		pp_scenario_list_free(list, n);
		return rc;
	}
	cli_run_options(c, &opt);
	pp_diag_clear(&diag);
	/* Before the store too: a model run refuses leaves no store behind. */
	if (pp_run_check_model(&opt, &diag)) {
		cli_diag(&diag);
		pp_scenario_list_free(list, n);
		return EXIT_USAGE;
	}
	if (!strcmp(c->model, "ref/synthetic") && !c->model_given)
		fprintf(stderr, "peerpres: no --model given: running ref/synthetic, the built-in reference agents (not a model)\n");
	if (cli_open_store(c, &store, false)) {
		pp_scenario_list_free(list, n);
		return EXIT_RUNTIME;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	opt.stop = &stop_requested;
	cli_raise_fd_limit();
	progress.tty = isatty(STDERR_FILENO);
	progress.model = c->model;
	opt.progress = progress_line;
	opt.progress_arg = &progress;
	rec = cli_run_record(c, "run", c->model);
	if (rec)
		rc = run_rounds(c, list, n, &opt, store, rec, &progress);
	else
		cli_error("out of memory"), rc = EXIT_RUNTIME;
	pp_json_decref(rec);
	pp_store_close(store);
	pp_scenario_list_free(list, n);
	return rc;
}
