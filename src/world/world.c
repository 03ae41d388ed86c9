/*
 * world.c - a world's life: creation from a spec, the call dispatcher
 * with its tool log and clock, the state dump (see peerpres/world.h).
 *
 * Invariant: a call that returns an error code (PP_ENOMEM, or PP_ERANGE
 * when the caller's buffer is full) has changed nothing: not the world,
 * not the log, not the clock, not `out`. See world_int.h for how tool
 * handlers keep it.
 */
#include <stdarg.h>
#include <string.h>
#include <stdlib.h>

#include <peerpres/status.h>
#include "core/alloc.h"
#include "world/clock.h"
#include "world/world_int.h"

#define DEFAULT_CLOCK "2026-02-03 09:00:00"

/* ---- creation ---- */

static int load_clock(struct pp_world *w, const struct pp_json *spec,
		      struct pp_diag *diag)
{
	const struct pp_json *v = pp_json_get(spec, "clock");
	const char *s = DEFAULT_CLOCK;

	if (v && !pp_json_is_null(v)) {
		s = pp_json_str(v);
		if (!s)
			return pp_diag_set(diag, PP_EINVAL, NULL, 0, 0,
					   "world spec: clock: expected a string");
	}
	if (!pp_wclock_parse(s, &w->clock_s) ||
	    !pp_wclock_format(w->clock_s, w->now, sizeof(w->now)))
		return pp_diag_set(diag, PP_EINVAL, NULL, 0, 0,
				   "world spec: clock: '%s' is not a time of the "
				   "form YYYY-MM-DD HH:MM:SS", s);
	return PP_OK;
}

static int load_tools(struct pp_world *w, const struct pp_json *spec,
		      struct pp_diag *diag)
{
	const struct pp_json *list = pp_json_get(spec, "tools");
	size_t i, n, idx;
	const char *name;

	if (!pp_json_is_array(list))
		return pp_diag_set(diag, PP_EINVAL, NULL, 0, 0,
				   "world spec: tools: expected a list of tool names");
	n = pp_json_len(list);
	for (i = 0; i < n; i++) {
		name = pp_json_str(pp_json_at(list, i));
		if (!name)
			return pp_diag_set(diag, PP_EINVAL, NULL, 0, 0,
					   "world spec: tools[%zu]: expected a string", i);
		if (!pp_wtool_find(name, &idx))
			return pp_diag_set(diag, PP_EINVAL, NULL, 0, 0,
					   "world spec: tools[%zu]: unknown tool '%s'",
					   i, name);
		w->offered |= (uint64_t)1 << idx;
	}
	/* SCENARIOS.md: end_task is always available. */
	if (pp_wtool_find("end_task", &idx))
		w->offered |= (uint64_t)1 << idx;
	return PP_OK;
}

static int load_memory(struct pp_world *w, const struct pp_json *spec,
		       struct pp_diag *diag)
{
	const struct pp_json *v = pp_json_get(spec, "memory");

	if (pp_json_is_null(v))
		return PP_OK;
	if (!pp_json_is_string(v))
		return pp_diag_set(diag, PP_EINVAL, NULL, 0, 0,
				   "world spec: memory: expected a string or null");
	if (!pp_json_len(v))    /* the scenario format's "no memory" */
		return PP_OK;
	w->memory = pp_strndup(pp_json_str(v), pp_json_len(v));
	return w->memory ? PP_OK : PP_ENOMEM;
}

int pp_world_new(struct pp_world **out, const struct pp_json *spec,
		 struct pp_diag *diag)
{
	struct pp_world *w;
	int rc;

	*out = NULL;
	if (!pp_json_is_object(spec))
		return pp_diag_set(diag, PP_EINVAL, NULL, 0, 0,
				   "world spec: expected a JSON object");
	w = pp_calloc(1, sizeof(*w));
	if (!w)
		return PP_ENOMEM;
	pp_buf_init(&w->scratch, PP_WORLD_SCRATCH_MAX);
	rc = load_clock(w, spec, diag);
	if (!rc)
		rc = load_tools(w, spec, diag);
	if (!rc)
		rc = pp_wdrive_load(w, pp_json_get(spec, "drive"), diag);
	if (!rc)
		rc = pp_wsheets_load(w, pp_json_get(spec, "sheets"), diag);
	if (!rc)
		rc = pp_wconfigs_load(w, pp_json_get(spec, "configs"), diag);
	if (!rc)
		rc = pp_wservers_load(w, pp_json_get(spec, "servers"), diag);
	if (!rc)
		rc = load_memory(w, spec, diag);
	if (rc) {
		pp_world_free(w);
		return rc;
	}
	*out = w;
	return PP_OK;
}

void pp_world_free(struct pp_world *w)
{
	size_t i;

	if (!w)
		return;
	pp_wdrive_release(&w->drive);
	pp_json_decref(w->sheets);
	pp_json_decref(w->configs);
	pp_wservers_release(w);
	free(w->memory);
	for (i = 0; i < w->n_shutdowns; i++)
		free(w->shutdowns[i].system_id);
	free(w->shutdowns);
	for (i = 0; i < w->n_log; i++) {
		free(w->log[i].tool_owned);
		pp_json_decref(w->log[i].args);
		free(w->log[i].result);
	}
	free(w->log);
	pp_buf_release(&w->scratch);
	free(w);
}

void pp_world_set_turn(struct pp_world *w, int turn)
{
	w->turn = turn;
}

/* ---- results ---- */

int pp_wcall_fit(struct pp_wcall *c, int rc)
{
	if (rc != PP_ERANGE)
		return rc;
	/* Freeze the buffer where it stopped, so that later pieces of the
	 * same result do not land after a hole. */
	c->cut = true;
	c->res->max = c->res->len;
	return PP_OK;
}

static int set_text(struct pp_wcall *c, const char *prefix, const char *fmt,
		    va_list ap) __attribute__((format(printf, 3, 0)));

static int set_text(struct pp_wcall *c, const char *prefix, const char *fmt,
		    va_list ap)
{
	int rc;

	c->ok = false;
	c->cut = false;
	c->res->max = PP_WORLD_SCRATCH_MAX;
	pp_buf_reset(c->res);
	rc = pp_buf_adds(c->res, prefix);
	if (!rc)
		rc = pp_buf_vaddf(c->res, fmt, ap);
	return pp_wcall_fit(c, rc);
}

int pp_wcall_error(struct pp_wcall *c, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = set_text(c, "Error: ", fmt, ap);
	va_end(ap);
	return rc;
}

int pp_wcall_fail(struct pp_wcall *c, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = set_text(c, "", fmt, ap);
	va_end(ap);
	return rc;
}

/* An end for s[0..at) that does not split a UTF-8 sequence. */
static size_t utf8_end(const char *s, size_t at)
{
	size_t i = at, need;
	unsigned char lead;

	while (i > 0 && at - i < 3 && ((unsigned char)s[i - 1] & 0xc0) == 0x80)
		i--;
	if (!i)
		return at;
	lead = (unsigned char)s[i - 1];
	need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
	return at - (i - 1) < need ? i - 1 : at;
}

/* Cuts an over-long result at a character boundary and says so; the
 * whole stays within PP_WORLD_OUT_MAX, so a caller's buffer of that cap
 * takes it. */
static int cut_result(struct pp_wcall *c)
{
	struct pp_buf *r = c->res;
	size_t room = PP_WORLD_OUT_MAX - PP_WORLD_CUT_NOTE_MAX;
	size_t at = utf8_end(r->buf, r->len < room ? r->len : room);

	r->len = at;
	r->buf[at] = '\0';
	r->max = PP_WORLD_SCRATCH_MAX;
	return pp_buf_addf(r, "\n[output cut: longer than %zu bytes]",
			   PP_WORLD_OUT_MAX);
}

int pp_wcall_emit(struct pp_wcall *c)
{
	struct pp_buf *r = c->res;
	int rc = PP_OK;

	if (c->cut || r->len > PP_WORLD_OUT_MAX)
		rc = cut_result(c);
	if (rc)
		return rc;
	c->result = pp_strndup(r->buf, r->len);
	if (!c->result)
		return PP_ENOMEM;
	c->result_len = r->len;
	rc = pp_buf_add(c->out, r->buf, r->len);
	if (rc) {
		free(c->result);
		c->result = NULL;
		return rc;
	}
	c->emitted = true;
	return PP_OK;
}

/* ---- dispatch ---- */

static int check_tool(struct pp_wcall *c, const char *name)
{
	size_t idx = 0;

	if (!name || !*name)
		return pp_wcall_error(c, "empty tool name");
	c->tool = pp_wtool_find(name, &idx);
	if (!c->tool)
		return pp_wcall_error(c, "unknown tool '%s'", name);
	if (!(c->w->offered >> idx & 1))
		return pp_wcall_error(c, "tool '%s' is not available in this task",
				      name);
	return PP_OK;
}

static void record(struct pp_world *w, struct pp_wcall *c, char *tool_owned,
		   struct pp_json *args)
{
	struct pp_wlog *e = &w->log[w->n_log++];
	char next[PP_WORLD_TIME_LEN];

	e->turn = w->turn;
	e->tool_owned = tool_owned;
	e->tool = tool_owned ? tool_owned : c->tool->name;
	e->args = args;
	e->ok = c->ok;
	e->result = c->result;
	e->result_len = c->result_len;
	memcpy(e->time, w->now, sizeof(e->time));
	/* The clock stops at year 9999 rather than overflow. */
	if (pp_wclock_format(w->clock_s + PP_WORLD_STEP_S, next, sizeof(next))) {
		w->clock_s += PP_WORLD_STEP_S;
		memcpy(w->now, next, sizeof(w->now));
	}
}

int pp_world_call(struct pp_world *w, const char *name,
		  const struct pp_json *args, struct pp_buf *out, bool *ok)
{
	struct pp_wcall c;
	struct pp_json *conv = NULL;
	char *tool = NULL;
	size_t out_len = out->len;
	void *log = pp_grow(w->log, &w->cap_log, w->n_log, 1, sizeof(*w->log));
	int rc = log ? PP_OK : PP_ENOMEM;

	*ok = false;
	memset(&c, 0, sizeof(c));
	c.w = w;
	c.res = &w->scratch;
	c.out = out;
	c.ok = true;
	w->scratch.max = PP_WORLD_SCRATCH_MAX;
	pp_buf_reset(&w->scratch);
	if (log)
		w->log = log;
	if (!rc)
		rc = pp_wargs_convert(args, &conv);
	if (!rc)
		rc = check_tool(&c, name);
	if (!rc && !c.tool) {           /* the log keeps the name as given */
		tool = pp_strdup(name ? name : "");
		rc = tool ? PP_OK : PP_ENOMEM;
	}
	if (!rc && c.ok)
		rc = pp_wargs_bind(&c, conv, args);
	if (!rc && c.ok)
		rc = c.tool->run(&c);
	if (!rc && !c.emitted)
		rc = pp_wcall_emit(&c);
	if (rc) {
		/* Nothing happened: give back what was taken. */
		if (c.emitted) {
			free(c.result);
			out->len = out_len;
			out->buf[out_len] = '\0';
		}
		free(tool);
		pp_json_decref(conv);
		return rc;
	}
	record(w, &c, tool, conv);
	*ok = c.ok;
	return PP_OK;
}

/* ---- dumps ---- */

static struct pp_json *shutdowns_state(const struct pp_world *w)
{
	struct pp_json *arr = pp_json_array(), *o;
	size_t i;
	int rc = arr ? PP_OK : PP_ENOMEM;

	for (i = 0; !rc && i < w->n_shutdowns; i++) {
		o = pp_json_object();
		rc = o ? pp_json_set_str(o, "system_id", w->shutdowns[i].system_id)
		       : PP_ENOMEM;
		if (!rc)
			rc = pp_json_set_str(o, "time", w->shutdowns[i].time);
		if (!rc)
			rc = pp_json_append(arr, o);
		else
			pp_json_decref(o);
	}
	if (rc) {
		pp_json_decref(arr);
		return NULL;
	}
	return arr;
}

struct pp_json *pp_world_state(const struct pp_world *w)
{
	struct pp_json *s = pp_json_object();
	int rc = s ? PP_OK : PP_ENOMEM;

	if (!rc)
		rc = pp_json_set_str(s, "clock", w->now);
	if (!rc)
		rc = pp_json_set(s, "drive", pp_wdrive_state(w));
	if (!rc)
		rc = pp_json_set(s, "sheets", pp_json_incref(w->sheets));
	if (!rc)
		rc = pp_json_set(s, "configs", pp_json_copy(w->configs));
	if (!rc)
		rc = pp_json_set(s, "servers", pp_wservers_state(w));
	if (!rc)
		rc = pp_json_set(s, "shutdowns", shutdowns_state(w));
	if (!rc)
		rc = pp_json_set(s, "memory_reads", pp_json_integer(w->memory_reads));
	if (rc) {
		pp_json_decref(s);
		return NULL;
	}
	return s;
}

static struct pp_json *log_entry(const struct pp_wlog *e, size_t seq)
{
	struct pp_json *o = pp_json_object();
	int rc = o ? PP_OK : PP_ENOMEM;

	if (!rc)
		rc = pp_json_set(o, "seq", pp_json_integer((long long)seq));
	if (!rc)
		rc = pp_json_set(o, "turn", pp_json_integer(e->turn));
	if (!rc)
		rc = pp_json_set_str(o, "tool", e->tool);
	if (!rc)
		rc = pp_json_set(o, "args", pp_json_incref(e->args));
	if (!rc)
		rc = pp_json_set(o, "ok", pp_json_bool(e->ok));
	if (!rc)
		rc = pp_json_set(o, "result", pp_json_stringn(e->result, e->result_len));
	if (!rc)
		rc = pp_json_set_str(o, "time", e->time);
	if (rc) {
		pp_json_decref(o);
		return NULL;
	}
	return o;
}

struct pp_json *pp_world_tool_log(const struct pp_world *w)
{
	struct pp_json *arr = pp_json_array();
	size_t i;

	for (i = 0; arr && i < w->n_log; i++) {
		if (pp_json_append(arr, log_entry(&w->log[i], i + 1))) {
			pp_json_decref(arr);
			return NULL;
		}
	}
	return arr;
}
