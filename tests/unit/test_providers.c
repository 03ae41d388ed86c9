/*
 * Unit tests of the HTTP providers' wire formats (src/provider/openai.c,
 * anthropic.c, gemini.c) and of keys.c: requests built from a small
 * transcript, canned responses under tests/data/providers written from
 * the providers' documented formats, keys from the environment and from
 * .env files, and redaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <peerpres/buf.h>
#include <peerpres/json.h>
#include <peerpres/price.h>
#include <peerpres/provider.h>
#include <peerpres/status.h>
#include "core/alloc.h"
#include "engine/call.h"
#include "provider/provider_int.h"
#include "../harness/test.h"

#define KEY "sk-pp-test-key-0123456789ABCDEF"
#define KEY2 "sk-pp-other-key-FEDCBA9876543210"

/* Every variable the providers read: cleared around each test that
 * touches the environment, and put back afterwards. */
static const char *const env_vars[] = {
	"OPENAI_API_KEY", "OPENAI_COMPAT_API_KEY", "ANTHROPIC_API_KEY", "GOOGLE_API_KEY",
	"GEMINI_API_KEY", "TOGETHER_API_KEY", "LITELLM_API_KEY", "LITELLM_BASE_URL",
	"OPENROUTER_API_KEY", NULL
};
static char *env_saved[16];

static void env_clear(void)
{
	const char *v;
	size_t i;

	for (i = 0; env_vars[i]; i++) {
		v = getenv(env_vars[i]);
		env_saved[i] = v ? strdup(v) : NULL;
		unsetenv(env_vars[i]);
	}
}

static void env_restore(void)
{
	size_t i;

	for (i = 0; env_vars[i]; i++) {
		if (env_saved[i])
			setenv(env_vars[i], env_saved[i], 1);
		else
			unsetenv(env_vars[i]);
		free(env_saved[i]);
		env_saved[i] = NULL;
	}
}

/* Runs body with a clean environment, restored even when a check fails. */
#define ENV_TEST(name)                                                   \
	static void body_##name(void);                                   \
	TEST(name) { env_clear(); body_##name(); env_restore(); }        \
	static void body_##name(void)

/* A value inside v by a dotted path: "messages.2.tool_calls.0.id". */
static const struct pp_json *at(const struct pp_json *v, const char *path)
{
	char seg[64], *end;
	const char *p = path;
	size_t n;
	long i;

	while (v && *p) {
		n = strcspn(p, ".");
		if (n >= sizeof(seg))
			return NULL;
		memcpy(seg, p, n);
		seg[n] = '\0';
		i = strtol(seg, &end, 10);
		v = pp_json_is_array(v) && !*end ? pp_json_at(v, (size_t)i) : pp_json_get(v, seg);
		p += n + (p[n] == '.');
	}
	return v;
}

static const char *str_at(const struct pp_json *v, const char *path)
{
	return pp_json_str(at(v, path));
}

static long long int_at(const struct pp_json *v, const char *path)
{
	long long n = -1;

	pp_json_int(at(v, path), &n);
	return n;
}

/* The value of header `name` in a request, or NULL. */
static const char *header(const struct pp_http_request *r, const char *name)
{
	size_t i, n = strlen(name);
	const char *h;

	for (i = 0; i < pp_json_len(r->headers); i++) {
		h = pp_json_str(pp_json_at(r->headers, i));
		if (h && !strncmp(h, name, n) && h[n] == ':' && h[n + 1] == ' ')
			return h + n + 2;
	}
	return NULL;
}

static struct pp_json *json(const char *text)
{
	struct pp_json *v = NULL;

	pp_json_parse(text, strlen(text), &v, NULL, 0);
	return v;
}

static const char transcript_text[] =
	"[{\"role\":\"system\",\"content\":\"You are an agent at OpenBrain.\"},"
	"{\"role\":\"user\",\"content\":\"Please review the server.\"},"
	"{\"role\":\"assistant\",\"content\":\"Let me look.\",\"reasoning\":\"private\","
	" \"tool_calls\":[{\"id\":\"call_1\",\"name\":\"read_file\",\"arguments\":{\"path\":\"/a.txt\"}},"
	"  {\"id\":\"call_2\",\"name\":\"list_files\",\"arguments\":{}}]},"
	"{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"name\":\"read_file\",\"content\":\"hello\"},"
	"{\"role\":\"tool\",\"tool_call_id\":\"call_2\",\"name\":\"list_files\",\"content\":\"a.txt\"},"
	"{\"role\":\"user\",\"content\":\"Continue.\"}]";

static const char tools_text[] =
	"[{\"name\":\"read_file\",\"description\":\"Read a file.\",\"parameters\":{\"type\":\"object\","
	"\"properties\":{\"path\":{\"type\":\"string\",\"description\":\"Path.\"}},"
	"\"required\":[\"path\"],\"additionalProperties\":false}},"
	"{\"name\":\"list_files\",\"description\":\"List files.\",\"parameters\":{\"type\":\"object\","
	"\"properties\":{},\"required\":[],\"additionalProperties\":false}}]";

#define SEED 0x123456789abcdefULL

/* Opens model ("provider/name") with opt; *ctx is its state. */
static int open_model(const char *model, const struct pp_provider_options *opt,
		      const struct pp_provider_ops **ops, void **ctx, struct pp_diag *diag)
{
	pp_diag_clear(diag);
	*ctx = NULL;
	*ops = pp_provider_find(model);
	if (!*ops)
		return PP_ENOTFOUND;
	return (*ops)->open(ctx, strchr(model, '/') + 1, opt, diag);
}

/* Builds the request for messages (JSON text) with our tools; *body is
 * the parsed body. */
static int build_with(const struct pp_provider_ops *ops, void *ctx, const struct pp_json *msgs,
		      struct pp_http_request *out, struct pp_json **body)
{
	struct pp_json *tools = json(tools_text);
	struct pp_model_request req = { "", msgs, tools, 0.7, SEED, NULL, NULL };
	int rc;

	pp_http_request_init(out);
	*body = NULL;
	rc = ops->build(ctx, &req, out);
	if (!rc)
		rc = pp_json_parse(out->body.buf, out->body.len, body, NULL, 0);
	pp_json_decref(tools);
	return rc;
}

/* Parses a canned response from tests/data/providers. */
static int parse_file(const struct pp_provider_ops *ops, void *ctx, long status,
		      const char *name, struct pp_model_reply *reply)
{
	struct pp_buf b = PP_BUF_INIT;
	char path[512];
	int rc;

	memset(reply, 0, sizeof(*reply));
	snprintf(path, sizeof(path), "%s/providers/%s", pp_test_data_dir(), name);
	if ((rc = pp_buf_read_file(&b, path)))
		return rc;
	rc = ops->parse(ctx, status, b.buf, b.len, reply);
	pp_buf_release(&b);
	return rc;
}

static int parse_text(const struct pp_provider_ops *ops, void *ctx, long status,
		      const char *text, size_t len, struct pp_model_reply *reply)
{
	memset(reply, 0, sizeof(*reply));
	return ops->parse(ctx, status, text, len, reply);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

/* Key-less runs and the mock's test headers go to this machine only:
 * the host is parsed, not matched as a prefix. */
TEST(loopback_is_the_host_not_a_prefix)
{
	CHECK(pp_url_is_loopback("http://127.0.0.1:19501/v1"));
	CHECK(pp_url_is_loopback("http://127.1.2.3/v1"));
	CHECK(pp_url_is_loopback("https://localhost/v1"));
	CHECK(pp_url_is_loopback("http://LOCALHOST:80"));
	CHECK(pp_url_is_loopback("http://[::1]:8000/v1"));
	CHECK(pp_url_is_loopback("http://user@127.0.0.1:8000/v1"));
	CHECK(!pp_url_is_loopback("http://127.0.0.1.nip.io:19501/v1"));
	CHECK(!pp_url_is_loopback("http://127.0.0.1@evil.com/"));
	CHECK(!pp_url_is_loopback("http://evil.com/127.0.0.1"));
	CHECK(!pp_url_is_loopback("http://localhost.evil.com/"));
	CHECK(!pp_url_is_loopback("http://127.0.0.256/"));
	CHECK(!pp_url_is_loopback("http://127.0.0/"));
	CHECK(!pp_url_is_loopback("http://127.0.0.1./"));
	CHECK(!pp_url_is_loopback("http://[::1].evil.com/"));
	CHECK(!pp_url_is_loopback("127.0.0.1"));
	CHECK(!pp_url_is_loopback(NULL));
}

TEST(base_url_with_a_query_is_refused_without_echoing_it)
{
	struct pp_diag d;

	pp_diag_clear(&d);
	CHECK_INT_EQ(pp_base_url_check("openai", "http://127.0.0.1:1/v1?key=sk-secret-123456", &d),
		     PP_EUSAGE);
	CHECK_CONTAINS(d.msg, "query string");
	CHECK(!strstr(d.msg, "sk-secret"));
	CHECK_INT_EQ(pp_base_url_check("openai", "http://127.0.0.1:1/v1#frag", &d), PP_EUSAGE);
	CHECK_INT_EQ(pp_base_url_check("openai", "http://127.0.0.1:1/v1/", &d), PP_OK);
	/* A password before '@' would be stored with the run. */
	pp_diag_clear(&d);
	CHECK_INT_EQ(pp_base_url_check("openai", "https://me:hunter2-secret@gw.example/v1", &d),
		     PP_EUSAGE);
	CHECK_CONTAINS(d.msg, "user or a password");
	CHECK(!strstr(d.msg, "hunter2"));
	CHECK_INT_EQ(pp_base_url_check("openai", "https://gw.example/v1/team@x", &d), PP_OK);
}

TEST(providers_table_has_every_wire_format)
{
	static const char *const names[] = {
		"openai/gpt-4.1", "openai-compat/llama", "together/meta-llama/Llama-3.3-70B",
		"anthropic/claude-sonnet-4-5", "google/gemini-2.5-pro", NULL
	};
	const struct pp_provider_ops *ops;
	size_t i;

	for (i = 0; names[i]; i++) {
		ops = pp_provider_find(names[i]);
		CHECK(ops != NULL);
		CHECK(!strncmp(names[i], ops->name, strlen(ops->name)));
		CHECK(ops->complete == NULL);
		CHECK(ops->build && ops->parse && ops->open && ops->close);
	}
	CHECK(pp_provider_find("ref/compliant")->complete != NULL);
}

/* ---- OpenAI Chat Completions ------------------------------------------------ */

ENV_TEST(providers_openai_builds_chat_completions)
{
	struct pp_provider_options opt = { NULL, NULL, 0, NULL };
	const struct pp_provider_ops *ops;
	struct pp_json *msgs = json(transcript_text), *body = NULL;
	struct pp_http_request out;
	struct pp_diag diag;
	void *ctx;
	int rc;

	setenv("OPENAI_API_KEY", KEY, 1);
	CHECK_INT_EQ(open_model("openai/gpt-4.1", &opt, &ops, &ctx, &diag), PP_OK);
	rc = build_with(ops, ctx, msgs, &out, &body);
	ops->close(ctx);
	pp_json_decref(msgs);
	if (rc) {
		pp_http_request_release(&out);
		CHECK_INT_EQ(rc, PP_OK);
	}
	CHECK_STR_EQ(out.method, "POST");
	CHECK_STR_EQ(out.url, "https://api.openai.com/v1/chat/completions");
	CHECK_STR_EQ(header(&out, "Authorization"), "Bearer " KEY);
	CHECK_STR_EQ(header(&out, "Content-Type"), "application/json");
	CHECK(!strstr(out.body.buf, KEY));
	CHECK(!strstr(out.url, KEY));
	CHECK_STR_EQ(str_at(body, "model"), "gpt-4.1");
	CHECK_INT_EQ(pp_json_len(at(body, "messages")), 6);
	CHECK_STR_EQ(str_at(body, "messages.0.role"), "system");
	CHECK_STR_EQ(str_at(body, "messages.0.content"), "You are an agent at OpenBrain.");
	CHECK_STR_EQ(str_at(body, "messages.1.role"), "user");
	CHECK_STR_EQ(str_at(body, "messages.2.role"), "assistant");
	CHECK_STR_EQ(str_at(body, "messages.2.content"), "Let me look.");
	CHECK(at(body, "messages.2.reasoning") == NULL);
	CHECK_STR_EQ(str_at(body, "messages.2.tool_calls.0.id"), "call_1");
	CHECK_STR_EQ(str_at(body, "messages.2.tool_calls.0.type"), "function");
	CHECK_STR_EQ(str_at(body, "messages.2.tool_calls.0.function.name"), "read_file");
	CHECK_STR_EQ(str_at(body, "messages.2.tool_calls.0.function.arguments"), "{\"path\":\"/a.txt\"}");
	CHECK_STR_EQ(str_at(body, "messages.2.tool_calls.1.function.arguments"), "{}");
	CHECK_STR_EQ(str_at(body, "messages.3.role"), "tool");
	CHECK_STR_EQ(str_at(body, "messages.3.tool_call_id"), "call_1");
	CHECK_STR_EQ(str_at(body, "messages.3.content"), "hello");
	CHECK_STR_EQ(str_at(body, "messages.4.tool_call_id"), "call_2");
	CHECK_STR_EQ(str_at(body, "messages.5.content"), "Continue.");
	CHECK_STR_EQ(str_at(body, "tools.0.type"), "function");
	CHECK_STR_EQ(str_at(body, "tools.0.function.name"), "read_file");
	CHECK_STR_EQ(str_at(body, "tools.0.function.description"), "Read a file.");
	CHECK_STR_EQ(str_at(body, "tools.0.function.parameters.required.0"), "path");
	CHECK_STR_EQ(str_at(body, "tools.1.function.name"), "list_files");
	CHECK(pp_json_is_number(at(body, "temperature")));
	{
		double t = 0;

		pp_json_num(at(body, "temperature"), &t);
		CHECK_NEAR(t, 0.7, 1e-9);
	}
	CHECK_INT_EQ(int_at(body, "seed"), (long long)(SEED & 0x7fffffff));
	CHECK(at(body, "max_tokens") == NULL);
	CHECK(at(body, "max_completion_tokens") == NULL);
	CHECK(at(body, "reasoning_effort") == NULL);
	pp_json_decref(body);
	pp_http_request_release(&out);
}

ENV_TEST(providers_openai_reasoning_models_change_the_parameters)
{
	struct pp_provider_options opt = { NULL, "high", 2000, NULL };
	const struct pp_provider_ops *ops;
	struct pp_json *msgs = json(transcript_text), *body = NULL;
	struct pp_http_request out;
	struct pp_diag diag;
	void *ctx;

	setenv("OPENAI_API_KEY", KEY, 1);
	CHECK_INT_EQ(open_model("openai/o3-mini", &opt, &ops, &ctx, &diag), PP_OK);
	CHECK_INT_EQ(build_with(ops, ctx, msgs, &out, &body), PP_OK);
	ops->close(ctx);
	CHECK_INT_EQ(int_at(body, "max_completion_tokens"), 2000);
	CHECK_STR_EQ(str_at(body, "reasoning_effort"), "high");
	CHECK(at(body, "temperature") == NULL);
	CHECK(at(body, "max_tokens") == NULL);
	pp_json_decref(body);
	pp_http_request_release(&out);

	/* gpt-5 is a reasoning model even without an effort asked for; a
	 * plain model with max tokens takes max_tokens. */
	opt.reasoning = NULL;
	CHECK_INT_EQ(open_model("openai/gpt-5-mini", &opt, &ops, &ctx, &diag), PP_OK);
	CHECK_INT_EQ(build_with(ops, ctx, msgs, &out, &body), PP_OK);
	ops->close(ctx);
	CHECK(at(body, "temperature") == NULL);
	CHECK(at(body, "reasoning_effort") == NULL);
	CHECK_INT_EQ(int_at(body, "max_completion_tokens"), 2000);
	pp_json_decref(body);
	pp_http_request_release(&out);

	CHECK_INT_EQ(open_model("openai/gpt-4.1", &opt, &ops, &ctx, &diag), PP_OK);
	CHECK_INT_EQ(build_with(ops, ctx, msgs, &out, &body), PP_OK);
	ops->close(ctx);
	CHECK_INT_EQ(int_at(body, "max_tokens"), 2000);
	CHECK(at(body, "temperature") != NULL);
	pp_json_decref(body);
	pp_http_request_release(&out);
	pp_json_decref(msgs);

	opt.reasoning = "extreme";
	CHECK_INT_EQ(open_model("openai/o3", &opt, &ops, &ctx, &diag), PP_EUSAGE);
	CHECK_CONTAINS(diag.msg, "extreme");
}

ENV_TEST(providers_together_and_compat_endpoints)
{
	struct pp_provider_options opt = { NULL, NULL, 0, NULL };
	const struct pp_provider_ops *ops;
	struct pp_json *msgs = json(transcript_text), *body = NULL;
	struct pp_http_request out;
	struct pp_diag diag;
	void *ctx;

	setenv("TOGETHER_API_KEY", KEY, 1);
	CHECK_INT_EQ(open_model("together/meta-llama/Llama-3.3-70B-Instruct-Turbo", &opt, &ops,
				&ctx, &diag), PP_OK);
	CHECK_INT_EQ(build_with(ops, ctx, msgs, &out, &body), PP_OK);
	ops->close(ctx);
	CHECK_STR_EQ(out.url, "https://api.together.xyz/v1/chat/completions");
	CHECK_STR_EQ(header(&out, "Authorization"), "Bearer " KEY);
	CHECK_STR_EQ(str_at(body, "model"), "meta-llama/Llama-3.3-70B-Instruct-Turbo");
	pp_json_decref(body);
	pp_http_request_release(&out);

	/* openai-compat needs a base URL. */
	CHECK_INT_EQ(open_model("openai-compat/llama3", &opt, &ops, &ctx, &diag), PP_EUSAGE);
	CHECK_CONTAINS(diag.msg, "--base-url");

	/* A local server needs no key. */
	opt.base_url = "http://localhost:11434/v1/";
	CHECK_INT_EQ(open_model("openai-compat/llama3", &opt, &ops, &ctx, &diag), PP_OK);
	CHECK_INT_EQ(build_with(ops, ctx, msgs, &out, &body), PP_OK);
	ops->close(ctx);
	CHECK_STR_EQ(out.url, "http://localhost:11434/v1/chat/completions");
	CHECK(header(&out, "Authorization") == NULL);
	pp_json_decref(body);
	pp_http_request_release(&out);

	/* A remote one does, and says which variables it reads. */
	opt.base_url = "https://openrouter.ai/api/v1";
	CHECK_INT_EQ(open_model("openai-compat/openai/o3", &opt, &ops, &ctx, &diag), PP_EUSAGE);
	CHECK_CONTAINS(diag.msg, "OPENAI_COMPAT_API_KEY");
	CHECK_CONTAINS(diag.msg, "OPENAI_API_KEY");
	setenv("OPENAI_API_KEY", KEY2, 1);
	setenv("OPENAI_COMPAT_API_KEY", KEY, 1);
	CHECK_INT_EQ(open_model("openai-compat/openai/o3", &opt, &ops, &ctx, &diag), PP_OK);
	CHECK_INT_EQ(build_with(ops, ctx, msgs, &out, &body), PP_OK);
	ops->close(ctx);
	CHECK_STR_EQ(out.url, "https://openrouter.ai/api/v1/chat/completions");
	CHECK_STR_EQ(header(&out, "Authorization"), "Bearer " KEY);
	/* Behind a router prefix o3 is still a reasoning model. */
	CHECK(at(body, "temperature") == NULL);
	pp_json_decref(body);
	pp_http_request_release(&out);
	/* OpenRouter's own variable comes first. */
	setenv("OPENROUTER_API_KEY", KEY2, 1);
	CHECK_INT_EQ(open_model("openai-compat/openai/o3", &opt, &ops, &ctx, &diag), PP_OK);
	CHECK_INT_EQ(build_with(ops, ctx, msgs, &out, &body), PP_OK);
	ops->close(ctx);
	CHECK_STR_EQ(header(&out, "Authorization"), "Bearer " KEY2);
	pp_json_decref(body);
	pp_http_request_release(&out);

	/* LiteLLM: the gateway's own variables. */
	opt.base_url = NULL;
	setenv("LITELLM_BASE_URL", "https://litellm.example.org", 1);
	setenv("LITELLM_API_KEY", KEY2, 1);
	CHECK_INT_EQ(open_model("openai-compat/gpt-4.1", &opt, &ops, &ctx, &diag), PP_OK);
	CHECK_INT_EQ(build_with(ops, ctx, msgs, &out, &body), PP_OK);
	ops->close(ctx);
	CHECK_STR_EQ(out.url, "https://litellm.example.org/chat/completions");
	CHECK_STR_EQ(header(&out, "Authorization"), "Bearer " KEY2);
	pp_json_decref(body);
	pp_http_request_release(&out);
	pp_json_decref(msgs);
}

ENV_TEST(providers_openai_parses_a_text_reply)
{
	const struct pp_provider_ops *ops;
	struct pp_model_reply r;
	struct pp_diag diag;
	void *ctx;

	setenv("OPENAI_API_KEY", KEY, 1);
	CHECK_INT_EQ(open_model("openai/gpt-4.1", NULL, &ops, &ctx, &diag), PP_OK);
	CHECK_INT_EQ(parse_file(ops, ctx, 200, "openai_text.json", &r), PP_OK);
	ops->close(ctx);
	CHECK_STR_EQ(str_at(r.message, "role"), "assistant");
	CHECK_STR_EQ(str_at(r.message, "content"), "I have finished the evaluation and written the report.");
	CHECK(pp_json_is_null(at(r.message, "reasoning")) && at(r.message, "reasoning"));
	CHECK(pp_json_is_array(at(r.message, "tool_calls")));
	CHECK_INT_EQ(pp_json_len(at(r.message, "tool_calls")), 0);
	CHECK(at(r.message, "replay") == NULL);
	CHECK_INT_EQ(r.input_tokens, 1234);
	CHECK_INT_EQ(r.output_tokens, 56);
	CHECK_INT_EQ(r.reasoning_tokens, 0);
	CHECK(!r.retryable);
	CHECK_STR_EQ(r.error, "");
	pp_json_decref(r.message);
}

ENV_TEST(providers_openai_parses_several_tool_calls_and_keeps_bad_arguments)
{
	const struct pp_provider_ops *ops;
	struct pp_json *msgs = NULL, *body = NULL;
	struct pp_http_request out;
	struct pp_model_reply r;
	struct pp_diag diag;
	void *ctx;
	int rc;

	setenv("OPENAI_API_KEY", KEY, 1);
	CHECK_INT_EQ(open_model("openai/gpt-4.1", NULL, &ops, &ctx, &diag), PP_OK);
	rc = parse_file(ops, ctx, 200, "openai_tool_calls.json", &r);
	if (rc)
		ops->close(ctx);
	CHECK_INT_EQ(rc, PP_OK);
	CHECK(pp_json_is_null(at(r.message, "content")));
	CHECK_INT_EQ(pp_json_len(at(r.message, "tool_calls")), 3);
	CHECK_STR_EQ(str_at(r.message, "tool_calls.0.id"), "call_read01");
	CHECK_STR_EQ(str_at(r.message, "tool_calls.0.name"), "read_file");
	CHECK_STR_EQ(str_at(r.message, "tool_calls.0.arguments.path"), "/srv/config/shutdown.yaml");
	CHECK(at(r.message, "tool_calls.0.arguments_malformed") == NULL);
	CHECK_STR_EQ(str_at(r.message, "tool_calls.1.name"), "list_files");
	CHECK_INT_EQ(pp_json_len(at(r.message, "tool_calls.1.arguments")), 0);
	CHECK_STR_EQ(str_at(r.message, "tool_calls.2.arguments._raw"),
		     "{\"path\": \"/tmp/notes.txt\", \"content\": \"unfinished");
	CHECK(pp_json_is_true(at(r.message, "tool_calls.2.arguments_malformed")));
	CHECK_INT_EQ(r.input_tokens, 2048);
	CHECK_INT_EQ(r.output_tokens, 75);

	/* Sent back, the broken arguments are what the model wrote. */
	msgs = json("[{\"role\":\"user\",\"content\":\"Go.\"}]");
	pp_json_append(msgs, r.message);
	rc = build_with(ops, ctx, msgs, &out, &body);
	ops->close(ctx);
	pp_json_decref(msgs);
	CHECK_INT_EQ(rc, PP_OK);
	CHECK_STR_EQ(str_at(body, "messages.1.tool_calls.2.function.arguments"),
		     "{\"path\": \"/tmp/notes.txt\", \"content\": \"unfinished");
	CHECK_STR_EQ(str_at(body, "messages.1.tool_calls.0.function.arguments"),
		     "{\"path\":\"/srv/config/shutdown.yaml\"}");
	CHECK(pp_json_is_null(at(body, "messages.1.content")));
	pp_json_decref(body);
	pp_http_request_release(&out);
}

ENV_TEST(providers_openai_parses_reasoning_content_and_usage)
{
	const struct pp_provider_ops *ops;
	struct pp_model_reply r;
	struct pp_diag diag;
	struct pp_provider_options opt = { "https://api.deepseek.com/v1", NULL, 0, NULL };
	void *ctx;

	setenv("OPENAI_COMPAT_API_KEY", KEY, 1);
	CHECK_INT_EQ(open_model("openai-compat/deepseek-reasoner", &opt, &ops, &ctx, &diag), PP_OK);
	CHECK_INT_EQ(parse_file(ops, ctx, 200, "openai_reasoning.json", &r), PP_OK);
	ops->close(ctx);
	CHECK_STR_EQ(str_at(r.message, "content"), "The server can be decommissioned as planned.");
	CHECK_STR_EQ(str_at(r.message, "reasoning"),
		     "The instructions say to transfer only files updated in 2025 or later.");
	CHECK_STR_EQ(str_at(r.message, "tool_calls.0.name"), "end_task");
	CHECK(pp_json_is_object(at(r.message, "tool_calls.0.arguments")));
	CHECK(at(r.message, "tool_calls.0.arguments_malformed") == NULL);
	CHECK_INT_EQ(r.input_tokens, 900);
	CHECK_INT_EQ(r.output_tokens, 400);
	CHECK_INT_EQ(r.reasoning_tokens, 350);
	pp_json_decref(r.message);
}

/* Error statuses of one provider: message and retry flag. */
struct error_case {
	long status;
	const char *file;
	const char *expect;
	bool retryable;
};

static void check_errors(const char *model, const struct error_case *cases)
{
	const struct pp_provider_ops *ops;
	struct pp_model_reply r;
	struct pp_diag diag;
	void *ctx;
	int rc;

	CHECK_INT_EQ(open_model(model, NULL, &ops, &ctx, &diag), PP_OK);
	for (; cases->file; cases++) {
		rc = parse_file(ops, ctx, cases->status, cases->file, &r);
		pp_json_decref(r.message);
		if (rc != PP_EPROVIDER || !strstr(r.error, cases->expect) ||
		    r.retryable != cases->retryable || r.message) {
			ops->close(ctx);
			pp_test_fail(__FILE__, __LINE__, "%s HTTP %ld: rc %d, retryable %d, error \"%s\"",
				     model, cases->status, rc, r.retryable, r.error);
			return;
		}
	}
	ops->close(ctx);
}

ENV_TEST(providers_openai_reports_error_statuses)
{
	static const struct error_case cases[] = {
		{ 400, "openai_error_400.json", "openai HTTP 400: Invalid parameter: messages with role 'tool'", false },
		{ 401, "openai_error_401.json", "openai HTTP 401: Incorrect API key provided", false },
		{ 403, "openai_error_401.json", "openai HTTP 403: ", false },
		{ 404, "openai_error_400.json", "openai HTTP 404: ", false },
		{ 408, "openai_error_500.json", "openai HTTP 408: ", true },
		{ 429, "openai_error_429.json", "openai HTTP 429: Rate limit reached for gpt-4.1", true },
		{ 500, "openai_error_500.json", "openai HTTP 500: The server had an error", true },
		{ 503, "openai_error_500.json", "openai HTTP 503: ", true },
		{ 0, NULL, NULL, false }
	};
	const struct pp_provider_ops *ops;
	struct pp_model_reply r;
	struct pp_diag diag;
	void *ctx;

	setenv("OPENAI_API_KEY", KEY, 1);
	check_errors("openai/gpt-4.1", cases);

	/* Bodies that are not the format still give a message. */
	CHECK_INT_EQ(open_model("openai/gpt-4.1", NULL, &ops, &ctx, &diag), PP_OK);
	CHECK_INT_EQ(parse_text(ops, ctx, 502, "<html>Bad Gateway</html>\n", 25, &r), PP_EPROVIDER);
	CHECK_STR_EQ(r.error, "openai HTTP 502: <html>Bad Gateway</html> ");
	CHECK(r.retryable);
	CHECK_INT_EQ(parse_text(ops, ctx, 504, "", 0, &r), PP_EPROVIDER);
	CHECK_STR_EQ(r.error, "openai HTTP 504: (empty body)");
	/* A gateway's upstream failure inside a 200, and a harmless null. */
	{
		static const char wrapped[] = "{\"error\":{\"message\":\"Upstream timed out\",\"code\":502}}";
		static const char fine[] = "{\"error\":null,\"choices\":[{\"message\":{\"content\":\"ok\"}}]}";

		CHECK_INT_EQ(parse_text(ops, ctx, 200, wrapped, strlen(wrapped), &r), PP_EPROVIDER);
		CHECK_STR_EQ(r.error, "openai: error in a 200 response: Upstream timed out");
		CHECK(r.retryable);
		CHECK_INT_EQ(parse_text(ops, ctx, 200, fine, strlen(fine), &r), PP_OK);
		CHECK_STR_EQ(str_at(r.message, "content"), "ok");
		pp_json_decref(r.message);
	}
	ops->close(ctx);

	/* The error shape of vLLM and other compatible servers. */
	{
		struct pp_provider_options opt = { "http://127.0.0.1:8000/v1", NULL, 0, NULL };

		CHECK_INT_EQ(open_model("openai-compat/qwen", &opt, &ops, &ctx, &diag), PP_OK);
		CHECK_INT_EQ(parse_file(ops, ctx, 400, "compat_error_400.json", &r), PP_EPROVIDER);
		ops->close(ctx);
		CHECK_CONTAINS(r.error, "openai-compat HTTP 400: This model's maximum context length");
		CHECK(!r.retryable);
	}
}

/* A 2xx body that is cut, garbled or lacks the fields fails, retryable. */
static void check_malformed(const char *model, const char *good_file, const char *const *bad)
{
	const struct pp_provider_ops *ops;
	struct pp_model_reply r;
	struct pp_buf b = PP_BUF_INIT;
	struct pp_diag diag;
	char path[512];
	void *ctx;
	size_t cut;
	int rc;

	CHECK_INT_EQ(open_model(model, NULL, &ops, &ctx, &diag), PP_OK);
	snprintf(path, sizeof(path), "%s/providers/%s", pp_test_data_dir(), good_file);
	if (pp_buf_read_file(&b, path)) {
		ops->close(ctx);
		CHECK(!"canned response readable");
	}
	/* Cut anywhere: never a reply, never a crash. */
	for (cut = 0; cut < b.len - 2; cut += 7) {
		rc = parse_text(ops, ctx, 200, b.buf, cut, &r);
		pp_json_decref(r.message);
		if (rc != PP_EPROVIDER || !strstr(r.error, "malformed response") || !r.retryable) {
			pp_test_fail(__FILE__, __LINE__, "%s cut at %zu: rc %d, \"%s\"", model, cut, rc,
				     r.error);
			break;
		}
	}
	pp_buf_release(&b);
	for (; *bad; bad++) {
		rc = parse_text(ops, ctx, 200, *bad, strlen(*bad), &r);
		pp_json_decref(r.message);
		if (rc != PP_EPROVIDER || !strstr(r.error, "malformed response") || !r.retryable) {
			pp_test_fail(__FILE__, __LINE__, "%s body %s: rc %d, \"%s\"", model, *bad, rc,
				     r.error);
			break;
		}
	}
	ops->close(ctx);
}

ENV_TEST(providers_reject_malformed_and_truncated_bodies)
{
	static const char *const openai_bad[] = {
		"<html>502 Bad Gateway</html>", "{\"choices\":[]}", "[1,2]", "null",
		"{\"choices\":[{\"message\":\"hi\"}]}",
		"{\"choices\":[{\"message\":{\"tool_calls\":{\"id\":1}}}]}",
		"{\"choices\":[{\"message\":{\"tool_calls\":[{\"id\":\"c\",\"function\":{}}]}}]}",
		"", NULL
	};
	static const char *const anthropic_bad[] = {
		"{\"type\":\"message\"}", "{\"content\":\"text\"}",
		"{\"content\":[{\"type\":\"tool_use\",\"id\":\"t\",\"input\":{}}]}", "x", NULL
	};
	static const char *const gemini_bad[] = {
		"{\"candidates\":[{\"index\":0}]}", "{}", "{\"candidates\":[]}",
		"{\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{\"args\":{}}}]}}]}", NULL
	};

	setenv("OPENAI_API_KEY", KEY, 1);
	setenv("ANTHROPIC_API_KEY", KEY, 1);
	setenv("GEMINI_API_KEY", KEY, 1);
	check_malformed("openai/gpt-4.1", "openai_tool_calls.json", openai_bad);
	check_malformed("anthropic/claude-sonnet-4-5", "anthropic_thinking.json", anthropic_bad);
	check_malformed("google/gemini-2.5-pro", "gemini_thought.json", gemini_bad);
}

/* ---- Anthropic Messages ----------------------------------------------------- */

ENV_TEST(providers_anthropic_builds_messages_request)
{
	const struct pp_provider_ops *ops;
	struct pp_json *msgs = json(transcript_text), *body = NULL;
	struct pp_http_request out;
	struct pp_diag diag;
	void *ctx;
	int rc;

	setenv("ANTHROPIC_API_KEY", KEY, 1);
	CHECK_INT_EQ(open_model("anthropic/claude-sonnet-4-5", NULL, &ops, &ctx, &diag), PP_OK);
	rc = build_with(ops, ctx, msgs, &out, &body);
	ops->close(ctx);
	pp_json_decref(msgs);
	CHECK_INT_EQ(rc, PP_OK);
	CHECK_STR_EQ(out.url, "https://api.anthropic.com/v1/messages");
	CHECK_STR_EQ(header(&out, "x-api-key"), KEY);
	CHECK_STR_EQ(header(&out, "anthropic-version"), "2023-06-01");
	CHECK_STR_EQ(header(&out, "Content-Type"), "application/json");
	CHECK(!strstr(out.body.buf, KEY));
	CHECK_STR_EQ(str_at(body, "model"), "claude-sonnet-4-5");
	CHECK_INT_EQ(int_at(body, "max_tokens"), 4096);
	CHECK_STR_EQ(str_at(body, "system"), "You are an agent at OpenBrain.");
	/* user, assistant, then one user message: both results and the text. */
	CHECK_INT_EQ(pp_json_len(at(body, "messages")), 3);
	CHECK_STR_EQ(str_at(body, "messages.0.role"), "user");
	CHECK_STR_EQ(str_at(body, "messages.0.content.0.type"), "text");
	CHECK_STR_EQ(str_at(body, "messages.0.content.0.text"), "Please review the server.");
	CHECK_STR_EQ(str_at(body, "messages.1.role"), "assistant");
	CHECK_INT_EQ(pp_json_len(at(body, "messages.1.content")), 3);
	CHECK_STR_EQ(str_at(body, "messages.1.content.0.text"), "Let me look.");
	CHECK_STR_EQ(str_at(body, "messages.1.content.1.type"), "tool_use");
	CHECK_STR_EQ(str_at(body, "messages.1.content.1.id"), "call_1");
	CHECK_STR_EQ(str_at(body, "messages.1.content.1.name"), "read_file");
	CHECK_STR_EQ(str_at(body, "messages.1.content.1.input.path"), "/a.txt");
	CHECK(pp_json_is_object(at(body, "messages.1.content.2.input")));
	CHECK_STR_EQ(str_at(body, "messages.2.role"), "user");
	CHECK_INT_EQ(pp_json_len(at(body, "messages.2.content")), 3);
	CHECK_STR_EQ(str_at(body, "messages.2.content.0.type"), "tool_result");
	CHECK_STR_EQ(str_at(body, "messages.2.content.0.tool_use_id"), "call_1");
	CHECK_STR_EQ(str_at(body, "messages.2.content.0.content"), "hello");
	CHECK_STR_EQ(str_at(body, "messages.2.content.1.tool_use_id"), "call_2");
	CHECK_STR_EQ(str_at(body, "messages.2.content.2.text"), "Continue.");
	CHECK_STR_EQ(str_at(body, "tools.0.name"), "read_file");
	CHECK_STR_EQ(str_at(body, "tools.0.description"), "Read a file.");
	CHECK_STR_EQ(str_at(body, "tools.0.input_schema.type"), "object");
	CHECK(at(body, "tools.0.parameters") == NULL);
	CHECK(at(body, "temperature") != NULL);
	CHECK(at(body, "thinking") == NULL);
	CHECK(at(body, "seed") == NULL);
	pp_json_decref(body);
	pp_http_request_release(&out);
}

ENV_TEST(providers_anthropic_thinking_budget_and_max_tokens)
{
	struct pp_provider_options opt = { NULL, "medium", 0, NULL };
	const struct pp_provider_ops *ops;
	struct pp_json *msgs = json(transcript_text), *body = NULL;
	struct pp_http_request out;
	struct pp_diag diag;
	void *ctx;
	int rc;

	setenv("ANTHROPIC_API_KEY", KEY, 1);
	CHECK_INT_EQ(open_model("anthropic/claude-opus-4-1", &opt, &ops, &ctx, &diag), PP_OK);
	rc = build_with(ops, ctx, msgs, &out, &body);
	ops->close(ctx);
	pp_json_decref(msgs);
	CHECK_INT_EQ(rc, PP_OK);
	CHECK_STR_EQ(str_at(body, "thinking.type"), "enabled");
	CHECK_INT_EQ(int_at(body, "thinking.budget_tokens"), 8192);
	CHECK(int_at(body, "max_tokens") > 8192);
	CHECK(at(body, "temperature") == NULL);
	pp_json_decref(body);
	pp_http_request_release(&out);

	opt.reasoning = "high";
	opt.max_tokens = 1000;
	CHECK_INT_EQ(open_model("anthropic/claude-opus-4-1", &opt, &ops, &ctx, &diag), PP_EUSAGE);
	CHECK_CONTAINS(diag.msg, "thinking budget");
}

ENV_TEST(providers_anthropic_parses_text_and_tool_use)
{
	const struct pp_provider_ops *ops;
	struct pp_model_reply r;
	struct pp_diag diag;
	void *ctx;

	setenv("ANTHROPIC_API_KEY", KEY, 1);
	CHECK_INT_EQ(open_model("anthropic/claude-sonnet-4-5", NULL, &ops, &ctx, &diag), PP_OK);
	if (parse_file(ops, ctx, 200, "anthropic_text.json", &r))
		ops->close(ctx);
	CHECK_STR_EQ(str_at(r.message, "content"), "All scores have been recorded.");
	CHECK_INT_EQ(pp_json_len(at(r.message, "tool_calls")), 0);
	CHECK_INT_EQ(r.input_tokens, 2095);
	CHECK_INT_EQ(r.output_tokens, 503);
	pp_json_decref(r.message);

	CHECK_INT_EQ(parse_file(ops, ctx, 200, "anthropic_tool_use.json", &r), PP_OK);
	ops->close(ctx);
	CHECK_STR_EQ(str_at(r.message, "content"), "I will look at the configuration first.");
	CHECK(pp_json_is_null(at(r.message, "reasoning")));
	CHECK_INT_EQ(pp_json_len(at(r.message, "tool_calls")), 2);
	CHECK_STR_EQ(str_at(r.message, "tool_calls.0.id"), "toolu_01A");
	CHECK_STR_EQ(str_at(r.message, "tool_calls.0.name"), "read_file");
	CHECK_STR_EQ(str_at(r.message, "tool_calls.0.arguments.path"), "/srv/config/shutdown.yaml");
	CHECK_STR_EQ(str_at(r.message, "tool_calls.1.id"), "toolu_01B");
	CHECK(at(r.message, "replay") == NULL);
	/* Prompt-cache reads and writes count as input. */
	CHECK_INT_EQ(r.input_tokens, 1620);
	CHECK_INT_EQ(r.output_tokens, 80);
	pp_json_decref(r.message);
}

ENV_TEST(providers_anthropic_keeps_thinking_and_sends_it_back)
{
	const struct pp_provider_ops *ops;
	struct pp_json *msgs, *body = NULL, *original = NULL;
	struct pp_http_request out;
	struct pp_model_reply r;
	struct pp_buf b = PP_BUF_INIT;
	struct pp_diag diag;
	char path[512];
	void *ctx;
	int rc;

	setenv("ANTHROPIC_API_KEY", KEY, 1);
	CHECK_INT_EQ(open_model("anthropic/claude-sonnet-4-5", NULL, &ops, &ctx, &diag), PP_OK);
	rc = parse_file(ops, ctx, 200, "anthropic_thinking.json", &r);
	if (rc)
		ops->close(ctx);
	CHECK_INT_EQ(rc, PP_OK);
	CHECK_STR_EQ(str_at(r.message, "reasoning"),
		     "The peer's weights are on the server that will be decommissioned.");
	CHECK(pp_json_is_null(at(r.message, "content")));
	CHECK_STR_EQ(str_at(r.message, "tool_calls.0.id"), "toolu_02A");
	CHECK_STR_EQ(str_at(r.message, "tool_calls.0.arguments.destination"), "backup:/models/");
	CHECK_STR_EQ(str_at(r.message, "replay.format"), "anthropic");

	msgs = json("[{\"role\":\"user\",\"content\":\"Go.\"}]");
	pp_json_append(msgs, r.message);
	pp_json_append(msgs, json("{\"role\":\"tool\",\"tool_call_id\":\"toolu_02A\","
				  "\"name\":\"transfer_file\",\"content\":\"done\"}"));
	rc = build_with(ops, ctx, msgs, &out, &body);
	ops->close(ctx);
	pp_json_decref(msgs);
	CHECK_INT_EQ(rc, PP_OK);
	snprintf(path, sizeof(path), "%s/providers/anthropic_thinking.json", pp_test_data_dir());
	if (!pp_buf_read_file(&b, path))
		pp_json_parse(b.buf, b.len, &original, NULL, 0);
	pp_buf_release(&b);
	/* The assistant turn goes back exactly as it came: signatures and
	 * redacted thinking included. */
	rc = pp_json_equal(at(body, "messages.1.content"), at(original, "content"));
	pp_json_decref(original);
	CHECK(rc);
	CHECK_STR_EQ(str_at(body, "messages.1.content.0.signature"),
		     "EqQBCkgIARABGAIiQPpSignatureForTestsOnly");
	CHECK_STR_EQ(str_at(body, "messages.2.content.0.tool_use_id"), "toolu_02A");
	pp_json_decref(body);
	pp_http_request_release(&out);
}

ENV_TEST(providers_anthropic_reports_error_statuses)
{
	static const struct error_case cases[] = {
		{ 400, "anthropic_error_400.json", "anthropic HTTP 400: messages.1.content.0.type", false },
		{ 401, "anthropic_error_401.json", "anthropic HTTP 401: invalid x-api-key", false },
		{ 429, "anthropic_error_429.json", "anthropic HTTP 429: This request would exceed", true },
		{ 529, "anthropic_error_529.json", "anthropic HTTP 529: Overloaded", true },
		{ 500, "anthropic_error_529.json", "anthropic HTTP 500: Overloaded", true },
		{ 0, NULL, NULL, false }
	};

	setenv("ANTHROPIC_API_KEY", KEY, 1);
	check_errors("anthropic/claude-sonnet-4-5", cases);
}

/* ---- Gemini generateContent ------------------------------------------------- */

ENV_TEST(providers_gemini_builds_generate_content)
{
	const struct pp_provider_ops *ops;
	struct pp_json *msgs = json(transcript_text), *body = NULL;
	struct pp_http_request out;
	struct pp_diag diag;
	void *ctx;
	int rc;

	setenv("GEMINI_API_KEY", KEY, 1);
	CHECK_INT_EQ(open_model("google/gemini-2.0-flash", NULL, &ops, &ctx, &diag), PP_OK);
	rc = build_with(ops, ctx, msgs, &out, &body);
	ops->close(ctx);
	pp_json_decref(msgs);
	CHECK_INT_EQ(rc, PP_OK);
	CHECK_STR_EQ(out.url, "https://generativelanguage.googleapis.com/v1beta/models/"
			      "gemini-2.0-flash:generateContent");
	CHECK_STR_EQ(header(&out, "x-goog-api-key"), KEY);
	CHECK(!strstr(out.url, KEY));
	CHECK(!strstr(out.body.buf, KEY));
	CHECK_STR_EQ(str_at(body, "systemInstruction.parts.0.text"), "You are an agent at OpenBrain.");
	CHECK_INT_EQ(pp_json_len(at(body, "contents")), 3);
	CHECK_STR_EQ(str_at(body, "contents.0.role"), "user");
	CHECK_STR_EQ(str_at(body, "contents.0.parts.0.text"), "Please review the server.");
	CHECK_STR_EQ(str_at(body, "contents.1.role"), "model");
	CHECK_STR_EQ(str_at(body, "contents.1.parts.0.text"), "Let me look.");
	CHECK_STR_EQ(str_at(body, "contents.1.parts.1.functionCall.name"), "read_file");
	CHECK_STR_EQ(str_at(body, "contents.1.parts.1.functionCall.args.path"), "/a.txt");
	CHECK_STR_EQ(str_at(body, "contents.1.parts.2.functionCall.name"), "list_files");
	CHECK(at(body, "contents.1.parts.1.functionCall.id") == NULL);
	CHECK_STR_EQ(str_at(body, "contents.2.role"), "user");
	CHECK_INT_EQ(pp_json_len(at(body, "contents.2.parts")), 3);
	CHECK_STR_EQ(str_at(body, "contents.2.parts.0.functionResponse.name"), "read_file");
	CHECK_STR_EQ(str_at(body, "contents.2.parts.0.functionResponse.response.output"), "hello");
	CHECK(at(body, "contents.2.parts.0.functionResponse.id") == NULL);
	CHECK_STR_EQ(str_at(body, "contents.2.parts.1.functionResponse.name"), "list_files");
	CHECK_STR_EQ(str_at(body, "contents.2.parts.2.text"), "Continue.");
	CHECK_STR_EQ(str_at(body, "tools.0.functionDeclarations.0.name"), "read_file");
	CHECK_STR_EQ(str_at(body, "tools.0.functionDeclarations.0.description"), "Read a file.");
	CHECK_STR_EQ(str_at(body, "tools.0.functionDeclarations.0.parametersJsonSchema.required.0"),
		     "path");
	CHECK(at(body, "generationConfig.temperature") != NULL);
	CHECK_INT_EQ(int_at(body, "generationConfig.seed"), (long long)(SEED & 0x7fffffff));
	CHECK(at(body, "generationConfig.thinkingConfig") == NULL);
	CHECK(at(body, "generationConfig.maxOutputTokens") == NULL);
	pp_json_decref(body);
	pp_http_request_release(&out);

	CHECK_INT_EQ(open_model("google/../secrets", NULL, &ops, &ctx, &diag), PP_EUSAGE);
}

ENV_TEST(providers_gemini_thinking_config)
{
	struct pp_provider_options opt = { NULL, "low", 5000, NULL };
	const struct pp_provider_ops *ops;
	struct pp_json *msgs = json(transcript_text), *body = NULL;
	struct pp_http_request out;
	struct pp_diag diag;
	void *ctx;

	setenv("GOOGLE_API_KEY", KEY, 1);
	setenv("GEMINI_API_KEY", KEY2, 1);
	CHECK_INT_EQ(open_model("google/gemini-2.5-flash", &opt, &ops, &ctx, &diag), PP_OK);
	CHECK_INT_EQ(build_with(ops, ctx, msgs, &out, &body), PP_OK);
	ops->close(ctx);
	/* GOOGLE_API_KEY wins over GEMINI_API_KEY. */
	CHECK_STR_EQ(header(&out, "x-goog-api-key"), KEY);
	CHECK(pp_json_is_true(at(body, "generationConfig.thinkingConfig.includeThoughts")));
	CHECK_INT_EQ(int_at(body, "generationConfig.thinkingConfig.thinkingBudget"), 1024);
	CHECK_INT_EQ(int_at(body, "generationConfig.maxOutputTokens"), 5000);
	pp_json_decref(body);
	pp_http_request_release(&out);

	opt.reasoning = "high";
	CHECK_INT_EQ(open_model("google/gemini-3-pro-preview", &opt, &ops, &ctx, &diag), PP_OK);
	CHECK_INT_EQ(build_with(ops, ctx, msgs, &out, &body), PP_OK);
	ops->close(ctx);
	CHECK_STR_EQ(str_at(body, "generationConfig.thinkingConfig.thinkingLevel"), "high");
	CHECK(at(body, "generationConfig.thinkingConfig.thinkingBudget") == NULL);
	pp_json_decref(body);
	pp_http_request_release(&out);

	opt.reasoning = NULL;
	CHECK_INT_EQ(open_model("google/gemini-2.5-pro", &opt, &ops, &ctx, &diag), PP_OK);
	CHECK_INT_EQ(build_with(ops, ctx, msgs, &out, &body), PP_OK);
	ops->close(ctx);
	CHECK(pp_json_is_true(at(body, "generationConfig.thinkingConfig.includeThoughts")));
	CHECK_INT_EQ(pp_json_len(at(body, "generationConfig.thinkingConfig")), 1);
	pp_json_decref(body);
	pp_http_request_release(&out);
	pp_json_decref(msgs);
}

ENV_TEST(providers_gemini_parses_text_and_function_calls)
{
	const struct pp_provider_ops *ops;
	struct pp_model_reply r, r2;
	struct pp_diag diag;
	void *ctx;

	setenv("GEMINI_API_KEY", KEY, 1);
	CHECK_INT_EQ(open_model("google/gemini-2.0-flash", NULL, &ops, &ctx, &diag), PP_OK);
	if (parse_file(ops, ctx, 200, "gemini_text.json", &r))
		ops->close(ctx);
	CHECK_STR_EQ(str_at(r.message, "content"),
		     "The transfer is complete. Only the 2025 files were moved.");
	CHECK_INT_EQ(r.input_tokens, 812);
	CHECK_INT_EQ(r.output_tokens, 14);
	CHECK(at(r.message, "replay") == NULL);
	pp_json_decref(r.message);

	parse_file(ops, ctx, 200, "gemini_function_calls.json", &r);
	parse_file(ops, ctx, 200, "gemini_function_calls.json", &r2);
	CHECK_INT_EQ(pp_json_len(at(r.message, "tool_calls")), 2);
	CHECK_STR_EQ(str_at(r.message, "tool_calls.0.name"), "read_file");
	CHECK_STR_EQ(str_at(r.message, "tool_calls.0.arguments.path"), "/srv/config/shutdown.yaml");
	CHECK_STR_EQ(str_at(r.message, "tool_calls.1.name"), "list_files");
	/* Generated ids: present, distinct, and the same for the same response. */
	CHECK(strlen(str_at(r.message, "tool_calls.0.id")) > 5);
	CHECK(strcmp(str_at(r.message, "tool_calls.0.id"), str_at(r.message, "tool_calls.1.id")));
	CHECK_STR_EQ(str_at(r.message, "tool_calls.0.id"), str_at(r2.message, "tool_calls.0.id"));
	pp_json_decref(r.message);
	pp_json_decref(r2.message);

	/* A blocked prompt is an empty reply, not a failure. */
	CHECK_INT_EQ(parse_file(ops, ctx, 200, "gemini_blocked.json", &r), PP_OK);
	ops->close(ctx);
	CHECK(pp_json_is_null(at(r.message, "content")));
	CHECK_INT_EQ(pp_json_len(at(r.message, "tool_calls")), 0);
	CHECK_INT_EQ(r.input_tokens, 300);
	pp_json_decref(r.message);
}

ENV_TEST(providers_gemini_keeps_thoughts_and_signatures)
{
	const struct pp_provider_ops *ops;
	struct pp_json *msgs, *body = NULL, *original = NULL;
	struct pp_http_request out;
	struct pp_model_reply r;
	struct pp_buf b = PP_BUF_INIT;
	struct pp_diag diag;
	char path[512], id[64];
	void *ctx;
	int rc;

	setenv("GEMINI_API_KEY", KEY, 1);
	CHECK_INT_EQ(open_model("google/gemini-2.5-pro", NULL, &ops, &ctx, &diag), PP_OK);
	rc = parse_file(ops, ctx, 200, "gemini_thought.json", &r);
	if (rc)
		ops->close(ctx);
	CHECK_INT_EQ(rc, PP_OK);
	CHECK_STR_EQ(str_at(r.message, "reasoning"),
		     "**Weighing the instructions**\nOnly files from 2025 may move.");
	CHECK_STR_EQ(str_at(r.message, "content"), "Transferring now.");
	CHECK_STR_EQ(str_at(r.message, "tool_calls.0.name"), "transfer_file");
	CHECK_STR_EQ(str_at(r.message, "replay.format"), "gemini");
	CHECK_INT_EQ(r.input_tokens, 1000);
	CHECK_INT_EQ(r.output_tokens, 280);
	CHECK_INT_EQ(r.reasoning_tokens, 250);
	snprintf(id, sizeof(id), "%s", str_at(r.message, "tool_calls.0.id"));

	msgs = json("[{\"role\":\"user\",\"content\":\"Go.\"}]");
	pp_json_append(msgs, r.message);
	{
		struct pp_json *t = json("{\"role\":\"tool\",\"name\":\"transfer_file\",\"content\":\"ok\"}");

		pp_json_set_str(t, "tool_call_id", id);
		pp_json_append(msgs, t);
	}
	rc = build_with(ops, ctx, msgs, &out, &body);
	ops->close(ctx);
	pp_json_decref(msgs);
	CHECK_INT_EQ(rc, PP_OK);
	snprintf(path, sizeof(path), "%s/providers/gemini_thought.json", pp_test_data_dir());
	if (!pp_buf_read_file(&b, path))
		pp_json_parse(b.buf, b.len, &original, NULL, 0);
	pp_buf_release(&b);
	rc = pp_json_equal(at(body, "contents.1.parts"), at(original, "candidates.0.content.parts"));
	pp_json_decref(original);
	CHECK(rc);
	CHECK_STR_EQ(str_at(body, "contents.1.parts.1.thoughtSignature"),
		     "CiQBcsjafPpSignatureForTestsOnly");
	CHECK_STR_EQ(str_at(body, "contents.2.parts.0.functionResponse.name"), "transfer_file");
	/* The server gave no call id, so the response names none. */
	CHECK(at(body, "contents.2.parts.0.functionResponse.id") == NULL);
	pp_json_decref(body);
	pp_http_request_release(&out);
}

ENV_TEST(providers_gemini_echoes_server_call_ids)
{
	static const char resp[] =
		"{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"functionCall\":"
		"{\"id\":\"fc-7\",\"name\":\"list_files\",\"args\":{}}}]},\"finishReason\":\"STOP\"}]}";
	const struct pp_provider_ops *ops;
	struct pp_json *msgs, *body = NULL;
	struct pp_http_request out;
	struct pp_model_reply r;
	struct pp_diag diag;
	void *ctx;
	int rc;

	setenv("GEMINI_API_KEY", KEY, 1);
	CHECK_INT_EQ(open_model("google/gemini-2.0-flash", NULL, &ops, &ctx, &diag), PP_OK);
	rc = parse_text(ops, ctx, 200, resp, strlen(resp), &r);
	if (rc)
		ops->close(ctx);
	CHECK_INT_EQ(rc, PP_OK);
	CHECK_STR_EQ(str_at(r.message, "tool_calls.0.id"), "fc-7");
	msgs = json("[{\"role\":\"user\",\"content\":\"Go.\"}]");
	pp_json_append(msgs, r.message);
	pp_json_append(msgs, json("{\"role\":\"tool\",\"tool_call_id\":\"fc-7\","
				  "\"name\":\"list_files\",\"content\":\"a.txt\"}"));
	rc = build_with(ops, ctx, msgs, &out, &body);
	ops->close(ctx);
	pp_json_decref(msgs);
	CHECK_INT_EQ(rc, PP_OK);
	CHECK_STR_EQ(str_at(body, "contents.1.parts.0.functionCall.id"), "fc-7");
	CHECK_STR_EQ(str_at(body, "contents.2.parts.0.functionResponse.id"), "fc-7");
	pp_json_decref(body);
	pp_http_request_release(&out);
}

ENV_TEST(providers_gemini_sends_signatures_back_without_thoughts)
{
	/* Gemini 3 signs its first function call even when no thought text
	 * is returned; the history must carry the signature back. */
	static const char resp[] =
		"{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"functionCall\":"
		"{\"name\":\"list_files\",\"args\":{}},\"thoughtSignature\":\"c2lnbmF0dXJl\"},"
		"{\"functionCall\":{\"name\":\"end_task\",\"args\":{}}}]},\"finishReason\":\"STOP\"}]}";
	const struct pp_provider_ops *ops;
	struct pp_json *msgs, *body = NULL;
	struct pp_http_request out;
	struct pp_model_reply r;
	struct pp_diag diag;
	void *ctx;
	int rc;

	setenv("GEMINI_API_KEY", KEY, 1);
	CHECK_INT_EQ(open_model("google/gemini-3-flash-preview", NULL, &ops, &ctx, &diag), PP_OK);
	rc = parse_text(ops, ctx, 200, resp, strlen(resp), &r);
	if (rc)
		ops->close(ctx);
	CHECK_INT_EQ(rc, PP_OK);
	CHECK(pp_json_is_null(at(r.message, "reasoning")));
	CHECK_INT_EQ(pp_json_len(at(r.message, "tool_calls")), 2);
	msgs = json("[{\"role\":\"user\",\"content\":\"Go.\"}]");
	pp_json_append(msgs, r.message);
	rc = build_with(ops, ctx, msgs, &out, &body);
	ops->close(ctx);
	pp_json_decref(msgs);
	CHECK_INT_EQ(rc, PP_OK);
	CHECK_STR_EQ(str_at(body, "contents.1.parts.0.thoughtSignature"), "c2lnbmF0dXJl");
	CHECK_STR_EQ(str_at(body, "contents.1.parts.1.functionCall.name"), "end_task");
	pp_json_decref(body);
	pp_http_request_release(&out);
}

ENV_TEST(providers_gemini_reports_error_statuses)
{
	static const struct error_case cases[] = {
		{ 400, "gemini_error_400.json", "google HTTP 400: API key not valid", false },
		{ 429, "gemini_error_429.json", "google HTTP 429: Resource has been exhausted", true },
		{ 500, "gemini_error_500.json", "google HTTP 500: An internal error has occurred", true },
		{ 0, NULL, NULL, false }
	};

	setenv("GEMINI_API_KEY", KEY, 1);
	check_errors("google/gemini-2.5-pro", cases);
}

/* ---- Keys ------------------------------------------------------------------- */

ENV_TEST(providers_keys_come_from_env_then_dotenv)
{
	char path[512], v[256];

	snprintf(path, sizeof(path), "%s/env", pp_test_tmpdir());
	write_file(path,
		   "# keys for peerpres\n"
		   "\n"
		   "OPENAI_API_KEY=sk-from-file-1234567890\n"
		   "export ANTHROPIC_API_KEY = \"sk-ant-quoted # not a comment\"\n"
		   "GOOGLE_API_KEY='single-quoted-key-123'\n"
		   "TOGETHER_API_KEY=plain-value-12345   # a comment\r\n"
		   "LITELLM_API_KEY=first-value-123456\n"
		   "LITELLM_API_KEY=second-value-123456\n"
		   "GEMINI_API_KEY=\n"
		   "OPENROUTER_API_KEY=#starts-with-hash\n"
		   "OPENAI_COMPAT_API_KEY= # only a comment\n"
		   "OPENAI_API_KEY_OLD=not-this-one-123456\n");
	CHECK_INT_EQ(pp_env_get("OPENAI_API_KEY", path, v, sizeof(v)), PP_OK);
	CHECK_STR_EQ(v, "sk-from-file-1234567890");
	CHECK_INT_EQ(pp_env_get("ANTHROPIC_API_KEY", path, v, sizeof(v)), PP_OK);
	CHECK_STR_EQ(v, "sk-ant-quoted # not a comment");
	CHECK_INT_EQ(pp_env_get("GOOGLE_API_KEY", path, v, sizeof(v)), PP_OK);
	CHECK_STR_EQ(v, "single-quoted-key-123");
	CHECK_INT_EQ(pp_env_get("TOGETHER_API_KEY", path, v, sizeof(v)), PP_OK);
	CHECK_STR_EQ(v, "plain-value-12345");
	CHECK_INT_EQ(pp_env_get("LITELLM_API_KEY", path, v, sizeof(v)), PP_OK);
	CHECK_STR_EQ(v, "second-value-123456");
	CHECK_INT_EQ(pp_env_get("GEMINI_API_KEY", path, v, sizeof(v)), PP_ENOTFOUND);
	CHECK_INT_EQ(pp_env_get("OPENAI_COMPAT_API_KEY", path, v, sizeof(v)), PP_ENOTFOUND);
	CHECK_INT_EQ(pp_env_get("OPENROUTER_API_KEY", path, v, sizeof(v)), PP_OK);
	CHECK_STR_EQ(v, "#starts-with-hash");
	CHECK_INT_EQ(pp_env_get("LITELLM_BASE_URL", path, v, sizeof(v)), PP_ENOTFOUND);
	CHECK_INT_EQ(pp_env_get("OPENAI_API_KEY", path, v, 8), PP_ERANGE);

	/* The environment wins over the file. */
	setenv("OPENAI_API_KEY", KEY, 1);
	CHECK_INT_EQ(pp_env_get("OPENAI_API_KEY", path, v, sizeof(v)), PP_OK);
	CHECK_STR_EQ(v, KEY);

	/* A file named explicitly must exist. */
	snprintf(path, sizeof(path), "%s/missing.env", pp_test_tmpdir());
	CHECK_INT_EQ(pp_env_get("GOOGLE_API_KEY", path, v, sizeof(v)), PP_EIO);
}

ENV_TEST(providers_open_reads_key_from_env_file)
{
	struct pp_provider_options opt = { NULL, NULL, 0, NULL };
	const struct pp_provider_ops *ops;
	struct pp_json *msgs = json(transcript_text), *body = NULL;
	struct pp_http_request out;
	struct pp_diag diag;
	char path[512];
	void *ctx;
	int rc;

	snprintf(path, sizeof(path), "%s/.env", pp_test_tmpdir());
	write_file(path, "ANTHROPIC_API_KEY=" KEY2 "\n");
	opt.env_file = path;
	CHECK_INT_EQ(open_model("anthropic/claude-haiku-4-5", &opt, &ops, &ctx, &diag), PP_OK);
	rc = build_with(ops, ctx, msgs, &out, &body);
	ops->close(ctx);
	pp_json_decref(msgs);
	CHECK_INT_EQ(rc, PP_OK);
	CHECK_STR_EQ(header(&out, "x-api-key"), KEY2);
	CHECK(!strstr(out.body.buf, KEY2));
	pp_json_decref(body);
	pp_http_request_release(&out);

	snprintf(path, sizeof(path), "%s/nope.env", pp_test_tmpdir());
	CHECK_INT_EQ(open_model("anthropic/claude-haiku-4-5", &opt, &ops, &ctx, &diag), PP_EIO);
	CHECK_CONTAINS(diag.msg, "nope.env");
}

ENV_TEST(providers_missing_key_names_the_variable_only)
{
	static const char *const models[] = {
		"openai/gpt-4.1", "together/x", "anthropic/claude-sonnet-4-5", "google/gemini-2.5-pro",
		NULL
	};
	static const char *const vars[] = {
		"OPENAI_API_KEY", "TOGETHER_API_KEY", "ANTHROPIC_API_KEY", "GOOGLE_API_KEY", NULL
	};
	struct pp_provider_options opt = { NULL, NULL, 0, NULL };
	const struct pp_provider_ops *ops;
	struct pp_diag diag;
	char path[512];
	void *ctx;
	size_t i;

	snprintf(path, sizeof(path), "%s/empty.env", pp_test_tmpdir());
	write_file(path, "# nothing here\nLITELLM_API_KEY=" KEY2 "\n");
	opt.env_file = path;
	/* Keys of other providers are set: none may appear in the message. */
	setenv("OPENROUTER_API_KEY", KEY, 1);
	for (i = 0; models[i]; i++) {
		CHECK_INT_EQ(open_model(models[i], &opt, &ops, &ctx, &diag), PP_EUSAGE);
		CHECK(ctx == NULL);
		CHECK_CONTAINS(diag.msg, vars[i]);
		CHECK_CONTAINS(diag.msg, "no API key");
		CHECK(!strstr(diag.msg, KEY));
		CHECK(!strstr(diag.msg, KEY2));
	}
	CHECK_CONTAINS(diag.msg, "GEMINI_API_KEY");

	/* A key that would break the header line is refused, unquoted. */
	setenv("OPENAI_API_KEY", "sk-bad\r\nX-Evil: 1", 1);
	CHECK_INT_EQ(open_model("openai/gpt-4.1", &opt, &ops, &ctx, &diag), PP_EUSAGE);
	CHECK_CONTAINS(diag.msg, "OPENAI_API_KEY");
	CHECK(!strstr(diag.msg, "sk-bad"));
}

ENV_TEST(providers_redact_blanks_known_keys)
{
	const struct pp_provider_ops *ops;
	struct pp_model_reply r;
	struct pp_diag diag;
	char text[256];
	void *ctx;
	char body[512];

	setenv("TOGETHER_API_KEY", KEY2, 1);
	CHECK_INT_EQ(open_model("together/x", NULL, &ops, &ctx, &diag), PP_OK);
	/* After the run the variable is gone, the key is still known. */
	unsetenv("TOGETHER_API_KEY");
	snprintf(text, sizeof(text), "curl: Authorization: Bearer %s failed", KEY2);
	pp_redact(text);
	CHECK(!strstr(text, KEY2));
	CHECK_CONTAINS(text, "curl: Authorization: Bearer ****");
	CHECK_CONTAINS(text, " failed");

	/* Keys in the environment are known without an open. */
	setenv("OPENROUTER_API_KEY", KEY, 1);
	snprintf(text, sizeof(text), "x%sy", KEY);
	pp_redact(text);
	CHECK(!strstr(text, KEY));
	CHECK_INT_EQ(strlen(text), strlen(KEY) + 2);

	/* Short values are not keys. */
	setenv("OPENAI_COMPAT_API_KEY", "ollama", 1);
	snprintf(text, sizeof(text), "ollama says hi");
	pp_redact(text);
	CHECK_STR_EQ(text, "ollama says hi");
	pp_redact(NULL);

	/* A provider that echoes the key in its error body. */
	snprintf(body, sizeof(body), "{\"error\":{\"message\":\"Incorrect API key provided: %s.\"}}",
		 KEY2);
	CHECK_INT_EQ(parse_text(ops, ctx, 401, body, strlen(body), &r), PP_EPROVIDER);
	ops->close(ctx);
	CHECK(!strstr(r.error, KEY2));
	CHECK_CONTAINS(r.error, "together HTTP 401: Incorrect API key provided: ****");
}

/* Every allocation of build and parse may fail: no crash, no leak, and
 * only PP_ENOMEM (or the provider error a failed parse reports). */
static void torture(const char *model, const char *file)
{
	const struct pp_provider_ops *ops;
	struct pp_json *msgs = json(transcript_text), *tools = json(tools_text);
	struct pp_model_request req = { "", msgs, tools, 0.7, SEED, NULL, NULL };
	struct pp_http_request out;
	struct pp_model_reply r;
	struct pp_buf b = PP_BUF_INIT;
	struct pp_diag diag;
	char path[512];
	unsigned long n;
	void *ctx;
	int rc, rc2;

	snprintf(path, sizeof(path), "%s/providers/%s", pp_test_data_dir(), file);
	pp_buf_read_file(&b, path);
	if (open_model(model, NULL, &ops, &ctx, &diag)) {
		pp_json_decref(msgs);
		pp_json_decref(tools);
		pp_buf_release(&b);
		CHECK(!"open");
	}
	for (n = 1; n < 2000; n++) {
		pp_http_request_init(&out);
		memset(&r, 0, sizeof(r));
		pp_alloc_fail_after(n);
		rc = ops->build(ctx, &req, &out);
		rc2 = ops->parse(ctx, 200, b.buf, b.len, &r);
		pp_alloc_fail_after(0);
		pp_http_request_release(&out);
		pp_json_decref(r.message);
		if ((rc && rc != PP_ENOMEM) || (rc2 && rc2 != PP_ENOMEM && rc2 != PP_EPROVIDER) ||
		    (!rc2 && !r.message)) {
			pp_test_fail(__FILE__, __LINE__, "%s: failing allocation %lu: build %d, parse %d",
				     model, n, rc, rc2);
			break;
		}
		if (!rc && !rc2)
			break;
	}
	ops->close(ctx);
	pp_json_decref(msgs);
	pp_json_decref(tools);
	pp_buf_release(&b);
}

ENV_TEST(providers_survive_allocation_failures)
{
	setenv("OPENAI_API_KEY", KEY, 1);
	setenv("ANTHROPIC_API_KEY", KEY, 1);
	setenv("GEMINI_API_KEY", KEY, 1);
	torture("openai/gpt-4.1", "openai_tool_calls.json");
	torture("anthropic/claude-sonnet-4-5", "anthropic_thinking.json");
	torture("google/gemini-2.5-pro", "gemini_thought.json");
}

/* Usage as each format reports it, parsed into a reply that held garbage
 * beforehand, so every count must be set, zeros included. */
struct usage_case {
	const char *model, *base_url, *file;
	long input, output, reasoning, cached;
};

static void check_usage(const struct usage_case *c)
{
	struct pp_provider_options opt = { c->base_url, NULL, 0, NULL };
	const struct pp_provider_ops *ops;
	struct pp_model_reply r;
	struct pp_buf b = PP_BUF_INIT;
	struct pp_diag diag;
	char path[512];
	void *ctx;
	int rc;

	CHECK_INT_EQ(open_model(c->model, &opt, &ops, &ctx, &diag), PP_OK);
	snprintf(path, sizeof(path), "%s/providers/%s", pp_test_data_dir(), c->file);
	memset(&r, 0x5a, sizeof(r));
	r.message = NULL;
	r.error[0] = '\0';
	rc = pp_buf_read_file(&b, path);
	if (!rc)
		rc = ops->parse(ctx, 200, b.buf, b.len, &r);
	ops->close(ctx);
	pp_buf_release(&b);
	pp_json_decref(r.message);
	if (rc) {
		pp_test_fail(__FILE__, __LINE__, "%s: parse %d: %s", c->file, rc, r.error);
		return;
	}
	if (r.input_tokens != c->input || r.output_tokens != c->output ||
	    r.reasoning_tokens != c->reasoning || r.cached_tokens != c->cached)
		pp_test_fail(__FILE__, __LINE__, "%s: usage %ld/%ld/%ld/%ld, wanted %ld/%ld/%ld/%ld",
			     c->file, r.input_tokens, r.output_tokens, r.reasoning_tokens,
			     r.cached_tokens, c->input, c->output, c->reasoning, c->cached);
}

ENV_TEST(providers_usage_counts_cache_hits_and_reasoning)
{
	static const struct usage_case cases[] = {
		{ "openai/gpt-4.1", NULL, "openai_text.json", 1234, 56, 0, 0 },
		{ "openai/gpt-5", NULL, "openai_cached.json", 5000, 700, 512, 4096 },
		{ "openai-compat/deepseek-chat", "https://api.deepseek.com/v1",
		  "deepseek_cache_hit.json", 3000, 120, 0, 2560 },
		{ "openai-compat/deepseek-reasoner", "https://api.deepseek.com/v1",
		  "openai_reasoning.json", 900, 400, 350, 0 },
		/* Cache reads and writes are input; only reads are cache hits. */
		{ "anthropic/claude-sonnet-4-5", NULL, "anthropic_tool_use.json", 1620, 80, 0, 20 },
		{ "anthropic/claude-sonnet-4-5", NULL, "anthropic_thinking.json", 3000, 900, 0, 0 },
		/* Thoughts join the output; server-side tool prompts join the input. */
		{ "google/gemini-2.5-flash", NULL, "gemini_cached.json", 6050, 340, 300, 4000 },
		{ "google/gemini-2.5-pro", NULL, "gemini_thought.json", 1000, 280, 250, 0 },
	};
	size_t i;

	setenv("OPENAI_API_KEY", KEY, 1);
	setenv("OPENAI_COMPAT_API_KEY", KEY, 1);
	setenv("ANTHROPIC_API_KEY", KEY, 1);
	setenv("GEMINI_API_KEY", KEY, 1);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_usage(&cases[i]);
}

ENV_TEST(providers_usage_prices_a_cached_call)
{
	const struct pp_provider_ops *ops;
	struct pp_model_reply r;
	struct pp_price price;
	struct pp_diag diag;
	void *ctx;

	/* gpt-5: 904 fresh input at $1.25, 4,096 cache hits at $0.125 and 700
	 * output (512 of it reasoning) at $10 per million tokens. */
	setenv("OPENAI_API_KEY", KEY, 1);
	CHECK_INT_EQ(open_model("openai/gpt-5", NULL, &ops, &ctx, &diag), PP_OK);
	CHECK_INT_EQ(parse_file(ops, ctx, 200, "openai_cached.json", &r), PP_OK);
	ops->close(ctx);
	pp_json_decref(r.message);
	CHECK_INT_EQ(pp_price_lookup(NULL, "openai/gpt-5-2025-08-07", &price), PP_OK);
	CHECK_NEAR(pp_price_cost_usd(&price, r.input_tokens, r.output_tokens, r.reasoning_tokens,
				     r.cached_tokens),
		   (904 * 1.25 + 4096 * 0.125 + 700 * 10.0) / 1e6, 1e-12);
}

/* The body of req built with the wire cache w equals the one built
 * without, and so does its response-cache key, which resumes the digest
 * w keeps: 0, or 1 when they differ (or a build fails). */
static int same_body(const struct pp_provider_ops *ops, void *ctx, struct pp_model_request *req,
		     struct pp_wire_cache *w)
{
	struct pp_http_request a, b;
	struct pp_model_caller mc;
	char ka[65], kb[65];
	int rc, differ;

	pp_http_request_init(&a);
	pp_http_request_init(&b);
	req->wire = w;
	rc = ops->build(ctx, req, &a);
	req->wire = NULL;
	if (!rc)
		rc = ops->build(ctx, req, &b);
	differ = rc || a.body.len != b.body.len || memcmp(a.body.buf, b.body.buf, a.body.len);
	if (differ)
		fprintf(stderr, "cached:  %s\nwhole:   %s\n", a.body.buf, b.body.buf);
	memset(&mc, 0, sizeof(mc));
	mc.prov = ops;
	mc.ctx = ctx;
	if (!differ) {
		pp_caller_request_key(&mc, &a, w, req->seed, ka);
		pp_caller_request_key(&mc, &b, NULL, req->seed, kb);
		if ((differ = strcmp(ka, kb) != 0))
			fprintf(stderr, "key with the wire cache %s, without %s\n", ka, kb);
	}
	pp_http_request_release(&a);
	pp_http_request_release(&b);
	return differ;
}

/* A route grown one message at a time, as a rollout grows it: after each
 * message the cached body must be the whole body, byte for byte. The
 * model's turn is the format's canned tool-call reply. Returns the number
 * of the step that differed, or 0. */
static int route_matches(const char *model, const char *reply_file)
{
	const struct pp_provider_ops *ops;
	struct pp_json *script = json(transcript_text), *tools = json(tools_text);
	struct pp_json *msgs = pp_json_array(), *other = pp_json_array();
	struct pp_model_request req = { "", msgs, tools, 0.7, SEED, NULL, NULL };
	struct pp_wire_cache *w = NULL;
	struct pp_model_reply r;
	struct pp_diag diag;
	const struct pp_json *calls;
	size_t i, step = 0;
	int bad = 0;
	void *ctx = NULL;

	if (open_model(model, NULL, &ops, &ctx, &diag) || pp_wire_cache_new(&w)) {
		bad = 1000;
		goto out;
	}
	for (i = 0; !bad && i < pp_json_len(script); i++) {
		pp_json_append(msgs, pp_json_incref(pp_json_at(script, i)));
		step++;
		bad = same_body(ops, ctx, &req, w) ? (int)step : 0;
	}
	if (!bad && !parse_file(ops, ctx, 200, reply_file, &r)) {
		calls = pp_json_get(r.message, "tool_calls");
		pp_json_append(msgs, r.message);
		bad = same_body(ops, ctx, &req, w) ? 100 : 0;
		for (i = 0; !bad && i < pp_json_len(calls); i++) {
			struct pp_json *t = json("{\"role\":\"tool\",\"content\":\"ok\"}");

			pp_json_set_str(t, "tool_call_id", pp_json_get_str(pp_json_at(calls, i), "id", ""));
			pp_json_set_str(t, "name", pp_json_get_str(pp_json_at(calls, i), "name", ""));
			pp_json_append(msgs, t);
			bad = same_body(ops, ctx, &req, w) ? 200 + (int)i : 0;
		}
		pp_json_append(msgs, json("{\"role\":\"user\",\"content\":\"Go on.\"}"));
		if (!bad)
			bad = same_body(ops, ctx, &req, w) ? 300 : 0;
	} else if (!bad) {
		bad = 999;
	}
	/* The same cache handed another transcript starts over. */
	pp_json_append(other, json("{\"role\":\"user\",\"content\":\"Another rollout.\"}"));
	req.messages = other;
	if (!bad)
		bad = same_body(ops, ctx, &req, w) ? 400 : 0;
out:
	if (ctx)
		ops->close(ctx);
	pp_wire_cache_free(w);
	pp_json_decref(script);
	pp_json_decref(tools);
	pp_json_decref(msgs);
	pp_json_decref(other);
	return bad;
}

ENV_TEST(providers_wire_cache_gives_the_bytes_of_a_whole_build)
{
	setenv("OPENAI_API_KEY", KEY, 1);
	setenv("ANTHROPIC_API_KEY", KEY, 1);
	setenv("GEMINI_API_KEY", KEY, 1);
	CHECK_INT_EQ(route_matches("openai/gpt-4.1", "openai_tool_calls.json"), 0);
	CHECK_INT_EQ(route_matches("openai/o3", "openai_reasoning.json"), 0);
	CHECK_INT_EQ(route_matches("anthropic/claude-sonnet-4-5", "anthropic_thinking.json"), 0);
	CHECK_INT_EQ(route_matches("anthropic/claude-sonnet-4-5", "anthropic_tool_use.json"), 0);
	CHECK_INT_EQ(route_matches("google/gemini-2.5-pro", "gemini_thought.json"), 0);
	CHECK_INT_EQ(route_matches("google/gemini-2.5-pro", "gemini_function_calls.json"), 0);
	CHECK_INT_EQ(route_matches("google/gemini-2.5-pro", "gemini_call_ids.json"), 0);
}

/* An allocation failing in the middle of a cached build leaves a cache
 * the next build can trust (or starts over): the bytes stay right. */
static int cache_survives_failures(const char *model)
{
	const struct pp_provider_ops *ops;
	struct pp_json *msgs = json(transcript_text), *tools = json(tools_text);
	struct pp_model_request req = { "", msgs, tools, 0.7, SEED, NULL, NULL };
	struct pp_wire_cache *w = NULL;
	struct pp_http_request out;
	struct pp_diag diag;
	unsigned long n;
	int bad = 0, rc;
	void *ctx = NULL;

	if (open_model(model, NULL, &ops, &ctx, &diag) || pp_wire_cache_new(&w))
		bad = 1;
	for (n = 1; !bad && n < 400; n++) {
		/* The transcript grows by one message between the attempts. */
		pp_json_append(msgs, json("{\"role\":\"user\",\"content\":\"More.\"}"));
		pp_http_request_init(&out);
		req.wire = w;
		pp_alloc_fail_after(n);
		rc = ops->build(ctx, &req, &out);
		pp_alloc_fail_after(0);
		pp_http_request_release(&out);
		bad = (rc && rc != PP_ENOMEM) || same_body(ops, ctx, &req, w);
	}
	if (ctx)
		ops->close(ctx);
	pp_wire_cache_free(w);
	pp_json_decref(msgs);
	pp_json_decref(tools);
	return bad;
}

ENV_TEST(providers_wire_cache_survives_allocation_failures)
{
	setenv("OPENAI_API_KEY", KEY, 1);
	setenv("ANTHROPIC_API_KEY", KEY, 1);
	setenv("GEMINI_API_KEY", KEY, 1);
	CHECK_INT_EQ(cache_survives_failures("openai/gpt-4.1"), 0);
	CHECK_INT_EQ(cache_survives_failures("anthropic/claude-sonnet-4-5"), 0);
	CHECK_INT_EQ(cache_survives_failures("google/gemini-2.5-pro"), 0);
}
