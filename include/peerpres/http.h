/*
 * http.h - the transport: one HTTP exchange over libcurl, and the retry
 * loop around it.
 *
 * Providers describe a request (struct pp_http_request, provider.h); the
 * transport sends it and hands back the status, the body (capped) and the
 * headers that say when to try again. pp_http_call() retries what may
 * succeed if sent again (408, 429, 5xx, timeouts, resets, refused
 * connections, bodies cut short) with exponential backoff and full jitter,
 * honouring Retry-After, within a cap on attempts and on total time.
 *
 * Invariant: request headers may carry an API key; no text this module
 * writes (resp->error) ever contains a request header, and URLs in it
 * lose their query string (Gemini keys may travel there).
 *
 * Only src/net includes curl/curl.h. A client is used by one thread at a
 * time; separate clients may be used from separate threads once
 * pp_http_global_init() has run.
 */
#ifndef PEERPRES_HTTP_H
#define PEERPRES_HTTP_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <peerpres/buf.h>
#include <peerpres/provider.h>

/* Zero in any field means its default (given in brackets). */
struct pp_http_policy {
	long connect_timeout_ms;   /* to establish a connection [10000] */
	long timeout_ms;           /* one whole attempt [600000] */
	size_t max_body;           /* largest response body accepted [64 MiB] */
	int max_attempts;          /* first attempt included [12]: at a 30% fault rate
				    * one call in two million fails */
	long backoff_base_ms;      /* the first backoff's upper bound [500] */
	long backoff_max_ms;       /* no backoff bound grows past this [60000] */
	long retry_total_ms;       /* no retry starts after this much time has
				    * passed since the first attempt, and no
				    * wait is begun that would end past it [900000] */
	uint64_t seed;             /* the jitter's RNG seed (0 is a seed too) */
	/* When set (e.g. by a signal handler), waits stop and no further
	 * attempt starts; the call returns PP_EINTR. May be NULL. */
	const volatile sig_atomic_t *stop;
};

/* Why an attempt got no usable response. */
enum pp_http_fail {
	PP_HTTP_NONE = 0,      /* a whole response arrived */
	PP_HTTP_CONNECT,       /* could not resolve or connect */
	PP_HTTP_TIMEOUT,       /* connect or total timeout */
	PP_HTTP_RESET,         /* connection reset or closed without a response */
	PP_HTTP_TRUNCATED,     /* the body ended before its announced length */
	PP_HTTP_TOO_BIG,       /* the body exceeded max_body */
	PP_HTTP_OTHER          /* anything else (bad URL, TLS setup, ...) */
};

struct pp_http_response {
	long status;               /* 0 when no status line arrived */
	struct pp_buf body;        /* what arrived, capped by max_body */
	/* When to try again, from the first present of retry-after-ms,
	 * Retry-After (seconds or an HTTP date), x-ratelimit-reset-requests
	 * ("1s", "6m0s", "20ms") and anthropic-ratelimit-requests-reset (an
	 * RFC 3339 time); -1 when none says. */
	long retry_after_ms;
	/* The mock server's X-Peerpres-Route (the reference route followed),
	 * or "". */
	char route[128];
	enum pp_http_fail fail;
	char error[256];           /* set with fail; never holds a header */
};

struct pp_http_stats {
	long attempts;             /* requests sent */
	long retries;              /* attempts after the first */
	long waited_ms;            /* time spent in backoff */
	long rate_limited;         /* attempts answered 429 */
};

/* Initialises libcurl once for the process (thread-unsafe in old
 * libcurls: call it early, before threads start). Idempotent. Returns
 * PP_OK or PP_EPROVIDER. */
int pp_http_global_init(void);

/* A client owns a reusable easy handle, so consecutive exchanges with the
 * same host reuse the connection. *out is new; free with
 * pp_http_client_free (NULL-safe). Returns PP_OK or PP_ENOMEM. */
struct pp_http_client;
int pp_http_client_new(struct pp_http_client **out);
void pp_http_client_free(struct pp_http_client *c);

void pp_http_response_init(struct pp_http_response *r);
/* Frees the body and re-initialises r. */
void pp_http_response_release(struct pp_http_response *r);

/*
 * One exchange, no retry. client may be NULL (a handle for this call
 * only); pol may be NULL (all defaults). resp must be initialised; it is
 * reset first. Returns PP_OK when a whole response arrived (whatever its
 * status), PP_EPROVIDER when none did (resp->fail and resp->error say
 * why; what arrived is in resp->body), PP_EINVAL for a request curl
 * cannot send, PP_ENOMEM.
 */
int pp_http_perform(struct pp_http_client *client, const struct pp_http_request *req,
		    const struct pp_http_policy *pol, struct pp_http_response *resp);

/* Whether the exchange in resp is worth repeating. A callback lets a
 * provider retry a 2xx whose body is not its wire format. */
typedef bool (*pp_http_retry_fn)(void *arg, const struct pp_http_response *resp);

/* The default rule: transport failures other than PP_HTTP_TOO_BIG and
 * PP_HTTP_OTHER, and statuses 408, 429 and 5xx. */
bool pp_http_retryable(const struct pp_http_response *resp);

/* The wait before retry number `retry` (1-based) with no hint from the
 * server: uniform in [0, min(backoff_max, backoff_base * 2^(retry-1))]
 * ("full jitter"), drawn from rng. */
struct pp_rng;
long pp_http_backoff_ms(const struct pp_http_policy *pol, int retry, struct pp_rng *rng);

/*
 * Sends req until an attempt is not retryable (retry, arg: NULL means
 * pp_http_retryable), or the attempts or the total time run out. Before
 * a retry it waits the backoff, or the server's retry_after_ms when that
 * is longer. resp holds the last attempt. stats (may be NULL) is
 * overwritten. Returns as pp_http_perform() for the last attempt, or
 * PP_EINTR when pol->stop was set.
 */
int pp_http_call(struct pp_http_client *client, const struct pp_http_request *req,
		 const struct pp_http_policy *pol, pp_http_retry_fn retry, void *arg,
		 struct pp_http_response *resp, struct pp_http_stats *stats);

/*
 * The event loop: many calls at once, each with pp_http_call()'s retry
 * rules, over one libcurl multi handle (connection reuse, HTTP/2
 * multiplexing where offered). Single-threaded: every function runs on
 * the thread that drives the loop.
 *
 * A done callback receives the call's final status (as pp_http_call:
 * PP_OK when a whole response arrived, PP_EPROVIDER when none did,
 * PP_ENOMEM, PP_EINVAL), the last attempt's response and the call's
 * stats; resp and stats are borrowed for the callback only. Callbacks run
 * from pp_http_multi_step() and may add further calls.
 */
struct pp_http_multi;
typedef void (*pp_http_done_fn)(void *arg, int rc, struct pp_http_response *resp,
				const struct pp_http_stats *stats);

/* *out is new; pol (may be NULL: defaults) is copied, its stop flag kept.
 * max_connections > 0 caps the connections per host and in the cache
 * (the concurrency); 0 leaves curl's defaults. PP_ENOMEM, PP_EPROVIDER. */
int pp_http_multi_new(struct pp_http_multi **out, const struct pp_http_policy *pol,
		      long max_connections);
/* Abandons every call still live (no callback runs) and frees m.
 * NULL-safe. */
void pp_http_multi_free(struct pp_http_multi *m);

/* Starts a call. req is borrowed until its callback has run; seed seeds
 * its backoff jitter; retry, retry_arg as in pp_http_call. PP_OK,
 * PP_ENOMEM, or PP_EINVAL for a request curl cannot send (no callback
 * will run for a call that failed to start). */
int pp_http_multi_add(struct pp_http_multi *m, const struct pp_http_request *req, uint64_t seed,
		      pp_http_retry_fn retry, void *retry_arg, pp_http_done_fn done, void *done_arg);

/* Waits up to timeout_ms for network activity or a due retry, moves
 * every transfer on and runs the callbacks of the calls that ended.
 * PP_OK; PP_EINTR when the policy's stop flag is set (nothing is done);
 * PP_ENOMEM; PP_EPROVIDER when libcurl's loop fails. */
int pp_http_multi_step(struct pp_http_multi *m, long timeout_ms);

/* Calls started and not yet handed back to their callback. */
size_t pp_http_multi_live(const struct pp_http_multi *m);

/* Retries begun over the loop's life (attempts after a call's first),
 * those of calls still waiting included, so a progress line can show
 * them before any call ends. 0 for NULL. */
long pp_http_multi_retries(const struct pp_http_multi *m);

/* Why the last failed attempt failed, in short: "HTTP 503", or the
 * transport's reason without the request's method and URL ("Couldn't
 * connect to server (...)"); "" when none failed or m is NULL. Redacted
 * as resp->error is. Borrowed until the next step. */
const char *pp_http_multi_last_error(const struct pp_http_multi *m);

#endif
