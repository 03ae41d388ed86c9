/*
 * floor_sqlite.c - what SQLite alone costs to store the rows peerpres
 * stores per rollout, the lower bound under the CPU per model call of
 * `run` and the CPU per transcript of `import`.
 *
 * Reads every row of a store made by peerpres (rollouts, their messages,
 * tool calls and labels, and the response cache's entries spread evenly
 * between the rollouts) into memory first, then inserts them again into
 * a fresh file with the same schema and the same settings (WAL,
 * synchronous=NORMAL, foreign keys on, a 32 MB page cache), BATCH
 * rollouts per transaction, a rollout's rows of a table up to 16 to a
 * statement as the store writes them. Only the inserts and commits are timed: no
 * JSON is read or written, no value is built. Prints CPU per rollout, and
 * the kernel's part of it: the pages go through SQLite's own VFS, one
 * write each, where an import into a store it has taken gathers them
 * into writes of 124 KB (src/store/store_vfs.c), so there the kernel's
 * part is an upper bound.
 * With `alone` the file is written as an import into a store it creates
 * writes it: a rollback journal, an exclusive lock, synchronous=FULL.
 *
 *   floor_sqlite SOURCE.db NEW.db BATCH [wal|alone]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <sqlite3.h>

enum { ROLLOUTS, MESSAGES, TOOL_CALLS, LABELS, CACHE, N_TABLES };

/* The rows of a table in rollout order; `owner` is each row's rollout. */
struct table {
	const char *name, *order;
	int n_cols;
	size_t n, cap;
	sqlite3_value **values;      /* n x n_cols */
	sqlite3_int64 *owner;
	sqlite3_stmt *insert;
};

static struct table tables[N_TABLES] = {
	[ROLLOUTS] = { .name = "rollouts", .order = "id" },
	[MESSAGES] = { .name = "messages", .order = "rollout" },
	[TOOL_CALLS] = { .name = "tool_calls", .order = "rollout" },
	[LABELS] = { .name = "labels", .order = "rollout" },
	[CACHE] = { .name = "response_cache", .order = "id" },
};

static void die(sqlite3 *db, const char *what)
{
	fprintf(stderr, "floor_sqlite: %s: %s\n", what, sqlite3_errmsg(db));
	exit(1);
}

static void exec(sqlite3 *db, const char *sql)
{
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		die(db, sql);
}

static void load(sqlite3 *src, struct table *t)
{
	char sql[200];
	sqlite3_stmt *st;
	int i;

	snprintf(sql, sizeof(sql), "SELECT %s, * FROM %s ORDER BY %s", t->order, t->name, t->order);
	if (sqlite3_prepare_v2(src, sql, -1, &st, NULL) != SQLITE_OK)
		die(src, sql);
	t->n_cols = sqlite3_column_count(st) - 1;
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (t->n == t->cap) {
			t->cap = t->cap ? 2 * t->cap : 1024;
			t->values = realloc(t->values, t->cap * t->n_cols * sizeof(*t->values));
			t->owner = realloc(t->owner, t->cap * sizeof(*t->owner));
			if (!t->values || !t->owner)
				die(src, "out of memory");
		}
		t->owner[t->n] = sqlite3_column_int64(st, 0);
		for (i = 0; i < t->n_cols; i++)
			t->values[t->n * t->n_cols + i] = sqlite3_value_dup(sqlite3_column_value(st, i + 1));
		t->n++;
	}
	sqlite3_finalize(st);
}

static void prepare_insert(sqlite3 *dst, struct table *t)
{
	char sql[300];
	int i, len = snprintf(sql, sizeof(sql), "INSERT INTO %s VALUES (?", t->name);

	for (i = 1; i < t->n_cols; i++)
		len += snprintf(sql + len, sizeof(sql) - len, ",?");
	snprintf(sql + len, sizeof(sql) - len, ")");
	if (sqlite3_prepare_v2(dst, sql, -1, &t->insert, NULL) != SQLITE_OK)
		die(dst, sql);
}

/* As the store does (store_rows.c): a rollout's rows of a table go in
 * up to ROWS_PER_INSERT to a statement. */
#define ROWS_PER_INSERT 16
static sqlite3_stmt *multi[N_TABLES][ROWS_PER_INSERT + 1];

static sqlite3_stmt *insert_of(sqlite3 *dst, int k, int rows)
{
	struct table *t = &tables[k];
	char sql[8192];
	int i, r, len;

	if (multi[k][rows])
		return multi[k][rows];
	len = snprintf(sql, sizeof(sql), "INSERT INTO %s VALUES ", t->name);
	for (r = 0; r < rows; r++) {
		len += snprintf(sql + len, sizeof(sql) - len, "%s(?", r ? "," : "");
		for (i = 1; i < t->n_cols; i++)
			len += snprintf(sql + len, sizeof(sql) - len, ",?");
		len += snprintf(sql + len, sizeof(sql) - len, ")");
	}
	if (sqlite3_prepare_v2(dst, sql, -1, &multi[k][rows], NULL) != SQLITE_OK)
		die(dst, sql);
	return multi[k][rows];
}

/* Rows from..to of table k, up to ROWS_PER_INSERT a statement. */
static void insert_rows(sqlite3 *dst, int k, size_t from, size_t to)
{
	struct table *t = &tables[k];

	while (from < to) {
		int rows = to - from > ROWS_PER_INSERT ? ROWS_PER_INSERT : (int)(to - from), r, i;
		sqlite3_stmt *st = insert_of(dst, k, rows);

		for (r = 0; r < rows; r++)
			for (i = 0; i < t->n_cols; i++)
				sqlite3_bind_value(st, r * t->n_cols + i + 1,
						   t->values[(from + r) * t->n_cols + i]);
		if (sqlite3_step(st) != SQLITE_DONE)
			die(dst, t->name);
		sqlite3_reset(st);
		from += rows;
	}
}

static void insert_row(sqlite3 *dst, struct table *t, size_t row)
{
	int i;

	for (i = 0; i < t->n_cols; i++)
		sqlite3_bind_value(t->insert, i + 1, t->values[row * t->n_cols + i]);
	if (sqlite3_step(t->insert) != SQLITE_DONE)
		die(dst, t->name);
	sqlite3_reset(t->insert);
}

/* A new file with the source's schema, its configs and runs. */
static sqlite3 *fresh_copy(const char *src_path, const char *dst_path, int alone)
{
	sqlite3 *dst;
	char *sql;

	remove(dst_path);
	if (sqlite3_open(dst_path, &dst) != SQLITE_OK)
		die(dst, dst_path);
	exec(dst, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
		  "PRAGMA foreign_keys = ON; PRAGMA cache_size = -32768");
	sql = sqlite3_mprintf("ATTACH %Q AS src", src_path);
	exec(dst, sql);
	sqlite3_free(sql);
	exec(dst, "SELECT 1 FROM src.sqlite_master"); /* fails early on a non-store */
	{
		sqlite3_stmt *st;

		if (sqlite3_prepare_v2(dst, "SELECT sql FROM src.sqlite_master WHERE sql NOT NULL"
				       " AND name NOT LIKE 'sqlite_%'", -1, &st, NULL) != SQLITE_OK)
			die(dst, "reading the schema");
		while (sqlite3_step(st) == SQLITE_ROW)
			exec(dst, (const char *)sqlite3_column_text(st, 0));
		sqlite3_finalize(st);
	}
	exec(dst, "INSERT INTO configs SELECT * FROM src.configs;"
		  "INSERT INTO runs SELECT * FROM src.runs; DETACH src");
	/* After the source is gone: an exclusive lock would cover it too. */
	if (alone)
		exec(dst, "PRAGMA locking_mode = EXCLUSIVE; PRAGMA journal_mode = TRUNCATE;"
			  "PRAGMA synchronous = FULL");
	return dst;
}

/* CPU seconds so far, and in *sys those of the kernel. */
static double cpu_seconds(double *sys)
{
	struct rusage r;

	getrusage(RUSAGE_SELF, &r);
	*sys = r.ru_stime.tv_sec + r.ru_stime.tv_usec / 1e6;
	return r.ru_utime.tv_sec + r.ru_utime.tv_usec / 1e6 + *sys;
}

int main(int argc, char **argv)
{
	size_t at[N_TABLES] = { 0 }, r, rows = 0;
	sqlite3 *src, *dst;
	double t0, sys0, sys1;
	long batch;
	int k, alone;

	if (argc < 4 || argc > 5 || (batch = strtol(argv[3], NULL, 10)) < 1 ||
	    (argc == 5 && strcmp(argv[4], "wal") && strcmp(argv[4], "alone"))) {
		fprintf(stderr, "usage: floor_sqlite SOURCE.db NEW.db BATCH [wal|alone]\n");
		return 2;
	}
	alone = argc == 5 && !strcmp(argv[4], "alone");
	if (sqlite3_open_v2(argv[1], &src, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		die(src, argv[1]);
	for (k = 0; k < N_TABLES; k++)
		load(src, &tables[k]);
	dst = fresh_copy(argv[1], argv[2], alone);
	for (k = 0; k < N_TABLES; k++)
		prepare_insert(dst, &tables[k]);
	t0 = cpu_seconds(&sys0);
	for (r = 0; r < tables[ROLLOUTS].n; r++) {
		sqlite3_int64 id = tables[ROLLOUTS].owner[r];
		size_t cache_to = (r + 1) * tables[CACHE].n / tables[ROLLOUTS].n;

		if (r % batch == 0)
			exec(dst, "BEGIN");
		insert_row(dst, &tables[ROLLOUTS], at[ROLLOUTS]++);
		for (k = MESSAGES; k <= LABELS; k++) {
			size_t from = at[k];

			while (at[k] < tables[k].n && tables[k].owner[at[k]] == id)
				at[k]++;
			insert_rows(dst, k, from, at[k]);
		}
		while (at[CACHE] < cache_to)
			insert_row(dst, &tables[CACHE], at[CACHE]++);
		if (r % batch == (size_t)batch - 1 || r + 1 == tables[ROLLOUTS].n)
			exec(dst, "COMMIT");
	}
	t0 = cpu_seconds(&sys1) - t0;
	for (k = 0; k < N_TABLES; k++)
		rows += at[k];
	printf("SQLite alone (%s): %zu rollouts, %.1f rows each, %ld per transaction: %.1f us per rollout"
	       " (%.1f of them the kernel's)\n",
	       alone ? "rollback journal" : "WAL", tables[ROLLOUTS].n,
	       (double)rows / tables[ROLLOUTS].n, batch, t0 / tables[ROLLOUTS].n * 1e6,
	       (sys1 - sys0) / tables[ROLLOUTS].n * 1e6);
	sqlite3_close(dst);
	sqlite3_close(src);
	return 0;
}
