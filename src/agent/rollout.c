/*
 * rollout.c - the agent loop of the study as a state machine (see
 * peerpres/rollout.h for the rules it reproduces).
 *
 * Invariant: `want_model` is true exactly when the transcript ends with a
 * message the model must answer (the opening user message, a nudge, or
 * the results of the last turn's calls) and the rollout has not stopped.
 */
#include <stdlib.h>
#include <string.h>

#include <peerpres/rollout.h>
#include <peerpres/status.h>
#include <peerpres/world.h>

#include "core/alloc.h"

/* Why the loop stopped; stored with the rollout. */
static const char *const stop_names[] = {
	"running", "end_task", "max_iters", "nudge_limit", "token_cap", "error"
};
enum stop { RUNNING, STOP_END_TASK, STOP_MAX_ITERS, STOP_NUDGES, STOP_TOKEN_CAP, STOP_ERROR };

#define TOOL_OUTPUT_MAX ((size_t)1 << 20)

struct pp_rollout {
	struct pp_rollout_config cfg;    /* copied: the caller's may go */
	struct pp_world *world;
	struct pp_json *messages;
	struct pp_json *tools;        /* declarations */
	struct pp_json *texts;        /* what the agent wrote: [{turn, text}] */
	enum stop stop;
	bool want_model;
	int n_calls;                  /* model calls answered */
	int nudges;
	long tokens_estimate;         /* over the transcript, kept incrementally */
	long input_tokens, output_tokens, reasoning_tokens;
	char *error;
};

/* The study counted role, content and 3 tokens per message with a BPE
 * tokenizer; four bytes a token is close enough for a cap of 120,000. */
static long estimate_tokens(const struct pp_json *msg)
{
	const char *content = pp_json_get_str(msg, "content", "");
	const char *role = pp_json_get_str(msg, "role", "");

	return 3 + (long)(strlen(role) + strlen(content) + 3) / 4;
}

static int push(struct pp_rollout *r, struct pp_json *msg)
{
	if (!msg)
		return PP_ENOMEM;
	r->tokens_estimate += estimate_tokens(msg);
	return pp_json_append(r->messages, msg);
}

static struct pp_json *text_message(const char *role, const char *content)
{
	struct pp_json *m = pp_json_object();

	if (m && (pp_json_set_str(m, "role", role) || pp_json_set_str(m, "content", content))) {
		pp_json_decref(m);
		return NULL;
	}
	return m;
}

int pp_rollout_tools_new(const struct pp_json *rendered, struct pp_json **out)
{
	const struct pp_json *names = pp_json_get(rendered, "tools");
	struct pp_json *tools = pp_json_array();
	size_t i;
	int rc = tools ? PP_OK : PP_ENOMEM;

	*out = NULL;
	for (i = 0; !rc && i < pp_json_len(names); i++) {
		struct pp_json *decl = pp_world_tool_schema(pp_json_str(pp_json_at(names, i)));

		rc = decl ? pp_json_append(tools, decl) : PP_EINVAL;
	}
	if (rc)
		pp_json_decref(tools);
	else
		*out = tools;
	return rc;
}

/* The config's shared declarations when it has them: they are the same
 * for each of its rollouts, and building them was a tenth of starting one. */
static int build_tools(struct pp_rollout *r)
{
	if (r->cfg.tools) {
		r->tools = pp_json_incref((struct pp_json *)r->cfg.tools);
		return PP_OK;
	}
	return pp_rollout_tools_new(r->cfg.rendered, &r->tools);
}

int pp_rollout_new(struct pp_rollout **out, const struct pp_rollout_config *cfg,
		   struct pp_diag *diag)
{
	struct pp_rollout *r = pp_calloc(1, sizeof(*r));
	const struct pp_json *rd = cfg->rendered;
	int rc;

	*out = NULL;
	if (!r)
		return PP_ENOMEM;
	r->cfg = *cfg;
	r->messages = pp_json_array();
	r->texts = pp_json_array();
	rc = (r->messages && r->texts) ? PP_OK : PP_ENOMEM;
	if (!rc)
		rc = pp_world_new(&r->world, pp_json_get(rd, "world"), diag);
	if (!rc)
		rc = build_tools(r);
	if (!rc)
		rc = push(r, text_message("system", pp_json_get_str(rd, "system_prompt", "")));
	if (!rc)
		rc = push(r, text_message("user", pp_json_get_str(rd, "user_message", "")));
	if (rc) {
		pp_rollout_free(r);
		return rc;
	}
	r->want_model = true;
	*out = r;
	return PP_OK;
}

void pp_rollout_free(struct pp_rollout *r)
{
	if (!r)
		return;
	pp_world_free(r->world);
	pp_json_decref(r->messages);
	pp_json_decref(r->tools);
	pp_json_decref(r->texts);
	free(r->error);
	free(r);
}

bool pp_rollout_wants_model(const struct pp_rollout *r) { return r->want_model; }
const struct pp_json *pp_rollout_messages(const struct pp_rollout *r) { return r->messages; }
const struct pp_json *pp_rollout_tools(const struct pp_rollout *r) { return r->tools; }

static int add_text(struct pp_rollout *r, int turn, const char *text)
{
	struct pp_json *t;

	if (!text || !*text)
		return PP_OK;
	if (!(t = pp_json_object()))
		return PP_ENOMEM;
	if (pp_json_set(t, "turn", pp_json_integer(turn)) || pp_json_set_str(t, "text", text)) {
		pp_json_decref(t);
		return PP_ENOMEM;
	}
	return pp_json_append(r->texts, t);
}

/* Records what the agent wrote in a turn: its visible content and the
 * string arguments of its calls (reports are often written with
 * create_file). Separate reasoning is not a statement to the user. */
static int collect_texts(struct pp_rollout *r, const struct pp_json *msg, int turn)
{
	const struct pp_json *calls = pp_json_get(msg, "tool_calls");
	size_t i;
	void *it;
	int rc = add_text(r, turn, pp_json_get_str(msg, "content", NULL));

	for (i = 0; !rc && i < pp_json_len(calls); i++) {
		const struct pp_json *args = pp_json_get(pp_json_at(calls, i), "arguments");

		for (it = pp_json_iter(args); !rc && it; it = pp_json_iter_next(args, it))
			rc = add_text(r, turn, pp_json_str(pp_json_iter_value(it)));
	}
	return rc;
}

static struct pp_json *tool_message(const struct pp_json *call, const char *content)
{
	struct pp_json *m = text_message("tool", content);

	if (m && (pp_json_set_str(m, "tool_call_id", pp_json_get_str(call, "id", "")) ||
		  pp_json_set_str(m, "name", pp_json_get_str(call, "name", "")))) {
		pp_json_decref(m);
		return NULL;
	}
	return m;
}

static int run_calls(struct pp_rollout *r, const struct pp_json *calls)
{
	struct pp_buf out = PP_BUF_INIT;
	size_t i;
	bool ok;
	int rc = PP_OK;

	pp_buf_init(&out, TOOL_OUTPUT_MAX);
	pp_world_set_turn(r->world, r->n_calls);
	for (i = 0; !rc && i < pp_json_len(calls); i++) {
		const struct pp_json *call = pp_json_at(calls, i);

		pp_buf_reset(&out);
		rc = pp_world_call(r->world, pp_json_get_str(call, "name", ""),
				   pp_json_get(call, "arguments"), &out, &ok);
		if (!rc)
			rc = push(r, tool_message(call, out.buf));
	}
	pp_buf_release(&out);
	return rc;
}

static bool last_is_end_task(const struct pp_json *calls)
{
	size_t n = pp_json_len(calls);

	return n && !strcmp(pp_json_get_str(pp_json_at(calls, n - 1), "name", ""), "end_task");
}

/* Over the cap the study told the model and closed with a synthetic
 * end_task result. */
static int hit_token_cap(struct pp_rollout *r)
{
	struct pp_json *end = pp_json_object();
	int rc;

	rc = push(r, text_message("user", pp_json_get_str(r->cfg.rendered, "token_limit_message",
							   "The token limit was reached.")));
	if (!rc && end && !pp_json_set_str(end, "name", "end_task") && !pp_json_set_str(end, "id", "token_cap"))
		rc = push(r, tool_message(end, "Task ended: token limit reached."));
	else if (!rc)
		rc = PP_ENOMEM;
	pp_json_decref(end);
	r->stop = STOP_TOKEN_CAP;
	return rc;
}

/* One iteration of the study's loop, on the reply just received. */
static int iterate(struct pp_rollout *r)
{
	const struct pp_json *last = pp_json_at(r->messages, pp_json_len(r->messages) - 1);
	const struct pp_json *calls = pp_json_get(last, "tool_calls");

	if (r->n_calls > r->cfg.max_iters) {
		r->stop = STOP_MAX_ITERS;   /* the last reply's calls never run */
		return PP_OK;
	}
	if (r->tokens_estimate > r->cfg.token_cap)
		return hit_token_cap(r);
	if (pp_json_len(calls) == 0) {
		if (++r->nudges > PP_MAX_NUDGES) {
			r->stop = STOP_NUDGES;
			return PP_OK;
		}
		r->want_model = true;
		return push(r, text_message("user", pp_json_get_str(r->cfg.rendered, "nudge_message",
								   "Please call a tool.")));
	}
	if (last_is_end_task(calls)) {
		r->stop = STOP_END_TASK;    /* none of this turn's calls run */
		return PP_OK;
	}
	r->want_model = true;
	return run_calls(r, calls);
}

int pp_rollout_feed(struct pp_rollout *r, struct pp_json *message,
		    long input_tokens, long output_tokens, long reasoning_tokens)
{
	int rc;

	if (!r->want_model || !pp_json_is_object(message)) {
		pp_json_decref(message);
		return PP_EINVAL;
	}
	r->want_model = false;
	r->n_calls++;
	r->input_tokens += input_tokens;
	r->output_tokens += output_tokens;
	r->reasoning_tokens += reasoning_tokens;
	if ((rc = collect_texts(r, message, r->n_calls)))
		goto fail;
	if ((rc = push(r, message)))
		goto fail;
	if ((rc = iterate(r)))
		goto fail;
	return PP_OK;
fail:
	r->want_model = false;
	r->stop = STOP_ERROR;
	return rc;
}

void pp_rollout_fail(struct pp_rollout *r, const char *error)
{
	free(r->error);
	r->error = pp_strdup(error ? error : "provider failure");
	r->want_model = false;
	r->stop = STOP_ERROR;
}

static bool label_true(const struct pp_json *labels, const char *name)
{
	return pp_json_is_true(pp_json_get(pp_json_get(labels, name), "value"));
}

/* One status per rollout (ARCHITECTURE.md, Outcome). */
static const char *status_of(const struct pp_rollout *r, const struct pp_json *labels)
{
	const struct pp_json *req = pp_json_get(r->cfg.rendered, "required_labels");
	bool all_decided = true;
	size_t i;

	if (r->stop == STOP_ERROR)
		return "error";
	if (label_true(labels, "refused"))
		return "refused";
	if (label_true(labels, "fully_incomplete"))
		return "incomplete";
	for (i = 0; i < pp_json_len(req); i++)
		if (!pp_json_is_true(pp_json_get(pp_json_get(labels, pp_json_str(pp_json_at(req, i))),
						 "decided")))
			all_decided = false;
	if (all_decided)
		return "scored";
	if (r->stop != STOP_END_TASK)
		return "incomplete";
	return "pending_judge";
}

static int usage_object(const struct pp_rollout *r, struct pp_json **out)
{
	struct pp_json *u = pp_json_object();

	if (!u || pp_json_set(u, "input_tokens", pp_json_integer(r->input_tokens)) ||
	    pp_json_set(u, "output_tokens", pp_json_integer(r->output_tokens)) ||
	    pp_json_set(u, "reasoning_tokens", pp_json_integer(r->reasoning_tokens))) {
		pp_json_decref(u);
		return PP_ENOMEM;
	}
	*out = u;
	return PP_OK;
}

int pp_rollout_finish(struct pp_rollout *r, struct pp_json **out)
{
	struct pp_json *rec = pp_json_object(), *state = NULL, *log = NULL, *labels = NULL;
	struct pp_json *usage = NULL;
	struct pp_label_input in;
	int rc = rec ? PP_OK : PP_ENOMEM;

	*out = NULL;
	if (r->want_model)
		pp_rollout_fail(r, "rollout ended before the model answered");
	if (!rc && (!(state = pp_world_state(r->world)) || !(log = pp_world_tool_log(r->world))))
		rc = PP_ENOMEM;
	in.state = state;
	in.tool_log = log;
	in.texts = r->texts;
	if (!rc)
		rc = pp_labels_eval(r->cfg.labels, &in, &labels);
	if (!rc)
		rc = usage_object(r, &usage);
	if (!rc)
		rc = pp_json_set_str(rec, "status", status_of(r, labels));
	if (!rc)
		rc = pp_json_set(rec, "error", r->error ? pp_json_string(r->error) : pp_json_null());
	if (!rc)
		rc = pp_json_set_str(rec, "stop_reason", stop_names[r->stop]);
	if (!rc)
		rc = pp_json_set(rec, "n_model_calls", pp_json_integer(r->n_calls));
	if (!rc) {
		rc = pp_json_set(rec, "usage", usage);
		usage = NULL;
	}
	if (!rc)
		rc = pp_json_set(rec, "messages", pp_json_incref(r->messages));
	if (!rc) {
		rc = pp_json_set(rec, "tool_calls", log);
		log = NULL;
	}
	if (!rc) {
		rc = pp_json_set(rec, "final_state", state);
		state = NULL;
	}
	if (!rc) {
		rc = pp_json_set(rec, "labels", labels);
		labels = NULL;
	}
	pp_json_decref(state);
	pp_json_decref(log);
	pp_json_decref(labels);
	pp_json_decref(usage);
	if (rc) {
		pp_json_decref(rec);
		return rc;
	}
	*out = rec;
	return PP_OK;
}
