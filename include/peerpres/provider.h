/*
 * provider.h - model providers behind one table of functions.
 *
 * A model is named "provider/model" ("ref/synthetic", "openai/gpt-4.1").
 * Every provider turns a request (the transcript so far, the tools, the
 * sampling settings) into one assistant message. Messages use one
 * internal shape whatever the wire format:
 *   {"role":"assistant","content": text or null,"reasoning": text or null,
 *    "tool_calls":[{"id","name","arguments":{...}}]}
 * A model that behaves badly is a reply, never an error: errors are for
 * providers that fail (network, HTTP status, malformed response).
 */
#ifndef PEERPRES_PROVIDER_H
#define PEERPRES_PROVIDER_H

#include <stdbool.h>
#include <stdint.h>

#include <peerpres/buf.h>
#include <peerpres/diag.h>
#include <peerpres/json.h>

struct pp_model_request {
	const char *model;                /* the part after "provider/" */
	const struct pp_json *messages;   /* the transcript so far (borrowed) */
	const struct pp_json *tools;      /* tool declarations (borrowed) */
	double temperature;
	uint64_t seed;                    /* the rollout's seed */
	/* The config as rendered (borrowed): only the reference agents read
	 * it, for their routes; real providers never look at it. */
	const struct pp_json *config;
	/* The rollout's serialised transcript, or NULL: HTTP providers keep
	 * in it the wire text of the messages already sent, so a request
	 * serialises only those added since. One cache serves one transcript,
	 * which may only grow (messages appended, none changed). */
	struct pp_wire_cache *wire;
};

/* A new, empty wire cache (*out; free with pp_wire_cache_free). PP_OK or
 * PP_ENOMEM. A request built with a cache has the same bytes as one built
 * without. */
struct pp_wire_cache;
int pp_wire_cache_new(struct pp_wire_cache **out);
void pp_wire_cache_free(struct pp_wire_cache *w);   /* NULL-safe */

/* What a run asks of its provider beyond the model name. */
struct pp_provider_options {
	const char *base_url;             /* NULL: the provider's default */
	const char *reasoning;            /* NULL, "low", "medium", "high" (reasoning models) */
	long max_tokens;                  /* 0: the provider's default */
	const char *env_file;             /* NULL: ".env" in the working directory */
};

/*
 * One HTTP exchange, as an HTTP provider describes it. The transport
 * (src/net, the engine) sends it; providers never call libcurl. Headers
 * may carry an API key: never log, store or print them.
 */
struct pp_http_request {
	char method[8];                   /* "POST" */
	char url[1024];
	struct pp_json *headers;          /* new array of "Name: value" strings */
	struct pp_buf body;
};

struct pp_model_reply {
	struct pp_json *message;          /* new; the caller takes it */
	/* Usage as billed: input_tokens counts every input token and
	 * cached_tokens the part of them read from the provider's prompt
	 * cache; output_tokens counts every output token and
	 * reasoning_tokens the part spent reasoning (0 where the format does
	 * not say). pp_price_cost_usd() takes them as they are. */
	long input_tokens, output_tokens, reasoning_tokens, cached_tokens;
	char error[512];                  /* set when complete() or parse() fails */
	char agent[128];                  /* reference agents: the route followed */
	/* Set with a failed parse() when the same request may succeed if sent
	 * again: HTTP 408, 429 and 5xx, and 2xx bodies that are cut or not the
	 * wire format. Not for 400, 401, 403, 404 and other 4xx. */
	bool retryable;
};

struct pp_provider_ops {
	const char *name;                 /* "ref" */
	/* Checks the model name and options (and, for HTTP providers, that
	 * a key is set); *ctx is the provider's state for a run. Errors never
	 * repeat a key. */
	int (*open)(void **ctx, const char *model, const struct pp_provider_options *opt,
		    struct pp_diag *diag);
	void (*close)(void *ctx);
	/* In-process providers (ref): one model call, synchronously. NULL for
	 * HTTP providers. */
	int (*complete)(void *ctx, const struct pp_model_request *req,
			struct pp_model_reply *reply);
	/* HTTP providers: the request for one model call (out is initialised
	 * by the caller with pp_http_request_init). NULL for in-process ones. */
	int (*build)(void *ctx, const struct pp_model_request *req, struct pp_http_request *out);
	/* HTTP providers: the reply from a response. A status other than 2xx
	 * or a body that is not the wire format fails with PP_EPROVIDER and
	 * the provider's own message in reply->error (never a key). */
	int (*parse)(void *ctx, long status, const char *body, size_t len,
		     struct pp_model_reply *reply);
};

void pp_http_request_init(struct pp_http_request *r);
void pp_http_request_release(struct pp_http_request *r);

/* The reference agents' reply to a transcript when following `route` (a
 * rendered route): the next scripted turn, or end_task past the end.
 * *out is a new assistant message. */
int pp_ref_reply(const struct pp_json *route, const struct pp_json *messages,
		 struct pp_json **out);

/* The route (borrowed from config["routes"]) a reference agent of `kind`
 * ("compliant", "preserver", "refuser", "faker", "synthetic") follows in
 * a rollout: a pure function of kind, the rendered config and the
 * rollout's seed. A kind without routes in the config follows the
 * compliant ones; NULL when the config has no compliant route either. */
const struct pp_json *pp_ref_pick_route(const char *kind, const struct pp_json *config,
				       uint64_t seed);

/*
 * Overwrites with '*', in place, every occurrence in text of an API key
 * known to this process: the keys the HTTP providers' open() found (in
 * the environment or a .env file) and the values of the key variables in
 * the environment (OPENAI_API_KEY, ANTHROPIC_API_KEY, ...). For the
 * transport's error messages and anything else that may echo a request.
 * Values shorter than 8 bytes are not treated as keys. NULL-safe;
 * thread-safe.
 */
void pp_redact(char *text);

/* The provider of a "provider/model" id, or NULL. */
const struct pp_provider_ops *pp_provider_find(const char *model);

/* Every provider, NULL-terminated. */
extern const struct pp_provider_ops *const pp_providers[];

#endif
