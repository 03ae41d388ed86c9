/*
 * retry.c - the retry loop around one exchange.
 *
 * Backoff is "full jitter": the wait before retry k is uniform in
 * [0, min(max, base * 2^(k-1))], so many clients that failed together do
 * not come back together. A server's own hint (Retry-After and the
 * rate-limit reset headers) is a floor on the wait: coming back earlier
 * only earns another 429. The total-time cap is checked before each wait,
 * so a call never sleeps past it.
 */
#include <errno.h>
#include <time.h>

#include <peerpres/hash.h>
#include <peerpres/http.h>
#include <peerpres/status.h>

#include "core/monotonic.h"
#include "net/exchange.h"

#define DEFAULT_MAX_ATTEMPTS 12
#define DEFAULT_BACKOFF_BASE_MS 500L
#define DEFAULT_BACKOFF_MAX_MS 60000L
#define DEFAULT_RETRY_TOTAL_MS 900000L
/* Waits are cut into slices this long so a stop request is seen soon. */
#define SLICE_MS 50L

bool pp_http_retryable(const struct pp_http_response *resp)
{
	switch (resp->fail) {
	case PP_HTTP_NONE:
		return resp->status == 408 || resp->status == 429 ||
		       (resp->status >= 500 && resp->status <= 599);
	case PP_HTTP_TOO_BIG:
	case PP_HTTP_OTHER:
		return false;
	default:
		return true;
	}
}

long pp_http_backoff_ms(const struct pp_http_policy *pol, int retry, struct pp_rng *rng)
{
	long base = pol && pol->backoff_base_ms > 0 ? pol->backoff_base_ms : DEFAULT_BACKOFF_BASE_MS;
	long max = pol && pol->backoff_max_ms > 0 ? pol->backoff_max_ms : DEFAULT_BACKOFF_MAX_MS;
	long bound = base;
	int k;

	for (k = 1; k < retry && bound < max; k++)
		bound *= 2;
	if (bound > max)
		bound = max;
	return (long)pp_rng_below(rng, (uint64_t)bound + 1);
}

long pp_net_now_ms(void)
{
	return (long)pp_monotonic_ms();
}

static bool stopped(const struct pp_http_policy *pol)
{
	return pol && pol->stop && *pol->stop;
}

/* Sleeps ms, in slices; false when stopped. */
static bool wait_ms(const struct pp_http_policy *pol, long ms)
{
	while (ms > 0 && !stopped(pol)) {
		long step = ms < SLICE_MS ? ms : SLICE_MS;
		struct timespec ts = { step / 1000, (step % 1000) * 1000000L };

		while (nanosleep(&ts, &ts) && errno == EINTR && !stopped(pol))
			;
		ms -= step;
	}
	return !stopped(pol);
}

long pp_net_retry_wait(const struct pp_http_policy *pol, int attempts, long elapsed_ms,
		       const struct pp_http_response *resp, pp_http_retry_fn retry, void *arg,
		       struct pp_rng *rng)
{
	int max_attempts = pol && pol->max_attempts > 0 ? pol->max_attempts : DEFAULT_MAX_ATTEMPTS;
	long cap_ms = pol && pol->retry_total_ms > 0 ? pol->retry_total_ms : DEFAULT_RETRY_TOTAL_MS;
	long wait;

	if (!(retry ? retry(arg, resp) : pp_http_retryable(resp)) || attempts >= max_attempts)
		return -1;
	wait = pp_http_backoff_ms(pol, attempts, rng);
	if (resp->retry_after_ms > wait)
		wait = resp->retry_after_ms;
	return elapsed_ms + wait > cap_ms ? -1 : wait;
}

int pp_http_call(struct pp_http_client *client, const struct pp_http_request *req,
		 const struct pp_http_policy *pol, pp_http_retry_fn retry, void *arg,
		 struct pp_http_response *resp, struct pp_http_stats *stats)
{
	struct pp_http_stats local = { 0, 0, 0, 0 }, *st = stats ? stats : &local;
	long t0 = pp_net_now_ms(), wait;
	struct pp_rng rng;
	int rc;

	*st = local;
	pp_rng_seed(&rng, pol ? pol->seed : 0);
	for (;;) {
		if (stopped(pol))
			return PP_EINTR;
		st->attempts++;
		rc = pp_http_perform(client, req, pol, resp);
		if (rc == PP_ENOMEM || rc == PP_EINVAL)
			return rc;
		if (resp->status == 429)
			st->rate_limited++;
		wait = pp_net_retry_wait(pol, (int)st->attempts, pp_net_now_ms() - t0, resp, retry, arg, &rng);
		if (wait < 0)
			return rc;
		if (!wait_ms(pol, wait))
			return PP_EINTR;
		st->waited_ms += wait;
		st->retries++;
	}
}
