/*
 * provider_int.h - what the HTTP providers (openai.c, anthropic.c,
 * gemini.c) share; private to src/provider.
 *
 * keys.c implements it: API keys from the environment or a .env file,
 * the key registry behind pp_redact(), the state of an open provider
 * (endpoint, key, model, settings) and the pieces every parse() builds
 * its reply from. Invariants: a key lives only in struct
 * pp_http_provider and in the headers of a request; no message this
 * module writes (diag, reply->error) ever contains one.
 */
#ifndef PP_PROVIDER_INT_H
#define PP_PROVIDER_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <peerpres/buf.h>
#include <peerpres/diag.h>
#include <peerpres/hash.h>
#include <peerpres/json.h>
#include <peerpres/provider.h>

#define PP_KEY_MAX 512

/* Room for a model name after "provider/", its end included. */
#define PP_MODEL_NAME_MAX 256

/* A config's rollouts share its declarations, and a few configs run at
 * once: enough to hold theirs. */
#define PP_WIRE_TOOLS_KEPT 16

/* The ctx of an open HTTP provider. */
struct pp_http_provider {
	const char *name;            /* "openai", "anthropic", ... (static) */
	char model[PP_MODEL_NAME_MAX];
	char base_url[512];          /* without a trailing '/' */
	char key[PP_KEY_MAX];        /* "" when none is needed; never printed */
	const char *key_var;         /* the variable the key came from, or NULL */
	char reasoning[8];           /* "", "low", "medium" or "high" */
	long max_tokens;             /* 0: the provider's default */
	double temperature_max;      /* the wire format's highest temperature */
	/* Tool declarations' wire text by declarations (a reference held,
	 * so an address is not reused while kept), for the formats whose
	 * rollouts share declarations (openai.c); replaced in turn. A
	 * provider's build is so for one thread at a time. */
	struct {
		struct pp_json *of;
		size_t n;                /* declarations in it when written */
		struct pp_buf text;
	} tools[PP_WIRE_TOOLS_KEPT];
	unsigned tools_next;
};

/*
 * The value of the variable `var`: from the environment when set and not
 * empty, else from the KEY=value file env_file (NULL: ".env" in the
 * working directory; lines "KEY=value", "export KEY=value", values in
 * single or double quotes, '#' comments). Writes it into out (outlen
 * bytes). Returns PP_OK, PP_ENOTFOUND (set nowhere), PP_EIO (env_file was
 * named and cannot be read; a missing default .env is no error) or
 * PP_ERANGE (value too long).
 */
int pp_env_get(const char *var, const char *env_file, char *out, size_t outlen);

/* The first of the NULL-terminated `vars` that pp_env_get() finds; *which
 * is its name (from vars). Same returns as pp_env_get(). */
int pp_key_find(const char *const *vars, const char *env_file, char *out, size_t outlen,
		const char **which);

/* Adds a key to those pp_redact() blanks (copied; ignored when shorter
 * than 8 bytes). Returns PP_ERANGE when the registry is full. */
int pp_redact_add(const char *key);

/*
 * Opens an HTTP provider: checks model and options, resolves the key
 * (the first of key_vars, NULL-terminated, that is set) and fills a new
 * ctx (*out, freed with pp_http_provider_close). base_url is the endpoint
 * root to use (the caller has applied opt->base_url and defaults). A key
 * is required unless the base URL is a loopback address (a local server
 * or the mock server). Failures go to diag (PP_EUSAGE, naming the
 * variable, never a value) and return its code.
 */
int pp_http_provider_open(struct pp_http_provider **out, const char *name, const char *model,
			  const struct pp_provider_options *opt, const char *base_url,
			  const char *const *key_vars, struct pp_diag *diag);
void pp_http_provider_close(void *ctx);

/* Whether base_url's host (scheme, userinfo and port aside) is this
 * machine: localhost, an IPv4 address 127.x.y.z, or [::1]. A name that
 * merely starts with "127." or hides a host behind userinfo is not.
 * False for NULL. */
bool pp_url_is_loopback(const char *base_url);

/* A base URL a provider can take: http:// or https://, no space or
 * control character, no query string or fragment. PP_OK, or PP_EUSAGE
 * with the reason (prefixed with provider) in diag, never echoing what
 * follows a '?'. */
int pp_base_url_check(const char *provider, const char *url, struct pp_diag *diag);

/* The model name after "provider/": not empty, no space or control
 * character, shorter than PP_MODEL_NAME_MAX. PP_OK or PP_EUSAGE. */
int pp_model_name_check(const char *provider, const char *model, struct pp_diag *diag);

/* Request pieces: url from a format (PP_ERANGE when too long); one
 * "Name: value" header; body as compact JSON. */
int pp_http_set_url(struct pp_http_request *out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int pp_http_add_header(struct pp_http_request *out, const char *name, const char *value);
int pp_http_set_body(struct pp_http_request *out, const struct pp_json *body);

/* Whether an HTTP status is worth retrying (408, 429, 5xx). */
bool pp_http_status_retryable(long status);

/*
 * The common front of parse(): a status other than 2xx fills reply->error
 * with "<provider> HTTP <status>: <message from the error body>" and
 * reply->retryable, and returns PP_EPROVIDER; a 2xx body that is not a
 * JSON object fails as pp_reply_malformed(). On success *out is the body
 * (new).
 */
int pp_reply_begin(struct pp_model_reply *reply, const char *provider, long status,
		   const char *body, size_t len, struct pp_json **out);

/* reply->error = "<provider>: malformed response: <why>", retryable (a
 * body cut short or garbled in transit may come whole next time).
 * Returns PP_EPROVIDER. */
int pp_reply_malformed(struct pp_model_reply *reply, const char *provider, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Sets reply->message to {"role":"assistant","content","reasoning",
 * "tool_calls"} (content and reasoning: NULL or "" become null) plus
 * "replay" when replay is not NULL. calls and replay are stolen (also on
 * failure).
 */
int pp_reply_set_message(struct pp_model_reply *reply, const char *content,
			 const char *reasoning, struct pp_json *calls, struct pp_json *replay);

/* Appends {"id","name","arguments"} to calls, adding
 * "arguments_malformed": true when malformed. args is stolen. */
int pp_call_append(struct pp_json *calls, const char *id, const char *name,
		   struct pp_json *args, bool malformed);

/* Arguments from a JSON text: the object it holds ("" and whitespace: an
 * empty object); anything else gives {"_raw": text} with *malformed set.
 * *out is new. Returns PP_OK or PP_ENOMEM. */
int pp_call_args_parse(const char *text, size_t len, struct pp_json **out, bool *malformed);

/* The wire text of arguments: "_raw" as it came when the call was
 * flagged malformed, else compact JSON. Appends to b. */
int pp_call_args_text(const struct pp_json *call, struct pp_buf *b);

/* An id for the i-th call of a response that has none: derived from the
 * body, so the same response always gives the same ids. */
void pp_call_id(char *out, size_t outlen, const char *body, size_t len, size_t i);

/* Appends {"role": role, key: items} to the wire messages, or the items
 * to the last message when it has the same role (formats that alternate
 * roles). items is stolen; an empty array adds nothing. */
int pp_wire_push(struct pp_json *wire, const char *role, const char *key, struct pp_json *items);

/*
 * A rollout's transcript in a wire format, kept between its requests
 * (struct pp_model_request.wire). text holds the body from its start up
 * to the end of the wire message made from internal message n - 1; the
 * messages after n are serialised per request. It is valid for one
 * format (owner: the build function's provider ops), one open provider
 * (ctx) and one transcript (messages); pp_wire_cache_fits() says whether
 * it holds a prefix of this request's, and empties it when not.
 */
struct pp_wire_cache {
	const void *owner;
	const void *ctx;
	const struct pp_json *messages;
	size_t n;                  /* internal messages in text */
	struct pp_buf text;
	const struct pp_json *tools;   /* the declarations tools_text holds */
	size_t n_tools;
	struct pp_buf tools_text;
	/* Formats that merge consecutive messages of one role: the wire
	 * messages in text (the one still open is not), and the system text
	 * the head of text was written with. */
	size_t n_items;
	struct pp_buf system;
	/* Bumped whenever text is emptied: text only grows between two. */
	unsigned long resets;
	/* The response cache's digest so far (engine/call.c): its state after
	 * the key's head (for ctx key_ctx, url key_url) and key_len bytes of
	 * text, valid while resets is still key_resets. A request then
	 * hashes only what was added since. */
	struct pp_sha256 key_state;
	size_t key_len;
	unsigned long key_resets;
	const void *key_ctx;
	char *key_url;
};

/* Whether w holds a prefix of req's transcript for (owner, ctx); when it
 * does not, w is emptied and bound to them. */
bool pp_wire_cache_fits(struct pp_wire_cache *w, const void *owner, const void *ctx,
			const struct pp_model_request *req);

/*
 * The body of a format that merges consecutive messages of one role into
 * one wire message (Messages, Gemini) from the wire cache: the cache
 * holds the head and every wire message but the last, which the next
 * tool result or user message may still grow; w->n is the internal
 * message that last one starts at, and each request serialises from
 * there. The head holds the system text (every system message of the
 * transcript, joined by a blank line), so it is rewritten when that
 * changes. The format says:
 */
struct pp_wire_merged {
	const char *list;   /* the key of the wire messages */
	/* The state push() needs before internal message `from` (Gemini:
	 * the replayed parts of the last model turn), or NULL for none. */
	const struct pp_json *(*resume)(const struct pp_model_request *req, size_t from);
	/* Sets the fields before the list, in the body's order, into head
	 * (system: every system message's content, joined). */
	int (*head)(const void *ctx, const struct pp_buf *system, struct pp_json *head);
	/* Pushes internal message i onto the wire messages (system messages
	 * add nothing). */
	int (*push)(const void *ctx, const struct pp_model_request *req, size_t i,
		    struct pp_json *wire, const struct pp_json **state);
	/* Sets the fields after the list, in the body's order, into rest. */
	int (*tail)(const void *ctx, const struct pp_model_request *req, struct pp_json *rest);
};

/* Appends the body of req to out (empty on entry), using and updating w.
 * Same bytes as the format's whole build; PP_OK or the build's error. */
int pp_wire_merged_body(const struct pp_wire_merged *f, const void *ctx,
			const struct pp_model_request *req, struct pp_wire_cache *w,
			struct pp_buf *out);

/* Appends the members of obj to b, each after a comma (",\"k\":v"), for
 * the fields that follow a cached prefix; obj NULL or empty: nothing.
 * PP_OK or PP_ENOMEM. */
int pp_wire_tail(const struct pp_json *obj, struct pp_buf *b);

/* Whether an assistant message carries a verbatim copy of its wire
 * content for `format` ("anthropic", "gemini"); the copy, borrowed. */
const struct pp_json *pp_replay_get(const struct pp_json *msg, const char *format);
/* A new {"format": format, "blocks": blocks (stolen)}. */
struct pp_json *pp_replay_new(const char *format, struct pp_json *blocks);

#endif
