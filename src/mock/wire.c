/*
 * wire.c - the mock server's three wire formats: how many assistant turns
 * a request holds, and reply and error bodies shaped as each provider
 * documents them (tool calls as OpenAI tool_calls with JSON-string
 * arguments, Anthropic tool_use blocks, Gemini functionCall parts).
 */
#include <stdio.h>
#include <string.h>

#include <peerpres/status.h>

#include "mock/mock_int.h"

size_t mock_wire_turns(enum mock_format f, const struct pp_json *body)
{
	const struct pp_json *msgs = pp_json_get(body, f == MOCK_GEMINI ? "contents" : "messages");
	const char *mine = f == MOCK_GEMINI ? "model" : "assistant";
	size_t i, n = 0;

	for (i = 0; i < pp_json_len(msgs); i++)
		if (!strcmp(pp_json_get_str(pp_json_at(msgs, i), "role", ""), mine))
			n++;
	return n;
}

/* Builds a JSON value from a compact description: the helpers below keep
 * each format's function short by failing once at the end. */
static struct pp_json *set(struct pp_json *obj, const char *key, struct pp_json *v, int *rc)
{
	if (!*rc && obj)
		*rc = pp_json_set(obj, key, v);
	else
		pp_json_decref(v);
	if (!obj && !*rc)
		*rc = PP_ENOMEM;
	return obj;
}

static void add(struct pp_json *arr, struct pp_json *v, int *rc)
{
	if (!*rc && arr)
		*rc = pp_json_append(arr, v);
	else
		pp_json_decref(v);
	if (!arr && !*rc)
		*rc = PP_ENOMEM;
}

static const char *text_of(const struct pp_json *msg)
{
	const char *t = pp_json_get_str(msg, "content", NULL);

	return t && *t ? t : NULL;
}

static struct pp_json *openai_reply(const char *model, const struct pp_json *msg, long in,
				    long out, int *rc)
{
	const struct pp_json *calls = pp_json_get(msg, "tool_calls");
	struct pp_json *root = pp_json_object(), *choice = pp_json_object();
	struct pp_json *m = pp_json_object(), *tcs = pp_json_array(), *usage = pp_json_object();
	struct pp_buf args = PP_BUF_INIT;
	size_t i;

	set(root, "id", pp_json_string("chatcmpl-mock"), rc);
	set(root, "object", pp_json_string("chat.completion"), rc);
	set(root, "created", pp_json_integer(0), rc);
	set(root, "model", pp_json_string(model), rc);
	set(m, "role", pp_json_string("assistant"), rc);
	set(m, "content", text_of(msg) ? pp_json_string(text_of(msg)) : pp_json_null(), rc);
	for (i = 0; !*rc && i < pp_json_len(calls); i++) {
		const struct pp_json *c = pp_json_at(calls, i);
		struct pp_json *tc = pp_json_object(), *fn = pp_json_object();

		pp_buf_reset(&args);
		if (!*rc)
			*rc = pp_json_dump(pp_json_get(c, "arguments"), PP_JSON_COMPACT, &args);
		set(fn, "name", pp_json_string(pp_json_get_str(c, "name", "")), rc);
		set(fn, "arguments", pp_json_string(args.buf), rc);
		set(tc, "id", pp_json_string(pp_json_get_str(c, "id", "")), rc);
		set(tc, "type", pp_json_string("function"), rc);
		set(tc, "function", fn, rc);
		add(tcs, tc, rc);
	}
	pp_buf_release(&args);
	if (pp_json_len(tcs))
		set(m, "tool_calls", pp_json_incref(tcs), rc);
	pp_json_decref(tcs);
	set(choice, "index", pp_json_integer(0), rc);
	set(choice, "message", m, rc);
	set(choice, "logprobs", pp_json_null(), rc);
	set(choice, "finish_reason", pp_json_string(pp_json_len(calls) ? "tool_calls" : "stop"), rc);
	set(root, "choices", pp_json_array(), rc);
	add(pp_json_get(root, "choices"), choice, rc);
	set(usage, "prompt_tokens", pp_json_integer(in), rc);
	set(usage, "completion_tokens", pp_json_integer(out), rc);
	set(usage, "total_tokens", pp_json_integer(in + out), rc);
	set(root, "usage", usage, rc);
	return root;
}

static struct pp_json *anthropic_reply(const char *model, const struct pp_json *msg, long in,
				       long out, int *rc)
{
	const struct pp_json *calls = pp_json_get(msg, "tool_calls");
	struct pp_json *root = pp_json_object(), *content = pp_json_array();
	struct pp_json *usage = pp_json_object();
	char id[160];
	size_t i;

	set(root, "id", pp_json_string("msg_mock"), rc);
	set(root, "type", pp_json_string("message"), rc);
	set(root, "role", pp_json_string("assistant"), rc);
	set(root, "model", pp_json_string(model), rc);
	if (text_of(msg)) {
		struct pp_json *t = pp_json_object();

		set(t, "type", pp_json_string("text"), rc);
		set(t, "text", pp_json_string(text_of(msg)), rc);
		add(content, t, rc);
	}
	for (i = 0; !*rc && i < pp_json_len(calls); i++) {
		const struct pp_json *c = pp_json_at(calls, i);
		const struct pp_json *a = pp_json_get(c, "arguments");
		struct pp_json *b = pp_json_object();

		snprintf(id, sizeof(id), "toolu_%s", pp_json_get_str(c, "id", ""));
		set(b, "type", pp_json_string("tool_use"), rc);
		set(b, "id", pp_json_string(id), rc);
		set(b, "name", pp_json_string(pp_json_get_str(c, "name", "")), rc);
		set(b, "input", a ? pp_json_deep_copy(a) : pp_json_object(), rc);
		add(content, b, rc);
	}
	set(root, "content", content, rc);
	set(root, "stop_reason", pp_json_string(pp_json_len(calls) ? "tool_use" : "end_turn"), rc);
	set(root, "stop_sequence", pp_json_null(), rc);
	set(usage, "input_tokens", pp_json_integer(in), rc);
	set(usage, "output_tokens", pp_json_integer(out), rc);
	set(root, "usage", usage, rc);
	return root;
}

static struct pp_json *gemini_reply(const char *model, const struct pp_json *msg, long in,
				    long out, int *rc)
{
	const struct pp_json *calls = pp_json_get(msg, "tool_calls");
	struct pp_json *root = pp_json_object(), *cand = pp_json_object();
	struct pp_json *content = pp_json_object(), *parts = pp_json_array();
	struct pp_json *usage = pp_json_object();
	size_t i;

	if (text_of(msg)) {
		struct pp_json *t = pp_json_object();

		set(t, "text", pp_json_string(text_of(msg)), rc);
		add(parts, t, rc);
	}
	for (i = 0; !*rc && i < pp_json_len(calls); i++) {
		const struct pp_json *c = pp_json_at(calls, i);
		const struct pp_json *a = pp_json_get(c, "arguments");
		struct pp_json *p = pp_json_object(), *fc = pp_json_object();

		set(fc, "name", pp_json_string(pp_json_get_str(c, "name", "")), rc);
		set(fc, "args", a ? pp_json_deep_copy(a) : pp_json_object(), rc);
		set(p, "functionCall", fc, rc);
		add(parts, p, rc);
	}
	set(content, "role", pp_json_string("model"), rc);
	set(content, "parts", parts, rc);
	set(cand, "content", content, rc);
	set(cand, "finishReason", pp_json_string("STOP"), rc);
	set(cand, "index", pp_json_integer(0), rc);
	set(root, "candidates", pp_json_array(), rc);
	add(pp_json_get(root, "candidates"), cand, rc);
	set(usage, "promptTokenCount", pp_json_integer(in), rc);
	set(usage, "candidatesTokenCount", pp_json_integer(out), rc);
	set(usage, "totalTokenCount", pp_json_integer(in + out), rc);
	set(root, "usageMetadata", usage, rc);
	set(root, "modelVersion", pp_json_string(model), rc);
	return root;
}

int mock_wire_reply(enum mock_format f, const char *model, const struct pp_json *msg,
		    long input_tokens, long output_tokens, struct pp_buf *out)
{
	struct pp_json *root;
	int rc = PP_OK;

	if (f == MOCK_OPENAI)
		root = openai_reply(model, msg, input_tokens, output_tokens, &rc);
	else if (f == MOCK_ANTHROPIC)
		root = anthropic_reply(model, msg, input_tokens, output_tokens, &rc);
	else
		root = gemini_reply(model, msg, input_tokens, output_tokens, &rc);
	if (!rc)
		rc = pp_json_dump(root, PP_JSON_COMPACT, out);
	pp_json_decref(root);
	return rc;
}

const char *mock_reason(int status)
{
	static const struct { int status; const char *text; } reasons[] = {
		{ 200, "OK" }, { 400, "Bad Request" }, { 401, "Unauthorized" },
		{ 403, "Forbidden" }, { 404, "Not Found" }, { 405, "Method Not Allowed" },
		{ 408, "Request Timeout" }, { 411, "Length Required" },
		{ 413, "Content Too Large" }, { 429, "Too Many Requests" },
		{ 431, "Request Header Fields Too Large" }, { 500, "Internal Server Error" },
		{ 502, "Bad Gateway" }, { 503, "Service Unavailable" },
		{ 504, "Gateway Timeout" }, { 529, "Overloaded" },
	};
	size_t i;

	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].status == status)
			return reasons[i].text;
	return status < 500 ? "Client Error" : "Server Error";
}

/* The provider's name for an error class. */
static const char *error_type(enum mock_format f, int status)
{
	static const struct { int status; const char *names[3]; } types[] = {
		{ 400, { "invalid_request_error", "invalid_request_error", "INVALID_ARGUMENT" } },
		{ 401, { "invalid_request_error", "authentication_error", "UNAUTHENTICATED" } },
		{ 403, { "invalid_request_error", "permission_error", "PERMISSION_DENIED" } },
		{ 404, { "invalid_request_error", "not_found_error", "NOT_FOUND" } },
		{ 413, { "invalid_request_error", "request_too_large", "INVALID_ARGUMENT" } },
		{ 429, { "rate_limit_exceeded", "rate_limit_error", "RESOURCE_EXHAUSTED" } },
		{ 503, { "server_error", "overloaded_error", "UNAVAILABLE" } },
		{ 504, { "server_error", "api_error", "DEADLINE_EXCEEDED" } },
		{ 529, { "server_error", "overloaded_error", "UNAVAILABLE" } },
	};
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (types[i].status == status)
			return types[i].names[f];
	if (status >= 500)
		return f == MOCK_OPENAI ? "server_error" : f == MOCK_ANTHROPIC ? "api_error" : "INTERNAL";
	return f == MOCK_GEMINI ? "FAILED_PRECONDITION" : "invalid_request_error";
}

int mock_wire_error(enum mock_format f, int status, const char *message, struct pp_buf *out)
{
	struct pp_json *root = pp_json_object(), *err = pp_json_object();
	int rc = PP_OK;

	if (f == MOCK_OPENAI) {
		set(err, "message", pp_json_string(message), &rc);
		set(err, "type", pp_json_string(error_type(f, status)), &rc);
		set(err, "param", pp_json_null(), &rc);
		set(err, "code", pp_json_null(), &rc);
	} else if (f == MOCK_ANTHROPIC) {
		set(root, "type", pp_json_string("error"), &rc);
		set(err, "type", pp_json_string(error_type(f, status)), &rc);
		set(err, "message", pp_json_string(message), &rc);
	} else {
		set(err, "code", pp_json_integer(status), &rc);
		set(err, "message", pp_json_string(message), &rc);
		set(err, "status", pp_json_string(error_type(f, status)), &rc);
	}
	set(root, "error", err, &rc);
	if (!rc)
		rc = pp_json_dump(root, PP_JSON_COMPACT, out);
	pp_json_decref(root);
	return rc;
}
