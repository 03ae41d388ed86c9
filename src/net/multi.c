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
 *
 * On Linux the loop waits with epoll and drives curl per socket
 * (curl_multi_socket_action): curl tells us which sockets to watch and
 * when its next timeout is, so a step costs what happened in it, not the
 * number of connections open. curl_multi_poll and curl_multi_perform scan
 * every transfer on every step: at a thousand in flight that scan was
 * most of the client's CPU. Elsewhere (or when epoll cannot be had) the
 * loop falls back to them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#ifdef __linux__
#include <sys/epoll.h>
#include <unistd.h>
#endif

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
	int epfd;                 /* the sockets curl asked to watch; -1: the fallback */
	long timer_ms;            /* when curl wants its timeout action, or -1 */
	long retries;             /* begun over the loop's life, waiting ones included */
	char last_error[256];     /* the last failed attempt, in short, or "" */
};

#define MAX_EVENTS 256

static int tlist_push(struct tlist *l, struct transfer *t)
{
	struct transfer **at = pp_grow(l->at, &l->cap, l->n, 1, sizeof(*at));

	if (!at)
		return PP_ENOMEM;
	l->at = at;
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

#ifdef __linux__
/* curl's socket callback: what to watch on one socket. curl keeps a
 * pointer per socket (sockp, set with curl_multi_assign) until it says
 * REMOVE: non-NULL means the socket is in the epoll set, so each change
 * costs one system call. A socket closed leaves the set by itself, so
 * failures to remove are no error. */
static int on_socket(CURL *e, curl_socket_t fd, int what, void *arg, void *sockp)
{
	struct pp_http_multi *m = arg;
	struct epoll_event ev;
	int op = sockp ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;

	(void)e;
	if (what == CURL_POLL_REMOVE) {
		epoll_ctl(m->epfd, EPOLL_CTL_DEL, fd, NULL);
		return 0;
	}
	memset(&ev, 0, sizeof(ev));
	ev.data.fd = fd;
	ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0u) | (what & CURL_POLL_OUT ? EPOLLOUT : 0u);
	if (epoll_ctl(m->epfd, op, fd, &ev) &&
	    epoll_ctl(m->epfd, op == EPOLL_CTL_ADD ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev))
		return -1;
	if (!sockp)
		curl_multi_assign(m->multi, fd, m);
	return 0;
}

/* curl's timer callback: when to call it with CURL_SOCKET_TIMEOUT. */
static int on_timer(CURLM *multi, long timeout_ms, void *arg)
{
	struct pp_http_multi *m = arg;

	(void)multi;
	m->timer_ms = timeout_ms < 0 ? -1 : pp_net_now_ms() + timeout_ms;
	return 0;
}

static void watch_sockets(struct pp_http_multi *m)
{
	if ((m->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
		return;
	if (curl_multi_setopt(m->multi, CURLMOPT_SOCKETFUNCTION, on_socket) != CURLM_OK ||
	    curl_multi_setopt(m->multi, CURLMOPT_SOCKETDATA, m) != CURLM_OK ||
	    curl_multi_setopt(m->multi, CURLMOPT_TIMERFUNCTION, on_timer) != CURLM_OK ||
	    curl_multi_setopt(m->multi, CURLMOPT_TIMERDATA, m) != CURLM_OK) {
		curl_multi_setopt(m->multi, CURLMOPT_SOCKETFUNCTION, NULL);
		curl_multi_setopt(m->multi, CURLMOPT_TIMERFUNCTION, NULL);
		close(m->epfd);
		m->epfd = -1;
	}
}
#else
static void watch_sockets(struct pp_http_multi *m)
{
	(void)m;
}
#endif

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
	m->epfd = -1;
	m->timer_ms = -1;
	watch_sockets(m);
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

/* Keeps why the attempt failed, in short: a run whose calls all wait
 * for retries can say "connection refused" long before any call ends.
 * The transport's text starts "METHOD URL: ", which the user knows. */
static void note_failure(struct pp_http_multi *m, const struct transfer *t)
{
	const char *why;

	if (t->rc == PP_EPROVIDER && t->resp.error[0]) {
		why = strstr(t->resp.error, ": ");
		snprintf(m->last_error, sizeof(m->last_error), "%s", why ? why + 2 : t->resp.error);
	} else if (t->rc == PP_OK && (t->resp.status < 200 || t->resp.status > 299)) {
		snprintf(m->last_error, sizeof(m->last_error), "HTTP %ld", t->resp.status);
	}
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
	note_failure(m, t);
	wait = t->rc == PP_OK || t->rc == PP_EPROVIDER ?
	       pp_net_retry_wait(&m->policy, (int)t->stats.attempts, pp_net_now_ms() - t->t0_ms,
				 &t->resp, t->retry, t->retry_arg, &t->rng) : -1;
	if (wait < 0)
		return tlist_push(&m->finished, t);
	t->stats.retries++;
	m->retries++;
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

/* The fallback: poll and perform over every transfer. */
static int scan_step(struct pp_http_multi *m, long timeout_ms, long next_due)
{
	int running = 0;

	if (!m->finished.n &&
	    curl_multi_poll(m->multi, NULL, 0, (int)poll_timeout(m, timeout_ms, next_due), NULL) != CURLM_OK)
		return PP_EPROVIDER;
	return curl_multi_perform(m->multi, &running) == CURLM_OK ? PP_OK : PP_EPROVIDER;
}

#ifdef __linux__
/* Waits on the sockets curl watches and acts on those ready, then on
 * curl's timeout when it is due. */
static int socket_step(struct pp_http_multi *m, long timeout_ms, long next_due)
{
	struct epoll_event ev[MAX_EVENTS];
	long wait = timeout_ms, now = pp_net_now_ms();
	int n, i, running = 0;

	if (m->timer_ms >= 0 && m->timer_ms - now < wait)
		wait = m->timer_ms - now;
	if (next_due >= 0 && next_due < wait)
		wait = next_due;
	if (wait < 0 || m->finished.n)
		wait = 0;
	if ((n = epoll_wait(m->epfd, ev, MAX_EVENTS, (int)wait)) < 0)
		n = 0;   /* EINTR: the caller's loop looks at the stop flag */
	for (i = 0; i < n; i++) {
		int what = (ev[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
			   (ev[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
			   (ev[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);

		if (curl_multi_socket_action(m->multi, ev[i].data.fd, what, &running) != CURLM_OK)
			return PP_EPROVIDER;
	}
	if (m->timer_ms >= 0 && m->timer_ms <= pp_net_now_ms()) {
		m->timer_ms = -1;
		if (curl_multi_socket_action(m->multi, CURL_SOCKET_TIMEOUT, 0, &running) != CURLM_OK)
			return PP_EPROVIDER;
	}
	return PP_OK;
}
#endif

/* Sends the requests the callbacks just added. curl starts a new
 * transfer on its timeout action, which the next step would run only
 * after its own sockets: at 1,000 in flight each request then left
 * about 15 ms late, which was most of the time a call took beyond the
 * server's. A server close by may have answered already, read by curl
 * in the same action: such a transfer is done and watches no socket, so
 * its message is read now, and the next step does not wait. */
static void send_added(struct pp_http_multi *m, int *rc)
{
#ifdef __linux__
	int running = 0;

	if (m->epfd < 0 || m->timer_ms < 0 || m->timer_ms > pp_net_now_ms())
		return;
	m->timer_ms = -1;
	if (curl_multi_socket_action(m->multi, CURL_SOCKET_TIMEOUT, 0, &running) != CURLM_OK) {
		if (!*rc)
			*rc = PP_EPROVIDER;
		return;
	}
	if (!*rc)
		*rc = read_messages(m);
#else
	(void)m;
	(void)rc;
#endif
}

int pp_http_multi_step(struct pp_http_multi *m, long timeout_ms)
{
	int rc = PP_OK, wrc;
	long next_due;

	if (stopped(m))
		return PP_EINTR;
	next_due = start_due(m, &rc);
#ifdef __linux__
	if (m->epfd >= 0)
		wrc = socket_step(m, timeout_ms, next_due);
	else
#endif
		wrc = scan_step(m, timeout_ms, next_due);
	if (wrc)
		return wrc;
	if (!rc)
		rc = read_messages(m);
	run_callbacks(m);
	send_added(m, &rc);
	return rc;
}

size_t pp_http_multi_live(const struct pp_http_multi *m)
{
	return m ? m->n_live : 0;
}

long pp_http_multi_retries(const struct pp_http_multi *m)
{
	return m ? m->retries : 0;
}

const char *pp_http_multi_last_error(const struct pp_http_multi *m)
{
	return m ? m->last_error : "";
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
#ifdef __linux__
	if (m->epfd >= 0)
		close(m->epfd);
#endif
	free(m);
}
