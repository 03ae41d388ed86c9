/*
 * store_batch.c - many rollouts in one write transaction, and in one
 * query what an importer must know of a config's stored rollouts.
 *
 * A transaction per rollout costs a commit per rollout (a log append,
 * and a checkpoint every thousand pages or so); importing many small
 * transcripts spent more on those than on the rows. A batch keeps the
 * write lock across many rollouts, and each rollout is still written in a
 * savepoint of its own, so one that fails (an index already taken, a bad
 * shape) is undone alone and the others stay.
 *
 * Invariant: a batch is open exactly when the handle is outside SQLite's
 * autocommit mode; no other function leaves a transaction open.
 * Only this handle's settings change (cache, journals, checkpoints),
 * never the file's: the file stays in the write-ahead log, so a report
 * reads beside an import without waiting. The exception is asked for:
 * pp_store_take_exclusive leaves the log for a rollback journal, for an
 * import that may keep everyone else out, and the close comes back.
 */
#include <stdio.h>
#include <string.h>

#include <peerpres/status.h>
#include "store/store_batch.h"

static int exec(struct pp_store *s, const char *sql, const char *what)
{
	if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return pp_store_sqlfail(s, what);
	return PP_OK;
}

static int step_cached(struct pp_store *s, enum pp_store_stmt which, const char *what)
{
	int rc = PP_OK;

	if (sqlite3_step(s->st[which]) != SQLITE_DONE)
		rc = pp_store_sqlfail(s, what);
	pp_store_reset(s->st[which]);
	return rc;
}

static void rollback_quietly(struct pp_store *s)
{
	if (!sqlite3_get_autocommit(s->db)) {
		sqlite3_step(s->st[PP_ST_ROLLBACK]);
		pp_store_reset(s->st[PP_ST_ROLLBACK]);
	}
}

static int data_version(struct pp_store *s, int64_t *version)
{
	sqlite3_stmt *st = NULL;
	int rc = PP_OK;

	if (sqlite3_prepare_v2(s->db, "PRAGMA data_version", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW)
		rc = pp_store_sqlfail(s, "reading the data version");
	else
		*version = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc;
}

int pp_store_begin(struct pp_store *s, int64_t *version)
{
	int rc;

	if (!s)
		return PP_EINVAL;
	pp_store_clear_error(s);
	if (!sqlite3_get_autocommit(s->db))
		return pp_store_fail(s, PP_EINVAL, "a batch is already open");
	/* A savepoint's journal in a temporary file was most of the
	 * writes; set once per handle, not at every batch. */
	rc = s->batches_ready ? PP_OK
			      : exec(s, "PRAGMA temp_store = MEMORY", "setting the handle up for batches");
	s->batches_ready = !rc;
	if (!rc)
		rc = step_cached(s, PP_ST_BEGIN, "starting a batch");
	if (!rc && version && (rc = data_version(s, version)))
		rollback_quietly(s);
	return rc;
}

int pp_store_tune_for_bulk(struct pp_store *s)
{
	if (!s)
		return PP_EINVAL;
	pp_store_clear_error(s);
	/* A batch's new pages stay in the cache until the commit writes them
	 * once. Checkpoints run on another thread when one can start
	 * (store_ckpt.c); the automatic one below is what the handle does
	 * when none can. */
	int rc = exec(s, "PRAGMA cache_size = -32768; PRAGMA wal_autocheckpoint = 10000",
		      "setting the handle up for a bulk import");

	/* A handle that took the store writes no log to checkpoint. */
	return rc || s->exclusive ? rc : pp_store_ckpt_start(s);
}

/* The journal mode a PRAGMA answered. */
static int read_mode(void *arg, int n, char **values, char **names)
{
	(void)names;
	if (n > 0 && values[0])
		snprintf(arg, 16, "%s", values[0]);
	return 0;
}

/* Leaving the log needs the file to itself: while a connection of
 * another process is open SQLite answers "database is locked" at once,
 * without its busy handler. One second of tries is enough for a process
 * that was about to close, short enough to say so at once. */
#define TAKE_WAIT_MS 1000

int pp_store_take_exclusive(struct pp_store *s)
{
	const char *file;
	char mode[16] = "";
	int src, rc;

	if (!s)
		return PP_EINVAL;
	pp_store_clear_error(s);
	/* A store in memory (":memory:") is this handle's alone already,
	 * and has no journal to change. */
	file = sqlite3_db_filename(s->db, "main");
	if (s->exclusive || !file || !*file)
		return PP_OK;
	src = pp_store_exec_retrying(s, "PRAGMA locking_mode = EXCLUSIVE; PRAGMA journal_mode = TRUNCATE",
				     read_mode, mode, TAKE_WAIT_MS);
	if (src != SQLITE_OK || strcmp(mode, "truncate")) {
		rc = pp_store_fail(s, PP_ESTORE, "cannot take the store for this import alone: "
				       "another process has it open (%s)",
				       src != SQLITE_OK ? sqlite3_errmsg(s->db) : mode);
		sqlite3_exec(s->db, "PRAGMA locking_mode = NORMAL", NULL, NULL, NULL);
		return rc;
	}
	s->exclusive = true;
	return exec(s, "PRAGMA synchronous = FULL", "taking the store");
}

void pp_store_give_back(struct pp_store *s)
{
	/* The lock goes at the next access after NORMAL: the switch back
	 * to the log is that access. A failure leaves the file in rollback
	 * mode, which the next open switches back. */
	if (s->exclusive)
		sqlite3_exec(s->db, "PRAGMA synchronous = NORMAL; PRAGMA locking_mode = NORMAL;"
			     " PRAGMA journal_mode = WAL", NULL, NULL, NULL);
	s->exclusive = false;
}

int pp_store_commit(struct pp_store *s)
{
	int rc;

	if (!s)
		return PP_EINVAL;
	pp_store_clear_error(s);
	/* SQLite rolls a whole transaction back on some failures (a full
	 * disk, an I/O error): the batch is then gone, and saying so is the
	 * only honest answer. */
	if (sqlite3_get_autocommit(s->db))
		return pp_store_fail(s, PP_ESTORE, "the batch was rolled back by an earlier error");
	rc = step_cached(s, PP_ST_COMMIT, "committing a batch");
	if (rc)
		rollback_quietly(s);
	return rc;
}

void pp_store_rollback(struct pp_store *s)
{
	if (s)
		rollback_quietly(s);
}

int pp_store_txn_enter(struct pp_store *s, bool *nested)
{
	*nested = !sqlite3_get_autocommit(s->db);
	if (*nested)
		return step_cached(s, PP_ST_SAVEPOINT, "starting a savepoint");
	return step_cached(s, PP_ST_BEGIN, "starting a transaction");
}

int pp_store_txn_leave(struct pp_store *s, bool nested, int rc)
{
	if (!rc) {
		rc = nested ? step_cached(s, PP_ST_RELEASE, "releasing a savepoint")
			    : step_cached(s, PP_ST_COMMIT, "committing the rollout");
		if (!rc)
			return PP_OK;
	}
	if (!nested) {
		rollback_quietly(s);
	} else if (!sqlite3_get_autocommit(s->db)) {
		/* Undoes this rollout only; its message is the one to keep. */
		sqlite3_exec(s->db, "ROLLBACK TO pp_rollout; RELEASE pp_rollout", NULL, NULL, NULL);
	}
	return rc;
}

/* One rollout's [idx, value of each key]. */
static int extra_row(sqlite3_stmt *st, size_t n_keys, struct pp_json *all)
{
	struct pp_json *row = pp_json_array();
	size_t i;
	int rc = row ? PP_OK : PP_ENOMEM;

	if (!rc)
		rc = pp_json_append(row, pp_json_integer(sqlite3_column_int64(st, 0)));
	for (i = 0; !rc && i < n_keys; i++)
		rc = pp_json_append(row, pp_store_col_value(st, (int)i + 1));
	if (!rc) {
		rc = pp_json_append(all, row);
		row = NULL;
	}
	pp_json_decref(row);
	return rc;
}

int pp_store_extra_values_of(struct pp_store *s, const char *config_id, const char *const *keys,
			     size_t n_keys, struct pp_json **out)
{
	sqlite3_stmt *st = NULL;
	struct pp_json *all = NULL;
	struct pp_buf sql = PP_BUF_INIT, paths[PP_STORE_MAX_EXTRA_KEYS];
	size_t i;
	int rc = PP_OK, src;

	if (!s || !config_id || !keys || !n_keys || n_keys > PP_STORE_MAX_EXTRA_KEYS || !out)
		return PP_EINVAL;
	*out = NULL;
	pp_store_clear_error(s);
	for (i = 0; i < n_keys; i++)
		if (!keys[i] || !pp_store_plain_key(keys[i]))
			return pp_store_fail(s, PP_EINVAL, "bad extra key '%s'", keys[i] ? keys[i] : "");
	for (i = 0; i < n_keys; i++)
		pp_buf_init(&paths[i], PP_BUF_MAX_DEFAULT);
	rc = pp_buf_adds(&sql, "SELECT idx");
	for (i = 0; !rc && i < n_keys; i++)
		rc = pp_buf_addf(&sql, ", json_extract(extra, ?%zu)", i + 2);
	if (!rc)
		rc = pp_buf_adds(&sql, " FROM rollouts WHERE config_id = ?1 ORDER BY idx");
	for (i = 0; !rc && i < n_keys; i++)
		rc = pp_buf_addf(&paths[i], "$.%s", keys[i]);
	if (!rc && !(all = pp_json_array()))
		rc = PP_ENOMEM;
	if (rc)
		goto out;
	if (sqlite3_prepare_v2(s->db, sql.buf, -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_text(st, 1, config_id, -1, SQLITE_STATIC) != SQLITE_OK) {
		rc = pp_store_sqlfail(s, "looking up rollouts");
		goto out;
	}
	for (i = 0; i < n_keys; i++) {
		if (sqlite3_bind_text(st, (int)i + 2, paths[i].buf, -1, SQLITE_STATIC) != SQLITE_OK) {
			rc = pp_store_sqlfail(s, "looking up rollouts");
			goto out;
		}
	}
	while (!rc && (src = sqlite3_step(st)) == SQLITE_ROW)
		rc = extra_row(st, n_keys, all);
	if (!rc && src != SQLITE_DONE)
		rc = pp_store_sqlfail(s, "looking up rollouts");
out:
	sqlite3_finalize(st);
	pp_buf_release(&sql);
	for (i = 0; i < n_keys; i++)
		pp_buf_release(&paths[i]);
	if (rc)
		pp_json_decref(all);
	else
		*out = all;
	return rc;
}

int pp_store_extra_values(struct pp_store *s, const char *config_id, const char *key,
			  struct pp_json **out)
{
	return pp_store_extra_values_of(s, config_id, &key, 1, out);
}
