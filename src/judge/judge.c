/*
 * judge.c - a judging pass over a store: every rollout with an open
 * label, up to the concurrency of them at once, each answer stored as
 * verdicts as it arrives.
 *
 * A rollout's questions are chosen by pp_judge_next() from its labels
 * with this judge's verdicts merged in, and each answer is merged before
 * the next choice, so a pass that stops half way (Ctrl-C, a crash) goes
 * on where it stopped: the store holds every verdict already given, and
 * nothing is asked twice. Within a pass a question is asked at most once
 * per rollout, whatever its answer.
 *
 * A rollout's questions go one after another (each choice reads the
 * answers before it), rollouts go concurrently on the caller's event
 * loop, as the runner's rollouts do (retries, key handling and redaction
 * included); in-process judges answer at once, one rollout after
 * another. A rollout's verdicts depend only on its own answers, so the
 * verdicts are the same at any concurrency. The judge runs at
 * temperature 0 with a seed derived from the rollout id, where the
 * provider takes one. Ctrl-C abandons the calls in flight; what was
 * stored stays, and the next pass asks only what is left.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <peerpres/hash.h>
#include <peerpres/status.h>

#include "core/alloc.h"
#include "engine/call.h"
#include "judge/judge_int.h"

/* A judge that fails this many calls in a row is not asked further. */
#define MAX_FAILED_CALLS 5
/* The first call's attempts: a judge that cannot be reached (no network,
 * a wrong URL, a bad key) is told apart in seconds, not after the full
 * retry schedule. */
#define PROBE_ATTEMPTS 3

/* How long one turn of the loop waits for the network at most. */
#define STEP_MS 200L

struct slot;

struct pass {
	struct pp_store *s;
	struct pp_model_caller mc;
	const struct pp_judge_options *opt;
	const char *judge, *version;
	struct pp_judge_result *res;
	struct pp_diag *diag;
	long answered;                  /* calls that got an answer */
	long failed_in_a_row;
	long limit;                     /* rollouts in flight at most */
	struct slot **slots;            /* [limit]: the rollouts in flight */
	size_t n_slots;
	long next, total;               /* the todo list's next entry, its length */
	long done;                      /* rollouts with no question left */
	int rc;                         /* the first error; stops the pass */
};

/* One rollout in flight. Its questions go one after another, as each
 * choice reads the answers before it; rollouts go concurrently. */
struct slot {
	struct pass *p;
	size_t at;                      /* its place in pass.slots */
	const struct pp_json *entry;    /* borrowed from the todo list */
	struct pp_json *labels;         /* the entry's, answers merged in */
	struct pp_json *rollout;        /* read when the first question is asked */
	bool asked[PP_JQ_COUNT];
	enum pp_judge_question q;       /* the question asked last */
	struct pp_caller_call call;     /* the call in flight, if any */
};

/* Marks a label judged and, when the rules left it open and the verdict
 * gives a value, decided with that value (so later questions read it). */
static int mark(struct pp_json *labels, const char *name, const struct pp_json *value)
{
	struct pp_json *l = pp_json_get(labels, name);
	int rc;

	if (!l)
		return PP_OK;
	if ((rc = pp_json_set(l, "judged", pp_json_bool(true))))
		return rc;
	if (!value || pp_json_is_true(pp_json_get(l, "rule_decided")))
		return PP_OK;
	if ((rc = pp_json_set(l, "value", pp_json_incref((struct pp_json *)value))))
		return rc;
	return pp_json_set(l, "decided", pp_json_bool(true));
}

/* A new verdict row; value may be NULL (a failure), answer and error too.
 * Usage goes on the first row of a question only, so sums over rows are
 * the question's. */
static struct pp_json *row(const struct pass *p, const char *rollout_id, const char *label,
			   enum pp_judge_question q, const struct pp_json *value,
			   enum pp_judge_outcome outcome, const char *error, const char *answer,
			   const struct pp_model_reply *reply, bool first)
{
	struct pp_json *r = pp_json_object();
	int rc = r ? PP_OK : PP_ENOMEM;

	if (!rc)
		rc = pp_json_set_str(r, "rollout_id", rollout_id);
	if (!rc)
		rc = pp_json_set_str(r, "judge", p->judge);
	if (!rc)
		rc = pp_json_set_str(r, "prompt_version", p->version);
	if (!rc)
		rc = pp_json_set_str(r, "label", label);
	if (!rc)
		rc = pp_json_set_str(r, "question", pp_judge_question_name(q));
	if (!rc && value)
		rc = pp_json_set(r, "value", pp_json_incref((struct pp_json *)value));
	if (!rc)
		rc = pp_json_set_str(r, "outcome", pp_judge_outcome_name(outcome));
	if (!rc)
		rc = pp_json_set(r, "error", pp_json_str_or_null(error));
	if (!rc)
		rc = pp_json_set(r, "answer", pp_json_str_or_null(answer));
	if (!rc && first)
		rc = pp_json_set(r, "input_tokens", pp_json_integer(reply->input_tokens));
	if (!rc && first)
		rc = pp_json_set(r, "output_tokens", pp_json_integer(reply->output_tokens));
	if (rc) {
		pp_json_decref(r);
		return NULL;
	}
	return r;
}

static void count(struct pp_judge_result *res, enum pp_judge_outcome o)
{
	if (o == PP_JUDGE_OK)
		res->labels_ok++;
	else if (o == PP_JUDGE_REFUSED)
		res->labels_refused++;
	else
		res->labels_failed++;
}

/* Rows of an answered question: one per label its verdict decides. */
static int ok_rows(struct pass *p, const char *id, enum pp_judge_question q,
		   const struct pp_json *values, const char *answer,
		   const struct pp_model_reply *reply, struct pp_json *labels, struct pp_json *rows)
{
	void *it;
	int rc = PP_OK;

	for (it = pp_json_iter(values); !rc && it; it = pp_json_iter_next(values, it)) {
		const char *name = pp_json_iter_key(it);
		const struct pp_json *v = pp_json_iter_value(it);

		rc = pp_json_append(rows, row(p, id, name, q, v, PP_JUDGE_OK, NULL, answer, reply,
					      pp_json_len(rows) == 0));
		/* A question's verdict also speaks to labels the rules
		 * decided (agreement); count apart the ones it settles. */
		if (!rc && !pp_json_is_true(pp_json_get(pp_json_get(labels, name), "decided")))
			p->res->labels_settled++;
		if (!rc)
			rc = mark(labels, name, v);
		if (!rc)
			count(p->res, PP_JUDGE_OK);
	}
	return rc;
}

/* Rows of a question that failed: every label it would have decided and
 * no verdict has yet, with the reason. */
static int failed_rows(struct pass *p, const char *id, enum pp_judge_question q,
		       enum pp_judge_outcome o, const char *why, const char *answer,
		       const struct pp_model_reply *reply, struct pp_json *labels,
		       struct pp_json *rows)
{
	const char *const *names = pp_judge_question_labels(q);
	int rc = PP_OK;

	for (; !rc && *names; names++) {
		const struct pp_json *l = pp_json_get(labels, *names);

		if (!l || pp_json_is_true(pp_json_get(l, "judged")))
			continue;
		rc = pp_json_append(rows, row(p, id, *names, q, NULL, o, why, answer, reply,
					      pp_json_len(rows) == 0));
		if (!rc)
			rc = mark(labels, *names, NULL);
		if (!rc)
			count(p->res, o);
	}
	return rc;
}

/* The rows for one answer: a verdict's values, or the failure. */
static int answer_rows(struct pass *p, const struct pp_json *entry,
		       const struct pp_json *rollout, enum pp_judge_question q, int call_rc,
		       const struct pp_model_reply *reply, struct pp_json *labels,
		       struct pp_json *rows)
{
	const char *id = pp_json_get_str(entry, "rollout_id", "");
	const char *answer = pp_json_get_str(reply->message, "content", NULL);
	struct pp_judge_verdict v;
	struct pp_json *values = NULL;
	int rc;

	if (call_rc)
		return failed_rows(p, id, q, PP_JUDGE_FAILED,
				   reply->error[0] ? reply->error : pp_strerror(call_rc), NULL,
				   reply, labels, rows);
	if ((rc = pp_judge_parse(q, answer, &v)))
		return rc;
	if (v.outcome == PP_JUDGE_OK)
		rc = pp_judge_values(q, v.verdict, rollout, entry, labels, &values);
	if (!rc && v.outcome == PP_JUDGE_OK)
		rc = ok_rows(p, id, q, values, answer, reply, labels, rows);
	else if (!rc)
		rc = failed_rows(p, id, q, v.outcome, v.why, answer, reply, labels, rows);
	pp_json_decref(values);
	pp_judge_verdict_release(&v);
	return rc;
}

/*
 * A judge whose first call fails, or that fails MAX_FAILED_CALLS calls in
 * a row, is unusable (no network, wrong URL or key, an outage): the pass
 * stops with PP_EPROVIDER rather than storing a failure for every label.
 * The first failure is not stored at all, so nothing waits on a
 * --retry-failed once the judge is back.
 */
static int check_calls(struct pass *p, int call_rc, const struct pp_model_reply *reply)
{
	const char *why = reply->error[0] ? reply->error : pp_strerror(call_rc);

	if (!call_rc) {
		p->answered++;
		p->failed_in_a_row = 0;
		return PP_OK;
	}
	p->failed_in_a_row++;
	/* An in-process judge is always there: its failures are verdicts. */
	if (pp_caller_in_process(&p->mc))
		return PP_OK;
	if (!p->answered)
		return pp_diag_set(p->diag, PP_EPROVIDER, NULL, 0, 0,
				   "judge '%s' failed on its first question: %s", p->judge, why);
	if (p->failed_in_a_row > MAX_FAILED_CALLS)
		return pp_diag_set(p->diag, PP_EPROVIDER, NULL, 0, 0,
				   "judge '%s' failed %d calls in a row, the last: %s", p->judge,
				   MAX_FAILED_CALLS + 1, why);
	return PP_OK;
}

static bool stopped(const struct pass *p)
{
	return p->opt->stop && *p->opt->stop;
}

/* Stops the pass with rc; the first error is the one reported. */
static void fail_pass(struct pass *p, int rc)
{
	if (!p->rc)
		p->rc = rc;
}

static void slot_free(struct slot *s)
{
	struct pass *p = s->p;

	p->slots[s->at] = p->slots[--p->n_slots];
	p->slots[s->at]->at = s->at;
	pp_http_request_release(&s->call.hr);
	pp_json_decref(s->call.reply.message);
	pp_json_decref(s->rollout);
	free(s);
}

static void report_progress(struct pass *p)
{
	struct pp_judge_progress pr;

	if (!p->opt->progress)
		return;
	memset(&pr, 0, sizeof(pr));
	pr.done = p->done;
	pr.total = p->total;
	pr.in_flight = (long)p->n_slots;
	pr.questions = p->res->questions;
	pr.failed = p->res->labels_failed + p->res->labels_refused;
	pr.retries = pp_caller_retries(&p->mc);
	pr.input_tokens = p->res->input_tokens;
	pr.output_tokens = p->res->output_tokens;
	p->opt->progress(p->opt->progress_arg, &pr);
}

/* The rollout has no question left: count it and free its slot. */
static void finish(struct slot *s)
{
	struct pass *p = s->p;

	if (s->rollout)
		p->res->rollouts++;
	p->done++;
	slot_free(s);
	report_progress(p);
}

/* Counts an answer, checks the judge is usable and stores the verdicts
 * the answer gives. Takes reply->message. */
static int take_answer(struct slot *s, int call_rc, struct pp_model_reply *reply)
{
	struct pass *p = s->p;
	struct pp_json *rows = NULL;
	int rc;

	p->res->questions++;
	p->res->input_tokens += reply->input_tokens;
	p->res->output_tokens += reply->output_tokens;
	if (call_rc == PP_EINTR || call_rc == PP_ENOMEM)
		rc = call_rc;
	else if (!(rc = check_calls(p, call_rc, reply)) && !(rows = pp_json_array()))
		rc = PP_ENOMEM;
	if (!rc)
		rc = answer_rows(p, s->entry, s->rollout, s->q, call_rc, reply, s->labels, rows);
	if (!rc && pp_json_len(rows))
		rc = pp_store_put_verdicts(p->s, rows);
	pp_json_decref(rows);
	pp_json_decref(reply->message);
	reply->message = NULL;
	return rc;
}

static void on_answer(void *arg, int rc, struct pp_model_reply *reply,
		      const struct pp_http_stats *stats);

/*
 * Asks the slot's question. In-process judges answer at once; so does an
 * HTTP judge's first question, asked alone and with few attempts (the
 * probe, see check_calls); every later one goes on the event loop and
 * *pending is set. The prompt is encoded when the call starts, so it is
 * not kept.
 */
static int ask(struct slot *s, bool *pending)
{
	struct pass *p = s->p;
	struct pp_model_request req;
	struct pp_model_reply reply;
	struct pp_json *messages = NULL;
	bool answered = false;
	int rc, call_rc;

	*pending = false;
	if ((rc = pp_judge_prompt(s->q, s->rollout, s->entry, &messages)))
		return rc;
	memset(&req, 0, sizeof(req));
	req.model = strchr(p->judge, '/') + 1;
	req.messages = messages;
	req.temperature = 0;
	req.seed = pp_seed_from_text(pp_json_get_str(s->entry, "rollout_id", ""));
	if (pp_caller_in_process(&p->mc) || !p->answered) {
		memset(&reply, 0, sizeof(reply));
		p->mc.policy.max_attempts = p->answered ? 0 : PROBE_ATTEMPTS;
		call_rc = pp_caller_call(&p->mc, &req, NULL, &reply);
		pp_json_decref(messages);
		return take_answer(s, call_rc, &reply);
	}
	call_rc = pp_caller_start(&p->mc, &s->call, &req, NULL, on_answer, s, &answered);
	pp_json_decref(messages);
	/* A request that cannot be sent is a failed call, as in the probe. */
	if (call_rc || answered)
		return take_answer(s, call_rc, &s->call.reply);
	*pending = true;
	return PP_OK;
}

/* Asks the rollout's questions until one waits on the event loop or none
 * is left (then the slot is freed). A question is asked at most once per
 * pass, whatever its answer. */
static void advance(struct slot *s)
{
	struct pass *p = s->p;
	bool also = pp_json_is_true(pp_json_get(s->entry, "also")), pending = false;
	const char *id = pp_json_get_str(s->entry, "rollout_id", "");
	enum pp_judge_question q;
	int rc = PP_OK;

	while ((q = pp_judge_next(s->labels, also, s->asked[PP_JQ_SCORE])) != PP_JQ_COUNT &&
	       !s->asked[q]) {
		/* Stopped, or the pass failed in another rollout's answer:
		 * nothing more is asked (the rc kept is the first). */
		if (stopped(p) || p->rc) {
			rc = PP_EINTR;
			break;
		}
		if (!s->rollout && (rc = pp_store_get_rollout(p->s, id, &s->rollout)))
			break;
		s->asked[q] = true;
		s->q = q;
		if ((rc = ask(s, &pending)) || pending)
			break;
	}
	if (!rc && pending)
		return;
	if (rc) {
		fail_pass(p, rc);
		slot_free(s);
		return;
	}
	finish(s);
}

static void on_answer(void *arg, int rc, struct pp_model_reply *reply,
		      const struct pp_http_stats *stats)
{
	struct slot *s = arg;

	(void)stats;
	if ((rc = take_answer(s, rc, reply))) {
		fail_pass(s->p, rc);
		slot_free(s);
		return;
	}
	advance(s);
}

/* The questions an earlier pass asked (their verdicts are merged in):
 * a pass stopped between a question and the one its answer leads to
 * asks only the second. */
static void mark_asked_before(struct slot *s)
{
	int q;
	void *it;

	for (it = pp_json_iter(s->labels); it; it = pp_json_iter_next(s->labels, it)) {
		const char *name = pp_json_get_str(pp_json_iter_value(it), "question", NULL);

		for (q = 0; name && q < PP_JQ_COUNT; q++)
			if (!strcmp(name, pp_judge_question_name(q)))
				s->asked[q] = true;
	}
}

static int start(struct pass *p, const struct pp_json *entry)
{
	struct slot *s = pp_calloc(1, sizeof(*s));

	if (!s)
		return PP_ENOMEM;
	s->p = p;
	s->entry = entry;
	s->labels = pp_json_get(entry, "labels");
	mark_asked_before(s);
	pp_http_request_init(&s->call.hr);
	s->at = p->n_slots;
	p->slots[p->n_slots++] = s;
	advance(s);
	return PP_OK;
}

/* Starts rollouts until as many as the concurrency are in flight. */
static void fill(struct pass *p, const struct pp_json *list)
{
	while (!p->rc && !stopped(p) && (long)p->n_slots < p->limit && p->next < p->total) {
		int rc = start(p, pp_json_at(list, (size_t)p->next++));

		if (rc)
			fail_pass(p, rc);
	}
}

static void loop(struct pass *p, const struct pp_json *list)
{
	int rc;

	for (;;) {
		fill(p, list);
		if (p->rc || !p->n_slots)
			break;
		if (stopped(p)) {
			fail_pass(p, PP_EINTR);
			break;
		}
		rc = pp_caller_step(&p->mc, STEP_MS);
		if (rc && rc != PP_EINTR) {
			pp_diag_set(p->diag, rc, NULL, 0, 0, "the HTTP event loop failed");
			fail_pass(p, PP_EPROVIDER);
		}
	}
	if (!p->rc && stopped(p) && p->next < p->total)
		p->rc = PP_EINTR;
}

static int open_judge(struct pass *p, struct pp_diag *diag)
{
	if (!strchr(p->judge, '/'))
		return pp_diag_set(diag, PP_EUSAGE, NULL, 0, 0,
				   "judge '%s' is not PROVIDER/MODEL", p->judge);
	if (strcmp(p->version, PP_JUDGE_PROMPT_VERSION))
		return pp_diag_set(diag, PP_EUSAGE, NULL, 0, 0,
				   "no prompts for version '%s' (this peerpres has %s)", p->version,
				   PP_JUDGE_PROMPT_VERSION);
	return pp_caller_open(&p->mc, p->judge, &p->opt->provider, p->opt->stop, p->limit, diag);
}

static int store_error(struct pass *p, int rc, struct pp_diag *diag)
{
	if (rc == PP_ENOMEM)
		return pp_diag_set(diag, rc, NULL, 0, 0, "out of memory");
	return pp_diag_set(diag, rc, NULL, 0, 0, "%s", pp_store_errmsg(p->s));
}

static void init_pass(struct pass *p, struct pp_store *s, const struct pp_judge_options *opt,
		      struct pp_judge_result *res)
{
	memset(p, 0, sizeof(*p));
	memset(res, 0, sizeof(*res));
	p->s = s;
	p->opt = opt;
	p->res = res;
	p->judge = opt->judge ? opt->judge : PP_JUDGE_DEFAULT_MODEL;
	p->version = opt->prompt_version ? opt->prompt_version : PP_JUDGE_PROMPT_VERSION;
	p->limit = opt->concurrency > 0 ? opt->concurrency : 1;
}

static void take_counts(struct pp_judge_result *res, const struct pp_json *todo)
{
	long long n = 0;

	if (pp_json_int(pp_json_get(todo, "undecided"), &n))
		res->undecided = (long)n;
	if (pp_json_int(pp_json_get(todo, "cached"), &n))
		res->cached = (long)n;
	if (pp_json_int(pp_json_get(todo, "errors_left_out"), &n))
		res->errors_left_out = (long)n;
}

int pp_judge_count(struct pp_store *s, const struct pp_judge_options *opt,
		   struct pp_judge_result *res)
{
	struct pp_json *todo = NULL;
	struct pass p;
	int rc;

	if (!s || !opt || !res)
		return PP_EINVAL;
	init_pass(&p, s, opt, res);
	rc = pp_store_judge_todo(s, opt->filters, p.judge, p.version, 0, &todo);
	if (!rc)
		take_counts(res, todo);
	pp_json_decref(todo);
	return rc;
}

/* Judges the todo list's rollouts; rc as pp_judge_run's. */
static int judge_all(struct pass *p, const struct pp_json *list)
{
	int rc;

	p->total = (long)pp_json_len(list);
	if (!(p->slots = pp_calloc((size_t)p->limit, sizeof(*p->slots))))
		return PP_ENOMEM;
	loop(p, list);
	rc = p->rc;
	p->res->retries = pp_caller_retries(&p->mc);
	/* No callback may run once the slots go. */
	pp_caller_close(&p->mc);
	while (p->n_slots)
		slot_free(p->slots[p->n_slots - 1]);
	free(p->slots);
	p->slots = NULL;
	return rc;
}

int pp_judge_run(struct pp_store *s, const struct pp_judge_options *opt,
		 struct pp_judge_result *res, struct pp_diag *diag)
{
	struct pp_json *todo = NULL;
	struct pass p;
	int rc;

	if (!s || !opt || !res)
		return PP_EINVAL;
	init_pass(&p, s, opt, res);
	p.diag = diag;
	if ((rc = open_judge(&p, diag)))
		return rc;
	if (pp_caller_in_process(&p.mc))
		p.limit = 1;
	if (opt->retry_failed && (rc = pp_store_forget_failed(s, p.judge, p.version,
							       &res->forgotten))) {
		rc = store_error(&p, rc, diag);
		goto out;
	}
	if ((rc = pp_store_judge_todo(s, opt->filters, p.judge, p.version, opt->also_decided,
				      &todo))) {
		rc = store_error(&p, rc, diag);
		goto out;
	}
	take_counts(res, todo);
	rc = judge_all(&p, pp_json_get(todo, "todo"));
	if (rc == PP_EINTR) {
		res->interrupted = true;
		rc = PP_OK;
	} else if (rc && rc != PP_EPROVIDER) {
		rc = store_error(&p, rc, diag);
	}
out:
	pp_json_decref(todo);
	pp_caller_close(&p.mc);
	return rc;
}
