/*
 * gemini.c - the Gemini generateContent wire format: google/MODEL.
 *
 * Our transcript maps onto it this way: system messages become
 * systemInstruction; assistant turns are "model" contents with text and
 * functionCall parts; tool results are functionResponse parts of the
 * next "user" content (consecutive ones merged, as the format alternates
 * user and model). The format has no call ids unless the server sends
 * them, so replies get ids derived from the response.
 *
 * Thought parts (thought: true) come back as the reply's "reasoning".
 * Thinking models also sign their parts (thoughtSignature) and reject a
 * history whose function calls lost their signatures, so a reply with a
 * signature, a thought or a server call id carries "replay":
 * {"format": "gemini", "blocks": [the parts exactly as received]}, and
 * that turn is sent back verbatim.
 *
 * With the rollout's wire cache (req->wire), the contents that can no
 * longer grow are serialised once (pp_wire_merged_body); the bytes are
 * those of the whole build.
 */
#include <stdio.h>
#include <string.h>

#include <peerpres/status.h>

#include "core/alloc.h"
#include "provider/provider_int.h"

static const char *const gemini_keys[] = { "GOOGLE_API_KEY", "GEMINI_API_KEY", NULL };

/* The model goes into the URL path: keep it to a safe alphabet. */
static bool model_name_ok(const char *m)
{
	if (!m || !*m)
		return false;
	for (; *m; m++)
		if (!((*m >= 'a' && *m <= 'z') || (*m >= 'A' && *m <= 'Z') ||
		      (*m >= '0' && *m <= '9') || *m == '.' || *m == '-' || *m == '_'))
			return false;
	return true;
}

static int gemini_open(void **ctx, const char *model, const struct pp_provider_options *opt,
		       struct pp_diag *diag)
{
	const char *base = opt && opt->base_url ? opt->base_url
					       : "https://generativelanguage.googleapis.com";
	struct pp_http_provider *p = NULL;
	int rc;

	*ctx = NULL;
	if (!model_name_ok(model))
		return pp_diag_set(diag, PP_EUSAGE, NULL, 0, 0,
				   "google: invalid model name '%.200s' (letters, digits, '.', '-', '_')",
				   model ? model : "");
	rc = pp_http_provider_open(&p, "google", model, opt, base, gemini_keys, diag);
	*ctx = p;
	return rc;
}

static struct pp_json *text_part(const char *text)
{
	struct pp_json *p = pp_json_object();

	if (!p || pp_json_set_str(p, "text", text)) {
		pp_json_decref(p);
		return NULL;
	}
	return p;
}

static struct pp_json *call_part(const struct pp_json *call)
{
	const struct pp_json *args = pp_json_get(call, "arguments");
	struct pp_json *p = pp_json_object(), *fc = pp_json_object();
	int rc = p && fc ? PP_OK : PP_ENOMEM;

	if (!rc)
		rc = pp_json_set_str(fc, "name", pp_json_get_str(call, "name", ""));
	if (!rc)
		rc = pp_json_set(fc, "args", pp_json_is_object(args) ? pp_json_incref((struct pp_json *)args)
								   : pp_json_object());
	if (!rc) {
		rc = pp_json_set(p, "functionCall", fc);
		fc = NULL;
	}
	pp_json_decref(fc);
	if (rc) {
		pp_json_decref(p);
		return NULL;
	}
	return p;
}

static struct pp_json *model_parts(const struct pp_json *m)
{
	const struct pp_json *calls = pp_json_get(m, "tool_calls");
	const struct pp_json *replay = pp_replay_get(m, "gemini");
	const char *content = pp_json_get_str(m, "content", "");
	struct pp_json *parts;
	size_t i;
	int rc = PP_OK;

	if (replay)
		return pp_json_deep_copy(replay);
	if (!(parts = pp_json_array()))
		return NULL;
	if (*content)
		rc = pp_json_append(parts, text_part(content));
	for (i = 0; !rc && i < pp_json_len(calls); i++)
		rc = pp_json_append(parts, call_part(pp_json_at(calls, i)));
	if (rc) {
		pp_json_decref(parts);
		return NULL;
	}
	return parts;
}

/* Whether the wire parts of the model turn being answered hold a
 * functionCall with this id: only then does the response name it. */
static bool wire_has_id(const struct pp_json *parts, const char *id)
{
	size_t i;

	for (i = 0; *id && i < pp_json_len(parts); i++)
		if (!strcmp(pp_json_get_str(pp_json_get(pp_json_at(parts, i), "functionCall"),
					    "id", ""), id))
			return true;
	return false;
}

static struct pp_json *response_parts(const struct pp_json *m, const struct pp_json *wire_parts)
{
	const char *id = pp_json_get_str(m, "tool_call_id", "");
	struct pp_json *parts = pp_json_array(), *p = pp_json_object();
	struct pp_json *fr = pp_json_object(), *resp = pp_json_object();
	int rc = parts && p && fr && resp ? PP_OK : PP_ENOMEM;

	if (!rc && wire_has_id(wire_parts, id))
		rc = pp_json_set_str(fr, "id", id);
	if (!rc)
		rc = pp_json_set_str(fr, "name", pp_json_get_str(m, "name", ""));
	if (!rc)
		rc = pp_json_set_str(resp, "output", pp_json_get_str(m, "content", ""));
	if (!rc) {
		rc = pp_json_set(fr, "response", resp);
		resp = NULL;
	}
	if (!rc) {
		rc = pp_json_set(p, "functionResponse", fr);
		fr = NULL;
	}
	if (!rc) {
		rc = pp_json_append(parts, p);
		p = NULL;
	}
	pp_json_decref(resp);
	pp_json_decref(fr);
	pp_json_decref(p);
	if (rc) {
		pp_json_decref(parts);
		return NULL;
	}
	return parts;
}

struct wire {
	struct pp_json *contents;
	struct pp_buf system;
	const struct pp_json *last_parts;  /* replayed parts of the last model turn */
};

static int wire_message(struct wire *w, const struct pp_json *m)
{
	const char *role = pp_json_get_str(m, "role", "");
	const char *content = pp_json_get_str(m, "content", "");
	struct pp_json *parts;
	int rc;

	if (!strcmp(role, "system")) {
		rc = w->system.len ? pp_buf_adds(&w->system, "\n\n") : PP_OK;
		return rc ? rc : pp_buf_adds(&w->system, content);
	}
	if (!strcmp(role, "assistant")) {
		w->last_parts = pp_replay_get(m, "gemini");
		return pp_wire_push(w->contents, "model", "parts", model_parts(m));
	}
	if (!strcmp(role, "tool"))
		return pp_wire_push(w->contents, "user", "parts", response_parts(m, w->last_parts));
	if (strcmp(role, "user"))
		return PP_EINVAL;
	if (!(parts = pp_json_array()))
		return PP_ENOMEM;
	if (*content && (rc = pp_json_append(parts, text_part(content)))) {
		pp_json_decref(parts);
		return rc;
	}
	return pp_wire_push(w->contents, "user", "parts", parts);
}

/* parametersJsonSchema takes our JSON Schema as it is (parameters would
 * refuse additionalProperties). */
static struct pp_json *wire_tools(const struct pp_json *tools)
{
	struct pp_json *out = pp_json_array(), *tool = pp_json_object(), *decls = pp_json_array();
	struct pp_json *d;
	const struct pp_json *t;
	size_t i;
	int rc = out && tool && decls ? PP_OK : PP_ENOMEM;

	for (i = 0; !rc && i < pp_json_len(tools); i++) {
		t = pp_json_at(tools, i);
		d = pp_json_object();
		rc = d ? pp_json_set_str(d, "name", pp_json_get_str(t, "name", "")) : PP_ENOMEM;
		if (!rc)
			rc = pp_json_set_str(d, "description", pp_json_get_str(t, "description", ""));
		if (!rc)
			rc = pp_json_set(d, "parametersJsonSchema",
					 pp_json_incref(pp_json_get(t, "parameters")));
		if (!rc)
			rc = pp_json_append(decls, d);
		else
			pp_json_decref(d);
	}
	if (!rc) {
		rc = pp_json_set(tool, "functionDeclarations", decls);
		decls = NULL;
	}
	if (!rc) {
		rc = pp_json_append(out, tool);
		tool = NULL;
	}
	pp_json_decref(decls);
	pp_json_decref(tool);
	if (rc) {
		pp_json_decref(out);
		return NULL;
	}
	return out;
}

/* Thinking models (2.5, 3) return thought summaries only when asked to;
 * a model that cannot think refuses the question. */
static bool wants_thoughts(const struct pp_http_provider *p)
{
	return p->reasoning[0] || strstr(p->model, "2.5") || !strncmp(p->model, "gemini-3", 8);
}

/* Gemini 2.5 takes a thinking budget, later models a thinking level. */
static struct pp_json *thinking_config(const struct pp_http_provider *p)
{
	bool v25 = strstr(p->model, "2.5") != NULL;
	struct pp_json *tc;
	long budget;
	int rc;

	if (!(tc = pp_json_object()))
		return NULL;
	rc = pp_json_set(tc, "includeThoughts", pp_json_bool(true));
	if (!rc && p->reasoning[0] && v25) {
		budget = !strcmp(p->reasoning, "low") ? 1024 : !strcmp(p->reasoning, "medium") ? 8192
												: 24576;
		rc = pp_json_set(tc, "thinkingBudget", pp_json_integer(budget));
	} else if (!rc && p->reasoning[0]) {
		rc = pp_json_set_str(tc, "thinkingLevel", p->reasoning);
	}
	if (rc) {
		pp_json_decref(tc);
		return NULL;
	}
	return tc;
}

static struct pp_json *generation_config(const struct pp_http_provider *p,
					 const struct pp_model_request *req)
{
	struct pp_json *gc = pp_json_object(), *tc;
	double t = req->temperature < 0 ? 0 : req->temperature;
	int rc = gc ? PP_OK : PP_ENOMEM;

	if (!rc)
		rc = pp_json_set(gc, "temperature",
				 pp_json_real(t > p->temperature_max ? p->temperature_max : t));
	/* The seed is an int32 in this format. */
	if (!rc)
		rc = pp_json_set(gc, "seed", pp_json_integer((long long)(req->seed & 0x7fffffff)));
	if (!rc && p->max_tokens)
		rc = pp_json_set(gc, "maxOutputTokens", pp_json_integer(p->max_tokens));
	if (!rc && wants_thoughts(p))
		rc = (tc = thinking_config(p)) ? pp_json_set(gc, "thinkingConfig", tc) : PP_ENOMEM;
	if (rc) {
		pp_json_decref(gc);
		return NULL;
	}
	return gc;
}

static struct pp_json *system_instruction(const struct pp_buf *system)
{
	struct pp_json *si = pp_json_object(), *parts = pp_json_array();
	int rc = si && parts ? PP_OK : PP_ENOMEM;

	if (!rc)
		rc = pp_json_append(parts, text_part(system->buf));
	if (!rc) {
		rc = pp_json_set(si, "parts", parts);
		parts = NULL;
	}
	pp_json_decref(parts);
	if (rc) {
		pp_json_decref(si);
		return NULL;
	}
	return si;
}

static int build_body(const struct pp_http_provider *p, const struct pp_model_request *req,
		      struct pp_json *body)
{
	struct wire w = { pp_json_array(), PP_BUF_INIT, NULL };
	size_t i;
	int rc = w.contents ? PP_OK : PP_ENOMEM;

	for (i = 0; !rc && i < pp_json_len(req->messages); i++)
		rc = wire_message(&w, pp_json_at(req->messages, i));
	if (!rc && w.system.len)
		rc = pp_json_set(body, "systemInstruction", system_instruction(&w.system));
	if (!rc) {
		rc = pp_json_set(body, "contents", w.contents);
		w.contents = NULL;
	}
	if (!rc && pp_json_len(req->tools))
		rc = pp_json_set(body, "tools", wire_tools(req->tools));
	if (!rc)
		rc = pp_json_set(body, "generationConfig", generation_config(p, req));
	pp_json_decref(w.contents);
	pp_buf_release(&w.system);
	return rc;
}

/* ---- the body from the rollout's wire cache (pp_wire_merged_body) ---- */

/* The field before the contents: systemInstruction. */
static int merged_head(const void *ctx, const struct pp_buf *system, struct pp_json *head)
{
	(void)ctx;
	return system->len ? pp_json_set(head, "systemInstruction", system_instruction(system))
			   : PP_OK;
}

/* A tool response names its call's id only when the model turn it
 * answers had it: the replayed parts of the last model turn before
 * message `from`. */
static const struct pp_json *merged_resume(const struct pp_model_request *req, size_t from)
{
	while (from--) {
		const struct pp_json *m = pp_json_at(req->messages, from);

		if (!strcmp(pp_json_get_str(m, "role", ""), "assistant"))
			return pp_replay_get(m, "gemini");
	}
	return NULL;
}

static int merged_push(const void *ctx, const struct pp_model_request *req, size_t i,
		       struct pp_json *contents, const struct pp_json **state)
{
	struct wire w = { contents, PP_BUF_INIT, *state };
	int rc = wire_message(&w, pp_json_at(req->messages, i));

	(void)ctx;
	*state = w.last_parts;
	pp_buf_release(&w.system);   /* the system text is the head's */
	return rc;
}

/* "tools" then "generationConfig", as build_body orders them. */
static int merged_tail(const void *ctx, const struct pp_model_request *req, struct pp_json *rest)
{
	int rc = PP_OK;

	if (pp_json_len(req->tools))
		rc = pp_json_set(rest, "tools", wire_tools(req->tools));
	return rc ? rc : pp_json_set(rest, "generationConfig", generation_config(ctx, req));
}

static const struct pp_wire_merged merged = {
	"contents", merged_resume, merged_head, merged_push, merged_tail
};

static int gemini_build(void *ctx, const struct pp_model_request *req,
			struct pp_http_request *out)
{
	const struct pp_http_provider *p = ctx;
	struct pp_json *body = pp_json_object();
	int rc = body ? PP_OK : PP_ENOMEM;

	snprintf(out->method, sizeof(out->method), "POST");
	if (!rc)
		rc = pp_http_set_url(out, "%s/v1beta/models/%s:generateContent", p->base_url,
				     p->model);
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
	if (!rc && p->key[0])
		rc = pp_http_add_header(out, "x-goog-api-key", p->key);
	pp_json_decref(body);
	return rc;
}

struct reading {
	struct pp_buf content, reasoning;
	struct pp_json *calls;
	bool keep;                     /* parts the server wants back verbatim */
};

static int read_call(struct reading *r, const struct pp_http_provider *p,
		     struct pp_model_reply *reply, const struct pp_json *fc, size_t i,
		     const char *body, size_t len)
{
	const struct pp_json *a = pp_json_get(fc, "args");
	const char *name = pp_json_get_str(fc, "name", NULL), *id = pp_json_get_str(fc, "id", "");
	struct pp_buf text = PP_BUF_INIT;
	struct pp_json *args = NULL;
	bool bad = false;
	char gen[64];
	int rc = PP_OK;

	if (!name)
		return pp_reply_malformed(reply, p->name, "functionCall %zu has no name", i);
	if (*id)
		r->keep = true;
	else {
		pp_call_id(gen, sizeof(gen), body, len, i);
		id = gen;
	}
	if (pp_json_is_object(a))
		args = pp_json_deep_copy(a);
	else if (pp_json_is_null(a))
		args = pp_json_object();
	else if (!(rc = pp_json_dump(a, PP_JSON_COMPACT, &text)))
		rc = pp_call_args_parse(text.buf, text.len, &args, &bad);
	pp_buf_release(&text);
	if (rc) {
		pp_json_decref(args);
		return rc;
	}
	return pp_call_append(r->calls, id, name, args, bad);
}

static int read_part(struct reading *r, const struct pp_http_provider *p,
		     struct pp_model_reply *reply, const struct pp_json *part, size_t i,
		     const char *body, size_t len)
{
	const struct pp_json *fc = pp_json_get(part, "functionCall");
	const char *text = pp_json_get_str(part, "text", NULL);
	int rc = PP_OK;

	if (pp_json_get(part, "thoughtSignature"))
		r->keep = true;
	if (pp_json_is_true(pp_json_get(part, "thought"))) {
		r->keep = true;
		if (text && r->reasoning.len)
			rc = pp_buf_addc(&r->reasoning, '\n');
		return rc || !text ? rc : pp_buf_adds(&r->reasoning, text);
	}
	if (pp_json_is_object(fc))
		return read_call(r, p, reply, fc, i, body, len);
	/* Text parts are pieces of one text. */
	return text ? pp_buf_adds(&r->content, text) : PP_OK;
}

static long count(const struct pp_json *u, const char *field)
{
	long long n = 0;

	return pp_json_int(pp_json_get(u, field), &n) && n > 0 ? (long)n : 0;
}

/* promptTokenCount includes cachedContentTokenCount; the prompts of
 * tools the server ran itself (toolUsePromptTokenCount) are billed as
 * input too. */
static void read_usage(const struct pp_json *u, struct pp_model_reply *reply)
{
	long cand = count(u, "candidatesTokenCount"), thoughts = count(u, "thoughtsTokenCount");

	reply->input_tokens = count(u, "promptTokenCount") + count(u, "toolUsePromptTokenCount");
	reply->cached_tokens = count(u, "cachedContentTokenCount");
	/* Thoughts are billed as output but counted apart from candidates. */
	reply->output_tokens = cand + thoughts;
	reply->reasoning_tokens = thoughts;
}

/* The parts of the first candidate; NULL with *empty set when the server
 * answered with no content (a blocked prompt, a safety stop): a reply with
 * nothing in it, not a failure. */
static const struct pp_json *candidate_parts(const struct pp_json *v, bool *empty)
{
	const struct pp_json *cands = pp_json_get(v, "candidates"), *c, *parts;

	*empty = false;
	if (!pp_json_len(cands)) {
		*empty = pp_json_get(pp_json_get(v, "promptFeedback"), "blockReason") != NULL;
		return NULL;
	}
	c = pp_json_at(cands, 0);
	parts = pp_json_get(pp_json_get(c, "content"), "parts");
	if (pp_json_is_array(parts))
		return parts;
	*empty = pp_json_get_str(c, "finishReason", NULL) != NULL;
	return NULL;
}

static int gemini_parse(void *ctx, long status, const char *body, size_t len,
			struct pp_model_reply *reply)
{
	const struct pp_http_provider *p = ctx;
	struct reading r = { PP_BUF_INIT, PP_BUF_INIT, NULL, false };
	struct pp_json *v = NULL, *replay = NULL;
	const struct pp_json *parts;
	bool empty;
	size_t i;
	int rc;

	if ((rc = pp_reply_begin(reply, p->name, status, body, len, &v)))
		return rc;
	parts = candidate_parts(v, &empty);
	if (!parts && !empty) {
		rc = pp_reply_malformed(reply, p->name, "no candidates[0].content.parts");
		goto out;
	}
	if (!(r.calls = pp_json_array()))
		rc = PP_ENOMEM;
	for (i = 0; !rc && i < pp_json_len(parts); i++)
		rc = read_part(&r, p, reply, pp_json_at(parts, i), i, body, len);
	if (!rc && r.keep && !(replay = pp_replay_new("gemini", pp_json_deep_copy(parts))))
		rc = PP_ENOMEM;
	if (rc)
		goto out;
	read_usage(pp_json_get(v, "usageMetadata"), reply);
	rc = pp_reply_set_message(reply, r.content.buf, r.reasoning.buf, r.calls, replay);
	r.calls = NULL;
out:
	pp_json_decref(r.calls);
	pp_json_decref(v);
	pp_buf_release(&r.content);
	pp_buf_release(&r.reasoning);
	return rc;
}

const struct pp_provider_ops pp_provider_google = {
	"google", gemini_open, pp_http_provider_close, NULL, gemini_build, gemini_parse
};
