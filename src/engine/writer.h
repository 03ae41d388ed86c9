/*
 * writer.h - a thread that stores what the run's event loop hands it:
 * config records, finished rollouts and the response cache's new
 * answers, on a store handle of its own. Items are stored in the order
 * they were handed over, so a config's record precedes its rollouts.
 *
 * Storing was about a quarter of the loop thread's work at 1,000 in
 * flight (the rows of each rollout, then each turn's commit), and every
 * reply that came in meanwhile waited for it. The writer takes that to
 * the other core. It commits what it has whenever it is free (group
 * commit, at most every WRITER_GAP_MS), so a rollout is stored a few
 * milliseconds after it finished; a crash loses the ones handed over
 * and not yet committed, like the ones in flight, and never a stored
 * one or half of one.
 *
 * Every item's memory goes back to the loop's thread to be freed there
 * (pp_writer_collect), where it was made: blocks freed on another
 * thread cost the allocator more than storing them (see docs/import.md).
 */
#ifndef PP_ENGINE_WRITER_H
#define PP_ENGINE_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include <peerpres/diag.h>
#include <peerpres/json.h>
#include <peerpres/store.h>

struct pp_writer;

/* A writer on a new handle of store's file (pp_store_open_twin), or
 * PP_EINVAL when store cannot have one (in memory, or inside the
 * caller's transaction): the caller then stores on its own thread. */
int pp_writer_start(struct pp_writer **out, struct pp_store *store, struct pp_diag *diag);

/* Hands over a config's record or a finished rollout (the writer takes
 * the reference, also on failure) or a cache entry (copied; its key is
 * at most 64 characters, else PP_EINVAL). Blocks while the writer is far
 * behind, so memory stays bounded. PP_OK or PP_ENOMEM; the writer's own
 * failures come from pp_writer_collect. */
int pp_writer_put_config(struct pp_writer *w, struct pp_json *config);
int pp_writer_put_rollout(struct pp_writer *w, int64_t run_id, struct pp_json *rollout);
int pp_writer_put_cache(struct pp_writer *w, const char *key, const char *body, size_t len);

/* Frees what the writer has stored; returns its first failure (PP_OK
 * while none), with the store's message in msg. Call it from the thread
 * that hands items over. */
int pp_writer_collect(struct pp_writer *w, char *msg, size_t msg_len);

/* Stores everything handed over, commits, stops the thread and frees
 * the writer (NULL-safe). Returns the first failure, as collect.
 * *dropped (may be NULL) gets the rollouts not stored because their
 * config and index already were: another process running the same plan
 * on the same store got there first, and its copy is kept. That is not
 * a failure. */
int pp_writer_finish(struct pp_writer *w, long *dropped, char *msg, size_t msg_len);

#endif
