/*
 * store_rollout.c - reading a rollout back by id (store_rows.c writes
 * them).
 *
 * Each record kind (message, tool call, label) is described once by a
 * table of columns (store_int.h); the same table binds a JSON object to
 * an INSERT and turns a row back into an object, so writing and reading
 * cannot drift apart. Keys a table does not know go, as a JSON object,
 * into the row's `extra` column and come back on reading: nothing given
 * is dropped.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <peerpres/status.h>
#include "core/alloc.h"
#include "store/store_batch.h"
#include "store/store_int.h"

/* ---- reading ---- */

static struct pp_json *col_of_kind(sqlite3_stmt *st, int i, enum pp_col_kind kind)
{
	if (kind == PP_COL_BOOL && sqlite3_column_type(st, i) != SQLITE_NULL)
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
			 const struct pp_store_col *cols, struct pp_json *obj)
{
	struct pp_json *v;
	int rc = PP_OK, i;

	for (i = 0; cols[i].key; i++) {
		if (cols[i].kind == PP_COL_JSON) {
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

/* Runs a per-rollout query (one of the store's statements) and collects
 * its rows as objects: into an array, or into an object keyed by the
 * first column (labels). */
static int read_rows(struct pp_store *s, int query, sqlite3_int64 id,
		     const struct pp_store_col *cols, enum lead lead, struct pp_json **out)
{
	int keyed = lead == LEAD_KEY;
	sqlite3_stmt *st = s->st[query];
	struct pp_json *all = keyed ? pp_json_object() : pp_json_array();
	struct pp_json *o = NULL;
	int rc = PP_OK, src;

	if (!all)
		return PP_ENOMEM;
	if (sqlite3_bind_int64(st, 1, id) != SQLITE_OK)
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
	pp_store_reset(st);
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
	sqlite3_stmt *st = s->st[PP_ST_RESOLVE_CONFIG];
	char *found = NULL;
	int rc = PP_OK, src, rows = 0;

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
	pp_store_reset(st);
	if (rc) {
		free(found);
		found = NULL;
	}
	*id = found;
	return rc;
}

static const struct pp_store_col rollout_row_cols[] = {
	{ "run_id", PP_COL_NUM }, { "seed", PP_COL_NUM }, { "status", PP_COL_TEXT },
	{ "error", PP_COL_TEXT }, { "agent", PP_COL_TEXT }, { "started_at", PP_COL_TEXT },
	{ "finished_at", PP_COL_TEXT }, { "duration_ms", PP_COL_NUM },
	{ "n_model_calls", PP_COL_NUM }, { NULL, PP_COL_TEXT },
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
	for (i = 0; pp_store_usage_keys[i]; i++)
		if ((rc = pp_json_set(usage, pp_store_usage_keys[i], pp_store_col_value(st, 10 + i))))
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
	sqlite3_stmt *st = s ? s->st[PP_ST_GET_ROLLOUT] : NULL;
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
	    (rc = resolve_config(s, rollout_id, n, &cid)))
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
	if ((rc = read_rows(s, PP_ST_GET_MESSAGES, id, pp_store_message_cols, LEAD_NONE, &v)) ||
	    (rc = pp_json_set(o, "messages", v)))
		goto out;
	if ((rc = read_rows(s, PP_ST_GET_TOOL_CALLS, id, pp_store_tool_call_cols, LEAD_SEQ, &v)) ||
	    (rc = pp_json_set(o, "tool_calls", v)))
		goto out;
	if ((rc = read_rows(s, PP_ST_GET_LABELS, id, pp_store_label_cols, LEAD_KEY, &v)) ||
	    (rc = pp_json_set(o, "labels", v)))
		goto out;
	*out = o;
	o = NULL;
out:
	pp_store_reset(st);
	pp_json_decref(o);
	free(cid);
	return rc;
}
