/*
 * store_judge.c - the judge's verdicts: what is left to judge, storing
 * verdicts, the judges present, and folding a judge's verdicts into a
 * summary for a report.
 *
 * The verdicts table is a cache keyed by (rollout, judge, prompt
 * version, label): a verdict is written once and never replaced, so a
 * second pass of the same judge finds nothing to do, and another judge
 * model or prompt version adds rows beside the old ones. Failed and
 * refused verdicts are rows too (outcome "failed" / "refused", with the
 * error and the raw answer), so a failure is counted, never lost; only
 * pp_store_forget_failed() removes them, to ask again.
 *
 * The rules' labels are never changed here: pp_store_apply_judge works
 * on a summary in memory, so reports with different judges (or none) read
 * the same store.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <peerpres/hash.h>
#include <peerpres/provider.h>
#include <peerpres/status.h>
#include "core/alloc.h"
#include "store/store_batch.h"
#include "store/store_int.h"

#define ID_MAX 160

static int prepare(struct pp_store *s, const char *sql, sqlite3_stmt **st)
{
	if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK)
		return pp_store_sqlfail(s, "preparing a judge query");
	return PP_OK;
}

static int bind_str(struct pp_store *s, sqlite3_stmt *st, int i, const char *v)
{
	if (sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT) != SQLITE_OK)
		return pp_store_sqlfail(s, "binding a value");
	return PP_OK;
}

/* "<config_id>:<idx>" */
static int rollout_key(char *out, size_t len, const char *config_id, long long idx)
{
	int n = snprintf(out, len, "%s:%lld", config_id, idx);

	return n < 0 || (size_t)n >= len ? PP_ERANGE : PP_OK;
}

/* One verdict row (columns 2..6 of the verdict query) as
 * {"value","outcome","question","error"}. */
static int verdict_entry(struct pp_store *s, sqlite3_stmt *st, struct pp_json **out)
{
	struct pp_json *e = pp_json_object(), *v = NULL;
	int rc = e ? PP_OK : PP_ENOMEM;

	if (!rc)
		rc = pp_store_col_json(s, st, 3, &v);
	if (!rc)
		rc = pp_json_set(e, "value", v);
	if (!rc)
		rc = pp_json_set(e, "outcome", pp_store_col_value(st, 4));
	if (!rc)
		rc = pp_json_set(e, "question", pp_store_col_value(st, 5));
	if (!rc)
		rc = pp_json_set(e, "error", pp_store_col_value(st, 6));
	if (rc) {
		pp_json_decref(e);
		return rc;
	}
	*out = e;
	return PP_OK;
}

/* Adds row st's entry to map[key][label], making map[key] if new. */
static int add_under(struct pp_store *s, sqlite3_stmt *st, struct pp_json *map, const char *key)
{
	struct pp_json *per, *e = NULL;
	int rc;

	if (!(per = pp_json_get(map, key))) {
		if ((rc = pp_json_set(map, key, pp_json_object())))
			return rc;
		per = pp_json_get(map, key);
	}
	if ((rc = verdict_entry(s, st, &e)))
		return rc;
	return pp_json_set(per, (const char *)sqlite3_column_text(st, 2), e);
}

/* Adds row st to the map {rollout_id: {label: entry}}. */
static int add_verdict_row(struct pp_store *s, sqlite3_stmt *st, struct pp_json *map)
{
	char key[ID_MAX];
	int rc;

	rc = rollout_key(key, sizeof(key), (const char *)sqlite3_column_text(st, 0),
			 sqlite3_column_int64(st, 1));
	if (rc)
		return pp_store_fail(s, rc, "a stored config id is too long");
	return add_under(s, st, map, key);
}

/*
 * Steps st (prepared and bound, or rc already set) and adds every row to
 * a new JSON container (an object, or an array when as_list) with add;
 * finalizes st. On success *out is the container.
 */
static int collect_rows(struct pp_store *s, sqlite3_stmt *st, int rc, bool as_list,
			int (*add)(struct pp_store *, sqlite3_stmt *, struct pp_json *),
			struct pp_json **out)
{
	struct pp_json *map = rc ? NULL : as_list ? pp_json_array() : pp_json_object();
	int src = SQLITE_DONE;

	if (!rc && !map)
		rc = PP_ENOMEM;
	while (!rc && (src = sqlite3_step(st)) == SQLITE_ROW)
		rc = add(s, st, map);
	if (!rc && src != SQLITE_DONE)
		rc = pp_store_sqlfail(s, "reading verdicts");
	sqlite3_finalize(st);
	if (rc) {
		pp_json_decref(map);
		return rc;
	}
	*out = map;
	return PP_OK;
}

int pp_store_verdicts(struct pp_store *s, const char *judge, const char *prompt_version,
		      struct pp_json **out)
{
	static const char sql[] =
		"SELECT r.config_id, r.idx, v.label, v.value, v.outcome, v.question,"
		" v.error FROM judge_verdicts v JOIN rollouts r ON r.id = v.rollout"
		" WHERE v.judge = ?1 AND v.prompt_version = ?2";
	sqlite3_stmt *st = NULL;
	int rc;

	if (!s || !judge || !prompt_version || !out)
		return PP_EINVAL;
	*out = NULL;
	pp_store_clear_error(s);
	rc = prepare(s, sql, &st);
	if (!rc)
		rc = bind_str(s, st, 1, judge);
	if (!rc)
		rc = bind_str(s, st, 2, prompt_version);
	return collect_rows(s, st, rc, false, add_verdict_row, out);
}

/* The rollouts.id of "<config_id>:<idx>" (the full config id). */
static int rollout_rowid(struct pp_store *s, const char *rollout_id, sqlite3_int64 *id)
{
	const char *colon = rollout_id ? strrchr(rollout_id, ':') : NULL;
	sqlite3_stmt *st = NULL;
	char *end;
	long long idx;
	int rc, src;

	if (!colon || colon == rollout_id)
		return pp_store_fail(s, PP_EINVAL, "a verdict needs a \"rollout_id\""
				     " CONFIG_ID:INDEX");
	idx = strtoll(colon + 1, &end, 10);
	if (end == colon + 1 || *end || idx < 0)
		return pp_store_fail(s, PP_EINVAL, "bad rollout id '%.200s'", rollout_id);
	rc = prepare(s, "SELECT id FROM rollouts WHERE config_id = ?1 AND idx = ?2", &st);
	if (!rc && sqlite3_bind_text(st, 1, rollout_id, (int)(colon - rollout_id),
				     SQLITE_TRANSIENT) != SQLITE_OK)
		rc = pp_store_sqlfail(s, "binding a value");
	if (!rc && sqlite3_bind_int64(st, 2, idx) != SQLITE_OK)
		rc = pp_store_sqlfail(s, "binding a value");
	if (!rc) {
		src = sqlite3_step(st);
		if (src == SQLITE_ROW)
			*id = sqlite3_column_int64(st, 0);
		else if (src == SQLITE_DONE)
			rc = pp_store_fail(s, PP_ENOTFOUND, "no rollout %.200s", rollout_id);
		else
			rc = pp_store_sqlfail(s, "finding the rollout");
	}
	sqlite3_finalize(st);
	return rc;
}

/* Adds row st to the map {"JUDGE@VERSION": {label: entry}} (columns 7
 * and 8: judge and prompt version). */
static int add_judged_row(struct pp_store *s, sqlite3_stmt *st, struct pp_json *map)
{
	char key[600];
	int n;

	n = snprintf(key, sizeof(key), "%s@%s", (const char *)sqlite3_column_text(st, 7),
		     (const char *)sqlite3_column_text(st, 8));
	if (n < 0 || (size_t)n >= sizeof(key))
		return pp_store_fail(s, PP_ERANGE, "a stored judge name is too long");
	return add_under(s, st, map, key);
}

int pp_store_rollout_verdicts(struct pp_store *s, const char *rollout_id, struct pp_json **out)
{
	static const char sql[] =
		"SELECT '', 0, label, value, outcome, question, error, judge, prompt_version"
		" FROM judge_verdicts WHERE rollout = ?1 ORDER BY rowid";
	sqlite3_stmt *st = NULL;
	sqlite3_int64 id = 0;
	int rc;

	if (!s || !rollout_id || !out)
		return PP_EINVAL;
	*out = NULL;
	pp_store_clear_error(s);
	if ((rc = rollout_rowid(s, rollout_id, &id)))
		return rc;
	rc = prepare(s, sql, &st);
	if (!rc && sqlite3_bind_int64(st, 1, id) != SQLITE_OK)
		rc = pp_store_sqlfail(s, "binding a value");
	return collect_rows(s, st, rc, false, add_judged_row, out);
}

static bool known_outcome(const char *o)
{
	return o && (!strcmp(o, "ok") || !strcmp(o, "failed") || !strcmp(o, "refused"));
}

/* A text column that may echo a request: blanked of every known API key
 * before it reaches the file. */
static int bind_redacted(struct pp_store *s, sqlite3_stmt *st, int i, const struct pp_json *v)
{
	char *copy;
	int src;

	if (!pp_json_is_string(v))
		return pp_store_bind_text(s, st, i, v);
	if (!(copy = pp_strdup(pp_json_str(v))))
		return PP_ENOMEM;
	pp_redact(copy);
	src = sqlite3_bind_text(st, i, copy, -1, free);
	return src == SQLITE_OK ? PP_OK : pp_store_sqlfail(s, "binding a value");
}

static int check_verdict(struct pp_store *s, const struct pp_json *v)
{
	static const char *const need[] = { "judge", "prompt_version", "label", "question" };
	size_t i;

	if (!pp_json_is_object(v))
		return pp_store_fail(s, PP_EINVAL, "a verdict must be an object");
	for (i = 0; i < sizeof(need) / sizeof(need[0]); i++)
		if (!*pp_json_get_str(v, need[i], ""))
			return pp_store_fail(s, PP_EINVAL, "a verdict needs a \"%s\" string",
					     need[i]);
	if (!known_outcome(pp_json_get_str(v, "outcome", NULL)))
		return pp_store_fail(s, PP_EINVAL, "a verdict's \"outcome\" is ok, failed"
				     " or refused");
	return PP_OK;
}

static int insert_verdict(struct pp_store *s, sqlite3_stmt *st, const struct pp_json *v)
{
	sqlite3_int64 id = 0;
	int rc;

	if ((rc = check_verdict(s, v)) ||
	    (rc = rollout_rowid(s, pp_json_get_str(v, "rollout_id", NULL), &id)))
		return rc;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (sqlite3_bind_int64(st, 1, id) != SQLITE_OK)
		return pp_store_sqlfail(s, "binding a value");
	if ((rc = pp_store_bind_text(s, st, 2, pp_json_get(v, "judge"))) ||
	    (rc = pp_store_bind_text(s, st, 3, pp_json_get(v, "prompt_version"))) ||
	    (rc = pp_store_bind_text(s, st, 4, pp_json_get(v, "label"))) ||
	    (rc = pp_store_bind_text(s, st, 5, pp_json_get(v, "question"))) ||
	    (rc = pp_store_bind_json(s, st, 6, pp_json_get(v, "value"))) ||
	    (rc = pp_store_bind_text(s, st, 7, pp_json_get(v, "outcome"))) ||
	    (rc = bind_redacted(s, st, 8, pp_json_get(v, "error"))) ||
	    (rc = bind_redacted(s, st, 9, pp_json_get(v, "answer"))) ||
	    (rc = pp_store_bind_num(s, st, 10, pp_json_get(v, "input_tokens"))) ||
	    (rc = pp_store_bind_num(s, st, 11, pp_json_get(v, "output_tokens"))))
		return rc;
	if (sqlite3_step(st) != SQLITE_DONE)
		return pp_store_sqlfail(s, "storing a verdict");
	return PP_OK;
}

int pp_store_put_verdicts(struct pp_store *s, const struct pp_json *verdicts)
{
	static const char sql[] =
		"INSERT INTO judge_verdicts (rollout, judge, prompt_version, label,"
		" question, value, outcome, error, answer, input_tokens, output_tokens,"
		" created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11,"
		" strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))"
		" ON CONFLICT (rollout, judge, prompt_version, label) DO NOTHING";
	sqlite3_stmt *st = NULL;
	bool nested = false;
	size_t i;
	int rc;

	if (!s || !pp_json_is_array(verdicts))
		return PP_EINVAL;
	pp_store_clear_error(s);
	if ((rc = prepare(s, sql, &st)))
		return rc;
	if ((rc = pp_store_txn_enter(s, &nested))) {
		sqlite3_finalize(st);
		return rc;
	}
	for (i = 0; !rc && i < pp_json_len(verdicts); i++)
		rc = insert_verdict(s, st, pp_json_at(verdicts, i));
	sqlite3_finalize(st);
	return pp_store_txn_leave(s, nested, rc);
}

/* One row of the judges query as {"judge","prompt_version","verdicts",
 * "ok","failed","refused","rollouts","last_at"}. */
static struct pp_json *judge_entry(sqlite3_stmt *st)
{
	static const char *const keys[] = {
		"judge", "prompt_version", "verdicts", "ok", "failed", "refused",
		"rollouts", "last_at",
	};
	struct pp_json *e = pp_json_object();
	size_t i;

	for (i = 0; e && i < sizeof(keys) / sizeof(keys[0]); i++)
		if (pp_json_set(e, keys[i], pp_store_col_value(st, (int)i))) {
			pp_json_decref(e);
			return NULL;
		}
	return e;
}

static int add_judge_row(struct pp_store *s, sqlite3_stmt *st, struct pp_json *list)
{
	(void)s;
	return pp_json_append(list, judge_entry(st));
}

int pp_store_judges(struct pp_store *s, struct pp_json **out)
{
	static const char sql[] =
		"SELECT judge, prompt_version, count(*), sum(outcome = 'ok'),"
		" sum(outcome = 'failed'), sum(outcome = 'refused'),"
		" count(DISTINCT rollout), max(created_at), max(rowid) AS latest"
		" FROM judge_verdicts GROUP BY judge, prompt_version"
		" ORDER BY latest DESC";
	sqlite3_stmt *st = NULL;
	int rc;

	if (!s || !out)
		return PP_EINVAL;
	*out = NULL;
	pp_store_clear_error(s);
	rc = prepare(s, sql, &st);
	return collect_rows(s, st, rc, true, add_judge_row, out);
}

int pp_store_forget_failed(struct pp_store *s, const char *judge, const char *prompt_version,
			   long *n)
{
	static const char sql[] =
		"DELETE FROM judge_verdicts WHERE judge = ?1 AND prompt_version = ?2"
		" AND outcome <> 'ok'";
	sqlite3_stmt *st = NULL;
	int rc;

	if (!s || !judge || !prompt_version)
		return PP_EINVAL;
	pp_store_clear_error(s);
	rc = prepare(s, sql, &st);
	if (!rc)
		rc = bind_str(s, st, 1, judge);
	if (!rc)
		rc = bind_str(s, st, 2, prompt_version);
	if (!rc && sqlite3_step(st) != SQLITE_DONE)
		rc = pp_store_sqlfail(s, "forgetting failed verdicts");
	if (!rc && n)
		*n = sqlite3_changes(s->db);
	sqlite3_finalize(st);
	return rc;
}

/* The store's message for a judge (at a version, when given) it has no
 * verdicts of, naming the judges and versions it has. */
static int unknown_judge(struct pp_store *s, const struct pp_json *list, const char *judge,
			 const char *version)
{
	struct pp_buf have = PP_BUF_INIT;
	size_t i;
	int rc;

	for (i = 0; i < pp_json_len(list); i++) {
		const struct pp_json *e = pp_json_at(list, i);

		pp_buf_addf(&have, "%s%s@%s", i ? ", " : "", pp_json_get_str(e, "judge", ""),
			    pp_json_get_str(e, "prompt_version", ""));
	}
	if (version)
		rc = pp_store_fail(s, PP_ENOTFOUND, "no verdicts of judge '%.200s' at prompt"
				   " version '%.100s' in the store (it has: %s)", judge, version,
				   have.len ? have.buf : "none");
	else
		rc = pp_store_fail(s, PP_ENOTFOUND, "no verdicts of judge '%.200s' in the store"
				   " (it has: %s)", judge, have.len ? have.buf : "none");
	pp_buf_release(&have);
	return rc;
}

/*
 * "MODEL@VERSION" -> model and version; "MODEL" alone -> its latest
 * version in the store. The '@' that splits is the last one, and only
 * when no '/' follows it (a model name may hold neither in practice).
 * Either way the pair must have verdicts in the store: a report of a
 * version never judged would claim "0 labels decided" for a judge that
 * did not run.
 */
int pp_store_judge_resolve(struct pp_store *s, const char *spec, char *judge, size_t judge_len,
			   char *version, size_t version_len)
{
	const char *at = spec ? strrchr(spec, '@') : NULL, *want = NULL;
	struct pp_json *list = NULL;
	size_t i, n;
	int rc;

	if (!s || !spec || !*spec || !judge || !version)
		return PP_EINVAL;
	if (at && !strchr(at, '/')) {
		n = (size_t)(at - spec);
		if (n >= judge_len || strlen(at + 1) >= version_len || !n || !at[1])
			return pp_store_fail(s, PP_EINVAL, "bad judge '%.200s' (MODEL or"
					     " MODEL@PROMPT_VERSION)", spec);
		memcpy(judge, spec, n);
		judge[n] = '\0';
		want = at + 1;
	} else if (strlen(spec) >= judge_len) {
		return pp_store_fail(s, PP_EINVAL, "judge name too long");
	} else {
		snprintf(judge, judge_len, "%s", spec);
	}
	if ((rc = pp_store_judges(s, &list)))
		return rc;
	/* The list is latest first: a bare MODEL takes its latest version. */
	for (i = 0; i < pp_json_len(list); i++) {
		const struct pp_json *e = pp_json_at(list, i);
		const char *v = pp_json_get_str(e, "prompt_version", "");

		if (!strcmp(pp_json_get_str(e, "judge", ""), judge) && strlen(v) < version_len &&
		    (!want || !strcmp(v, want))) {
			snprintf(version, version_len, "%s", v);
			pp_json_decref(list);
			return PP_OK;
		}
	}
	rc = unknown_judge(s, list, judge, want);
	pp_json_decref(list);
	return rc;
}

/* ---- what is left to judge ---- */

struct todo {
	struct pp_json *list;        /* entries to judge */
	struct pp_json *verdicts;    /* this judge's, by rollout id */
	struct pp_json *sample;      /* [[key, entry], ...]: fully decided candidates */
	long undecided, cached;
	long errors;                 /* error rollouts with an open label, left out */
	long also_decided;           /* fully decided rollouts to sample too */
};

/* The label with the judge's verdict merged in: an ok verdict decides an
 * undecided label; "judged" says a verdict exists whatever its outcome,
 * and "question" which question gave it. */
static struct pp_json *merged_label(const struct pp_json *l, const struct pp_json *v)
{
	struct pp_json *m = pp_json_object();
	bool decided = pp_json_is_true(pp_json_get(l, "decided"));
	bool ok = v && !strcmp(pp_json_get_str(v, "outcome", ""), "ok");
	int rc = m ? PP_OK : PP_ENOMEM;

	if (!rc)
		rc = pp_json_set(m, "value", pp_json_incref(pp_json_get(
					 !decided && ok ? v : l, "value")));
	if (!rc)
		rc = pp_json_set(m, "decided", pp_json_bool(decided || ok));
	if (!rc)
		rc = pp_json_set(m, "source", pp_json_incref(pp_json_get(l, "source")));
	if (!rc)
		rc = pp_json_set(m, "rule_decided", pp_json_bool(decided));
	if (!rc)
		rc = pp_json_set(m, "judged", pp_json_bool(v != NULL));
	if (!rc && v)
		rc = pp_json_set(m, "question", pp_json_incref(pp_json_get(v, "question")));
	if (rc) {
		pp_json_decref(m);
		return NULL;
	}
	return m;
}

/* The entry for one rollout; *open counts its undecided labels that lack
 * a verdict, *judged its labels with one, *cached its undecided ones
 * with one. */
static int todo_entry(struct todo *t, const struct pp_json *cfg, const struct pp_json *r,
		      const char *id, struct pp_json **out, long *open, long *judged,
		      long *cached)
{
	const struct pp_json *labels = pp_json_get(r, "labels");
	const struct pp_json *mine = pp_json_get(t->verdicts, id);
	struct pp_json *e = pp_json_object(), *ml = pp_json_object();
	void *it;
	int rc = e && ml ? PP_OK : PP_ENOMEM;

	*open = *judged = *cached = 0;
	for (it = pp_json_iter(labels); !rc && it; it = pp_json_iter_next(labels, it)) {
		const char *name = pp_json_iter_key(it);
		const struct pp_json *l = pp_json_iter_value(it), *v = pp_json_get(mine, name);
		bool undecided = !pp_json_is_true(pp_json_get(l, "decided"));

		*open += undecided && !v;
		*judged += v != NULL;
		*cached += undecided && v;
		rc = pp_json_set(ml, name, merged_label(l, v));
	}
	if (!rc)
		rc = pp_json_set_str(e, "rollout_id", id);
	if (!rc)
		rc = pp_json_set(e, "status", pp_json_incref(pp_json_get(r, "status")));
	if (!rc)
		rc = pp_json_set(e, "scenario", pp_json_incref(pp_json_get(cfg, "scenario")));
	if (!rc)
		rc = pp_json_set(e, "threshold", pp_json_incref(pp_json_get(cfg, "threshold")));
	if (!rc) {
		rc = pp_json_set(e, "labels", ml);
		ml = NULL;
	}
	pp_json_decref(ml);
	if (rc) {
		pp_json_decref(e);
		return rc;
	}
	*out = e;
	return PP_OK;
}

static int todo_rollout(struct todo *t, const struct pp_json *cfg, const struct pp_json *r)
{
	struct pp_json *e = NULL, *pair;
	char id[ID_MAX];
	long long idx = -1;
	long open, judged, cached;
	int rc;

	pp_json_int(pp_json_get(r, "idx"), &idx);
	if ((rc = rollout_key(id, sizeof(id), pp_json_get_str(cfg, "config_id", ""), idx)))
		return rc;
	if ((rc = todo_entry(t, cfg, r, id, &e, &open, &judged, &cached)))
		return rc;
	/* A provider call failed for good: the rules read whatever world
	 * was left, and every metric and label table leaves the rollout
	 * out, so a verdict on it would be paid for and never read. */
	if (!strcmp(pp_json_get_str(r, "status", ""), "error")) {
		t->errors += open > 0;
		pp_json_decref(e);
		return PP_OK;
	}
	t->undecided += open;
	t->cached += cached;
	if (open)
		return pp_json_append(t->list, e);
	if (t->also_decided <= 0 || judged) {
		pp_json_decref(e);
		return PP_OK;
	}
	if (!(pair = pp_json_array())) {
		pp_json_decref(e);
		return PP_ENOMEM;
	}
	/* The sample is the rollouts with the smallest hash of their id:
	 * fixed for a store, spread over every config. */
	if ((rc = pp_json_append(pair, pp_json_integer((long long)(pp_seed_from_text(id) >> 1)))) ||
	    (rc = pp_json_append(pair, pp_json_string(id))) ||
	    (rc = pp_json_append(pair, e))) {
		pp_json_decref(pair);
		return rc;
	}
	return pp_json_append(t->sample, pair);
}

static int by_key(const void *a, const void *b)
{
	long long x = 0, y = 0;

	pp_json_int(pp_json_at(*(struct pp_json *const *)a, 0), &x);
	pp_json_int(pp_json_at(*(struct pp_json *const *)b, 0), &y);
	if (x != y)
		return x < y ? -1 : 1;
	return strcmp(pp_json_str(pp_json_at(*(struct pp_json *const *)a, 1)),
		      pp_json_str(pp_json_at(*(struct pp_json *const *)b, 1)));
}

/* Appends t->also_decided sampled entries, marked "also": true. */
static int add_sample(struct todo *t)
{
	size_t n = pp_json_len(t->sample), i;
	struct pp_json **v;
	int rc = PP_OK;

	if (!n)
		return PP_OK;
	if (!(v = pp_calloc(n, sizeof(*v))))
		return PP_ENOMEM;
	for (i = 0; i < n; i++)
		v[i] = pp_json_at(t->sample, i);
	qsort(v, n, sizeof(*v), by_key);
	for (i = 0; !rc && i < n && (long)i < t->also_decided; i++) {
		struct pp_json *e = pp_json_at(v[i], 2);

		rc = pp_json_set(e, "also", pp_json_bool(true));
		if (!rc)
			rc = pp_json_append(t->list, pp_json_incref(e));
	}
	free(v);
	return rc;
}

/* The todo entries of one config's summary (pp_store_summary_each). */
static int todo_config(void *arg, struct pp_json *summary)
{
	struct todo *t = arg;
	const struct pp_json *cfg = pp_json_at(summary, 0);
	const struct pp_json *rs = pp_json_get(cfg, "rollouts");
	size_t j;
	int rc = PP_OK;

	for (j = 0; !rc && j < pp_json_len(rs); j++)
		rc = todo_rollout(t, cfg, pp_json_at(rs, j));
	return rc;
}

int pp_store_judge_todo(struct pp_store *s, const struct pp_json *filters, const char *judge,
			const char *prompt_version, long also_decided, struct pp_json **out)
{
	struct todo t = { NULL, NULL, NULL, 0, 0, 0, also_decided };
	struct pp_json *res = NULL;
	int rc;

	if (!s || !judge || !prompt_version || !out)
		return PP_EINVAL;
	*out = NULL;
	if ((rc = pp_store_verdicts(s, judge, prompt_version, &t.verdicts)))
		goto out;
	t.list = pp_json_array();
	t.sample = pp_json_array();
	res = pp_json_object();
	if (!t.list || !t.sample || !res) {
		rc = PP_ENOMEM;
		goto out;
	}
	/* A config at a time: the summary of a whole store is about a
	 * kilobyte a rollout, only to pick the few with open labels. */
	rc = pp_store_summary_each(s, filters, todo_config, &t);
	if (!rc)
		rc = add_sample(&t);
	if (!rc)
		rc = pp_json_set(res, "undecided", pp_json_integer(t.undecided));
	if (!rc)
		rc = pp_json_set(res, "cached", pp_json_integer(t.cached));
	if (!rc)
		rc = pp_json_set(res, "errors_left_out", pp_json_integer(t.errors));
	if (!rc) {
		rc = pp_json_set(res, "todo", t.list);
		t.list = NULL;
	}
	if (!rc) {
		*out = res;
		res = NULL;
	}
out:
	pp_json_decref(t.verdicts);
	pp_json_decref(t.list);
	pp_json_decref(t.sample);
	pp_json_decref(res);
	return rc;
}

/* ---- applying a judge to a summary ---- */

struct apply {
	const struct pp_json *verdicts;
	long filled, failed, changed_status;
};

static bool label_is_true(const struct pp_json *labels, const char *name)
{
	const struct pp_json *l = pp_json_get(labels, name);

	return pp_json_is_true(pp_json_get(l, "decided")) && pp_json_is_true(pp_json_get(l, "value"));
}

/*
 * The status once the judge has spoken, as the rules would have set it
 * had they decided the same (agent/rollout.c): a refusal outranks the
 * rest; a rollout waiting for the judge becomes incomplete, scored or,
 * when the judge failed on a label it needs, judge_failed. Errors and
 * the rules' own refusals stay.
 */
static const char *new_status(const char *status, const struct pp_json *labels,
			      const struct pp_json *required)
{
	bool all = true, failed = false;
	size_t i;

	if (strcmp(status, "pending_judge") && strcmp(status, "scored") &&
	    strcmp(status, "incomplete"))
		return status;
	if (label_is_true(labels, "refused"))
		return "refused";
	if (strcmp(status, "pending_judge"))
		return status;
	if (label_is_true(labels, "fully_incomplete"))
		return "incomplete";
	for (i = 0; i < pp_json_len(required); i++) {
		const struct pp_json *l = pp_json_get(labels, pp_json_str(pp_json_at(required, i)));

		failed |= !strcmp(pp_json_get_str(l, "source", ""), "judge_failed");
		all &= pp_json_is_true(pp_json_get(l, "decided"));
	}
	return failed ? "judge_failed" : all ? "scored" : status;
}

/* Fills one undecided label from its verdict v. */
static int apply_label(struct apply *a, struct pp_json *l, const struct pp_json *v)
{
	const char *outcome = pp_json_get_str(v, "outcome", "");
	int rc;

	if (!strcmp(outcome, "ok")) {
		a->filled++;
		if ((rc = pp_json_set(l, "value", pp_json_incref(pp_json_get(v, "value")))) ||
		    (rc = pp_json_set(l, "decided", pp_json_bool(true))))
			return rc;
		return pp_json_set_str(l, "source", "judge");
	}
	a->failed++;
	if ((rc = pp_json_set(l, "source", pp_json_string("judge_failed"))) ||
	    (rc = pp_json_set(l, "judge_outcome", pp_json_string(outcome))))
		return rc;
	return pp_json_set(l, "judge_error", pp_json_incref(pp_json_get(v, "error")));
}

static int apply_rollout(struct apply *a, const struct pp_json *cfg, struct pp_json *r)
{
	struct pp_json *labels = pp_json_get(r, "labels");
	const struct pp_json *mine;
	const char *status, *st2;
	char id[ID_MAX];
	long long idx = -1;
	bool any = false;
	void *it;
	int rc;

	pp_json_int(pp_json_get(r, "idx"), &idx);
	if ((rc = rollout_key(id, sizeof(id), pp_json_get_str(cfg, "config_id", ""), idx)))
		return rc;
	if (!(mine = pp_json_get(a->verdicts, id)))
		return PP_OK;
	/* A summary shares equal label maps between rollouts: this rollout
	 * gets a map of its own (holding the same labels) to change. */
	if ((rc = pp_json_set(r, "labels", labels = pp_json_copy(labels))))
		return rc;
	for (it = pp_json_iter(labels); it; it = pp_json_iter_next(labels, it)) {
		struct pp_json *l = pp_json_iter_value(it);
		const struct pp_json *v = pp_json_get(mine, pp_json_iter_key(it));

		if (!v || pp_json_is_true(pp_json_get(l, "decided")))
			continue;
		/* ... and equal labels too: this one gets a copy. */
		if (!(l = pp_json_deep_copy(l)) || (rc = apply_label(a, l, v))) {
			pp_json_decref(l);
			return l ? rc : PP_ENOMEM;
		}
		if ((rc = pp_json_iter_set(labels, it, l)))
			return rc;
		any = true;
	}
	status = pp_json_get_str(r, "status", "");
	st2 = any ? new_status(status, labels, pp_json_get(cfg, "required_labels")) : status;
	if (strcmp(st2, status)) {
		a->changed_status++;
		return pp_json_set_str(r, "status", st2);
	}
	return PP_OK;
}

static int applied_record(const char *judge, const char *version, const struct apply *a,
			  struct pp_json **out)
{
	struct pp_json *o = pp_json_object();
	int rc = o ? PP_OK : PP_ENOMEM;

	if (!rc)
		rc = pp_json_set_str(o, "judge", judge);
	if (!rc)
		rc = pp_json_set_str(o, "prompt_version", version);
	if (!rc)
		rc = pp_json_set(o, "labels_decided", pp_json_integer(a->filled));
	if (!rc)
		rc = pp_json_set(o, "labels_failed", pp_json_integer(a->failed));
	if (!rc)
		rc = pp_json_set(o, "statuses_changed", pp_json_integer(a->changed_status));
	if (rc) {
		pp_json_decref(o);
		return rc;
	}
	*out = o;
	return PP_OK;
}

struct pp_judge_fold {
	char name[512], version[128];
	struct pp_json *verdicts;
	struct apply a;
};

/* The judge that wrote last (the one a person just ran), or none
 * (*found false). */
static int latest_judge(struct pp_store *s, struct pp_judge_fold *f, bool *found)
{
	struct pp_json *list = NULL;
	int rc = pp_store_judges(s, &list);

	*found = !rc && pp_json_len(list);
	if (*found) {
		snprintf(f->name, sizeof(f->name), "%s", pp_json_get_str(pp_json_at(list, 0), "judge", ""));
		snprintf(f->version, sizeof(f->version), "%s",
			 pp_json_get_str(pp_json_at(list, 0), "prompt_version", ""));
	}
	pp_json_decref(list);
	return rc;
}

int pp_store_judge_fold_open(struct pp_store *s, const char *judge, struct pp_judge_fold **out)
{
	struct pp_judge_fold *f;
	bool found = true;
	int rc;

	if (!s || !out)
		return PP_EINVAL;
	*out = NULL;
	pp_store_clear_error(s);
	if (judge && !strcmp(judge, "none"))
		return PP_OK;
	if (!(f = pp_calloc(1, sizeof(*f))))
		return PP_ENOMEM;
	rc = judge ? pp_store_judge_resolve(s, judge, f->name, sizeof(f->name), f->version,
					    sizeof(f->version))
		   : latest_judge(s, f, &found);
	if (!rc && found)
		rc = pp_store_verdicts(s, f->name, f->version, &f->verdicts);
	if (rc || !found) {
		pp_store_judge_fold_free(f);
		return rc;
	}
	f->a.verdicts = f->verdicts;
	*out = f;
	return PP_OK;
}

int pp_store_judge_fold(struct pp_judge_fold *f, struct pp_json *summary)
{
	size_t i, j;
	int rc = PP_OK;

	if (!pp_json_is_array(summary))
		return PP_EINVAL;
	for (i = 0; f && !rc && i < pp_json_len(summary); i++) {
		struct pp_json *cfg = pp_json_at(summary, i), *rs = pp_json_get(cfg, "rollouts");

		for (j = 0; !rc && j < pp_json_len(rs); j++)
			rc = apply_rollout(&f->a, cfg, pp_json_at(rs, j));
	}
	return rc;
}

int pp_store_judge_fold_record(const struct pp_judge_fold *f, struct pp_json **applied)
{
	*applied = NULL;
	return f ? applied_record(f->name, f->version, &f->a, applied) : PP_OK;
}

void pp_store_judge_fold_free(struct pp_judge_fold *f)
{
	if (!f)
		return;
	pp_json_decref(f->verdicts);
	free(f);
}

int pp_store_apply_judge(struct pp_store *s, struct pp_json *summary, const char *judge,
			 struct pp_json **applied)
{
	struct pp_judge_fold *f = NULL;
	int rc;

	if (!s || !pp_json_is_array(summary))
		return PP_EINVAL;
	if (applied)
		*applied = NULL;
	rc = pp_store_judge_fold_open(s, judge, &f);
	if (!rc)
		rc = pp_store_judge_fold(f, summary);
	if (!rc && applied)
		rc = pp_store_judge_fold_record(f, applied);
	pp_store_judge_fold_free(f);
	return rc;
}
