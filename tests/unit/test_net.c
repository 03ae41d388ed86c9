/* Unit tests of src/net: one exchange and the retry loop, against the
 * mock server on a thread (scripted faults), and the retry hint parsers. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <peerpres/hash.h>
#include <peerpres/http.h>
#include <peerpres/status.h>
#include "net/net_int.h"
#include "../harness/test.h"
#include "mock_thread.h"

static long elapsed_ms(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long)(t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* A GET of /healthz with a header that stands for an API key. */
static int health_request(struct pp_http_request *req, const char *base)
{
	pp_http_request_init(req);
	snprintf(req->method, sizeof(req->method), "GET");
	snprintf(req->url, sizeof(req->url), "%s/healthz?key=query-secret-0123456789", base);
	req->headers = pp_json_array();
	if (!req->headers ||
	    pp_json_append(req->headers, pp_json_string("Authorization: Bearer sk-header-secret-0123456789")))
		return PP_ENOMEM;
	return PP_OK;
}

/* What one pp_http_call against a scripted server gave. */
struct outcome {
	int rc;
	long status;
	enum pp_http_fail fail;
	char body[128];
	char error[256];
	long retry_after_ms;
	struct pp_http_stats stats;
	long elapsed_ms;
	struct pp_mock_stats server;
};

static int call_scripted(const char *script, const char *faults, struct pp_http_policy *pol,
			 pp_http_retry_fn fn, struct outcome *o)
{
	struct pp_mock_options mo;
	struct mock_thread mt;
	struct pp_http_request req;
	struct pp_http_response resp;
	struct pp_http_client *cl = NULL;
	struct timespec t0;
	int rc;

	memset(&mo, 0, sizeof(mo));
	memset(o, 0, sizeof(*o));
	mo.script = script;
	mo.faults = faults;
	mo.retry_after_ms = 50;
	mo.slow_ms = 1500;
	if ((rc = mock_thread_start(&mt, &mo, false)))
		return rc;
	pp_http_response_init(&resp);
	rc = health_request(&req, mt.base);
	if (!rc)
		rc = pp_http_client_new(&cl);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (!rc) {
		o->rc = pp_http_call(cl, &req, pol, fn, NULL, &resp, &o->stats);
		o->elapsed_ms = elapsed_ms(&t0);
		o->status = resp.status;
		o->fail = resp.fail;
		o->retry_after_ms = resp.retry_after_ms;
		snprintf(o->body, sizeof(o->body), "%s", resp.body.buf);
		snprintf(o->error, sizeof(o->error), "%s", resp.error);
	}
	pp_http_client_free(cl);
	pp_http_response_release(&resp);
	pp_http_request_release(&req);
	mock_thread_stop(&mt, &o->server);
	return rc;
}

/* Quick backoff so the tests do not sleep. */
static struct pp_http_policy fast_policy(void)
{
	struct pp_http_policy p;

	memset(&p, 0, sizeof(p));
	p.backoff_base_ms = 1;
	p.backoff_max_ms = 5;
	p.timeout_ms = 5000;
	p.seed = 7;
	return p;
}

TEST(net_plain_200)
{
	struct pp_http_policy pol = fast_policy();
	struct outcome o;

	CHECK_INT_EQ(call_scripted(NULL, NULL, &pol, NULL, &o), PP_OK);
	CHECK_INT_EQ(o.rc, PP_OK);
	CHECK_INT_EQ(o.status, 200);
	CHECK_STR_EQ(o.body, "{\"ok\":true}");
	CHECK_INT_EQ(o.stats.attempts, 1);
	CHECK_INT_EQ(o.stats.retries, 0);
	CHECK_INT_EQ(o.retry_after_ms, -1);
}

TEST(net_429_waits_for_retry_after_then_200)
{
	struct pp_http_policy pol = fast_policy();
	struct outcome o;

	CHECK_INT_EQ(call_scripted("429,ok", NULL, &pol, NULL, &o), PP_OK);
	CHECK_INT_EQ(o.status, 200);
	CHECK_INT_EQ(o.stats.attempts, 2);
	CHECK_INT_EQ(o.stats.retries, 1);
	/* retry-after-ms: 50 wins over Retry-After: 1 and over the 5 ms backoff. */
	CHECK_INT_EQ(o.stats.waited_ms, 50);
	CHECK(o.elapsed_ms >= 50 && o.elapsed_ms < 900);
}

TEST(net_500_then_200)
{
	struct pp_http_policy pol = fast_policy();
	struct outcome o;

	CHECK_INT_EQ(call_scripted("500,503,ok", NULL, &pol, NULL, &o), PP_OK);
	CHECK_INT_EQ(o.rc, PP_OK);
	CHECK_INT_EQ(o.status, 200);
	CHECK_INT_EQ(o.stats.attempts, 3);
}

TEST(net_reset_then_200)
{
	struct pp_http_policy pol = fast_policy();
	struct outcome o;

	CHECK_INT_EQ(call_scripted("reset,ok", NULL, &pol, NULL, &o), PP_OK);
	CHECK_INT_EQ(o.status, 200);
	CHECK_INT_EQ(o.stats.attempts, 2);
}

TEST(net_reset_alone_is_a_reset_failure)
{
	struct pp_http_policy pol = fast_policy();
	struct outcome o;

	pol.max_attempts = 1;
	CHECK_INT_EQ(call_scripted("reset", NULL, &pol, NULL, &o), PP_OK);
	CHECK_INT_EQ(o.rc, PP_EPROVIDER);
	CHECK_INT_EQ(o.fail, PP_HTTP_RESET);
	CHECK_CONTAINS(o.error, "GET http://127.0.0.1:");
}

TEST(net_slow_response_times_out_and_is_retried)
{
	struct pp_http_policy pol = fast_policy();
	struct outcome o;

	pol.timeout_ms = 200;
	pol.max_attempts = 1;
	CHECK_INT_EQ(call_scripted("slow", NULL, &pol, NULL, &o), PP_OK);
	CHECK_INT_EQ(o.rc, PP_EPROVIDER);
	CHECK_INT_EQ(o.fail, PP_HTTP_TIMEOUT);
	CHECK(o.elapsed_ms >= 190 && o.elapsed_ms < 1400);
	pol.max_attempts = 3;
	CHECK_INT_EQ(call_scripted("slow,ok", NULL, &pol, NULL, &o), PP_OK);
	CHECK_INT_EQ(o.status, 200);
	CHECK_INT_EQ(o.stats.attempts, 2);
}

TEST(net_truncated_body_is_detected_and_retried)
{
	struct pp_http_policy pol = fast_policy();
	struct outcome o;

	pol.max_attempts = 1;
	CHECK_INT_EQ(call_scripted("truncate", NULL, &pol, NULL, &o), PP_OK);
	CHECK_INT_EQ(o.rc, PP_EPROVIDER);
	CHECK_INT_EQ(o.fail, PP_HTTP_TRUNCATED);
	CHECK_INT_EQ(o.status, 200);
	pol.max_attempts = 0;
	CHECK_INT_EQ(call_scripted("truncate,ok", NULL, &pol, NULL, &o), PP_OK);
	CHECK_INT_EQ(o.rc, PP_OK);
	CHECK_STR_EQ(o.body, "{\"ok\":true}");
}

TEST(net_401_is_not_retried)
{
	struct pp_http_policy pol = fast_policy();
	struct outcome o;

	CHECK_INT_EQ(call_scripted("401,ok", NULL, &pol, NULL, &o), PP_OK);
	CHECK_INT_EQ(o.rc, PP_OK);
	CHECK_INT_EQ(o.status, 401);
	CHECK_INT_EQ(o.stats.attempts, 1);
	CHECK_CONTAINS(o.body, "injected fault");
}

TEST(net_total_retry_time_is_capped)
{
	struct pp_http_policy pol = fast_policy();
	struct outcome o;

	pol.backoff_base_ms = 40;
	pol.backoff_max_ms = 80;
	pol.max_attempts = 1000;
	pol.retry_total_ms = 300;
	CHECK_INT_EQ(call_scripted(NULL, "503=1", &pol, NULL, &o), PP_OK);
	CHECK_INT_EQ(o.rc, PP_OK);
	CHECK_INT_EQ(o.status, 503);
	CHECK(o.stats.attempts > 2);
	CHECK(o.stats.attempts < 100);
	CHECK(o.stats.waited_ms <= 300);
	CHECK(o.elapsed_ms < 1000);
}

TEST(net_attempts_are_capped)
{
	struct pp_http_policy pol = fast_policy();
	struct outcome o;

	pol.max_attempts = 3;
	CHECK_INT_EQ(call_scripted(NULL, "500=1", &pol, NULL, &o), PP_OK);
	CHECK_INT_EQ(o.status, 500);
	CHECK_INT_EQ(o.stats.attempts, 3);
	CHECK_INT_EQ(o.stats.retries, 2);
}

static bool retry_unless_json(void *arg, const struct pp_http_response *resp)
{
	(void)arg;
	return pp_http_retryable(resp) || (resp->status == 200 && resp->body.buf[0] == '{' &&
					   !strstr(resp->body.buf, "\"ok\""));
}

TEST(net_callback_decides_what_is_retried)
{
	struct pp_http_policy pol = fast_policy();
	struct outcome o;

	CHECK_INT_EQ(call_scripted("malformed,ok", NULL, &pol, retry_unless_json, &o), PP_OK);
	CHECK_INT_EQ(o.stats.attempts, 2);
	CHECK_STR_EQ(o.body, "{\"ok\":true}");
	CHECK_INT_EQ(call_scripted("malformed,ok", NULL, &pol, NULL, &o), PP_OK);
	CHECK_INT_EQ(o.stats.attempts, 1);
	CHECK_CONTAINS(o.body, "<not json");
}

TEST(net_client_reuses_its_connection)
{
	struct pp_http_policy pol = fast_policy();
	struct pp_mock_options mo;
	struct pp_mock_stats st;
	struct mock_thread mt;
	struct pp_http_request req;
	struct pp_http_response resp;
	struct pp_http_client *cl = NULL;
	long status[3] = { 0, 0, 0 };
	int i;

	memset(&mo, 0, sizeof(mo));
	CHECK_INT_EQ(mock_thread_start(&mt, &mo, false), PP_OK);
	pp_http_response_init(&resp);
	if (!health_request(&req, mt.base) && !pp_http_client_new(&cl))
		for (i = 0; i < 3; i++)
			if (!pp_http_perform(cl, &req, &pol, &resp))
				status[i] = resp.status;
	pp_http_client_free(cl);
	pp_http_response_release(&resp);
	pp_http_request_release(&req);
	mock_thread_stop(&mt, &st);
	CHECK_INT_EQ(status[0] + status[1] + status[2], 600);
	CHECK_INT_EQ(st.requests, 3);
	CHECK_INT_EQ(st.connections, 1);
}

TEST(net_body_cap_fails_without_retry)
{
	struct pp_http_policy pol = fast_policy();
	struct outcome o;

	pol.max_body = 4;
	CHECK_INT_EQ(call_scripted(NULL, NULL, &pol, NULL, &o), PP_OK);
	CHECK_INT_EQ(o.rc, PP_EPROVIDER);
	CHECK_INT_EQ(o.fail, PP_HTTP_TOO_BIG);
	CHECK_INT_EQ(o.stats.attempts, 1);
	CHECK(strlen(o.body) <= 4);
}

TEST(net_errors_never_show_headers_or_query)
{
	struct pp_http_policy pol = fast_policy();
	struct pp_http_request req;
	struct pp_http_response resp;
	struct pp_http_stats st;
	char base[64];
	int fd, rc;
	struct sockaddr_in a;
	socklen_t len = sizeof(a);

	CHECK_INT_EQ(pp_http_global_init(), PP_OK);
	/* A port nobody listens on: bind one, note it, close it. */
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(fd >= 0);
	CHECK_INT_EQ(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	CHECK_INT_EQ(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	snprintf(base, sizeof(base), "http://127.0.0.1:%d", ntohs(a.sin_port));
	pp_http_response_init(&resp);
	CHECK_INT_EQ(health_request(&req, base), PP_OK);
	pol.max_attempts = 2;
	rc = pp_http_call(NULL, &req, &pol, NULL, NULL, &resp, &st);
	pp_http_request_release(&req);
	CHECK_INT_EQ(rc, PP_EPROVIDER);
	CHECK_INT_EQ(resp.fail, PP_HTTP_CONNECT);
	CHECK_INT_EQ(st.attempts, 2);
	CHECK_CONTAINS(resp.error, base);
	CHECK(!strstr(resp.error, "secret"));
	CHECK(!strstr(resp.error, "Bearer"));
	pp_http_response_release(&resp);
}

TEST(net_stop_flag_interrupts_the_wait)
{
	static volatile sig_atomic_t stop = 1;
	struct pp_http_policy pol = fast_policy();
	struct outcome o;

	pol.stop = &stop;
	CHECK_INT_EQ(call_scripted(NULL, NULL, &pol, NULL, &o), PP_OK);
	CHECK_INT_EQ(o.rc, PP_EINTR);
	CHECK_INT_EQ(o.stats.attempts, 0);
}

TEST(net_backoff_is_full_jitter_within_its_bounds)
{
	struct pp_http_policy pol;
	struct pp_rng rng;
	long max_seen = 0, v;
	int i;

	memset(&pol, 0, sizeof(pol));
	pol.backoff_base_ms = 100;
	pol.backoff_max_ms = 1000;
	pp_rng_seed(&rng, 1);
	for (i = 0; i < 2000; i++) {
		v = pp_http_backoff_ms(&pol, 3, &rng);
		CHECK(v >= 0 && v <= 400);
		max_seen = v > max_seen ? v : max_seen;
	}
	CHECK(max_seen > 350);
	for (i = 0; i < 200; i++)
		CHECK(pp_http_backoff_ms(&pol, 30, &rng) <= 1000);
}

TEST(net_retry_hints_parse)
{
	time_t now = 1700000000;

	CHECK_INT_EQ(pp_net_parse_number_ms("250", 1), 250);
	CHECK_INT_EQ(pp_net_parse_number_ms("x", 1), -1);
	CHECK_INT_EQ(pp_net_parse_retry_after_ms("120", now), 120000);
	/* 1700000000 is Tue, 14 Nov 2023 22:13:20 GMT. */
	CHECK_INT_EQ(pp_net_parse_retry_after_ms("Tue, 14 Nov 2023 22:13:50 GMT", now), 30000);
	CHECK_INT_EQ(pp_net_parse_retry_after_ms("Tue, 14 Nov 2023 22:00:00 GMT", now), 0);
	CHECK_INT_EQ(pp_net_parse_retry_after_ms("soon", now), -1);
	CHECK_INT_EQ(pp_net_parse_duration_ms("20ms"), 20);
	CHECK_INT_EQ(pp_net_parse_duration_ms("1s"), 1000);
	CHECK_INT_EQ(pp_net_parse_duration_ms("6m0s"), 360000);
	CHECK_INT_EQ(pp_net_parse_duration_ms("1h2m3.5s"), 3723500);
	CHECK_INT_EQ(pp_net_parse_duration_ms("3 days"), -1);
	CHECK_INT_EQ(pp_net_parse_rfc3339_ms("2023-11-14T22:13:25Z", now), 5000);
	CHECK_INT_EQ(pp_net_parse_rfc3339_ms("2023-11-14T22:13:25.5Z", now), 5000);
	CHECK_INT_EQ(pp_net_parse_rfc3339_ms("tomorrow", now), -1);
}

/* The event loop: many calls at once, each retried on its own. */
struct multi_tally {
	int done, ok, intr;
	long retries;
};

static void multi_done(void *arg, int rc, struct pp_http_response *resp,
		       const struct pp_http_stats *stats)
{
	struct multi_tally *t = arg;

	t->done++;
	t->retries += stats->retries;
	if (!rc && resp->status == 200 && !strcmp(resp->body.buf, "{\"ok\":true}"))
		t->ok++;
}

static int multi_round(struct pp_mock_options *mo, int n_calls, bool abandon, struct multi_tally *t,
		       struct pp_mock_stats *server)
{
	struct pp_http_policy pol = fast_policy();
	struct mock_thread mt;
	struct pp_http_request *reqs = calloc((size_t)n_calls, sizeof(*reqs));
	struct pp_http_multi *m = NULL;
	int i, rc, steps = 0;

	memset(t, 0, sizeof(*t));
	if (!reqs || (rc = mock_thread_start(&mt, mo, false))) {
		free(reqs);
		return PP_ENOMEM;
	}
	rc = pp_http_multi_new(&m, &pol, n_calls);
	for (i = 0; !rc && i < n_calls; i++)
		if (!(rc = health_request(&reqs[i], mt.base)))
			rc = pp_http_multi_add(m, &reqs[i], (uint64_t)i, NULL, NULL, multi_done, t);
	while (!rc && pp_http_multi_live(m) && steps++ < 10000 && !(abandon && steps > 3))
		rc = pp_http_multi_step(m, 100);
	pp_http_multi_free(m);
	for (i = 0; i < n_calls; i++)
		pp_http_request_release(&reqs[i]);
	free(reqs);
	mock_thread_stop(&mt, server);
	return rc;
}

TEST(net_multi_completes_every_call_through_faults)
{
	struct pp_mock_options mo;
	struct pp_mock_stats server;
	struct multi_tally t;

	memset(&mo, 0, sizeof(mo));
	mo.faults = "429=0.1,500=0.05,503=0.05,reset=0.05,truncate=0.05";
	mo.fault_seed = 3;
	mo.retry_after_ms = 5;
	CHECK_INT_EQ(multi_round(&mo, 60, false, &t, &server), PP_OK);
	CHECK_INT_EQ(t.done, 60);
	CHECK_INT_EQ(t.ok, 60);
	CHECK(t.retries > 0);
	CHECK(server.faults > 0);
}

TEST(net_multi_runs_calls_at_once)
{
	struct pp_mock_options mo;
	struct pp_mock_stats server;
	struct multi_tally t;

	/* One after another, the calls would share one kept-alive connection;
	 * at once, each HTTP/1.1 call in flight needs its own. */
	memset(&mo, 0, sizeof(mo));
	mo.latency_ms = 300;
	CHECK_INT_EQ(multi_round(&mo, 40, false, &t, &server), PP_OK);
	CHECK_INT_EQ(t.ok, 40);
	CHECK_INT_EQ(server.connections, 40);
}

TEST(net_multi_free_abandons_live_calls_without_callbacks)
{
	struct pp_mock_options mo;
	struct pp_mock_stats server;
	struct multi_tally t;

	memset(&mo, 0, sizeof(mo));
	mo.latency_ms = 2000;
	CHECK_INT_EQ(multi_round(&mo, 20, true, &t, &server), PP_OK);
	CHECK_INT_EQ(t.done, 0);
}

/* A chain of calls, each added by the callback of the one before, as a
 * rollout adds its next call. */
struct chain {
	struct pp_http_multi *m;
	struct pp_http_request req;
	int left, ok;
};

static void chain_done(void *arg, int rc, struct pp_http_response *resp,
		       const struct pp_http_stats *stats)
{
	struct chain *c = arg;

	(void)stats;
	c->ok += !rc && resp->status == 200;
	if (--c->left > 0 && pp_http_multi_add(c->m, &c->req, (uint64_t)c->left, NULL, NULL,
					       chain_done, c))
		c->left = 0;
}

/* The request a callback adds leaves in the same step: each call of the
 * chain then takes one step, not one to send it and one to read it. A
 * server that answers at once may have answered before that step ends:
 * no step may then sit out its timeout with the answer already read. */
TEST(net_multi_sends_what_a_callback_added_in_the_same_step)
{
	struct pp_http_policy pol = fast_policy();
	struct pp_mock_options mo;
	struct pp_mock_stats server;
	struct mock_thread mt;
	struct chain c;
	int steps = 0, rc = PP_OK;
	long longest = 0;

	memset(&mo, 0, sizeof(mo));
	memset(&c, 0, sizeof(c));
	c.left = 20;
	CHECK_INT_EQ(mock_thread_start(&mt, &mo, false), PP_OK);
	CHECK_INT_EQ(pp_http_multi_new(&c.m, &pol, 4), PP_OK);
	CHECK_INT_EQ(health_request(&c.req, mt.base), PP_OK);
	rc = pp_http_multi_add(c.m, &c.req, 0, NULL, NULL, chain_done, &c);
	while (!rc && pp_http_multi_live(c.m) && steps < 1000 && longest < 1000) {
		struct timespec t0;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		rc = pp_http_multi_step(c.m, 2000);
		if (elapsed_ms(&t0) > longest)
			longest = elapsed_ms(&t0);
		steps++;
	}
	CHECK_INT_EQ(rc, PP_OK);
	CHECK_INT_EQ(c.ok, 20);
	if (steps > 30 || longest >= 1000)
		fprintf(stdout, "    %d steps for 20 calls, the longest %ld ms\n", steps, longest);
	CHECK(steps <= 30);
	CHECK(longest < 1000);
	pp_http_multi_free(c.m);
	pp_http_request_release(&c.req);
	mock_thread_stop(&mt, &server);
}
