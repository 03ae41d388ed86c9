/*
 * call.h - one model call, whatever the provider: in-process complete(),
 * or an HTTP provider's build -> transport (with retries) -> parse.
 */
#ifndef PP_ENGINE_CALL_H
#define PP_ENGINE_CALL_H

#include <peerpres/http.h>
#include <peerpres/provider.h>
#include <peerpres/store.h>

struct pp_model_caller {
	const struct pp_provider_ops *prov;
	void *ctx;
	struct pp_http_client *http;      /* NULL for in-process providers */
	struct pp_http_multi *multi;      /* the event loop; NULL for in-process providers */
	struct pp_http_policy policy;
	bool local;                       /* base URL on this machine: the mock server */
	struct pp_store *cache;           /* the response cache, or NULL for none */
	/* The cache held nothing when the run began: a lookup cannot hit, as
	 * each of the run's requests is its rollout's own and asked once. */
	bool cache_cold;
	long cache_hits;                  /* over the run */
	long retries;                     /* of pp_caller_call's calls; see pp_caller_retries */
	/* Writes a cache entry in the owner's stead (into its batch, or to
	 * its storing thread); NULL: straight to `cache`. */
	int (*write_cache)(void *arg, const char *key, const char *entry, size_t len);
	void *write_arg;
	/* The last mock config's header, kept while its config is held. */
	struct pp_json *mock_config;
	char *mock_header;
};

/*
 * The response cache's key of hr, sent with seed (64 hex digits and a
 * NUL into key). w: the wire cache hr's body was built with, or NULL;
 * with it, the part of the body an earlier request of w's rollout had
 * already hashed is not hashed again, and the key is the same as
 * without. w's digest state is updated; nothing can fail.
 */
void pp_caller_request_key(const struct pp_model_caller *mc, const struct pp_http_request *hr,
			   struct pp_wire_cache *w, uint64_t seed, char key[65]);

/* max_connections: the most connections the event loop opens to the
 * provider (the run's concurrency); 0 for curl's default. */
int pp_caller_open(struct pp_model_caller *mc, const char *model,
		   const struct pp_provider_options *opt, const volatile sig_atomic_t *stop,
		   long max_connections, struct pp_diag *diag);
/* Whether calls run in-process (pp_caller_call only). */
bool pp_caller_in_process(const struct pp_model_caller *mc);
void pp_caller_close(struct pp_model_caller *mc);

/* One call. `mock_config` (the config's dimensions, model and family) is
 * sent, with the seed, in test-only headers when the endpoint is local, so
 * the mock server can answer as the reference agents. */
int pp_caller_call(struct pp_model_caller *mc, const struct pp_model_request *req,
		   const struct pp_json *mock_config, struct pp_model_reply *reply);

/*
 * One call on the event loop (HTTP providers). The call lives in its
 * owner's memory, which must not move or go before done has run (or the
 * caller is closed, which abandons it without a callback). done receives
 * PP_OK with call->reply filled (reply.message is the callee's to take),
 * or an error with reply.error set; call->stats says how many attempts
 * and 429s it took.
 */
typedef void (*pp_caller_done_fn)(void *arg, int rc, struct pp_model_reply *reply,
				  const struct pp_http_stats *stats);
struct pp_caller_call {
	struct pp_model_caller *mc;
	struct pp_http_request hr;
	struct pp_model_reply reply;
	pp_caller_done_fn done;
	void *arg;
	bool parsed;          /* reply already read from the last 2xx, with parse_rc */
	int parse_rc;
	char key[65];         /* the request's digest in the response cache, or "" */
};

/* Starts the call; PP_OK or the error of building the request (no
 * callback then). When the response cache holds the answer, *answered is
 * set, call->reply holds it and no callback will run. */
int pp_caller_start(struct pp_model_caller *mc, struct pp_caller_call *call,
		    const struct pp_model_request *req, const struct pp_json *mock_config,
		    pp_caller_done_fn done, void *arg, bool *answered);
/* Moves the calls in flight on (see pp_http_multi_step). */
int pp_caller_step(struct pp_model_caller *mc, long timeout_ms);

/* HTTP retries over the run, those the event loop's calls are still
 * waiting for included (a progress line shows them as they happen). */
long pp_caller_retries(const struct pp_model_caller *mc);
/* The event loop's last failed attempt in short (pp_http_multi_last_error),
 * or "". Borrowed until the next step. */
const char *pp_caller_last_error(const struct pp_model_caller *mc);

#endif
