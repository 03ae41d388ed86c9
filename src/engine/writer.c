/*
 * writer.c - the run's storing thread (writer.h).
 *
 * Items wait in `todo`; the thread takes all of them at once, stores
 * them in one batch (each rollout in a savepoint of its own, as
 * pp_store_put_rollout does inside a batch) and commits, then moves them
 * to `done` for the loop's thread to free. One mutex guards the queues
 * and the first failure; the store handle is the thread's alone.
 */
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <peerpres/status.h>

#include "core/alloc.h"
#include "core/monotonic.h"
#include "engine/writer.h"

/* Commits at most this often: while the thread waits, items gather, and
 * a commit of many rows costs little more than a commit of one. */
#define WRITER_GAP_MS 10
/* Items handed over and not yet taken at most, before a hand-over waits. */
#define WRITER_MAX_QUEUED 1024

struct item {
	struct item *next;
	struct pp_json *rollout;     /* NULL: a cache entry, or a config */
	struct pp_json *config;      /* a config's record */
	int64_t run_id;
	size_t len;
	char key[65];
	char body[];                 /* the cache entry's bytes */
};

struct queue {
	struct item *head, **tail;
	size_t n;
};

struct pp_writer {
	struct pp_store *store;      /* the thread's own handle */
	pthread_t thread;
	bool started;                /* thread runs */
	pthread_mutex_t mu;
	pthread_cond_t more;         /* items queued, or stopping */
	pthread_cond_t room;         /* todo fell under its bound */
	struct queue todo, done;
	bool stopping;
	int rc;                      /* the first failure */
	char msg[1024];
	long dropped;                /* rollouts found already stored */
};

static void queue_init(struct queue *q)
{
	q->head = NULL;
	q->tail = &q->head;
	q->n = 0;
}

static void queue_push(struct queue *q, struct item *it)
{
	it->next = NULL;
	*q->tail = it;
	q->tail = &it->next;
	q->n++;
}

static void queue_append(struct queue *q, struct queue *more)
{
	if (!more->head)
		return;
	*q->tail = more->head;
	q->tail = more->tail;
	q->n += more->n;
	queue_init(more);
}

static void queue_free(struct queue *q)
{
	struct item *it = q->head, *next;

	for (; it; it = next) {
		next = it->next;
		pp_json_decref(it->rollout);
		pp_json_decref(it->config);
		free(it);
	}
	queue_init(q);
}

/* Records the first failure, for the loop to collect. */
static void failed(struct pp_writer *w, int rc, const char *msg)
{
	pthread_mutex_lock(&w->mu);
	if (!w->rc) {
		w->rc = rc;
		snprintf(w->msg, sizeof(w->msg), "%s", msg);
	}
	pthread_mutex_unlock(&w->mu);
}

/* One item into the open batch. A cache entry that cannot be written
 * costs a rerun money, not this run its answer: no failure then. */
static void store_item(struct pp_writer *w, const struct item *it)
{
	char msg[1024];
	long long idx = -1;
	int rc;

	if (it->config) {
		if ((rc = pp_store_put_config(w->store, it->config))) {
			snprintf(msg, sizeof(msg), "config %.12s: %s",
				 pp_json_get_str(it->config, "config_id", "?"), pp_store_errmsg(w->store));
			failed(w, rc, msg);
		}
		return;
	}
	if (!it->rollout) {
		pp_store_cache_put(w->store, it->key, it->body, it->len);
		return;
	}
	if (!(rc = pp_store_put_rollout(w->store, it->run_id, it->rollout)))
		return;
	if (rc == PP_EEXIST) {
		pthread_mutex_lock(&w->mu);
		w->dropped++;
		pthread_mutex_unlock(&w->mu);
		return;
	}
	pp_json_int(pp_json_get(it->rollout, "idx"), &idx);
	snprintf(msg, sizeof(msg), "rollout %.12s:%lld: %s",
		 pp_json_get_str(it->rollout, "config_id", "?"), idx,
		 rc == PP_ESTORE || rc == PP_EINVAL ? pp_store_errmsg(w->store) : pp_strerror(rc));
	failed(w, rc, msg);
}

/* Stores a batch in one transaction. A rollout that fails is undone
 * alone (its savepoint) and the rest are kept, as on the loop's thread. */
static void store_batch(struct pp_writer *w, struct queue *b)
{
	const struct item *it;
	int rc = pp_store_begin(w->store, NULL);

	for (it = b->head; !rc && it; it = it->next)
		store_item(w, it);
	if (rc || (rc = pp_store_commit(w->store)))
		failed(w, rc, pp_store_errmsg(w->store));
	pthread_mutex_lock(&w->mu);
	queue_append(&w->done, b);
	pthread_mutex_unlock(&w->mu);
}

static void pause_ms(double ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	ts.tv_sec = (time_t)(ms / 1e3);
	ts.tv_nsec = (long)((ms - (double)ts.tv_sec * 1e3) * 1e6);
	nanosleep(&ts, NULL);
}

static void *writer_main(void *arg)
{
	struct pp_writer *w = arg;
	struct queue batch;
	double t0;
	bool stopping;

	for (;;) {
		pthread_mutex_lock(&w->mu);
		while (!w->todo.n && !w->stopping)
			pthread_cond_wait(&w->more, &w->mu);
		queue_init(&batch);
		queue_append(&batch, &w->todo);
		stopping = w->stopping;
		pthread_cond_broadcast(&w->room);
		pthread_mutex_unlock(&w->mu);
		if (!batch.n)
			break;   /* stopping, and nothing left */
		t0 = pp_monotonic_ms();
		store_batch(w, &batch);
		if (!stopping)
			pause_ms(WRITER_GAP_MS - (pp_monotonic_ms() - t0));
	}
	return NULL;
}

/* The thread blocks every signal, so Ctrl-C reaches the loop's thread
 * and interrupts its wait on the network. */
static bool start_thread(struct pp_writer *w)
{
	sigset_t all, old;
	bool ok;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ok = !pthread_create(&w->thread, NULL, writer_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return ok;
}

int pp_writer_start(struct pp_writer **out, struct pp_store *store, struct pp_diag *diag)
{
	struct pp_writer *w;
	int rc;

	*out = NULL;
	if (!(w = pp_calloc(1, sizeof(*w))))
		return pp_diag_set(diag, PP_ENOMEM, NULL, 0, 0, "out of memory");
	queue_init(&w->todo);
	queue_init(&w->done);
	if ((rc = pp_store_open_twin(store, &w->store, diag))) {
		free(w);
		return rc;
	}
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->more, NULL);
	pthread_cond_init(&w->room, NULL);
	if (!start_thread(w)) {
		/* No thread: the caller stores on its own. */
		pp_writer_finish(w, NULL, NULL, 0);
		return PP_EINVAL;
	}
	w->started = true;
	*out = w;
	return PP_OK;
}

/* The writer keeps taking items after a failure, so the wait ends. */
static int hand_over(struct pp_writer *w, struct item *it)
{
	pthread_mutex_lock(&w->mu);
	while (w->todo.n >= WRITER_MAX_QUEUED)
		pthread_cond_wait(&w->room, &w->mu);
	queue_push(&w->todo, it);
	pthread_cond_signal(&w->more);
	pthread_mutex_unlock(&w->mu);
	return PP_OK;
}

int pp_writer_put_config(struct pp_writer *w, struct pp_json *config)
{
	struct item *it = pp_calloc(1, sizeof(*it));

	if (!it) {
		pp_json_decref(config);
		return PP_ENOMEM;
	}
	it->config = config;
	return hand_over(w, it);
}

int pp_writer_put_rollout(struct pp_writer *w, int64_t run_id, struct pp_json *rollout)
{
	struct item *it = pp_calloc(1, sizeof(*it));

	if (!it) {
		pp_json_decref(rollout);
		return PP_ENOMEM;
	}
	it->rollout = rollout;
	it->run_id = run_id;
	return hand_over(w, it);
}

int pp_writer_put_cache(struct pp_writer *w, const char *key, const char *body, size_t len)
{
	struct item *it;

	if (strlen(key) >= sizeof(it->key))
		return PP_EINVAL;
	if (!(it = pp_malloc(sizeof(*it) + len)))
		return PP_ENOMEM;
	memset(it, 0, sizeof(*it));
	snprintf(it->key, sizeof(it->key), "%s", key);
	memcpy(it->body, body, len);
	it->len = len;
	return hand_over(w, it);
}

int pp_writer_collect(struct pp_writer *w, char *msg, size_t msg_len)
{
	struct queue done;
	int rc;

	queue_init(&done);
	pthread_mutex_lock(&w->mu);
	queue_append(&done, &w->done);
	rc = w->rc;
	if (rc && msg)
		snprintf(msg, msg_len, "%s", w->msg);
	pthread_mutex_unlock(&w->mu);
	queue_free(&done);
	return rc;
}

int pp_writer_finish(struct pp_writer *w, long *dropped, char *msg, size_t msg_len)
{
	int rc;

	if (dropped)
		*dropped = 0;
	if (!w)
		return PP_OK;
	if (w->started) {
		pthread_mutex_lock(&w->mu);
		w->stopping = true;
		pthread_cond_signal(&w->more);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->thread, NULL);
	}
	rc = pp_writer_collect(w, msg, msg_len);
	if (dropped)
		*dropped = w->dropped;
	queue_free(&w->todo);
	pp_store_close(w->store);
	pthread_cond_destroy(&w->room);
	pthread_cond_destroy(&w->more);
	pthread_mutex_destroy(&w->mu);
	free(w);
	return rc;
}
