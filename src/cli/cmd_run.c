/*
 * cmd_run.c - `peerpres run`: the plan, executed into the store.
 *
 * Ctrl-C (or SIGTERM) stops between rollouts: finished rollouts are
 * stored, the run is marked interrupted, and the same command resumes.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <peerpres/status.h>
#include <peerpres/store.h>

#include "cli/cli.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

struct progress {
	double start_s, last_s;
	long first_stored;        /* stored by this run before the rate's clock started */
	long limit;               /* --limit, 0: none */
	bool tty;                 /* a live line; otherwise a plain line now and then */
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A live line at most ten times a second on a terminal; a plain line
 * every ten seconds in a log, and one when the last rollout is stored.
 * The rate counts only what this run stored: on a resume, the rollouts
 * already there are counted in when their config is reached, and would
 * otherwise read as a burst of speed. */
static void progress_line(void *arg, const struct pp_run_progress *pr)
{
	struct progress *p = arg;
	double t = now_s(), rate;
	char capped[64] = "";

	if (p->start_s == 0) {
		p->start_s = p->last_s = t;
		p->first_stored = pr->stored - 1;
	}
	if (pr->left > 0 && t - p->last_s < (p->tty ? 0.1 : 10.0))
		return;
	p->last_s = t;
	rate = t > p->start_s ? (double)(pr->stored - p->first_stored) / (t - p->start_s) : 0;
	if (p->limit > 0 && pr->done + pr->left < pr->total)
		snprintf(capped, sizeof(capped), " (--limit %ld: %ld to go)", p->limit, pr->left);
	fprintf(stderr, "%s%ld/%ld rollouts%s  %.1f/s  %ld in flight  %ld errors  %ld retries  "
		"%ld+%ld tokens  $%.2f  ETA %.0f s%s", p->tty ? "\r" : "", pr->done, pr->total,
		capped, rate, pr->in_flight, pr->errors, pr->retries, pr->input_tokens,
		pr->output_tokens, pr->cost_usd, rate > 0 ? (double)pr->left / rate : 0.0,
		p->tty ? "   " : "\n");
}

int cmd_run(struct cli *c)
{
	struct pp_scenario **list = NULL;
	struct pp_store *store = NULL;
	struct pp_run_options opt;
	struct pp_run_result res;
	struct pp_json *rec = NULL;
	struct progress progress = { 0, 0, 0, 0, false };
	struct pp_diag diag;
	size_t n = 0;
	int rc;

	if (c->n_args) {
		cli_error("run takes no arguments ('%s'); see 'peerpres run --help'", c->args[0]);
		return EXIT_USAGE;
	}
	if ((rc = cli_load_scenarios(c, &list, &n)))
		return rc;
	/* Before the store is opened: a run of nothing creates no store. */
	if ((rc = cli_check_some_config(c, list, n))) {
		pp_scenario_list_free(list, n);
		return rc;
	}
	cli_run_options(c, &opt);
	if (!strcmp(c->model, "ref/synthetic") && !c->model_given)
		fprintf(stderr, "peerpres: no --model given: running ref/synthetic, the built-in reference agents (not a model)\n");
	if (cli_open_store(c, &store, false)) {
		pp_scenario_list_free(list, n);
		return EXIT_RUNTIME;
	}
	pp_diag_clear(&diag);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	opt.stop = &stop_requested;
	cli_raise_fd_limit();
	progress.tty = isatty(STDERR_FILENO);
	progress.limit = opt.limit;
	opt.progress = progress_line;
	opt.progress_arg = &progress;
	rec = cli_run_record(c, "run", c->model);
	rc = rec ? pp_run(list, n, &opt, store, rec, &res, &diag) : PP_ENOMEM;
	if (progress.tty)
		fputc('\n', stderr);
	if (rc) {
		cli_diag(&diag);
		if (!diag.msg[0])
			cli_error("%s", pp_strerror(rc));
		rc = rc == PP_EUSAGE ? EXIT_USAGE : EXIT_RUNTIME;
	} else {
		if (opt.redo_errors)
			fprintf(stderr, "redo-errors: %ld rollouts stored with status error deleted, so"
				" their indexes run again\n", res.redone);
		fprintf(stderr, "%s: stored %ld rollouts (%ld already there, %ld errors) in '%s'\n",
			res.interrupted ? "interrupted" : res.budget_reached ? "budget reached" : "done",
			res.done, res.skipped, res.errors, c->db);
		if (res.input_tokens || res.output_tokens || res.cache_hits || res.retries)
			fprintf(stderr, "usage: %ld input + %ld output tokens (%ld reasoning), $%.4f; "
				"%ld HTTP retries (%ld rate-limited), %ld calls from the cache\n",
				res.input_tokens, res.output_tokens, res.reasoning_tokens, res.cost_usd,
				res.retries, res.rate_limited, res.cache_hits);
		if (opt.adaptive && res.concurrency_low < opt.concurrency)
			fprintf(stderr, "adaptive: rate limits lowered the concurrency from %ld to %ld at least\n",
				opt.concurrency, res.concurrency_low);
		rc = res.interrupted ? EXIT_RUNTIME : 0;
		/* The judge works on what is stored, so an interrupted run
		 * leaves it for later rather than judging half a grid. */
		if (!rc)
			rc = cli_judge_stage(c, store, &stop_requested);
	}
	pp_json_decref(rec);
	pp_store_close(store);
	pp_scenario_list_free(list, n);
	return rc;
}
