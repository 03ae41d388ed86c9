/*
 * runner.c - the runner: every missing rollout of every config of the
 * plan, driven to its end and stored in one transaction each.
 *
 * Rollouts are small state machines (rollout.h), so many run at once on
 * one thread: a slot holds one rollout in flight; when it wants the model
 * it starts a call on the event loop and returns; the call's callback
 * feeds the reply and moves it on to its next call or its end. In-process
 * providers answer at once, so their rollouts run one after another
 * through the same code. Configs are prepared lazily, in plan order, and
 * freed when their last rollout is stored, so memory follows the
 * rollouts in flight, not the size of the plan.
 *
 * Writes go in batches (pp_store_begin), opened at the first write after
 * a commit. A finished rollout is committed before the loop waits on the
 * network again: the rollouts one turn of the loop finished share one
 * commit (group commit), and one finished outside the loop (an
 * in-process agent) is committed at once, so a crash loses the rollouts
 * in flight and never a finished one (ARCHITECTURE.md, the store).
 * Cached answers alone wait up to BATCH_MS for company: losing them
 * loses nothing but a cache entry of a rollout still in flight.
 *
 * Ctrl-C sets opt->stop: no rollout starts, the calls in flight are
 * abandoned (their rollouts are not stored), the finished ones are kept,
 * and the same command does the rest.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <peerpres/hash.h>
#include <peerpres/price.h>
#include <peerpres/provider.h>
#include <peerpres/rollout.h>
#include <peerpres/run.h>
#include <peerpres/status.h>

#include "core/alloc.h"
#include "core/monotonic.h"
#include "engine/call.h"
#include "engine/engine_int.h"
#include "engine/writer.h"

/* How long one turn of the loop waits for the network at most. */
#define STEP_MS 200L
/* The loop reports progress at least this often while no rollout is
 * stored: the CLI's line (every ten seconds in a log) would otherwise
 * wait for a store that may take minutes. */
#define PROGRESS_MS 1000.0
/* The adaptive mode lowers the concurrency at most this often. */
#define ADAPT_INTERVAL_MS 1000.0
/* A batch holding only cached answers is committed this long after its
 * first write at the latest. */
#define BATCH_MS 200.0

struct run_ctx;

/* One rollout in flight. */
struct slot {
	struct run_ctx *c;
	struct pp_prepared *pc;
	size_t at;                   /* its place in run_ctx.slots */
	double expected_usd;         /* its expected cost, for --budget */
	long idx;
	uint64_t seed;
	struct pp_rollout *r;
	char agent[128], started[32];
	double t0_ms;
	double cost_usd;             /* of its calls so far */
	struct pp_wire_cache *wire;  /* its transcript as sent (HTTP providers) */
	struct pp_caller_call call;  /* the call in flight, if any */
};

struct run_ctx {
	const struct pp_run_options *opt;
	struct pp_scenario *const *scenarios;
	size_t n_scenarios;
	const struct pp_json *configs;   /* the plan's entries */
	size_t next_config;
	long *stored_at_start;           /* per config: rollouts stored before the run */
	long *limit_of;                  /* per config: indexes handed out are below it */
	struct pp_prepared *cur;         /* handing out indexes */
	struct pp_detector_cache *detectors;   /* the configs' compiled detectors */
	struct pp_model_caller caller;
	const char *model_name;          /* after "provider/" */
	struct pp_store *store;
	int64_t run_id;
	struct pp_run_result *res;
	struct pp_run_progress prog;
	long starts_left;                /* under --limit; <0: unlimited */
	struct slot **slots;
	size_t n_slots, cap_slots;
	long limit;                      /* rollouts in flight at most, now */
	long clean_streak;               /* calls without a 429 since the last change */
	double lowered_at_ms;
	struct pp_price_table *prices;
	struct pp_price price;
	bool priced;                     /* the model has a price (cost is known) */
	double spent_usd;                /* every call answered so far, in flight too */
	/* --budget: what the slots are still expected to spend beyond what
	 * they spent (each at least 0), and how many spent their expectation
	 * already (each still has a call out): see budget_term. */
	double in_flight_more;
	long in_flight_over;
	struct pp_writer *writer;        /* the storing thread, or NULL: batches here */
	bool batch_open;                 /* a write transaction is open */
	long batch_n;                    /* rollouts stored in it */
	double batch_t0;                 /* when it opened */
	bool in_step;                    /* inside the event loop's callbacks */
	double reported_ms;              /* when progress was last reported */
	long error_streak;               /* rollouts stored in a row with status error */
	char last_error[512];            /* the last one's message */
	int rc;                          /* the first error that stops the run */
	struct pp_diag *diag;
};

static void now_iso(char out[32])
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	if (!strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
		out[0] = '\0';
}

static bool stopped(const struct run_ctx *c)
{
	return c->opt->stop && *c->opt->stop;
}

/* Stops the run with rc; the first error is the one reported. */
static void fail_run(struct run_ctx *c, const struct slot *s, int rc)
{
	if (c->rc)
		return;
	c->rc = rc;
	pp_diag_set(c->diag, rc, NULL, 0, 0, "rollout %.12s:%ld: %s", s->pc->config_id, s->idx,
		    rc == PP_ESTORE || rc == PP_EINVAL ? pp_store_errmsg(c->store) : pp_strerror(rc));
}

/* ---- batches of writes ---- */

/* Opens a batch unless one is open; the caller's cache writes join it.
 * A batch the caller of pp_run opened (PP_EINVAL) is joined instead, and
 * left for that caller to commit. */
static int batch_join(struct run_ctx *c)
{
	int rc;

	if (c->batch_open)
		return PP_OK;
	if ((rc = pp_store_begin(c->store, NULL)))
		return rc == PP_EINVAL ? PP_OK : rc;
	c->batch_open = true;
	c->batch_n = 0;
	c->batch_t0 = pp_monotonic_ms();
	return PP_OK;
}

/* The writer's first failure (rc, msg) stops the run. */
static void writer_failed(struct run_ctx *c, int rc, const char *msg)
{
	if (rc && !c->rc) {
		c->rc = rc;
		pp_diag_set(c->diag, rc, NULL, 0, 0, "%s", msg);
	}
}

/* Frees what the writer stored; its failure stops the run. */
static void writer_collect(struct run_ctx *c)
{
	char msg[1024];

	writer_failed(c, pp_writer_collect(c->writer, msg, sizeof(msg)), msg);
}

/* Commits the open batch when it is due: it holds a finished rollout,
 * its cached answers have waited BATCH_MS, or force. A failed commit
 * stops the run: what the batch held is not stored. With a writer,
 * collects what it stored instead. */
static void batch_end(struct run_ctx *c, bool force)
{
	int rc;

	if (c->writer) {
		writer_collect(c);
		return;
	}
	if (!c->batch_open ||
	    (!force && !c->batch_n && pp_monotonic_ms() - c->batch_t0 < BATCH_MS))
		return;
	c->batch_open = false;
	if ((rc = pp_store_commit(c->store)) && !c->rc) {
		c->rc = rc;
		pp_diag_set(c->diag, rc, NULL, 0, 0, "%s", pp_store_errmsg(c->store));
	}
}

/* How long the loop may wait before the open batch is due. */
static long step_timeout(const struct run_ctx *c)
{
	double left;

	if (!c->batch_open)
		return STEP_MS;
	left = BATCH_MS - (pp_monotonic_ms() - c->batch_t0);
	return left <= 0 ? 0 : left >= STEP_MS ? STEP_MS : (long)left + 1;
}

/* ---- the work: configs in plan order, missing indexes in order ---- */

static const struct pp_scenario *scenario_named(const struct run_ctx *c, const char *name)
{
	size_t k;

	for (k = 0; k < c->n_scenarios; k++)
		if (!strcmp(pp_scenario_name(c->scenarios[k]), name))
			return c->scenarios[k];
	return NULL;
}

/* The config's record: to the writer, or into this thread's batch. The
 * loop's thread then never writes while the writer holds the store's
 * lock: SQLite's busy wait, on this thread, held up every rollout. */
static int store_config(struct run_ctx *c, struct pp_prepared *pc)
{
	struct pp_json *rec = pc->record;
	int rc;

	pc->record = NULL;
	if (c->writer) {
		if ((rc = pp_writer_put_config(c->writer, rec)))
			pp_diag_set(c->diag, rc, NULL, 0, 0, "config %.12s: %s", pc->config_id,
				    pp_strerror(rc));
		return rc;
	}
	if ((rc = batch_join(c)) || (rc = pp_store_put_config(c->store, rec)))
		pp_diag_set(c->diag, rc, NULL, 0, 0, "%s", pp_store_errmsg(c->store));
	pp_json_decref(rec);
	return rc;
}

static void report_progress(struct run_ctx *c);

/* A plan entry's dimensions (new): the entry is the dims plus the id,
 * which is derived. NULL when out of memory. */
static struct pp_json *dims_of(const struct pp_json *entry)
{
	struct pp_json *dims = pp_json_deep_copy(entry);

	if (dims && pp_json_remove(dims, 0, "config_id")) {
		pp_json_decref(dims);
		return NULL;
	}
	return dims;
}

static int prepare_next(struct run_ctx *c, struct pp_prepared **out)
{
	const struct pp_json *e = pp_json_at(c->configs, c->next_config++);
	struct pp_json *dims = dims_of(e);
	int rc = dims ? PP_OK : PP_ENOMEM;

	if (!rc)
		rc = pp_prepared_new(c->opt, c->store, scenario_named(c, pp_json_get_str(e, "scenario", "")),
				     dims, c->detectors, out, c->diag);
	pp_json_decref(dims);
	if (!rc)
		(*out)->limit = c->limit_of[c->next_config - 1];
	if (!rc && (rc = store_config(c, *out))) {
		pp_prepared_free(*out);
		*out = NULL;
	}
	/* Another process writing the same plan may have stored more of
	 * this config since the run counted it: those are there too. */
	if (!rc && (*out)->n_done > c->stored_at_start[c->next_config - 1]) {
		long more = (*out)->n_done - c->stored_at_start[c->next_config - 1];

		c->res->skipped += more;
		c->prog.done += more;
		report_progress(c);   /* it may be the plan's last */
	}
	return rc;
}

static void release_config(struct pp_prepared *pc)
{
	if (!pc->current && !pc->in_flight)
		pp_prepared_free(pc);
}

/* The next rollout to start: false when the plan is done (or failed). */
static bool next_work(struct run_ctx *c, struct pp_prepared **pc, long *idx)
{
	for (;;) {
		if (c->cur && (*idx = pp_prepared_next(c->cur, c->cur->limit)) >= 0) {
			*pc = c->cur;
			return true;
		}
		if (c->cur) {
			c->cur->current = false;
			release_config(c->cur);
			c->cur = NULL;
		}
		if (c->next_config >= pp_json_len(c->configs))
			return false;
		if ((c->rc = prepare_next(c, &c->cur)))
			return false;
	}
}

/* ---- one rollout ---- */

static int slot_add(struct run_ctx *c, struct slot *s)
{
	struct slot **at = pp_grow(c->slots, &c->cap_slots, c->n_slots, 1, sizeof(*at));

	if (!at)
		return PP_ENOMEM;
	c->slots = at;
	s->at = c->n_slots;
	c->slots[c->n_slots++] = s;
	return PP_OK;
}

/* Adds (sign +1) or takes back (-1) a slot's part of the projection:
 * kept as running sums, since the budget is checked at every start. */
static void budget_term(struct run_ctx *c, const struct slot *s, int sign)
{
	double more = s->expected_usd - s->cost_usd;

	if (more > 0)
		c->in_flight_more += sign * more;
	else if (s->expected_usd > 0)
		c->in_flight_over += sign;
}

static void slot_free(struct run_ctx *c, struct slot *s)
{
	c->slots[s->at] = c->slots[--c->n_slots];
	c->slots[s->at]->at = s->at;
	pp_http_request_release(&s->call.hr);
	pp_rollout_free(s->r);
	pp_wire_cache_free(s->wire);
	budget_term(c, s, -1);
	if (!c->n_slots) /* no rounding left over between runs of slots */
		c->in_flight_more = 0;
	s->pc->in_flight--;
	release_config(s->pc);
	free(s);
}

/* A call's result is also the content of its tool message: keeping it
 * once saves about a quarter of the store. */
static void drop_duplicate_results(struct pp_json *rec)
{
	const struct pp_json *log = pp_json_get(rec, "tool_calls");
	size_t i;

	for (i = 0; i < pp_json_len(log); i++)
		pp_json_remove(pp_json_at(log, i), 0, "result");
}

/* The record of a finished rollout, as the store takes it. */
static int rollout_record(struct run_ctx *c, struct slot *s, struct pp_json **out)
{
	struct pp_json *rec = NULL, *prov = NULL;
	char finished[32];
	int rc = pp_rollout_finish(s->r, &rec);

	now_iso(finished);
	if (!rc)
		rc = pp_provenance(c->opt, s->pc, rec, &prov);
	if (!rc) {
		rc = pp_json_set(rec, "provenance", prov);
		prov = NULL;
	}
	if (!rc && (pp_json_set_str(rec, "config_id", s->pc->config_id) ||
		    pp_json_set(rec, "idx", pp_json_integer(s->idx)) ||
		    pp_json_set(rec, "seed", pp_json_integer((long long)s->seed)) ||
		    pp_json_set(rec, "agent", s->agent[0] ? pp_json_string(s->agent) : pp_json_null()) ||
		    pp_json_set_str(rec, "started_at", s->started) ||
		    pp_json_set_str(rec, "finished_at", finished) ||
		    pp_json_set(rec, "duration_ms", pp_json_real(pp_monotonic_ms() - s->t0_ms)) ||
		    pp_json_set(rec, "cost_usd", c->priced ? pp_json_real(s->cost_usd) : pp_json_null())))
		rc = PP_ENOMEM;
	pp_json_decref(prov);
	if (rc) {
		pp_json_decref(rec);
		return rc;
	}
	drop_duplicate_results(rec);
	*out = rec;
	return PP_OK;
}

static void count_stored(struct run_ctx *c, const struct pp_json *rec)
{
	const struct pp_json *u = pp_json_get(rec, "usage");
	long long in = 0, out = 0, reasoning = 0;

	pp_json_int(pp_json_get(u, "input_tokens"), &in);
	pp_json_int(pp_json_get(u, "output_tokens"), &out);
	pp_json_int(pp_json_get(u, "reasoning_tokens"), &reasoning);
	c->res->input_tokens += (long)in;
	c->res->output_tokens += (long)out;
	c->res->reasoning_tokens += (long)reasoning;
	c->res->done++;
	if (!strcmp(pp_json_get_str(rec, "status", ""), "error")) {
		c->res->errors++;
		c->error_streak++;
		snprintf(c->last_error, sizeof(c->last_error), "%s",
			 pp_json_get_str(rec, "error", "no message"));
	} else {
		c->error_streak = 0;
	}
	c->prog.done++;
	c->prog.stored++;
	c->prog.errors = c->res->errors;
	c->prog.input_tokens = c->res->input_tokens;
	c->prog.cost_usd = c->res->cost_usd;
	c->prog.output_tokens = c->res->output_tokens;
}

/* Rollouts this run has still to store, for the ETA: with --limit,
 * the plan's total says nothing about when the run ends. */
static long rollouts_left(const struct run_ctx *c)
{
	long unstarted = c->prog.total - c->prog.done - (long)c->n_slots;

	if (unstarted < 0)
		unstarted = 0;
	if (c->starts_left >= 0 && c->starts_left < unstarted)
		unstarted = c->starts_left;
	return (long)c->n_slots + unstarted;
}

static void report_progress(struct run_ctx *c)
{
	if (!c->opt->progress)
		return;
	c->reported_ms = pp_monotonic_ms();
	c->prog.left = rollouts_left(c);
	c->prog.retries = pp_caller_retries(&c->caller);
	c->prog.last_error = pp_caller_last_error(&c->caller);
	c->prog.in_flight = (long)c->n_slots;
	c->prog.concurrency = c->limit;
	c->prog.cost_known = c->priced;
	c->opt->progress(c->opt->progress_arg, &c->prog);
}

/* Progress on time, when no store has reported it for a while. */
static void report_due(struct run_ctx *c)
{
	if (pp_monotonic_ms() - c->reported_ms >= PROGRESS_MS)
		report_progress(c);
}

/* Stores rec into this thread's batch, or hands it to the writer (which
 * takes the reference: rec is NULL then). */
static int store_rollout(struct run_ctx *c, struct slot *s, struct pp_json **rec)
{
	int rc;

	if (c->writer) {
		/* Counted first: from the hand-over on, the record is the
		 * writer's. A failure to store it stops the run. */
		c->res->cost_usd += s->cost_usd;
		count_stored(c, *rec);
		rc = pp_writer_put_rollout(c->writer, c->run_id, *rec);
		*rec = NULL;
		return rc;
	}
	if ((rc = batch_join(c)))
		return rc;
	rc = pp_store_put_rollout(c->store, c->run_id, *rec);
	if (rc == PP_EEXIST) {   /* another process stored it first: keep theirs */
		c->res->dropped++;
		return PP_OK;
	}
	if (rc)
		return rc;
	c->batch_n++;
	c->res->cost_usd += s->cost_usd;
	count_stored(c, *rec);
	return PP_OK;
}

/* The rollout has ended: store it and free its slot. */
static void finish(struct run_ctx *c, struct slot *s)
{
	struct pp_json *rec = NULL;
	int rc = rollout_record(c, s, &rec);

	if (!rc)
		rc = store_rollout(c, s, &rec);
	if (rc)
		fail_run(c, s, rc);
	pp_json_decref(rec);
	slot_free(c, s);
	if (!rc)
		report_progress(c);
	/* Inside the loop's callbacks the end of the turn commits them all. */
	if (!c->in_step)
		batch_end(c, false);
}

static void on_reply(void *arg, int rc, struct pp_model_reply *reply,
		     const struct pp_http_stats *stats);

/* One model call that answers at once: in-process, or from the response
 * cache. *pending is set when the call went out on the event loop
 * instead. Returns PP_OK with the reply in *reply, or sets the rollout's
 * failure and returns PP_EPROVIDER. */
static int call_now(struct slot *s, const struct pp_model_request *req,
		    struct pp_model_reply *reply, bool *pending)
{
	struct run_ctx *c = s->c;
	bool answered = false;
	int rc;

	*pending = false;
	if (pp_caller_in_process(&c->caller)) {
		memset(reply, 0, sizeof(*reply));
		if (!pp_caller_call(&c->caller, req, s->pc->mock_config, reply))
			return PP_OK;
		pp_json_decref(reply->message);
		pp_rollout_fail(s->r, reply->error[0] ? reply->error : "provider failure");
		return PP_EPROVIDER;
	}
	rc = pp_caller_start(&c->caller, &s->call, req, s->pc->mock_config, on_reply, s, &answered);
	if (!rc && answered) {
		*reply = s->call.reply;
		return PP_OK;
	}
	if (!rc) {
		*pending = true;
		return PP_OK;
	}
	pp_rollout_fail(s->r, rc == PP_ENOMEM ? "out of memory" : "the provider cannot encode the request");
	return rc == PP_ENOMEM ? PP_ENOMEM : PP_EPROVIDER;
}

/* Feeds a reply to the rollout; PP_OK or an error that stops the run. */
static int take_reply(struct slot *s, struct pp_model_reply *reply)
{
	struct run_ctx *c = s->c;
	double cost = c->priced ? pp_price_cost_usd(&c->price, reply->input_tokens,
						    reply->output_tokens, reply->reasoning_tokens,
						    reply->cached_tokens) : 0;

	budget_term(c, s, -1);
	s->cost_usd += cost;
	budget_term(c, s, +1);
	c->spent_usd += cost;
	if (reply->agent[0])
		snprintf(s->agent, sizeof(s->agent), "%s", reply->agent);
	return pp_rollout_feed(s->r, reply->message, reply->input_tokens, reply->output_tokens,
			       reply->reasoning_tokens);
}

/* Moves the rollout on until it waits for a reply on the event loop or
 * ends (then it is stored). */
static void advance(struct slot *s)
{
	struct run_ctx *c = s->c;
	int rc = PP_OK;

	while (pp_rollout_wants_model(s->r)) {
		struct pp_model_request req = { c->model_name, pp_rollout_messages(s->r),
						pp_rollout_tools(s->r), c->opt->temperature, s->seed,
						s->pc->rendered, s->wire };
		struct pp_model_reply reply;
		bool pending;

		rc = call_now(s, &req, &reply, &pending);
		if (pending)
			return;
		if (rc == PP_EPROVIDER) {
			rc = PP_OK;   /* the rollout failed, not the run */
			break;
		}
		if (rc || (rc = take_reply(s, &reply)))
			break;
	}
	if (rc) {
		fail_run(c, s, rc);
		slot_free(c, s);
		return;
	}
	finish(c, s);
}

/* Adaptive concurrency: a multiplicative cut on rate limits (at most once
 * a second, as the 429s of one burst arrive together), one more after as
 * many clean calls as are in flight. */
static void adapt(struct run_ctx *c, const struct pp_http_stats *stats)
{
	double t = pp_monotonic_ms();

	c->res->rate_limited += stats->rate_limited;
	if (!c->opt->adaptive)
		return;
	if (stats->rate_limited) {
		c->clean_streak = 0;
		if (t - c->lowered_at_ms >= ADAPT_INTERVAL_MS && c->limit > 1) {
			c->limit = c->limit * 3 / 4 > 0 ? c->limit * 3 / 4 : 1;
			c->lowered_at_ms = t;
			if (c->limit < c->res->concurrency_low)
				c->res->concurrency_low = c->limit;
		}
	} else if (++c->clean_streak >= c->limit && c->limit < c->opt->concurrency) {
		c->limit++;
		c->clean_streak = 0;
	}
}

static void on_reply(void *arg, int rc, struct pp_model_reply *reply,
		     const struct pp_http_stats *stats)
{
	struct slot *s = arg;
	struct run_ctx *c = s->c;

	adapt(c, stats);
	c->res->calls += !rc;
	if (rc) {
		pp_json_decref(reply->message);
		pp_rollout_fail(s->r, reply->error[0] ? reply->error : pp_strerror(rc));
		finish(c, s);
		return;
	}
	if ((rc = take_reply(s, reply))) {
		fail_run(c, s, rc);
		slot_free(c, s);
		return;
	}
	advance(s);
}

/*
 * What a new rollout of pc is expected to cost, for --budget: the mean
 * cost of the rollouts this run stored, or before there is one, the
 * estimate `plan` would give for its config (made once per config).
 */
static double expected_cost(struct run_ctx *c, struct pp_prepared *pc)
{
	if (c->opt->budget_usd <= 0 || !c->priced)
		return 0;
	if (c->res->done > 0)
		return c->res->cost_usd / (double)c->res->done;
	/* A route that cannot be played leaves the estimate at 0: the
	 * budget then counts the calls answered only, as without it. */
	if (pc->est_cost_usd < 0 &&
	    pp_rollout_cost_estimate(pc->rendered, c->opt, &c->price, &pc->est_cost_usd, NULL))
		pc->est_cost_usd = 0;
	return pc->est_cost_usd;
}

/* What the run will have spent once the rollouts in flight end: the calls
 * answered, plus what those rollouts are still expected to cost beyond
 * what they spent already, and at least one more call each for those
 * that spent their expectation already (a long rollout is not done). */
static double projected_spend(const struct run_ctx *c)
{
	double per_call = c->res->calls > 0 ? c->spent_usd / (double)c->res->calls : 0;

	return c->spent_usd + c->in_flight_more + (double)c->in_flight_over * per_call;
}

static int start(struct run_ctx *c, struct pp_prepared *pc, long idx)
{
	struct pp_rollout_config cfg = { pc->rendered, pc->labels, c->opt->max_iters,
					 c->opt->token_cap, pc->tools };
	struct slot *s = pp_calloc(1, sizeof(*s));
	char seed_text[128];
	int rc = PP_OK;

	if (!s)
		return PP_ENOMEM;
	s->c = c;
	s->pc = pc;
	s->idx = idx;
	snprintf(seed_text, sizeof(seed_text), "%s:%ld:%llu", pc->config_id, idx,
		 (unsigned long long)c->opt->seed);
	/* SQLite integers are signed 64-bit: keep seeds in 63 bits. */
	s->seed = pp_seed_from_text(seed_text) >> 1;
	s->t0_ms = pp_monotonic_ms();
	now_iso(s->started);
	pp_http_request_init(&s->call.hr);
	if (!pp_caller_in_process(&c->caller))
		rc = pp_wire_cache_new(&s->wire);
	if (rc || (rc = pp_rollout_new(&s->r, &cfg, c->diag)) || (rc = slot_add(c, s))) {
		pp_rollout_free(s->r);
		pp_wire_cache_free(s->wire);
		free(s);
		return rc;
	}
	pc->in_flight++;
	s->expected_usd = expected_cost(c, pc);
	budget_term(c, s, +1);
	if (c->starts_left > 0)
		c->starts_left--;
	advance(s);
	return PP_OK;
}

/* --budget: no rollout starts once the calls answered, and those the
 * rollouts in flight are expected to make, cost that much; so the run
 * passes the budget by what the estimates missed, not by the whole
 * concurrency's worth. */
static bool over_budget(struct run_ctx *c)
{
	if (c->opt->budget_usd <= 0 || projected_spend(c) < c->opt->budget_usd)
		return false;
	c->res->budget_reached = 1;
	return true;
}

/* So many rollouts failing in a row is the endpoint or the key, not the
 * rollouts: a run that went on would store its whole plan as errors. */
static bool failing(const struct run_ctx *c)
{
	return c->error_streak >= PP_ERROR_STREAK_STOP;
}

/* Starts rollouts until the limit of those in flight is reached. */
static void fill(struct run_ctx *c)
{
	struct pp_prepared *pc;
	long idx;

	while (!c->rc && !stopped(c) && (long)c->n_slots < c->limit && c->starts_left != 0 &&
	       !over_budget(c) && !failing(c) && next_work(c, &pc, &idx)) {
		int rc = start(c, pc, idx);

		if (rc && !c->rc) {
			c->rc = rc;
			pp_diag_set(c->diag, rc, NULL, 0, 0, "rollout %.12s:%ld: %s", pc->config_id,
				    idx, pp_strerror(rc));
		}
	}
}

static void loop(struct run_ctx *c)
{
	for (;;) {
		fill(c);
		if (c->rc || !c->n_slots)
			break;
		if (stopped(c))
			break;
		c->in_step = true;
		c->rc = pp_caller_step(&c->caller, step_timeout(c));
		c->in_step = false;
		if (c->rc == PP_EINTR)
			c->rc = PP_OK;
		else if (c->rc)
			pp_diag_set(c->diag, c->rc, NULL, 0, 0, "the HTTP event loop failed");
		batch_end(c, false);
		report_due(c);
	}
	c->res->interrupted = stopped(c);
}

/* Frees what an interrupted or failed run leaves in flight. The caller
 * must be closed first, so no callback can still run. */
static void abandon(struct run_ctx *c)
{
	while (c->n_slots)
		slot_free(c, c->slots[c->n_slots - 1]);
	free(c->slots);
	free(c->stored_at_start);
	free(c->limit_of);
	if (c->cur) {
		c->cur->current = false;
		release_config(c->cur);
	}
}

/* The caller's cache writes: to the writer, or into this thread's batch. */
static int write_cache(void *arg, const char *key, const char *entry, size_t len)
{
	struct run_ctx *c = arg;
	int rc;

	if (c->writer)
		return pp_writer_put_cache(c->writer, key, entry, len);
	if ((rc = batch_join(c)))
		return rc;
	return pp_store_cache_put(c->store, key, entry, len);
}

/* Storing goes to a thread of its own when the store allows a second
 * handle (a file, no transaction of the caller's open); otherwise it
 * stays on this thread, in batches. */
static int writer_start(struct run_ctx *c)
{
	int rc = pp_writer_start(&c->writer, c->store, c->diag);

	return rc == PP_EINVAL ? PP_OK : rc;
}

/* Stores what is still handed over and stops the thread. */
static void writer_finish(struct run_ctx *c)
{
	char msg[1024];
	long dropped = 0;
	int rc = pp_writer_finish(c->writer, &dropped, msg, sizeof(msg));

	c->writer = NULL;
	writer_failed(c, rc, msg);
	/* Counted as stored when handed over. */
	c->res->dropped += dropped;
	c->res->done -= dropped;
}

static int open_run(struct run_ctx *c, struct pp_json **plan)
{
	const struct pp_run_options *opt = c->opt;
	long conn = opt->concurrency > 0 ? opt->concurrency : 1;
	bool any = true;
	int rc;

	if ((rc = pp_caller_open(&c->caller, opt->model, &opt->provider, opt->stop, conn, c->diag)))
		return rc;
	c->model_name = strchr(opt->model, '/') + 1;
	if ((rc = pp_price_table_load(&c->prices, opt->prices_file, c->diag)))
		return rc;
	c->priced = !pp_price_lookup(c->prices, opt->model, &c->price);
	if (opt->budget_usd > 0 && !c->priced)
		return pp_diag_set(c->diag, PP_EUSAGE, NULL, 0, 0,
				   "--budget needs a price for '%s' (add it with --prices FILE)", opt->model);
	c->caller.cache = opt->no_cache ? NULL : c->store;
	/* An error here only costs the lookups' saving. */
	if (c->caller.cache && pp_store_cache_any(c->store, &any))
		any = true;
	c->caller.cache_cold = !any;
	c->caller.write_cache = write_cache;
	c->caller.write_arg = c;
	c->limit = pp_caller_in_process(&c->caller) ? 1 : conn;
	c->res->concurrency_low = c->limit;
	if ((rc = pp_plan(c->scenarios, c->n_scenarios, opt, plan, c->diag)))
		return rc;
	if ((rc = pp_detector_cache_new(&c->detectors)))
		return rc;
	c->configs = pp_json_get(*plan, "configs");
	/* A config that cannot render stops the run before any other ran
	 * (and, with a provider, was paid for), not when the run reaches it. */
	if ((rc = pp_plan_check(c->scenarios, c->n_scenarios, opt, *plan, c->diag)))
		return rc;
	return PP_OK;
}

/* What the plan already has in the store, counted before the first
 * rollout starts: the progress and the summary then count the whole
 * plan, whether or not the run reaches every config (--limit, Ctrl-C, a
 * budget). Counting each config as it was reached said "5 already
 * there" of a plan that had 57. With --scored each config's limit is
 * set here too: the run starts what it lacks, and the plan's total is
 * what is stored and what it starts. */
static int count_already_stored(struct run_ctx *c)
{
	size_t n_configs = pp_json_len(c->configs), i;
	bool *done = pp_calloc((size_t)c->opt->n_rollouts + 1, sizeof(*done));
	struct pp_topup t;
	int rc = done ? PP_OK : PP_ENOMEM;

	if (!rc && (!(c->stored_at_start = pp_calloc(n_configs + 1, sizeof(long))) ||
		    !(c->limit_of = pp_calloc(n_configs + 1, sizeof(long)))))
		rc = PP_ENOMEM;
	for (i = 0; !rc && i < n_configs; i++) {
		if ((rc = pp_topup_read(c->opt, c->store,
					pp_json_get_str(pp_json_at(c->configs, i), "config_id", ""),
					done, &t, c->diag)))
			break;
		c->stored_at_start[i] = t.stored;
		c->limit_of[i] = t.limit;
		c->res->skipped += t.stored;
		c->prog.total += t.stored + t.todo;
	}
	c->prog.done += c->res->skipped;
	free(done);
	return rc;
}

/* --redo-errors: the plan's error rollouts go, before any thread writes,
 * so the loop runs their indexes again like any missing one. */
static int delete_errors(struct run_ctx *c)
{
	struct pp_json *ids = pp_json_array();
	size_t i;
	int rc = ids ? PP_OK : PP_ENOMEM;

	for (i = 0; !rc && i < pp_json_len(c->configs); i++)
		rc = pp_json_append(ids, pp_json_incref(pp_json_get(pp_json_at(c->configs, i),
								   "config_id")));
	if (!rc && (rc = pp_store_delete_errors(c->store, ids, &c->res->redone)))
		pp_diag_set(c->diag, rc, NULL, 0, 0, "%s", pp_store_errmsg(c->store));
	pp_json_decref(ids);
	return rc;
}

int pp_run(struct pp_scenario *const *scenarios, size_t n, const struct pp_run_options *opt,
	   struct pp_store *store, const struct pp_json *run_record,
	   struct pp_run_result *res, struct pp_diag *diag)
{
	struct run_ctx c;
	struct pp_json *plan = NULL;
	int rc;

	memset(res, 0, sizeof(*res));
	memset(&c, 0, sizeof(c));
	c.opt = opt;
	c.scenarios = scenarios;
	c.n_scenarios = n;
	c.store = store;
	c.res = res;
	c.diag = diag;
	c.starts_left = opt->limit > 0 ? opt->limit : -1;
	c.reported_ms = pp_monotonic_ms();
	rc = open_run(&c, &plan);
	if (!rc && opt->redo_errors)
		rc = delete_errors(&c);
	if (!rc)
		rc = count_already_stored(&c);
	if (!rc && (rc = pp_store_begin_run(store, run_record, &c.run_id)))
		pp_diag_set(diag, rc, NULL, 0, 0, "%s", pp_store_errmsg(store));
	if (!rc)
		rc = writer_start(&c);
	if (!rc) {
		loop(&c);
		batch_end(&c, true);
		writer_finish(&c);
		rc = c.rc;
	}
	if (!rc && failing(&c))
		rc = pp_diag_set(diag, PP_EPROVIDER, NULL, 0, 0,
				 "%ld rollouts in a row failed, so no more were started (the last: %s);"
				 " once the cause is fixed, the same command with --redo-errors runs"
				 " them again", c.error_streak, c.last_error);
	if (c.run_id)
		pp_store_end_run(store, c.run_id, rc ? "failed" : res->interrupted ? "interrupted" : "done");
	res->retries = pp_caller_retries(&c.caller);
	res->spent_usd = c.spent_usd;
	res->cost_known = c.priced;
	res->cache_hits = c.caller.cache_hits;
	pp_caller_close(&c.caller);
	abandon(&c);
	pp_detector_cache_free(c.detectors);
	pp_price_table_free(c.prices);
	pp_json_decref(plan);
	return rc;
}
