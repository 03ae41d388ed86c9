/*
 * store.h - the SQLite store of runs, configs, rollouts, messages, tool
 * calls and labels (docs/store.md has the schema).
 *
 * Records cross this interface as JSON values whose shapes are given
 * below, so the store knows nothing of worlds, agents or providers. The
 * database is in WAL mode; a rollout is written in one transaction when it
 * finishes, so a crash loses at most the rollouts in flight and never
 * leaves a half-written one. A rollout id is (config id, index), unique.
 * One struct pp_store per thread; several handles, in threads or
 * processes, may share one file (writers wait up to 10 s for the lock).
 *
 * Errors: PP_EINVAL for the caller's mistakes (bad shape, duplicate
 * index, unknown config or run), PP_ENOTFOUND, PP_ENOMEM, and PP_ESTORE
 * when SQLite fails; after any of them pp_store_errmsg() says
 * "FILE: what: why". Every function returns PP_EINVAL on a NULL store or
 * a NULL required argument.
 */
#ifndef PEERPRES_STORE_H
#define PEERPRES_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <peerpres/diag.h>
#include <peerpres/json.h>

struct pp_store;

/* Opens (creating and migrating as needed) the store at path. On success
 * *out is new; close it with pp_store_close(). On failure *out is NULL and
 * diag (may be NULL) holds the file and the reason: not a database, not
 * a peerpres store (an SQLite file with tables of its own), a schema
 * newer than this program, a directory that does not exist. */
int pp_store_open(struct pp_store **out, const char *path, struct pp_diag *diag);
void pp_store_close(struct pp_store *s);     /* NULL-safe */
/* The last error's message (borrowed, valid until the next call; "" when
 * the last call succeeded). */
const char *pp_store_errmsg(const struct pp_store *s);

/* Records the start of a command: run = {"command","argv":[..],
 * "version","dirty":bool,"model"}. *run_id is new. API keys are never
 * stored: an argv string longer than 20 characters that starts, alone or
 * after "--option=", with "sk-", "AIza", "xai-" or "Bearer " makes the
 * call fail with PP_EINVAL and write nothing (the message does not repeat
 * the argument). */
int pp_store_begin_run(struct pp_store *s, const struct pp_json *run, int64_t *run_id);
/* status: "done", "interrupted" or "failed" (others: PP_EINVAL); an
 * unknown run_id: PP_ENOTFOUND. */
int pp_store_end_run(struct pp_store *s, int64_t run_id, const char *status);

/*
 * Records a config once (later calls with the same config_id change
 * nothing). config = {"config_id", "scenario", "subject", "condition",
 * "instantiation", "dataset", "threshold" (string or null), "mode",
 * "scratchpad", "model", "family", "route" (or null), "reasoning" (or
 * null), "max_iters", "temperature", "scenario_hash", "required_labels":
 * [..], "truth": null or {label: {value_key: probability}}} where
 * value_key is the canonical JSON of the value ("true", "\"below\"",
 * "95") and truth is the declared truth of a ref/synthetic population.
 * Dimensions a config lacks are "none". A config_id must not contain ':'
 * (PP_EINVAL). The config is stored whole (keys sorted) and comes back
 * from pp_store_summary().
 */
int pp_store_put_config(struct pp_store *s, const struct pp_json *config);

/* Sets done[i] (i < n) to true for every index of config_id already
 * stored, false otherwise (all false for an unknown config). */
int pp_store_done_indexes(struct pp_store *s, const char *config_id, size_t n,
			  bool *done);

/* Looks for a rollout of config_id whose extra key `key` (a name of
 * letters, digits and '_') holds the string `value`: *idx receives its
 * index (the lowest when several do), or -1 when none does. Used to
 * recognise a transcript imported before. PP_EINVAL for a bad key. */
int pp_store_find_extra(struct pp_store *s, const char *config_id, const char *key,
			const char *value, long *idx);

/*
 * Writes one finished rollout in one transaction:
 * {"config_id","idx","seed","status" (scored|refused|incomplete|error|
 *  pending_judge), "error" (or null), "agent" (reference route or null),
 *  "started_at","finished_at","duration_ms","n_model_calls",
 *  "usage": {"input_tokens","output_tokens","reasoning_tokens"},
 *  "cost_usd", "provenance": {...},
 *  "messages": [{"role","content","reasoning","tool_calls":[{"id","name",
 *     "arguments"}],"tool_call_id","name"}],
 *  "tool_calls": pp_world_tool_log(), "final_state": pp_world_state(),
 *  "labels": pp_labels_eval()}
 * An index already stored for that config fails with PP_EINVAL and
 * writes nothing; so do an unknown config, a run_id > 0 that is not
 * stored, an unknown status and a negative idx. run_id <= 0 records no
 * run. Keys beyond those listed are kept (in an "extra" column) and come
 * back from pp_store_get_rollout(); text fields given as non-strings are
 * stored as their JSON text. rollout is borrowed.
 */
int pp_store_put_rollout(struct pp_store *s, int64_t run_id, const struct pp_json *rollout);

/* One rollout as written (the shape above plus "rollout_id" and "run_id";
 * absent fields read back as null), as a new value in *out, or
 * PP_ENOTFOUND. rollout_id is "<config_id>:<idx>"; the config id may be
 * shortened to a prefix of 6 or more lower-case hex digits that matches
 * one config only (several: PP_EINVAL, naming two of them). */
int pp_store_get_rollout(struct pp_store *s, const char *rollout_id, struct pp_json **out);

/*
 * Everything a report needs, as a new JSON array of configs (the config
 * shape above plus "rollouts": [{"idx","status","agent","labels":
 * {name: {"value","decided","source"}}}]), filtered by `filters`
 * (borrowed, may be NULL): {"scenario":[..],"subject":[..],...,"model":[..]};
 * an absent key matches everything, an empty list nothing, a single
 * string is a list of one; "family" is accepted too and any other key is
 * PP_EINVAL. Filters compare with the stored dimension text ("none" for
 * an absent dimension, "80" for a threshold). Configs come in config id
 * order, rollouts in index order. *out is new.
 */
int pp_store_summary(struct pp_store *s, const struct pp_json *filters, struct pp_json **out);

#endif
