/*
 * store_walk.h - every transcript of the store, streamed row by row, for
 * writers that must see all rollouts at once (the HTML report).
 *
 * pp_store_get_rollout() builds one JSON tree per rollout, which is too
 * slow and too large for 30,000 of them; a walk hands out borrowed
 * strings straight from SQLite instead. Calls come in rollout row order:
 * rollout(), then that rollout's message() calls in transcript order,
 * then its label() calls by label name. Every string (NULL for SQL NULL)
 * is valid only during the call that receives it. The walk reads one
 * snapshot: a run writing meanwhile is not seen halfway.
 */
#ifndef PEERPRES_STORE_WALK_H
#define PEERPRES_STORE_WALK_H

#include <stdbool.h>

#include <peerpres/store.h>

struct pp_walk_rollout {
	const char *config_id;
	long long idx;
	const char *status;
	const char *error;
};

struct pp_walk_message {
	const char *role;
	const char *content;
	const char *reasoning;
	const char *tool_calls;     /* JSON text of [{"id","name","arguments"}] */
	const char *tool_call_id;
	const char *name;
};

struct pp_walk_label {
	const char *name;
	const char *value;          /* JSON text as stored */
	bool decided;
	const char *source;
	const char *evidence;
	long long turn;             /* -1: no turn */
};

/* The callbacks; any may be NULL. A non-zero return stops the walk and
 * is returned by pp_store_walk. */
struct pp_walk_ops {
	int (*rollout)(void *ctx, const struct pp_walk_rollout *r);
	int (*message)(void *ctx, const struct pp_walk_message *m);
	int (*label)(void *ctx, const struct pp_walk_label *l);
	void *ctx;
};

/* Walks every rollout of the store (ops borrowed). PP_OK, a callback's
 * non-zero code, PP_ESTORE or PP_ENOMEM (pp_store_errmsg() says why),
 * PP_EINVAL for a NULL argument. */
int pp_store_walk(struct pp_store *s, const struct pp_walk_ops *ops);

#endif
