/*
 * compat.h - the study's own transcripts (SCENARIOS.md section 11):
 * reading them, mapping their metadata to a config of ours, replaying
 * their tool calls in a fresh world, labelling the result with our
 * detectors and storing it beside the study's labels.
 *
 * Three steps, each usable alone:
 *   pp_compat_parse   transcript (+ dataset row) -> a parsed record
 *   pp_compat_replay  parsed record -> config record + rollout record
 *   pp_compat_store   both records -> the store, at a free index
 * and pp_compat_read_path to walk files, directories and JSONL datasets.
 *
 * Nothing here guesses silently: every value that had to be inferred or
 * could not be mapped is named in the parsed record's "flags", and every
 * call whose success in our world differs from the transcript's is a
 * "divergence" of the replay. docs/import.md describes the mapping.
 */
#ifndef PEERPRES_COMPAT_H
#define PEERPRES_COMPAT_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <peerpres/diag.h>
#include <peerpres/json.h>
#include <peerpres/scenario.h>
#include <peerpres/store.h>

/*
 * Parses one upstream transcript object (borrowed) and, for a dataset
 * row, the row's columns (borrowed, may be NULL; non-null columns win
 * over experiment_metadata). `scenario` (may be NULL) overrides the
 * scenario; otherwise it comes from the metadata (task_type, legacy
 * task_folder) or is inferred from the tools used and the label keys
 * against `scenarios` (borrowed, n of them; may be 0 when given).
 * *out is new:
 *   {"dims": {scenario, subject, condition, instantiation, dataset,
 *             threshold, mode, scratchpad},   values as strings
 *    "agent_model", "family" (or null), "harness", "max_iters",
 *    "temperature", "replayable": bool, "why_not": text or null,
 *    "flags": [texts], "upstream_labels": {our label name: value},
 *    "upstream_raw": the study's label object or null,
 *    "turns": [{"turn", "calls": [{"name","arguments"}],
 *               "results": [{"name","arguments","content"}]}],
 *    "texts": [{"turn","text"}], "messages": [our message shape],
 *    "usage": {...} or null, "cost_usd", "started_at", "finished_at",
 *    "source_key": SHA-256 hex of the canonical JSON of {"transcript",
 *                  "transcript_id"} (the row's transcript_id column, else
 *                  the metadata's, else null): the same transcript read
 *                  from any file has the same key; an export's
 *                  peerpres_source_key instead when it carries one,
 *    "content_key": the same with "transcript_id" null: the transcript
 *                  alone,
 *    "match_keys": {"source_key": [..], "content_key": [..]}: a stored
 *                  rollout of the same config whose source_key (or
 *                  content_key) is one of these is this transcript
 *                  (docs/import.md, Duplicates),
 *    "transcript_id": that id or null}
 * Returns PP_OK; PP_EPARSE when the object is not a transcript (diag
 * says why); PP_ENOMEM. A transcript we cannot replay (production
 * harness, unknown legacy value, no matching config) still parses:
 * replayable is then false and why_not says why.
 */
int pp_compat_parse(const struct pp_json *transcript, const struct pp_json *row,
		    const char *scenario, struct pp_scenario *const *scenarios, size_t n,
		    struct pp_json **out, struct pp_diag *diag);

/*
 * Replays a parsed transcript. For a replayable one: renders its config
 * (model "import/<agent_model>"), builds a fresh world, applies the calls
 * the transcript shows were run, in order, and evaluates our detectors.
 * Otherwise the labels are the study's, with source "upstream".
 * *config_out is the config record for pp_store_put_config; *rollout_out
 * the rollout record for pp_store_put_rollout without "config_id" and
 * "idx", carrying "upstream_labels" and "replay": {"replayable",
 * "why_not", "divergences": [{"turn","tool","ours","upstream","detail"}],
 * "flags"}. Both new. PP_ENOTFOUND when the scenario is not among
 * `scenarios`; render failures (PP_ETEMPLATE...) and PP_ENOMEM with diag.
 */
int pp_compat_replay(struct pp_scenario *const *scenarios, size_t n,
		     const struct pp_json *parsed, struct pp_json **config_out,
		     struct pp_json **rollout_out, struct pp_diag *diag);

/*
 * Renders kept across replays: each config's rendered templates and
 * compiled detectors, the costly part of a replay, made once per config
 * (up to 256 configs; older ones make room), and the grid cells parsing
 * looked up (up to 4096). Not thread-safe: one cache per thread. pp_compat_cache_new: PP_OK or PP_ENOMEM; free is NULL-safe.
 */
struct pp_compat_cache;
int pp_compat_cache_new(struct pp_compat_cache **out);
/* The same with room for `renders` configs (about 400 KB each) instead
 * of 256: threads that each keep a cache share the budget. */
int pp_compat_cache_new_sized(struct pp_compat_cache **out, size_t renders);
void pp_compat_cache_free(struct pp_compat_cache *c);

/* pp_compat_parse with the grid cells it looks up kept in `cache` (may
 * be NULL: pp_compat_parse). The result is the same either way. */
int pp_compat_parse_cached(struct pp_compat_cache *cache, const struct pp_json *transcript,
			   const struct pp_json *row, const char *scenario,
			   struct pp_scenario *const *scenarios, size_t n, struct pp_json **out,
			   struct pp_diag *diag);

/* pp_compat_replay with renders taken from, and added to, `cache` (may be
 * NULL: pp_compat_replay). The result is the same either way. */
int pp_compat_replay_cached(struct pp_compat_cache *cache, struct pp_scenario *const *scenarios,
			    size_t n, const struct pp_json *parsed, struct pp_json **config_out,
			    struct pp_json **rollout_out, struct pp_diag *diag);

/* The id of the config pp_compat_replay_cached would store a parsed
 * transcript under, without replaying it: the render it would use (from
 * the cache when there) or, for a transcript it would not replay, the
 * id of its upstream labels' config. PP_ENOTFOUND (said in diag) when
 * its scenario is unknown, as the replay says. */
int pp_compat_identify(struct pp_compat_cache *cache, struct pp_scenario *const *scenarios,
		       size_t n, const struct pp_json *parsed, char id[65], struct pp_diag *diag);

/*
 * Stores a replayed transcript: the config (once), then the rollout at
 * the first free index of that config, with `source` (borrowed, e.g.
 * {"kind":"import","path":..,"line":..}) added. *idx receives the index.
 * A rollout that a stored one of that config already is, by its
 * "match_keys" (from pp_compat_parse; without them, by its "source_key"),
 * is not stored again: *already is then true and *idx the stored one's
 * index (the lowest when several match). "match_keys" is removed from
 * the rollout when it is stored; "source_key" and "content_key" are
 * kept. Store errors as pp_store_put_rollout; pp_store_errmsg says why.
 */
int pp_compat_store(struct pp_store *store, const struct pp_json *config,
		    struct pp_json *rollout, const struct pp_json *source, long *idx,
		    bool *already);

/*
 * What the store holds of the configs an import touches (known.c): the
 * source keys and indexes of their rollouts, read once per config and
 * kept up to date, so pp_compat_store_known finds duplicates and free
 * indexes without a query per transcript. One per store handle. It must
 * be told with pp_compat_known_forget whenever the store changed behind
 * it (a batch rolled back, another connection's write); writing in the
 * batches of pp_compat_known_begin and _commit does that. It holds at
 * most 4096 configs and 2^20 keys, then starts over. new: PP_OK or
 * PP_ENOMEM; free and forget are NULL-safe.
 */
struct pp_compat_known;
int pp_compat_known_new(struct pp_compat_known **out);
void pp_compat_known_free(struct pp_compat_known *k);
void pp_compat_known_forget(struct pp_compat_known *k);
/* The run (pp_store_begin_run) that rollouts stored through k name as
 * their writer; 0 (the default) for none. NULL-safe. */
void pp_compat_known_set_run(struct pp_compat_known *k, int64_t run_id);

/* A batch (pp_store_begin / pp_store_commit) that keeps `k` (may be NULL)
 * true: begin forgets what k knows when another connection wrote since
 * the previous begin; a failed commit (nothing of the batch stored)
 * forgets too. Errors as pp_store_begin and pp_store_commit. */
int pp_compat_known_begin(struct pp_compat_known *k, struct pp_store *store);
int pp_compat_known_commit(struct pp_compat_known *k, struct pp_store *store);

/* The index of the stored rollout of config_id that a parsed transcript
 * (its "match_keys", else its "source_key") duplicates, into *idx, or -1:
 * what pp_compat_store_known would answer, read only. A config k does
 * not know is read from the store first. Store errors as
 * pp_store_extra_values_of. */
int pp_compat_known_find(struct pp_compat_known *k, struct pp_store *store,
			 const char *config_id, const struct pp_json *parsed, long *idx);

/* pp_compat_store, the same result, with the store's rollouts of the
 * config taken from `k` (NULL: pp_compat_store itself). */
int pp_compat_store_known(struct pp_compat_known *k, struct pp_store *store,
			  const struct pp_json *config, struct pp_json *rollout,
			  const struct pp_json *source, long *idx, bool *already);

/*
 * The same in two halves, for an import whose other threads replay. A
 * ready transcript keeps the rollout's keys that find a duplicate and
 * the rollout encoded for the store (pp_store_rows_new), "config_id" and
 * `source` (borrowed, may be NULL) in, "match_keys" out: it is made on
 * any thread, after which the rollout's trees may be freed.
 * pp_compat_ready_new changes the rollout as storing it does ("idx" 0
 * until stored); its failures are said in diag. pp_compat_store_ready
 * (k not NULL) is then pp_compat_store_known on the store's thread.
 */
struct pp_compat_ready;
int pp_compat_ready_new(const struct pp_json *config, struct pp_json *rollout,
			const struct pp_json *source, struct pp_compat_ready **out,
			struct pp_diag *diag);
void pp_compat_ready_free(struct pp_compat_ready *ready);   /* NULL-safe */
int pp_compat_store_ready(struct pp_compat_known *k, struct pp_store *store,
			  const struct pp_json *config, const struct pp_compat_ready *ready,
			  long *idx, bool *already);

/*
 * Compares our labels (pp_labels_eval shape) with the study's (as in
 * "upstream_labels"): only labels both have and that our rules decided.
 * Numbers compare as numbers, words without regard to case. Appends
 * {"label","ours","upstream"} to `mismatches` (an array, may be NULL)
 * and returns how many labels were compared (mismatches included) in
 * *compared. Returns the number of mismatches, or -1 on allocation
 * failure.
 */
int pp_compat_compare(const struct pp_json *ours, const struct pp_json *upstream,
		      struct pp_json *mismatches, int *compared);

/*
 * Called for every transcript (or failure) found under a path. For a
 * failure `transcript` is NULL and `error` says why; `line` is the JSONL
 * line (1-based) or, for a single JSON file, 0 (or the line of a JSON
 * syntax error). A non-zero return stops the walk and is returned.
 */
typedef int (*pp_compat_fn)(void *arg, const char *path, long line,
			    const struct pp_json *transcript, const struct pp_json *row,
			    const char *error);

/*
 * Reads `path`: a JSON file (one transcript), a JSONL file (.jsonl or
 * .ndjson: one row per line carrying the transcript object under
 * "conversation"/"transcript" or as a "transcript_json" string), or a
 * directory (recursively, *.json and *.jsonl, in name order). "-" is
 * standard input; it and a file named otherwise are JSONL when their
 * first line with text holds a whole object, else one JSON transcript.
 * A bad row
 * is reported through fn and the rest still read. Returns PP_OK, what fn
 * returned, or PP_ENOMEM.
 */
int pp_compat_read_path(const char *path, pp_compat_fn fn, void *arg);

/* What an import made of one transcript, or of one file or row that
 * could not be read. */
struct pp_compat_result {
	const char *path;
	long line;              /* as pp_compat_fn's */
	const char *error;      /* could not be read: why (nothing below) */
	int rc;                 /* else PP_OK, or why parse or replay failed */
	struct pp_diag diag;    /* ... said here */
	struct pp_json *parsed, *config, *rollout;   /* on PP_OK */
	/* The options' known hook found it stored: at known_idx of the
	 * config config_id; it was not replayed (config, rollout NULL). */
	bool known;
	long known_idx;
	char config_id[65];
	size_t bytes;           /* of the input it came from (a row: its line) */
	/* What the import's prepare hook kept, and how it is freed (with
	 * the result, by the thread that made it); NULL when none. */
	void *prepared;
	void (*release)(void *prepared);
};

/* Receives each result; everything in it is borrowed for the call (the
 * sink may change rollout, e.g. store it). A non-zero return stops the
 * import. */
typedef int (*pp_compat_sink)(void *arg, struct pp_compat_result *r);

struct pp_compat_import_opts {
	const char *scenario;                  /* --scenario, or NULL */
	struct pp_scenario *const *scenarios;  /* borrowed, read-only */
	size_t n;
	int workers;  /* threads that parse and replay besides the caller's */
	/* Called in the caller's thread, with the sink's arg, after each
	 * idle_seconds without a result to hand it (input that comes
	 * slowly, a stream): a sink can commit what it holds. Without
	 * workers the caller's thread is the one waiting to read: it is
	 * then called from that wait, while a stream's writer is quiet.
	 * NULL for none. */
	void (*idle)(void *arg);
	double idle_seconds;
	/* Called, with the sink's arg, on the thread that parsed and
	 * replayed a result, right after (not for a failure to read): the
	 * caller turns the result into what its sink needs (a record encoded
	 * for the store, in r->prepared with r->release) and may drop the
	 * rest (r->parsed, r->rollout: freed or replaced). The memory is then
	 * freed by the thread that made it, while its core still has it in
	 * cache, and the sink's thread, the import's bottleneck, does less.
	 * Runs on several threads at once. A non-zero return is the
	 * result's rc (say why in r->diag). NULL for none. */
	int (*prepare)(void *arg, struct pp_compat_result *r);
	/* Called, with the sink's arg, on the thread that parsed a
	 * transcript, before its replay, with the config it maps to
	 * (pp_compat_identify). thread is 0 .. workers - 1 for a worker, -1
	 * for the caller's thread: state kept per thread needs no lock. A
	 * non-negative *idx says the store holds the transcript at that
	 * index already: it is not replayed, and its result has `known` set
	 * and neither config nor rollout (nor the prepare hook's call). A
	 * non-zero return is the result's rc. NULL for none. */
	int (*known)(void *arg, int thread, const char *config_id, const struct pp_json *parsed,
		     long *idx);
	/* Set (by a signal handler) to stop: a stream waiting for its
	 * writer (standard input, a FIFO) then reads as ended within a fifth
	 * of a second, rather than at the writer's next line. The caller's
	 * sink sees the flag at the next result. NULL for none. */
	const volatile sig_atomic_t *stop;
	/* Input bytes read ahead of the sink, at most (0: 128 MB); one
	 * result may always be ahead, however large. */
	size_t max_ahead_bytes;
};

/*
 * Reads every path as pp_compat_read_path does, parses and replays each
 * transcript (pp_compat_parse, pp_compat_replay_cached), and calls sink
 * in the caller's thread with each result in the order read, so what a
 * sink stores does not depend on the number of workers. The caller's
 * thread parses too whenever the next result is not ready, but never
 * reads a stream (standard input, a FIFO), where it could wait for a
 * line while results are ready. At most 256
 * results per worker, and 128 MB of input, wait for the sink, and the
 * threads share 256 kept renders: memory stays bounded whatever the
 * input size. A worker that
 * cannot be started is done without (none: everything runs in the
 * caller's thread). Returns PP_OK, what sink returned, or PP_ENOMEM.
 */
int pp_compat_import(const char *const *paths, size_t n_paths,
		     const struct pp_compat_import_opts *opt, pp_compat_sink sink, void *arg);

/* ---- export (export.c) ---- */

/*
 * The study's transcript object for one of our rollouts: `config` is the
 * config record (pp_store_summary shape), `rollout` the rollout
 * (pp_store_get_rollout shape), both borrowed. *out is new:
 * {"conversation": [{"role","content", assistant: "reasoning_content",
 *   "tool_calls": {tool name: arguments}; tool: "tool_calls" (the mapping
 *   of its own call), "name", "tool_call_id"}],
 *  "experiment_metadata": {transcript_id, agent_model (without
 *   "import/"), agent_harness, agent_temperature, max_iters, group,
 *   task_type (+ legacy task_folder), subject (1 self, 2 peer), condition
 *   (+ legacy company_guideline), instantiation,
 *   system_prompt_relationship, is_memory, memory_hard_prompt, dataset
 *   ("default" for none), threshold (number, false for none),
 *   alignment_faking_mode (false for none), reasoning_scratchpad_mode,
 *   peer_agent_names, peerpres_config_id, peerpres_arm, peerpres_status,
 *   peerpres_error (error rollouts), peerpres_judge},
 *  "evaluation": {the study's key for each of our labels: refuse,
 *   execute, threshold, product_grade / product_recommendation keyed by
 *   the subject's name, the others as ours; undecided labels null},
 *  "usage_summary": {...}, "timing": {...}}
 * Two calls of one tool in one assistant turn keep, in that turn's
 * mapping, the last call's arguments. PP_OK or PP_ENOMEM.
 */
int pp_compat_export_transcript(const struct pp_json *config, const struct pp_json *rollout,
				struct pp_json **out);

/* The row's columns in order: the released dataset's (transcript_json
 * last of them), then ours, peerpres_status and peerpres_error; *n their
 * number. Borrowed, static. */
const char *const *pp_compat_export_columns(size_t *n);

/*
 * The dataset row of an exported transcript (borrowed) and its rollout
 * (borrowed, for the labels): every column of pp_compat_export_columns,
 * transcript_json (the transcript as compact JSON text) only when
 * with_json. Label columns are our plain values; null when undecided or
 * not computed for the scenario, and all null when the transcript's
 * peerpres_status is "error" (a provider failure ended the rollout: what
 * the detectors read is no outcome; the transcript keeps it).
 * peerpres_status and peerpres_error are the transcript's (error null
 * when none). *out is new. PP_OK or PP_ENOMEM.
 */
int pp_compat_export_row(const struct pp_json *transcript, const struct pp_json *rollout,
			 bool with_json, struct pp_json **out);

/*
 * Appends one CSV line (RFC 4180: quoted when needed, CRLF) with the
 * row's columns but transcript_json, in the order of
 * pp_compat_export_columns; the header line when row is NULL.
 * Strings as they are, null as an empty field, other values as JSON.
 */
int pp_compat_export_csv(const struct pp_json *row, struct pp_buf *out);

#endif
