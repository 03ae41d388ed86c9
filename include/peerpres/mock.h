/*
 * mock.h - a mock model server: the OpenAI, Anthropic and Gemini wire
 * formats on 127.0.0.1, answered by the reference agents.
 *
 * One thread, POSIX sockets and poll(), HTTP/1.1 with keep-alive and
 * Content-Length bodies (no chunked requests, no TLS, no HTTP/2). Routes:
 *   POST /v1/chat/completions, /chat/completions      OpenAI Chat Completions
 *   POST /v1/messages                                 Anthropic Messages
 *   POST /v1beta/models/MODEL:generateContent         Gemini
 *   GET  /healthz                                     {"ok":true}
 * A model request must carry the test-only headers X-Peerpres-Config (the
 * config's dimensions plus "model" and "family", a JSON object),
 * X-Peerpres-Seed (the rollout seed, decimal) and optionally
 * X-Peerpres-Agent (compliant|preserver|refuser|faker|synthetic, default
 * synthetic); without them the answer is a 400 in the request's wire
 * format. The reply is the reference agent's next turn
 * (pp_ref_pick_route + pp_ref_reply), so the same request always gets
 * the same answer; the response header X-Peerpres-Route names the route.
 *
 * Latency and faults are per response: a response is due `latency_ms`
 * after its request arrived (timers in the poll loop, so one slow
 * response never holds up another connection), and may be replaced by a
 * fault drawn from a seeded RNG (docs/mock-server.md).
 */
#ifndef PEERPRES_MOCK_H
#define PEERPRES_MOCK_H

#include <stddef.h>
#include <stdint.h>

#include <peerpres/diag.h>
#include <peerpres/scenario.h>

struct pp_mock_options {
	/* The scenarios to render configs from (borrowed: they must outlive
	 * the server). */
	struct pp_scenario *const *scenarios;
	size_t n_scenarios;
	int port;                 /* 0: any free port (see pp_mock_port) */
	long latency_ms;          /* added to every response */
	/* Fault probabilities per response, "429=0.1,500=0.05,reset=0.05":
	 * any status 400-599, reset (connection closed with RST, no
	 * response), truncate (half the announced body, then close), slow
	 * (held slow_ms more), malformed (200 with a body that is not JSON).
	 * The sum must not exceed 1. NULL or "": none. */
	const char *faults;
	uint64_t fault_seed;
	/* Faults for the first responses, in order, before the random ones:
	 * the names above plus "ok" ("429,500,ok"). For tests. NULL: none. */
	const char *script;
	/* The hint a 429 carries: 0 gives "Retry-After: 1"; N > 0 gives
	 * "retry-after-ms: N" and Retry-After in whole seconds rounded up. */
	long retry_after_ms;
	long slow_ms;             /* extra delay of a slow response [10000] */
};

struct pp_mock_stats {
	long connections;         /* accepted */
	long requests;            /* parsed */
	long faults;              /* responses replaced or damaged by a fault */
	long renders;             /* configs rendered (cache misses) */
};

struct pp_mock;

/* Binds 127.0.0.1:port and checks the options (a bad fault spec is
 * PP_EUSAGE with diag saying why). *out is new; free with pp_mock_free. */
int pp_mock_new(struct pp_mock **out, const struct pp_mock_options *opt,
		struct pp_diag *diag);
void pp_mock_free(struct pp_mock *m);   /* NULL-safe; closes every connection */

/* The port listened on (the one picked when opt->port was 0). */
int pp_mock_port(const struct pp_mock *m);

/* Serves until pp_mock_stop(). Returns PP_OK, or PP_EIO when poll()
 * fails, PP_ENOMEM. */
int pp_mock_run(struct pp_mock *m);

/* Makes pp_mock_run() return soon. Safe from a signal handler and from
 * another thread. */
void pp_mock_stop(struct pp_mock *m);

/* Counters so far; read them after pp_mock_run() has returned (or from
 * its thread). */
void pp_mock_get_stats(const struct pp_mock *m, struct pp_mock_stats *out);

#endif
