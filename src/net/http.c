/*
 * http.c - one HTTP exchange over a libcurl easy handle.
 *
 * A client keeps its easy handle between exchanges: curl_easy_reset()
 * clears the options but keeps the live connections, so the next request
 * to the same host reuses the connection (and HTTP/2 where the server
 * offered it). Error texts are built from curl's code and error buffer
 * and the URL without its query string; request headers never enter one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include <peerpres/http.h>
#include <peerpres/status.h>

#include "core/alloc.h"
#include "net/exchange.h"
#include "net/net_int.h"

#define DEFAULT_CONNECT_TIMEOUT_MS 10000L
#define DEFAULT_TIMEOUT_MS 600000L
#define DEFAULT_MAX_BODY ((size_t)64 * 1024 * 1024)

struct pp_http_client {
	CURL *easy;
};

int pp_http_global_init(void)
{
	static int done;

	if (done)
		return PP_OK;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return PP_EPROVIDER;
	done = 1;
	return PP_OK;
}

int pp_http_client_new(struct pp_http_client **out)
{
	struct pp_http_client *c = pp_calloc(1, sizeof(*c));

	*out = NULL;
	if (!c)
		return PP_ENOMEM;
	if (!(c->easy = curl_easy_init())) {
		free(c);
		return PP_ENOMEM;
	}
	*out = c;
	return PP_OK;
}

void pp_http_client_free(struct pp_http_client *c)
{
	if (!c)
		return;
	curl_easy_cleanup(c->easy);
	free(c);
}

void pp_http_response_init(struct pp_http_response *r)
{
	memset(r, 0, sizeof(*r));
	pp_buf_init(&r->body, DEFAULT_MAX_BODY);
	r->retry_after_ms = -1;
}

void pp_http_response_release(struct pp_http_response *r)
{
	pp_buf_release(&r->body);
	pp_http_response_init(r);
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	struct pp_net_exchange *x = arg;

	if (pp_buf_add(&x->resp->body, data, size * n)) {
		x->too_big = true;
		return 0;
	}
	return size * n;
}

/* One "Name: value" line: the value (trimmed, NUL-terminated in out) when
 * the name matches. */
static bool header_value(const char *line, size_t len, const char *name, char *out,
			 size_t outlen)
{
	size_t n = strlen(name), v;

	if (len <= n || line[n] != ':' || strncasecmp(line, name, n))
		return false;
	line += n + 1;
	len -= n + 1;
	while (len && (*line == ' ' || *line == '\t'))
		line++, len--;
	while (len && (line[len - 1] == '\r' || line[len - 1] == '\n' || line[len - 1] == ' '))
		len--;
	v = len < outlen - 1 ? len : outlen - 1;
	memcpy(out, line, v);
	out[v] = '\0';
	return true;
}

static void on_header_line(struct pp_net_exchange *x, const char *line, size_t len)
{
	char v[128];

	if (len >= 5 && !strncmp(line, "HTTP/", 5)) {
		/* A new response (after a 100 Continue, say): forget the old hints. */
		x->after_ms = x->after_s = x->reset_openai_ms = x->reset_anthropic_ms = -1;
		x->resp->route[0] = '\0';
		return;
	}
	if (header_value(line, len, "retry-after-ms", v, sizeof(v)))
		x->after_ms = pp_net_parse_number_ms(v, 1);
	else if (header_value(line, len, "retry-after", v, sizeof(v)))
		x->after_s = pp_net_parse_retry_after_ms(v, time(NULL));
	else if (header_value(line, len, "x-ratelimit-reset-requests", v, sizeof(v)))
		x->reset_openai_ms = pp_net_parse_duration_ms(v);
	else if (header_value(line, len, "anthropic-ratelimit-requests-reset", v, sizeof(v)))
		x->reset_anthropic_ms = pp_net_parse_rfc3339_ms(v, time(NULL));
	else if (header_value(line, len, "x-peerpres-route", v, sizeof(v)))
		snprintf(x->resp->route, sizeof(x->resp->route), "%s", v);
}

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
	on_header_line(arg, data, size * n);
	return size * n;
}

static long first_hint(const struct pp_net_exchange *x)
{
	const long hints[] = { x->after_ms, x->after_s, x->reset_openai_ms, x->reset_anthropic_ms };
	size_t i;

	for (i = 0; i < sizeof(hints) / sizeof(hints[0]); i++)
		if (hints[i] >= 0)
			return hints[i];
	return -1;
}

static enum pp_http_fail classify(CURLcode code, bool too_big)
{
	switch (code) {
	case CURLE_OK:
		return PP_HTTP_NONE;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SSL_CONNECT_ERROR:
		return PP_HTTP_CONNECT;
	case CURLE_OPERATION_TIMEDOUT:
		return PP_HTTP_TIMEOUT;
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return PP_HTTP_RESET;
	case CURLE_PARTIAL_FILE:
		return PP_HTTP_TRUNCATED;
	case CURLE_FILESIZE_EXCEEDED:
		return PP_HTTP_TOO_BIG;
	case CURLE_WRITE_ERROR:
		return too_big ? PP_HTTP_TOO_BIG : PP_HTTP_OTHER;
	default:
		return PP_HTTP_OTHER;
	}
}

/* "POST http://host/path: why (detail)", the URL cut at its query. The
 * system's reason for a failed connect comes first when there is one:
 * curl's own text reads "Couldn't connect to server" for a refused port
 * and a firewall alike. */
static void describe(struct pp_http_response *resp, const struct pp_http_request *req,
		     CURLcode code, const char *detail, long os_errno)
{
	size_t url_len = strcspn(req->url, "?#");
	const char *why = resp->fail == PP_HTTP_TOO_BIG ? "response body over the cap" :
			  code == CURLE_COULDNT_CONNECT && os_errno > 0 ? strerror((int)os_errno) :
			  curl_easy_strerror(code);

	if (resp->fail == PP_HTTP_TOO_BIG)
		detail = "";
	if (snprintf(resp->error, sizeof(resp->error), "%s %.*s: %s%s%s%s", req->method,
		     (int)(url_len > 120 ? 120 : url_len), req->url, why,
		     detail[0] ? " (" : "", detail, detail[0] ? ")" : "") < 0)
		resp->error[0] = '\0';
	pp_redact(resp->error);
}

/* The request's headers as a curl list; Expect is turned off so a body
 * goes out at once. */
static int header_list(const struct pp_http_request *req, struct curl_slist **out)
{
	struct curl_slist *l = NULL, *t;
	size_t i;

	for (i = 0; i <= pp_json_len(req->headers); i++) {
		const char *h = i < pp_json_len(req->headers) ?
				pp_json_str(pp_json_at(req->headers, i)) : "Expect:";

		if (!h)
			continue;
		if (!(t = curl_slist_append(l, h))) {
			curl_slist_free_all(l);
			return PP_ENOMEM;
		}
		l = t;
	}
	*out = l;
	return PP_OK;
}

static CURLcode set_options(CURL *e, const struct pp_http_request *req,
			    const struct pp_http_policy *pol, struct pp_net_exchange *x)
{
	long connect_ms = pol && pol->connect_timeout_ms > 0 ? pol->connect_timeout_ms :
			  DEFAULT_CONNECT_TIMEOUT_MS;
	long total_ms = pol && pol->timeout_ms > 0 ? pol->timeout_ms : DEFAULT_TIMEOUT_MS;
	CURLcode c = CURLE_OK;

#define SET(opt, val) do { if (c == CURLE_OK) c = curl_easy_setopt(e, opt, val); } while (0)
	SET(CURLOPT_URL, req->url);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_ERRORBUFFER, x->errbuf);
	SET(CURLOPT_HTTPHEADER, x->headers);
	SET(CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
	SET(CURLOPT_TIMEOUT_MS, total_ms);
	SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	SET(CURLOPT_ACCEPT_ENCODING, "");
	SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)x->resp->body.max);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, x);
	SET(CURLOPT_HEADERFUNCTION, on_header);
	SET(CURLOPT_HEADERDATA, x);
	SET(CURLOPT_TCP_KEEPALIVE, 1L);
	if (!strcmp(req->method, "POST")) {
		SET(CURLOPT_POST, 1L);
		SET(CURLOPT_POSTFIELDS, req->body.buf);
		SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body.len);
	} else if (!strcmp(req->method, "GET") || !req->method[0]) {
		SET(CURLOPT_HTTPGET, 1L);
	} else {
		SET(CURLOPT_CUSTOMREQUEST, req->method);
		if (req->body.len) {
			SET(CURLOPT_POSTFIELDS, req->body.buf);
			SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body.len);
		}
	}
#undef SET
	return c;
}

int pp_net_exchange_begin(struct pp_net_exchange *x, CURL *e, const struct pp_http_request *req,
			  const struct pp_http_policy *pol, struct pp_http_response *resp)
{
	CURLcode code;
	int rc;

	pp_http_response_release(resp);
	resp->body.max = pol && pol->max_body ? pol->max_body : DEFAULT_MAX_BODY;
	memset(x, 0, sizeof(*x));
	x->resp = resp;
	x->after_ms = x->after_s = x->reset_openai_ms = x->reset_anthropic_ms = -1;
	if ((rc = header_list(req, &x->headers)))
		return rc;
	curl_easy_reset(e);
	code = set_options(e, req, pol, x);
	if (code == CURLE_OK)
		return PP_OK;
	resp->fail = PP_HTTP_OTHER;
	describe(resp, req, code, x->errbuf, 0);
	pp_net_exchange_release(x, e);
	return code == CURLE_OUT_OF_MEMORY ? PP_ENOMEM : PP_EINVAL;
}

int pp_net_exchange_end(struct pp_net_exchange *x, CURL *e, const struct pp_http_request *req,
			CURLcode code)
{
	struct pp_http_response *resp = x->resp;
	int rc = PP_OK;

	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &resp->status);
	resp->retry_after_ms = first_hint(x);
	resp->fail = classify(code, x->too_big);
	if (resp->fail != PP_HTTP_NONE) {
		long os_errno = 0;

		curl_easy_getinfo(e, CURLINFO_OS_ERRNO, &os_errno);
		describe(resp, req, code, x->errbuf, os_errno);
		rc = PP_EPROVIDER;
	}
	pp_net_exchange_release(x, e);
	return rc;
}

void pp_net_exchange_release(struct pp_net_exchange *x, CURL *e)
{
	/* The handle keeps pointers into x: drop them before x goes. */
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(x->headers);
	x->headers = NULL;
}

int pp_http_perform(struct pp_http_client *client, const struct pp_http_request *req,
		    const struct pp_http_policy *pol, struct pp_http_response *resp)
{
	struct pp_net_exchange x;
	struct pp_http_client *own = NULL;
	CURL *e;
	int rc;

	if (!client && (rc = pp_http_client_new(&own)))
		return rc;
	e = own ? own->easy : client->easy;
	if (!(rc = pp_net_exchange_begin(&x, e, req, pol, resp)))
		rc = pp_net_exchange_end(&x, e, req, curl_easy_perform(e));
	pp_http_client_free(own);
	return rc;
}
