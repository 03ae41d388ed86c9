/*
 * store_walk.c - streaming every transcript out of the store (a merge of
 * three ordered scans: rollouts, messages and labels, each by rollout
 * row id, so no row is read twice and nothing is held between rollouts).
 *
 * Invariant: the cursors of messages and labels never fall behind the
 * current rollout; rows of a rollout the first scan does not list (none
 * should exist: foreign keys) are skipped, never given to another one.
 */
#include <peerpres/status.h>
#include <peerpres/store_walk.h>

#include "store/store_int.h"

struct cursor {
	sqlite3_stmt *st;
	int rc;             /* SQLITE_ROW while a row is current */
};

static const char sql_rollouts[] =
	"SELECT id, config_id, idx, status, error FROM rollouts ORDER BY id";
static const char sql_messages[] =
	"SELECT rollout, role, content, reasoning, tool_calls, tool_call_id, name"
	" FROM messages ORDER BY rollout, seq";
static const char sql_labels[] =
	"SELECT rollout, name, value, decided, source, evidence, turn"
	" FROM labels ORDER BY rollout, name";

static const char *text(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

static int open_cursor(struct pp_store *s, const char *sql, struct cursor *c)
{
	if (sqlite3_prepare_v2(s->db, sql, -1, &c->st, NULL) != SQLITE_OK)
		return pp_store_sqlfail(s, "reading transcripts");
	c->rc = sqlite3_step(c->st);
	return PP_OK;
}

static int advance(struct pp_store *s, struct cursor *c)
{
	c->rc = sqlite3_step(c->st);
	if (c->rc != SQLITE_ROW && c->rc != SQLITE_DONE)
		return pp_store_sqlfail(s, "reading transcripts");
	return PP_OK;
}

/* Moves c past rows of rollouts before id; then, while its rows belong
 * to id, hands each to emit. */
static int drain(struct pp_store *s, struct cursor *c, sqlite3_int64 id,
		 int (*emit)(const struct pp_walk_ops *, sqlite3_stmt *),
		 const struct pp_walk_ops *ops)
{
	int rc = PP_OK;

	while (!rc && c->rc == SQLITE_ROW && sqlite3_column_int64(c->st, 0) < id)
		rc = advance(s, c);
	while (!rc && c->rc == SQLITE_ROW && sqlite3_column_int64(c->st, 0) == id) {
		rc = emit(ops, c->st);
		if (!rc)
			rc = advance(s, c);
	}
	if (!rc && c->rc != SQLITE_ROW && c->rc != SQLITE_DONE)
		rc = pp_store_sqlfail(s, "reading transcripts");
	return rc;
}

static int emit_message(const struct pp_walk_ops *ops, sqlite3_stmt *st)
{
	struct pp_walk_message m = {
		text(st, 1), text(st, 2), text(st, 3), text(st, 4), text(st, 5), text(st, 6),
	};

	return ops->message ? ops->message(ops->ctx, &m) : PP_OK;
}

static int emit_label(const struct pp_walk_ops *ops, sqlite3_stmt *st)
{
	struct pp_walk_label l = {
		text(st, 1), text(st, 2), sqlite3_column_int(st, 3) != 0, text(st, 4),
		text(st, 5),
		sqlite3_column_type(st, 6) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 6),
	};

	return ops->label ? ops->label(ops->ctx, &l) : PP_OK;
}

static int walk(struct pp_store *s, const struct pp_walk_ops *ops, struct cursor c[3])
{
	int rc = PP_OK;

	while (!rc && c[0].rc == SQLITE_ROW) {
		sqlite3_int64 id = sqlite3_column_int64(c[0].st, 0);
		struct pp_walk_rollout r = {
			text(c[0].st, 1), sqlite3_column_int64(c[0].st, 2),
			text(c[0].st, 3), text(c[0].st, 4),
		};

		if (ops->rollout)
			rc = ops->rollout(ops->ctx, &r);
		if (!rc)
			rc = drain(s, &c[1], id, emit_message, ops);
		if (!rc)
			rc = drain(s, &c[2], id, emit_label, ops);
		if (!rc)
			rc = advance(s, &c[0]);
	}
	return rc;
}

int pp_store_walk(struct pp_store *s, const struct pp_walk_ops *ops)
{
	struct cursor c[3] = { { NULL, 0 }, { NULL, 0 }, { NULL, 0 } };
	bool began = false;
	int rc = PP_OK, i;

	if (!s || !ops)
		return PP_EINVAL;
	pp_store_clear_error(s);
	/* One read transaction: the three scans see the same snapshot. */
	if (sqlite3_get_autocommit(s->db)) {
		if (sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
			return pp_store_sqlfail(s, "reading transcripts");
		began = true;
	}
	rc = open_cursor(s, sql_rollouts, &c[0]);
	if (!rc)
		rc = open_cursor(s, sql_messages, &c[1]);
	if (!rc)
		rc = open_cursor(s, sql_labels, &c[2]);
	for (i = 0; !rc && i < 3; i++)
		if (c[i].rc != SQLITE_ROW && c[i].rc != SQLITE_DONE)
			rc = pp_store_sqlfail(s, "reading transcripts");
	if (!rc)
		rc = walk(s, ops, c);
	for (i = 0; i < 3; i++)
		sqlite3_finalize(c[i].st);
	if (began)
		sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
	return rc;
}
