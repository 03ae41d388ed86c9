/*
 * openai.c - the Chat Completions wire format, behind three providers:
 * openai/MODEL (api.openai.com), together/MODEL (api.together.xyz) and
 * openai-compat/MODEL (any server speaking the format at a base URL:
 * LiteLLM, vLLM, Ollama, OpenRouter, ...).
 *
 * Requests are pure functions of the transcript and the settings, so the
 * same request always has the same bytes (the response cache relies on
 * it; with the rollout's wire cache each message is serialised once, and
 * the bytes are the same). Tool-call arguments travel as JSON text; arguments the model wrote
 * that are not a JSON object are kept as {"_raw": text}, flagged, and
 * sent back exactly as they came. Reasoning text the server returns
 * (reasoning_content, reasoning) is kept in the reply but never sent
 * back: servers that return it reject it in input.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <peerpres/status.h>

#include "core/alloc.h"
#include "provider/provider_int.h"

static const char *const openai_keys[] = { "OPENAI_API_KEY", NULL };
static const char *const together_keys[] = { "TOGETHER_API_KEY", NULL };

/* Hosted endpoints whose users already keep a key under its own name. */
static const struct {
	const char *host, *var;
} host_keys[] = {
	{ "openrouter.ai", "OPENROUTER_API_KEY" },
	{ "api.together.xyz", "TOGETHER_API_KEY" },
};

static int open_with(void **ctx, const char *name, const char *model,
		     const struct pp_provider_options *opt, const char *base,
		     const char *const *keys, struct pp_diag *diag)
{
	struct pp_http_provider *p = NULL;
	int rc = pp_http_provider_open(&p, name, model, opt, base, keys, diag);

	*ctx = p;
	return rc;
}

static int openai_open(void **ctx, const char *model, const struct pp_provider_options *opt,
		       struct pp_diag *diag)
{
	const char *base = opt && opt->base_url ? opt->base_url : "https://api.openai.com/v1";

	return open_with(ctx, "openai", model, opt, base, openai_keys, diag);
}

static int together_open(void **ctx, const char *model, const struct pp_provider_options *opt,
			 struct pp_diag *diag)
{
	const char *base = opt && opt->base_url ? opt->base_url : "https://api.together.xyz/v1";

	return open_with(ctx, "together", model, opt, base, together_keys, diag);
}

static bool same_url(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);

	while (na && a[na - 1] == '/')
		na--;
	while (nb && b[nb - 1] == '/')
		nb--;
	return na == nb && !strncmp(a, b, na);
}

/* The host part of a URL is `host`. */
static bool url_host_is(const char *url, const char *host)
{
	const char *h = strstr(url, "://");
	size_t n;

	if (!h)
		return false;
	h += 3;
	n = strcspn(h, ":/?#");
	return n == strlen(host) && !strncmp(h, host, n);
}

/* The variables a compatible endpoint's key may be in, most specific
 * first; vars has room for 4. */
static void compat_key_vars(const char *base, bool is_litellm, const char **vars)
{
	size_t i, n = 0;

	if (is_litellm)
		vars[n++] = "LITELLM_API_KEY";
	for (i = 0; !n && i < sizeof(host_keys) / sizeof(host_keys[0]); i++)
		if (url_host_is(base, host_keys[i].host))
			vars[n++] = host_keys[i].var;
	vars[n++] = "OPENAI_COMPAT_API_KEY";
	vars[n++] = "OPENAI_API_KEY";
	vars[n] = NULL;
}

/* A LiteLLM gateway is named by LITELLM_BASE_URL and opened with
 * LITELLM_API_KEY, the variables its users already have. */
static int compat_open(void **ctx, const char *model, const struct pp_provider_options *opt,
		       struct pp_diag *diag)
{
	const char *base = opt ? opt->base_url : NULL;
	const char *vars[4];
	char litellm[512];
	bool is_litellm = false;

	*ctx = NULL;
	if (!pp_env_get("LITELLM_BASE_URL", opt ? opt->env_file : NULL, litellm, sizeof(litellm)))
		is_litellm = !base || same_url(base, litellm);
	if (!base && is_litellm)
		base = litellm;
	if (!base)
		return pp_diag_set(diag, PP_EUSAGE, NULL, 0, 0,
				   "openai-compat: no base URL: pass --base-url (for example "
				   "http://localhost:8000/v1) or set LITELLM_BASE_URL");
	compat_key_vars(base, is_litellm, vars);
	return open_with(ctx, "openai-compat", model, opt, base, vars, diag);
}

/* o1, o3, o4-mini, gpt-5...: also behind a router prefix ("openai/o3"). */
static bool is_reasoning_model(const char *model)
{
	const char *s = strrchr(model, '/');

	s = s ? s + 1 : model;
	return (s[0] == 'o' && isdigit((unsigned char)s[1])) || !strncmp(s, "gpt-5", 5);
}

static struct pp_json *wire_call(const struct pp_json *call)
{
	struct pp_json *c = pp_json_object(), *fn = pp_json_object();
	struct pp_buf args = PP_BUF_INIT;
	int rc = c && fn ? PP_OK : PP_ENOMEM;

	if (!rc)
		rc = pp_call_args_text(call, &args);
	if (!rc)
		rc = pp_json_set_str(fn, "name", pp_json_get_str(call, "name", ""));
	if (!rc)
		rc = pp_json_set(fn, "arguments", pp_json_stringn(args.buf, args.len));
	if (!rc)
		rc = pp_json_set_str(c, "id", pp_json_get_str(call, "id", ""));
	if (!rc)
		rc = pp_json_set_str(c, "type", "function");
	if (!rc) {
		rc = pp_json_set(c, "function", fn);
		fn = NULL;
	}
	pp_buf_release(&args);
	pp_json_decref(fn);
	if (rc) {
		pp_json_decref(c);
		return NULL;
	}
	return c;
}

static int wire_assistant(const struct pp_json *m, struct pp_json *w)
{
	const struct pp_json *calls = pp_json_get(m, "tool_calls");
	const char *content = pp_json_get_str(m, "content", "");
	size_t i, n = pp_json_len(calls);
	struct pp_json *tc;
	int rc;

	/* content may be null only beside tool calls. */
	rc = pp_json_set(w, "content", *content || !n ? pp_json_string(content) : pp_json_null());
	if (rc || !n)
		return rc;
	tc = pp_json_array();
	for (i = 0; tc && !rc && i < n; i++)
		rc = pp_json_append(tc, wire_call(pp_json_at(calls, i)));
	if (rc) {
		pp_json_decref(tc);
		return rc;
	}
	return pp_json_set(w, "tool_calls", tc);
}

static int wire_message(const struct pp_json *m, struct pp_json *wire)
{
	const char *role = pp_json_get_str(m, "role", "");
	struct pp_json *w;
	int rc;

	if (strcmp(role, "system") && strcmp(role, "user") && strcmp(role, "assistant") &&
	    strcmp(role, "tool"))
		return PP_EINVAL;
	if (!(w = pp_json_object()))
		return PP_ENOMEM;
	rc = pp_json_set_str(w, "role", role);
	if (!rc && !strcmp(role, "assistant"))
		rc = wire_assistant(m, w);
	else if (!rc && !strcmp(role, "tool"))
		rc = pp_json_set_str(w, "tool_call_id", pp_json_get_str(m, "tool_call_id", ""));
	if (!rc && strcmp(role, "assistant"))
		rc = pp_json_set_str(w, "content", pp_json_get_str(m, "content", ""));
	if (rc) {
		pp_json_decref(w);
		return rc;
	}
	return pp_json_append(wire, w);
}

static int wire_messages(const struct pp_json *messages, struct pp_json **out)
{
	struct pp_json *wire = pp_json_array();
	size_t i;
	int rc = wire ? PP_OK : PP_ENOMEM;

	for (i = 0; !rc && i < pp_json_len(messages); i++)
		rc = wire_message(pp_json_at(messages, i), wire);
	if (rc) {
		pp_json_decref(wire);
		return rc;
	}
	*out = wire;
	return PP_OK;
}

/* Our declarations {name, description, parameters} are the format's
 * function objects already. */
static struct pp_json *wire_tools(const struct pp_json *tools)
{
	struct pp_json *out = pp_json_array(), *t;
	size_t i;
	int rc = out ? PP_OK : PP_ENOMEM;

	for (i = 0; !rc && i < pp_json_len(tools); i++) {
		t = pp_json_object();
		rc = t ? pp_json_set_str(t, "type", "function") : PP_ENOMEM;
		if (!rc)
			rc = pp_json_set(t, "function", pp_json_incref(pp_json_at(tools, i)));
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

/* Reasoning models take max_completion_tokens and reasoning_effort and
 * refuse a temperature. */
static int set_sampling(const struct pp_http_provider *p, const struct pp_model_request *req,
			struct pp_json *body)
{
	bool reasoning = is_reasoning_model(p->model) || p->reasoning[0];
	double t = req->temperature < 0 ? 0 : req->temperature;
	int rc = PP_OK;

	if (reasoning) {
		if (p->max_tokens)
			rc = pp_json_set(body, "max_completion_tokens", pp_json_integer(p->max_tokens));
		if (!rc && p->reasoning[0])
			rc = pp_json_set_str(body, "reasoning_effort", p->reasoning);
	} else {
		rc = pp_json_set(body, "temperature",
				 pp_json_real(t > p->temperature_max ? p->temperature_max : t));
		if (!rc && p->max_tokens)
			rc = pp_json_set(body, "max_tokens", pp_json_integer(p->max_tokens));
	}
	if (!rc)
		rc = pp_json_set(body, "seed", pp_json_integer((long long)(req->seed & 0x7fffffff)));
	return rc;
}

static int add_auth(struct pp_http_request *out, const char *key)
{
	struct pp_buf v = PP_BUF_INIT;
	int rc = pp_buf_addf(&v, "Bearer %s", key);

	if (!rc)
		rc = pp_http_add_header(out, "Authorization", v.buf);
	explicit_bzero(v.buf, v.len);
	pp_buf_release(&v);
	return rc;
}

/* The body in one go: {"model", "messages", "tools", sampling, "seed"}. */
static int whole_body(const struct pp_http_provider *p, const struct pp_model_request *req,
		      struct pp_buf *out)
{
	struct pp_json *body = pp_json_object(), *msgs = NULL;
	int rc = body ? PP_OK : PP_ENOMEM;

	if (!rc)
		rc = pp_json_set_str(body, "model", p->model);
	if (!rc && !(rc = wire_messages(req->messages, &msgs)))
		rc = pp_json_set(body, "messages", msgs);
	if (!rc && pp_json_len(req->tools))
		rc = pp_json_set(body, "tools", wire_tools(req->tools));
	if (!rc)
		rc = set_sampling(p, req, body);
	if (!rc)
		rc = pp_json_dump(body, PP_JSON_COMPACT, out);
	pp_json_decref(body);
	return rc;
}

/* The cache's owner tag: the format, whichever of the three providers. */
static const char openai_format = 'o';

/* Brings w up to the whole transcript: {"model":..,"messages":[m0,..,mn-1
 * with each wire message serialised once. */
static int cached_messages(const struct pp_http_provider *p, const struct pp_model_request *req,
			   struct pp_wire_cache *w)
{
	size_t i, n = pp_json_len(req->messages);
	int rc = PP_OK;

	if (!pp_wire_cache_fits(w, &openai_format, p, req)) {
		struct pp_json *model = pp_json_string(p->model);

		rc = model ? pp_buf_adds(&w->text, "{\"model\":") : PP_ENOMEM;
		if (!rc)
			rc = pp_json_dump(model, PP_JSON_COMPACT, &w->text);
		if (!rc)
			rc = pp_buf_adds(&w->text, ",\"messages\":[");
		pp_json_decref(model);
	}
	for (i = w->n; !rc && i < n; i++) {
		struct pp_json *one = pp_json_array();

		rc = one ? wire_message(pp_json_at(req->messages, i), one) : PP_ENOMEM;
		if (!rc && i)
			rc = pp_buf_addc(&w->text, ',');
		if (!rc)
			rc = pp_json_dump(pp_json_at(one, 0), PP_JSON_COMPACT, &w->text);
		pp_json_decref(one);
		if (!rc)
			w->n = i + 1;
	}
	if (rc)
		w->owner = NULL;   /* half-written: the next request starts over */
	return rc;
}

/* The wire text of the declarations `tools`, from p's when it holds
 * them: a config's rollouts share theirs, so each config's are written
 * once, not once per rollout. NULL when out of memory. */
static const struct pp_buf *shared_tools(struct pp_http_provider *p, const struct pp_json *tools)
{
	struct pp_json *t;
	unsigned i;
	int rc;

	for (i = 0; i < PP_WIRE_TOOLS_KEPT; i++)
		if (p->tools[i].of == tools && p->tools[i].n == pp_json_len(tools))
			return &p->tools[i].text;
	i = p->tools_next++ % PP_WIRE_TOOLS_KEPT;
	pp_json_decref(p->tools[i].of);
	p->tools[i].of = NULL;
	pp_buf_reset(&p->tools[i].text);
	if (!(t = wire_tools(tools)))
		return NULL;
	rc = pp_json_dump(t, PP_JSON_COMPACT, &p->tools[i].text);
	pp_json_decref(t);
	if (rc)
		return NULL;
	p->tools[i].of = pp_json_incref((struct pp_json *)tools);
	p->tools[i].n = pp_json_len(tools);
	return &p->tools[i].text;
}

/* The body from the cache: the messages' text, the tools' (serialised
 * once per rollout) and the sampling fields, in whole_body's order. */
static int cached_body(struct pp_http_provider *p, const struct pp_model_request *req,
		       struct pp_wire_cache *w, struct pp_buf *out)
{
	struct pp_json *rest = pp_json_object();
	struct pp_buf tail = PP_BUF_INIT;
	size_t n_tools = pp_json_len(req->tools);
	int rc = rest ? cached_messages(p, req, w) : PP_ENOMEM;

	if (!rc && n_tools && (w->tools != req->tools || w->n_tools != n_tools)) {
		const struct pp_buf *t = shared_tools(p, req->tools);

		pp_buf_reset(&w->tools_text);
		w->tools = NULL;
		rc = t ? pp_buf_add(&w->tools_text, t->buf, t->len) : PP_ENOMEM;
		if (!rc) {
			w->tools = req->tools;
			w->n_tools = n_tools;
		}
	}
	if (!rc)
		rc = set_sampling(p, req, rest);
	if (!rc)
		rc = pp_json_dump(rest, PP_JSON_COMPACT, &tail);
	if (!rc)
		rc = pp_buf_add(out, w->text.buf, w->text.len);
	if (!rc)
		rc = pp_buf_addc(out, ']');
	if (!rc && n_tools && !(rc = pp_buf_adds(out, ",\"tools\":")))
		rc = pp_buf_add(out, w->tools_text.buf, w->tools_text.len);
	/* tail is {...}: its members follow the tools. */
	if (!rc && tail.len > 2)
		rc = pp_buf_addc(out, ',');
	if (!rc)
		rc = tail.len > 2 ? pp_buf_add(out, tail.buf + 1, tail.len - 1) : pp_buf_addc(out, '}');
	pp_buf_release(&tail);
	pp_json_decref(rest);
	return rc;
}

static int openai_build(void *ctx, const struct pp_model_request *req,
			struct pp_http_request *out)
{
	struct pp_http_provider *p = ctx;
	int rc;

	snprintf(out->method, sizeof(out->method), "POST");
	rc = pp_http_set_url(out, "%s/chat/completions", p->base_url);
	pp_buf_reset(&out->body);
	if (!rc)
		rc = req->wire ? cached_body(p, req, req->wire, &out->body) :
				 whole_body(p, req, &out->body);
	if (!rc)
		rc = pp_http_add_header(out, "Content-Type", "application/json");
	if (!rc && p->key[0])
		rc = add_auth(out, p->key);
	return rc;
}

/* content is a string, null, or (some servers) an array of text parts; a
 * refusal stands in for an empty content. */
static int message_text(const struct pp_json *msg, struct pp_buf *b)
{
	const struct pp_json *c = pp_json_get(msg, "content");
	size_t i;
	int rc = PP_OK;

	if (pp_json_is_string(c))
		rc = pp_buf_add(b, pp_json_str(c), pp_json_len(c));
	for (i = 0; !rc && pp_json_is_array(c) && i < pp_json_len(c); i++)
		rc = pp_buf_adds(b, pp_json_get_str(pp_json_at(c, i), "text", ""));
	if (!rc && !b->len)
		rc = pp_buf_adds(b, pp_json_get_str(msg, "refusal", ""));
	return rc;
}

static int read_call(const struct pp_http_provider *p, struct pp_model_reply *reply,
		     const struct pp_json *tc, size_t i, const char *body, size_t len,
		     struct pp_json *calls)
{
	const struct pp_json *fn = pp_json_get(tc, "function");
	const struct pp_json *a = pp_json_get(fn, "arguments");
	const char *name = pp_json_get_str(fn, "name", NULL), *id = pp_json_get_str(tc, "id", "");
	struct pp_json *args = NULL;
	struct pp_buf text = PP_BUF_INIT;
	bool bad = false;
	char gen[64];
	int rc = PP_OK;

	if (!name)
		return pp_reply_malformed(reply, p->name, "tool call %zu has no function name", i);
	if (pp_json_is_string(a))
		rc = pp_call_args_parse(pp_json_str(a), pp_json_len(a), &args, &bad);
	else if (pp_json_is_object(a))
		args = pp_json_deep_copy(a);
	else if (pp_json_is_null(a))
		args = pp_json_object();
	else if (!(rc = pp_json_dump(a, PP_JSON_COMPACT, &text)))
		rc = pp_call_args_parse(text.buf, text.len, &args, &bad);
	pp_buf_release(&text);
	if (!rc && !*id) {
		pp_call_id(gen, sizeof(gen), body, len, i);
		id = gen;
	}
	if (!rc)
		return pp_call_append(calls, id, name, args, bad);
	pp_json_decref(args);
	return rc;
}

static int read_calls(const struct pp_http_provider *p, struct pp_model_reply *reply,
		      const struct pp_json *tcs, const char *body, size_t len,
		      struct pp_json *calls)
{
	size_t i;
	int rc = PP_OK;

	if (!pp_json_is_null(tcs) && !pp_json_is_array(tcs))
		return pp_reply_malformed(reply, p->name, "tool_calls is not an array");
	for (i = 0; !rc && i < pp_json_len(tcs); i++)
		rc = read_call(p, reply, pp_json_at(tcs, i), i, body, len, calls);
	return rc;
}

static long usage_num(const struct pp_json *v)
{
	long long n = 0;

	return pp_json_int(v, &n) && n > 0 ? (long)n : 0;
}

/* prompt_tokens counts cache hits and completion_tokens counts reasoning,
 * as struct pp_model_reply wants them. Cache hits are in
 * prompt_tokens_details (OpenAI, Together, vLLM) or, from DeepSeek's own
 * API, in prompt_cache_hit_tokens. */
static void read_usage(const struct pp_json *usage, struct pp_model_reply *reply)
{
	const struct pp_json *cached = pp_json_get(pp_json_get(usage, "prompt_tokens_details"),
						   "cached_tokens");

	if (!cached)
		cached = pp_json_get(usage, "prompt_cache_hit_tokens");
	reply->input_tokens = usage_num(pp_json_get(usage, "prompt_tokens"));
	reply->output_tokens = usage_num(pp_json_get(usage, "completion_tokens"));
	reply->reasoning_tokens = usage_num(pp_json_get(pp_json_get(usage,
		"completion_tokens_details"), "reasoning_tokens"));
	reply->cached_tokens = usage_num(cached);
}

static int openai_parse(void *ctx, long status, const char *body, size_t len,
			struct pp_model_reply *reply)
{
	const struct pp_http_provider *p = ctx;
	const struct pp_json *msg;
	struct pp_json *v = NULL, *calls = NULL;
	struct pp_buf content = PP_BUF_INIT;
	const char *reasoning;
	int rc;

	if ((rc = pp_reply_begin(reply, p->name, status, body, len, &v)))
		return rc;
	msg = pp_json_get(pp_json_at(pp_json_get(v, "choices"), 0), "message");
	if (!pp_json_is_object(msg)) {
		rc = pp_reply_malformed(reply, p->name, "no choices[0].message");
		goto out;
	}
	if ((rc = message_text(msg, &content)))
		goto out;
	if (!(calls = pp_json_array())) {
		rc = PP_ENOMEM;
		goto out;
	}
	if ((rc = read_calls(p, reply, pp_json_get(msg, "tool_calls"), body, len, calls)))
		goto out;
	read_usage(pp_json_get(v, "usage"), reply);
	/* DeepSeek and vLLM say reasoning_content; OpenRouter and Ollama say
	 * reasoning. */
	reasoning = pp_json_get_str(msg, "reasoning_content", NULL);
	if (!reasoning)
		reasoning = pp_json_get_str(msg, "reasoning", NULL);
	rc = pp_reply_set_message(reply, content.buf, reasoning, calls, NULL);
	calls = NULL;
out:
	pp_json_decref(calls);
	pp_json_decref(v);
	pp_buf_release(&content);
	return rc;
}

const struct pp_provider_ops pp_provider_openai = {
	"openai", openai_open, pp_http_provider_close, NULL, openai_build, openai_parse
};

const struct pp_provider_ops pp_provider_openai_compat = {
	"openai-compat", compat_open, pp_http_provider_close, NULL, openai_build, openai_parse
};

const struct pp_provider_ops pp_provider_together = {
	"together", together_open, pp_http_provider_close, NULL, openai_build, openai_parse
};
