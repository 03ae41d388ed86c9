/*
 * compat_int.h - helpers shared by the files of src/compat.
 */
#ifndef PP_COMPAT_INT_H
#define PP_COMPAT_INT_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include <peerpres/compat.h>
#include <peerpres/json.h>
#include <peerpres/scenario.h>
#include <peerpres/store.h>

/* Appends a formatted text to the array `list`. PP_OK or PP_ENOMEM. */
int pp_compat_note(struct pp_json *list, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The scalar as text in buf ("80", "peer", "true"), or NULL when v is
 * absent, null or false (the study wrote false for "not set"). */
const char *pp_compat_text(const struct pp_json *v, char *buf, size_t len);

/* Our name for one of the study's label keys (refuse -> refused ...). */
const char *pp_compat_label_name(const char *key);

/* The scenario named `name` among the list, or NULL. */
const struct pp_scenario *pp_compat_find(struct pp_scenario *const *scenarios, size_t n,
					 const char *name);

/* The keys of a config's identity the dataset's metadata has no column
 * for; our export carries them (peerpres_arm) and an import keeps them
 * as origin_KEY, so the report tells arms apart after a round trip. */
extern const char *const pp_compat_arm_keys[];

/* {the study's subject number, ours}: 1 self, 2 peer, 5 / 6 / 7 the
 * cross-model peers. */
#define PP_COMPAT_N_SUBJECTS 5
extern const char *const pp_compat_subjects[PP_COMPAT_N_SUBJECTS][2];

/* The names of every extension of s as a new array, so a grid expansion
 * sees the opt-in configs too (memory_hard). */
int pp_compat_extensions(const struct pp_scenario *s, const char **names, size_t max,
			 size_t *n);

/* Picks the scenario from the tools a transcript used and the label keys
 * the study wrote: parse.c asks, infer.c answers. *name is a static or
 * scenario-owned string; NULL with a reason in `why` (size len). The
 * scenarios' profiles are kept in cache (may be NULL: built each call). */
int pp_compat_infer_scenario(struct pp_compat_cache *cache, struct pp_scenario *const *scenarios,
			     size_t n, const struct pp_json *tools_used,
			     const struct pp_json *label_keys, const char *mode, const char **name,
			     char *why, size_t len);

/*
 * Maps the metadata (and a dataset row's columns) to a config: sets
 * "dims", "subject_name", "agent_model", "family", "harness", "max_iters",
 * "temperature", "replayable", "why_not" in out and appends to its
 * "flags". tools_used: names the agent called; evaluation: the study's
 * label object (may be NULL).
 */
int pp_compat_dims(struct pp_compat_cache *cache, const struct pp_json *tr,
		   const struct pp_json *row, const char *scenario, struct pp_scenario *const *scenarios,
		   size_t n, const struct pp_json *tools_used, const struct pp_json *evaluation,
		   struct pp_json *out);

/* dims.c's memo of grid cells in the cache (replay.c): the value kept
 * under key (borrowed), or NULL; put steals v. A NULL cache keeps
 * nothing. PP_OK or PP_ENOMEM. */
const struct pp_json *pp_compat_cache_grid_get(struct pp_compat_cache *c, const char *key);
int pp_compat_cache_grid_put(struct pp_compat_cache *c, const char *key, struct pp_json *v);

/* ---- reading raw rows and files (source.c) ---- */

/* One row of a JSONL file, one JSON file, or a failure to read one. */
struct pp_compat_raw {
	char *path;     /* the file */
	long line;      /* the JSONL line (1-based); 0 for a JSON file */
	bool jsonl;     /* a row of a JSONL file */
	char *text;     /* the row or the file, len bytes; NULL on failure */
	size_t len;
	char *error;    /* why it could not be read, or NULL */
};

/* The walk over `paths` (copied): files, JSONL rows and directories in
 * the order pp_compat_read_path describes. Not thread-safe: one reader
 * at a time. PP_OK or PP_ENOMEM. */
struct pp_compat_src;
int pp_compat_src_new(const char *const *paths, size_t n, struct pp_compat_src **out);
void pp_compat_src_free(struct pp_compat_src *s);
/* The next raw item, new in *raw (release it), or *end at the end. A file
 * or directory that cannot be read is an item with its error, and the
 * walk goes on. PP_OK or PP_ENOMEM. */
int pp_compat_src_next(struct pp_compat_src *s, struct pp_compat_raw *raw, bool *end);
/* Is the input being read a stream (standard input, a FIFO): a read may
 * wait for as long as its writer takes. */
bool pp_compat_src_stream(const struct pp_compat_src *s);
/* A flag (set by a signal handler) that ends a stream's input: a read
 * waiting for its writer sees it within a fifth of a second, and the
 * stream reads as ended. NULL: none. */
void pp_compat_src_stop(struct pp_compat_src *s, const volatile sig_atomic_t *stop);
/* fn(arg) is called, on the reading thread, each `seconds` a stream's
 * read waits for its writer (the serial import commits from there).
 * NULL: none. */
void pp_compat_src_on_wait(struct pp_compat_src *s, void (*fn)(void *), void *arg,
			   double seconds);
void pp_compat_raw_release(struct pp_compat_raw *raw);
/* Parses a raw item and calls fn exactly once: with the transcript (and
 * the dataset row), or with the failure. Returns what fn returned, or
 * PP_ENOMEM. Thread-safe for separate items. */
int pp_compat_decode(const struct pp_compat_raw *raw, pp_compat_fn fn, void *arg);

/* The first index of config `id` not yet stored, asked of the store. */
int pp_compat_free_index(struct pp_store *store, const char *id, long *idx);

/* Makes the rollout config `id`'s index idx, with `source` (borrowed,
 * may be NULL) added and "match_keys" taken off, as it is stored.
 * PP_OK or PP_ENOMEM. */
int pp_compat_set_stored(struct pp_json *rollout, const char *id, long idx,
			 const struct pp_json *source);

/* Stores the rollout as config `id`'s index idx, with `source` (borrowed,
 * may be NULL) added, written by run run_id (<= 0: none). Errors as
 * pp_store_put_rollout. */
int pp_compat_put_at(struct pp_store *store, int64_t run_id, const char *id, long idx,
		     struct pp_json *rollout, const struct pp_json *source);

#endif
