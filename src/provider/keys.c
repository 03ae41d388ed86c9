/*
 * keys.c - API keys, endpoints and the plumbing the HTTP providers share.
 *
 * Keys come from the environment, else from a .env file (KEY=value lines)
 * in the working directory. A key found is copied into the provider's
 * ctx, registered for pp_redact() and written only into request headers:
 * no diagnostic or reply this file writes quotes a key, and every error
 * message built from a provider's response is passed through pp_redact()
 * in case the provider echoed what it was sent. The rest of the file is
 * the request and reply helpers openai.c, anthropic.c and gemini.c share
 * (see provider_int.h).
 */
#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <peerpres/hash.h>
#include <peerpres/status.h>

#include "core/alloc.h"
#include "provider/provider_int.h"

/* Shorter values are not secrets worth blanking, and blanking them would
 * mangle ordinary words ("ollama" is a common placeholder key). */
#define REDACT_MIN 8
#define REDACT_SLOTS 32

static char redact_keys[REDACT_SLOTS][PP_KEY_MAX];
static pthread_mutex_t redact_lock = PTHREAD_MUTEX_INITIALIZER;

/* Every variable a user may keep a key in, blanked even when no provider
 * of this run read it. */
static const char *const key_variables[] = {
	"OPENAI_API_KEY", "OPENAI_COMPAT_API_KEY", "ANTHROPIC_API_KEY", "GOOGLE_API_KEY",
	"GEMINI_API_KEY", "TOGETHER_API_KEY", "LITELLM_API_KEY", "OPENROUTER_API_KEY", NULL
};

static int copy_value(char *out, size_t outlen, const char *v, size_t n)
{
	if (n >= outlen)
		return PP_ERANGE;
	memcpy(out, v, n);
	out[n] = '\0';
	return PP_OK;
}

static const char *skip_blank(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

/* A double-quoted value with the usual escapes, into b. */
static int unquote_double(const char *p, const char *end, struct pp_buf *b)
{
	int rc = PP_OK;

	for (p++; !rc && p < end && *p != '"'; p++) {
		if (*p == '\\' && p + 1 < end) {
			p++;
			rc = pp_buf_addc(b, *p == 'n' ? '\n' : *p);
		} else {
			rc = pp_buf_addc(b, *p);
		}
	}
	return rc;
}

/* The value part of a line (after '='), into b. */
static int line_value(const char *p, const char *end, struct pp_buf *b)
{
	const char *q;

	p = skip_blank(p, end);
	if (p < end && *p == '"')
		return unquote_double(p, end, b);
	if (p < end && *p == '\'') {
		q = memchr(p + 1, '\'', (size_t)(end - p - 1));
		return pp_buf_add(b, p + 1, (size_t)((q ? q : end) - p - 1));
	}
	/* Unquoted: a '#' after a blank starts a comment (q[-1] is at worst
	 * the '='). */
	for (q = p; q < end; q++)
		if (*q == '#' && (q[-1] == ' ' || q[-1] == '\t'))
			break;
	while (q > p && isspace((unsigned char)q[-1]))
		q--;
	return pp_buf_add(b, p, (size_t)(q - p));
}

/* If the line [p, end) assigns var, its value into b (*hit set). */
static int scan_line(const char *p, const char *end, const char *var, struct pp_buf *b,
		     bool *hit)
{
	size_t n = strlen(var);

	p = skip_blank(p, end);
	if (end - p > 7 && !strncmp(p, "export", 6) && (p[6] == ' ' || p[6] == '\t'))
		p = skip_blank(p + 7, end);
	if ((size_t)(end - p) <= n || strncmp(p, var, n))
		return PP_OK;
	p = skip_blank(p + n, end);
	if (p >= end || *p != '=')
		return PP_OK;
	*hit = true;
	pp_buf_reset(b);
	return line_value(p + 1, end, b);
}

static int env_file_get(const char *var, const char *path, bool named, char *out, size_t outlen)
{
	struct pp_buf file = PP_BUF_INIT, val = PP_BUF_INIT;
	const char *p, *end, *nl;
	bool hit = false;
	int rc;

	if (!named && access(path, F_OK) != 0)
		return PP_ENOTFOUND;
	if ((rc = pp_buf_read_file(&file, path)))
		return rc == PP_ENOMEM ? rc : PP_EIO;
	end = file.buf + file.len;
	/* The last assignment wins, as when the file is sourced. */
	for (p = file.buf; !rc && p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			nl = end;
		rc = scan_line(p, nl > p && nl[-1] == '\r' ? nl - 1 : nl, var, &val, &hit);
	}
	if (!rc)
		rc = hit && val.len ? copy_value(out, outlen, val.buf, val.len) : PP_ENOTFOUND;
	/* The file holds secrets: leave no copy in freed memory. */
	explicit_bzero(file.buf, file.len);
	explicit_bzero(val.buf, val.len);
	pp_buf_release(&file);
	pp_buf_release(&val);
	return rc;
}

int pp_env_get(const char *var, const char *env_file, char *out, size_t outlen)
{
	const char *v = getenv(var);

	if (v && *v)
		return copy_value(out, outlen, v, strlen(v));
	return env_file_get(var, env_file ? env_file : ".env", env_file != NULL, out, outlen);
}

int pp_key_find(const char *const *vars, const char *env_file, char *out, size_t outlen,
		const char **which)
{
	int rc = PP_ENOTFOUND;

	for (; *vars; vars++) {
		rc = pp_env_get(*vars, env_file, out, outlen);
		if (rc != PP_ENOTFOUND) {
			*which = *vars;
			return rc;
		}
	}
	return rc;
}

int pp_redact_add(const char *key)
{
	size_t i, n = strlen(key);
	int rc = PP_ERANGE;

	if (n < REDACT_MIN || n >= PP_KEY_MAX)
		return n < REDACT_MIN ? PP_OK : PP_ERANGE;
	pthread_mutex_lock(&redact_lock);
	for (i = 0; i < REDACT_SLOTS; i++) {
		if (!strcmp(redact_keys[i], key) || !redact_keys[i][0]) {
			memcpy(redact_keys[i], key, n + 1);
			rc = PP_OK;
			break;
		}
	}
	pthread_mutex_unlock(&redact_lock);
	return rc;
}

static void blank_all(char *text, const char *key)
{
	size_t n = strlen(key);
	char *p = text;

	if (n < REDACT_MIN)
		return;
	while ((p = strstr(p, key))) {
		memset(p, '*', n);
		p += n;
	}
}

void pp_redact(char *text)
{
	const char *const *v;
	const char *val;
	size_t i;

	if (!text)
		return;
	pthread_mutex_lock(&redact_lock);
	for (i = 0; i < REDACT_SLOTS && redact_keys[i][0]; i++)
		blank_all(text, redact_keys[i]);
	pthread_mutex_unlock(&redact_lock);
	for (v = key_variables; *v; v++)
		if ((val = getenv(*v)))
			blank_all(text, val);
}

/* The host of a URL: after the scheme's "://" and any userinfo (up to
 * the authority's last '@'), before the port; a bracketed IPv6 address
 * keeps its brackets. False when there is no "://". */
static bool url_host(const char *url, const char **host, size_t *len)
{
	const char *a = strstr(url, "://"), *h, *at;
	size_t n;

	if (!a)
		return false;
	a += 3;
	n = strcspn(a, "/?#");
	for (h = a, at = a; at < a + n; at++)
		if (*at == '@')
			h = at + 1;
	n -= (size_t)(h - a);
	if (*h == '[') {
		const char *end = memchr(h, ']', n);

		/* "[::1].evil.com" is no address: the whole of it is the host. */
		*len = end && (end + 1 == h + n || end[1] == ':') ? (size_t)(end - h) + 1 : n;
	} else {
		const char *colon = memchr(h, ':', n);

		*len = colon ? (size_t)(colon - h) : n;
	}
	*host = h;
	return true;
}

/* "127.a.b.c" with four decimal parts of at most 255, nothing else:
 * "127.0.0.1.nip.io" is a name anyone can point anywhere. */
static bool is_ipv4_loopback(const char *h, size_t len)
{
	size_t i = 0;
	int parts = 0;

	while (i < len) {
		size_t start = i;
		long v = 0;

		while (i < len && isdigit((unsigned char)h[i]) && i - start < 3)
			v = v * 10 + (h[i++] - '0');
		if (i == start || v > 255 || (parts == 0 && v != 127))
			return false;
		parts++;
		if (i < len && (h[i] != '.' || i + 1 == len || parts == 4))
			return false;
		if (i < len)
			i++;
	}
	return parts == 4;
}

bool pp_url_is_loopback(const char *url)
{
	const char *h;
	size_t n;

	if (!url || !url_host(url, &h, &n))
		return false;
	return (n == 9 && !strncasecmp(h, "localhost", 9)) || (n == 5 && !memcmp(h, "[::1]", 5)) ||
	       is_ipv4_loopback(h, n);
}

static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

int pp_base_url_check(const char *provider, const char *url, struct pp_diag *diag)
{
	const char *authority = strstr(url, "://");

	if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))
		return pp_diag_set(diag, PP_EUSAGE, NULL, 0, 0,
				   "%s: base URL '%.200s' must start with http:// or https://",
				   provider, url);
	if (has_control(url) || strchr(url, ' '))
		return pp_diag_set(diag, PP_EUSAGE, NULL, 0, 0,
				   "%s: base URL contains a space or a control character", provider);
	authority += 3;
	/* The URL itself is not repeated: what follows '?' may be a key,
	 * and so may a password before '@'. */
	if (memchr(authority, '@', strcspn(authority, "/")))
		return pp_diag_set(diag, PP_EUSAGE, NULL, 0, 0,
				   "%s: base URL must not carry a user or a password ('user:pass@host'):"
				   " it is stored with the run (give keys in the environment)", provider);
	if (strpbrk(url, "?#"))
		return pp_diag_set(diag, PP_EUSAGE, NULL, 0, 0,
				   "%s: base URL must not have a query string or a fragment ('?', '#'):"
				   " paths are appended to it, and it is stored with the run (give"
				   " keys in the environment)", provider);
	return PP_OK;
}

static int check_base_url(struct pp_http_provider *p, const char *url, struct pp_diag *diag)
{
	size_t n = strlen(url);
	int rc = pp_base_url_check(p->name, url, diag);

	if (rc)
		return rc;
	while (n && url[n - 1] == '/')
		n--;
	if (n >= sizeof(p->base_url))
		return pp_diag_set(diag, PP_EUSAGE, NULL, 0, 0, "%s: base URL is too long",
				   p->name);
	memcpy(p->base_url, url, n);
	p->base_url[n] = '\0';
	return PP_OK;
}

int pp_model_name_check(const char *provider, const char *model, struct pp_diag *diag)
{
	if (!model || !*model || has_control(model) || strchr(model, ' ') ||
	    strlen(model) >= PP_MODEL_NAME_MAX)
		return pp_diag_set(diag, PP_EUSAGE, NULL, 0, 0, "%s: invalid model name '%.200s'",
				   provider, model ? model : "");
	return PP_OK;
}

static int check_settings(struct pp_http_provider *p, const char *model,
			  const struct pp_provider_options *opt, struct pp_diag *diag)
{
	const char *r = opt ? opt->reasoning : NULL;
	int rc = pp_model_name_check(p->name, model, diag);

	if (rc)
		return rc;
	snprintf(p->model, sizeof(p->model), "%s", model);
	if (r && *r && strcmp(r, "low") && strcmp(r, "medium") && strcmp(r, "high"))
		return pp_diag_set(diag, PP_EUSAGE, NULL, 0, 0,
				   "%s: unknown reasoning effort '%.40s' (low, medium, high)",
				   p->name, r);
	snprintf(p->reasoning, sizeof(p->reasoning), "%s", r ? r : "");
	if (opt && opt->max_tokens < 0)
		return pp_diag_set(diag, PP_EUSAGE, NULL, 0, 0,
				   "%s: max tokens must not be negative", p->name);
	p->max_tokens = opt ? opt->max_tokens : 0;
	return PP_OK;
}

/* "OPENAI_COMPAT_API_KEY or OPENAI_API_KEY" */
static void list_vars(char *out, size_t outlen, const char *const *vars)
{
	size_t len = 0;
	int n;

	out[0] = '\0';
	for (; *vars && len < outlen; vars++) {
		n = snprintf(out + len, outlen - len, "%s%s", len ? " or " : "", *vars);
		if (n < 0)
			break;
		len += (size_t)n;
	}
}

static int find_key(struct pp_http_provider *p, const char *const *vars,
		    const struct pp_provider_options *opt, struct pp_diag *diag)
{
	const char *env_file = opt ? opt->env_file : NULL;
	const char *which = NULL;
	char names[256];
	int rc = pp_key_find(vars, env_file, p->key, sizeof(p->key), &which);

	list_vars(names, sizeof(names), vars);
	if (rc == PP_ENOTFOUND && pp_url_is_loopback(p->base_url)) {
		p->key[0] = '\0';
		return PP_OK;
	}
	if (rc == PP_ENOTFOUND)
		return pp_diag_set(diag, PP_EUSAGE, NULL, 0, 0,
				   "%s: no API key: set %s in the environment or in %s", p->name,
				   names, env_file ? env_file : ".env");
	if (rc == PP_EIO)
		return pp_diag_set(diag, PP_EIO, NULL, 0, 0, "%s: cannot read env file '%.300s'",
				   p->name, env_file ? env_file : ".env");
	if (rc == PP_ERANGE)
		return pp_diag_set(diag, PP_EUSAGE, NULL, 0, 0, "%s: the value of %s is too long",
				   p->name, which);
	if (rc)
		return pp_diag_set(diag, rc, NULL, 0, 0, "%s: %s", p->name, pp_strerror(rc));
	p->key_var = which;
	if (has_control(p->key) || strchr(p->key, ' '))
		return pp_diag_set(diag, PP_EUSAGE, NULL, 0, 0,
				   "%s: the value of %s contains a space or a control character",
				   p->name, which);
	return pp_redact_add(p->key) ? pp_diag_set(diag, PP_ERANGE, NULL, 0, 0,
						   "%s: too many distinct API keys", p->name)
				     : PP_OK;
}

int pp_http_provider_open(struct pp_http_provider **out, const char *name, const char *model,
			  const struct pp_provider_options *opt, const char *base_url,
			  const char *const *key_vars, struct pp_diag *diag)
{
	struct pp_http_provider *p = pp_calloc(1, sizeof(*p));
	size_t i;
	int rc;

	*out = NULL;
	if (!p)
		return pp_diag_set(diag, PP_ENOMEM, NULL, 0, 0, "%s: out of memory", name);
	p->name = name;
	p->temperature_max = 2.0;
	for (i = 0; i < PP_WIRE_TOOLS_KEPT; i++)
		pp_buf_init(&p->tools[i].text, PP_BUF_MAX_DEFAULT);
	rc = check_settings(p, model, opt, diag);
	if (!rc)
		rc = check_base_url(p, base_url, diag);
	if (!rc)
		rc = find_key(p, key_vars, opt, diag);
	if (rc) {
		pp_http_provider_close(p);
		return rc;
	}
	*out = p;
	return PP_OK;
}

void pp_http_provider_close(void *ctx)
{
	struct pp_http_provider *p = ctx;

	size_t i;

	if (!p)
		return;
	for (i = 0; i < PP_WIRE_TOOLS_KEPT; i++) {
		pp_json_decref(p->tools[i].of);
		pp_buf_release(&p->tools[i].text);
	}
	explicit_bzero(p->key, sizeof(p->key));
	free(p);
}

int pp_http_set_url(struct pp_http_request *out, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out->url, sizeof(out->url), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(out->url)) {
		out->url[0] = '\0';
		return PP_ERANGE;
	}
	return PP_OK;
}

int pp_http_add_header(struct pp_http_request *out, const char *name, const char *value)
{
	struct pp_buf line = PP_BUF_INIT;
	int rc = PP_OK;

	if (!out->headers && !(out->headers = pp_json_array()))
		return PP_ENOMEM;
	rc = pp_buf_addf(&line, "%s: %s", name, value);
	if (!rc)
		rc = pp_json_append(out->headers, pp_json_stringn(line.buf, line.len));
	explicit_bzero(line.buf, line.len);
	pp_buf_release(&line);
	return rc;
}

int pp_http_set_body(struct pp_http_request *out, const struct pp_json *body)
{
	pp_buf_reset(&out->body);
	return pp_json_dump(body, PP_JSON_COMPACT, &out->body);
}

bool pp_http_status_retryable(long status)
{
	return status == 408 || status == 429 || (status >= 500 && status <= 599);
}

/* The provider's own words from an error body, or NULL. */
static const char *error_text(const struct pp_json *v)
{
	const struct pp_json *e;

	if (pp_json_is_array(v))
		v = pp_json_at(v, 0);
	e = pp_json_get(v, "error");
	if (pp_json_get_str(e, "message", NULL))
		return pp_json_get_str(e, "message", NULL);
	if (pp_json_is_string(e))
		return pp_json_str(e);
	if (pp_json_get_str(v, "message", NULL))
		return pp_json_get_str(v, "message", NULL);
	return pp_json_get_str(v, "detail", NULL);
}

/* The start of a body that is not JSON, on one line. */
static void body_excerpt(char *out, size_t outlen, const char *body, size_t len)
{
	size_t i, n = len < outlen - 1 ? len : outlen - 1;

	for (i = 0; i < n; i++)
		out[i] = (unsigned char)body[i] < 0x20 ? ' ' : body[i];
	out[n] = '\0';
	if (!n)
		snprintf(out, outlen, "(empty body)");
}

static int http_error(struct pp_model_reply *reply, const char *provider, long status,
		      const char *body, size_t len)
{
	struct pp_json *v = NULL;
	const char *msg = NULL;
	char excerpt[200];

	if (len && !pp_json_parse(body, len, &v, NULL, 0))
		msg = error_text(v);
	if (!msg) {
		body_excerpt(excerpt, sizeof(excerpt), body, len);
		msg = excerpt;
	}
	snprintf(reply->error, sizeof(reply->error), "%s HTTP %ld: %s", provider, status, msg);
	pp_json_decref(v);
	pp_redact(reply->error);
	reply->retryable = pp_http_status_retryable(status);
	return PP_EPROVIDER;
}

int pp_reply_malformed(struct pp_model_reply *reply, const char *provider, const char *fmt, ...)
{
	char why[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(reply->error, sizeof(reply->error), "%s: malformed response: %s", provider, why);
	pp_redact(reply->error);
	reply->retryable = true;
	return PP_EPROVIDER;
}

int pp_reply_begin(struct pp_model_reply *reply, const char *provider, long status,
		   const char *body, size_t len, struct pp_json **out)
{
	struct pp_json *v = NULL;
	const struct pp_json *e;
	const char *msg;
	char err[160];

	*out = NULL;
	if (status < 200 || status > 299)
		return http_error(reply, provider, status, body ? body : "", body ? len : 0);
	if (!body || !len)
		return pp_reply_malformed(reply, provider, "empty body");
	if (pp_json_parse(body, len, &v, err, sizeof(err)))
		return pp_reply_malformed(reply, provider, "truncated or invalid JSON (%s)", err);
	if (!pp_json_is_object(v)) {
		pp_json_decref(v);
		return pp_reply_malformed(reply, provider, "the body is not a JSON object");
	}
	/* Gateways sometimes wrap an upstream failure in a 2xx. */
	e = pp_json_get(v, "error");
	if ((pp_json_is_object(e) || pp_json_is_string(e)) && (msg = error_text(v))) {
		snprintf(reply->error, sizeof(reply->error), "%s: error in a %ld response: %s",
			 provider, status, msg);
		pp_redact(reply->error);
		reply->retryable = true;
		pp_json_decref(v);
		return PP_EPROVIDER;
	}
	*out = v;
	return PP_OK;
}

static struct pp_json *string_or_null(const char *s)
{
	return s && *s ? pp_json_string(s) : pp_json_null();
}

int pp_reply_set_message(struct pp_model_reply *reply, const char *content,
			 const char *reasoning, struct pp_json *calls, struct pp_json *replay)
{
	struct pp_json *m = pp_json_object();
	int rc = m && calls ? PP_OK : PP_ENOMEM;

	if (!rc)
		rc = pp_json_set_str(m, "role", "assistant");
	if (!rc)
		rc = pp_json_set(m, "content", string_or_null(content));
	if (!rc)
		rc = pp_json_set(m, "reasoning", string_or_null(reasoning));
	if (!rc) {
		rc = pp_json_set(m, "tool_calls", calls);
		calls = NULL;
	}
	if (!rc && replay) {
		rc = pp_json_set(m, "replay", replay);
		replay = NULL;
	}
	pp_json_decref(calls);
	pp_json_decref(replay);
	if (rc) {
		pp_json_decref(m);
		return rc;
	}
	reply->message = m;
	return PP_OK;
}

int pp_call_append(struct pp_json *calls, const char *id, const char *name,
		   struct pp_json *args, bool malformed)
{
	struct pp_json *c = pp_json_object();
	int rc = c && args ? PP_OK : PP_ENOMEM;

	if (!rc)
		rc = pp_json_set_str(c, "id", id);
	if (!rc)
		rc = pp_json_set_str(c, "name", name);
	if (!rc) {
		rc = pp_json_set(c, "arguments", args);
		args = NULL;
	}
	if (!rc && malformed)
		rc = pp_json_set(c, "arguments_malformed", pp_json_bool(true));
	pp_json_decref(args);
	if (rc) {
		pp_json_decref(c);
		return rc;
	}
	return pp_json_append(calls, c);
}

int pp_call_args_parse(const char *text, size_t len, struct pp_json **out, bool *malformed)
{
	struct pp_json *v = NULL, *raw;
	size_t i;

	*out = NULL;
	*malformed = false;
	for (i = 0; i < len && isspace((unsigned char)text[i]); i++)
		;
	if (i == len) {
		*out = pp_json_object();
		return *out ? PP_OK : PP_ENOMEM;
	}
	if (!pp_json_parse(text, len, &v, NULL, 0) && pp_json_is_object(v)) {
		*out = v;
		return PP_OK;
	}
	pp_json_decref(v);
	*malformed = true;
	raw = pp_json_object();
	if (!raw || pp_json_set(raw, "_raw", pp_json_stringn(text, len))) {
		pp_json_decref(raw);
		return PP_ENOMEM;
	}
	*out = raw;
	return PP_OK;
}

int pp_call_args_text(const struct pp_json *call, struct pp_buf *b)
{
	const struct pp_json *args = pp_json_get(call, "arguments");
	const struct pp_json *raw = pp_json_get(args, "_raw");

	if (pp_json_is_true(pp_json_get(call, "arguments_malformed")) && pp_json_is_string(raw))
		return pp_buf_add(b, pp_json_str(raw), pp_json_len(raw));
	if (!pp_json_is_object(args))
		return pp_buf_adds(b, "{}");
	return pp_json_dump(args, PP_JSON_COMPACT, b);
}

void pp_call_id(char *out, size_t outlen, const char *body, size_t len, size_t i)
{
	char hex[65];

	pp_sha256_hex(body, len, hex);
	snprintf(out, outlen, "call_%.12s_%zu", hex, i);
}

const struct pp_json *pp_replay_get(const struct pp_json *msg, const char *format)
{
	const struct pp_json *r = pp_json_get(msg, "replay");
	const struct pp_json *blocks = pp_json_get(r, "blocks");

	if (strcmp(pp_json_get_str(r, "format", ""), format) || !pp_json_is_array(blocks))
		return NULL;
	return blocks;
}

struct pp_json *pp_replay_new(const char *format, struct pp_json *blocks)
{
	struct pp_json *r = pp_json_object();

	if (!r || !blocks || pp_json_set_str(r, "format", format)) {
		pp_json_decref(blocks);
		pp_json_decref(r);
		return NULL;
	}
	if (pp_json_set(r, "blocks", blocks)) {
		pp_json_decref(r);
		return NULL;
	}
	return r;
}

int pp_wire_push(struct pp_json *wire, const char *role, const char *key, struct pp_json *items)
{
	size_t n = pp_json_len(wire), i;
	struct pp_json *last = n ? pp_json_at(wire, n - 1) : NULL, *m, *to;
	int rc = PP_OK;

	if (!items)
		return PP_ENOMEM;
	if (!pp_json_len(items)) {
		pp_json_decref(items);
		return PP_OK;
	}
	if (last && !strcmp(pp_json_get_str(last, "role", ""), role)) {
		to = pp_json_get(last, key);
		for (i = 0; !rc && i < pp_json_len(items); i++)
			rc = pp_json_append(to, pp_json_incref(pp_json_at(items, i)));
		pp_json_decref(items);
		return rc;
	}
	m = pp_json_object();
	rc = m ? pp_json_set_str(m, "role", role) : PP_ENOMEM;
	if (!rc) {
		rc = pp_json_set(m, key, items);
		items = NULL;
	}
	pp_json_decref(items);
	if (rc) {
		pp_json_decref(m);
		return rc;
	}
	return pp_json_append(wire, m);
}
