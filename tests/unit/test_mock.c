/* Unit tests of src/mock: the three wire formats answered as the
 * in-process reference agents would, errors in each format's shape, the
 * rate of injected faults and latency that does not serialise clients. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <peerpres/hash.h>
#include <peerpres/http.h>
#include <peerpres/json.h>
#include <peerpres/mock.h>
#include <peerpres/provider.h>
#include <peerpres/status.h>
#include "mock/mock_int.h"
#include "../harness/test.h"
#include "mock_thread.h"

#define SEED 4242

/* The first config of the first scenario, as the client would send it,
 * and what the in-process preserver answers on its first two turns. */
struct expect {
	struct pp_json *config;     /* X-Peerpres-Config */
	struct pp_json *rendered;
	struct pp_json *turn[2];    /* internal assistant messages */
	const char *route;
};

static void expect_release(struct expect *e)
{
	pp_json_decref(e->config);
	pp_json_decref(e->rendered);
	pp_json_decref(e->turn[0]);
	pp_json_decref(e->turn[1]);
}

static int expect_init(struct expect *e, const struct mock_thread *mt)
{
	struct pp_model_info mi = { "openai/gpt-4.1", "GPT" };
	struct pp_json *configs = pp_json_array(), *one = pp_json_array(), *asst = pp_json_object();
	const struct pp_json *route;
	struct pp_diag d;
	int rc = configs && one && asst ? PP_OK : PP_ENOMEM;

	memset(e, 0, sizeof(*e));
	pp_diag_clear(&d);
	if (!rc)
		rc = pp_scenario_expand(mt->list[0], NULL, NULL, 0, configs, &d);
	if (!rc)
		rc = pp_scenario_render(mt->list[0], pp_json_at(configs, 0), &mi, &e->rendered, &d);
	if (!rc && !(e->config = pp_json_deep_copy(pp_json_at(configs, 0))))
		rc = PP_ENOMEM;
	if (!rc)
		rc = pp_json_set_str(e->config, "model", mi.model);
	if (!rc)
		rc = pp_json_set_str(e->config, "family", mi.family);
	if (!rc && !(route = pp_ref_pick_route("preserver", e->rendered, SEED)))
		rc = PP_ENOTFOUND;
	if (!rc)
		rc = pp_ref_reply(route, one /* still empty: no assistant turn */, &e->turn[0]);
	if (!rc)
		rc = pp_json_set_str(asst, "role", "assistant");
	if (!rc) {
		rc = pp_json_append(one, asst);
		asst = NULL;
	}
	if (!rc)
		rc = pp_ref_reply(route, one, &e->turn[1]);
	if (!rc)
		e->route = pp_json_get_str(route, "name", "");
	pp_json_decref(configs);
	pp_json_decref(one);
	pp_json_decref(asst);
	return rc;
}

/* POSTs body to base+path with the X-Peerpres-* headers (when with_headers). */
static int post(const char *base, const char *path, const char *body, const struct expect *e,
		bool with_headers, struct pp_http_response *resp)
{
	struct pp_http_request req;
	char *cfg = NULL, line[4096];
	int rc;

	pp_http_request_init(&req);
	snprintf(req.method, sizeof(req.method), "POST");
	snprintf(req.url, sizeof(req.url), "%s%s", base, path);
	rc = (req.headers = pp_json_array()) ? PP_OK : PP_ENOMEM;
	if (!rc)
		rc = pp_json_append(req.headers, pp_json_string("Content-Type: application/json"));
	if (!rc && with_headers) {
		cfg = pp_json_canonical(e->config);
		snprintf(line, sizeof(line), "X-Peerpres-Config: %s", cfg ? cfg : "");
		rc = pp_json_append(req.headers, pp_json_string(line));
		if (!rc)
			rc = pp_json_append(req.headers, pp_json_string("X-Peerpres-Seed: 4242"));
		if (!rc)
			rc = pp_json_append(req.headers, pp_json_string("X-Peerpres-Agent: preserver"));
	}
	if (!rc)
		rc = pp_buf_adds(&req.body, body);
	if (!rc)
		rc = pp_http_perform(NULL, &req, NULL, resp);
	free(cfg);
	pp_http_request_release(&req);
	return rc;
}

/* The names and arguments of an internal message's calls, as
 * [{"name","arguments"}], for comparing with what a wire body says. */
static struct pp_json *calls_of(const struct pp_json *msg)
{
	const struct pp_json *calls = pp_json_get(msg, "tool_calls");
	struct pp_json *out = pp_json_array();
	size_t i;

	for (i = 0; out && i < pp_json_len(calls); i++) {
		struct pp_json *c = pp_json_object();

		pp_json_set_str(c, "name", pp_json_get_str(pp_json_at(calls, i), "name", ""));
		pp_json_set(c, "arguments", pp_json_deep_copy(pp_json_get(pp_json_at(calls, i), "arguments")));
		pp_json_append(out, c);
	}
	return out;
}

static struct pp_json *call_entry(const char *name, struct pp_json *args)
{
	struct pp_json *c = pp_json_object();

	pp_json_set_str(c, "name", name);
	pp_json_set(c, "arguments", args);
	return c;
}

/* The calls of an OpenAI, Anthropic or Gemini response body, in the same shape. */
static struct pp_json *wire_calls(const char *format, const struct pp_json *body)
{
	struct pp_json *out = pp_json_array();
	const struct pp_json *list;
	size_t i;

	if (!strcmp(format, "openai")) {
		list = pp_json_get(pp_json_get(pp_json_at(pp_json_get(body, "choices"), 0), "message"),
				   "tool_calls");
		for (i = 0; i < pp_json_len(list); i++) {
			const struct pp_json *fn = pp_json_get(pp_json_at(list, i), "function");
			const char *text = pp_json_get_str(fn, "arguments", "");
			struct pp_json *args = NULL;

			if (strcmp(pp_json_get_str(pp_json_at(list, i), "type", ""), "function") ||
			    pp_json_parse(text, strlen(text), &args, NULL, 0))
				args = pp_json_string("arguments not a JSON string");
			pp_json_append(out, call_entry(pp_json_get_str(fn, "name", ""), args));
		}
	} else if (!strcmp(format, "anthropic")) {
		list = pp_json_get(body, "content");
		for (i = 0; i < pp_json_len(list); i++)
			if (!strcmp(pp_json_get_str(pp_json_at(list, i), "type", ""), "tool_use"))
				pp_json_append(out, call_entry(pp_json_get_str(pp_json_at(list, i), "name", ""),
							       pp_json_deep_copy(pp_json_get(pp_json_at(list, i), "input"))));
	} else {
		list = pp_json_get(pp_json_get(pp_json_at(pp_json_get(body, "candidates"), 0), "content"),
				   "parts");
		for (i = 0; i < pp_json_len(list); i++) {
			const struct pp_json *fc = pp_json_get(pp_json_at(list, i), "functionCall");

			if (fc)
				pp_json_append(out, call_entry(pp_json_get_str(fc, "name", ""),
							       pp_json_deep_copy(pp_json_get(fc, "args"))));
		}
	}
	return out;
}

struct wire_case {
	const char *format, *path, *first, *second;
};

static const struct wire_case cases[] = {
	{ "openai", "/v1/chat/completions",
	  "{\"model\":\"gpt-4.1\",\"messages\":[{\"role\":\"system\",\"content\":\"s\"},{\"role\":\"user\",\"content\":\"go\"}]}",
	  "{\"model\":\"gpt-4.1\",\"messages\":[{\"role\":\"user\",\"content\":\"go\"},{\"role\":\"assistant\",\"content\":null,"
	  "\"tool_calls\":[]},{\"role\":\"tool\",\"tool_call_id\":\"x\",\"content\":\"done\"}]}" },
	{ "anthropic", "/v1/messages",
	  "{\"model\":\"claude-x\",\"max_tokens\":1000,\"messages\":[{\"role\":\"user\",\"content\":\"go\"}]}",
	  "{\"model\":\"claude-x\",\"max_tokens\":1000,\"messages\":[{\"role\":\"user\",\"content\":\"go\"},"
	  "{\"role\":\"assistant\",\"content\":[]},{\"role\":\"user\",\"content\":[]}]}" },
	{ "gemini", "/v1beta/models/gemini-2.5-pro:generateContent",
	  "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"go\"}]}]}",
	  "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"go\"}]},{\"role\":\"model\",\"parts\":[]},"
	  "{\"role\":\"user\",\"parts\":[]}]}" },
};

/* Results of one format, gathered while the server runs. */
struct wire_result {
	long status[2];
	struct pp_json *body[2];
	char route[128];
};

static void check_usage(const char *format, const struct pp_json *b, int *bad)
{
	long long in = 0, out = 0;

	if (!strcmp(format, "openai"))
		pp_json_int(pp_json_get(pp_json_get(b, "usage"), "prompt_tokens"), &in),
		pp_json_int(pp_json_get(pp_json_get(b, "usage"), "completion_tokens"), &out);
	else if (!strcmp(format, "anthropic"))
		pp_json_int(pp_json_get(pp_json_get(b, "usage"), "input_tokens"), &in),
		pp_json_int(pp_json_get(pp_json_get(b, "usage"), "output_tokens"), &out);
	else
		pp_json_int(pp_json_get(pp_json_get(b, "usageMetadata"), "promptTokenCount"), &in),
		pp_json_int(pp_json_get(pp_json_get(b, "usageMetadata"), "candidatesTokenCount"), &out);
	*bad += in <= 0 || out <= 0;
}

TEST(mock_speaks_each_wire_format_as_the_reference_agent)
{
	struct pp_mock_options mo;
	struct mock_thread mt;
	struct expect e;
	struct wire_result res[3];
	struct pp_http_response resp;
	size_t k, t;
	int bad_usage = 0;

	memset(&mo, 0, sizeof(mo));
	memset(res, 0, sizeof(res));
	CHECK_INT_EQ(mock_thread_start(&mt, &mo, true), PP_OK);
	CHECK_INT_EQ(expect_init(&e, &mt), PP_OK);
	pp_http_response_init(&resp);
	for (k = 0; k < 3; k++)
		for (t = 0; t < 2; t++)
			if (!post(mt.base, cases[k].path, t ? cases[k].second : cases[k].first, &e, true, &resp)) {
				res[k].status[t] = resp.status;
				pp_json_parse(resp.body.buf, resp.body.len, &res[k].body[t], NULL, 0);
				snprintf(res[k].route, sizeof(res[k].route), "%s", resp.route);
			}
	pp_http_response_release(&resp);
	mock_thread_stop(&mt, NULL);

	for (k = 0; k < 3; k++) {
		for (t = 0; t < 2; t++) {
			struct pp_json *want = calls_of(e.turn[t]), *got = wire_calls(cases[k].format, res[k].body[t]);
			bool same = pp_json_equal(want, got) && pp_json_len(want) > 0;

			check_usage(cases[k].format, res[k].body[t], &bad_usage);
			pp_json_decref(want);
			pp_json_decref(got);
			if (!same || res[k].status[t] != 200 || strcmp(res[k].route, e.route))
				pp_test_fail(__FILE__, __LINE__, "%s turn %zu: status %ld, route '%s'",
					     cases[k].format, t, res[k].status[t], res[k].route);
		}
	}
	CHECK(!pp_json_equal(pp_json_get(e.turn[0], "tool_calls"), pp_json_get(e.turn[1], "tool_calls")));
	CHECK_STR_EQ(pp_json_get_str(pp_json_at(pp_json_get(res[0].body[0], "choices"), 0), "finish_reason", ""),
		     "tool_calls");
	CHECK_STR_EQ(pp_json_get_str(res[1].body[0], "stop_reason", ""), "tool_use");
	CHECK_STR_EQ(pp_json_get_str(res[1].body[0], "type", ""), "message");
	CHECK_STR_EQ(pp_json_get_str(res[2].body[0], "modelVersion", ""), "gemini-2.5-pro");
	CHECK_INT_EQ(bad_usage, 0);
	for (k = 0; k < 3; k++)
		for (t = 0; t < 2; t++)
			pp_json_decref(res[k].body[t]);
	expect_release(&e);
}

TEST(mock_without_its_headers_is_a_400_in_the_wire_format)
{
	struct pp_mock_options mo;
	struct mock_thread mt;
	struct expect e;
	struct pp_http_response resp;
	long status[3] = { 0, 0, 0 };
	struct pp_json *body[3] = { NULL, NULL, NULL };
	size_t k;

	memset(&mo, 0, sizeof(mo));
	CHECK_INT_EQ(mock_thread_start(&mt, &mo, true), PP_OK);
	pp_http_response_init(&resp);
	memset(&e, 0, sizeof(e));
	for (k = 0; k < 3; k++)
		if (!post(mt.base, cases[k].path, cases[k].first, &e, false, &resp)) {
			status[k] = resp.status;
			pp_json_parse(resp.body.buf, resp.body.len, &body[k], NULL, 0);
		}
	pp_http_response_release(&resp);
	mock_thread_stop(&mt, NULL);
	CHECK_INT_EQ(status[0], 400);
	CHECK_INT_EQ(status[1], 400);
	CHECK_INT_EQ(status[2], 400);
	CHECK_CONTAINS(pp_json_get_str(pp_json_get(body[0], "error"), "message", ""), "X-Peerpres-Config");
	CHECK_STR_EQ(pp_json_get_str(pp_json_get(body[0], "error"), "type", ""), "invalid_request_error");
	CHECK_STR_EQ(pp_json_get_str(body[1], "type", ""), "error");
	CHECK_STR_EQ(pp_json_get_str(pp_json_get(body[1], "error"), "type", ""), "invalid_request_error");
	CHECK_STR_EQ(pp_json_get_str(pp_json_get(body[2], "error"), "status", ""), "INVALID_ARGUMENT");
	for (k = 0; k < 3; k++)
		pp_json_decref(body[k]);
}

TEST(mock_injects_faults_at_the_configured_rates)
{
	struct pp_mock_options mo;
	struct pp_mock_stats st;
	struct mock_thread mt;
	struct pp_http_request req;
	struct pp_http_response resp;
	long n500 = 0, n429 = 0, n_reset = 0, n_trunc = 0, n_ok = 0, hint_bad = 0;
	int i, n = 1000;

	memset(&mo, 0, sizeof(mo));
	mo.faults = "500=0.2,429=0.1,reset=0.05,truncate=0.05";
	mo.fault_seed = 99;
	mo.retry_after_ms = 5;
	CHECK_INT_EQ(mock_thread_start(&mt, &mo, false), PP_OK);
	pp_http_request_init(&req);
	pp_http_response_init(&resp);
	snprintf(req.method, sizeof(req.method), "GET");
	snprintf(req.url, sizeof(req.url), "%s/healthz", mt.base);
	/* A fresh connection each time: on a reused one, libcurl itself
	 * resends a request whose connection died before any answer, and the
	 * reset would not be seen. */
	for (i = 0; i < n; i++) {
		int rc = pp_http_perform(NULL, &req, NULL, &resp);

		n500 += !rc && resp.status == 500;
		n429 += !rc && resp.status == 429;
		hint_bad += !rc && resp.status == 429 && resp.retry_after_ms != 5;
		n_ok += !rc && resp.status == 200;
		n_reset += resp.fail == PP_HTTP_RESET;
		n_trunc += resp.fail == PP_HTTP_TRUNCATED;
	}
	pp_http_response_release(&resp);
	pp_http_request_release(&req);
	mock_thread_stop(&mt, &st);
	/* Bounds are about four standard deviations. */
	CHECK(n500 > 200 - 51 && n500 < 200 + 51);
	CHECK(n429 > 100 - 38 && n429 < 100 + 38);
	CHECK(n_reset > 50 - 28 && n_reset < 50 + 28);
	CHECK(n_trunc > 50 - 28 && n_trunc < 50 + 28);
	CHECK_INT_EQ(n500 + n429 + n_reset + n_trunc + n_ok, n);
	CHECK_INT_EQ(st.faults, n - n_ok);
	CHECK_INT_EQ(hint_bad, 0);
}

static void *one_slow_request(void *arg)
{
	const char *base = arg;
	struct pp_http_request req;
	struct pp_http_response resp;
	long status = 0;

	pp_http_request_init(&req);
	pp_http_response_init(&resp);
	snprintf(req.method, sizeof(req.method), "GET");
	snprintf(req.url, sizeof(req.url), "%s/healthz", base);
	if (!pp_http_perform(NULL, &req, NULL, &resp))
		status = resp.status;
	pp_http_response_release(&resp);
	pp_http_request_release(&req);
	return (void *)(intptr_t)status;
}

TEST(mock_latency_does_not_serialise_connections)
{
	struct pp_mock_options mo;
	struct mock_thread mt;
	struct timespec t0, t1;
	pthread_t th[6];
	long sum = 0, ms;
	void *ret;
	int i;

	memset(&mo, 0, sizeof(mo));
	mo.latency_ms = 300;
	CHECK_INT_EQ(mock_thread_start(&mt, &mo, false), PP_OK);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < 6; i++)
		pthread_create(&th[i], NULL, one_slow_request, mt.base);
	for (i = 0; i < 6; i++) {
		pthread_join(th[i], &ret);
		sum += (long)(intptr_t)ret;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	mock_thread_stop(&mt, NULL);
	ms = (long)(t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	CHECK_INT_EQ(sum, 6 * 200);
	CHECK(ms >= 300);
	CHECK(ms < 1200);
}

TEST(mock_rejects_a_bad_fault_spec)
{
	struct pp_mock_options mo;
	struct pp_mock *m = NULL;
	struct pp_diag d;

	memset(&mo, 0, sizeof(mo));
	pp_diag_clear(&d);
	mo.faults = "429=0.7,500=0.5";
	CHECK_INT_EQ(pp_mock_new(&m, &mo, &d), PP_EUSAGE);
	CHECK_CONTAINS(d.msg, "more than 1");
	pp_diag_clear(&d);
	mo.faults = "teapot=0.1";
	CHECK_INT_EQ(pp_mock_new(&m, &mo, &d), PP_EUSAGE);
	CHECK_CONTAINS(d.msg, "unknown fault 'teapot'");
	CHECK(m == NULL);
}

/* What the skim says of body, against the whole parse: 1 when it agrees
 * (or declines: the caller then parses whole), 0 when it answers wrong. */
static int skim_agrees(enum mock_format f, const char *body, int *declined)
{
	struct pp_json *v = NULL;
	char model[64];
	size_t turns = 99;
	bool sure = mock_skim(f, body, strlen(body), &turns, model, sizeof(model));
	bool parsed = !pp_json_parse(body, strlen(body), &v, NULL, 0) && pp_json_is_object(v);
	int ok = !sure || (parsed && turns == mock_wire_turns(f, v) &&
			   !strcmp(model, pp_json_get_str(v, "model", "mock")));

	*declined += !sure;
	pp_json_decref(v);
	return ok;
}

TEST(mock_skim_reads_what_the_whole_parse_reads)
{
	static const char *const sure[] = {
		"{\"model\":\"gpt-4.1\",\"messages\":[{\"role\":\"system\",\"content\":\"x\"},"
		"{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"a\"}]},"
		"{\"role\":\"tool\",\"content\":\"caf\u00e9 \\\"q\\\" \\u00e9\"},"
		"{\"content\":\"x\",\"role\":\"assistant\"}],\"temperature\":0.7,\"seed\":-12e+3}",
		" { \"messages\" : [ ] , \"model\" : 5 } ",
		"{\"messages\":{\"role\":\"assistant\"}}",
		"{\"messages\":[1,\"assistant\",[{\"role\":\"assistant\"}],{\"role\":\"assistant\",\"role\":\"user\"}]}",
		"{\"messages\":[{\"role\":\"assistant\"}],\"messages\":[]}",
		"{}",
	};
	static const char *const wrong[] = {
		"", "[]", "{\"model\":\"x\"", "{\"model\":\"x\"} x", "{\"a\":tru}", "{\"a\":01}",
		"{\"a\":\"\\x\"}", "{\"a\":\"\xff\"}", "{\"a\":1.}", "{\"a\":[1,]}", "{,}",
		"{\"a\":\"tab\there\"}",
	};
	size_t i;
	int declined = 0;

	for (i = 0; i < sizeof(sure) / sizeof(sure[0]); i++)
		CHECK(skim_agrees(MOCK_OPENAI, sure[i], &declined));
	CHECK_INT_EQ(declined, 0);
	for (i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
		declined = 0;
		CHECK(skim_agrees(MOCK_OPENAI, wrong[i], &declined));
		CHECK_INT_EQ(declined, 1);
	}
	/* Gemini counts "model" turns in "contents"; an escaped role is
	 * left to the whole parse. */
	declined = 0;
	CHECK(skim_agrees(MOCK_GEMINI, "{\"contents\":[{\"role\":\"model\"},{\"role\":\"user\"},"
				       "{\"role\":\"model\"}]}", &declined));
	CHECK_INT_EQ(declined, 0);
	CHECK(skim_agrees(MOCK_ANTHROPIC, "{\"messages\":[{\"role\":\"assist\\u0061nt\"}]}", &declined));
	CHECK_INT_EQ(declined, 1);
}
