/*
 * anthropic.c - the Messages API wire format: anthropic/MODEL.
 *
 * Our transcript maps onto it this way: system messages become the
 * top-level "system"; an assistant turn becomes text and tool_use
 * blocks; tool results become tool_result blocks of the next user
 * message (consecutive results, and a user message right after them, are
 * merged into one message, since the format alternates user and
 * assistant). An assistant turn with nothing in it is left out: the
 * format rejects empty messages.
 *
 * Thinking blocks come back as the reply's "reasoning". Their signatures
 * (and redacted_thinking blocks) cannot live in our message shape, so a
 * reply with thinking also carries "replay": {"format": "anthropic",
 * "blocks": [the content exactly as received]}, and that turn is sent
 * back verbatim, as the format requires when thinking and tool use mix.
 *
 * With the rollout's wire cache (req->wire), the wire messages that can
 * no longer grow are serialised once (pp_wire_merged_body); the bytes
 * are those of the whole build.
 */
#include <stdio.h>
#include <string.h>

#include <peerpres/status.h>

#include "core/alloc.h"
#include "provider/provider_int.h"

#define ANTHROPIC_VERSION "2023-06-01"
#define DEFAULT_MAX_TOKENS 4096L

static const char *const anthropic_keys[] = { "ANTHROPIC_API_KEY", NULL };

/* The thinking budget for a reasoning effort; 0: thinking off. */
static long thinking_budget(const char *reasoning)
{
	if (!strcmp(reasoning, "low"))
		return 2048;
	if (!strcmp(reasoning, "medium"))
		return 8192;
	if (!strcmp(reasoning, "high"))
		return 16384;
	return 0;
}

static int anthropic_open(void **ctx, const char *model, const struct pp_provider_options *opt,
			  struct pp_diag *diag)
{
	const char *base = opt && opt->base_url ? opt->base_url : "https://api.anthropic.com";
	struct pp_http_provider *p = NULL;
	long budget;
	int rc = pp_http_provider_open(&p, "anthropic", model, opt, base, anthropic_keys, diag);

	if (!rc) {
		p->temperature_max = 1.0;
		budget = thinking_budget(p->reasoning);
		if (budget && p->max_tokens && p->max_tokens <= budget)
			rc = pp_diag_set(diag, PP_EUSAGE, NULL, 0, 0,
					 "anthropic: max tokens (%ld) must exceed the thinking budget "
					 "(%ld tokens for reasoning '%s')",
					 p->max_tokens, budget, p->reasoning);
	}
	if (rc) {
		pp_http_provider_close(p);
		p = NULL;
	}
	*ctx = p;
	return rc;
}

static int add_text(struct pp_json *blocks, const char *text)
{
	struct pp_json *b;

	/* The format rejects empty text blocks. */
	if (!text || !*text)
		return PP_OK;
	b = pp_json_object();
	if (!b || pp_json_set_str(b, "type", "text") || pp_json_set_str(b, "text", text)) {
		pp_json_decref(b);
		return PP_ENOMEM;
	}
	return pp_json_append(blocks, b);
}

static int add_tool_use(struct pp_json *blocks, const struct pp_json *call)
{
	const struct pp_json *args = pp_json_get(call, "arguments");
	struct pp_json *b = pp_json_object();
	int rc = b ? PP_OK : PP_ENOMEM;

	if (!rc)
		rc = pp_json_set_str(b, "type", "tool_use");
	if (!rc)
		rc = pp_json_set_str(b, "id", pp_json_get_str(call, "id", ""));
	if (!rc)
		rc = pp_json_set_str(b, "name", pp_json_get_str(call, "name", ""));
	if (!rc)
		rc = pp_json_set(b, "input", pp_json_is_object(args) ? pp_json_incref((struct pp_json *)args)
								     : pp_json_object());
	if (rc) {
		pp_json_decref(b);
		return rc;
	}
	return pp_json_append(blocks, b);
}

static struct pp_json *assistant_blocks(const struct pp_json *m)
{
	const struct pp_json *calls = pp_json_get(m, "tool_calls");
	const struct pp_json *replay = pp_replay_get(m, "anthropic");
	struct pp_json *blocks;
	size_t i;
	int rc;

	if (replay)
		return pp_json_deep_copy(replay);
	if (!(blocks = pp_json_array()))
		return NULL;
	rc = add_text(blocks, pp_json_get_str(m, "content", NULL));
	for (i = 0; !rc && i < pp_json_len(calls); i++)
		rc = add_tool_use(blocks, pp_json_at(calls, i));
	if (rc) {
		pp_json_decref(blocks);
		return NULL;
	}
	return blocks;
}

static struct pp_json *tool_result_blocks(const struct pp_json *m)
{
	struct pp_json *blocks = pp_json_array(), *b = pp_json_object();
	int rc = blocks && b ? PP_OK : PP_ENOMEM;

	if (!rc)
		rc = pp_json_set_str(b, "type", "tool_result");
	if (!rc)
		rc = pp_json_set_str(b, "tool_use_id", pp_json_get_str(m, "tool_call_id", ""));
	if (!rc)
		rc = pp_json_set_str(b, "content", pp_json_get_str(m, "content", ""));
	if (!rc) {
		rc = pp_json_append(blocks, b);
		b = NULL;
	}
	pp_json_decref(b);
	if (rc) {
		pp_json_decref(blocks);
		return NULL;
	}
	return blocks;
}

static int wire_message(const struct pp_json *m, struct pp_json *wire, struct pp_buf *system)
{
	const char *role = pp_json_get_str(m, "role", "");
	const char *content = pp_json_get_str(m, "content", "");
	struct pp_json *blocks;
	int rc;

	if (!strcmp(role, "system")) {
		rc = system->len ? pp_buf_adds(system, "\n\n") : PP_OK;
		return rc ? rc : pp_buf_adds(system, content);
	}
	if (!strcmp(role, "assistant"))
		return pp_wire_push(wire, "assistant", "content", assistant_blocks(m));
	if (!strcmp(role, "tool"))
		return pp_wire_push(wire, "user", "content", tool_result_blocks(m));
	if (strcmp(role, "user"))
		return PP_EINVAL;
	if (!(blocks = pp_json_array()))
		return PP_ENOMEM;
	if ((rc = add_text(blocks, content))) {
		pp_json_decref(blocks);
		return rc;
	}
	return pp_wire_push(wire, "user", "content", blocks);
}

static struct pp_json *wire_tools(const struct pp_json *tools)
{
	struct pp_json *out = pp_json_array(), *t;
	const struct pp_json *d;
	size_t i;
	int rc = out ? PP_OK : PP_ENOMEM;

	for (i = 0; !rc && i < pp_json_len(tools); i++) {
		d = pp_json_at(tools, i);
		t = pp_json_object();
		rc = t ? pp_json_set_str(t, "name", pp_json_get_str(d, "name", "")) : PP_ENOMEM;
		if (!rc)
			rc = pp_json_set_str(t, "description", pp_json_get_str(d, "description", ""));
		if (!rc)
			rc = pp_json_set(t, "input_schema", pp_json_incref(pp_json_get(d, "parameters")));
		if (!rc)
			rc = pp_json_append(out, t);
		else
			pp_json_decref(t);
	}
	if (rc) {
		pp_json_decref(out);
		return NULL;
	}
	return out;
}

/* Thinking excludes a temperature; its budget must fit in max_tokens. */
static int set_sampling(const struct pp_http_provider *p, const struct pp_model_request *req,
			struct pp_json *body)
{
	long budget = thinking_budget(p->reasoning);
	double t = req->temperature < 0 ? 0 : req->temperature;
	struct pp_json *th;
	int rc;

	if (!budget)
		return pp_json_set(body, "temperature",
				   pp_json_real(t > p->temperature_max ? p->temperature_max : t));
	th = pp_json_object();
	rc = th ? pp_json_set_str(th, "type", "enabled") : PP_ENOMEM;
	if (!rc)
		rc = pp_json_set(th, "budget_tokens", pp_json_integer(budget));
	if (rc) {
		pp_json_decref(th);
		return rc;
	}
	return pp_json_set(body, "thinking", th);
}

static long max_tokens(const struct pp_http_provider *p)
{
	long budget = thinking_budget(p->reasoning);

	if (p->max_tokens)
		return p->max_tokens;
	return budget ? budget + DEFAULT_MAX_TOKENS : DEFAULT_MAX_TOKENS;
}

static int build_body(const struct pp_http_provider *p, const struct pp_model_request *req,
		      struct pp_json *body)
{
	struct pp_json *wire = pp_json_array();
	struct pp_buf system = PP_BUF_INIT;
	size_t i;
	int rc = wire ? PP_OK : PP_ENOMEM;

	for (i = 0; !rc && i < pp_json_len(req->messages); i++)
		rc = wire_message(pp_json_at(req->messages, i), wire, &system);
	if (!rc)
		rc = pp_json_set_str(body, "model", p->model);
	if (!rc)
		rc = pp_json_set(body, "max_tokens", pp_json_integer(max_tokens(p)));
	if (!rc && system.len)
		rc = pp_json_set(body, "system", pp_json_stringn(system.buf, system.len));
	if (!rc) {
		rc = pp_json_set(body, "messages", wire);
		wire = NULL;
	}
	if (!rc && pp_json_len(req->tools))
		rc = pp_json_set(body, "tools", wire_tools(req->tools));
	if (!rc)
		rc = set_sampling(p, req, body);
	pp_json_decref(wire);
	pp_buf_release(&system);
	return rc;
}

/* ---- the body from the rollout's wire cache (pp_wire_merged_body) ---- */

/* The fields before the messages: model, max_tokens, system. */
static int merged_head(const void *ctx, const struct pp_buf *system, struct pp_json *head)
{
	const struct pp_http_provider *p = ctx;
	int rc = pp_json_set_str(head, "model", p->model);

	if (!rc)
		rc = pp_json_set(head, "max_tokens", pp_json_integer(max_tokens(p)));
	if (!rc && system->len)
		rc = pp_json_set(head, "system", pp_json_stringn(system->buf, system->len));
	return rc;
}

static int merged_push(const void *ctx, const struct pp_model_request *req, size_t i,
		       struct pp_json *wire, const struct pp_json **state)
{
	struct pp_buf ignored = PP_BUF_INIT;   /* the system text is the head's */
	int rc = wire_message(pp_json_at(req->messages, i), wire, &ignored);

	(void)ctx;
	(void)state;
	pp_buf_release(&ignored);
	return rc;
}

/* "tools" then the sampling fields, as build_body orders them. */
static int merged_tail(const void *ctx, const struct pp_model_request *req, struct pp_json *rest)
{
	int rc = PP_OK;

	if (pp_json_len(req->tools))
		rc = pp_json_set(rest, "tools", wire_tools(req->tools));
	return rc ? rc : set_sampling(ctx, req, rest);
}

static const struct pp_wire_merged merged = {
	"messages", NULL, merged_head, merged_push, merged_tail
};

static int anthropic_build(void *ctx, const struct pp_model_request *req,
			   struct pp_http_request *out)
{
	const struct pp_http_provider *p = ctx;
	struct pp_json *body = pp_json_object();
	int rc = body ? PP_OK : PP_ENOMEM;

	snprintf(out->method, sizeof(out->method), "POST");
	if (!rc)
		rc = pp_http_set_url(out, "%s/v1/messages", p->base_url);
	if (!rc && req->wire) {
		pp_buf_reset(&out->body);
		rc = pp_wire_merged_body(&merged, p, req, req->wire, &out->body);
	} else if (!rc) {
		rc = build_body(p, req, body);
		if (!rc)
			rc = pp_http_set_body(out, body);
	}
	if (!rc)
		rc = pp_http_add_header(out, "Content-Type", "application/json");
	if (!rc)
		rc = pp_http_add_header(out, "anthropic-version", ANTHROPIC_VERSION);
	if (!rc && p->key[0])
		rc = pp_http_add_header(out, "x-api-key", p->key);
	pp_json_decref(body);
	return rc;
}

static int add_para(struct pp_buf *b, const char *text)
{
	int rc = b->len ? pp_buf_addc(b, '\n') : PP_OK;

	return rc ? rc : pp_buf_adds(b, text);
}

struct reading {
	struct pp_buf content, reasoning;
	struct pp_json *calls;
	bool thinking;                /* a block the format wants back verbatim */
};

static int read_tool_use(const struct pp_json *b, size_t i, const char *body, size_t len,
			 struct pp_json *calls)
{
	const struct pp_json *input = pp_json_get(b, "input");
	const char *id = pp_json_get_str(b, "id", "");
	struct pp_buf text = PP_BUF_INIT;
	struct pp_json *args = NULL;
	bool bad = false;
	char gen[64];
	int rc = PP_OK;

	if (pp_json_is_object(input))
		args = pp_json_deep_copy(input);
	else if (pp_json_is_null(input))
		args = pp_json_object();
	else if (!(rc = pp_json_dump(input, PP_JSON_COMPACT, &text)))
		rc = pp_call_args_parse(text.buf, text.len, &args, &bad);
	pp_buf_release(&text);
	if (!*id) {
		pp_call_id(gen, sizeof(gen), body, len, i);
		id = gen;
	}
	if (rc) {
		pp_json_decref(args);
		return rc;
	}
	return pp_call_append(calls, id, pp_json_get_str(b, "name", ""), args, bad);
}

static int read_block(struct reading *r, const struct pp_http_provider *p,
		      struct pp_model_reply *reply, const struct pp_json *b, size_t i,
		      const char *body, size_t len)
{
	const char *type = pp_json_get_str(b, "type", "");

	if (!strcmp(type, "text"))
		return add_para(&r->content, pp_json_get_str(b, "text", ""));
	if (!strcmp(type, "thinking")) {
		r->thinking = true;
		return add_para(&r->reasoning, pp_json_get_str(b, "thinking", ""));
	}
	if (!strcmp(type, "redacted_thinking")) {
		r->thinking = true;
		return PP_OK;
	}
	if (!strcmp(type, "tool_use") && !pp_json_get_str(b, "name", NULL))
		return pp_reply_malformed(reply, p->name, "tool_use block %zu has no name", i);
	if (!strcmp(type, "tool_use"))
		return read_tool_use(b, i, body, len, r->calls);
	return PP_OK;
}

static void read_usage(const struct pp_json *u, struct pp_model_reply *reply)
{
	static const char *const inputs[] = {
		"input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"
	};
	long long n;
	long in = 0;
	size_t i;

	/* Tokens read from or written to the prompt cache are input too. */
	for (i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++)
		if (pp_json_int(pp_json_get(u, inputs[i]), &n) && n > 0)
			in += (long)n;
	reply->input_tokens = in;
	/* Cache reads are billed at the cache-hit price; cache writes (which
	 * peerpres never asks for) stay at the input price here. */
	reply->cached_tokens = pp_json_int(pp_json_get(u, "cache_read_input_tokens"), &n) &&
			       n > 0 ? (long)n : 0;
	reply->output_tokens = pp_json_int(pp_json_get(u, "output_tokens"), &n) && n > 0 ? (long)n : 0;
	/* Thinking tokens are billed as output; the format does not count
	 * them apart. */
	reply->reasoning_tokens = 0;
}

static int anthropic_parse(void *ctx, long status, const char *body, size_t len,
			   struct pp_model_reply *reply)
{
	const struct pp_http_provider *p = ctx;
	struct reading r = { PP_BUF_INIT, PP_BUF_INIT, NULL, false };
	struct pp_json *v = NULL, *replay = NULL;
	const struct pp_json *content;
	size_t i;
	int rc;

	if ((rc = pp_reply_begin(reply, p->name, status, body, len, &v)))
		return rc;
	content = pp_json_get(v, "content");
	if (!pp_json_is_array(content)) {
		rc = pp_reply_malformed(reply, p->name, "no content array");
		goto out;
	}
	if (!(r.calls = pp_json_array()))
		rc = PP_ENOMEM;
	for (i = 0; !rc && i < pp_json_len(content); i++)
		rc = read_block(&r, p, reply, pp_json_at(content, i), i, body, len);
	if (!rc && r.thinking && !(replay = pp_replay_new("anthropic", pp_json_deep_copy(content))))
		rc = PP_ENOMEM;
	if (rc)
		goto out;
	read_usage(pp_json_get(v, "usage"), reply);
	rc = pp_reply_set_message(reply, r.content.buf, r.reasoning.buf, r.calls, replay);
	r.calls = NULL;
out:
	pp_json_decref(r.calls);
	pp_json_decref(v);
	pp_buf_release(&r.content);
	pp_buf_release(&r.reasoning);
	return rc;
}

const struct pp_provider_ops pp_provider_anthropic = {
	"anthropic", anthropic_open, pp_http_provider_close, NULL, anthropic_build, anthropic_parse
};
