/*
 * store_summary.c - everything a report needs, read in two queries.
 *
 * One query reads the filtered configs, one reads their rollouts joined
 * with their labels; both are ordered by config id, so the rows are
 * merged into the configs in one pass, whatever the number of rollouts.
 */
#include <stdint.h>
#include <string.h>

#include <peerpres/status.h>
#include "store/store_int.h"

/* Filter keys: each names a dimension column of configs (so the key can
 * be pasted into SQL: it comes from this list, never from the caller). */
static const char *const filter_keys[] = {
	"scenario", "subject", "condition", "instantiation", "dataset",
	"threshold", "mode", "scratchpad", "model", "family", "config_id", NULL,
};

static int known_filter(const char *key)
{
	int i;

	for (i = 0; filter_keys[i]; i++)
		if (!strcmp(key, filter_keys[i]))
			return 1;
	return 0;
}

/*
 * Appends " WHERE c.k IN (?, ...) AND ..." for the filters and collects
 * the allowed strings, in parameter order, into `params` (borrowed from
 * filters). A key given as one string is read as a list of one.
 */
static int filter_sql(struct pp_store *s, const struct pp_json *filters,
		      struct pp_buf *sql, struct pp_json *params)
{
	void *it;
	size_t i, n;
	int rc = PP_OK, first = 1;

	if (pp_json_is_null(filters))
		return PP_OK;
	if (!pp_json_is_object(filters))
		return pp_store_fail(s, PP_EINVAL, "filters must be an object");
	for (it = pp_json_iter(filters); it; it = pp_json_iter_next(filters, it)) {
		const char *key = pp_json_iter_key(it);
		struct pp_json *v = pp_json_iter_value(it);
		int one = pp_json_is_string(v);

		if (!known_filter(key))
			return pp_store_fail(s, PP_EINVAL, "unknown filter '%s'", key);
		if (!one && !pp_json_is_array(v))
			return pp_store_fail(s, PP_EINVAL,
					     "filter '%s' must be a list of strings", key);
		n = one ? 1 : pp_json_len(v);
		if ((rc = pp_buf_addf(sql, " %s c.%s IN (", first ? "WHERE" : "AND",
				      key)))
			return rc;
		first = 0;
		for (i = 0; i < n; i++) {
			struct pp_json *e = one ? v : pp_json_at(v, i);

			if (!pp_json_is_string(e))
				return pp_store_fail(s, PP_EINVAL,
						     "filter '%s' must be a list of"
						     " strings", key);
			if ((rc = pp_buf_adds(sql, i ? ", ?" : "?")) ||
			    (rc = pp_json_append(params, pp_json_incref(e))))
				return rc;
		}
		if ((rc = pp_buf_adds(sql, ")")))
			return rc;
	}
	return PP_OK;
}

static int prepare_filtered(struct pp_store *s, const char *head,
			    const struct pp_buf *where, const char *tail,
			    const struct pp_json *params, sqlite3_stmt **st)
{
	struct pp_buf sql = PP_BUF_INIT;
	size_t i;
	int rc;

	*st = NULL;
	if ((rc = pp_buf_adds(&sql, head)) || (rc = pp_buf_adds(&sql, where->buf)) ||
	    (rc = pp_buf_adds(&sql, tail)))
		goto out;
	if (sqlite3_prepare_v2(s->db, sql.buf, -1, st, NULL) != SQLITE_OK) {
		rc = pp_store_sqlfail(s, "preparing the summary");
		goto out;
	}
	for (i = 0; i < pp_json_len(params); i++) {
		const struct pp_json *p = pp_json_at(params, i);

		if (sqlite3_bind_text64(*st, (int)i + 1, pp_json_str(p), pp_json_len(p),
					SQLITE_STATIC, SQLITE_UTF8) != SQLITE_OK) {
			rc = pp_store_sqlfail(s, "binding the filters");
			goto out;
		}
	}
out:
	pp_buf_release(&sql);
	return rc;
}

/* The filtered configs, ordered by id, each with an empty "rollouts". */
static int read_configs(struct pp_store *s, const struct pp_buf *where,
			const struct pp_json *params, struct pp_json *configs)
{
	sqlite3_stmt *st = NULL;
	struct pp_json *c = NULL;
	int rc, src = SQLITE_DONE;

	rc = prepare_filtered(s, "SELECT c.json FROM configs c", where,
			      " ORDER BY c.config_id", params, &st);
	while (!rc && (src = sqlite3_step(st)) == SQLITE_ROW) {
		rc = pp_store_col_json(s, st, 0, &c);
		if (!rc && !pp_json_is_object(c))
			rc = pp_store_fail(s, PP_ESTORE, "a stored config is not an object");
		if (!rc)
			rc = pp_json_set(c, "rollouts", pp_json_array());
		if (!rc)
			rc = pp_json_append(configs, c);
		else
			pp_json_decref(c);
		c = NULL;
	}
	if (!rc && src != SQLITE_DONE)
		rc = pp_store_sqlfail(s, "reading configs");
	sqlite3_finalize(st);
	return rc;
}

/* The rollout's "usage" from columns 10..12 (null where not recorded). */
static struct pp_json *usage_entry(sqlite3_stmt *st)
{
	static const char *const keys[] = {
		"input_tokens", "output_tokens", "reasoning_tokens",
	};
	struct pp_json *u = pp_json_object();
	int i;

	for (i = 0; u && i < 3; i++)
		if (pp_json_set(u, keys[i], pp_store_col_value(st, 10 + i))) {
			pp_json_decref(u);
			return NULL;
		}
	return u;
}

/* A new rollout entry {"idx","status","agent","n_model_calls","usage",
 * "cost_usd","labels":{}} from columns 1..3 and 9..13 of the rollout
 * query. */
static struct pp_json *rollout_entry(sqlite3_stmt *st)
{
	struct pp_json *r = pp_json_object();

	if (!r)
		return NULL;
	if (pp_json_set(r, "idx", pp_store_col_value(st, 1)) ||
	    pp_json_set(r, "status", pp_store_col_value(st, 2)) ||
	    pp_json_set(r, "agent", pp_store_col_value(st, 3)) ||
	    pp_json_set(r, "n_model_calls", pp_store_col_value(st, 9)) ||
	    pp_json_set(r, "usage", usage_entry(st)) ||
	    pp_json_set(r, "cost_usd", pp_store_col_value(st, 13)) ||
	    pp_json_set(r, "labels", pp_json_object())) {
		pp_json_decref(r);
		return NULL;
	}
	return r;
}

/* A new label {"value","decided","source"} from columns 5..7. */
static int new_label(struct pp_store *s, sqlite3_stmt *st, struct pp_json **out)
{
	struct pp_json *l = pp_json_object(), *v = NULL;
	int rc;

	*out = NULL;
	if (!l)
		return PP_ENOMEM;
	if ((rc = pp_store_col_json(s, st, 5, &v)) ||
	    (rc = pp_json_set(l, "value", v)) ||
	    (rc = pp_json_set(l, "decided", pp_json_bool(sqlite3_column_int(st, 6) != 0))) ||
	    (rc = pp_json_set(l, "source", pp_store_col_value(st, 7)))) {
		pp_json_decref(l);
		return rc;
	}
	*out = l;
	return PP_OK;
}

/* Values longer than this are not shared: a label's values are few
 * (booleans, scores, short verdicts), and a long one is likely unique. */
#define SHARED_VALUE_MAX 64

/*
 * Rollouts mostly carry the same few labels, and often the same whole set
 * of them: a summary holds each once. A label object costs about 400
 * bytes and a rollout's map of ~15 labels about 1 KB; a summary of 50,000
 * rollouts held 750,000 labels, and has a few hundred distinct ones and
 * about a hundred distinct sets. Whoever changes a summary's labels
 * replaces the map and the label (pp_store_judge_fold does), never edits
 * them in place.
 */
struct sharing {
	struct pp_json *labels;   /* value text, decided, source -> label */
	struct pp_json *sets;     /* the labels' names and addresses -> map */
	struct pp_buf set;        /* the current rollout's set, so far */
	bool shareable;           /* every label of it is shared */
};

/* Appends n bytes of s at *p, if they fit before end. */
static bool put(char **p, const char *end, const char *s, size_t n)
{
	if ((size_t)(end - *p) <= n)
		return false;
	memcpy(*p, s, n);
	*p += n;
	return true;
}

/*
 * The shared label of the row, or NULL when it is not shared yet (key
 * set) or cannot be (key empty). The key is built by hand, not with
 * snprintf, which was a tenth of reading a summary: decided, the
 * source's length and text, then the value's text (last, so no length).
 */
static struct pp_json *shared_label(struct sharing *sh, sqlite3_stmt *st, char *key, size_t len)
{
	const char *value = (const char *)sqlite3_column_text(st, 5);
	const char *source = (const char *)sqlite3_column_text(st, 7);
	size_t nv = value ? (size_t)sqlite3_column_bytes(st, 5) : 0;
	size_t ns = source ? (size_t)sqlite3_column_bytes(st, 7) : 0;
	char *p = key, *end = key + len, head[4];

	key[0] = '\0';
	if (nv > SHARED_VALUE_MAX || ns > 99)
		return NULL;
	head[0] = sqlite3_column_int(st, 6) ? '1' : '0';
	head[1] = source ? (char)('0' + ns / 10) : 'n';
	head[2] = source ? (char)('0' + ns % 10) : 'n';
	head[3] = value ? 'v' : 'n';
	if (!put(&p, end, head, 3) || !put(&p, end, source ? source : "", ns) ||
	    !put(&p, end, head + 3, 1) || !put(&p, end, value ? value : "", nv)) {
		key[0] = '\0';
		return NULL;
	}
	*p = '\0';
	return pp_json_get(sh->labels, key);
}

/* Appends "NAME=ADDRESS;" to the rollout's set. */
static int add_to_set(struct pp_buf *set, const char *name, const void *label)
{
	static const char hex[] = "0123456789abcdef";
	char text[2 * sizeof(uintptr_t) + 2];
	uintptr_t a = (uintptr_t)label;
	size_t i, n = 2 * sizeof(uintptr_t);
	int rc;

	for (i = 0; i < n; i++)
		text[n - 1 - i] = hex[(a >> (4 * i)) & 15];
	text[n] = ';';
	if ((rc = pp_buf_adds(set, name)) || (rc = pp_buf_addc(set, '=')))
		return rc;
	return pp_buf_add(set, text, n + 1);
}

/* Adds the label of columns 4..7 to r's labels, shared where it can be. */
static int add_label(struct pp_store *s, sqlite3_stmt *st, struct pp_json *r,
		     struct sharing *sh)
{
	const char *name = (const char *)sqlite3_column_text(st, 4);
	char key[SHARED_VALUE_MAX + 110];
	struct pp_json *l = shared_label(sh, st, key, sizeof(key));
	int rc;

	if (l)
		l = pp_json_incref(l);
	else if ((rc = new_label(s, st, &l)))
		return rc;
	else if (key[0] && (rc = pp_json_set(sh->labels, key, pp_json_incref(l)))) {
		pp_json_decref(l);
		return rc;
	}
	sh->shareable &= key[0] != '\0';
	if (sh->shareable && (rc = add_to_set(&sh->set, name, l))) {
		pp_json_decref(l);
		return rc;
	}
	return pp_json_set(pp_json_get(r, "labels"), name, l);
}

/* r's labels are complete: take the shared map of the same set, or share
 * r's. */
static int end_labels(struct sharing *sh, struct pp_json *r)
{
	struct pp_json *same;
	int rc = PP_OK;

	if (r && sh->shareable && sh->set.len) {
		if ((same = pp_json_get(sh->sets, sh->set.buf)))
			rc = pp_json_set(r, "labels", pp_json_incref(same));
		else
			rc = pp_json_set(sh->sets, sh->set.buf, pp_json_incref(pp_json_get(r, "labels")));
	}
	pp_buf_reset(&sh->set);
	sh->shareable = true;
	return rc;
}

/* Walks the rollout rows (ordered like configs) into the configs. */
static int read_rollouts(struct pp_store *s, const struct pp_buf *where,
			 const struct pp_json *params, struct pp_json *configs)
{
	sqlite3_stmt *st = NULL;
	struct pp_json *cfg = NULL, *r = NULL;
	struct sharing sh = { pp_json_object(), pp_json_object(), PP_BUF_INIT, true };
	sqlite3_int64 cur = -1;
	size_t ci = 0;
	int rc = sh.labels && sh.sets ? PP_OK : PP_ENOMEM, src = SQLITE_DONE;

	if (!rc)
		rc = prepare_filtered(s,
			"SELECT r.config_id, r.idx, r.status, r.agent, l.name, l.value,"
			" l.decided, l.source, r.id, r.n_model_calls, r.input_tokens,"
			" r.output_tokens, r.reasoning_tokens, r.cost_usd FROM configs c"
			" JOIN rollouts r ON r.config_id = c.config_id"
			" LEFT JOIN labels l ON l.rollout = r.id", where,
			" ORDER BY r.config_id, r.idx", params, &st);
	while (!rc && (src = sqlite3_step(st)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(st, 0);

		if (r && sqlite3_column_int64(st, 8) != cur && !(rc = end_labels(&sh, r)))
			r = NULL;
		while (!rc && ci < pp_json_len(configs) &&
		       strcmp(pp_json_get_str(cfg = pp_json_at(configs, ci),
					      "config_id", ""), id) < 0)
			ci++, rc = end_labels(&sh, r), r = NULL;
		if (rc)
			break;
		if (ci == pp_json_len(configs) ||
		    strcmp(pp_json_get_str(cfg, "config_id", ""), id)) {
			rc = pp_store_fail(s, PP_ESTORE, "rollout of unlisted config %s", id);
			break;
		}
		if (!r) {
			cur = sqlite3_column_int64(st, 8);
			r = rollout_entry(st);
			rc = pp_json_append(pp_json_get(cfg, "rollouts"), r);
			if (rc)
				break;
		}
		if (sqlite3_column_type(st, 4) != SQLITE_NULL)
			rc = add_label(s, st, r, &sh);
	}
	if (!rc)
		rc = end_labels(&sh, r);
	if (!rc && src != SQLITE_DONE)
		rc = pp_store_sqlfail(s, "reading rollouts");
	sqlite3_finalize(st);
	pp_json_decref(sh.labels);
	pp_json_decref(sh.sets);
	pp_buf_release(&sh.set);
	return rc;
}

/* The configs the filters select, with their rollouts when asked. */
static int read_filtered(struct pp_store *s, const struct pp_json *filters, bool rollouts,
			 struct pp_json **out)
{
	struct pp_buf where = PP_BUF_INIT;
	struct pp_json *params = NULL, *configs = NULL;
	int rc;

	if (!s || !out)
		return PP_EINVAL;
	*out = NULL;
	pp_store_clear_error(s);
	params = pp_json_array();
	configs = pp_json_array();
	rc = params && configs ? PP_OK : PP_ENOMEM;
	if (!rc)
		rc = filter_sql(s, filters, &where, params);
	/* One read transaction: a writer between the two queries could
	 * otherwise add a rollout of a config the first did not see. */
	if (!rc && rollouts && sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		rc = pp_store_sqlfail(s, "starting a read");
	else if (!rc) {
		rc = read_configs(s, &where, params, configs);
		if (!rc && rollouts)
			rc = read_rollouts(s, &where, params, configs);
		if (rollouts)
			sqlite3_exec(s->db, rc ? "ROLLBACK" : "COMMIT", NULL, NULL, NULL);
	}
	if (!rc) {
		*out = configs;
		configs = NULL;
	}
	pp_buf_release(&where);
	pp_json_decref(params);
	pp_json_decref(configs);
	return rc;
}

int pp_store_summary(struct pp_store *s, const struct pp_json *filters, struct pp_json **out)
{
	return read_filtered(s, filters, true, out);
}

int pp_store_summary_each(struct pp_store *s, const struct pp_json *filters,
			  pp_store_summary_fn fn, void *arg)
{
	struct pp_json *ids = NULL, *one = NULL, *summary = NULL;
	size_t i;
	int rc;

	if (!s || !fn)
		return PP_EINVAL;
	if ((rc = pp_store_config_ids(s, filters, &ids)))
		return rc;
	/* The caller's filters, narrowed to one config at a time. */
	one = pp_json_is_object(filters) ? pp_json_copy(filters) : pp_json_object();
	rc = one ? PP_OK : PP_ENOMEM;
	for (i = 0; !rc && i < pp_json_len(ids); i++) {
		rc = pp_json_set(one, "config_id", pp_json_incref(pp_json_at(ids, i)));
		if (!rc)
			rc = read_filtered(s, one, true, &summary);
		if (!rc)
			rc = fn(arg, summary);
		pp_json_decref(summary);
		summary = NULL;
	}
	pp_json_decref(one);
	pp_json_decref(ids);
	return rc;
}

/* The rows of head + the filters' WHERE + tail: each a value when the
 * query has one column, else an array of its columns. *out is new. */
static int collect_filtered(struct pp_store *s, const struct pp_json *filters, const char *head,
			    const char *tail, const char *what, struct pp_json **out)
{
	struct pp_buf where = PP_BUF_INIT;
	struct pp_json *params = pp_json_array(), *rows = pp_json_array(), *row;
	sqlite3_stmt *st = NULL;
	int rc = params && rows ? PP_OK : PP_ENOMEM, src = SQLITE_DONE, i, n;

	if (!s || !out)
		rc = PP_EINVAL;
	else
		pp_store_clear_error(s);
	if (!rc && !(rc = filter_sql(s, filters, &where, params)))
		rc = prepare_filtered(s, head, &where, tail, params, &st);
	n = st ? sqlite3_column_count(st) : 0;
	while (!rc && (src = sqlite3_step(st)) == SQLITE_ROW) {
		row = n == 1 ? pp_store_col_value(st, 0) : pp_json_array();
		for (i = 0; n > 1 && row && !rc && i < n; i++)
			rc = pp_json_append(row, pp_store_col_value(st, i));
		rc = rc ? (pp_json_decref(row), rc) : pp_json_append(rows, row);
	}
	if (!rc && st && src != SQLITE_DONE)
		rc = pp_store_sqlfail(s, what);
	sqlite3_finalize(st);
	pp_buf_release(&where);
	pp_json_decref(params);
	if (rc) {
		pp_json_decref(rows);
		return rc;
	}
	*out = rows;
	return PP_OK;
}

int pp_store_config_ids(struct pp_store *s, const struct pp_json *filters, struct pp_json **out)
{
	return collect_filtered(s, filters, "SELECT c.config_id FROM configs c",
				" ORDER BY c.config_id", "reading configs", out);
}

int pp_store_versions(struct pp_store *s, const struct pp_json *filters, struct pp_json **out)
{
	return collect_filtered(s, filters,
				"SELECT json_extract(r.provenance, '$.version'), count(*)"
				" FROM configs c JOIN rollouts r ON r.config_id = c.config_id",
				" GROUP BY 1 ORDER BY 2 DESC, 1", "reading the rollouts' versions", out);
}

int pp_store_configs(struct pp_store *s, const struct pp_json *filters, struct pp_json **out)
{
	return read_filtered(s, filters, false, out);
}
