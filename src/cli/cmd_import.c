/*
 * cmd_import.c - `peerpres import`: the study's transcripts read,
 * replayed in our world, labelled by our detectors and stored beside the
 * study's labels. A bad file or row is reported with its path and line
 * and the rest still import; the exit status is 1 when any failed.
 *
 * Worker threads parse and replay (pp_compat_import) while this thread
 * stores (and parses too when it has nothing to store), in input order,
 * BATCH_ROWS transcripts per transaction (or what BATCH_SECONDS
 * brought). A transcript counts as imported, and its --json line is
 * printed, only once its batch is committed: a crash loses at most the
 * batch in flight, and importing again stores what is missing
 * (duplicates are recognised by their keys: docs/import.md).
 *
 * Ctrl-C (or SIGTERM) stops at the next transcript: the open batch is
 * committed, the summary says "interrupted" and the exit status is 1;
 * importing again stores the rest. The import is a row of `runs`, which
 * its rollouts name as their writer.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <peerpres/compat.h>
#include <peerpres/status.h>

#include "cli/cli.h"
#include "core/alloc.h"
#include "core/monotonic.h"

#define BATCH_ROWS 256
#define BATCH_SECONDS 2.0

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* A transcript stored in the open batch, counted when it commits. */
struct pending {
	char *path;
	long line;
	bool already, replayable, diverged;
};

/* The progress line: live on a terminal, every ten seconds in a log. */
struct progress {
	bool tty, shown;
	double start_s, last_s;
	double bytes, total_bytes;   /* read so far; of the files named (0: unknown) */
	long seen;                   /* transcripts (and bad rows) read */
};

/* A parsing thread's own view of what the store held before the import
 * (known_early): its own connection, so that no lock is shared. */
struct early {
	struct pp_store *store;          /* opened at the thread's first question */
	struct pp_compat_known *known;
	bool off;                        /* it could not open or read: no answers */
};

struct import_ctx {
	struct cli *c;
	struct pp_store *store;
	struct pp_compat_known *known;
	struct early *early;   /* one per worker, then the caller's; NULL: none */
	int n_early;
	struct progress prog;
	long ok, replayed, upstream_only, diverged, failed, already;
	/* the open batch */
	bool open;
	double opened_at;
	struct pending rows[BATCH_ROWS];
	size_t n_rows;
	struct pp_buf lines;    /* --json lines of the batch */
};

/* The live line is taken off the terminal before anything else is
 * printed there (a row's error, a --json line); the next redraws it. */
static void clear_live(struct progress *p)
{
	if (p->tty && p->shown) {
		fputs("\r\033[K", stderr);
		p->shown = false;
	}
}

static void report_error(struct import_ctx *x, const char *path, long line, const char *msg)
{
	clear_live(&x->prog);
	if (line > 0)
		cli_error("%s:%ld: %s", path, line, msg);
	else
		cli_error("%s: %s", path, msg);
}

static struct pp_json *source_of(const char *path, long line, const struct pp_json *parsed)
{
	const struct pp_json *tid = pp_json_get(parsed, "transcript_id");
	struct pp_json *s = pp_json_object();

	if (s && (pp_json_set_str(s, "kind", "import") || pp_json_set_str(s, "path", path) ||
		  pp_json_set(s, "line", line > 0 ? pp_json_integer(line) : pp_json_null()) ||
		  pp_json_set(s, "transcript_id", tid ? pp_json_deep_copy(tid) : pp_json_null()))) {
		pp_json_decref(s);
		return NULL;
	}
	return s;
}

/* Our labels as {name: value}, undecided ones as null. */
static struct pp_json *values_of(const struct pp_json *labels)
{
	struct pp_json *o = pp_json_object();
	void *it;

	for (it = pp_json_iter(labels); o && it; it = pp_json_iter_next(labels, it)) {
		const struct pp_json *l = pp_json_iter_value(it);

		if (pp_json_set(o, pp_json_iter_key(it), pp_json_deep_copy(pp_json_get(l, "value")))) {
			pp_json_decref(o);
			return NULL;
		}
	}
	return o;
}

/* The --json line of a stored transcript, appended to out. */
static int json_line(const struct pp_json *source, const struct pp_json *config,
		     const struct pp_json *rollout, long idx, bool already, struct pp_buf *out)
{
	const struct pp_json *replay = pp_json_get(rollout, "replay");
	bool replayable = pp_json_is_true(pp_json_get(replay, "replayable"));
	struct pp_json *o = pp_json_object(), *mism = pp_json_array();
	char id[160];
	int compared = 0, rc = o && mism ? PP_OK : PP_ENOMEM;

	snprintf(id, sizeof(id), "%s:%ld", pp_json_get_str(config, "config_id", ""), idx);
	if (!rc && replayable &&
	    pp_compat_compare(pp_json_get(rollout, "labels"), pp_json_get(rollout, "upstream_labels"),
			      mism, &compared) < 0)
		rc = PP_ENOMEM;
	if (!rc)
		rc = pp_json_set(o, "source", pp_json_deep_copy(source));
	if (!rc)
		rc = pp_json_set_str(o, "rollout_id", id);
	if (!rc)
		rc = pp_json_set(o, "already_imported", pp_json_bool(already));
	if (!rc)
		rc = pp_json_set(o, "config", pp_json_deep_copy(config));
	if (!rc)
		rc = pp_json_set(o, "replayable", pp_json_bool(replayable));
	if (!rc)
		rc = pp_json_set(o, "labels", replayable ? values_of(pp_json_get(rollout, "labels")) :
				 pp_json_null());
	if (!rc)
		rc = pp_json_set(o, "upstream", pp_json_deep_copy(pp_json_get(rollout, "upstream_labels")));
	if (!rc)
		rc = pp_json_set(o, "divergences", pp_json_deep_copy(pp_json_get(replay, "divergences")));
	if (!rc)
		rc = pp_json_set(o, "mismatches", mism ? pp_json_incref(mism) : NULL);
	if (!rc)
		rc = pp_json_set(o, "flags", pp_json_deep_copy(pp_json_get(replay, "flags")));
	if (!rc)
		rc = pp_json_set(o, "why_not", pp_json_deep_copy(pp_json_get(replay, "why_not")));
	if (!rc)
		rc = pp_json_dump(o, PP_JSON_COMPACT | PP_JSON_SHORT_REALS, out);
	if (!rc)
		rc = pp_buf_addc(out, '\n');
	pp_json_decref(o);
	pp_json_decref(mism);
	return rc;
}

static void clear_batch(struct import_ctx *x)
{
	size_t i;

	for (i = 0; i < x->n_rows; i++)
		free(x->rows[i].path);
	x->n_rows = 0;
	pp_buf_reset(&x->lines);
	x->open = false;
}

/* Commits the open batch: its transcripts count and their lines are
 * printed; if the commit fails none of them is stored, and each says so. */
static void commit(struct import_ctx *x)
{
	size_t i;

	if (!x->open)
		return;
	if (pp_compat_known_commit(x->known, x->store)) {
		for (i = 0; i < x->n_rows; i++) {
			char msg[1200];

			snprintf(msg, sizeof(msg), "not stored: %s", pp_store_errmsg(x->store));
			report_error(x, x->rows[i].path, x->rows[i].line, msg);
		}
		x->failed += (long)x->n_rows;
		clear_batch(x);
		return;
	}
	for (i = 0; i < x->n_rows; i++) {
		const struct pending *p = &x->rows[i];

		if (p->already) {
			x->already++;
			continue;
		}
		x->ok++;
		if (p->replayable)
			x->replayed++;
		else
			x->upstream_only++;
		x->diverged += p->diverged;
	}
	if (x->lines.len)
		clear_live(&x->prog);
	fwrite(x->lines.buf, 1, x->lines.len, stdout);
	clear_batch(x);
}

static int open_batch(struct import_ctx *x)
{
	int rc = pp_compat_known_begin(x->known, x->store);

	if (rc)
		return rc;
	x->open = true;
	x->opened_at = pp_monotonic_s();
	return PP_OK;
}

/* Notes a stored transcript in the batch; prints what diverged now. */
static int note(struct import_ctx *x, struct pp_compat_result *r, const struct pp_json *source,
		long idx, bool already)
{
	const struct pp_json *replay = pp_json_get(r->rollout, "replay");
	size_t nd = pp_json_len(pp_json_get(replay, "divergences"));
	struct pending *p = &x->rows[x->n_rows];

	if (!(p->path = pp_strdup(r->path)))
		return PP_ENOMEM;
	p->line = r->line;
	p->already = already;
	p->replayable = pp_json_is_true(pp_json_get(replay, "replayable"));
	p->diverged = !already && nd;
	x->n_rows++;
	if (p->diverged) {
		char msg[128];

		snprintf(msg, sizeof(msg), "%zu call(s) diverged in replay (see --json or 'peerpres show')", nd);
		report_error(x, r->path, r->line, msg);
	}
	return x->c->json ? json_line(source, r->config, r->rollout, idx, already, &x->lines) : PP_OK;
}

/* What prepare() keeps of a transcript for the sink. */
struct prepared {
	struct pp_json *source;          /* source_of() */
	struct pp_compat_ready *ready;   /* the rollout encoded for the store */
};

static void release_prepared(void *arg)
{
	struct prepared *pr = arg;

	if (!pr)
		return;
	pp_json_decref(pr->source);
	pp_compat_ready_free(pr->ready);
	free(pr);
}

/* The import's prepare hook (pp_compat_import_opts), on the thread that
 * replayed r: encodes the rollout for the store and drops the transcript's
 * trees, the large part of what that thread allocated. Reads nothing of
 * the import's context: it runs on several threads at once. */
static int prepare(void *arg, struct pp_compat_result *r)
{
	/* What the sink reads of the rollout besides the record: the
	 * replay's findings and the labels (note, json_line). */
	static const char *const kept[] = { "replay", "labels", "upstream_labels" };
	struct prepared *pr = pp_calloc(1, sizeof(*pr));
	struct pp_json *slim;
	int rc;

	(void)arg;
	if (!pr || !(pr->source = source_of(r->path, r->line, r->parsed))) {
		release_prepared(pr);
		return PP_ENOMEM;
	}
	r->prepared = pr;
	r->release = release_prepared;
	if ((rc = pp_compat_ready_new(r->config, r->rollout, pr->source, &pr->ready, &r->diag)))
		return rc;
	if (!(slim = pp_json_pick(r->rollout, kept, sizeof(kept) / sizeof(kept[0]))))
		return PP_ENOMEM;
	pp_json_decref(r->rollout);
	r->rollout = slim;
	pp_json_decref(r->parsed);
	r->parsed = NULL;
	return PP_OK;
}

/*
 * The import's known hook: whether the store held the transcript before
 * this import began, asked before its replay. A transcript imported again
 * (an import run a second time, or resumed after an interruption) then
 * costs its parsing and keys, not a replay and an encoding: importing a
 * file again takes about 0.6x the time. Rows stored by this import
 * itself are still found by the sink after their replay (this thread's
 * view of a config is read once). Runs on the workers' threads: each
 * reads its own slot.
 */
static int known_early(void *arg, int thread, const char *config_id, const struct pp_json *parsed,
		       long *idx)
{
	struct import_ctx *x = arg;
	struct early *e = &x->early[thread >= 0 && thread < x->n_early - 1 ? thread : x->n_early - 1];
	struct pp_diag diag;

	*idx = -1;
	if (e->off)
		return PP_OK;
	pp_diag_clear(&diag);
	if (!e->store && (pp_store_open(&e->store, x->c->db, &diag) || pp_compat_known_new(&e->known))) {
		e->off = true;   /* the sink finds the duplicates, after the replay */
		return PP_OK;
	}
	if (pp_compat_known_find(e->known, e->store, config_id, parsed, idx)) {
		*idx = -1;
		e->off = true;
	}
	return PP_OK;
}

/* Asks known_early before each replay when it can help: the store held
 * rollouts before the import, the import shares it (a store taken alone
 * has no other reader, and a new one nothing to find), and no --json line
 * needs the replayed labels of a transcript already imported. */
static int early_setup(struct import_ctx *x, struct pp_compat_import_opts *opt, bool alone)
{
	bool any = false;

	if (alone || x->c->json || pp_store_has_rollouts(x->store, &any) || !any)
		return PP_OK;
	x->n_early = opt->workers + 1;
	if (!(x->early = pp_calloc((size_t)x->n_early, sizeof(*x->early))))
		return PP_ENOMEM;
	opt->known = known_early;
	return PP_OK;
}

static void early_free(struct import_ctx *x)
{
	int i;

	for (i = 0; i < x->n_early; i++) {
		pp_store_close(x->early[i].store);
		pp_compat_known_free(x->early[i].known);
	}
	free(x->early);
}

/* A transcript known_early found stored: counted as a duplicate the
 * sink found would be (the --json line is never needed: see early_setup). */
static int store_known(struct import_ctx *x, struct pp_compat_result *r)
{
	int rc = x->open ? PP_OK : open_batch(x);

	if (rc)
		pp_diag_set(&r->diag, rc, NULL, 0, 0, "cannot store: %s", pp_store_errmsg(x->store));
	return rc ? rc : note(x, r, NULL, r->known_idx, true);
}

static int store_one(struct import_ctx *x, struct pp_compat_result *r)
{
	const struct prepared *pr = r->prepared;
	long idx = -1;
	bool already = false;
	int rc = PP_OK;

	if (r->known)
		return store_known(x, r);
	if (!x->open && (rc = open_batch(x)))
		pp_diag_set(&r->diag, rc, NULL, 0, 0, "cannot store: %s", pp_store_errmsg(x->store));
	if (!rc && (rc = pp_compat_store_ready(x->known, x->store, r->config, pr->ready, &idx,
					       &already)))
		pp_diag_set(&r->diag, rc, NULL, 0, 0, "cannot store: %s", pp_store_errmsg(x->store));
	if (!rc)
		rc = note(x, r, pr->source, idx, already);
	else if (rc != PP_ENOMEM && x->open)
		commit(x);   /* a failure may have cost SQLite the batch: settle it now */
	return rc;
}

/* Counts as stored what the last commit stored: a line never claims a
 * transcript a crash could still lose. */
static void show_progress(struct import_ctx *x)
{
	struct progress *p = &x->prog;
	double t = pp_monotonic_s(), secs = t - p->start_s, rate = secs > 0 ? p->seen / secs : 0;
	char size[96];

	if (t - p->last_s < (p->tty ? 0.1 : 10.0))
		return;
	p->last_s = t;
	p->shown = true;
	if (p->total_bytes > 0)
		snprintf(size, sizeof(size), "%.0f/%.0f MB (%.0f%%)", p->bytes / 1e6, p->total_bytes / 1e6,
			 p->bytes < p->total_bytes ? 100 * p->bytes / p->total_bytes : 100.0);
	else
		snprintf(size, sizeof(size), "%.0f MB", p->bytes / 1e6);
	fprintf(stderr, "%s%ld transcripts read  %s  %.0f/s  %.1f MB/s  %ld stored  %ld already imported  "
		"%ld failed", p->tty ? "\r" : "", p->seen, size, rate, secs > 0 ? p->bytes / 1e6 / secs : 0.0,
		x->ok, x->already, x->failed);
	if (p->total_bytes > 0 && p->bytes > 0 && p->bytes < p->total_bytes)
		fprintf(stderr, "  ETA %.0f s", secs * (p->total_bytes - p->bytes) / p->bytes);
	fputs(p->tty ? "\033[K" : "\n", stderr);
}

/* The bytes of the files named, for the line's share and ETA: unknown
 * (0) when one is a directory or a stream. */
static double input_bytes(const struct cli *c)
{
	struct stat st;
	double total = 0;
	size_t i;

	for (i = 0; i < c->n_args; i++) {
		if (stat(c->args[i], &st) || !S_ISREG(st.st_mode))
			return 0;
		total += (double)st.st_size;
	}
	return total;
}

static int one(void *arg, struct pp_compat_result *r)
{
	struct import_ctx *x = arg;
	int rc = r->error ? PP_OK : r->rc;

	x->prog.seen++;
	x->prog.bytes += (double)r->bytes;
	show_progress(x);
	/* Stop before this one: what the batch holds is whole. */
	if (stop_requested)
		return PP_EINTR;
	if (r->error) {
		report_error(x, r->path, r->line, r->error);
		x->failed++;
		return PP_OK;
	}
	if (!rc)
		rc = store_one(x, r);
	if (rc == PP_ENOMEM)
		return rc;
	if (rc) {
		report_error(x, r->path, r->line, r->diag.msg[0] ? r->diag.msg : pp_strerror(rc));
		x->failed++;
	}
	if (x->open && (x->n_rows == BATCH_ROWS || pp_monotonic_s() - x->opened_at >= BATCH_SECONDS))
		commit(x);
	return PP_OK;
}

/* No result for a while (a stream that comes slowly): the open batch is
 * committed once it is BATCH_SECONDS old, as the next result would have
 * committed it, so the store shows what came; a log gets its line. */
static void on_idle(void *arg)
{
	struct import_ctx *x = arg;

	if (x->open && pp_monotonic_s() - x->opened_at >= BATCH_SECONDS)
		commit(x);
	show_progress(x);
}

/* Threads that parse and replay: one per core, --concurrency at most.
 * This thread is one of them (it parses when it has nothing to store),
 * so the workers are one fewer. */
static int workers(const struct cli *c)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (cpus < 1)
		cpus = 1;
	return (int)(c->concurrency < cpus ? c->concurrency : cpus) - 1;
}

/* The runs row of this import, which its rollouts name. */
static int begin_run(struct import_ctx *x, int64_t *run_id)
{
	struct pp_json *rec = cli_run_record(x->c, "import", NULL);
	int rc = rec ? pp_store_begin_run(x->store, rec, run_id) : PP_ENOMEM;

	if (rc)
		cli_error("%s", rec ? pp_store_errmsg(x->store) : "out of memory");
	else
		pp_compat_known_set_run(x->known, *run_id);
	pp_json_decref(rec);
	return rc;
}

/* Reads, stores and commits; the run ends interrupted, failed (the
 * import could not go on) or done (rows that failed were reported). */
static int import_all(struct import_ctx *x, const struct pp_compat_import_opts *opt)
{
	int64_t run_id = 0;
	int rc;

	/* Before the run is visible: a Ctrl-C from then on is seen. */
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if ((rc = begin_run(x, &run_id)))
		return rc;
	rc = pp_compat_import(x->c->args, x->c->n_args, opt, one, x);
	/* A stream stopped while waiting ends as its input: still stopped. */
	if (!rc && stop_requested)
		rc = PP_EINTR;
	commit(x);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	if (rc && rc != PP_EINTR)
		cli_error("%s", pp_strerror(rc));
	if (pp_store_end_run(x->store, run_id,
			     rc == PP_EINTR ? "interrupted" : rc ? "failed" : "done"))
		cli_error("cannot record the end of the import: %s", pp_store_errmsg(x->store));
	return rc;
}

/* A store the import is about to create has no reader yet, so taking it
 * alone costs nobody anything, and each page is then written once
 * instead of to the log and again by a checkpoint: about 15% less
 * time for a first import of the study's data. --shared keeps the log
 * for a user who wants to read the store while it fills. */
static bool store_is_new(const char *db)
{
	struct stat st;

	return strcmp(db, ":memory:") && stat(db, &st) && errno == ENOENT;
}

/* The store for this import alone: asked for (--exclusive), a clear
 * refusal before anything is read when another process has it open;
 * by default for a new store, which a process that opened it since we
 * looked keeps sharing. */
static int take_store(struct pp_store *s, bool asked)
{
	int rc = pp_store_take_exclusive(s);

	if (rc && asked) {
		cli_error("%s; import without --exclusive to share it", pp_store_errmsg(s));
		return rc;
	}
	return PP_OK;
}

int cmd_import(struct cli *c)
{
	const struct pp_json *names = pp_json_get(c->filters, "scenario");
	struct pp_compat_import_opts opt;
	struct pp_scenario **list = NULL;
	struct import_ctx x;
	bool alone;
	int rc = PP_OK;

	memset(&x, 0, sizeof(x));
	memset(&opt, 0, sizeof(opt));
	x.c = c;
	pp_buf_init(&x.lines, PP_BUF_MAX_DEFAULT);
	if (!c->n_args) {
		cli_error("import needs a file or directory; see 'peerpres import --help'");
		return EXIT_USAGE;
	}
	if (pp_json_len(names) > 1) {
		cli_error("import takes one --scenario, which applies to every transcript");
		return EXIT_USAGE;
	}
	if (c->exclusive && c->shared) {
		cli_error("import takes --exclusive or --shared, not both");
		return EXIT_USAGE;
	}
	alone = c->exclusive || (!c->shared && store_is_new(c->db));
	opt.scenario = pp_json_str(pp_json_at(names, 0));
	opt.workers = workers(c);
	opt.idle = on_idle;
	opt.idle_seconds = BATCH_SECONDS;
	opt.prepare = prepare;
	opt.stop = &stop_requested;
	if ((rc = cli_load_scenarios(c, &list, &opt.n)))
		return rc;
	opt.scenarios = list;
	if (pp_compat_known_new(&x.known)) {
		cli_error("out of memory");
		pp_scenario_list_free(list, opt.n);
		return EXIT_RUNTIME;
	}
	if (cli_open_store(c, &x.store, false) ||
	    (alone && take_store(x.store, c->exclusive))) {
		pp_store_close(x.store);
		pp_compat_known_free(x.known);
		pp_scenario_list_free(list, opt.n);
		return EXIT_RUNTIME;
	}
	if (early_setup(&x, &opt, alone)) {
		cli_error("out of memory");
		pp_store_close(x.store);
		pp_compat_known_free(x.known);
		pp_scenario_list_free(list, opt.n);
		return EXIT_RUNTIME;
	}
	x.prog.tty = isatty(STDERR_FILENO);
	x.prog.start_s = pp_monotonic_s();
	x.prog.last_s = x.prog.tty ? 0 : x.prog.start_s;   /* a terminal sees the first at once */
	x.prog.total_bytes = input_bytes(c);
	rc = import_all(&x, &opt);
	clear_live(&x.prog);   /* the summary takes the live line's place */
	fprintf(stderr, "%simported %ld transcript(s) into '%s': %ld replayed, %ld labelled from the "
		"study's labels only, %ld with divergences; %ld already imported (skipped); %ld failed\n",
		rc == PP_EINTR ? "interrupted: " : "", x.ok, c->db, x.replayed, x.upstream_only,
		x.diverged, x.already, x.failed);
	clear_batch(&x);
	pp_buf_release(&x.lines);
	early_free(&x);
	pp_store_close(x.store);
	pp_compat_known_free(x.known);
	pp_scenario_list_free(list, opt.n);
	return rc || x.failed ? EXIT_RUNTIME : 0;
}
