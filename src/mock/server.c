/*
 * server.c - the mock server's sockets: one thread, epoll (Linux),
 * HTTP/1.1 with keep-alive and Content-Length bodies.
 *
 * A connection reads a request, gets its reply from mock_answer() at
 * once, then waits until the reply is due (latency, slow faults) with
 * its timer in a min-heap, writes it and reads the next request. While a
 * reply waits the connection is still watched for input, so a client
 * that gives up is noticed and closed. Writes use MSG_NOSIGNAL: a client
 * gone away is a closed connection, never a SIGPIPE.
 *
 * A turn of the loop costs what happened in it: epoll reports only the
 * sockets ready, the heap yields only the replies due, and closed
 * connections are swept only after a turn that closed one. (The loop
 * used to poll and scan every connection each turn: at a thousand
 * connections that took a core of its own.) Invariants: a connection is
 * in the heap only while it waits (heap_at >= 0), and it is freed only
 * by the sweep at the end of a turn, so an event of that turn never
 * points at freed memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <peerpres/status.h>

#include "core/alloc.h"
#include "core/monotonic.h"
#include "mock/mock_int.h"

#define MAX_HEADER_BYTES ((size_t)64 * 1024)
#define MAX_BODY_BYTES ((size_t)64 * 1024 * 1024)
#define DEFAULT_SLOW_MS 10000L
#define MAX_EVENTS 256

enum conn_state { C_READING, C_WAITING, C_WRITING, C_CLOSED };

struct mock_conn {
	int fd;
	enum conn_state state;
	struct pp_buf in, out;
	size_t out_off;
	long due_ms;
	bool close_after;     /* close once out is written */
	bool reset;           /* at due time, close with RST and send nothing */
	long heap_at;         /* its place in the timer heap, or -1 */
	unsigned watching;    /* the epoll events asked for */
};

static int nonblocking(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ? -1 : 0;
}

static int listen_on(struct pp_mock *m, struct pp_diag *diag)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int one = 1;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)m->opt.port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((m->listen_fd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    setsockopt(m->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(m->listen_fd, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(m->listen_fd, SOMAXCONN) || nonblocking(m->listen_fd) ||
	    getsockname(m->listen_fd, (struct sockaddr *)&a, &len))
		return pp_diag_set(diag, PP_EIO, NULL, 0, 0, "cannot listen on 127.0.0.1:%d: %s",
				   m->opt.port, strerror(errno));
	m->port = ntohs(a.sin_port);
	return PP_OK;
}

/* The epoll set, with the wake pipe and the listening socket in it. */
static int watch_init(struct pp_mock *m, struct pp_diag *diag)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	if ((m->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
		return pp_diag_set(diag, PP_EIO, NULL, 0, 0, "epoll: %s", strerror(errno));
	ev.data.ptr = &m->wake[0];
	if (!epoll_ctl(m->epfd, EPOLL_CTL_ADD, m->wake[0], &ev)) {
		ev.data.ptr = &m->listen_fd;
		if (!epoll_ctl(m->epfd, EPOLL_CTL_ADD, m->listen_fd, &ev))
			return PP_OK;
	}
	return pp_diag_set(diag, PP_EIO, NULL, 0, 0, "epoll: %s", strerror(errno));
}

int pp_mock_new(struct pp_mock **out, const struct pp_mock_options *opt, struct pp_diag *diag)
{
	struct pp_mock *m = pp_calloc(1, sizeof(*m));
	int rc;

	*out = NULL;
	if (!m)
		return PP_ENOMEM;
	m->opt = *opt;
	if (m->opt.slow_ms <= 0)
		m->opt.slow_ms = DEFAULT_SLOW_MS;
	m->listen_fd = m->wake[0] = m->wake[1] = m->epfd = -1;
	if (opt->port < 0 || opt->port > 65535 || opt->latency_ms < 0) {
		free(m);
		return pp_diag_set(diag, PP_EUSAGE, NULL, 0, 0, "bad port or latency");
	}
	rc = mock_faults_init(&m->faults, opt->faults, opt->script, opt->fault_seed, diag);
	if (!rc && (pipe(m->wake) || nonblocking(m->wake[0]) || nonblocking(m->wake[1])))
		rc = pp_diag_set(diag, PP_EIO, NULL, 0, 0, "pipe: %s", strerror(errno));
	if (!rc)
		rc = listen_on(m, diag);
	if (!rc)
		rc = watch_init(m, diag);
	if (rc) {
		pp_mock_free(m);
		return rc;
	}
	*out = m;
	return PP_OK;
}

int pp_mock_port(const struct pp_mock *m)
{
	return m->port;
}

void pp_mock_stop(struct pp_mock *m)
{
	ssize_t n = write(m->wake[1], "x", 1);

	(void)n;
}

void pp_mock_get_stats(const struct pp_mock *m, struct pp_mock_stats *out)
{
	*out = m->stats;
}

/* ---- the timer heap: the waiting connection due first on top ---- */

static void heap_place(struct pp_mock *m, struct mock_conn *c, size_t at)
{
	m->timers[at] = c;
	c->heap_at = (long)at;
}

static void heap_up(struct pp_mock *m, size_t at)
{
	struct mock_conn *c = m->timers[at];

	while (at > 0 && m->timers[(at - 1) / 2]->due_ms > c->due_ms) {
		heap_place(m, m->timers[(at - 1) / 2], at);
		at = (at - 1) / 2;
	}
	heap_place(m, c, at);
}

static void heap_down(struct pp_mock *m, size_t at)
{
	struct mock_conn *c = m->timers[at];

	for (;;) {
		size_t k = 2 * at + 1;

		if (k >= m->n_timers)
			break;
		if (k + 1 < m->n_timers && m->timers[k + 1]->due_ms < m->timers[k]->due_ms)
			k++;
		if (m->timers[k]->due_ms >= c->due_ms)
			break;
		heap_place(m, m->timers[k], at);
		at = k;
	}
	heap_place(m, c, at);
}

static void timer_cancel(struct pp_mock *m, struct mock_conn *c)
{
	size_t at = (size_t)c->heap_at;
	struct mock_conn *last;

	if (c->heap_at < 0)
		return;
	c->heap_at = -1;
	last = m->timers[--m->n_timers];
	if (last == c)
		return;
	heap_place(m, last, at);
	heap_up(m, at);
	heap_down(m, (size_t)last->heap_at);
}

/* Arms c's timer for c->due_ms. */
static int timer_arm(struct pp_mock *m, struct mock_conn *c)
{
	timer_cancel(m, c);
	if (m->n_timers == m->cap_timers) {
		struct mock_conn **t = pp_grow(m->timers, &m->cap_timers, m->n_timers, 1, sizeof(*t));

		if (!t)
			return PP_ENOMEM;
		m->timers = t;
	}
	heap_place(m, c, m->n_timers++);
	heap_up(m, m->n_timers - 1);
	return PP_OK;
}

static void conn_close(struct pp_mock *m, struct mock_conn *c)
{
	if (c->reset) {
		struct linger lg = { 1, 0 };

		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	timer_cancel(m, c);
	/* Closing the socket takes it out of the epoll set. */
	close(c->fd);
	c->fd = -1;
	c->state = C_CLOSED;
	m->any_closed = true;
	pp_buf_release(&c->in);
	pp_buf_release(&c->out);
}

void pp_mock_free(struct pp_mock *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; i < m->n_conns; i++) {
		if (m->conns[i]->state != C_CLOSED)
			conn_close(m, m->conns[i]);
		free(m->conns[i]);
	}
	free(m->conns);
	free(m->timers);
	if (m->epfd >= 0)
		close(m->epfd);
	if (m->listen_fd >= 0)
		close(m->listen_fd);
	if (m->wake[0] >= 0)
		close(m->wake[0]);
	if (m->wake[1] >= 0)
		close(m->wake[1]);
	mock_cache_clear(m);
	mock_faults_release(&m->faults);
	free(m);
}

/* The offset just past the blank line ending the headers, or 0. */
static size_t header_end(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i + 3 < len; i++)
		if (s[i] == '\r' && s[i + 1] == '\n' && s[i + 2] == '\r' && s[i + 3] == '\n')
			return i + 4;
	return 0;
}

/* The value of header `name` in the block [s, s+len): a slice, trimmed. */
static bool find_header(char *s, size_t len, const char *name, char **val, size_t *vlen)
{
	size_t n = strlen(name);
	char *line = memchr(s, '\n', len), *end = s + len, *eol;

	for (; line && line + 1 < end; line = eol) {
		line++;
		if (!(eol = memchr(line, '\n', (size_t)(end - line))))
			break;
		if ((size_t)(eol - line) <= n || line[n] != ':' || strncasecmp(line, name, n))
			continue;
		*val = line + n + 1;
		while (*val < eol && (**val == ' ' || **val == '\t'))
			(*val)++;
		*vlen = (size_t)(eol - *val);
		while (*vlen && ((*val)[*vlen - 1] == '\r' || (*val)[*vlen - 1] == ' '))
			(*vlen)--;
		return true;
	}
	return false;
}

/* NUL-terminates a header value in place (the byte after it is '\r' or
 * blank, part of the block) and returns it, or NULL when absent. */
static const char *header_str(char *s, size_t len, const char *name)
{
	char *v;
	size_t n;

	if (!find_header(s, len, name, &v, &n))
		return NULL;
	v[n] = '\0';
	return v;
}

/* Serialises a reply into c->out and arms the timer. */
static int queue_reply(struct pp_mock *m, struct mock_conn *c, struct mock_reply *r)
{
	size_t head;
	int rc;

	pp_buf_reset(&c->out);
	c->out_off = 0;
	rc = pp_buf_addf(&c->out, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
			 "Content-Length: %zu\r\n%sConnection: %s\r\n\r\n", r->status,
			 mock_reason(r->status), r->body.len, r->headers,
			 c->close_after ? "close" : "keep-alive");
	head = c->out.len;
	if (!rc)
		rc = pp_buf_add(&c->out, r->body.buf, r->body.len);
	if (rc)
		return rc;
	c->due_ms = (long)pp_monotonic_ms() + m->opt.latency_ms;
	if (r->fault == FAULT_SLOW)
		c->due_ms += m->opt.slow_ms;
	if (r->fault == FAULT_RESET)
		c->reset = true;
	if (r->fault == FAULT_TRUNCATE) {
		c->out.len = head + r->body.len / 2;
		c->out.buf[c->out.len] = '\0';
		c->close_after = true;
	}
	c->state = C_WAITING;
	return timer_arm(m, c);
}

/* A reply to a request that cannot be read; the connection closes after. */
static int refuse(struct pp_mock *m, struct mock_conn *c, int status, const char *why)
{
	struct mock_reply r;
	int rc;

	memset(&r, 0, sizeof(r));
	pp_buf_init(&r.body, 0);
	r.status = status;
	c->close_after = true;
	pp_buf_reset(&c->in);
	rc = mock_wire_error(MOCK_OPENAI, status, why, &r.body);
	if (!rc)
		rc = queue_reply(m, c, &r);
	pp_buf_release(&r.body);
	return rc;
}

/* Takes one whole request off c->in, if there is one, and queues its reply. */
static int take_request(struct pp_mock *m, struct mock_conn *c)
{
	char *s = c->in.buf, *v, *sp1, *sp2, *q;
	size_t hlen = header_end(s, c->in.len), vlen, body_len = 0;
	struct mock_request rq;
	struct mock_reply r;
	int rc;

	if (!hlen)
		return c->in.len > MAX_HEADER_BYTES ? refuse(m, c, 431, "headers too large") : PP_OK;
	if (find_header(s, hlen, "transfer-encoding", &v, &vlen))
		return refuse(m, c, 411, "send a Content-Length body");
	if (find_header(s, hlen, "content-length", &v, &vlen)) {
		char num[24], *end;

		snprintf(num, sizeof(num), "%.*s", (int)(vlen < 23 ? vlen : 23), v);
		errno = 0;
		body_len = (size_t)strtoull(num, &end, 10);
		if (!vlen || *end || errno || num[0] == '-' || body_len > MAX_BODY_BYTES)
			return refuse(m, c, 413, "bad or too large Content-Length");
	}
	if (c->in.len - hlen < body_len)
		return PP_OK;
	sp1 = memchr(s, ' ', hlen);
	sp2 = sp1 ? memchr(sp1 + 1, ' ', hlen - (size_t)(sp1 + 1 - s)) : NULL;
	if (!sp1 || !sp2)
		return refuse(m, c, 400, "bad request line");
	m->stats.requests++;
	memset(&rq, 0, sizeof(rq));
	c->close_after = !strncmp(sp2 + 1, "HTTP/1.0", 8);
	if (find_header(s, hlen, "connection", &v, &vlen))
		c->close_after = vlen == 5 && !strncasecmp(v, "close", 5) ? true :
				 vlen == 10 && !strncasecmp(v, "keep-alive", 10) ? false : c->close_after;
	rq.config = header_str(s, hlen, "x-peerpres-config");
	rq.seed = header_str(s, hlen, "x-peerpres-seed");
	rq.agent = header_str(s, hlen, "x-peerpres-agent");
	*sp1 = *sp2 = '\0';
	if ((q = strchr(sp1 + 1, '?')))
		*q = '\0';
	rq.method = s;
	rq.path = sp1 + 1;
	rq.body = s + hlen;
	rq.body_len = body_len;
	memset(&r, 0, sizeof(r));
	pp_buf_init(&r.body, 0);
	rc = mock_answer(m, &rq, &r);
	if (!rc)
		rc = queue_reply(m, c, &r);
	pp_buf_release(&r.body);
	/* Whatever follows is the next request (pipelining). */
	memmove(c->in.buf, c->in.buf + hlen + body_len, c->in.len - hlen - body_len);
	c->in.len -= hlen + body_len;
	c->in.buf[c->in.len] = '\0';
	if (!c->in.len)
		pp_buf_release(&c->in);
	return rc;
}

static void on_readable(struct pp_mock *m, struct mock_conn *c)
{
	char chunk[16384];
	ssize_t n = recv(c->fd, chunk, sizeof(chunk), 0);

	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0 || pp_buf_add(&c->in, chunk, (size_t)n)) {
		/* The client is gone (or sent more than any request may be). */
		c->reset = c->reset || n > 0;
		conn_close(m, c);
		return;
	}
	if (c->state == C_READING && take_request(m, c))
		conn_close(m, c);
}

static void on_writable(struct pp_mock *m, struct mock_conn *c)
{
	while (c->out_off < c->out.len) {
		ssize_t n = send(c->fd, c->out.buf + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL);

		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			conn_close(m, c);
			return;
		}
		c->out_off += (size_t)n;
	}
	if (c->close_after) {
		conn_close(m, c);
		return;
	}
	pp_buf_release(&c->out);
	c->state = C_READING;
	if (c->in.len && take_request(m, c))
		conn_close(m, c);
	else if (c->state == C_WAITING && c->due_ms <= (long)pp_monotonic_ms())
		c->state = C_WRITING;
}

/* Asks epoll for what c waits for: room to write, or input (which also
 * tells a client gone away). False when epoll refuses. */
static bool conn_watch(struct pp_mock *m, struct mock_conn *c)
{
	struct epoll_event ev;
	unsigned want = c->state == C_WRITING ? EPOLLOUT : EPOLLIN;

	if (c->state == C_CLOSED || want == c->watching)
		return true;
	memset(&ev, 0, sizeof(ev));
	ev.events = want;
	ev.data.ptr = c;
	if (epoll_ctl(m->epfd, c->watching ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd, &ev))
		return false;
	c->watching = want;
	return true;
}

static int add_conn(struct pp_mock *m, int fd)
{
	struct mock_conn *c, **grown;
	int one = 1;

	if (!(grown = pp_grow(m->conns, &m->cap_conns, m->n_conns, 1, sizeof(*grown))))
		return PP_ENOMEM;
	m->conns = grown;
	if (nonblocking(fd) || !(c = pp_calloc(1, sizeof(*c))))
		return PP_ENOMEM;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->fd = fd;
	c->state = C_READING;
	c->heap_at = -1;
	pp_buf_init(&c->in, MAX_HEADER_BYTES + MAX_BODY_BYTES);
	pp_buf_init(&c->out, 0);
	if (!conn_watch(m, c)) {
		free(c);
		return PP_EIO;
	}
	m->conns[m->n_conns++] = c;
	m->stats.connections++;
	return PP_OK;
}

static void accept_all(struct pp_mock *m)
{
	int fd;

	while ((fd = accept(m->listen_fd, NULL, NULL)) >= 0)
		if (add_conn(m, fd))
			close(fd);
}

/* Replies whose time has come start going out. */
static void fire_timers(struct pp_mock *m)
{
	long now = (long)pp_monotonic_ms();

	while (m->n_timers && m->timers[0]->due_ms <= now) {
		struct mock_conn *c = m->timers[0];

		timer_cancel(m, c);
		if (c->state != C_WAITING)
			continue;
		if (c->reset) {
			conn_close(m, c);
			continue;
		}
		c->state = C_WRITING;
		on_writable(m, c);
		if (!conn_watch(m, c))
			conn_close(m, c);
	}
}

/* Drops closed connections, keeping the order of the others. */
static void sweep(struct pp_mock *m)
{
	size_t i, k = 0;

	if (!m->any_closed)
		return;
	m->any_closed = false;
	for (i = 0; i < m->n_conns; i++) {
		if (m->conns[i]->state == C_CLOSED)
			free(m->conns[i]);
		else
			m->conns[k++] = m->conns[i];
	}
	m->n_conns = k;
}

/* Until the first reply is due, or -1 when none waits. */
static int wait_timeout(const struct pp_mock *m)
{
	long d;

	if (!m->n_timers)
		return -1;
	d = m->timers[0]->due_ms - (long)pp_monotonic_ms();
	return d < 0 ? 0 : d > 60000 ? 60000 : (int)d;
}

static void on_event(struct pp_mock *m, struct mock_conn *c, unsigned ev)
{
	if (c->state == C_CLOSED)
		return;
	if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR))
		on_readable(m, c);
	if (c->state == C_WRITING && (ev & EPOLLOUT))
		on_writable(m, c);
	if (!conn_watch(m, c))
		conn_close(m, c);
}

/* One round of the loop; *stop when asked to stop. */
static int serve_once(struct pp_mock *m, bool *stop)
{
	struct epoll_event ev[MAX_EVENTS];
	char drain[64];
	int i, n = epoll_wait(m->epfd, ev, MAX_EVENTS, wait_timeout(m));

	if (n < 0)
		return errno == EINTR ? PP_OK : PP_EIO;
	for (i = 0; i < n; i++) {
		void *p = ev[i].data.ptr;

		if (p == &m->wake[0]) {
			if ((*stop = read(m->wake[0], drain, sizeof(drain)) > 0))
				return PP_OK;
		} else if (p == &m->listen_fd) {
			accept_all(m);
		} else {
			on_event(m, p, ev[i].events);
		}
	}
	fire_timers(m);
	sweep(m);
	return PP_OK;
}

int pp_mock_run(struct pp_mock *m)
{
	bool stop = false;
	int rc = PP_OK;

	while (!rc && !stop)
		rc = serve_once(m, &stop);
	return rc;
}
