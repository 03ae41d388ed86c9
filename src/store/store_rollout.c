/*
 * store_rollout.c - writing a finished rollout in one transaction (or in
 * a savepoint of a batch, store_batch.c) and reading one back by id.
 *
 * Each record kind (message, tool call, label) is described once by a
 * table of columns; the same table binds a JSON object to an INSERT and
 * turns a row back into an object, so writing and reading cannot drift
 * apart. Keys a table does not know go, as a JSON object, into the row's
 * `extra` column and come back on reading: nothing given is dropped.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <peerpres/status.h>
#include "core/alloc.h"
#include "store/store_batch.h"
#include "store/store_int.h"

enum col_kind { COL_TEXT, COL_JSON, COL_NUM, COL_BOOL };

struct col {
	const char *key;
	enum col_kind kind;
};

/* Columns after (rollout, seq), in statement parameter order from ?3. */
static const struct col message_cols[] = {
	{ "role", COL_TEXT }, { "content", COL_TEXT }, { "reasoning", COL_TEXT },
	{ "tool_calls", COL_JSON }, { "tool_call_id", COL_TEXT },
	{ "name", COL_TEXT }, { NULL, COL_TEXT },
};

static const struct col tool_call_cols[] = {
	{ "turn", COL_NUM }, { "tool", COL_TEXT }, { "args", COL_JSON },
	{ "ok", COL_BOOL }, { "result", COL_TEXT }, { "time", COL_TEXT },
	{ NULL, COL_TEXT },
};

/* Label columns after (rollout, name, seq). */
static const struct col label_cols[] = {
	{ "value", COL_JSON }, { "decided", COL_BOOL }, { "source", COL_TEXT },
	{ "evidence", COL_TEXT }, { "turn", COL_NUM }, { NULL, COL_TEXT },
};

/* Rollout keys with a column of their own (or written elsewhere). */
static const char *const rollout_keys[] = {
	"rollout_id", "run_id", "config_id", "idx", "seed", "status", "error",
	"agent", "started_at", "finished_at", "duration_ms", "n_model_calls",
	"usage", "cost_usd", "provenance", "messages", "tool_calls",
	"final_state", "labels", NULL,
};

static const char *const usage_keys[] = {
	"input_tokens", "output_tokens", "reasoning_tokens", NULL,
};

static const char *const statuses[] = {
	"scored", "refused", "incomplete", "error", "pending_judge", NULL,
};

static int in_list(const char *key, const char *const *list)
{
	for (; list && *list; list++)
		if (!strcmp(key, *list))
			return 1;
	return 0;
}

static int in_cols(const char *key, const struct col *cols, const char *also)
{
	for (; cols->key; cols++)
		if (!strcmp(key, cols->key))
			return 1;
	return also && !strcmp(key, also);
}

/*
 * The keys of obj that have no column, as a new object in *extra, or NULL
 * when there are none (the usual case, which costs no allocation).
 */
static int extra_keys(const struct pp_json *obj, const struct col *cols,
		      const char *const *keys, const char *also,
		      struct pp_json **extra)
{
	void *it;
	int rc;

	*extra = NULL;
	for (it = pp_json_iter(obj); it; it = pp_json_iter_next(obj, it)) {
		const char *k = pp_json_iter_key(it);

		if (cols ? in_cols(k, cols, also) : in_list(k, keys))
			continue;
		if (!*extra && !(*extra = pp_json_object()))
			return PP_ENOMEM;
		rc = pp_json_set(*extra, k, pp_json_incref(pp_json_iter_value(it)));
		if (rc)
			return rc;
	}
	return PP_OK;
}

static int bind_int(struct pp_store *s, sqlite3_stmt *st, int i, int64_t v)
{
	if (sqlite3_bind_int64(st, i, v) != SQLITE_OK)
		return pp_store_sqlfail(s, "binding a value");
	return PP_OK;
}

static int bind_col(struct pp_store *s, sqlite3_stmt *st, int i,
		    const struct col *c, const struct pp_json *v)
{
	switch (c->kind) {
	case COL_TEXT:
		return pp_store_bind_text(s, st, i, v);
	case COL_JSON:
		return pp_store_bind_json(s, st, i, v);
	default:
		return pp_store_bind_num(s, st, i, v);
	}
}

/* Binds obj's columns from parameter `first` on, then its extra keys. */
static int bind_cols(struct pp_store *s, sqlite3_stmt *st, int first,
		     const struct pp_json *obj, const struct col *cols,
		     const char *also)
{
	struct pp_json *extra = NULL;
	int rc = PP_OK, i = first;

	for (; cols[i - first].key; i++) {
		rc = bind_col(s, st, i, &cols[i - first], pp_json_get(obj, cols[i - first].key));
		if (rc)
			goto out;
	}
	rc = extra_keys(obj, cols, NULL, also, &extra);
	if (!rc)
		rc = pp_store_bind_json(s, st, i, extra);
out:
	pp_json_decref(extra);
	return rc;
}

/* A broken constraint (two tool calls with one seq) is bad input. */
static int step_insert(struct pp_store *s, sqlite3_stmt *st, const char *what)
{
	int rc = PP_OK;

	if (sqlite3_step(st) != SQLITE_DONE) {
		rc = pp_store_sqlfail(s, what);
		if (sqlite3_errcode(s->db) == SQLITE_CONSTRAINT)
			rc = PP_EINVAL;
	}
	pp_store_reset(st);
	return rc;
}

static int put_messages(struct pp_store *s, sqlite3_int64 id,
			const struct pp_json *msgs)
{
	sqlite3_stmt *st = s->st[PP_ST_INS_MESSAGE];
	size_t i;
	int rc = PP_OK;

	for (i = 0; i < pp_json_len(msgs); i++) {
		const struct pp_json *m = pp_json_at(msgs, i);

		if (!pp_json_is_object(m))
			return pp_store_fail(s, PP_EINVAL, "message %zu is not an object", i);
		rc = bind_int(s, st, 1, id);
		if (!rc)
			rc = bind_int(s, st, 2, (int64_t)i);
		if (!rc)
			rc = bind_cols(s, st, 3, m, message_cols, NULL);
		if (!rc)
			rc = step_insert(s, st, "writing a message");
		pp_store_reset(st);
		if (rc)
			return rc;
	}
	return PP_OK;
}

static int put_tool_calls(struct pp_store *s, sqlite3_int64 id,
			  const struct pp_json *calls)
{
	sqlite3_stmt *st = s->st[PP_ST_INS_TOOL_CALL];
	long long seq;
	size_t i;
	int rc = PP_OK;

	for (i = 0; i < pp_json_len(calls); i++) {
		const struct pp_json *c = pp_json_at(calls, i);

		if (!pp_json_is_object(c))
			return pp_store_fail(s, PP_EINVAL, "tool call %zu is not an object", i);
		/* The world numbers its log from 1; a log without numbers
		 * gets its positions. */
		if (!pp_json_int(pp_json_get(c, "seq"), &seq))
			seq = (long long)i + 1;
		rc = bind_int(s, st, 1, id);
		if (!rc)
			rc = bind_int(s, st, 2, seq);
		if (!rc)
			rc = bind_cols(s, st, 3, c, tool_call_cols, "seq");
		if (!rc)
			rc = step_insert(s, st, "writing a tool call");
		pp_store_reset(st);
		if (rc)
			return rc;
	}
	return PP_OK;
}

static int put_labels(struct pp_store *s, sqlite3_int64 id,
		      const struct pp_json *labels)
{
	sqlite3_stmt *st = s->st[PP_ST_INS_LABEL];
	sqlite3_int64 seq = 0;
	void *it;
	int rc = PP_OK;

	for (it = pp_json_iter(labels); it; it = pp_json_iter_next(labels, it)) {
		const char *name = pp_json_iter_key(it);
		const struct pp_json *l = pp_json_iter_value(it);

		if (!pp_json_is_object(l))
			return pp_store_fail(s, PP_EINVAL, "label '%s' is not an object", name);
		rc = bind_int(s, st, 1, id);
		if (!rc && sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC))
			rc = pp_store_sqlfail(s, "binding a label name");
		if (!rc)
			rc = bind_int(s, st, 3, seq++);
		if (!rc)
			rc = bind_cols(s, st, 4, l, label_cols, NULL);
		if (!rc)
			rc = step_insert(s, st, "writing a label");
		pp_store_reset(st);
		if (rc)
			return rc;
	}
	return PP_OK;
}

/* The rollout's extra keys, with the whole usage object when it carries
 * counts beyond the three with columns. */
static int rollout_extra(const struct pp_json *r, struct pp_json **extra)
{
	const struct pp_json *usage = pp_json_get(r, "usage");
	struct pp_json *more = NULL;
	int rc;

	rc = extra_keys(r, NULL, rollout_keys, NULL, extra);
	if (!rc)
		rc = extra_keys(usage, NULL, usage_keys, NULL, &more);
	if (!rc && more) {
		if (!*extra && !(*extra = pp_json_object()))
			rc = PP_ENOMEM;
		else
			rc = pp_json_set(*extra, "usage", pp_json_incref((struct pp_json *)usage));
	}
	pp_json_decref(more);
	return rc;
}

static int bind_rollout(struct pp_store *s, sqlite3_stmt *st, int64_t run_id,
			const struct pp_json *r)
{
	static const struct col cols[] = {
		{ "config_id", COL_TEXT }, { "idx", COL_NUM }, { NULL, COL_NUM },
		{ "seed", COL_NUM }, { "status", COL_TEXT }, { "error", COL_TEXT },
		{ "agent", COL_TEXT }, { "started_at", COL_TEXT },
		{ "finished_at", COL_TEXT }, { "duration_ms", COL_NUM },
		{ "n_model_calls", COL_NUM },
	};
	const struct pp_json *usage = pp_json_get(r, "usage");
	struct pp_json *extra = NULL;
	size_t i;
	int rc = PP_OK;

	for (i = 0; i < sizeof(cols) / sizeof(cols[0]); i++) {
		if (!cols[i].key) /* the run id is ours, not the rollout's */
			rc = run_id > 0 ?
			     bind_int(s, st, (int)i + 1, run_id) :
			     pp_store_bind_num(s, st, (int)i + 1, NULL);
		else
			rc = bind_col(s, st, (int)i + 1, &cols[i],
				      pp_json_get(r, cols[i].key));
		if (rc)
			goto out;
	}
	for (i = 0; usage_keys[i]; i++)
		if ((rc = pp_store_bind_num(s, st, 12 + (int)i,
					    pp_json_get(usage, usage_keys[i]))))
			goto out;
	if ((rc = pp_store_bind_num(s, st, 15, pp_json_get(r, "cost_usd"))) ||
	    (rc = pp_store_bind_json(s, st, 16, pp_json_get(r, "provenance"))) ||
	    (rc = pp_store_bind_json(s, st, 17, pp_json_get(r, "final_state"))) ||
	    (rc = rollout_extra(r, &extra)) ||
	    (rc = pp_store_bind_json(s, st, 18, extra)))
		goto out;
out:
	pp_json_decref(extra);
	return rc;
}

static int check_rollout(struct pp_store *s, const struct pp_json *r)
{
	const char *status = pp_json_get_str(r, "status", NULL);
	const char *key;
	long long idx;

	if (!pp_json_get_str(r, "config_id", NULL))
		return pp_store_fail(s, PP_EINVAL, "a rollout needs a \"config_id\"");
	if (!pp_json_int(pp_json_get(r, "idx"), &idx) || idx < 0)
		return pp_store_fail(s, PP_EINVAL,
				     "a rollout needs an \"idx\" integer >= 0");
	if (!status || !in_list(status, statuses))
		return pp_store_fail(s, PP_EINVAL, "unknown rollout status '%s'",
				     status ? status : "(none)");
	key = !pp_json_is_null(pp_json_get(r, "messages")) &&
	      !pp_json_is_array(pp_json_get(r, "messages")) ? "messages" :
	      !pp_json_is_null(pp_json_get(r, "tool_calls")) &&
	      !pp_json_is_array(pp_json_get(r, "tool_calls")) ? "tool_calls" :
	      !pp_json_is_null(pp_json_get(r, "labels")) &&
	      !pp_json_is_object(pp_json_get(r, "labels")) ? "labels" : NULL;
	if (key)
		return pp_store_fail(s, PP_EINVAL, "rollout \"%s\" has the wrong type", key);
	return PP_OK;
}

/* The rollout row itself. A stored index is PP_EEXIST (another process
 * may have stored it meanwhile); an unknown config or run is the
 * caller's mistake (PP_EINVAL), not the store's failure. */
static int insert_rollout(struct pp_store *s, int64_t run_id,
			  const struct pp_json *r, sqlite3_int64 *id)
{
	sqlite3_stmt *st = s->st[PP_ST_INS_ROLLOUT];
	long long idx = 0;
	int rc, ext;

	pp_json_int(pp_json_get(r, "idx"), &idx);
	rc = bind_rollout(s, st, run_id, r);
	if (rc)
		goto out;
	if (sqlite3_step(st) == SQLITE_DONE) {
		*id = sqlite3_last_insert_rowid(s->db);
		goto out;
	}
	ext = sqlite3_extended_errcode(s->db);
	if (ext == SQLITE_CONSTRAINT_UNIQUE)
		rc = pp_store_fail(s, PP_EEXIST, "rollout %s:%lld is already stored",
				   pp_json_get_str(r, "config_id", ""), idx);
	else if (ext == SQLITE_CONSTRAINT_FOREIGNKEY)
		rc = pp_store_fail(s, PP_EINVAL,
				   "config '%s' or run %lld is not stored",
				   pp_json_get_str(r, "config_id", ""), (long long)run_id);
	else
		rc = pp_store_sqlfail(s, "writing the rollout");
out:
	pp_store_reset(st);
	return rc;
}

int pp_store_put_rollout(struct pp_store *s, int64_t run_id, const struct pp_json *rollout)
{
	sqlite3_int64 id = 0;
	bool nested;
	int rc = PP_OK;

	if (!s || !rollout)
		return PP_EINVAL;
	pp_store_clear_error(s);
	rc = check_rollout(s, rollout);
	if (rc)
		return rc;
	/* Inside a batch (store_batch.c) the rollout gets a savepoint, so
	 * a failure undoes it alone. */
	if ((rc = pp_store_txn_enter(s, &nested)))
		return rc;
	if ((rc = insert_rollout(s, run_id, rollout, &id)) ||
	    (rc = put_messages(s, id, pp_json_get(rollout, "messages"))) ||
	    (rc = put_tool_calls(s, id, pp_json_get(rollout, "tool_calls"))))
		goto out;
	rc = put_labels(s, id, pp_json_get(rollout, "labels"));
out:
	return pp_store_txn_leave(s, nested, rc);
}

/* ---- reading ---- */

static int prepare(struct pp_store *s, const char *sql, sqlite3_stmt **st)
{
	if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK)
		return pp_store_sqlfail(s, "preparing a query");
	return PP_OK;
}

static struct pp_json *col_of_kind(sqlite3_stmt *st, int i, enum col_kind kind)
{
	if (kind == COL_BOOL && sqlite3_column_type(st, i) != SQLITE_NULL)
		return pp_json_bool(sqlite3_column_int64(st, i) != 0);
	return pp_store_col_value(st, i);
}

/* Merges the keys of a stored `extra` object into obj. */
static int merge_extra(struct pp_store *s, sqlite3_stmt *st, int i,
		       struct pp_json *obj)
{
	struct pp_json *extra = NULL;
	void *it;
	int rc;

	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return PP_OK;
	rc = pp_store_col_json(s, st, i, &extra);
	for (it = rc ? NULL : pp_json_iter(extra); it && !rc;
	     it = pp_json_iter_next(extra, it))
		rc = pp_json_set(obj, pp_json_iter_key(it),
				 pp_json_incref(pp_json_iter_value(it)));
	pp_json_decref(extra);
	return rc;
}

/* Sets obj's keys from the row's columns first.. (in cols order), then
 * merges the extra column that follows them. */
static int row_to_object(struct pp_store *s, sqlite3_stmt *st, int first,
			 const struct col *cols, struct pp_json *obj)
{
	struct pp_json *v;
	int rc = PP_OK, i;

	for (i = 0; cols[i].key; i++) {
		if (cols[i].kind == COL_JSON) {
			rc = pp_store_col_json(s, st, first + i, &v);
			if (rc)
				return rc;
		} else {
			v = col_of_kind(st, first + i, cols[i].kind);
		}
		rc = pp_json_set(obj, cols[i].key, v);
		if (rc)
			return rc;
	}
	return merge_extra(s, st, first + i, obj);
}

/* What the first column of a per-rollout query is. */
enum lead { LEAD_NONE, LEAD_SEQ, LEAD_KEY };

/* Runs a per-rollout query and collects its rows as objects: into an
 * array, or into an object keyed by the first column (labels). */
static int read_rows(struct pp_store *s, const char *sql, sqlite3_int64 id,
		     const struct col *cols, enum lead lead, struct pp_json **out)
{
	int keyed = lead == LEAD_KEY;
	sqlite3_stmt *st = NULL;
	struct pp_json *all = keyed ? pp_json_object() : pp_json_array();
	struct pp_json *o = NULL;
	int rc, src;

	if (!all)
		return PP_ENOMEM;
	rc = prepare(s, sql, &st);
	if (!rc && sqlite3_bind_int64(st, 1, id) != SQLITE_OK)
		rc = pp_store_sqlfail(s, "binding a value");
	while (!rc && (src = sqlite3_step(st)) == SQLITE_ROW) {
		if (!(o = pp_json_object())) {
			rc = PP_ENOMEM;
			break;
		}
		/* Tool calls lead with their seq, labels with their name. */
		rc = lead != LEAD_SEQ ? PP_OK :
		     pp_json_set(o, "seq", pp_store_col_value(st, 0));
		if (!rc)
			rc = row_to_object(s, st, 1, cols, o);
		if (!rc)
			rc = keyed ? pp_json_set(all, (const char *)sqlite3_column_text(st, 0), o)
				   : pp_json_append(all, o);
		else
			pp_json_decref(o);
		o = NULL;
	}
	if (!rc && src != SQLITE_DONE)
		rc = pp_store_sqlfail(s, "reading a rollout");
	sqlite3_finalize(st);
	if (rc)
		pp_json_decref(all);
	else
		*out = all;
	return rc;
}

int pp_store_plain_key(const char *k)
{
	if (!*k)
		return 0;
	for (; *k; k++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_", *k))
			return 0;
	return 1;
}

int pp_store_find_extra(struct pp_store *s, const char *config_id, const char *key,
			const char *value, long *idx)
{
	sqlite3_stmt *st;
	struct pp_buf path = PP_BUF_INIT;
	int rc, src;

	if (!s || !config_id || !key || !value || !idx)
		return PP_EINVAL;
	*idx = -1;
	pp_store_clear_error(s);
	if (!pp_store_plain_key(key))
		return pp_store_fail(s, PP_EINVAL, "bad extra key '%s'", key);
	st = s->st[PP_ST_FIND_EXTRA];
	if ((rc = pp_buf_addf(&path, "$.%s", key)))
		goto out;
	if (sqlite3_bind_text(st, 1, config_id, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(st, 2, path.buf, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(st, 3, value, -1, SQLITE_STATIC)) {
		rc = pp_store_sqlfail(s, "binding a value");
		goto out;
	}
	src = sqlite3_step(st);
	if (src == SQLITE_ROW)
		*idx = (long)sqlite3_column_int64(st, 0);
	else if (src != SQLITE_DONE)
		rc = pp_store_sqlfail(s, "looking up a rollout");
out:
	pp_store_reset(st);
	pp_buf_release(&path);
	return rc;
}

static int is_hex_prefix(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strchr("0123456789abcdef", p[i]) || !p[i])
			return 0;
	return n >= 6;
}

/* The full config id for an exact id or a unique prefix of 6 or more hex
 * digits. *id is new. */
static int resolve_config(struct pp_store *s, const char *prefix, size_t n,
			  char **id)
{
	sqlite3_stmt *st = NULL;
	char *found = NULL;
	int rc, src, rows = 0;

	rc = prepare(s, "SELECT config_id FROM configs WHERE config_id = ?1"
		     " UNION ALL SELECT * FROM (SELECT config_id FROM configs"
		     " WHERE ?2 AND config_id GLOB ?1 || '*' AND config_id <> ?1"
		     " ORDER BY config_id LIMIT 2)", &st);
	if (rc)
		return rc;
	if (sqlite3_bind_text(st, 1, prefix, (int)n, SQLITE_STATIC) ||
	    sqlite3_bind_int(st, 2, is_hex_prefix(prefix, n))) {
		rc = pp_store_sqlfail(s, "binding a value");
		goto out;
	}
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		const char *cid = (const char *)sqlite3_column_text(st, 0);

		if (rows++ == 0) {
			found = pp_strdup(cid);
			if (!found) {
				rc = PP_ENOMEM;
				goto out;
			}
			/* An exact match wins over longer ids it prefixes. */
			if (strlen(cid) == n)
				break;
		} else {
			rc = pp_store_fail(s, PP_EINVAL,
					   "config id prefix '%.*s' is ambiguous:"
					   " it matches %s and %s; give more digits",
					   (int)n, prefix, found, cid);
			goto out;
		}
	}
	if (src != SQLITE_ROW && src != SQLITE_DONE) {
		rc = pp_store_sqlfail(s, "looking up a config");
		goto out;
	}
	if (!found)
		rc = pp_store_fail(s, PP_ENOTFOUND, "no config '%.*s'%s", (int)n, prefix,
				   is_hex_prefix(prefix, n) ? "" :
				   " (a prefix needs 6 or more hex digits)");
out:
	sqlite3_finalize(st);
	if (rc) {
		free(found);
		found = NULL;
	}
	*id = found;
	return rc;
}

static const struct col rollout_row_cols[] = {
	{ "run_id", COL_NUM }, { "seed", COL_NUM }, { "status", COL_TEXT },
	{ "error", COL_TEXT }, { "agent", COL_TEXT }, { "started_at", COL_TEXT },
	{ "finished_at", COL_TEXT }, { "duration_ms", COL_NUM },
	{ "n_model_calls", COL_NUM }, { NULL, COL_TEXT },
};

/* Columns 0 id, 1..9 rollout_row_cols, 10..12 usage, 13 cost, 14
 * provenance, 15 final_state, 16 extra. */
static int rollout_object(struct pp_store *s, sqlite3_stmt *st,
			  const char *config_id, long long idx, struct pp_json *o)
{
	struct pp_json *usage = pp_json_object(), *v = NULL;
	struct pp_buf rid = PP_BUF_INIT;
	int rc, i;

	if (!usage)
		return PP_ENOMEM;
	if ((rc = pp_buf_addf(&rid, "%s:%lld", config_id, idx)) ||
	    (rc = pp_json_set_str(o, "rollout_id", rid.buf)) ||
	    (rc = pp_json_set_str(o, "config_id", config_id)) ||
	    (rc = pp_json_set(o, "idx", pp_json_integer(idx))))
		goto out;
	for (i = 0; rollout_row_cols[i].key; i++)
		if ((rc = pp_json_set(o, rollout_row_cols[i].key,
				      col_of_kind(st, 1 + i, rollout_row_cols[i].kind))))
			goto out;
	for (i = 0; usage_keys[i]; i++)
		if ((rc = pp_json_set(usage, usage_keys[i], pp_store_col_value(st, 10 + i))))
			goto out;
	rc = pp_json_set(o, "usage", usage);
	usage = NULL;
	if (rc || (rc = pp_json_set(o, "cost_usd", pp_store_col_value(st, 13))))
		goto out;
	if ((rc = pp_store_col_json(s, st, 14, &v)) ||
	    (rc = pp_json_set(o, "provenance", v)))
		goto out;
	if ((rc = pp_store_col_json(s, st, 15, &v)) ||
	    (rc = pp_json_set(o, "final_state", v)))
		goto out;
	rc = merge_extra(s, st, 16, o);
out:
	pp_buf_release(&rid);
	pp_json_decref(usage);
	return rc;
}

static int parse_rollout_id(struct pp_store *s, const char *rid, size_t *prefix_len,
			    long long *idx)
{
	const char *colon = strrchr(rid, ':');
	char *end;

	if (!colon || colon == rid || !colon[1])
		return pp_store_fail(s, PP_EINVAL,
				     "rollout id '%s' is not <config_id>:<index>", rid);
	errno = 0;
	*idx = strtoll(colon + 1, &end, 10);
	if (errno || *end || *idx < 0 || colon[1] == '-' || colon[1] == '+')
		return pp_store_fail(s, PP_EINVAL,
				     "rollout id '%s' has a bad index", rid);
	*prefix_len = (size_t)(colon - rid);
	return PP_OK;
}

int pp_store_get_rollout(struct pp_store *s, const char *rollout_id, struct pp_json **out)
{
	sqlite3_stmt *st = NULL;
	struct pp_json *o = NULL, *v = NULL;
	char *cid = NULL;
	sqlite3_int64 id;
	long long idx = 0;
	size_t n = 0;
	int rc, src;

	if (!s || !rollout_id || !out)
		return PP_EINVAL;
	*out = NULL;
	pp_store_clear_error(s);
	if ((rc = parse_rollout_id(s, rollout_id, &n, &idx)) ||
	    (rc = resolve_config(s, rollout_id, n, &cid)) ||
	    (rc = prepare(s, "SELECT id, run_id, seed, status, error, agent,"
			  " started_at, finished_at, duration_ms, n_model_calls,"
			  " input_tokens, output_tokens, reasoning_tokens, cost_usd,"
			  " provenance, final_state, extra FROM rollouts"
			  " WHERE config_id = ?1 AND idx = ?2", &st)))
		goto out;
	if (sqlite3_bind_text(st, 1, cid, -1, SQLITE_STATIC) ||
	    sqlite3_bind_int64(st, 2, idx)) {
		rc = pp_store_sqlfail(s, "binding a value");
		goto out;
	}
	src = sqlite3_step(st);
	if (src == SQLITE_DONE) {
		rc = pp_store_fail(s, PP_ENOTFOUND, "no rollout %s:%lld", cid, idx);
		goto out;
	}
	if (src != SQLITE_ROW) {
		rc = pp_store_sqlfail(s, "reading a rollout");
		goto out;
	}
	id = sqlite3_column_int64(st, 0);
	if (!(o = pp_json_object())) {
		rc = PP_ENOMEM;
		goto out;
	}
	if ((rc = rollout_object(s, st, cid, idx, o)))
		goto out;
	if ((rc = read_rows(s, "SELECT NULL, role, content, reasoning, tool_calls,"
			    " tool_call_id, name, extra FROM messages"
			    " WHERE rollout = ?1 ORDER BY seq", id, message_cols,
			    LEAD_NONE, &v)) ||
	    (rc = pp_json_set(o, "messages", v)))
		goto out;
	if ((rc = read_rows(s, "SELECT seq, turn, tool, args, ok, result, time,"
			    " extra FROM tool_calls WHERE rollout = ?1 ORDER BY seq",
			    id, tool_call_cols, LEAD_SEQ, &v)) ||
	    (rc = pp_json_set(o, "tool_calls", v)))
		goto out;
	if ((rc = read_rows(s, "SELECT name, value, decided, source, evidence,"
			    " turn, extra FROM labels WHERE rollout = ?1 ORDER BY seq",
			    id, label_cols, LEAD_KEY, &v)) ||
	    (rc = pp_json_set(o, "labels", v)))
		goto out;
	*out = o;
	o = NULL;
out:
	sqlite3_finalize(st);
	pp_json_decref(o);
	free(cid);
	return rc;
}
