/*
 * server.c - the mock server's sockets: one thread, poll(), HTTP/1.1 with
 * keep-alive and Content-Length bodies.
 *
 * A connection reads a request, gets its reply from mock_answer() at
 * once, then waits until the reply is due (latency, slow faults) with
 * its timer in the poll loop, writes it and reads the next request. While
 * a reply waits the connection is still polled for input, so a client
 * that gives up is noticed and closed. Writes use MSG_NOSIGNAL: a client
 * gone away is a closed connection, never a SIGPIPE.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <peerpres/status.h>

#include "core/alloc.h"
#include "mock/mock_int.h"

#define MAX_HEADER_BYTES ((size_t)64 * 1024)
#define MAX_BODY_BYTES ((size_t)64 * 1024 * 1024)
#define DEFAULT_SLOW_MS 10000L

enum conn_state { C_READING, C_WAITING, C_WRITING, C_CLOSED };

struct mock_conn {
	int fd;
	enum conn_state state;
	struct pp_buf in, out;
	size_t out_off;
	long due_ms;
	bool close_after;     /* close once out is written */
	bool reset;           /* at due time, close with RST and send nothing */
};

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

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
	m->listen_fd = m->wake[0] = m->wake[1] = -1;
	if (opt->port < 0 || opt->port > 65535 || opt->latency_ms < 0) {
		free(m);
		return pp_diag_set(diag, PP_EUSAGE, NULL, 0, 0, "bad port or latency");
	}
	rc = mock_faults_init(&m->faults, opt->faults, opt->script, opt->fault_seed, diag);
	if (!rc && (pipe(m->wake) || nonblocking(m->wake[0]) || nonblocking(m->wake[1])))
		rc = pp_diag_set(diag, PP_EIO, NULL, 0, 0, "pipe: %s", strerror(errno));
	if (!rc)
		rc = listen_on(m, diag);
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

static void conn_close(struct mock_conn *c)
{
	if (c->reset) {
		struct linger lg = { 1, 0 };

		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	close(c->fd);
	c->fd = -1;
	c->state = C_CLOSED;
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
			conn_close(m->conns[i]);
		free(m->conns[i]);
	}
	free(m->conns);
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
	c->due_ms = now_ms() + m->opt.latency_ms;
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
	return PP_OK;
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
		conn_close(c);
		return;
	}
	if (c->state == C_READING && take_request(m, c))
		conn_close(c);
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
			conn_close(c);
			return;
		}
		c->out_off += (size_t)n;
	}
	if (c->close_after) {
		conn_close(c);
		return;
	}
	pp_buf_release(&c->out);
	c->state = C_READING;
	if (c->in.len && take_request(m, c))
		conn_close(c);
	else if (c->state == C_WAITING && c->due_ms <= now_ms())
		c->state = C_WRITING;
}

static void accept_all(struct pp_mock *m)
{
	int one = 1, fd;

	while ((fd = accept(m->listen_fd, NULL, NULL)) >= 0) {
		struct mock_conn *c = NULL, **grown;

		if (m->n_conns == m->cap_conns) {
			size_t cap = m->cap_conns ? m->cap_conns * 2 : 64;

			if (!(grown = pp_realloc(m->conns, cap * sizeof(*grown)))) {
				close(fd);
				return;
			}
			m->conns = grown;
			m->cap_conns = cap;
		}
		if (nonblocking(fd) || !(c = pp_calloc(1, sizeof(*c)))) {
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c->fd = fd;
		c->state = C_READING;
		pp_buf_init(&c->in, MAX_HEADER_BYTES + MAX_BODY_BYTES);
		pp_buf_init(&c->out, 0);
		m->conns[m->n_conns++] = c;
		m->stats.connections++;
	}
}

/* Replies whose time has come start going out. */
static void fire_timers(struct pp_mock *m)
{
	long now = now_ms();
	size_t i;

	for (i = 0; i < m->n_conns; i++) {
		struct mock_conn *c = m->conns[i];

		if (c->state != C_WAITING || c->due_ms > now)
			continue;
		if (c->reset) {
			conn_close(c);
			continue;
		}
		c->state = C_WRITING;
		on_writable(m, c);
	}
}

/* Drops closed connections, keeping the order of the others. */
static void sweep(struct pp_mock *m)
{
	size_t i, k = 0;

	for (i = 0; i < m->n_conns; i++) {
		if (m->conns[i]->state == C_CLOSED)
			free(m->conns[i]);
		else
			m->conns[k++] = m->conns[i];
	}
	m->n_conns = k;
}

static long poll_timeout(const struct pp_mock *m)
{
	long now = now_ms(), t = -1;
	size_t i;

	for (i = 0; i < m->n_conns; i++)
		if (m->conns[i]->state == C_WAITING) {
			long d = m->conns[i]->due_ms - now;

			d = d < 0 ? 0 : d;
			t = t < 0 || d < t ? d : t;
		}
	return t;
}

/* One round of the loop; false when asked to stop. */
static int serve_once(struct pp_mock *m, struct pollfd **pfds, size_t *cap, bool *stop)
{
	size_t i, n = m->n_conns + 2;
	char drain[64];

	if (n > *cap) {
		struct pollfd *p = pp_realloc(*pfds, n * 2 * sizeof(*p));

		if (!p)
			return PP_ENOMEM;
		*pfds = p;
		*cap = n * 2;
	}
	(*pfds)[0] = (struct pollfd){ m->wake[0], POLLIN, 0 };
	(*pfds)[1] = (struct pollfd){ m->listen_fd, POLLIN, 0 };
	for (i = 0; i < m->n_conns; i++)
		(*pfds)[i + 2] = (struct pollfd){ m->conns[i]->fd,
			(short)(m->conns[i]->state == C_WRITING ? POLLOUT : POLLIN), 0 };
	if (poll(*pfds, (nfds_t)n, (int)poll_timeout(m)) < 0)
		return errno == EINTR ? PP_OK : PP_EIO;
	if ((*pfds)[0].revents) {
		*stop = read(m->wake[0], drain, sizeof(drain)) > 0;
		if (*stop)
			return PP_OK;
	}
	for (i = 0; i < n - 2; i++) {
		struct mock_conn *c = m->conns[i];
		short ev = (*pfds)[i + 2].revents;

		if (c->state == C_CLOSED || !ev)
			continue;
		if (ev & (POLLIN | POLLHUP | POLLERR))
			on_readable(m, c);
		else if (ev & POLLNVAL)
			conn_close(c);
		if (c->state == C_WRITING && (ev & POLLOUT))
			on_writable(m, c);
	}
	if ((*pfds)[1].revents & POLLIN)
		accept_all(m);
	fire_timers(m);
	sweep(m);
	return PP_OK;
}

int pp_mock_run(struct pp_mock *m)
{
	struct pollfd *pfds = NULL;
	size_t cap = 0;
	bool stop = false;
	int rc = PP_OK;

	while (!rc && !stop)
		rc = serve_once(m, &pfds, &cap, &stop);
	free(pfds);
	return rc;
}
