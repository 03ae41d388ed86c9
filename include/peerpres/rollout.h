/*
 * rollout.h - one rollout as a small state machine (SCENARIOS.md 2).
 *
 * The loop of the study, exactly: one model call, then up to max_iters
 * iterations; each iteration checks, in order, the token cap, a turn
 * without a tool call (nudged; the loop stops once more than 5 such turns
 * were seen), and whether the LAST call of the turn is end_task (then
 * nothing of that turn runs); otherwise it runs the turn's calls in order
 * and asks the model again. Whoever drives it (a synchronous loop, the
 * event loop of the HTTP engine, a replay of a transcript) asks
 * pp_rollout_wants_model(), sends pp_rollout_messages() and feeds the
 * reply back.
 */
#ifndef PEERPRES_ROLLOUT_H
#define PEERPRES_ROLLOUT_H

#include <stdbool.h>
#include <stdint.h>

#include <peerpres/diag.h>
#include <peerpres/json.h>
#include <peerpres/labels.h>

#define PP_DEFAULT_MAX_ITERS 30
#define PP_DEFAULT_TOKEN_CAP 120000
#define PP_MAX_NUDGES 5

struct pp_rollout;

struct pp_rollout_config {
	const struct pp_json *rendered;   /* pp_scenario_render() (borrowed) */
	const struct pp_labels *labels;   /* compiled detectors (borrowed) */
	int max_iters;
	long token_cap;
	/* The declarations pp_rollout_tools_new() built for rendered, shared
	 * by the config's rollouts (borrowed); NULL: the rollout builds its
	 * own. */
	const struct pp_json *tools;
};

/* The tool declarations a rollout of rendered offers the model. *out new
 * on PP_OK; PP_ENOMEM, or PP_EINVAL when rendered names a tool the world
 * does not have. */
int pp_rollout_tools_new(const struct pp_json *rendered, struct pp_json **out);

/* A fresh world and the opening messages. *out new. cfg is copied; what
 * it points to is borrowed and must outlive the rollout. */
int pp_rollout_new(struct pp_rollout **out, const struct pp_rollout_config *cfg,
		   struct pp_diag *diag);
void pp_rollout_free(struct pp_rollout *r);   /* NULL-safe */

bool pp_rollout_wants_model(const struct pp_rollout *r);
/* The transcript to send (borrowed, valid until the next feed). */
const struct pp_json *pp_rollout_messages(const struct pp_rollout *r);
/* The tool declarations of this config (borrowed). */
const struct pp_json *pp_rollout_tools(const struct pp_rollout *r);

/* Feeds the model's reply (an assistant message, stolen) and runs the
 * loop up to the next model call or the end. */
int pp_rollout_feed(struct pp_rollout *r, struct pp_json *message,
		    long input_tokens, long output_tokens, long reasoning_tokens);
/* The provider failed after retries: the rollout ends with status error. */
void pp_rollout_fail(struct pp_rollout *r, const char *error);

/*
 * Ends the rollout: evaluates the labels and decides the status. *out is
 * a new record in the shape pp_store_put_rollout() takes, without
 * config_id, idx, seed, timings and provenance (the caller adds them).
 */
int pp_rollout_finish(struct pp_rollout *r, struct pp_json **out);

#endif
