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
#include <stddef.h>
#include <stdint.h>

#include <peerpres/diag.h>
#include <peerpres/json.h>
#include <peerpres/labels.h>
#include <peerpres/provider.h>
#include <peerpres/scenario.h>
#include <peerpres/store.h>

struct pp_run_options {
	const char *model;              /* "ref/synthetic" ... */
	struct pp_provider_options provider;   /* base URL, reasoning, ... */
	const char *family;             /* NULL: from the model id */
	const struct pp_json *filters;  /* {"scenario":[..],"subject":[..],...} or NULL */
	const char *const *with;        /* opt-in extensions */
	size_t n_with;
	long n_rollouts;                /* per config */
	int max_iters;
	long token_cap;
	double temperature;
	uint64_t seed;                  /* mixed into every rollout's seed */
	long limit;                     /* most rollouts this call does; 0: no limit */
	int one_per_scenario;           /* --test: first config of each scenario */
	/* Called after each stored rollout (may be NULL). */
	void (*progress)(void *arg, long done, long total, long errors);
	void *progress_arg;
	volatile sig_atomic_t *stop;    /* set asynchronously to stop between rollouts */
};

/*
 * The plan: *out is new, {"model","family","n_configs","n_rollouts",
 * "max_model_calls","configs":[{"config_id","scenario","subject",...,
 * "scratchpad"}]}. Makes no model call.
 */
int pp_plan(struct pp_scenario *const *scenarios, size_t n,
	    const struct pp_run_options *opt, struct pp_json **out, struct pp_diag *diag);

/* The identity of a config (dims from pp_scenario_expand); hex in id[65]. */
int pp_config_id(const struct pp_scenario *s, const struct pp_json *dims,
		 const struct pp_run_options *opt, const char *family, char id[65]);

struct pp_run_result {
	long done;        /* rollouts stored by this call */
	long skipped;     /* already in the store */
	long errors;      /* stored with status error */
	long retries;     /* HTTP attempts after the first, over the run */
	int interrupted;
};

/* Runs the plan into the store, synchronously. */
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
 */
int pp_check_route(const struct pp_json *rendered, const struct pp_labels *labels,
		   const struct pp_json *route, int max_iters, int *mismatches,
		   struct pp_buf *why, struct pp_json **labels_out);

#endif
