/*
 * multi.c - the event loop: many exchanges at once over one libcurl multi
 * handle, each with the same retry rules as pp_http_call().
 *
 * A transfer is one call: its attempts, the backoff between them and its
 * response. In flight it is attached to the multi handle; while it waits
 * for a retry it sits in `waiting` with the time it is due, and the loop's
 * poll timeout never passes the earliest due time. Connections live in the
 * multi handle's cache, so consecutive requests to a host reuse them and
 * HTTP/2 streams are multiplexed where the server offers it.
 *
 * Done callbacks run from pp_http_multi_step() after curl's message queue
 * has been read, so a callback may add the next call of its rollout. The
 * easy handles of finished transfers are kept for the next ones.
 */
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include <peerpres/hash.h>
#include <peerpres/http.h>
#include <peerpres/status.h>

#include "core/alloc.h"
#include "net/exchange.h"

struct transfer {
	struct transfer *next_free;
	struct transfer *prev, *next;   /* the live list */
	bool attached;                  /* to the multi handle */
	CURL *easy;
	struct pp_net_exchange x;
	struct pp_http_response resp;
	struct pp_http_stats stats;
	struct pp_rng rng;
	const struct pp_http_request *req;
	pp_http_retry_fn retry;
	void *retry_arg;
	pp_http_done_fn done;
	void *done_arg;
	long t0_ms, due_ms;
	int rc;
};

/* A growable array of transfers, removed from by swapping with the last. */
struct tlist {
	struct transfer **at;
	size_t n, cap;
};

struct pp_http_multi {
	CURLM *multi;
	struct pp_http_policy policy;
	struct transfer *free_list;
	struct transfer *live;    /* every transfer added and not handed back */
	struct tlist waiting;     /* between attempts */
	struct tlist finished;    /* done callbacks still to run */
	size_t n_live;            /* added and not yet handed back */
};

static int tlist_push(struct tlist *l, struct transfer *t)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct transfer **at = pp_realloc(l->at, cap * sizeof(*at));

		if (!at)
			return PP_ENOMEM;
		l->at = at;
		l->cap = cap;
	}
	l->at[l->n++] = t;
	return PP_OK;
}

static void transfer_free(struct transfer *t)
{
	if (!t)
		return;
	curl_easy_cleanup(t->easy);
	pp_http_response_release(&t->resp);
	free(t);
}

int pp_http_multi_new(struct pp_http_multi **out, const struct pp_http_policy *pol,
		      long max_connections)
{
	struct pp_http_multi *m = pp_calloc(1, sizeof(*m));

	*out = NULL;
	if (!m)
		return PP_ENOMEM;
	if (pol)
		m->policy = *pol;
	if (pp_http_global_init() || !(m->multi = curl_multi_init())) {
		free(m);
		return PP_EPROVIDER;
	}
	if (max_connections > 0) {
		curl_multi_setopt(m->multi, CURLMOPT_MAX_HOST_CONNECTIONS, max_connections);
		curl_multi_setopt(m->multi, CURLMOPT_MAXCONNECTS, max_connections);
	}
	curl_multi_setopt(m->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
	*out = m;
	return PP_OK;
}

static struct transfer *transfer_get(struct pp_http_multi *m)
{
	struct transfer *t = m->free_list;

	if (t) {
		m->free_list = t->next_free;
		return t;
	}
	if (!(t = pp_calloc(1, sizeof(*t))))
		return NULL;
	pp_http_response_init(&t->resp);
	if (!(t->easy = curl_easy_init())) {
		transfer_free(t);
		return NULL;
	}
	return t;
}

static void transfer_put(struct pp_http_multi *m, struct transfer *t)
{
	pp_http_response_release(&t->resp);
	t->next_free = m->free_list;
	m->free_list = t;
}

/* One attempt: set the handle up and hand it to curl. */
static int attempt(struct pp_http_multi *m, struct transfer *t)
{
	int rc = pp_net_exchange_begin(&t->x, t->easy, t->req, &m->policy, &t->resp);

	if (rc)
		return rc;
	curl_easy_setopt(t->easy, CURLOPT_PRIVATE, t);
	if (curl_multi_add_handle(m->multi, t->easy) != CURLM_OK) {
		pp_net_exchange_release(&t->x, t->easy);
		return PP_ENOMEM;
	}
	t->attached = true;
	t->stats.attempts++;
	return PP_OK;
}

static void live_link(struct pp_http_multi *m, struct transfer *t)
{
	t->prev = NULL;
	t->next = m->live;
	if (m->live)
		m->live->prev = t;
	m->live = t;
	m->n_live++;
}

static void live_unlink(struct pp_http_multi *m, struct transfer *t)
{
	if (t->prev)
		t->prev->next = t->next;
	else
		m->live = t->next;
	if (t->next)
		t->next->prev = t->prev;
	m->n_live--;
}

int pp_http_multi_add(struct pp_http_multi *m, const struct pp_http_request *req, uint64_t seed,
		      pp_http_retry_fn retry, void *retry_arg, pp_http_done_fn done, void *done_arg)
{
	struct transfer *t = transfer_get(m);
	int rc;

	if (!t)
		return PP_ENOMEM;
	memset(&t->stats, 0, sizeof(t->stats));
	pp_rng_seed(&t->rng, seed);
	t->req = req;
	t->retry = retry;
	t->retry_arg = retry_arg;
	t->done = done;
	t->done_arg = done_arg;
	t->t0_ms = pp_net_now_ms();
	if ((rc = attempt(m, t))) {
		transfer_put(m, t);
		return rc;
	}
	live_link(m, t);
	return PP_OK;
}

static bool stopped(const struct pp_http_multi *m)
{
	return m->policy.stop && *m->policy.stop;
}

/* A transfer's attempt ended: wait for a retry or hand it back. */
static int attempt_ended(struct pp_http_multi *m, struct transfer *t, CURLcode code)
{
	long wait;

	curl_multi_remove_handle(m->multi, t->easy);
	t->attached = false;
	t->rc = pp_net_exchange_end(&t->x, t->easy, t->req, code);
	if (t->resp.status == 429)
		t->stats.rate_limited++;
	wait = t->rc == PP_OK || t->rc == PP_EPROVIDER ?
	       pp_net_retry_wait(&m->policy, (int)t->stats.attempts, pp_net_now_ms() - t->t0_ms,
				 &t->resp, t->retry, t->retry_arg, &t->rng) : -1;
	if (wait < 0)
		return tlist_push(&m->finished, t);
	t->stats.retries++;
	t->stats.waited_ms += wait;
	t->due_ms = pp_net_now_ms() + wait;
	return tlist_push(&m->waiting, t);
}

/* Starts the retries that are due; the earliest one not due, or -1. */
static long start_due(struct pp_http_multi *m, int *rc)
{
	long now = pp_net_now_ms(), next = -1;
	size_t i = 0;

	while (i < m->waiting.n) {
		struct transfer *t = m->waiting.at[i];

		if (t->due_ms > now) {
			if (next < 0 || t->due_ms < next)
				next = t->due_ms;
			i++;
			continue;
		}
		m->waiting.at[i] = m->waiting.at[--m->waiting.n];
		if ((t->rc = attempt(m, t)) && !*rc)
			*rc = tlist_push(&m->finished, t);
	}
	return next < 0 ? -1 : next - now;
}

static long poll_timeout(struct pp_http_multi *m, long limit_ms, long next_due_ms)
{
	long curl_ms = -1, t = limit_ms;

	curl_multi_timeout(m->multi, &curl_ms);
	if (curl_ms >= 0 && curl_ms < t)
		t = curl_ms;
	if (next_due_ms >= 0 && next_due_ms < t)
		t = next_due_ms;
	return t < 0 ? 0 : t;
}

static int read_messages(struct pp_http_multi *m)
{
	CURLMsg *msg;
	int left, rc = PP_OK;

	while ((msg = curl_multi_info_read(m->multi, &left))) {
		struct transfer *t = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
		if (!rc)
			rc = attempt_ended(m, t, msg->data.result);
	}
	return rc;
}

/* Hands finished transfers back; callbacks may add new ones. */
static void run_callbacks(struct pp_http_multi *m)
{
	while (m->finished.n) {
		struct transfer *t = m->finished.at[--m->finished.n];

		live_unlink(m, t);
		t->done(t->done_arg, t->rc, &t->resp, &t->stats);
		transfer_put(m, t);
	}
}

int pp_http_multi_step(struct pp_http_multi *m, long timeout_ms)
{
	int running = 0, rc = PP_OK;
	long next_due;

	if (stopped(m))
		return PP_EINTR;
	next_due = start_due(m, &rc);
	if (!m->finished.n &&
	    curl_multi_poll(m->multi, NULL, 0, (int)poll_timeout(m, timeout_ms, next_due), NULL) != CURLM_OK)
		return PP_EPROVIDER;
	if (curl_multi_perform(m->multi, &running) != CURLM_OK)
		return PP_EPROVIDER;
	if (!rc)
		rc = read_messages(m);
	run_callbacks(m);
	return rc;
}

size_t pp_http_multi_live(const struct pp_http_multi *m)
{
	return m ? m->n_live : 0;
}

void pp_http_multi_free(struct pp_http_multi *m)
{
	if (!m)
		return;
	/* Abandons what is still live: no callback runs. */
	while (m->live) {
		struct transfer *t = m->live;

		live_unlink(m, t);
		if (t->attached) {
			curl_multi_remove_handle(m->multi, t->easy);
			pp_net_exchange_release(&t->x, t->easy);
		}
		transfer_free(t);
	}
	while (m->free_list) {
		struct transfer *t = m->free_list;

		m->free_list = t->next_free;
		transfer_free(t);
	}
	free(m->waiting.at);
	free(m->finished.at);
	curl_multi_cleanup(m->multi);
	free(m);
}
