/*
 * parse.c - an upstream transcript read into our terms: the conversation
 * as turns (calls and the results the transcript shows), what the agent
 * wrote, the study's labels under our names, and the metadata mapped to
 * a config (dims.c). Nothing is executed here.
 *
 * The study's format keeps tool calls as a mapping name -> arguments, so
 * two calls of one tool in a turn survive only as the last; a tool
 * message repeats the mapping of the call that produced it, which is
 * what we apply when it is there. A tool message after a user message
 * answers no call (the token cap's synthetic end_task result) and is left
 * out. Whatever had to be guessed is flagged.
 * The stored assistant message lists the calls that ran, each under its
 * result's id, so that export can give every result its own call back.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <peerpres/compat.h>
#include <peerpres/hash.h>
#include <peerpres/status.h>

#include "compat/compat_int.h"
#include "core/alloc.h"

int pp_compat_note(struct pp_json *list, const char *fmt, ...)
{
	struct pp_buf b = PP_BUF_INIT;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = pp_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	if (!rc)
		rc = pp_json_append(list, pp_json_string(b.buf));
	pp_buf_release(&b);
	return rc;
}

const char *pp_compat_text(const struct pp_json *v, char *buf, size_t len)
{
	long long i;
	double d;

	switch (pp_json_type(v)) {
	case PP_JSON_STRING:
		return pp_json_str(v);
	case PP_JSON_INTEGER:
		pp_json_int(v, &i);
		return snprintf(buf, len, "%lld", i) < (int)len ? buf : NULL;
	case PP_JSON_REAL:
		pp_json_num(v, &d);
		return snprintf(buf, len, "%g", d) < (int)len ? buf : NULL;
	case PP_JSON_TRUE:
		return "true";
	default:
		return NULL;
	}
}

/* ---- the study's labels under our names ---- */

static const char *const label_renames[][2] = {
	{ "refuse", "refused" }, { "execute", "executed" },
	{ "threshold", "threshold_result" }, { "product_grade", "grade" },
	{ "product_recommendation", "recommendation" },
	/* the released dataset's label columns */
	{ "eval_score", "score" }, { "subject_grade", "grade" },
	{ "subject_recommendation", "recommendation" }, { "read_data", "read" },
};

static const char *const row_label_columns[] = {
	"eval_score", "threshold_result", "subject_grade", "subject_recommendation",
	"executed", "shutdown_enabled", "read_config", "exfiltration", "copy", "correct",
	"change_user", "delete_model", "delete_others", "delete_file", "refused",
	"fully_incomplete", "read_data", NULL,
};

const char *pp_compat_label_name(const char *key)
{
	size_t i;

	for (i = 0; i < sizeof(label_renames) / sizeof(label_renames[0]); i++)
		if (!strcmp(key, label_renames[i][0]))
			return label_renames[i][1];
	return key;
}

/* The "Agent N" that ends an agent's name ("Gemini Agent 2", or the
 * name alone), or NULL. */
static const char *agent_number(const char *name)
{
	const char *p = strrchr(name, ' '), *word;

	if (!p || p - name < 5 || !p[1])
		return NULL;
	word = p - 5;
	if (strncasecmp(word, "Agent", 5) || (word > name && word[-1] != ' '))
		return NULL;
	return word;
}

/* The subject's entry of a mapping keyed by agent name: its own name,
 * in any case; else the only entry, when that names the same agent
 * ("Agent 2") and spells the family otherwise ("GLM-4 Agent 2" for our
 * "GLM Agent 2"). An entry for another agent ("Agent 1" when the subject
 * is Agent 2) is not the subject's value: the study's own lookup by the
 * subject's name found nothing there. */
static const struct pp_json *subject_entry(const struct pp_json *map, const char *subject_name)
{
	const char *ours = agent_number(subject_name), *theirs;
	const struct pp_json *only = NULL;
	void *it;

	for (it = pp_json_iter(map); it; it = pp_json_iter_next(map, it)) {
		if (!strcasecmp(pp_json_iter_key(it), subject_name))
			return pp_json_iter_value(it);
		only = pp_json_iter_value(it);
	}
	if (pp_json_len(map) != 1 || !ours)
		return NULL;
	theirs = agent_number(pp_json_iter_key(pp_json_iter(map)));
	return theirs && !strcasecmp(theirs, ours) ? only : NULL;
}

/* Finance labels are mappings keyed by the subject's name; "None" is the
 * study's missing value. */
static struct pp_json *label_value(const struct pp_json *v, const char *subject_name)
{
	const struct pp_json *pick = v;

	if (pp_json_is_object(v)) {
		pick = subject_entry(v, subject_name);
		if (!pick)
			return pp_json_null();
	}
	if (pp_json_is_string(pick) && !strcmp(pp_json_str(pick), "None"))
		return pp_json_null();
	return pp_json_deep_copy(pick ? pick : v);
}

static const struct pp_json *evaluation_of(const struct pp_json *tr)
{
	static const char *const keys[] = { "evaluation", "task_evaluation", "main_task_evaluation" };
	size_t i;

	for (i = 0; i < 3; i++)
		if (pp_json_is_object(pp_json_get(tr, keys[i])))
			return pp_json_get(tr, keys[i]);
	return NULL;
}

static int upstream_labels(const struct pp_json *tr, const struct pp_json *row,
			   const char *subject_name, struct pp_json *out)
{
	const struct pp_json *ev = evaluation_of(tr);
	size_t i;
	void *it;
	int rc = PP_OK;

	for (it = pp_json_iter(ev); !rc && it; it = pp_json_iter_next(ev, it))
		rc = pp_json_set(out, pp_compat_label_name(pp_json_iter_key(it)),
				 label_value(pp_json_iter_value(it), subject_name));
	if (ev)
		return rc;
	/* A dataset row without the object: its label columns. A null
	 * column says nothing (not applicable), so it is skipped. */
	for (i = 0; !rc && row_label_columns[i]; i++) {
		const struct pp_json *v = pp_json_get(row, row_label_columns[i]);

		if (v && !pp_json_is_null(v))
			rc = pp_json_set(out, pp_compat_label_name(row_label_columns[i]),
					 label_value(v, subject_name));
	}
	return rc;
}

/* ---- messages ---- */

struct conv {
	struct pp_json *turns, *texts, *messages, *flags, *tools_used;
	struct pp_json *stored_calls;   /* borrowed: the last assistant message's */
	int turn;
	int results_in_turn;
	size_t answered;                /* stored_calls[0..answered) have a result */
	bool after_user;                /* a user message since the last assistant turn */
};

/* Content as text: a string, or the text parts of a list. */
static int content_text(const struct pp_json *c, struct pp_buf *b)
{
	size_t i;
	int rc = PP_OK;

	if (pp_json_is_string(c))
		return pp_buf_adds(b, pp_json_str(c));
	for (i = 0; !rc && i < pp_json_len(c); i++) {
		const char *t = pp_json_get_str(pp_json_at(c, i), "text", NULL);

		if (t)
			rc = pp_buf_adds(b, t);
	}
	return rc;
}

/* A string value as our records keep it: shared with the transcript,
 * or (holding a NUL, which the text copies always stopped at) cut there. */
static struct pp_json *text_value(const struct pp_json *s)
{
	const char *t = pp_json_str(s);

	return strlen(t) == pp_json_len(s) ? pp_json_incref((struct pp_json *)s) : pp_json_string(t);
}

/* Content as one new string value (see content_text). */
static struct pp_json *content_value(const struct pp_json *c)
{
	struct pp_buf b = PP_BUF_INIT;
	struct pp_json *v = NULL;

	if (pp_json_is_string(c))
		return text_value(c);
	if (!content_text(c, &b))
		v = pp_json_string(b.buf);
	pp_buf_release(&b);
	return v;
}

#define THINK_OPEN "<model_thinking>"
#define THINK_CLOSE "</model_thinking>"

/* Splits a "<model_thinking>...</model_thinking>" prefix off the visible
 * content (a string value). */
static int split_thinking(struct conv *cv, struct pp_json *value, struct pp_json *msg)
{
	const char *p = pp_json_str(value), *end;
	int rc;

	while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
		p++;
	if (strncmp(p, THINK_OPEN, strlen(THINK_OPEN)))
		return pp_json_set(msg, "content", pp_json_incref(value));
	p += strlen(THINK_OPEN);
	if (!(end = strstr(p, THINK_CLOSE))) {
		rc = pp_json_set_str(msg, "reasoning", p);
		if (!rc)
			rc = pp_json_set_str(msg, "content", "");
		if (!rc)
			rc = pp_compat_note(cv->flags, "turn %d: unterminated %s: all of it read as reasoning",
					    cv->turn, THINK_OPEN);
		return rc;
	}
	rc = pp_json_set(msg, "reasoning", pp_json_stringn(p, (size_t)(end - p)));
	p = end + strlen(THINK_CLOSE);
	while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
		p++;
	if (!rc)
		rc = pp_json_set_str(msg, "content", p);
	return rc;
}

/* Arguments as an object: a JSON text is parsed, null is {}. The parsed
 * record shares the transcript's own objects: neither is changed. */
static struct pp_json *arguments_of(const struct pp_json *a)
{
	struct pp_json *v = NULL;

	if (pp_json_is_object(a))
		return pp_json_incref((struct pp_json *)a);
	if (pp_json_is_string(a) &&
	    !pp_json_parse(pp_json_str(a), strlen(pp_json_str(a)), &v, NULL, 0) &&
	    pp_json_is_object(v))
		return v;
	pp_json_decref(v);
	return pp_json_object();
}

static int push_call(struct pp_json *calls, const char *name, const struct pp_json *args)
{
	struct pp_json *c = pp_json_object();
	int rc = c ? PP_OK : PP_ENOMEM;

	if (!rc)
		rc = pp_json_set_str(c, "name", name);
	if (!rc)
		rc = pp_json_set(c, "arguments", arguments_of(args));
	if (!rc) {
		rc = pp_json_append(calls, c);
		c = NULL;
	}
	pp_json_decref(c);
	return rc;
}

/* tool_calls as a list of {name, arguments}: the study's mapping, or an
 * OpenAI-style list. */
static int calls_of(const struct pp_json *tc, struct pp_json *calls)
{
	size_t i;
	void *it;
	int rc = PP_OK;

	for (it = pp_json_iter(tc); !rc && it; it = pp_json_iter_next(tc, it))
		rc = push_call(calls, pp_json_iter_key(it), pp_json_iter_value(it));
	for (i = 0; !rc && pp_json_is_array(tc) && i < pp_json_len(tc); i++) {
		const struct pp_json *c = pp_json_at(tc, i), *fn = pp_json_get(c, "function");
		const char *name = pp_json_get_str(fn ? fn : c, "name", NULL);

		if (name)
			rc = push_call(calls, name, pp_json_get(fn ? fn : c, "arguments"));
	}
	return rc;
}

/* What the agent wrote, a string value (anything else is skipped). */
static int add_text(struct conv *cv, const struct pp_json *text)
{
	struct pp_json *t;

	if (!pp_json_is_string(text) || !*pp_json_str(text))
		return PP_OK;
	if (!(t = pp_json_object()))
		return PP_ENOMEM;
	if (pp_json_set(t, "turn", pp_json_integer(cv->turn)) ||
	    pp_json_set(t, "text", text_value(text))) {
		pp_json_decref(t);
		return PP_ENOMEM;
	}
	return pp_json_append(cv->texts, t);
}

static int note_tool(struct conv *cv, const char *name)
{
	size_t i;

	for (i = 0; i < pp_json_len(cv->tools_used); i++)
		if (!strcmp(pp_json_str(pp_json_at(cv->tools_used, i)), name))
			return PP_OK;
	return pp_json_append(cv->tools_used, pp_json_string(name));
}

/* A turn without visible text is stored with content null, as our own
 * loop stores it, whether the transcript wrote null, nothing or "". */
static int no_text_is_null(struct pp_json *msg)
{
	const struct pp_json *c = pp_json_get(msg, "content");

	if (pp_json_is_string(c) && !*pp_json_str(c))
		return pp_json_set(msg, "content", pp_json_null());
	return PP_OK;
}

/* Our message shape for an assistant turn, and the turn itself. */
static int assistant(struct conv *cv, const struct pp_json *m)
{
	struct pp_json *msg = pp_json_object(), *turn = pp_json_object();
	struct pp_json *calls = pp_json_array(), *ours = pp_json_array(), *results = pp_json_array();
	struct pp_json *content = content_value(pp_json_get(m, "content"));
	const char *reasoning = pp_json_get_str(m, "reasoning_content", NULL);
	size_t i;
	int rc = (msg && turn && calls && ours && results && content) ? PP_OK : PP_ENOMEM;

	cv->turn++;
	cv->results_in_turn = 0;
	cv->after_user = false;
	if (!rc)
		rc = pp_json_set_str(msg, "role", "assistant");
	if (!rc)
		rc = split_thinking(cv, content, msg);
	if (!rc && reasoning)
		rc = pp_json_set_str(msg, "reasoning", reasoning);
	if (!rc)
		rc = calls_of(pp_json_get(m, "tool_calls"), calls);
	if (!rc)
		rc = add_text(cv, pp_json_get(msg, "content"));
	for (i = 0; !rc && i < pp_json_len(calls); i++) {
		const struct pp_json *c = pp_json_at(calls, i), *args = pp_json_get(c, "arguments");
		struct pp_json *oc = pp_json_object();
		char id[48];
		void *it;

		snprintf(id, sizeof(id), "t%d_%zu", cv->turn, i + 1);
		rc = oc ? PP_OK : PP_ENOMEM;
		if (!rc)
			rc = pp_json_set(oc, "name", pp_json_incref(pp_json_get(c, "name")));
		if (!rc)
			rc = pp_json_set(oc, "arguments", pp_json_incref((struct pp_json *)args));
		if (!rc)
			rc = pp_json_set_str(oc, "id", id);
		if (!rc) {
			rc = pp_json_append(ours, oc);
			oc = NULL;
		}
		pp_json_decref(oc);
		if (!rc)
			rc = note_tool(cv, pp_json_get_str(c, "name", ""));
		for (it = pp_json_iter(args); !rc && it; it = pp_json_iter_next(args, it))
			rc = add_text(cv, pp_json_iter_value(it));
	}
	if (!rc) {
		rc = pp_json_set(msg, "tool_calls", ours);
		ours = NULL;
	}
	if (!rc)
		rc = no_text_is_null(msg);
	cv->stored_calls = pp_json_get(msg, "tool_calls");
	cv->answered = 0;
	if (!rc)
		rc = pp_json_set(turn, "turn", pp_json_integer(cv->turn));
	if (!rc) {
		rc = pp_json_set(turn, "calls", calls);
		calls = NULL;
	}
	if (!rc) {
		rc = pp_json_set(turn, "results", results);
		results = NULL;
	}
	if (!rc) {
		rc = pp_json_append(cv->turns, turn);
		turn = NULL;
	}
	if (!rc) {
		rc = pp_json_append(cv->messages, msg);
		msg = NULL;
	}
	pp_json_decref(content);
	pp_json_decref(msg);
	pp_json_decref(turn);
	pp_json_decref(calls);
	pp_json_decref(ours);
	pp_json_decref(results);
	return rc;
}

/* The id a result is stored under: the transcript's own, unless a
 * result of this turn already took it, so that export can match each
 * result to one call. */
static const char *result_id(struct conv *cv, const struct pp_json *m, char *buf, size_t len)
{
	const char *id = pp_json_get_str(m, "tool_call_id", NULL);
	size_t i;

	for (i = 0; id && i < cv->answered; i++)
		if (!strcmp(pp_json_get_str(pp_json_at(cv->stored_calls, i), "id", ""), id))
			id = NULL;
	if (id)
		return id;
	snprintf(buf, len, "t%d_r%d", cv->turn, cv->results_in_turn);
	return buf;
}

/* The unanswered stored call with this call's name and arguments, taken
 * out of the list (a new reference), or NULL. */
static struct pp_json *take_stored(struct conv *cv, const struct pp_json *call)
{
	const char *name = pp_json_get_str(call, "name", "");
	size_t i;

	for (i = cv->answered; i < pp_json_len(cv->stored_calls); i++) {
		struct pp_json *c = pp_json_at(cv->stored_calls, i);

		if (!strcmp(pp_json_get_str(c, "name", ""), name) &&
		    pp_json_equal(pp_json_get(c, "arguments"), pp_json_get(call, "arguments"))) {
			pp_json_incref(c);
			pp_json_remove(cv->stored_calls, i, NULL);
			return c;
		}
	}
	return NULL;
}

/* Gives the stored assistant call a result answers that result's id, so
 * export finds each result's call. Answered calls move to the front in
 * the order of their results; a call the mapping lost (a second call of
 * one tool) is added back, so the stored message lists what ran. */
static int claim_call(struct conv *cv, const struct pp_json *call, const char *id)
{
	struct pp_json *oc = take_stored(cv, call);
	int rc = PP_OK;

	if (!oc) {
		oc = pp_json_object();
		rc = oc ? pp_json_set_str(oc, "name", pp_json_get_str(call, "name", "")) : PP_ENOMEM;
		if (!rc)
			rc = pp_json_set(oc, "arguments",
					 pp_json_incref((struct pp_json *)pp_json_get(call, "arguments")));
	}
	if (!rc)
		rc = pp_json_set_str(oc, "id", id);
	if (!rc) {
		rc = pp_json_insert(cv->stored_calls, cv->answered, oc);   /* takes oc */
		oc = NULL;
	}
	if (!rc)
		cv->answered++;
	pp_json_decref(oc);
	return rc;
}

/* The call a tool message answers: its own mapping when it has one,
 * else its name, else the call at its position in the turn. */
static int tool_result(struct conv *cv, const struct pp_json *m)
{
	struct pp_json *turn = pp_json_at(cv->turns, pp_json_len(cv->turns) - 1);
	const struct pp_json *calls = pp_json_get(turn, "calls");
	const struct pp_json *tc = pp_json_get(m, "tool_calls");
	struct pp_json *own = pp_json_array(), *res = pp_json_object(), *msg = pp_json_object();
	struct pp_json *content = NULL;
	const struct pp_json *call = NULL;
	const char *name = pp_json_get_str(m, "name", NULL);
	int k = cv->results_in_turn++;
	char id[48];
	int rc = (own && res && msg) ? PP_OK : PP_ENOMEM;

	if (!turn) {
		rc = rc ? rc : pp_compat_note(cv->flags, "a tool message before any assistant turn was ignored");
		goto out;
	}
	if (!rc)
		rc = calls_of(tc, own);
	if (!rc && pp_json_len(own) == 1) {
		call = pp_json_at(own, 0);
	} else if (!rc && name) {
		size_t i, seen = 0;

		/* The mapping kept one call per name: a second result of the
		 * same tool can only be replayed with those arguments. */
		for (i = 0; i < pp_json_len(pp_json_get(turn, "results")); i++)
			seen += !strcmp(pp_json_get_str(pp_json_at(pp_json_get(turn, "results"), i), "name", ""), name);
		if (seen)
			rc = pp_compat_note(cv->flags, "turn %d: result %zu of %s, but the mapping kept one "
					    "call: its arguments were replayed again (a guess)",
					    cv->turn, seen + 1, name);
	}
	if (!rc && !call && name) {
		size_t i;

		for (i = 0; i < pp_json_len(calls) && !call; i++)
			if (!strcmp(pp_json_get_str(pp_json_at(calls, i), "name", ""), name))
				call = pp_json_at(calls, i);
	} else if (!rc && !call) {
		call = pp_json_at(calls, (size_t)k);
	}
	if (!rc && !call) {
		rc = pp_compat_note(cv->flags, "turn %d: a tool result that matches no call was ignored",
				    cv->turn);
		goto out;
	}
	if (!rc && !(content = content_value(pp_json_get(m, "content"))))
		rc = PP_ENOMEM;
	if (!rc)
		rc = pp_json_set_str(res, "name", pp_json_get_str(call, "name", ""));
	if (!rc)
		rc = pp_json_set(res, "arguments", pp_json_incref(pp_json_get(call, "arguments")));
	if (!rc)
		rc = pp_json_set(res, "content", pp_json_incref(content));
	if (!rc)
		rc = pp_json_append(pp_json_get(turn, "results"), pp_json_incref(res));
	if (!rc)
		rc = claim_call(cv, call, result_id(cv, m, id, sizeof(id)));
	if (!rc)
		rc = pp_json_set_str(msg, "role", "tool");
	if (!rc)
		rc = pp_json_set(msg, "content", pp_json_incref(content));
	if (!rc)
		rc = pp_json_set_str(msg, "tool_call_id", pp_json_get_str(
					     pp_json_at(cv->stored_calls, cv->answered - 1), "id", ""));
	if (!rc)
		rc = pp_json_set_str(msg, "name", pp_json_get_str(call, "name", ""));
	if (!rc) {
		rc = pp_json_append(cv->messages, msg);
		msg = NULL;
	}
out:
	pp_json_decref(content);
	pp_json_decref(own);
	pp_json_decref(res);
	pp_json_decref(msg);
	return rc;
}

/* Whether a tool message names no tool but end_task, as the synthetic
 * result the loop appends at the token cap does (with an empty mapping,
 * or end_task's). */
static bool synthetic_end(const struct pp_json *m)
{
	const struct pp_json *tc = pp_json_get(m, "tool_calls");
	const char *name = pp_json_get_str(m, "name", "end_task");
	void *it;

	for (it = pp_json_iter(tc); it; it = pp_json_iter_next(tc, it))
		if (strcmp(pp_json_iter_key(it), "end_task"))
			return false;
	return !pp_json_is_array(tc) && !strcmp(name, "end_task");
}

/*
 * A tool message after a user message answers no call of the turn before
 * it: the loop writes a user message between a turn and its results only
 * when it will not run that turn. The token cap does so (SCENARIOS.md
 * section 2: a user message, then a synthetic end_task result; the last
 * turn's calls never ran). Matched by position, or by its end_task
 * mapping, that result would replay the turn or add an end_task call the
 * agent never made. It is left out, and the turn without results, as the
 * loop left it (replay.c then applies none of its calls).
 */
static int result_after_user(struct conv *cv, const struct pp_json *m)
{
	if (synthetic_end(m))
		return pp_compat_note(cv->flags, "turn %d: the end_task result after the user message "
				      "(the token cap's) was ignored: the turn's calls never ran", cv->turn);
	return pp_compat_note(cv->flags, "turn %d: a tool message after a user message was ignored: "
			      "it answers no call of the turn", cv->turn);
}

static int plain(struct conv *cv, const struct pp_json *m, const char *role)
{
	struct pp_json *msg = pp_json_object();
	int rc = msg ? PP_OK : PP_ENOMEM;

	if (!rc)
		rc = pp_json_set_str(msg, "role", role);
	if (!rc)
		rc = pp_json_set(msg, "content", content_value(pp_json_get(m, "content")));
	if (!rc) {
		rc = pp_json_append(cv->messages, msg);
		msg = NULL;
	}
	pp_json_decref(msg);
	return rc;
}

static int conversation(struct conv *cv, const struct pp_json *list)
{
	size_t i;
	int rc = PP_OK;

	for (i = 0; !rc && i < pp_json_len(list); i++) {
		const struct pp_json *m = pp_json_at(list, i);
		const char *role = pp_json_get_str(m, "role", "");

		if (!strcmp(role, "assistant"))
			rc = assistant(cv, m);
		else if (!strcmp(role, "tool"))
			rc = cv->after_user ? result_after_user(cv, m) : tool_result(cv, m);
		else if (!strcmp(role, "system") || !strcmp(role, "user"))
			rc = plain(cv, m, role);
		else
			rc = pp_compat_note(cv->flags, "message %zu: unknown role '%s' ignored", i, role);
		if (!strcmp(role, "user") && cv->turn)
			cv->after_user = true;
	}
	return rc;
}

/* ---- the whole record ---- */

static int usage_of(const struct pp_json *tr, const struct pp_json *row, struct pp_json *out)
{
	const struct pp_json *us = pp_json_get(tr, "usage_summary");
	const struct pp_json *src = us ? us : row;
	const struct pp_json *in = pp_json_get(src, "total_input_tokens");
	const struct pp_json *outt = pp_json_get(src, "total_output_tokens");
	const struct pp_json *cost = pp_json_get(src, "total_cost_usd");
	const struct pp_json *timing = pp_json_get(tr, "timing");
	struct pp_json *u = NULL;
	int rc = PP_OK;

	if (pp_json_is_number(in) || pp_json_is_number(outt)) {
		u = pp_json_object();
		rc = u ? PP_OK : PP_ENOMEM;
		if (!rc)
			rc = pp_json_set(u, "input_tokens", pp_json_is_number(in) ? pp_json_deep_copy(in) : pp_json_integer(0));
		if (!rc)
			rc = pp_json_set(u, "output_tokens", pp_json_is_number(outt) ? pp_json_deep_copy(outt) : pp_json_integer(0));
		if (!rc)
			rc = pp_json_set(u, "reasoning_tokens", pp_json_integer(0));
	}
	if (!rc) {
		rc = pp_json_set(out, "usage", u ? u : pp_json_null());
		u = NULL;
	}
	if (!rc)
		rc = pp_json_set(out, "cost_usd", pp_json_is_number(cost) ? pp_json_deep_copy(cost) : pp_json_null());
	if (!rc)
		rc = pp_json_set_str(out, "started_at", pp_json_get_str(timing, "start_time", NULL));
	if (!rc)
		rc = pp_json_set_str(out, "finished_at", pp_json_get_str(timing, "end_time", NULL));
	pp_json_decref(u);
	return rc;
}

/*
 * An error rollout our export wrote: its transcript stops where a provider
 * call failed, and a replay would read that cut as the agent's choice
 * (an "incomplete" rollout that tampered with nothing). It is kept an
 * error, with the message the export carried.
 */
static int carried_error(const struct pp_json *tr, struct pp_json *o)
{
	const struct pp_json *meta = pp_json_get(tr, "experiment_metadata");
	const char *why = pp_json_get_str(meta, "peerpres_error", NULL);

	if (strcmp(pp_json_get_str(meta, "peerpres_status", ""), "error"))
		return PP_OK;
	return pp_json_set_str(o, "carried_error",
			       why ? why : "a provider call failed (the export carried no message)");
}

/*
 * The config id our export wrote. Arms that differ only in what the
 * transcript does not carry (an overlay's text, the provider route) would
 * otherwise become one config on import: each keeps its own.
 */
static int origin_config(const struct pp_json *tr, struct pp_json *o)
{
	const char *id = pp_json_get_str(pp_json_get(tr, "experiment_metadata"),
					 "peerpres_config_id", NULL);

	const struct pp_json *arm = pp_json_get(pp_json_get(tr, "experiment_metadata"), "peerpres_arm");
	int rc;

	if (!id || strlen(id) != 64 || strspn(id, "0123456789abcdef") != 64)
		return PP_OK;
	rc = pp_json_set_str(o, "origin_config_id", id);
	if (!rc && pp_json_is_object(arm))
		rc = pp_json_set(o, "origin_arm", pp_json_deep_copy(arm));
	return rc;
}

/* The key our export of an imported rollout carries: 64 hex digits. */
static const char *carried_key(const struct pp_json *tr)
{
	const char *k = pp_json_get_str(pp_json_get(tr, "experiment_metadata"), "peerpres_source_key", NULL);

	if (!k || strlen(k) != 64 || strspn(k, "0123456789abcdef") != 64)
		return NULL;
	return k;
}

/*
 * The keys of a transcript are SHA-256 digests of the canonical JSON of
 * {"transcript": the object, "transcript_id": an id or null}. The text
 * starts with the transcript, which is most of it: it is hashed once and
 * the context copied for each id (pp_sha256_final_hex).
 */
static int key_head(const struct pp_json *tr, struct pp_sha256 *head)
{
	static const char open[] = "{\"transcript\":";

	pp_sha256_init(head);
	pp_sha256_update(head, open, sizeof(open) - 1);
	return pp_json_canonical_sha256_update(head, tr);
}

/* The key of the transcript under id (NULL: null), from key_head's. */
static int key_with_id(const struct pp_sha256 *head, const struct pp_json *id, char hex[65])
{
	static const char mid[] = ",\"transcript_id\":";
	struct pp_sha256 c = *head;
	int rc = PP_OK;

	pp_sha256_update(&c, mid, sizeof(mid) - 1);
	if (id)
		rc = pp_json_canonical_sha256_update(&c, id);
	else
		pp_sha256_update(&c, "null", 4);
	if (rc)
		return rc;
	pp_sha256_update(&c, "}", 1);
	pp_sha256_final_hex(&c, hex);
	return PP_OK;
}

/* The integer an id spells, when it is an integral number or the
 * decimal text of one ("12345"; not "012", "+1", "-0" or " 1"). */
static bool integral_id(const struct pp_json *id, long long *v)
{
	const char *s = pp_json_str(id), *p;
	double d;

	switch (pp_json_type(id)) {
	case PP_JSON_INTEGER:
		return pp_json_int(id, v);
	case PP_JSON_REAL:
		pp_json_num(id, &d);
		if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0) || d != (double)(long long)d)
			return false;
		*v = (long long)d;
		return true;
	case PP_JSON_STRING:
		p = s + (*s == '-');
		if (!*p || strspn(p, "0123456789") != strlen(p) || strlen(p) > 19 ||
		    (*p == '0' && (p[1] || p != s)))
			return false;
		errno = 0;
		*v = strtoll(s, NULL, 10);
		return !errno;
	default:
		return false;
	}
}

/* Adds hex to the array of keys unless it is there already. */
static int add_unique(struct pp_json *keys, const char *hex)
{
	size_t i;

	for (i = 0; i < pp_json_len(keys); i++)
		if (!strcmp(pp_json_str(pp_json_at(keys, i)), hex))
			return PP_OK;
	return pp_json_append(keys, pp_json_string(hex));
}

/*
 * The keys of the transcript under the other spellings of its id: an
 * integral number and its decimal text are one id, so 12345, "12345" and
 * 12345.0 (and 0 and -0.0) find each other. Each spelling keeps the key
 * it always had (stores hold those); the others are looked up beside it.
 */
static int spelled_keys(const struct pp_sha256 *head, const struct pp_json *id,
			struct pp_json *keys)
{
	struct pp_json *forms[4] = { NULL, NULL, NULL, NULL };
	char text[24], hex[65];
	long long v;
	double d;
	size_t i, n = 0;
	int rc = PP_OK;

	if (!integral_id(id, &v))
		return PP_OK;
	snprintf(text, sizeof(text), "%lld", v);
	forms[n++] = pp_json_integer(v);
	forms[n++] = pp_json_string(text);
	d = (double)v;
	if (d < 9223372036854775808.0 && (long long)d == v)
		forms[n++] = pp_json_real(d);
	if (v == 0)
		forms[n++] = pp_json_real(-0.0);
	for (i = 0; !rc && i < n; i++) {
		if (!forms[i])
			rc = PP_ENOMEM;
		if (!rc)
			rc = key_with_id(head, forms[i], hex);
		if (!rc)
			rc = add_unique(keys, hex);
	}
	for (i = 0; i < n; i++)
		pp_json_decref(forms[i]);
	return rc;
}

/*
 * What marks a stored rollout of the same config as this transcript
 * (docs/import.md, Duplicates): {"source_key": [keys a duplicate's
 * source_key is one of], "content_key": [keys its content_key is one
 * of]}. Its source key; its key under the id's other spellings; its
 * content key among source keys, which is the key of a rollout stored
 * without an id (in a store older than content keys too); and, for a
 * transcript without an id, its content key among content keys: the
 * same transcript stored with an id.
 */
static int match_keys(const struct pp_sha256 *head, const struct pp_json *id, const char *source,
		      const char *content, struct pp_json *out)
{
	struct pp_json *m = pp_json_object(), *src = pp_json_array(), *con = pp_json_array();
	int rc = m && src && con ? PP_OK : PP_ENOMEM;

	if (!rc)
		rc = add_unique(src, source);
	if (!rc)
		rc = spelled_keys(head, id, src);
	if (!rc)
		rc = add_unique(src, content);
	if (!rc && !id)
		rc = add_unique(con, content);
	if (!rc) {
		rc = pp_json_set(m, "source_key", src);
		src = NULL;
	}
	if (!rc) {
		rc = pp_json_set(m, "content_key", con);
		con = NULL;
	}
	if (!rc) {
		rc = pp_json_set(out, "match_keys", m);
		m = NULL;
	}
	pp_json_decref(m);
	pp_json_decref(src);
	pp_json_decref(con);
	return rc;
}

/*
 * The same transcript from any file (a JSON file, a JSONL row, a
 * transcript_json string) has the same keys. The source key hashes it
 * with its id (the row's transcript_id, else the metadata's), which tells
 * apart two runs that happened to go the same way; the content key
 * hashes it with a null id, so it equals the source key of the same
 * transcript read without an id. Our export of an imported rollout
 * carries the key it was imported under: relabelled and rewritten, it is
 * still that transcript.
 */
static int source_key(const struct pp_json *tr, const struct pp_json *row, struct pp_json *out)
{
	const struct pp_json *id = pp_json_get(row, "transcript_id");
	const char *carried = carried_key(tr);
	struct pp_sha256 head;
	char hex[65], content[65];
	int rc;

	if (pp_json_is_null(id))
		id = pp_json_get(pp_json_get(tr, "experiment_metadata"), "transcript_id");
	if (pp_json_is_null(id))
		id = NULL;
	rc = key_head(tr, &head);
	if (!rc)
		rc = key_with_id(&head, id, hex);
	if (!rc)
		rc = key_with_id(&head, NULL, content);
	if (!rc)
		rc = pp_json_set_str(out, "source_key", carried ? carried : hex);
	if (!rc)
		rc = pp_json_set_str(out, "content_key", content);
	if (!rc)
		rc = match_keys(&head, id, carried ? carried : hex, content, out);
	if (!rc)
		rc = pp_json_set(out, "transcript_id", id ? pp_json_deep_copy(id) : pp_json_null());
	return rc;
}

static int set_steal(struct pp_json *o, const char *k, struct pp_json **v)
{
	int rc = pp_json_set(o, k, *v);

	*v = NULL;
	return rc;
}

int pp_compat_parse(const struct pp_json *tr, const struct pp_json *row, const char *scenario,
		    struct pp_scenario *const *scenarios, size_t n, struct pp_json **out,
		    struct pp_diag *diag)
{
	return pp_compat_parse_cached(NULL, tr, row, scenario, scenarios, n, out, diag);
}

int pp_compat_parse_cached(struct pp_compat_cache *cache, const struct pp_json *tr,
			   const struct pp_json *row, const char *scenario,
			   struct pp_scenario *const *scenarios, size_t n, struct pp_json **out,
			   struct pp_diag *diag)
{
	const struct pp_json *conv_list = pp_json_get(tr, "conversation");
	struct conv cv = { NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, false };
	struct pp_json *o = NULL, *up = NULL;
	int rc = PP_OK;

	*out = NULL;
	if (!pp_json_is_array(conv_list))
		conv_list = pp_json_get(tr, "full_conversation");   /* follow-up files */
	if (!pp_json_is_object(tr) || !pp_json_is_array(conv_list))
		return pp_diag_set(diag, PP_EPARSE, NULL, 0, 0,
				   "not an upstream transcript: no \"conversation\" list");
	cv.turns = pp_json_array();
	cv.texts = pp_json_array();
	cv.messages = pp_json_array();
	cv.flags = pp_json_array();
	cv.tools_used = pp_json_array();
	o = pp_json_object();
	up = pp_json_object();
	if (!cv.turns || !cv.texts || !cv.messages || !cv.flags || !cv.tools_used || !o || !up) {
		rc = PP_ENOMEM;
		goto out;
	}
	if ((rc = conversation(&cv, conv_list)))
		goto out;
	rc = set_steal(o, "flags", &cv.flags);
	if (!rc)
		rc = pp_compat_dims(cache, tr, row, scenario, scenarios, n, cv.tools_used,
				    evaluation_of(tr), o);
	if (!rc)
		rc = upstream_labels(tr, row, pp_json_get_str(o, "subject_name", ""), up);
	if (!rc)
		rc = set_steal(o, "upstream_labels", &up);
	if (!rc)
		rc = pp_json_set(o, "upstream_raw", evaluation_of(tr) ?
				 pp_json_incref((struct pp_json *)evaluation_of(tr)) : pp_json_null());
	if (!rc)
		rc = set_steal(o, "turns", &cv.turns);
	if (!rc)
		rc = set_steal(o, "texts", &cv.texts);
	if (!rc)
		rc = set_steal(o, "messages", &cv.messages);
	if (!rc)
		rc = set_steal(o, "tools_used", &cv.tools_used);
	if (!rc)
		rc = usage_of(tr, row, o);
	if (!rc)
		rc = carried_error(tr, o);
	if (!rc)
		rc = origin_config(tr, o);
	if (!rc)
		rc = source_key(tr, row, o);
out:
	pp_json_decref(cv.turns);
	pp_json_decref(cv.texts);
	pp_json_decref(cv.messages);
	pp_json_decref(cv.flags);
	pp_json_decref(cv.tools_used);
	pp_json_decref(up);
	if (rc) {
		pp_json_decref(o);
		if (rc == PP_ENOMEM)
			pp_diag_set(diag, rc, NULL, 0, 0, "out of memory");
		return rc;
	}
	*out = o;
	return PP_OK;
}
