/*
 * mock_int.h - the pieces of the mock server; private to src/mock.
 *
 * server.c owns sockets and timing, answer.c turns one parsed request
 * into one reply (routing, the X-Peerpres-* headers, the render cache,
 * faults that change the status), wire.c speaks the three formats and
 * faults.c draws faults.
 */
#ifndef PP_MOCK_INT_H
#define PP_MOCK_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <peerpres/buf.h>
#include <peerpres/diag.h>
#include <peerpres/hash.h>
#include <peerpres/json.h>
#include <peerpres/mock.h>

enum mock_format { MOCK_OPENAI, MOCK_ANTHROPIC, MOCK_GEMINI };

/* A fault: a status (400-599) when positive, else one of these. */
enum {
	FAULT_NONE = 0,
	FAULT_RESET = -1,
	FAULT_TRUNCATE = -2,
	FAULT_SLOW = -3,
	FAULT_MALFORMED = -4
};

#define MOCK_MAX_FAULTS 16

struct mock_faults {
	int kind[MOCK_MAX_FAULTS];
	double p[MOCK_MAX_FAULTS];
	size_t n;
	int *script;             /* owned */
	size_t n_script, pos;
	struct pp_rng rng;
};

/* Parses spec and script (either may be NULL). PP_EUSAGE with diag. */
int mock_faults_init(struct mock_faults *f, const char *spec, const char *script,
		     uint64_t seed, struct pp_diag *diag);
void mock_faults_release(struct mock_faults *f);
/* The fault of the next response (FAULT_NONE mostly). */
int mock_faults_next(struct mock_faults *f);

/* A rendered config kept for later requests of the same config. */
struct mock_render {
	char *key;               /* canonical JSON of the config header */
	struct pp_json *rendered;
	struct mock_render *next;
};

#define MOCK_CACHE_BUCKETS 512
/* Past this many entries the cache starts again empty. */
#define MOCK_CACHE_MAX 4096

struct mock_conn;

struct pp_mock {
	struct pp_mock_options opt;
	int listen_fd;
	int wake[2];             /* self-pipe: pp_mock_stop writes a byte */
	int port;
	struct mock_conn **conns;
	size_t n_conns, cap_conns;
	bool any_closed;         /* since the last sweep of conns */
	int epfd;                /* every open socket, or -1 before the first run */
	struct mock_conn **timers;   /* a min-heap by due time of the waiting replies */
	size_t n_timers, cap_timers;
	struct mock_faults faults;
	struct mock_render *cache[MOCK_CACHE_BUCKETS];
	size_t n_cached;
	struct pp_mock_stats stats;
};

/* One request, parsed in place in its connection's buffer. Header values
 * are NULL when absent. */
struct mock_request {
	const char *method;
	const char *path;        /* without the query string */
	const char *config, *seed, *agent;
	const char *body;
	size_t body_len;
};

/* What to send back. */
struct mock_reply {
	int status;
	struct pp_buf body;
	char headers[256];       /* extra "Name: value\r\n" lines */
	int fault;               /* FAULT_RESET, _TRUNCATE, _SLOW, _MALFORMED or 0 */
};

/* Fills reply (initialised by the caller) for rq. Only PP_ENOMEM fails:
 * every bad request is a reply. */
int mock_answer(struct pp_mock *m, const struct mock_request *rq, struct mock_reply *reply);
void mock_cache_clear(struct pp_mock *m);

/* judge.c. The reference judge's answer when body holds a judge
 * question (*handled set), in format f; model: the model of a Gemini
 * path, or "" to read the body's. */
int mock_judge_answer(enum mock_format f, const char *model, const struct pp_json *body,
		      struct mock_reply *r, bool *handled);

/* skim.c. Reads a request body without building it: true when body is
 * one JSON object whose assistant turns (the count mock_wire_turns gives)
 * and "model" string ("mock" when absent or not a string; model_len
 * bytes at most, 8 or more) it could read for sure; false means "parse
 * it whole". */
bool mock_skim(enum mock_format f, const char *body, size_t len, size_t *turns, char *model,
	       size_t model_len);

/* wire.c. The assistant turns of a request body. */
size_t mock_wire_turns(enum mock_format f, const struct pp_json *body);
/* A 200 body for msg (the internal assistant shape), appended to out. */
int mock_wire_reply(enum mock_format f, const char *model, const struct pp_json *msg,
		    long input_tokens, long output_tokens, struct pp_buf *out);
/* An error body in the format's shape, appended to out. */
int mock_wire_error(enum mock_format f, int status, const char *message, struct pp_buf *out);
/* "OK", "Too Many Requests", ... */
const char *mock_reason(int status);

#endif
