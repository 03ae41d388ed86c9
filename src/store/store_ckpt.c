/*
 * store_ckpt.c - checkpoints of a bulk writer's log on a thread of their
 * own.
 *
 * In WAL mode with synchronous = NORMAL a commit does not wait for the
 * disk; a checkpoint does, twice (the log, then the database file). Run
 * by the writing handle, as SQLite's automatic checkpoint is, those
 * waits stopped an import's storing thread for about 0.35 s of its 2.7 s
 * (23 syncs of up to 34 ms for 10,000 transcripts), while the thread
 * parsing ahead of it ran out of room and waited too. Here a second
 * connection copies the log into the database whenever the log has
 * grown by pp_store_ckpt_frames pages since the last request, in PASSIVE mode:
 * it never takes a lock the writer needs, and copies only the pages
 * committed when it starts, so the writer goes on appending meanwhile.
 *
 * A checkpoint is housekeeping, never needed for what is stored to be
 * durable or correct: the commits are in the log. A checkpoint that
 * fails is therefore left to the next one, or to the close, which
 * checkpoints the whole log as the last connection goes.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include <peerpres/status.h>
#include "core/alloc.h"
#include "store/store_int.h"

/* Pages of log between two requests: 4 MB with 4 KB pages. Off the
 * writer's thread, small checkpoints beat large ones: importing 10,000
 * transcripts, 1,000 pages instead of 10,000 cut the close (which copies
 * what is left of the log) from 0.27 to 0.08 s and the whole import by
 * about 5% of its CPU; a smaller log is also quicker for the writer to
 * look pages up in. 100 to 500 pages was slower again (more syncs).
 * Tests lower it. */
int pp_store_ckpt_frames = 1000;

/* Pages of log past which a commit waits for a checkpoint of all of it.
 * SQLite starts the log again from the top only when a transaction
 * begins with every page of it copied, and a bulk writer begins its next
 * batch the moment it commits, while the checkpoint of that commit has
 * only just been asked for: without the wait the log grew as large as
 * everything imported (730 MB for 10,000 of the study's transcripts),
 * every frame appended to a file that grows, where the kernel zeroes
 * each new block around SQLite's unaligned frames (8% of an import's
 * time). The wait is one batch's checkpoint every 128 MB: 16,384 and
 * 65,536 pages were slower, 8,192 slower still. */
int pp_store_ckpt_restart_frames = 32768;

struct pp_store_ckpt {
	sqlite3 *db;            /* the checkpointing connection */
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t due;
	pthread_cond_t done;    /* signalled as each checkpoint ends */
	bool requested, stopping;
	bool running;           /* a checkpoint is being made */
	int last_frames;        /* the log's size at the last request */
};

static void *ckpt_main(void *arg)
{
	struct pp_store_ckpt *c = arg;

	pthread_mutex_lock(&c->mu);
	for (;;) {
		while (!c->requested && !c->stopping)
			pthread_cond_wait(&c->due, &c->mu);
		if (c->stopping)
			break;
		c->requested = false;
		c->running = true;
		pthread_mutex_unlock(&c->mu);
		sqlite3_wal_checkpoint_v2(c->db, "main", SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		pthread_mutex_lock(&c->mu);
		c->running = false;
		pthread_cond_broadcast(&c->done);
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

/* The writer's commit hook (sqlite3_wal_hook): frames is the log's size
 * in pages. Once a checkpoint has copied all of it, the writer starts
 * the log again from the top, and frames falls. */
static int on_commit(void *arg, sqlite3 *db, const char *schema, int frames)
{
	struct pp_store_ckpt *c = arg;

	(void)db;
	(void)schema;
	if (frames < c->last_frames)
		c->last_frames = 0;
	if (frames - c->last_frames >= pp_store_ckpt_frames ||
	    frames >= pp_store_ckpt_restart_frames) {
		c->last_frames = frames;
		pthread_mutex_lock(&c->mu);
		c->requested = true;
		pthread_cond_signal(&c->due);
		/* The request is taken when the thread starts on it, so
		 * once nothing is asked for or running, a checkpoint begun
		 * after this commit has ended. */
		while (frames >= pp_store_ckpt_restart_frames && (c->requested || c->running))
			pthread_cond_wait(&c->done, &c->mu);
		pthread_mutex_unlock(&c->mu);
	}
	return SQLITE_OK;
}

/*
 * This connection writes the file only to copy the log into it, and a
 * checkpoint syncs the file before it tells readers (in the log's
 * shared memory) that the copied pages are there to read: with
 * synchronous at FULL, this connection's default, as at NORMAL. So its
 * page writes may wait and go in large writes (store_vfs.c), the sync
 * writing them first. An import of 10,000 of the study's transcripts
 * that keeps the log (--shared) then took 1.3 s of system time instead
 * of 1.9, and 0.90x the time.
 */
static void gather_checkpoints(sqlite3 *db)
{
	int on = 1;

	if (sqlite3_exec(db, "PRAGMA synchronous = FULL", NULL, NULL, NULL) == SQLITE_OK)
		sqlite3_file_control(db, "main", PP_FCNTL_GATHER, &on);
}

static void ckpt_free(struct pp_store_ckpt *c)
{
	sqlite3_close_v2(c->db);
	pthread_cond_destroy(&c->due);
	pthread_cond_destroy(&c->done);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

int pp_store_ckpt_start(struct pp_store *s)
{
	struct pp_store_ckpt *c;
	const char *file;

	if (s->ckpt)
		return PP_OK;
	file = sqlite3_db_filename(s->db, "main");
	if (!file || !*file)
		return PP_OK;   /* in memory: no log to copy */
	if (!(c = pp_calloc(1, sizeof(*c))))
		return PP_ENOMEM;
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->due, NULL);
	pthread_cond_init(&c->done, NULL);
	/* Failing to start is no failure of the store: the writer then
	 * checkpoints itself, as before. */
	/* A new connection learns the file is in WAL mode only once it has
	 * read it; until then a checkpoint does nothing. */
	if (sqlite3_open_v2(file, &c->db, SQLITE_OPEN_READWRITE, pp_store_vfs()) != SQLITE_OK ||
	    sqlite3_exec(c->db, "PRAGMA journal_mode", NULL, NULL, NULL) != SQLITE_OK ||
	    pthread_create(&c->thread, NULL, ckpt_main, c)) {
		ckpt_free(c);
		return PP_OK;
	}
	gather_checkpoints(c->db);
	s->ckpt = c;
	sqlite3_wal_hook(s->db, on_commit, c);
	return PP_OK;
}

void pp_store_ckpt_stop(struct pp_store *s)
{
	struct pp_store_ckpt *c = s->ckpt;

	if (!c)
		return;
	sqlite3_wal_hook(s->db, NULL, NULL);
	pthread_mutex_lock(&c->mu);
	c->stopping = true;
	pthread_cond_signal(&c->due);
	pthread_mutex_unlock(&c->mu);
	pthread_join(c->thread, NULL);
	ckpt_free(c);
	s->ckpt = NULL;
}

bool pp_store_ckpt_idle(struct pp_store *s)
{
	struct pp_store_ckpt *c = s->ckpt;
	bool idle;

	if (!c)
		return true;
	pthread_mutex_lock(&c->mu);
	idle = !c->requested && !c->running;
	pthread_mutex_unlock(&c->mu);
	return idle;
}
