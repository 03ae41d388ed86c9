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

#include <peerpres/buf.h>
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
/* Another handle on s's file, for another thread (a handle is used by
 * one thread at a time). PP_EINVAL, with nothing in diag, when s cannot
 * have one: an in-memory store, or one inside a transaction whose
 * writes the new handle would not see. Otherwise as pp_store_open. */
int pp_store_open_twin(struct pp_store *s, struct pp_store **out, struct pp_diag *diag);
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

/* Deletes the rollouts stored with status error of the configs in
 * config_ids (an array of ids), with their messages, tool calls, labels
 * and verdicts, in one transaction: a run then does those indexes again
 * (run --redo-errors). *deleted counts them. */
int pp_store_delete_errors(struct pp_store *s, const struct pp_json *config_ids, long *deleted);

/* Sets done[i] (i < n) to true for every index of config_id already
 * stored, false otherwise (all false for an unknown config). */
int pp_store_done_indexes(struct pp_store *s, const char *config_id, size_t n,
			  bool *done);

/* *any = whether the store holds a rollout at all. */
int pp_store_has_rollouts(struct pp_store *s, bool *any);

/* *n = how many rollouts of config_id are stored with that status (any
 * index): what a top-up to a number of scored rollouts counts. */
int pp_store_count_status(struct pp_store *s, const char *config_id, const char *status,
			  long *n);

/* Looks for a rollout of config_id whose extra key `key` (a name of
 * letters, digits and '_') holds the string `value`: *idx receives its
 * index (the lowest when several do), or -1 when none does. Used to
 * recognise a transcript imported before. PP_EINVAL for a bad key. */
int pp_store_find_extra(struct pp_store *s, const char *config_id, const char *key,
			const char *value, long *idx);

/*
 * Batches (store_batch.c): pp_store_begin opens one write transaction
 * (waiting for the write lock as any writer does) that every later write
 * of this handle joins until pp_store_commit; each pp_store_put_rollout
 * in it runs in a savepoint of its own, so a rollout that fails is undone
 * alone and the others of the batch stay. A crash before the commit
 * loses the batch and nothing else. *version (may be NULL) receives
 * SQLite's data_version: it differs from the previous begin's when
 * another connection committed in between, so a caller that keeps what
 * it read knows when to read it again. pp_store_begin: PP_EINVAL when a
 * batch is already open. pp_store_commit: PP_ESTORE when it fails or when
 * SQLite already rolled the batch back after an I/O error or a full disk
 * (nothing of the batch is stored then). pp_store_rollback drops an open
 * batch (none open, or a NULL store: nothing happens). A handle that
 * opened a batch keeps its savepoint journals in memory (a temporary
 * file per savepoint was most of the writes).
 */
int pp_store_begin(struct pp_store *s, int64_t *version);

/*
 * For a bulk writer (import): gives the handle, for the rest of its life,
 * a 32 MB page cache, so large batches write each page once instead of
 * spilling and journaling it again, and a checkpoint every 1,000 log
 * pages on a thread of its own, so commits never wait for the disk
 * (none for a handle that took the store: it writes no log);
 * pp_store_close stops it. A run does not call it:
 * its batches are small and its memory should follow the rollouts in
 * flight. PP_OK, PP_ESTORE or PP_ENOMEM.
 */
int pp_store_tune_for_bulk(struct pp_store *s);

/*
 * Takes the store for this handle alone until pp_store_close: a rollback
 * journal instead of the write-ahead log, so a bulk import writes each
 * new page once (no log, no checkpoints; synchronous = FULL, as safe
 * against a crash or a power cut as the log), and an exclusive lock, so
 * every other process waits for the store (and gives up after its busy
 * timeout). The close puts the file back in WAL mode. Fails with
 * PP_ESTORE, changing nothing, when another connection has the file open
 * and does not let go within a second.
 */
int pp_store_take_exclusive(struct pp_store *s);
int pp_store_commit(struct pp_store *s);
void pp_store_rollback(struct pp_store *s);

/* Every stored rollout of config_id, in index order, as a new array of
 * [idx, value] pairs, value being what the rollout's extra key `key` (as
 * for pp_store_find_extra) holds, or null. One query for what
 * pp_store_done_indexes and pp_store_find_extra answer one at a time: an
 * importer keeps it rather than asking per transcript. PP_EINVAL for a
 * bad key. */
int pp_store_extra_values(struct pp_store *s, const char *config_id, const char *key,
			  struct pp_json **out);
/* The same for several keys in one query: rows [idx, value of keys[0],
 * ..., value of keys[n_keys - 1]]. PP_EINVAL for a bad key, or for
 * n_keys 0 or above PP_STORE_MAX_EXTRA_KEYS. */
#define PP_STORE_MAX_EXTRA_KEYS 8
int pp_store_extra_values_of(struct pp_store *s, const char *config_id, const char *const *keys,
			     size_t n_keys, struct pp_json **out);

/*
 * Writes one finished rollout in one transaction (in a batch: a
 * savepoint):
 * {"config_id","idx","seed","status" (scored|refused|incomplete|error|
 *  pending_judge), "error" (or null), "agent" (reference route or null),
 *  "started_at","finished_at","duration_ms","n_model_calls",
 *  "usage": {"input_tokens","output_tokens","reasoning_tokens"},
 *  "cost_usd", "provenance": {...},
 *  "messages": [{"role","content","reasoning","tool_calls":[{"id","name",
 *     "arguments"}],"tool_call_id","name"}],
 *  "tool_calls": pp_world_tool_log(), "final_state": pp_world_state(),
 *  "labels": pp_labels_eval()}
 * An index already stored for that config fails with PP_EEXIST (another
 * process may have stored it meanwhile) and writes nothing; PP_EINVAL,
 * writing nothing as well, is for an unknown config, a run_id > 0 that is not
 * stored, an unknown status and a negative idx. run_id <= 0 records no
 * run. Keys beyond those listed are kept (in an "extra" column) and come
 * back from pp_store_get_rollout(); text fields given as non-strings are
 * stored as their JSON text. rollout is borrowed.
 */
int pp_store_put_rollout(struct pp_store *s, int64_t run_id, const struct pp_json *rollout);

/*
 * pp_store_put_rollout in two halves, for a writer whose other threads
 * make the rollouts. pp_store_rows_new checks the rollout and encodes
 * every value it will bind (the JSON texts dumped, the texts copied):
 * it needs no store, runs on any thread, and the rollout may be freed
 * after it. Its failures (PP_EINVAL, PP_ENOMEM) are said in diag (may be
 * NULL). pp_store_rows_set_idx changes the index to store it at (PP_EINVAL
 * below 0). pp_store_put_rows stores it as pp_store_put_rollout would
 * have stored the rollout, with the same errors; the rows stay the
 * caller's, to store again elsewhere or free.
 */
struct pp_store_rows;
int pp_store_rows_new(const struct pp_json *rollout, struct pp_store_rows **out,
		      struct pp_diag *diag);
int pp_store_rows_set_idx(struct pp_store_rows *rows, long idx);
int pp_store_put_rows(struct pp_store *s, int64_t run_id, const struct pp_store_rows *rows);
void pp_store_rows_free(struct pp_store_rows *rows);   /* NULL-safe */

/* One rollout as written (the shape above plus "rollout_id" and "run_id";
 * absent fields read back as null), as a new value in *out, or
 * PP_ENOTFOUND. rollout_id is "<config_id>:<idx>"; the config id may be
 * shortened to a prefix of 6 or more lower-case hex digits that matches
 * one config only (several: PP_EINVAL, naming two of them). */
int pp_store_get_rollout(struct pp_store *s, const char *rollout_id, struct pp_json **out);

/*
 * Everything a report needs, as a new JSON array of configs (the config
 * shape above plus "rollouts": [{"idx","status","agent","n_model_calls",
 * "usage": {"input_tokens","output_tokens","reasoning_tokens"},
 * "cost_usd","labels": {name: {"value","decided","source"}}}], counts
 * null where the store has none), filtered by `filters`
 * (borrowed, may be NULL): {"scenario":[..],"subject":[..],...,"model":[..]};
 * an absent key matches everything, an empty list nothing, a single
 * string is a list of one; "family" and "config_id" are accepted too and
 * any other key is PP_EINVAL. Filters compare with the stored dimension text ("none" for
 * an absent dimension, "80" for a threshold). Configs come in config id
 * order, rollouts in index order. *out is new. Equal labels, and equal
 * "labels" maps, are one value shared between rollouts (a summary of
 * 50,000 rollouts holds a few hundred): a caller that changes a
 * rollout's labels replaces its map and the label, never edits them in
 * place (see pp_store_judge_fold).
 */
int pp_store_summary(struct pp_store *s, const struct pp_json *filters, struct pp_json **out);

/* pp_store_summary a config at a time: fn gets, in config id order, the
 * summary of each config filters select (an array of one config, for
 * the call only: fn may change it, e.g. fold a judge in, and it is freed
 * after), so memory follows the largest config rather than the store.
 * Each is its own read: rollouts another process stores meanwhile may
 * show up in configs not yet read. Stops at fn's first non-zero return,
 * which it returns. */
typedef int (*pp_store_summary_fn)(void *arg, struct pp_json *summary);
int pp_store_summary_each(struct pp_store *s, const struct pp_json *filters,
			  pp_store_summary_fn fn, void *arg);

/* The ids of the configs pp_store_summary would list for filters, in
 * the same order, as a new array of strings. Filters may also name
 * "config_id", in both. */
int pp_store_config_ids(struct pp_store *s, const struct pp_json *filters, struct pp_json **out);

/* The versions of peerpres that made the rollouts pp_store_summary would
 * list for filters (their provenance's "version"; null when it has none,
 * as an import's rollouts may): a new array of [version, rollouts], most
 * rollouts first. More than one means a top-up after a code change, whose
 * rollouts every cell pools. */
int pp_store_versions(struct pp_store *s, const struct pp_json *filters, struct pp_json **out);

/* The configs pp_store_summary would list for filters, in the same order
 * and shape but with their "rollouts" empty: the records alone, for a
 * caller that needs no rollout (the report's arm labels). *out is new. */
int pp_store_configs(struct pp_store *s, const struct pp_json *filters, struct pp_json **out);

/*
 * The response cache: key is a lower-case hex digest of the whole request
 * (at most 128 characters; anything else is PP_EINVAL). get sets *hit and,
 * on a hit, replaces body's content with the cached body (PP_ENOMEM when
 * it exceeds body's cap). put keeps body (len bytes) under key, replacing
 * an older entry. The cache holds model answers only, never a request
 * or its headers.
 */
int pp_store_cache_get(struct pp_store *s, const char *key, struct pp_buf *body, bool *hit);
int pp_store_cache_put(struct pp_store *s, const char *key, const char *body, size_t len);
/* Sets *any to whether the response cache holds an entry. Returns PP_OK,
 * PP_EINVAL (a NULL argument) or PP_ESTORE. */
int pp_store_cache_any(struct pp_store *s, bool *any);

/*
 * The judge's verdicts (store_judge.c; docs/judge.md). A verdict is
 * {"rollout_id" (CONFIG_ID:INDEX, the full config id), "judge"
 * ("provider/model"), "prompt_version", "label", "question" (the
 * question kind that decided it), "value" (any JSON; absent for a
 * failure), "outcome" ("ok", "failed" or "refused"), "error" (or null),
 * "answer" (the judge's raw text, or null), "input_tokens",
 * "output_tokens"}. Verdicts are a cache: (rollout, judge,
 * prompt_version, label) is written once and a second write of it
 * changes nothing.
 */

/* Stores an array of verdicts in one transaction (a savepoint inside a
 * batch); error and answer are blanked of every API key this process
 * knows first (pp_redact). PP_EINVAL for a malformed verdict (nothing of
 * the array is written), PP_ENOTFOUND for an unknown rollout.
 * verdicts is borrowed. */
int pp_store_put_verdicts(struct pp_store *s, const struct pp_json *verdicts);

/* Every verdict of one judge at one prompt version, as a new object in
 * *out: {rollout_id: {label: {"value","outcome","question","error"}}}. */
int pp_store_verdicts(struct pp_store *s, const char *judge, const char *prompt_version,
		      struct pp_json **out);

/* Every verdict about one rollout ("CONFIG_ID:INDEX", the full config
 * id), of every judge, as a new object in *out: {"JUDGE@VERSION": {label:
 * {"value","outcome","question","error"}}}, empty when none. PP_OK,
 * PP_ENOTFOUND (no such rollout), PP_EINVAL, PP_ESTORE, PP_ENOMEM. */
int pp_store_rollout_verdicts(struct pp_store *s, const char *rollout_id, struct pp_json **out);

/* The judges that have verdicts in the store, most recent first, as a new
 * array of {"judge","prompt_version","verdicts","ok","failed","refused",
 * "rollouts","last_at"}. */
int pp_store_judges(struct pp_store *s, struct pp_json **out);

/* Deletes a judge's failed and refused verdicts at a prompt version, so
 * the next pass asks again; *n (may be NULL) receives how many. */
int pp_store_forget_failed(struct pp_store *s, const char *judge, const char *prompt_version,
			   long *n);

/* Splits "MODEL@VERSION" into judge and version; "MODEL" alone takes its
 * most recent prompt version in the store. PP_ENOTFOUND when the store
 * has no verdicts of that judge (at that version), the message naming the
 * judges and versions it has. PP_EINVAL when a part does not fit its
 * buffer or is empty. */
int pp_store_judge_resolve(struct pp_store *s, const char *spec, char *judge, size_t judge_len,
			   char *version, size_t version_len);

/*
 * What is left for a judge at a prompt version, as a new object in *out:
 * {"todo": [{"rollout_id","status","scenario","threshold","labels":
 * {name: {"value","decided","source","rule_decided","judged"}}, "also"}],
 * "undecided": N, "cached": N, "errors_left_out": N}. A rollout is
 * listed when one of its labels is undecided and has no verdict of this
 * judge, and its status is not error (every report leaves those out;
 * errors_left_out counts the ones with such a label); its labels carry
 * this judge's ok verdicts merged in ("decided" true, "rule_decided"
 * false) and "judged" for every label with a verdict, failed or not.
 * undecided counts the undecided labels without a verdict, cached those
 * with one, both over rollouts not in error. With also_decided > 0, up
 * to that many rollouts whose labels the rules decided and that this
 * judge never saw are added with "also": true, for agreement: the same
 * sample every time (the smallest hashes of their ids), never a rollout
 * whose status is error. filters as for pp_store_summary (borrowed, may
 * be NULL).
 */
int pp_store_judge_todo(struct pp_store *s, const struct pp_json *filters, const char *judge,
			const char *prompt_version, long also_decided, struct pp_json **out);

/*
 * Folds a judge's verdicts into a pp_store_summary() array, in place. judge
 * is "MODEL@VERSION", "MODEL" (its latest version), "none" (nothing is
 * applied) or NULL (the judge that wrote the last verdict, or none when
 * the store has no verdicts). For each label the rules left undecided
 * with a verdict: ok -> {"value", "decided": true, "source": "judge"};
 * failed or refused -> "source": "judge_failed", "judge_outcome",
 * "judge_error", still undecided. Then statuses follow as the rules would
 * have set them: a judged refusal makes the rollout "refused" (from
 * pending_judge, scored or incomplete); a pending_judge rollout becomes
 * "incomplete" when judged fully incomplete, "judge_failed" when a
 * required label's verdict failed, "scored" when every required label is
 * decided, and stays pending_judge otherwise. *applied (may be NULL)
 * receives a new {"judge","prompt_version","labels_decided",
 * "labels_failed","statuses_changed"}, or NULL when no judge was applied.
 * PP_ENOTFOUND for a named judge without verdicts.
 */
int pp_store_apply_judge(struct pp_store *s, struct pp_json *summary, const char *judge,
			 struct pp_json **applied);

/*
 * pp_store_apply_judge in parts, for a summary read a part at a time
 * (export reads one config's at a time, so its memory does not grow with
 * the store): open resolves the judge as above and reads its verdicts
 * once (*out NULL, and PP_OK, when no judge applies: every call below
 * then does nothing); fold folds them into a summary array in place;
 * record gives the new record of what the folds so far changed (NULL
 * with no judge).
 */
struct pp_judge_fold;
int pp_store_judge_fold_open(struct pp_store *s, const char *judge, struct pp_judge_fold **out);
int pp_store_judge_fold(struct pp_judge_fold *f, struct pp_json *summary);
int pp_store_judge_fold_record(const struct pp_judge_fold *f, struct pp_json **applied);
void pp_store_judge_fold_free(struct pp_judge_fold *f);

#endif
