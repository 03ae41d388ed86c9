/*
 * store_int.h - what the files of src/store share: the store struct, its
 * cache of prepared statements and the error helpers.
 *
 * Invariant: every statement in st[] is prepared once at open and reset
 * (with its bindings cleared) before a function returns, so the next user
 * finds it clean and no read transaction is left open by accident.
 */
#ifndef PP_STORE_INT_H
#define PP_STORE_INT_H

#include <sqlite3.h>

#include <peerpres/buf.h>
#include <peerpres/json.h>
#include <peerpres/store.h>

enum pp_store_stmt {
	PP_ST_BEGIN,
	PP_ST_COMMIT,
	PP_ST_ROLLBACK,
	PP_ST_INS_RUN,
	PP_ST_END_RUN,
	PP_ST_INS_CONFIG,
	PP_ST_DONE_IDX,
	PP_ST_COUNT_STATUS,
	PP_ST_INS_ROLLOUT,
	PP_ST_FIND_EXTRA,
	PP_ST_SAVEPOINT,
	PP_ST_RELEASE,
	PP_ST_CACHE_GET,
	PP_ST_CACHE_PUT,
	PP_ST_RESOLVE_CONFIG,
	PP_ST_GET_ROLLOUT,
	PP_ST_GET_MESSAGES,
	PP_ST_GET_TOOL_CALLS,
	PP_ST_GET_LABELS,
	PP_ST_COUNT
};

/* How a column of the rollout's tables is bound and read back. */
enum pp_col_kind { PP_COL_TEXT, PP_COL_JSON, PP_COL_NUM, PP_COL_BOOL };

struct pp_store_col {
	const char *key;
	enum pp_col_kind kind;
};

/* The record kinds' columns (store_rows.c), NULL-key terminated, each
 * followed by the row's `extra`; what writing and reading share. */
extern const struct pp_store_col pp_store_message_cols[];
extern const struct pp_store_col pp_store_tool_call_cols[];
extern const struct pp_store_col pp_store_label_cols[];
/* Rollout keys with a column of their own (or written elsewhere), and
 * the usage counts with columns. */
extern const char *const pp_store_rollout_keys[];
extern const char *const pp_store_usage_keys[];

/* A rollout's row tables (messages, tool calls, labels) and the most
 * rows one INSERT of them takes. */
#define PP_ROW_TABLES 3
#define PP_ROWS_PER_INSERT 16

/* The VFS stores are opened with (store_vfs.c), or NULL for SQLite's
 * default; and the file control that turns the gathering of a main
 * file's writes on for good (an int, 1), or asks (-1, answered in the
 * int). The number is far from SQLite's own. */
const char *pp_store_vfs(void);
#define PP_FCNTL_GATHER 0x70700001

/* Long enough for a writer that checkpoints a large log, short enough
 * that a stuck lock is reported instead of hanging a run. */
#define PP_STORE_BUSY_MS 10000

struct pp_store {
	sqlite3 *db;
	char *path;
	char errmsg[1024];
	sqlite3_stmt *st[PP_ST_COUNT];
	/* INSERTs of 1..PP_ROWS_PER_INSERT messages, tool calls or labels
	 * (store_rows.c), prepared when first used. */
	sqlite3_stmt *row_st[PP_ROW_TABLES][PP_ROWS_PER_INSERT + 1];
	struct pp_buf scratch; /* reused for JSON text bound to statements */
	int batches_ready;     /* pp_store_begin set the handle up */
	struct pp_store_ckpt *ckpt;  /* a bulk writer's checkpoints, or NULL */
	bool exclusive;        /* pp_store_take_exclusive: no log, others locked out */
};

/* Checkpoints of this handle's log on a thread and connection of their
 * own (store_ckpt.c), for a bulk writer: its commits never wait for the
 * disk then. Start fails only for want of memory; stop (at the close)
 * is safe without a start. */
int pp_store_ckpt_start(struct pp_store *s);
extern int pp_store_ckpt_frames;   /* pages of log between checkpoints */
extern int pp_store_ckpt_restart_frames; /* pages of log a commit checkpoints whole */
void pp_store_ckpt_stop(struct pp_store *s);
/* Whether k is a key that can go into a JSON path as is: letters,
 * digits and '_', not empty. */
int pp_store_plain_key(const char *k);
/* sqlite3_exec, tried again every 10 ms for up to max_ms while SQLite
 * answers SQLITE_BUSY without waiting (a journal mode change does, when
 * another connection has the file open). Returns SQLite's code. */
int pp_store_exec_retrying(struct pp_store *s, const char *sql,
			   int (*row)(void *, int, char **, char **), void *arg, int max_ms);
/* Puts a store taken by pp_store_take_exclusive back in WAL mode and
 * lets other processes in (the close calls it). */
void pp_store_give_back(struct pp_store *s);
/* Whether no checkpoint is asked for or running (tests wait for it). */
bool pp_store_ckpt_idle(struct pp_store *s);

/* Records "path: message" as the last error and returns rc. */
int pp_store_fail(struct pp_store *s, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Records "path: what: <sqlite's message>" and returns PP_ESTORE, or
 * PP_ENOMEM when SQLite ran out of memory. */
int pp_store_sqlfail(struct pp_store *s, const char *what);
/* Clears the last error (each public call starts with it). */
void pp_store_clear_error(struct pp_store *s);
/* Resets a cached statement and clears its bindings. */
void pp_store_reset(sqlite3_stmt *st);

/* Binding helpers. JSON null and NULL pointers bind SQL NULL. */
int pp_store_bind_text(struct pp_store *s, sqlite3_stmt *st, int i,
		       const struct pp_json *v);
int pp_store_bind_json(struct pp_store *s, sqlite3_stmt *st, int i,
		       const struct pp_json *v);
int pp_store_bind_num(struct pp_store *s, sqlite3_stmt *st, int i,
		      const struct pp_json *v);
/* A column read back as JSON: the text parsed, or null for SQL NULL. */
int pp_store_col_json(struct pp_store *s, sqlite3_stmt *st, int i,
		      struct pp_json **out);
/* A column as a JSON string, integer, real or null, by its SQL type. */
struct pp_json *pp_store_col_value(sqlite3_stmt *st, int i);

#endif
