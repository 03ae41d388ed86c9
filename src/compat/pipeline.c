/*
 * pipeline.c - an import on several cores: worker threads parse and
 * replay transcripts while the caller's thread stores them, and parses
 * too whenever the next result to store is not ready.
 *
 * Reading the input is cheap and must stay in order, so the threads take
 * turns at the one reader (one at a time, outside the lock, since a
 * stream may make it wait) and number what they read;
 * parsing and replaying, the costly part, runs outside the lock, each
 * thread with a render cache of its own. Results wait in a ring of
 * WINDOW places per worker and reach the sink strictly in reading order,
 * so the store sees the same sequence as with no worker at all; a worker
 * WINDOW items ahead of the sink waits, so memory stays bounded.
 *
 * Ownership: an item belongs to the thread that made it until it is in
 * the ring, then to the sink's thread until the sink returns; then it
 * goes back to its maker, which frees it. Freeing where the memory was
 * allocated keeps the threads off each other's allocator locks, which
 * otherwise cost more than the parallelism gained. The caller's prepare
 * hook goes further: run by the maker right after the replay, it keeps
 * what the sink needs (for the import, the rollout encoded for the
 * store) and drops the trees, whose blocks the maker's next transcript
 * then reuses while they are still in its core's cache. Scenarios are
 * shared read-only; no JSON value is touched by two threads at once.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <peerpres/compat.h>
#include <peerpres/status.h>

#include "compat/compat_int.h"
#include "core/alloc.h"

/* Results a worker may be ahead of the sink. The sink's thread stops
 * for a commit or a checkpoint now and then; 16 places filled up in the
 * meantime and the worker waited, 64 kept it busy while results held
 * their trees. Since they hold the encoded record only (the import's
 * prepare hook), the sink keeps up between commits and a commit of the
 * study's transcripts (15 MB of pages) outlasted 64: the worker waited
 * 0.4 s of a 3.1 s import. 256: 0.93x the time on the study's
 * transcripts, 0.96x on short ones, 4 MB more at the peak. */
#define WINDOW 256
/* And at most this much input read ahead of the sink, whatever the
 * number of results: 256 transcripts of a few MB each would otherwise
 * hold a gigabyte. The study's rows (49 KB) never come near it. */
#define MAX_AHEAD_BYTES ((size_t)128 << 20)
#define MAX_WORKERS 16
/* Renders kept by all the workers together (each keeps its share, at
 * least MIN_RENDERS): about 100 MB. */
#define RENDERS 256
#define MIN_RENDERS 32

/* The owner of an item the sink's thread made itself. */
#define SINK_OWNER (-1)

struct item {
	struct pp_compat_raw raw;
	struct pp_compat_result r;
	size_t ahead;         /* its input bytes, counted in the pipe's ahead */
	int owner;            /* the worker that made it, or SINK_OWNER */
	struct item *next;    /* in its owner's list of items to free */
};

struct pipe {
	const struct pp_compat_import_opts *opt;
	void *arg;              /* the sink's, for opt->prepare */
	pthread_mutex_t mu;
	pthread_cond_t ready;   /* an item reached the ring, or the input ended */
	pthread_cond_t room;    /* the sink took an item, or all must stop */
	struct pp_compat_src *src;
	struct item **ring;     /* item of sequence number s at s % window */
	size_t window;
	unsigned long n_read;   /* items read so far */
	unsigned long n_out;    /* items taken by the sink */
	size_t ahead;           /* input bytes of the items between them */
	size_t max_ahead;
	bool eof, stop;
	bool reading;           /* a thread is reading the input */
	bool stream;            /* the input read last is a stream */
	int fatal;              /* a worker's failure (PP_ENOMEM) */
	int room_waiters;       /* workers waiting for room */
	bool sink_waiting;      /* the sink's thread waits for ring[n_out] */
	struct item *spent[MAX_WORKERS];   /* handed back, to be freed */
	int next_owner;
};

/* pp_compat_fn for one decoded item: parse and replay into r. */
struct work {
	struct pp_compat_cache *cache;
	const struct pp_compat_import_opts *opt;
	void *arg;
	struct pp_compat_result *r;
	int thread;   /* for opt->known: a worker's number, or -1 */
};

/* Whether opt->known finds the parsed transcript stored already: then
 * the result says where, and the replay is not done. */
static bool found_stored(struct work *w, struct pp_compat_result *r)
{
	long idx = -1;

	if (!w->opt->known)
		return false;
	if (pp_compat_identify(w->cache, w->opt->scenarios, w->opt->n, r->parsed, r->config_id,
			       &r->diag)) {
		pp_diag_clear(&r->diag);
		return false;   /* the replay says what is wrong, as without the hook */
	}
	if ((r->rc = w->opt->known(w->arg, w->thread, r->config_id, r->parsed, &idx)) || idx < 0)
		return r->rc != PP_OK;
	r->known = true;
	r->known_idx = idx;
	return true;
}

static int on_transcript(void *arg, const char *path, long line, const struct pp_json *tr,
			 const struct pp_json *row, const char *error)
{
	struct work *w = arg;
	struct pp_compat_result *r = w->r;

	(void)path;
	r->line = line;   /* a JSON file's syntax error names its own line */
	if (error) {
		/* The message lives in the decoder's frame: the result keeps
		 * a copy in its diag. */
		r->rc = PP_EPARSE;
		pp_diag_set(&r->diag, PP_EPARSE, NULL, 0, 0, "%s", error);
		r->error = r->diag.msg;
		return PP_OK;
	}
	r->rc = pp_compat_parse_cached(w->cache, tr, row, w->opt->scenario, w->opt->scenarios,
				       w->opt->n, &r->parsed, &r->diag);
	if (!r->rc && found_stored(w, r))
		return PP_OK;
	if (!r->rc)
		r->rc = pp_compat_replay_cached(w->cache, w->opt->scenarios, w->opt->n, r->parsed,
						&r->config, &r->rollout, &r->diag);
	if (!r->rc && w->opt->prepare)
		r->rc = w->opt->prepare(w->arg, r);
	return PP_OK;
}

/* Decodes, parses and replays the item's raw text into its result. The
 * text, the largest block an item holds, goes at once: the next row read
 * then reuses memory still in this core's cache, rather than a block
 * freed a window of items ago. */
static int process(struct work *w, struct item *it)
{
	int rc;

	pp_diag_clear(&it->r.diag);
	it->r.path = it->raw.path;
	it->r.line = it->raw.line;
	it->r.bytes = it->raw.len + (it->raw.jsonl ? 1 : 0);   /* a row's newline */
	w->r = &it->r;
	rc = pp_compat_decode(&it->raw, on_transcript, w);
	free(it->raw.text);
	it->raw.text = NULL;
	it->raw.len = 0;
	return rc;
}

static void free_item(struct item *it)
{
	if (!it)
		return;
	pp_json_decref(it->r.parsed);
	pp_json_decref(it->r.config);
	pp_json_decref(it->r.rollout);
	if (it->r.release)
		it->r.release(it->r.prepared);
	pp_compat_raw_release(&it->raw);
	free(it);
}

static void free_list(struct item *it)
{
	while (it) {
		struct item *next = it->next;

		free_item(it);
		it = next;
	}
}

/* Reads the next item (the caller has the reader's turn): *it NULL at
 * the end. */
static int read_next(struct pipe *p, int owner, struct item **out)
{
	struct item *it = pp_calloc(1, sizeof(*it));
	bool end = false;
	int rc = it ? PP_OK : PP_ENOMEM;

	*out = NULL;
	if (!rc)
		rc = pp_compat_src_next(p->src, &it->raw, &end);
	if (rc || end) {
		free(it);
		return rc;
	}
	it->owner = owner;
	*out = it;
	return PP_OK;
}

/* Frees what the sink handed back to this worker, outside the lock. */
static bool free_spent(struct pipe *p, int me)
{
	struct item *spent = p->spent[me];

	if (!spent)
		return false;
	p->spent[me] = NULL;
	pthread_mutex_unlock(&p->mu);
	free_list(spent);
	pthread_mutex_lock(&p->mu);
	return true;
}

static void fail_all(struct pipe *p, int rc)
{
	if (!p->fatal)
		p->fatal = rc;
	p->stop = true;
	pthread_cond_broadcast(&p->ready);
	pthread_cond_broadcast(&p->room);
}

/* A render cache for one of the threads that parse: its share. */
static int new_cache(const struct pipe *p, struct pp_compat_cache **out)
{
	size_t share = RENDERS / ((size_t)p->opt->workers + 1);

	return pp_compat_cache_new_sized(out, share > MIN_RENDERS ? share : MIN_RENDERS);
}

/* Takes the next item to parse: the reader's turn is taken under the
 * lock, the read done outside it, so results reach the sink while a
 * stream waits for its next line. At the end of the input says so to
 * everyone. *seq its number. False when there is none. */
static bool take(struct pipe *p, int owner, struct item **it, unsigned long *seq)
{
	int rc;

	p->reading = true;
	pthread_mutex_unlock(&p->mu);
	rc = read_next(p, owner, it);
	pthread_mutex_lock(&p->mu);
	p->reading = false;
	p->stream = pp_compat_src_stream(p->src);
	pthread_cond_broadcast(&p->room);   /* the reader's turn is free */
	if (rc || !*it) {
		p->eof = true;
		if (rc)
			fail_all(p, rc);
		pthread_cond_broadcast(&p->ready);
		pthread_cond_broadcast(&p->room);
		return false;
	}
	*seq = p->n_read++;
	(*it)->ahead = (*it)->raw.len;
	p->ahead += (*it)->ahead;
	return true;
}

/* Whether a thread must wait before reading more: the window is full,
 * or the input read ahead of the sink is (at least one item may always
 * be ahead, however large). `half`: whether it is at most half full,
 * when a waiting worker is woken. */
static bool ahead_full(const struct pipe *p)
{
	return p->n_read - p->n_out >= p->window ||
	       (p->n_read > p->n_out && p->ahead >= p->max_ahead);
}

static bool ahead_half(const struct pipe *p)
{
	return p->n_read - p->n_out <= p->window / 2 && p->ahead <= p->max_ahead / 2;
}

/* Parses the item outside the lock and puts it in the ring. */
static void make(struct pipe *p, struct work *w, struct item *it, unsigned long seq)
{
	int rc;

	pthread_mutex_unlock(&p->mu);
	rc = process(w, it);
	pthread_mutex_lock(&p->mu);
	p->ring[seq % p->window] = it;
	if (p->sink_waiting && seq == p->n_out)
		pthread_cond_signal(&p->ready);
	if (rc)
		fail_all(p, rc);
}

static void *worker(void *arg)
{
	struct pipe *p = arg;
	struct work w = { NULL, p->opt, p->arg, NULL, -1 };
	struct item *it;
	int rc = new_cache(p, &w.cache), me;

	pthread_mutex_lock(&p->mu);
	me = w.thread = p->next_owner++;
	if (rc)
		fail_all(p, rc);
	while (!p->stop && !p->eof) {
		unsigned long seq;

		if (free_spent(p, me))
			continue;
		if (p->reading || ahead_full(p)) {
			p->room_waiters++;
			pthread_cond_wait(&p->room, &p->mu);
			p->room_waiters--;
			continue;
		}
		if (!take(p, me, &it, &seq))
			break;
		make(p, &w, it, seq);
	}
	free_spent(p, me);
	pthread_mutex_unlock(&p->mu);
	pp_compat_cache_free(w.cache);
	return NULL;
}

/* The sink's thread, when the next result is not ready, parses the next
 * item itself rather than wait: with one worker fewer than cores, no
 * core is ever shared by two busy threads. It leaves a stream to the
 * workers: waiting there for a line, it would hold back the results
 * they make meanwhile. */
static bool help(struct pipe *p, struct work *w)
{
	struct item *it;
	unsigned long seq;

	if (!w->cache || p->stop || p->eof || p->reading || p->stream || ahead_full(p))
		return false;
	if (take(p, SINK_OWNER, &it, &seq))
		make(p, w, it, seq);
	return true;
}

/* Waits for the next result, or the input's end: true when instead
 * the sink's idle time has passed. */
static bool wait_ready(struct pipe *p)
{
	struct timespec until;
	double whole;

	if (!p->opt->idle) {
		pthread_cond_wait(&p->ready, &p->mu);
		return false;
	}
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += (long)(modf(p->opt->idle_seconds, &whole) * 1e9);
	until.tv_sec += (time_t)whole + until.tv_nsec / 1000000000L;
	until.tv_nsec %= 1000000000L;
	return pthread_cond_timedwait(&p->ready, &p->mu, &until) == ETIMEDOUT;
}

/* Hands results to the sink in order until the input ends, the sink
 * says stop, or a worker failed. */
static int drain(struct pipe *p, pp_compat_sink sink, void *arg)
{
	struct work w = { NULL, p->opt, p->arg, NULL, -1 };
	struct item *it;
	int rc = PP_OK;

	if (new_cache(p, &w.cache))
		w.cache = NULL;   /* no help then, the workers do it all */
	pthread_mutex_lock(&p->mu);
	for (;;) {
		struct item **at = &p->ring[p->n_out % p->window];

		while (!*at && !p->fatal && !(p->eof && p->n_out == p->n_read)) {
			if (help(p, &w))
				continue;
			p->sink_waiting = true;
			if (wait_ready(p)) {
				p->sink_waiting = false;
				pthread_mutex_unlock(&p->mu);
				p->opt->idle(arg);
				pthread_mutex_lock(&p->mu);
			}
			p->sink_waiting = false;
		}
		if (p->fatal || !*at)
			break;
		it = *at;
		*at = NULL;
		p->n_out++;
		p->ahead -= it->ahead;
		pthread_mutex_unlock(&p->mu);
		rc = sink(arg, &it->r);
		if (it->owner == SINK_OWNER) {
			free_item(it);
			it = NULL;
		}
		pthread_mutex_lock(&p->mu);
		if (it) {
			it->next = p->spent[it->owner];
			p->spent[it->owner] = it;
		}
		/* Waking a worker per item costs more than it brings: wake
		 * them when half the window is free. */
		if (p->room_waiters && ahead_half(p))
			pthread_cond_broadcast(&p->room);
		if (rc)
			break;
	}
	if (!rc)
		rc = p->fatal;
	p->stop = true;
	pthread_cond_broadcast(&p->room);
	pthread_mutex_unlock(&p->mu);
	pp_compat_cache_free(w.cache);
	return rc;
}

/* Everything in the caller's thread, one item at a time: the sink's
 * idle callback is called from the reader's wait on a quiet stream. */
static int serial(struct pipe *p, pp_compat_sink sink, void *arg)
{
	struct work w = { NULL, p->opt, p->arg, NULL, -1 };
	struct item *it = NULL;
	int rc = pp_compat_cache_new(&w.cache);

	if (p->opt->idle)
		pp_compat_src_on_wait(p->src, p->opt->idle, arg, p->opt->idle_seconds);
	while (!rc && !(rc = read_next(p, 0, &it)) && it) {
		rc = process(&w, it);
		if (!rc)
			rc = sink(arg, &it->r);
		free_item(it);
		it = NULL;
	}
	pp_compat_cache_free(w.cache);
	return rc;
}

static void start(struct pipe *p, pthread_t *threads, int want, int *started)
{
	p->window = (size_t)want * WINDOW;
	if (!(p->ring = pp_calloc(p->window, sizeof(*p->ring))))
		return;
	for (*started = 0; *started < want; (*started)++)
		if (pthread_create(&threads[*started], NULL, worker, p))
			break;
}

int pp_compat_import(const char *const *paths, size_t n_paths,
		     const struct pp_compat_import_opts *opt, pp_compat_sink sink, void *arg)
{
	struct pipe p;
	pthread_t threads[MAX_WORKERS];
	int want = opt->workers < MAX_WORKERS ? opt->workers : MAX_WORKERS, started = 0, i;
	size_t k;
	int rc;

	memset(&p, 0, sizeof(p));
	p.opt = opt;
	p.arg = arg;
	p.max_ahead = opt->max_ahead_bytes ? opt->max_ahead_bytes : MAX_AHEAD_BYTES;
	if ((rc = pp_compat_src_new(paths, n_paths, &p.src)))
		return rc;
	pp_compat_src_stop(p.src, opt->stop);
	pthread_mutex_init(&p.mu, NULL);
	pthread_cond_init(&p.ready, NULL);
	pthread_cond_init(&p.room, NULL);
	if (want > 0)
		start(&p, threads, want, &started);
	/* No worker could start (or none wanted): import all the same. */
	rc = started ? drain(&p, sink, arg) : serial(&p, sink, arg);
	for (i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	for (k = 0; p.ring && k < p.window; k++)
		free_item(p.ring[k]);
	for (i = 0; i < MAX_WORKERS; i++)
		free_list(p.spent[i]);
	free(p.ring);
	pthread_cond_destroy(&p.room);
	pthread_cond_destroy(&p.ready);
	pthread_mutex_destroy(&p.mu);
	pp_compat_src_free(p.src);
	return rc;
}
