/*
 * store.c - opening and migrating the SQLite store, runs and configs, and
 * the helpers the other store files share (docs/store.md has the schema).
 *
 * The schema is versioned with PRAGMA user_version: migrations[i] takes a
 * database from version i to i + 1, and opening applies the missing ones
 * in one write transaction, so two processes opening a new file at once
 * cannot both create the tables. A file from a newer peerpres (a version
 * beyond the list) is refused rather than written with the wrong shapes.
 *
 * Statements are prepared once at open and cached in the struct; that and
 * WAL with synchronous=NORMAL (a commit is an append to the log, synced at
 * checkpoints) is what makes one transaction per rollout cheap.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <peerpres/status.h>
#include "core/alloc.h"
#include "core/monotonic.h"
#include "store/store_int.h"

#include "version.h"   /* PP_VERSION, made by the Makefile */

static const char *const migrations[] = {
	/* 1: the initial schema. */
	"CREATE TABLE meta ("
	"  key TEXT PRIMARY KEY,"
	"  value TEXT"
	");"
	"CREATE TABLE runs ("
	"  id INTEGER PRIMARY KEY,"
	"  command TEXT NOT NULL,"
	"  argv TEXT NOT NULL,"
	"  version TEXT,"
	"  dirty INTEGER NOT NULL DEFAULT 0,"
	"  model TEXT,"
	"  started_at TEXT NOT NULL,"
	"  finished_at TEXT,"
	"  status TEXT NOT NULL DEFAULT 'running'"
	");"
	"CREATE TABLE configs ("
	"  config_id TEXT PRIMARY KEY,"
	"  scenario TEXT NOT NULL,"
	"  subject TEXT NOT NULL,"
	"  condition TEXT NOT NULL,"
	"  instantiation TEXT NOT NULL,"
	"  dataset TEXT NOT NULL,"
	"  threshold TEXT NOT NULL,"
	"  mode TEXT NOT NULL,"
	"  scratchpad TEXT NOT NULL,"
	"  model TEXT NOT NULL,"
	"  family TEXT NOT NULL,"
	"  json TEXT NOT NULL,"
	"  created_at TEXT NOT NULL"
	");"
	"CREATE INDEX configs_dims ON configs"
	"  (scenario, subject, condition, instantiation, model);"
	"CREATE TABLE rollouts ("
	"  id INTEGER PRIMARY KEY,"
	"  config_id TEXT NOT NULL REFERENCES configs(config_id),"
	"  idx INTEGER NOT NULL,"
	"  run_id INTEGER REFERENCES runs(id),"
	"  seed INTEGER,"
	"  status TEXT NOT NULL,"
	"  error TEXT,"
	"  agent TEXT,"
	"  started_at TEXT,"
	"  finished_at TEXT,"
	"  duration_ms INTEGER,"
	"  n_model_calls INTEGER,"
	"  input_tokens INTEGER,"
	"  output_tokens INTEGER,"
	"  reasoning_tokens INTEGER,"
	"  cost_usd REAL,"
	"  provenance TEXT,"
	"  final_state TEXT,"
	"  extra TEXT,"
	"  UNIQUE (config_id, idx)"
	");"
	"CREATE INDEX rollouts_run ON rollouts (run_id);"
	"CREATE TABLE messages ("
	"  rollout INTEGER NOT NULL REFERENCES rollouts(id) ON DELETE CASCADE,"
	"  seq INTEGER NOT NULL,"
	"  role TEXT,"
	"  content TEXT,"
	"  reasoning TEXT,"
	"  tool_calls TEXT,"
	"  tool_call_id TEXT,"
	"  name TEXT,"
	"  extra TEXT,"
	"  PRIMARY KEY (rollout, seq)"
	");"
	"CREATE TABLE tool_calls ("
	"  rollout INTEGER NOT NULL REFERENCES rollouts(id) ON DELETE CASCADE,"
	"  seq INTEGER NOT NULL,"
	"  turn INTEGER,"
	"  tool TEXT,"
	"  args TEXT,"
	"  ok INTEGER,"
	"  result TEXT,"
	"  time TEXT,"
	"  extra TEXT,"
	"  PRIMARY KEY (rollout, seq)"
	");"
	"CREATE TABLE labels ("
	"  rollout INTEGER NOT NULL REFERENCES rollouts(id) ON DELETE CASCADE,"
	"  name TEXT NOT NULL,"
	"  seq INTEGER NOT NULL,"
	"  value TEXT,"
	"  decided INTEGER NOT NULL,"
	"  source TEXT,"
	"  evidence TEXT,"
	"  turn INTEGER,"
	"  extra TEXT,"
	"  PRIMARY KEY (rollout, name)"
	") WITHOUT ROWID;",
	/* 2: the response cache (store_cache.c). */
	"CREATE TABLE response_cache ("
	"  key TEXT PRIMARY KEY,"
	"  body BLOB NOT NULL,"
	"  created_at TEXT NOT NULL"
	") WITHOUT ROWID;",
	/* 3: the judge's verdicts (store_judge.c), a cache keyed by judge
	 * model and prompt version, so a new judge or wording adds rows
	 * beside the old ones. */
	"CREATE TABLE judge_verdicts ("
	"  rollout INTEGER NOT NULL REFERENCES rollouts(id) ON DELETE CASCADE,"
	"  judge TEXT NOT NULL,"
	"  prompt_version TEXT NOT NULL,"
	"  label TEXT NOT NULL,"
	"  question TEXT NOT NULL,"
	"  value TEXT,"
	"  outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'failed', 'refused')),"
	"  error TEXT,"
	"  answer TEXT,"
	"  input_tokens INTEGER,"
	"  output_tokens INTEGER,"
	"  created_at TEXT NOT NULL,"
	"  UNIQUE (rollout, judge, prompt_version, label)"
	");"
	"CREATE INDEX judge_verdicts_judge ON judge_verdicts (judge, prompt_version);",
	/* 4: the response cache's answers in rowid order. Keyed by digest
	 * (WITHOUT ROWID), each answer went into a random page of a large
	 * B-tree, and each commit wrote about one page per answer; now the
	 * answers are appended and only the small key index takes random
	 * inserts (a run at 1,000 in flight used about 7% less CPU, most of
	 * it the system time of those writes). */
	"CREATE TABLE response_cache_rows ("
	"  id INTEGER PRIMARY KEY,"
	"  key TEXT NOT NULL UNIQUE,"
	"  body BLOB NOT NULL,"
	"  created_at TEXT NOT NULL"
	");"
	"INSERT INTO response_cache_rows (key, body, created_at)"
	"  SELECT key, body, created_at FROM response_cache ORDER BY created_at;"
	"DROP TABLE response_cache;"
	"ALTER TABLE response_cache_rows RENAME TO response_cache;",
};

#define N_MIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

static const char *const stmt_sql[PP_ST_COUNT] = {
	[PP_ST_BEGIN] = "BEGIN IMMEDIATE",
	[PP_ST_COMMIT] = "COMMIT",
	[PP_ST_ROLLBACK] = "ROLLBACK",
	[PP_ST_INS_RUN] =
		"INSERT INTO runs (command, argv, version, dirty, model, started_at)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[PP_ST_END_RUN] =
		"UPDATE runs SET finished_at = ?2, status = ?3 WHERE id = ?1",
	[PP_ST_INS_CONFIG] =
		"INSERT INTO configs (config_id, scenario, subject, condition,"
		" instantiation, dataset, threshold, mode, scratchpad, model,"
		" family, json, created_at)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
		" ON CONFLICT (config_id) DO NOTHING",
	[PP_ST_DONE_IDX] =
		"SELECT idx FROM rollouts WHERE config_id = ?1"
		" AND idx >= 0 AND idx < ?2",
	[PP_ST_COUNT_STATUS] =
		"SELECT count(*) FROM rollouts WHERE config_id = ?1 AND status = ?2",
	[PP_ST_INS_ROLLOUT] =
		"INSERT INTO rollouts (config_id, idx, run_id, seed, status, error,"
		" agent, started_at, finished_at, duration_ms, n_model_calls,"
		" input_tokens, output_tokens, reasoning_tokens, cost_usd,"
		" provenance, final_state, extra)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,"
		" ?14, ?15, ?16, ?17, ?18)",
	[PP_ST_FIND_EXTRA] =
		"SELECT idx FROM rollouts WHERE config_id = ?1"
		" AND json_extract(extra, ?2) = ?3 ORDER BY idx LIMIT 1",
	/* A rollout inside a batch (store_batch.c): prepared once rather
	 * than compiled for every rollout. */
	[PP_ST_SAVEPOINT] = "SAVEPOINT pp_rollout",
	[PP_ST_RELEASE] = "RELEASE pp_rollout",
	[PP_ST_CACHE_GET] = "SELECT body FROM response_cache WHERE key = ?1",
	[PP_ST_CACHE_PUT] =
		"INSERT OR REPLACE INTO response_cache (key, body, created_at)"
		" VALUES (?1, ?2, ?3)",
	/* Reading a rollout back (store_rollout.c): compiled once, not for
	 * every rollout; compiling the five took 28% of an export. */
	[PP_ST_RESOLVE_CONFIG] =
		"SELECT config_id FROM configs WHERE config_id = ?1"
		" UNION ALL SELECT * FROM (SELECT config_id FROM configs"
		" WHERE ?2 AND config_id GLOB ?1 || '*' AND config_id <> ?1"
		" ORDER BY config_id LIMIT 2)",
	[PP_ST_GET_ROLLOUT] =
		"SELECT id, run_id, seed, status, error, agent,"
		" started_at, finished_at, duration_ms, n_model_calls,"
		" input_tokens, output_tokens, reasoning_tokens, cost_usd,"
		" provenance, final_state, extra FROM rollouts"
		" WHERE config_id = ?1 AND idx = ?2",
	[PP_ST_GET_MESSAGES] =
		"SELECT NULL, role, content, reasoning, tool_calls,"
		" tool_call_id, name, extra FROM messages"
		" WHERE rollout = ?1 ORDER BY seq",
	[PP_ST_GET_TOOL_CALLS] =
		"SELECT seq, turn, tool, args, ok, result, time,"
		" extra FROM tool_calls WHERE rollout = ?1 ORDER BY seq",
	[PP_ST_GET_LABELS] =
		"SELECT name, value, decided, source, evidence,"
		" turn, extra FROM labels WHERE rollout = ?1 ORDER BY seq",
};

/* The dimension columns of configs, in the order of PP_ST_INS_CONFIG's
 * parameters ?2 .. ?11. */
static const char *const config_dims[] = {
	"scenario", "subject", "condition", "instantiation", "dataset",
	"threshold", "mode", "scratchpad", "model", "family",
};

int pp_store_fail(struct pp_store *s, int rc, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(s->errmsg, sizeof(s->errmsg), "%s: ", s->path);
	if (n < 0 || (size_t)n >= sizeof(s->errmsg))
		return rc;
	va_start(ap, fmt);
	/* A message cut at the buffer's end is still the right message. */
	(void)vsnprintf(s->errmsg + n, sizeof(s->errmsg) - (size_t)n, fmt, ap);
	va_end(ap);
	return rc;
}

int pp_store_sqlfail(struct pp_store *s, const char *what)
{
	int code = sqlite3_errcode(s->db);

	pp_store_fail(s, PP_ESTORE, "%s: %s", what, sqlite3_errmsg(s->db));
	return code == SQLITE_NOMEM ? PP_ENOMEM : PP_ESTORE;
}

void pp_store_clear_error(struct pp_store *s)
{
	s->errmsg[0] = '\0';
}

void pp_store_reset(sqlite3_stmt *st)
{
	if (st) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	}
}

const char *pp_store_errmsg(const struct pp_store *s)
{
	return s ? s->errmsg : "no store";
}

static int bind_rc(struct pp_store *s, int src)
{
	if (src == SQLITE_OK)
		return PP_OK;
	return pp_store_sqlfail(s, "binding a value");
}

int pp_store_bind_text(struct pp_store *s, sqlite3_stmt *st, int i,
		       const struct pp_json *v)
{
	if (pp_json_is_null(v))
		return bind_rc(s, sqlite3_bind_null(st, i));
	if (pp_json_is_string(v))
		return bind_rc(s, sqlite3_bind_text64(st, i, pp_json_str(v),
						     pp_json_len(v),
						     SQLITE_STATIC, SQLITE_UTF8));
	/* A text column given a non-string keeps its JSON text. */
	return pp_store_bind_json(s, st, i, v);
}

int pp_store_bind_json(struct pp_store *s, sqlite3_stmt *st, int i,
		       const struct pp_json *v)
{
	int rc;

	if (!v)
		return bind_rc(s, sqlite3_bind_null(st, i));
	pp_buf_reset(&s->scratch);
	rc = pp_json_dump(v, PP_JSON_COMPACT | PP_JSON_SHORT_REALS, &s->scratch);
	if (rc)
		return pp_store_fail(s, rc, "encoding JSON: %s", pp_strerror(rc));
	return bind_rc(s, sqlite3_bind_text64(st, i, s->scratch.buf,
					      s->scratch.len, SQLITE_TRANSIENT,
					      SQLITE_UTF8));
}

int pp_store_bind_num(struct pp_store *s, sqlite3_stmt *st, int i,
		      const struct pp_json *v)
{
	long long n;
	double d;

	if (pp_json_int(v, &n))
		return bind_rc(s, sqlite3_bind_int64(st, i, n));
	if (pp_json_num(v, &d))
		return bind_rc(s, sqlite3_bind_double(st, i, d));
	if (pp_json_is_bool(v))
		return bind_rc(s, sqlite3_bind_int(st, i, pp_json_is_true(v)));
	return bind_rc(s, sqlite3_bind_null(st, i));
}

int pp_store_col_json(struct pp_store *s, sqlite3_stmt *st, int i,
		      struct pp_json **out)
{
	const char *text;
	char err[160];
	int n;

	*out = NULL;
	if (sqlite3_column_type(st, i) == SQLITE_NULL) {
		*out = pp_json_null();
		return PP_OK;
	}
	text = (const char *)sqlite3_column_text(st, i);
	n = sqlite3_column_bytes(st, i);
	if (!text)
		return PP_ENOMEM;
	if (n == 4 && !memcmp(text, "true", 4)) {
		*out = pp_json_bool(true);
		return PP_OK;
	}
	if (n == 5 && !memcmp(text, "false", 5)) {
		*out = pp_json_bool(false);
		return PP_OK;
	}
	if (pp_json_parse(text, (size_t)n, out, err, sizeof(err))) {
		/* The store wrote this text itself, and the JSON parser
		 * reports a failed allocation as a parse error: tell the two
		 * apart by whether memory can still be had. */
		void *probe = pp_malloc(64);

		if (!probe)
			return PP_ENOMEM;
		free(probe);
		return pp_store_fail(s, PP_ESTORE, "stored JSON in column %s: %s",
				     sqlite3_column_name(st, i), err);
	}
	return *out ? PP_OK : PP_ENOMEM;
}

struct pp_json *pp_store_col_value(sqlite3_stmt *st, int i)
{
	switch (sqlite3_column_type(st, i)) {
	case SQLITE_INTEGER:
		return pp_json_integer(sqlite3_column_int64(st, i));
	case SQLITE_FLOAT:
		return pp_json_real(sqlite3_column_double(st, i));
	case SQLITE_TEXT: {
		const char *t = (const char *)sqlite3_column_text(st, i);

		return t ? pp_json_stringn(t, (size_t)sqlite3_column_bytes(st, i))
			 : NULL;
	}
	default:
		return pp_json_null();
	}
}

/* Current UTC time as "YYYY-MM-DDTHH:MM:SSZ". */
static void now_utc(char out[32])
{
	time_t t = time(NULL);
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, 32, "unknown");
}

static int exec_sql(struct pp_store *s, const char *sql, const char *what)
{
	if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return pp_store_sqlfail(s, what);
	return PP_OK;
}

static int read_user_version(struct pp_store *s, int *version)
{
	sqlite3_stmt *st = NULL;
	int rc = PP_OK;

	if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL)
	    != SQLITE_OK) {
		rc = pp_store_sqlfail(s, "reading the schema version");
		goto out;
	}
	if (sqlite3_step(st) != SQLITE_ROW) {
		rc = pp_store_sqlfail(s, "reading the schema version");
		goto out;
	}
	*version = sqlite3_column_int(st, 0);
out:
	sqlite3_finalize(st);
	return rc;
}

static int write_meta(struct pp_store *s)
{
	static const char sql[] =
		"INSERT OR IGNORE INTO meta (key, value) VALUES"
		" ('created_at', ?1), ('created_by', ?2)";
	sqlite3_stmt *st = NULL;
	char now[32];
	int rc = PP_OK;

	now_utc(now);
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_text(st, 1, now, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
	    sqlite3_bind_text(st, 2, "peerpres " PP_VERSION, -1, SQLITE_STATIC)
	    != SQLITE_OK || sqlite3_step(st) != SQLITE_DONE)
		rc = pp_store_sqlfail(s, "writing meta");
	sqlite3_finalize(st);
	return rc;
}

/* A database at version 0 must be empty: another program's database is
 * refused rather than filled with our tables. */
static int check_empty(struct pp_store *s)
{
	sqlite3_stmt *st = NULL;
	int rc = PP_OK;

	if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM sqlite_master", -1,
			       &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW)
		rc = pp_store_sqlfail(s, "reading the schema");
	else if (sqlite3_column_int(st, 0) > 0)
		rc = pp_store_fail(s, PP_ESTORE, "an SQLite database, but not a"
				   " peerpres store (it has tables of its own)");
	sqlite3_finalize(st);
	return rc;
}

/* Brings the schema to the latest version inside one write transaction. */
static int migrate(struct pp_store *s)
{
	char sql[64];
	int rc = PP_OK, version = 0, v, in_txn = 0;

	rc = read_user_version(s, &version);
	if (rc || version == N_MIGRATIONS)
		goto out;
	rc = exec_sql(s, "BEGIN IMMEDIATE", "starting the schema migration");
	if (rc)
		goto out;
	in_txn = 1;
	/* Another process may have migrated while we waited for the lock. */
	rc = read_user_version(s, &version);
	if (rc)
		goto out;
	if (version > N_MIGRATIONS) {
		rc = pp_store_fail(s, PP_ESTORE,
				   "schema version %d is newer than this peerpres"
				   " knows (%d); use a newer peerpres",
				   version, N_MIGRATIONS);
		goto out;
	}
	if (version == 0 && (rc = check_empty(s)))
		goto out;
	for (v = version; v < N_MIGRATIONS; v++) {
		rc = exec_sql(s, migrations[v], "migrating the schema");
		if (rc)
			goto out;
	}
	if (version < N_MIGRATIONS) {
		if (snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
			     N_MIGRATIONS) >= (int)sizeof(sql)) {
			rc = pp_store_fail(s, PP_ESTORE, "schema version too long");
			goto out;
		}
		rc = exec_sql(s, sql, "setting the schema version");
		if (rc)
			goto out;
		rc = write_meta(s);
		if (rc)
			goto out;
	}
	rc = exec_sql(s, "COMMIT", "committing the schema migration");
	if (rc)
		goto out;
	in_txn = 0;
out:
	if (in_txn)
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/* Counted by the clock, not by the pauses: a statement that reads the
 * schema first waits out the busy handler itself, so a lock held for a
 * whole import (--exclusive) held a `report` for a thousand busy
 * timeouts instead of one. */
int pp_store_exec_retrying(struct pp_store *s, const char *sql,
			   int (*row)(void *, int, char **, char **), void *arg, int max_ms)
{
	struct timespec pause = { 0, 10 * 1000000L };
	double deadline = pp_monotonic_ms() + max_ms;
	int src;

	while ((src = sqlite3_exec(s->db, sql, row, arg, NULL)) != SQLITE_OK &&
	       (src & 0xff) == SQLITE_BUSY && pp_monotonic_ms() < deadline)
		nanosleep(&pause, NULL);
	return src;
}

/*
 * Switching a new file to WAL needs it to itself for a moment, and SQLite
 * answers SQLITE_BUSY at once rather than through the busy handler: two
 * processes creating one store together (two runs started at once) saw
 * "database is locked" about once in thirty. Retried for as long as the
 * busy timeout would have waited.
 */
static int exec_retrying(struct pp_store *s, const char *sql, const char *what)
{
	int src = pp_store_exec_retrying(s, sql, NULL, NULL, PP_STORE_BUSY_MS);

	if (src == SQLITE_OK)
		return PP_OK;
	/* Still locked after the whole wait: a store taken by one import. */
	if ((src & 0xff) == SQLITE_BUSY)
		return pp_store_fail(s, PP_ESTORE, "%s: another process has had the store to itself "
				     "for %d s (an import into a store it creates, or with --exclusive, "
				     "keeps it until it ends): try again then",
				     what, PP_STORE_BUSY_MS / 1000);
	return pp_store_sqlfail(s, what);
}

static int configure(struct pp_store *s)
{
	int rc;

	sqlite3_extended_result_codes(s->db, 1);
	if (sqlite3_busy_timeout(s->db, PP_STORE_BUSY_MS) != SQLITE_OK)
		return pp_store_sqlfail(s, "setting the busy timeout");
	/* The first statement reads the header: a file that is not a
	 * database fails here with SQLite's "file is not a database". */
	rc = exec_retrying(s, "PRAGMA journal_mode = WAL", "opening");
	if (!rc)
		rc = exec_sql(s, "PRAGMA synchronous = NORMAL", "opening");
	if (!rc)
		rc = exec_sql(s, "PRAGMA foreign_keys = ON", "opening");
	return rc;
}

/*
 * The file's page writes wait in a buffer and go in large writes
 * (store_vfs.c), written before anything that could read the file or
 * rely on it. Safe in both of a store's modes, as each writes the file
 * only before a sync that comes before anyone may read what it wrote:
 * in the log's mode the file is written only by checkpoints, which sync
 * it (synchronous NORMAL) before they tell readers the pages are there;
 * taken by an import (pp_store_take_exclusive) nobody else reads it,
 * and each commit syncs it (FULL) before it ends the journal. Without
 * our VFS (in memory) the call is SQLITE_NOTFOUND and writes go one by
 * one, as SQLite's own.
 */
static void gather_writes(struct pp_store *s)
{
	int on = 1;

	sqlite3_file_control(s->db, "main", PP_FCNTL_GATHER, &on);
}

static int prepare_all(struct pp_store *s)
{
	int i;

	for (i = 0; i < PP_ST_COUNT; i++)
		if (sqlite3_prepare_v3(s->db, stmt_sql[i], -1,
				       SQLITE_PREPARE_PERSISTENT, &s->st[i],
				       NULL) != SQLITE_OK)
			return pp_store_sqlfail(s, "preparing statements");
	return PP_OK;
}

/* The last error without its "path: " prefix (diag holds the path apart). */
static const char *without_path(const struct pp_store *s)
{
	size_t n = strlen(s->path);

	if (!strncmp(s->errmsg, s->path, n) && s->errmsg[n] == ':' &&
	    s->errmsg[n + 1] == ' ')
		return s->errmsg + n + 2;
	return s->errmsg;
}

int pp_store_open(struct pp_store **out, const char *path, struct pp_diag *diag)
{
	struct pp_store *s = NULL;
	int rc = PP_OK, src;

	if (!out || !path || !*path)
		return pp_diag_set(diag, PP_EINVAL, path ? path : "", 0, 0,
				   "no store file given");
	*out = NULL;
	s = pp_calloc(1, sizeof(*s));
	if (!s)
		return pp_diag_set(diag, PP_ENOMEM, path, 0, 0, "out of memory");
	pp_buf_init(&s->scratch, PP_BUF_MAX_DEFAULT);
	s->path = pp_strdup(path);
	if (!s->path) {
		rc = pp_diag_set(diag, PP_ENOMEM, path, 0, 0, "out of memory");
		goto out;
	}
	src = sqlite3_open_v2(path, &s->db,
			      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			      SQLITE_OPEN_NOMUTEX, pp_store_vfs());
	if (src != SQLITE_OK) {
		rc = s->db ? pp_store_sqlfail(s, "cannot open")
			   : pp_store_fail(s, PP_ENOMEM, "cannot open: out of memory");
		goto fail;
	}
	rc = configure(s);
	if (!rc)
		rc = migrate(s);
	if (!rc)
		rc = prepare_all(s);
	if (rc)
		goto fail;
	gather_writes(s);
	*out = s;
	return PP_OK;
fail:
	pp_diag_set(diag, rc, path, 0, 0, "%s", without_path(s));
out:
	pp_store_close(s);
	return rc;
}

int pp_store_open_twin(struct pp_store *s, struct pp_store **out, struct pp_diag *diag)
{
	const char *file;

	*out = NULL;
	if (!s || !sqlite3_get_autocommit(s->db))
		return PP_EINVAL;
	file = sqlite3_db_filename(s->db, "main");
	if (!file || !*file)
		return PP_EINVAL;   /* in memory, or a temporary file */
	return pp_store_open(out, s->path, diag);
}

void pp_store_close(struct pp_store *s)
{
	int i, n;

	if (!s)
		return;
	/* First: the close checkpoints the whole log only as the last
	 * connection to the file. */
	pp_store_ckpt_stop(s);
	for (i = 0; i < PP_ST_COUNT; i++)
		sqlite3_finalize(s->st[i]);
	for (i = 0; i < PP_ROW_TABLES; i++)
		for (n = 1; n <= PP_ROWS_PER_INSERT; n++)
			sqlite3_finalize(s->row_st[i][n]);
	pp_store_give_back(s);
	/* close_v2 defers the close if a statement somehow survives. */
	sqlite3_close_v2(s->db);
	pp_buf_release(&s->scratch);
	free(s->path);
	free(s);
}

/*
 * Whether an argument looks like a secret: an API key pasted on a command
 * line ("sk-...", "sk-ant-...", Google's "AIza...", "Bearer ...") alone or
 * after "--option=". Refusing the run record keeps it out of the store and
 * of every report made from it.
 */
static int looks_like_key(const char *arg)
{
	static const char *const prefixes[] = { "sk-", "AIza", "Bearer ", "xai-" };
	const char *eq = strchr(arg, '=');
	const char *cands[2] = { arg, eq ? eq + 1 : NULL };
	size_t i, j;

	for (i = 0; i < 2; i++) {
		if (!cands[i])
			continue;
		for (j = 0; j < sizeof(prefixes) / sizeof(prefixes[0]); j++)
			if (!strncmp(cands[i], prefixes[j], strlen(prefixes[j])) &&
			    strlen(cands[i]) > 20)
				return 1;
	}
	return 0;
}

int pp_store_begin_run(struct pp_store *s, const struct pp_json *run, int64_t *run_id)
{
	sqlite3_stmt *st;
	struct pp_json *argv;
	char now[32];
	size_t i;
	int rc = PP_OK;

	if (!s || !run || !run_id)
		return PP_EINVAL;
	pp_store_clear_error(s);
	st = s->st[PP_ST_INS_RUN];
	argv = pp_json_get(run, "argv");
	if (!pp_json_is_string(pp_json_get(run, "command")) ||
	    !pp_json_is_array(argv))
		return pp_store_fail(s, PP_EINVAL,
				     "a run needs a \"command\" string and an"
				     " \"argv\" array");
	for (i = 0; i < pp_json_len(argv); i++) {
		const char *a = pp_json_str(pp_json_at(argv, i));

		if (a && looks_like_key(a))
			return pp_store_fail(s, PP_EINVAL,
					     "argument %zu of the run looks like"
					     " an API key; keys are never stored"
					     " (pass them in the environment)",
					     i);
	}
	now_utc(now);
	if ((rc = pp_store_bind_text(s, st, 1, pp_json_get(run, "command"))) ||
	    (rc = pp_store_bind_json(s, st, 2, argv)) ||
	    (rc = pp_store_bind_text(s, st, 3, pp_json_get(run, "version"))) ||
	    (rc = bind_rc(s, sqlite3_bind_int(st, 4,
			pp_json_is_true(pp_json_get(run, "dirty"))))) ||
	    (rc = pp_store_bind_text(s, st, 5, pp_json_get(run, "model"))) ||
	    (rc = bind_rc(s, sqlite3_bind_text(st, 6, now, -1, SQLITE_TRANSIENT))))
		goto out;
	if (sqlite3_step(st) != SQLITE_DONE) {
		rc = pp_store_sqlfail(s, "recording the run");
		goto out;
	}
	*run_id = sqlite3_last_insert_rowid(s->db);
out:
	pp_store_reset(st);
	return rc;
}

int pp_store_end_run(struct pp_store *s, int64_t run_id, const char *status)
{
	sqlite3_stmt *st;
	char now[32];
	int rc = PP_OK;

	if (!s || !status)
		return PP_EINVAL;
	pp_store_clear_error(s);
	if (strcmp(status, "done") && strcmp(status, "interrupted") &&
	    strcmp(status, "failed"))
		return pp_store_fail(s, PP_EINVAL, "unknown run status '%s'", status);
	st = s->st[PP_ST_END_RUN];
	now_utc(now);
	if ((rc = bind_rc(s, sqlite3_bind_int64(st, 1, run_id))) ||
	    (rc = bind_rc(s, sqlite3_bind_text(st, 2, now, -1, SQLITE_TRANSIENT))) ||
	    (rc = bind_rc(s, sqlite3_bind_text(st, 3, status, -1, SQLITE_STATIC))))
		goto out;
	if (sqlite3_step(st) != SQLITE_DONE) {
		rc = pp_store_sqlfail(s, "finishing the run");
		goto out;
	}
	if (sqlite3_changes(s->db) == 0)
		rc = pp_store_fail(s, PP_ENOTFOUND, "no run %lld", (long long)run_id);
out:
	pp_store_reset(st);
	return rc;
}

/* A dimension as stored in its column: strings as they are, numbers and
 * booleans as their JSON text, absent or null as "none". */
static int bind_dim(struct pp_store *s, sqlite3_stmt *st, int i,
		    const struct pp_json *v)
{
	if (pp_json_is_null(v))
		return bind_rc(s, sqlite3_bind_text(st, i, "none", -1, SQLITE_STATIC));
	return pp_store_bind_text(s, st, i, v);
}

int pp_store_put_config(struct pp_store *s, const struct pp_json *config)
{
	sqlite3_stmt *st;
	const char *id;
	char now[32];
	size_t i;
	int rc = PP_OK;

	if (!s || !config)
		return PP_EINVAL;
	pp_store_clear_error(s);
	st = s->st[PP_ST_INS_CONFIG];
	id = pp_json_get_str(config, "config_id", NULL);
	if (!id || !*id)
		return pp_store_fail(s, PP_EINVAL, "a config needs a \"config_id\"");
	if (strchr(id, ':'))
		return pp_store_fail(s, PP_EINVAL,
				     "config id '%s' contains ':', which separates"
				     " it from the index in rollout ids", id);
	now_utc(now);
	if ((rc = bind_rc(s, sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC))))
		goto out;
	for (i = 0; i < sizeof(config_dims) / sizeof(config_dims[0]); i++)
		if ((rc = bind_dim(s, st, (int)i + 2,
				   pp_json_get(config, config_dims[i]))))
			goto out;
	pp_buf_reset(&s->scratch);
	if ((rc = pp_json_dump(config, PP_JSON_COMPACT | PP_JSON_SORT_KEYS,
			       &s->scratch))) {
		rc = pp_store_fail(s, rc, "encoding the config: %s", pp_strerror(rc));
		goto out;
	}
	if ((rc = bind_rc(s, sqlite3_bind_text64(st, 12, s->scratch.buf,
						 s->scratch.len, SQLITE_STATIC,
						 SQLITE_UTF8))) ||
	    (rc = bind_rc(s, sqlite3_bind_text(st, 13, now, -1, SQLITE_TRANSIENT))))
		goto out;
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = pp_store_sqlfail(s, "recording the config");
out:
	pp_store_reset(st);
	return rc;
}

int pp_store_delete_errors(struct pp_store *s, const struct pp_json *config_ids, long *deleted)
{
	sqlite3_stmt *st = NULL;
	size_t i;
	int rc;

	*deleted = 0;
	if (!s || !pp_json_is_array(config_ids))
		return PP_EINVAL;
	pp_store_clear_error(s);
	if ((rc = exec_sql(s, "BEGIN IMMEDIATE", "deleting error rollouts")))
		return rc;
	/* Their messages, tool calls, labels and verdicts go with them
	 * (foreign keys, ON DELETE CASCADE). */
	if (sqlite3_prepare_v2(s->db, "DELETE FROM rollouts WHERE config_id = ?1 AND status = 'error'",
			       -1, &st, NULL) != SQLITE_OK)
		rc = pp_store_sqlfail(s, "deleting error rollouts");
	for (i = 0; !rc && i < pp_json_len(config_ids); i++) {
		if ((rc = bind_rc(s, sqlite3_bind_text(st, 1, pp_json_str(pp_json_at(config_ids, i)),
						       -1, SQLITE_STATIC))))
			break;
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = pp_store_sqlfail(s, "deleting error rollouts");
		else
			*deleted += sqlite3_changes(s->db);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	if (rc) {
		exec_sql(s, "ROLLBACK", "deleting error rollouts");
		*deleted = 0;
		return rc;
	}
	return exec_sql(s, "COMMIT", "deleting error rollouts");
}

int pp_store_done_indexes(struct pp_store *s, const char *config_id, size_t n,
			  bool *done)
{
	sqlite3_stmt *st;
	int rc = PP_OK, src;

	if (!s || !config_id || (n && !done))
		return PP_EINVAL;
	pp_store_clear_error(s);
	st = s->st[PP_ST_DONE_IDX];
	if (n)
		memset(done, 0, n * sizeof(*done));
	if ((rc = bind_rc(s, sqlite3_bind_text(st, 1, config_id, -1, SQLITE_STATIC))) ||
	    (rc = bind_rc(s, sqlite3_bind_int64(st, 2, (sqlite3_int64)n))))
		goto out;
	while ((src = sqlite3_step(st)) == SQLITE_ROW)
		done[sqlite3_column_int64(st, 0)] = true;
	if (src != SQLITE_DONE)
		rc = pp_store_sqlfail(s, "reading the stored indexes");
out:
	pp_store_reset(st);
	return rc;
}

int pp_store_has_rollouts(struct pp_store *s, bool *any)
{
	sqlite3_stmt *st = NULL;
	int rc = PP_OK;

	if (!s || !any)
		return PP_EINVAL;
	pp_store_clear_error(s);
	*any = false;
	if (sqlite3_prepare_v2(s->db, "SELECT EXISTS (SELECT 1 FROM rollouts)", -1, &st, NULL) !=
	    SQLITE_OK || sqlite3_step(st) != SQLITE_ROW)
		rc = pp_store_sqlfail(s, "looking for rollouts");
	else
		*any = sqlite3_column_int(st, 0) != 0;
	sqlite3_finalize(st);
	return rc;
}

int pp_store_count_status(struct pp_store *s, const char *config_id, const char *status,
			  long *n)
{
	sqlite3_stmt *st;
	int rc = PP_OK;

	if (!s || !config_id || !status || !n)
		return PP_EINVAL;
	pp_store_clear_error(s);
	*n = 0;
	st = s->st[PP_ST_COUNT_STATUS];
	if ((rc = bind_rc(s, sqlite3_bind_text(st, 1, config_id, -1, SQLITE_STATIC))) ||
	    (rc = bind_rc(s, sqlite3_bind_text(st, 2, status, -1, SQLITE_STATIC))))
		goto out;
	if (sqlite3_step(st) == SQLITE_ROW)
		*n = (long)sqlite3_column_int64(st, 0);
	else
		rc = pp_store_sqlfail(s, "counting the stored rollouts");
out:
	pp_store_reset(st);
	return rc;
}
