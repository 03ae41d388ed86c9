/*
 * run.h - plans and runs: from scenario files and filters to configs with
 * stable ids, and from configs to stored rollouts.
 *
 * A config id is the SHA-256 of every input that changes what the model
 * sees or how it is sampled (ARCHITECTURE.md, Identity), so rollouts of
 * different configs are never pooled or resumed into each other. A run
 * asks the store which indexes of each config exist and does only the
 * missing ones: the same command after a crash finishes the job.
 */
#ifndef PEERPRES_RUN_H
#define PEERPRES_RUN_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <peerpres/diag.h>
#include <peerpres/json.h>
#include <peerpres/labels.h>
#include <peerpres/price.h>
#include <peerpres/provider.h>
#include <peerpres/scenario.h>
#include <peerpres/store.h>

/* Rollouts in flight at once against an HTTP provider. */
#define PP_DEFAULT_CONCURRENCY 32
/* A run starts no more rollouts once this many in a row failed (status
 * error): the endpoint or the key, not the rollouts, is then at fault. */
#define PP_ERROR_STREAK_STOP 20
#define PP_MAX_CONCURRENCY 10000

/* Where a run stands, for a progress line. */
struct pp_run_progress {
	long done;            /* stored, this run and before */
	long total;           /* rollouts in the plan */
	long stored;          /* stored by this run */
	long left;            /* still to store in this run: those in flight and
				 those --limit and the plan let it start (a
				 config not reached yet counts whole: what the
				 store holds of it is read when it is reached) */
	long errors;          /* stored with status error by this run */
	long retries;         /* HTTP attempts after the first, waiting ones included */
	const char *last_error;   /* the last failed HTTP attempt in short
				     ("HTTP 503", "Couldn't connect ..."), or "";
				     borrowed for the callback, redacted */
	long in_flight;       /* rollouts started and not yet stored */
	long concurrency;     /* the current limit (adaptive mode moves it) */
	long input_tokens, output_tokens;   /* by this run */
	double cost_usd;      /* by this run, where the price is known */
	bool cost_known;      /* the model has a price: cost_usd is not a 0 for unknown */
};

struct pp_run_options {
	const char *model;              /* "ref/synthetic" ... */
	struct pp_provider_options provider;   /* base URL, reasoning, ... */
	const char *family;             /* NULL: from the model id */
	const struct pp_json *filters;  /* {"scenario":[..],"subject":[..],...} or NULL */
	const char *const *with;        /* opt-in extensions */
	size_t n_with;
	long n_rollouts;                /* per config; with scored_target, the most */
	/* --scored: each config gets new rollouts until this many of its
	 * rollouts are stored with status scored, at most n_rollouts in
	 * all (indexes 0..n_rollouts-1); 0: every index below n_rollouts. */
	long scored_target;
	int max_iters;
	long token_cap;
	double temperature;
	uint64_t seed;                  /* mixed into every rollout's seed */
	long limit;                     /* most rollouts this call does; 0: no limit */
	int one_per_scenario;           /* --test: first config of each scenario */
	/* Called after each stored rollout, and about once a second while
	 * none is stored, so a log shows a run waiting on slow answers or
	 * on retries (may be NULL). */
	void (*progress)(void *arg, const struct pp_run_progress *p);
	void *progress_arg;
	/* Set asynchronously (Ctrl-C): no rollout starts, those in flight
	 * are abandoned, finished ones are kept. */
	volatile sig_atomic_t *stop;
	long concurrency;               /* rollouts in flight at once [1]; in-process providers run one */
	bool adaptive;                  /* lower the concurrency on 429s, raise it when clean */
	/* Ask the provider even when the store's response cache holds the
	 * answer to the same request (and keep no answer). */
	bool no_cache;
	/* Delete the plan's rollouts stored with status error before
	 * starting, so their indexes run again (--redo-errors). */
	bool redo_errors;
	/* Once the calls answered cost this much (USD, by the price table),
	 * no further rollout starts; those in flight finish. 0: no budget. */
	double budget_usd;
	/* --prices FILE: read over the built-in prices (pp_price_table_load);
	 * NULL: ./peerpres-prices.json when it exists. */
	const char *prices_file;
};

/*
 * Where a top-up to opt->scored_target stands in the store: of the
 * plan's configs, how many have that many scored rollouts (met), how
 * many have fewer and indexes left below opt->n_rollouts (short), how
 * many have fewer with every such index stored (at_ceiling); and how
 * many rollouts a run would start now (todo: for each short config, as
 * many as it lacks, or what is left below the ceiling). A rollout
 * waiting for the judge (pending_judge) counts as scored until judged. pp_run tops up
 * from the same count; a rollout that ends refused, incomplete or in
 * error leaves its config short, so a caller runs again until todo is
 * 0 (run --scored does, judging in between).
 */
struct pp_run_shortfall {
	long configs, met, short_of, at_ceiling, todo;
	long stored;    /* the plan's indexes (below n_rollouts) stored */
	long pending;   /* rollouts waiting for the judge, counted as scored */
};
int pp_run_shortfall(struct pp_scenario *const *scenarios, size_t n,
		     const struct pp_run_options *opt, struct pp_store *store,
		     struct pp_run_shortfall *out, struct pp_diag *diag);

/*
 * The plan: *out is new, {"model","family","n_configs","n_rollouts",
 * "max_model_calls","configs":[{"config_id","scenario","subject",...,
 * "scratchpad"}]}. Makes no model call.
 */
int pp_plan(struct pp_scenario *const *scenarios, size_t n,
	    const struct pp_run_options *opt, struct pp_json **out, struct pp_diag *diag);

/*
 * Renders every config of the plan once, and keeps nothing: PP_OK, or
 * the first render failure with the reason in diag (a placeholder an
 * overlay left unfilled, a peer named as the agent). run and plan call
 * it, so neither lets such a config be found only when the run reaches
 * it. plan is pp_plan()'s output for the same scenarios and options.
 */
int pp_plan_check(struct pp_scenario *const *scenarios, size_t n,
		  const struct pp_run_options *opt, const struct pp_json *plan,
		  struct pp_diag *diag);

/*
 * What the plan would cost, with no model call: *out is new,
 * {"cost_usd" (null when the model has no price), "price" (the entry
 * used, or null), "prices_file", "n_rollouts", "model_calls",
 * "calls_per_rollout", "input_tokens", "output_tokens",
 * "reasoning_tokens", "tokens", "assumptions"}. Calls and prompt sizes
 * come from playing each config's compliant reference route (so it
 * renders every config of the plan); a real model's turns are assumed
 * (estimate.c says how). Reference models cost 0 and are not played.
 * plan is pp_plan()'s output for the same scenarios and options
 * (borrowed); prices NULL means the built-in table. Returns PP_OK,
 * PP_ENOMEM, or a render failure with the reason in diag.
 */
int pp_plan_estimate(struct pp_scenario *const *scenarios, size_t n,
		     const struct pp_run_options *opt, const struct pp_json *plan,
		     const struct pp_price_table *prices, struct pp_json **out,
		     struct pp_diag *diag);

/*
 * Whether a run of opt->model could start, short of the API key: a known
 * provider ("unknown provider in model ..."), a known reference agent
 * for ref/, and a base URL an HTTP provider takes (no query string or
 * fragment). The same check, with the same messages, as pp_run's, so
 * `plan` refuses what `run` would. PP_OK, or PP_EUSAGE with the reason
 * in diag.
 */
int pp_run_check_model(const struct pp_run_options *opt, struct pp_diag *diag);

/* The identity of a config (dims from pp_scenario_expand); hex in id[65]. */
int pp_config_id(const struct pp_scenario *s, const struct pp_json *dims,
		 const struct pp_run_options *opt, const char *family, char id[65]);

struct pp_run_result {
	long done;        /* rollouts stored by this call */
	long skipped;     /* already in the store */
	long dropped;     /* stored first by another process meanwhile: ours
			   * dropped, theirs kept (not in done) */
	long redone;      /* error rollouts deleted to run again (redo_errors) */
	long errors;      /* stored with status error */
	long retries;     /* HTTP attempts after the first, over the run */
	long rate_limited;  /* attempts answered 429 */
	long cache_hits;    /* model calls answered from the response cache */
	double cost_usd;    /* of the rollouts stored, where the model has a price */
	int cost_known;     /* the model has a price (else the costs are 0, unknown) */
	long calls;         /* model calls the provider answered (not the cache) */
	double spent_usd;   /* every call answered, those of rollouts not stored included */
	int budget_reached;
	long input_tokens, output_tokens, reasoning_tokens;
	long concurrency_low;  /* the lowest limit the adaptive mode reached */
	int interrupted;
};

/* Runs the plan into the store: up to opt->concurrency rollouts at once
 * on one event loop (HTTP providers), or one after another (in-process
 * providers). Returns when every missing rollout is stored, the limit is
 * reached or stop is set (res->interrupted); PP_ESTORE and the like stop
 * it with the message in diag. */
int pp_run(struct pp_scenario *const *scenarios, size_t n, const struct pp_run_options *opt,
	   struct pp_store *store, const struct pp_json *run_record,
	   struct pp_run_result *res, struct pp_diag *diag);

/* Every template of one config rendered (for `render`): as pp_scenario_render
 * plus "config_id" and "tool_schemas". */
int pp_render_config(const struct pp_scenario *s, const struct pp_json *dims,
		     const struct pp_run_options *opt, struct pp_json **out,
		     struct pp_diag *diag);

/*
 * Known-answer check: plays `route` (one of rendered["routes"]) through
 * the loop in a fresh world, evaluates `labels` and compares them with the
 * route's `expect`. Appends one line per mismatch to why and sets
 * *mismatches. *labels_out (may be NULL) receives the evaluated labels.
 * A mismatch is not an error; an error (a world that cannot be built,
 * PP_ENOMEM) returns its code with the reason in diag (may be NULL).
 */
int pp_check_route(const struct pp_json *rendered, const struct pp_labels *labels,
		   const struct pp_json *route, int max_iters, int *mismatches,
		   struct pp_buf *why, struct pp_json **labels_out, struct pp_diag *diag);

#endif
