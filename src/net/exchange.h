/*
 * exchange.h - one attempt of an HTTP exchange on an easy handle, split
 * in two so the blocking transport (curl_easy_perform) and the event
 * loop (curl_multi) share the setup and the reading of the result.
 * Private to src/net.
 *
 * Between begin and end the handle points into x (error buffer, header
 * list, callbacks): x must stay at one address until end or release.
 */
#ifndef PP_NET_EXCHANGE_H
#define PP_NET_EXCHANGE_H

#include <stdbool.h>

#include <curl/curl.h>

#include <peerpres/http.h>

struct pp_net_exchange {
	struct pp_http_response *resp;
	bool too_big;
	/* The hints as they arrive; combined in order of trust at the end. */
	long after_ms, after_s, reset_openai_ms, reset_anthropic_ms;
	struct curl_slist *headers;
	char errbuf[CURL_ERROR_SIZE];
};

/* Resets resp and sets the handle up for req. PP_OK, or PP_ENOMEM /
 * PP_EINVAL with resp->error set and nothing left to release. */
int pp_net_exchange_begin(struct pp_net_exchange *x, CURL *e, const struct pp_http_request *req,
			  const struct pp_http_policy *pol, struct pp_http_response *resp);

/* Reads the outcome of the transfer that ended with code into x->resp
 * and releases x. PP_OK when a whole response arrived, PP_EPROVIDER when
 * none did (resp->fail, resp->error say why). */
int pp_net_exchange_end(struct pp_net_exchange *x, CURL *e, const struct pp_http_request *req,
			CURLcode code);

/* Drops what begin set up, for a transfer abandoned before its end. */
void pp_net_exchange_release(struct pp_net_exchange *x, CURL *e);

/* The wait before attempt number attempts + 1 after the response in
 * resp, or -1 when resp stands: not retryable (retry, arg: NULL means
 * pp_http_retryable), attempts used up, or the wait would end past the
 * total retry time (elapsed_ms since the first attempt). */
struct pp_rng;
long pp_net_retry_wait(const struct pp_http_policy *pol, int attempts, long elapsed_ms,
		       const struct pp_http_response *resp, pp_http_retry_fn retry, void *arg,
		       struct pp_rng *rng);

/* CLOCK_MONOTONIC in milliseconds. */
long pp_net_now_ms(void);

#endif
