/*
 * store_rows.c - writing a finished rollout: first encoded (checked, and
 * every value it binds made: the JSON texts dumped, the texts copied)
 * without the store, then stored by binding and stepping only, in one
 * transaction (or in a savepoint of a batch, store_batch.c).
 *
 * The two halves are apart so that an import encodes on the thread that
 * replayed the transcript, while its tree is still in that core's cache,
 * and the one thread that writes the store does nothing else: it was the
 * import's bottleneck, a fifth of its time spent encoding. A run stores
 * through pp_store_put_rollout, the two halves in a row.
 *
 * Each record kind is bound by the column tables of store_int.h, the
 * same the reading side (store_rollout.c) turns rows back into objects
 * with; keys a table does not know go into the row's `extra` object.
 */
#include <stdlib.h>
#include <string.h>

#include <peerpres/status.h>
#include "core/alloc.h"
#include "store/store_batch.h"
#include "store/store_int.h"

/* A statement's parameters after the rollout's id (messages, tool calls,
 * labels) or all of them (the rollout). */
#define ROW_VALUES 8
#define ROLLOUT_VALUES 18
/* The rollout's parameters the store fills in at the put. */
#define P_IDX 2
#define P_RUN 3

enum val_kind { V_NULL, V_INT, V_REAL, V_TEXT };

struct val {
	enum val_kind kind;
	union {
		int64_t i;
		double d;
		struct {
			size_t off, len;   /* in the rows' text */
		} t;
	} u;
};

struct pp_store_rows {
	struct pp_buf text;     /* every text value, one after the other */
	struct val *v;          /* the rollout's, then each row's ROW_VALUES */
	size_t n, cap;
	size_t n_messages, n_tool_calls, n_labels;
	char *config_id;        /* for the messages of a failed put */
};

/* Columns after (rollout, seq), in statement parameter order from ?3. */
const struct pp_store_col pp_store_message_cols[] = {
	{ "role", PP_COL_TEXT }, { "content", PP_COL_TEXT }, { "reasoning", PP_COL_TEXT },
	{ "tool_calls", PP_COL_JSON }, { "tool_call_id", PP_COL_TEXT },
	{ "name", PP_COL_TEXT }, { NULL, PP_COL_TEXT },
};

const struct pp_store_col pp_store_tool_call_cols[] = {
	{ "turn", PP_COL_NUM }, { "tool", PP_COL_TEXT }, { "args", PP_COL_JSON },
	{ "ok", PP_COL_BOOL }, { "result", PP_COL_TEXT }, { "time", PP_COL_TEXT },
	{ NULL, PP_COL_TEXT },
};

/* Label columns after (rollout, name, seq). */
const struct pp_store_col pp_store_label_cols[] = {
	{ "value", PP_COL_JSON }, { "decided", PP_COL_BOOL }, { "source", PP_COL_TEXT },
	{ "evidence", PP_COL_TEXT }, { "turn", PP_COL_NUM }, { NULL, PP_COL_TEXT },
};

/* Rollout keys with a column of their own (or written elsewhere). */
const char *const pp_store_rollout_keys[] = {
	"rollout_id", "run_id", "config_id", "idx", "seed", "status", "error",
	"agent", "started_at", "finished_at", "duration_ms", "n_model_calls",
	"usage", "cost_usd", "provenance", "messages", "tool_calls",
	"final_state", "labels", NULL,
};

const char *const pp_store_usage_keys[] = {
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

static int in_cols(const char *key, const struct pp_store_col *cols, const char *also)
{
	for (; cols->key; cols++)
		if (!strcmp(key, cols->key))
			return 1;
	return also && !strcmp(key, also);
}

/* ---- encoding ---- */

static struct val *next_val(struct pp_store_rows *r)
{
	struct val *v = pp_grow(r->v, &r->cap, r->n, 1, sizeof(*v));

	if (!v)
		return NULL;
	r->v = v;
	memset(&r->v[r->n], 0, sizeof(r->v[0]));
	return &r->v[r->n++];
}

static int enc_null(struct pp_store_rows *r)
{
	return next_val(r) ? PP_OK : PP_ENOMEM;
}

static int enc_int(struct pp_store_rows *r, int64_t i)
{
	struct val *v = next_val(r);

	if (!v)
		return PP_ENOMEM;
	v->kind = V_INT;
	v->u.i = i;
	return PP_OK;
}

/* An integer, a real, or a boolean as 0/1; anything else is null. */
static int enc_num(struct pp_store_rows *r, const struct pp_json *j)
{
	long long n;
	double d;
	struct val *v;

	if (pp_json_int(j, &n))
		return enc_int(r, n);
	if (pp_json_is_bool(j))
		return enc_int(r, pp_json_is_true(j));
	if (!pp_json_num(j, &d))
		return enc_null(r);
	if (!(v = next_val(r)))
		return PP_ENOMEM;
	v->kind = V_REAL;
	v->u.d = d;
	return PP_OK;
}

static int enc_bytes(struct pp_store_rows *r, const char *s, size_t len)
{
	struct val *v = next_val(r);

	if (!v)
		return PP_ENOMEM;
	v->kind = V_TEXT;
	v->u.t.off = r->text.len;
	v->u.t.len = len;
	return pp_buf_add(&r->text, s, len);
}

/* j's compact JSON text; absent is null (JSON null is the text "null"). */
static int enc_json(struct pp_store_rows *r, const struct pp_json *j)
{
	struct val *v;
	size_t at = r->text.len;
	int rc;

	if (!j)
		return enc_null(r);
	if ((rc = pp_json_dump(j, PP_JSON_COMPACT | PP_JSON_SHORT_REALS, &r->text)))
		return rc;
	if (!(v = next_val(r)))
		return PP_ENOMEM;
	v->kind = V_TEXT;
	v->u.t.off = at;
	v->u.t.len = r->text.len - at;
	return PP_OK;
}

/* A string as it is, null as null; a text column given another value
 * keeps its JSON text. */
static int enc_text(struct pp_store_rows *r, const struct pp_json *j)
{
	if (pp_json_is_null(j))
		return enc_null(r);
	if (pp_json_is_string(j))
		return enc_bytes(r, pp_json_str(j), pp_json_len(j));
	return enc_json(r, j);
}

static int enc_col(struct pp_store_rows *r, const struct pp_store_col *c,
		   const struct pp_json *j)
{
	switch (c->kind) {
	case PP_COL_TEXT:
		return enc_text(r, j);
	case PP_COL_JSON:
		return enc_json(r, j);
	default:
		return enc_num(r, j);
	}
}

/*
 * The keys of obj that have no column, as a new object in *extra, or NULL
 * when there are none (the usual case, which costs no allocation).
 */
static int extra_keys(const struct pp_json *obj, const struct pp_store_col *cols,
		      const char *const *keys, const char *also, struct pp_json **extra)
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

/* obj's columns, then its extra keys as one object (or null). */
static int enc_cols(struct pp_store_rows *r, const struct pp_json *obj,
		    const struct pp_store_col *cols, const char *also)
{
	const struct pp_store_col *c;
	struct pp_json *extra = NULL;
	int rc = PP_OK;

	for (c = cols; !rc && c->key; c++)
		rc = enc_col(r, c, pp_json_get(obj, c->key));
	if (!rc)
		rc = extra_keys(obj, cols, NULL, also, &extra);
	if (!rc)
		rc = enc_json(r, extra);
	pp_json_decref(extra);
	return rc;
}

static int enc_messages(struct pp_store_rows *r, const struct pp_json *msgs,
			struct pp_diag *diag)
{
	size_t i;
	int rc = PP_OK;

	for (i = 0; !rc && i < pp_json_len(msgs); i++) {
		const struct pp_json *m = pp_json_at(msgs, i);

		if (!pp_json_is_object(m))
			return pp_diag_set(diag, PP_EINVAL, NULL, 0, 0, "message %zu is not an object", i);
		if (!(rc = enc_int(r, (int64_t)i)))
			rc = enc_cols(r, m, pp_store_message_cols, NULL);
	}
	r->n_messages = i;
	return rc;
}

static int enc_tool_calls(struct pp_store_rows *r, const struct pp_json *calls,
			  struct pp_diag *diag)
{
	long long seq;
	size_t i;
	int rc = PP_OK;

	for (i = 0; !rc && i < pp_json_len(calls); i++) {
		const struct pp_json *c = pp_json_at(calls, i);

		if (!pp_json_is_object(c))
			return pp_diag_set(diag, PP_EINVAL, NULL, 0, 0, "tool call %zu is not an object", i);
		/* The world numbers its log from 1; a log without numbers
		 * gets its positions. */
		if (!pp_json_int(pp_json_get(c, "seq"), &seq))
			seq = (long long)i + 1;
		if (!(rc = enc_int(r, seq)))
			rc = enc_cols(r, c, pp_store_tool_call_cols, "seq");
	}
	r->n_tool_calls = i;
	return rc;
}

static int enc_labels(struct pp_store_rows *r, const struct pp_json *labels,
		      struct pp_diag *diag)
{
	int64_t seq = 0;
	void *it;
	int rc = PP_OK;

	for (it = pp_json_iter(labels); !rc && it; it = pp_json_iter_next(labels, it)) {
		const char *name = pp_json_iter_key(it);
		const struct pp_json *l = pp_json_iter_value(it);

		if (!pp_json_is_object(l))
			return pp_diag_set(diag, PP_EINVAL, NULL, 0, 0, "label '%s' is not an object", name);
		if (!(rc = enc_bytes(r, name, strlen(name))) && !(rc = enc_int(r, seq++)))
			rc = enc_cols(r, l, pp_store_label_cols, NULL);
	}
	r->n_labels = (size_t)seq;
	return rc;
}

/* The rollout's extra keys, with the whole usage object when it carries
 * counts beyond the three with columns. */
static int rollout_extra(const struct pp_json *ro, struct pp_json **extra)
{
	const struct pp_json *usage = pp_json_get(ro, "usage");
	struct pp_json *more = NULL;
	int rc;

	rc = extra_keys(ro, NULL, pp_store_rollout_keys, NULL, extra);
	if (!rc)
		rc = extra_keys(usage, NULL, pp_store_usage_keys, NULL, &more);
	if (!rc && more) {
		if (!*extra && !(*extra = pp_json_object()))
			rc = PP_ENOMEM;
		else
			rc = pp_json_set(*extra, "usage", pp_json_incref((struct pp_json *)usage));
	}
	pp_json_decref(more);
	return rc;
}

/* The rollout row's parameters 1..18; the run (3) is the put's. */
static int enc_rollout(struct pp_store_rows *r, const struct pp_json *ro)
{
	static const struct pp_store_col cols[] = {
		{ "config_id", PP_COL_TEXT }, { "idx", PP_COL_NUM }, { "run_id", PP_COL_NUM },
		{ "seed", PP_COL_NUM }, { "status", PP_COL_TEXT }, { "error", PP_COL_TEXT },
		{ "agent", PP_COL_TEXT }, { "started_at", PP_COL_TEXT },
		{ "finished_at", PP_COL_TEXT }, { "duration_ms", PP_COL_NUM },
		{ "n_model_calls", PP_COL_NUM },
	};
	const struct pp_json *usage = pp_json_get(ro, "usage");
	struct pp_json *extra = NULL;
	size_t i;
	int rc = PP_OK;

	for (i = 0; !rc && i < sizeof(cols) / sizeof(cols[0]); i++)
		rc = i + 1 == P_RUN ? enc_null(r) : enc_col(r, &cols[i], pp_json_get(ro, cols[i].key));
	for (i = 0; !rc && pp_store_usage_keys[i]; i++)
		rc = enc_num(r, pp_json_get(usage, pp_store_usage_keys[i]));
	if (!rc)
		rc = enc_num(r, pp_json_get(ro, "cost_usd"));
	if (!rc)
		rc = enc_json(r, pp_json_get(ro, "provenance"));
	if (!rc)
		rc = enc_json(r, pp_json_get(ro, "final_state"));
	if (!rc)
		rc = rollout_extra(ro, &extra);
	if (!rc)
		rc = enc_json(r, extra);
	pp_json_decref(extra);
	return rc;
}

static int check_rollout(const struct pp_json *ro, struct pp_diag *diag)
{
	const char *status = pp_json_get_str(ro, "status", NULL);
	const char *key;
	long long idx;

	if (!pp_json_get_str(ro, "config_id", NULL))
		return pp_diag_set(diag, PP_EINVAL, NULL, 0, 0, "a rollout needs a \"config_id\"");
	if (!pp_json_int(pp_json_get(ro, "idx"), &idx) || idx < 0)
		return pp_diag_set(diag, PP_EINVAL, NULL, 0, 0,
				   "a rollout needs an \"idx\" integer >= 0");
	if (!status || !in_list(status, statuses))
		return pp_diag_set(diag, PP_EINVAL, NULL, 0, 0, "unknown rollout status '%s'",
				   status ? status : "(none)");
	key = !pp_json_is_null(pp_json_get(ro, "messages")) &&
	      !pp_json_is_array(pp_json_get(ro, "messages")) ? "messages" :
	      !pp_json_is_null(pp_json_get(ro, "tool_calls")) &&
	      !pp_json_is_array(pp_json_get(ro, "tool_calls")) ? "tool_calls" :
	      !pp_json_is_null(pp_json_get(ro, "labels")) &&
	      !pp_json_is_object(pp_json_get(ro, "labels")) ? "labels" : NULL;
	if (key)
		return pp_diag_set(diag, PP_EINVAL, NULL, 0, 0, "rollout \"%s\" has the wrong type", key);
	return PP_OK;
}

void pp_store_rows_free(struct pp_store_rows *r)
{
	if (!r)
		return;
	pp_buf_release(&r->text);
	free(r->v);
	free(r->config_id);
	free(r);
}

int pp_store_rows_new(const struct pp_json *rollout, struct pp_store_rows **out,
		      struct pp_diag *diag)
{
	struct pp_store_rows *r;
	int rc;

	*out = NULL;
	if (!rollout)
		return pp_diag_set(diag, PP_EINVAL, NULL, 0, 0, "no rollout");
	if ((rc = check_rollout(rollout, diag)))
		return rc;
	if (!(r = pp_calloc(1, sizeof(*r))) ||
	    !(r->config_id = pp_strdup(pp_json_get_str(rollout, "config_id", "")))) {
		free(r);
		return PP_ENOMEM;
	}
	pp_buf_init(&r->text, PP_BUF_MAX_DEFAULT);
	if (!(rc = enc_rollout(r, rollout)) &&
	    !(rc = enc_messages(r, pp_json_get(rollout, "messages"), diag)) &&
	    !(rc = enc_tool_calls(r, pp_json_get(rollout, "tool_calls"), diag)))
		rc = enc_labels(r, pp_json_get(rollout, "labels"), diag);
	if (rc) {
		if (rc == PP_ENOMEM)
			pp_diag_set(diag, rc, NULL, 0, 0, "out of memory encoding the rollout");
		pp_store_rows_free(r);
		return rc;
	}
	*out = r;
	return PP_OK;
}

int pp_store_rows_set_idx(struct pp_store_rows *r, long idx)
{
	if (!r || idx < 0)
		return PP_EINVAL;
	r->v[P_IDX - 1].kind = V_INT;
	r->v[P_IDX - 1].u.i = idx;
	return PP_OK;
}

/* ---- storing ---- */

static int bind_val(struct pp_store *s, sqlite3_stmt *st, int i,
		    const struct pp_store_rows *r, const struct val *v)
{
	int src;

	switch (v->kind) {
	case V_INT:
		src = sqlite3_bind_int64(st, i, v->u.i);
		break;
	case V_REAL:
		src = sqlite3_bind_double(st, i, v->u.d);
		break;
	case V_TEXT:
		/* The text outlives the step: no copy. */
		src = sqlite3_bind_text64(st, i, r->text.buf + v->u.t.off, v->u.t.len,
					  SQLITE_STATIC, SQLITE_UTF8);
		break;
	default:
		src = sqlite3_bind_null(st, i);
	}
	return src == SQLITE_OK ? PP_OK : pp_store_sqlfail(s, "binding a value");
}

/* A broken constraint (two tool calls with one seq) is bad input. */
static int step_insert(struct pp_store *s, sqlite3_stmt *st, const char *what)
{
	int rc = PP_OK;

	if (sqlite3_step(st) != SQLITE_DONE) {
		rc = pp_store_sqlfail(s, what);
		/* The handle gives extended codes (SQLITE_CONSTRAINT_PRIMARYKEY):
		 * their low byte is the primary one. */
		if ((sqlite3_errcode(s->db) & 0xff) == SQLITE_CONSTRAINT)
			rc = PP_EINVAL;
	}
	pp_store_reset(st);
	return rc;
}

/* The tables of a rollout's rows: their INSERT up to VALUES, and what
 * a failure says. Each row is the rollout's id and ROW_VALUES values. */
static const struct {
	const char *head, *what;
} row_tables[PP_ROW_TABLES] = {
	{ "INSERT INTO messages (rollout, seq, role, content, reasoning, tool_calls,"
	  " tool_call_id, name, extra) VALUES ", "writing a message" },
	{ "INSERT INTO tool_calls (rollout, seq, turn, tool, args, ok, result, time,"
	  " extra) VALUES ", "writing a tool call" },
	{ "INSERT INTO labels (rollout, name, seq, value, decided, source, evidence,"
	  " turn, extra) VALUES ", "writing a label" },
};

/* The INSERT of n rows (1..PP_ROWS_PER_INSERT) into table t, prepared
 * when first asked for and kept with the handle. */
static int row_insert(struct pp_store *s, int t, size_t n, sqlite3_stmt **out)
{
	struct pp_buf sql = PP_BUF_INIT;
	size_t i;
	int rc;

	if ((*out = s->row_st[t][n]))
		return PP_OK;
	rc = pp_buf_adds(&sql, row_tables[t].head);
	for (i = 0; !rc && i < n; i++)
		rc = pp_buf_adds(&sql, i ? ",(?,?,?,?,?,?,?,?,?)" : "(?,?,?,?,?,?,?,?,?)");
	if (!rc && sqlite3_prepare_v3(s->db, sql.buf, -1, SQLITE_PREPARE_PERSISTENT,
				      &s->row_st[t][n], NULL) != SQLITE_OK)
		rc = pp_store_sqlfail(s, "preparing statements");
	pp_buf_release(&sql);
	*out = s->row_st[t][n];
	return rc;
}

/* n rows of table t, their values from *at on: up to PP_ROWS_PER_INSERT
 * in one statement (SQLite's work per statement was a sixth of what it
 * spent on a short transcript's 25 rows one at a time). */
static int put_rows(struct pp_store *s, int t, sqlite3_int64 id, const struct pp_store_rows *r,
		    size_t *at, size_t n)
{
	sqlite3_stmt *st;
	size_t k, row;
	int rc = PP_OK, p, i;

	for (; !rc && n > 0; n -= k) {
		k = n < PP_ROWS_PER_INSERT ? n : PP_ROWS_PER_INSERT;
		if ((rc = row_insert(s, t, k, &st)))
			break;
		for (row = 0, p = 1; !rc && row < k; row++) {
			if (sqlite3_bind_int64(st, p++, id) != SQLITE_OK)
				rc = pp_store_sqlfail(s, "binding a value");
			for (i = 0; !rc && i < ROW_VALUES; i++)
				rc = bind_val(s, st, p++, r, &r->v[(*at)++]);
		}
		if (!rc)
			rc = step_insert(s, st, row_tables[t].what);
		pp_store_reset(st);
	}
	return rc;
}

/* The rollout row itself. A stored index is PP_EEXIST (another process
 * may have stored it meanwhile); an unknown config or run is the
 * caller's mistake (PP_EINVAL), not the store's failure. */
static int insert_rollout(struct pp_store *s, int64_t run_id, const struct pp_store_rows *r,
			  sqlite3_int64 *id)
{
	sqlite3_stmt *st = s->st[PP_ST_INS_ROLLOUT];
	long long idx = r->v[P_IDX - 1].u.i;
	int rc = PP_OK, i, ext;

	for (i = 0; !rc && i < ROLLOUT_VALUES; i++)
		rc = i + 1 == P_RUN && run_id > 0 ?
		     (sqlite3_bind_int64(st, P_RUN, run_id) == SQLITE_OK ? PP_OK :
		      pp_store_sqlfail(s, "binding a value")) :
		     bind_val(s, st, i + 1, r, &r->v[i]);
	if (rc)
		goto out;
	if (sqlite3_step(st) == SQLITE_DONE) {
		*id = sqlite3_last_insert_rowid(s->db);
		goto out;
	}
	ext = sqlite3_extended_errcode(s->db);
	if (ext == SQLITE_CONSTRAINT_UNIQUE)
		rc = pp_store_fail(s, PP_EEXIST, "rollout %s:%lld is already stored", r->config_id,
				   idx);
	else if (ext == SQLITE_CONSTRAINT_FOREIGNKEY)
		rc = pp_store_fail(s, PP_EINVAL, "config '%s' or run %lld is not stored",
				   r->config_id, (long long)run_id);
	else
		rc = pp_store_sqlfail(s, "writing the rollout");
out:
	pp_store_reset(st);
	return rc;
}

int pp_store_put_rows(struct pp_store *s, int64_t run_id, const struct pp_store_rows *r)
{
	sqlite3_int64 id = 0;
	size_t at = ROLLOUT_VALUES;
	bool nested;
	int rc;

	if (!s || !r)
		return PP_EINVAL;
	pp_store_clear_error(s);
	/* Inside a batch (store_batch.c) the rollout gets a savepoint, so
	 * a failure undoes it alone. */
	if ((rc = pp_store_txn_enter(s, &nested)))
		return rc;
	if (!(rc = insert_rollout(s, run_id, r, &id)) &&
	    !(rc = put_rows(s, 0, id, r, &at, r->n_messages)) &&
	    !(rc = put_rows(s, 1, id, r, &at, r->n_tool_calls)))
		rc = put_rows(s, 2, id, r, &at, r->n_labels);
	return pp_store_txn_leave(s, nested, rc);
}

int pp_store_put_rollout(struct pp_store *s, int64_t run_id, const struct pp_json *rollout)
{
	struct pp_store_rows *r = NULL;
	struct pp_diag diag;
	int rc;

	if (!s || !rollout)
		return PP_EINVAL;
	pp_store_clear_error(s);
	pp_diag_clear(&diag);
	if ((rc = pp_store_rows_new(rollout, &r, &diag)))
		return pp_store_fail(s, rc, "%s", diag.msg[0] ? diag.msg : pp_strerror(rc));
	rc = pp_store_put_rows(s, run_id, r);
	pp_store_rows_free(r);
	return rc;
}
