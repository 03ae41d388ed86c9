/*
 * source.c - where upstream transcripts come from: single JSON files,
 * JSONL datasets (one row per line, the transcript inline or as a
 * transcript_json string beside the dataset's columns) and directories
 * of them. A bad file or row is reported with its path and line and the
 * walk goes on: one broken row never hides the rest.
 *
 * Reading and decoding are apart: pp_compat_src_next hands out the raw
 * text of one row or file at a time (cheap, and in order), and
 * pp_compat_decode turns it into a transcript, which is the costly part
 * and may run in another thread. Each raw item yields exactly one call of
 * the callback, a transcript or a failure.
 */
#define _GNU_SOURCE   /* fopencookie */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <peerpres/compat.h>
#include <peerpres/status.h>

#include "compat/compat_int.h"
#include "core/alloc.h"
#include "core/json_fast.h"

/* A JSONL line longer than this is reported, not read into memory. */
#define LINE_MAX_BYTES ((size_t)256 * 1024 * 1024)

/* One level of the walk: the paths named on the command line, or the
 * entries of one directory, in name order. */
struct frame {
	char **paths;
	size_t n, next;
	bool top;
};

struct pp_compat_src {
	struct frame *stack;
	size_t depth, cap;
	FILE *jsonl;          /* the JSONL file being read, if any */
	char *jsonl_path;
	long line_no;
	long rows;            /* non-blank lines read from it */
	char *line;
	size_t line_cap;
	ssize_t held;         /* a line read ahead (by sniff), or -1 */
	bool stream;          /* the JSONL input is a stream, not a file */
	char *read_buf;       /* stdio's buffer for it (buffered) */
	/* The directory named on the command line being walked, and how
	 * many files of transcripts were found under it: none is an error
	 * (a wrong path, or files named otherwise), not an empty import. */
	char *top_dir;
	long top_files;
	const volatile sig_atomic_t *stop;   /* pp_compat_src_stop */
	void (*on_wait)(void *);             /* pp_compat_src_on_wait */
	void *wait_arg;
	double wait_s;
};

static void free_frame(struct frame *f)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		free(f->paths[i]);
	free(f->paths);
}

static int push(struct pp_compat_src *s, char **paths, size_t n, bool top)
{
	struct frame *more = pp_grow(s->stack, &s->cap, s->depth, 1, sizeof(*more));

	if (!more)
		return PP_ENOMEM;
	s->stack = more;
	s->stack[s->depth].paths = paths;
	s->stack[s->depth].n = n;
	s->stack[s->depth].next = 0;
	s->stack[s->depth].top = top;
	s->depth++;
	return PP_OK;
}

static void free_names(char **names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int pp_compat_src_new(const char *const *paths, size_t n, struct pp_compat_src **out)
{
	struct pp_compat_src *s = pp_calloc(1, sizeof(*s));
	char **copy = pp_calloc(n ? n : 1, sizeof(*copy));
	size_t i;
	int rc = s && copy ? PP_OK : PP_ENOMEM;

	if (s)
		s->held = -1;
	for (i = 0; !rc && i < n; i++)
		if (!(copy[i] = pp_strdup(paths[i])))
			rc = PP_ENOMEM;
	if (!rc && !(rc = push(s, copy, n, true)))
		copy = NULL;
	if (rc) {
		free_names(copy, n);
		pp_compat_src_free(s);
		s = NULL;
	}
	*out = s;
	return rc;
}

void pp_compat_src_stop(struct pp_compat_src *s, const volatile sig_atomic_t *stop)
{
	s->stop = stop;
}

void pp_compat_src_on_wait(struct pp_compat_src *s, void (*fn)(void *), void *arg,
			   double seconds)
{
	s->on_wait = fn;
	s->wait_arg = arg;
	s->wait_s = seconds;
}

/* A file (or stream) read through stdio with a buffer of a megabyte, the
 * source's own: stdio's is the file system's block (4 KB) and ignores a
 * size given without the memory, so a row of the study's data (50 KB)
 * took a dozen read calls. One file is open at a time; the buffer serves
 * them all and goes with the source. */
#define READ_BUFFER_BYTES (1 << 20)

static FILE *buffered(struct pp_compat_src *s, FILE *f)
{
	if (f && (s->read_buf || (s->read_buf = pp_malloc(READ_BUFFER_BYTES))))
		setvbuf(f, s->read_buf, _IOFBF, READ_BUFFER_BYTES);
	return f;
}

/* ---- streams ---- */

/* A stream (standard input, a FIFO) is read through a FILE of our own
 * whose reads wait in poll() a fifth of a second at a time, looking at
 * the stop flag in between: in stdio's own read() a Ctrl-C while the
 * writer was quiet was seen only once its next line came. A reader that
 * also stores (the serial import) is called back from the wait. */
#define STREAM_POLL_MS 200

struct stream_in {
	int fd;
	bool own;   /* a FIFO opened here, closed with the FILE; not stdin */
	const struct pp_compat_src *src;   /* its stop flag and on_wait */
};

/* Stopped: the stream reads as ended, and the import ends there. */
static ssize_t stream_read(void *cookie, char *buf, size_t size)
{
	struct stream_in *in = cookie;
	const struct pp_compat_src *s = in->src;
	struct pollfd p = { in->fd, POLLIN, 0 };
	double waited = 0;
	ssize_t n;
	int ready;

	for (;;) {
		if (s->stop && *s->stop)
			return 0;
		if ((ready = poll(&p, 1, STREAM_POLL_MS)) < 0 && errno != EINTR)
			return -1;
		if (ready == 0 && s->on_wait && (waited += STREAM_POLL_MS / 1e3) >= s->wait_s) {
			s->on_wait(s->wait_arg);
			waited = 0;
		}
		if (ready <= 0)
			continue;
		if ((n = read(in->fd, buf, size)) >= 0 || (errno != EINTR && errno != EAGAIN))
			return n;
	}
}

static int stream_close(void *cookie)
{
	struct stream_in *in = cookie;

	if (in->own)
		close(in->fd);
	free(in);
	return 0;
}

/* A FILE reading fd (standard input when path is NULL, else path opened
 * here); NULL with errno on failure. */
static FILE *stream_open(struct pp_compat_src *s, const char *path)
{
	static const cookie_io_functions_t io = { stream_read, NULL, NULL, stream_close };
	struct stream_in *in = pp_calloc(1, sizeof(*in));
	FILE *f = NULL;

	if (!in)
		return NULL;
	in->fd = path ? open(path, O_RDONLY) : STDIN_FILENO;
	in->own = path != NULL;
	in->src = s;
	if (in->fd >= 0)
		f = buffered(s, fopencookie(in, "r", io));
	if (!f) {
		if (in->own && in->fd >= 0)
			close(in->fd);
		free(in);
	}
	return f;
}

static void close_jsonl(struct pp_compat_src *s)
{
	/* Standard input stays open (stream_close leaves its descriptor):
	 * "-" named twice reads nothing more. */
	if (s->jsonl)
		fclose(s->jsonl);
	s->jsonl = NULL;
	s->stream = false;
	free(s->jsonl_path);
	s->jsonl_path = NULL;
}

void pp_compat_src_free(struct pp_compat_src *s)
{
	if (!s)
		return;
	while (s->depth)
		free_frame(&s->stack[--s->depth]);
	free(s->stack);
	close_jsonl(s);
	free(s->read_buf);
	free(s->line);
	free(s->top_dir);
	free(s);
}

void pp_compat_raw_release(struct pp_compat_raw *raw)
{
	free(raw->path);
	free(raw->text);
	free(raw->error);
	memset(raw, 0, sizeof(*raw));
}

/* Fills raw with a failure of `path` at `line`. */
static int failure(struct pp_compat_raw *raw, const char *path, long line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int failure(struct pp_compat_raw *raw, const char *path, long line, const char *fmt, ...)
{
	struct pp_buf b = PP_BUF_INIT;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = pp_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	raw->line = line;
	if (!rc && !(raw->path = pp_strdup(path)))
		rc = PP_ENOMEM;
	if (!rc)
		raw->error = pp_buf_detach(&b, NULL);
	pp_buf_release(&b);
	return rc;
}

/* The length of a UTF-8 byte order mark at the start of s, or 0:
 * Windows tools write one, and JSON has no place for it. */
static size_t bom_len(const char *s, size_t n)
{
	return n >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3) ? 3 : 0;
}

static bool blank(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return false;
	return true;
}

/* The next line of the open JSONL file into s->line: the one sniff read
 * ahead, if any. */
static ssize_t read_line(struct pp_compat_src *s)
{
	ssize_t len = s->held;

	if (len >= 0) {
		s->held = -1;
		return len;
	}
	return getline(&s->line, &s->line_cap, s->jsonl);
}

/* The next non-blank line of the open JSONL file; *got false at its end
 * (the file is then closed). */
static int next_line(struct pp_compat_src *s, struct pp_compat_raw *raw, bool *got)
{
	ssize_t len;

	size_t skip;

	*got = false;
	while ((len = read_line(s)) >= 0) {
		skip = s->line_no++ ? 0 : bom_len(s->line, (size_t)len);
		len -= (ssize_t)skip;
		if (blank(s->line + skip, (size_t)len))
			continue;
		*got = true;
		s->rows++;
		if ((size_t)len > LINE_MAX_BYTES)
			return failure(raw, s->jsonl_path, s->line_no, "line longer than %zu MB: not read",
				       LINE_MAX_BYTES >> 20);
		/* The line's end is not the row's: an error at the end of a
		 * cut row then names its column, not column 0 of a next line. */
		while (len > 0 && (s->line[skip + len - 1] == '\n' || s->line[skip + len - 1] == '\r'))
			len--;
		raw->line = s->line_no;
		raw->jsonl = true;
		raw->len = (size_t)len;
		if (!(raw->path = pp_strdup(s->jsonl_path)) ||
		    !(raw->text = pp_strndup(s->line + skip, raw->len)))
			return PP_ENOMEM;
		return PP_OK;
	}
	if (ferror(s->jsonl)) {
		*got = true;
		failure(raw, s->jsonl_path, s->line_no, "read error: %s", strerror(errno));
		close_jsonl(s);
		return raw->error ? PP_OK : PP_ENOMEM;
	}
	/* A JSONL file with no row is a failure, as an empty JSON file is:
	 * a cut download imports nothing, and should not do so silently. */
	if (!s->rows) {
		*got = true;
		failure(raw, s->jsonl_path, 0, "no transcript in it: the file is empty or holds"
			" blank lines only");
		close_jsonl(s);
		return raw->error ? PP_OK : PP_ENOMEM;
	}
	close_jsonl(s);
	return PP_OK;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && !strcmp(s + n - k, suffix);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The entries of directory `path` (hidden ones aside) as full paths in
 * name order, pushed as a frame; *error set when it cannot be read. */
static int open_dir(struct pp_compat_src *s, const char *path, bool *error)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char **names = NULL, **more;
	size_t n = 0, cap = 0;
	int rc = PP_OK;

	*error = !d;
	if (!d)
		return PP_OK;
	while (!rc && (e = readdir(d))) {
		struct pp_buf p = PP_BUF_INIT;

		if (e->d_name[0] == '.')
			continue;
		if (!(more = pp_grow(names, &cap, n, 1, sizeof(*names)))) {
			rc = PP_ENOMEM;
			break;
		}
		names = more;
		rc = pp_buf_addf(&p, "%s/%s", path, e->d_name);
		if (!rc)
			names[n++] = pp_buf_detach(&p, NULL);
		pp_buf_release(&p);
	}
	closedir(d);
	if (!rc) {
		qsort(names, n, sizeof(*names), cmp_names);
		rc = push(s, names, n, false);
	}
	if (rc)
		free_names(names, n);
	return rc;
}

bool pp_compat_src_stream(const struct pp_compat_src *s)
{
	return s->jsonl && s->stream;
}

/* raw takes b's text as one JSON transcript of `path`, less a byte
 * order mark. */
static int whole_file(struct pp_buf *b, const char *path, struct pp_compat_raw *raw)
{
	size_t skip = bom_len(b->buf, b->len);

	memmove(b->buf, b->buf + skip, b->len - skip + 1);
	raw->len = b->len - skip;
	raw->text = pp_buf_detach(b, NULL);
	raw->path = pp_strdup(path);
	pp_buf_release(b);
	return raw->text && raw->path ? PP_OK : PP_ENOMEM;
}

/* A row of a JSONL file holds a whole object on its line; a JSON file
 * spread over lines does not, and begins with a line that only opens. */
static bool whole_row(const char *line, ssize_t len)
{
	const char *end = line + len;

	line += bom_len(line, (size_t)len);
	while (line < end && blank(line, 1))
		line++;
	while (end > line && blank(end - 1, 1))
		end--;
	return end - line >= 2 && *line == '{' && end[-1] == '}';
}

/*
 * A file named on the command line without .json or .jsonl in its name,
 * or "-", standard input (`zcat rows.jsonl.gz | peerpres import -`): its
 * first line tells JSONL (a whole object on it) from one JSON transcript.
 * A stream cannot be read twice, so that line is held for the reader.
 */
static int sniff(struct pp_compat_src *s, const char *path, struct pp_compat_raw *raw, bool *got)
{
	bool is_stdin = !strcmp(path, "-");
	const char *name = is_stdin ? "stdin" : path;
	struct pp_buf b = PP_BUF_INIT;
	struct stat st;
	char chunk[65536];
	long blanks = 0;
	ssize_t len = -1;
	size_t n, skip;
	int rc = PP_OK;

	*got = true;
	s->stream = is_stdin || stat(path, &st) || !S_ISREG(st.st_mode);
	if (!(s->jsonl = s->stream ? stream_open(s, is_stdin ? NULL : path)
					 : buffered(s, fopen(path, "rb"))))
		return failure(raw, path, 0, "cannot read: %s", strerror(errno));
	if (!(s->jsonl_path = pp_strdup(name)))
		return PP_ENOMEM;
	s->rows = 0;
	/* The first line with text; those before it are kept for a JSON
	 * transcript, and counted for a JSONL file's line numbers. */
	while (!rc && (len = getline(&s->line, &s->line_cap, s->jsonl)) >= 0) {
		skip = blanks ? 0 : bom_len(s->line, (size_t)len);
		if (!blank(s->line + skip, (size_t)len - skip))
			break;
		rc = pp_buf_add(&b, s->line, (size_t)len);
		blanks++;
	}
	if (rc)
		goto out;
	if (len >= 0 && whole_row(s->line, len)) {
		s->line_no = blanks;
		s->held = len;
		pp_buf_release(&b);
		*got = false;
		return PP_OK;
	}
	if (len < 0 && !ferror(s->jsonl)) {
		rc = failure(raw, name, 0, "no transcript in it: %s is empty or holds blank lines only",
			     is_stdin ? "the input" : "the file");
		goto out;
	}
	if (len >= 0)
		rc = pp_buf_add(&b, s->line, (size_t)len);
	while (!rc && (n = fread(chunk, 1, sizeof(chunk), s->jsonl)) > 0)
		rc = pp_buf_add(&b, chunk, n);
	if (!rc)
		rc = ferror(s->jsonl) ? failure(raw, name, 0, "read error: %s", strerror(errno))
				      : whole_file(&b, name, raw);
out:
	close_jsonl(s);
	pp_buf_release(&b);
	return rc;
}

/* One path of the walk: a directory opens a frame, a JSONL file is
 * opened for reading, a JSON file is read whole into raw (*got). */
static int visit(struct pp_compat_src *s, const char *path, bool top, struct pp_compat_raw *raw,
		 bool *got)
{
	struct pp_buf b = PP_BUF_INIT;
	struct stat st;
	bool err;
	int rc;

	*got = true;
	if (top && !strcmp(path, "-"))
		return sniff(s, path, raw, got);
	if (stat(path, &st))
		return failure(raw, path, 0, "cannot read: %s", strerror(errno));
	if (S_ISDIR(st.st_mode)) {
		*got = false;
		if ((rc = open_dir(s, path, &err)))
			return rc;
		if (!err && top) {
			s->top_files = 0;
			return (s->top_dir = pp_strdup(path)) ? PP_OK : PP_ENOMEM;
		}
		if (!err)
			return PP_OK;
		*got = true;
		return failure(raw, path, 0, "cannot read directory: %s", strerror(errno));
	}
	*got = false;
	/* Inside directories only *.json and *.jsonl count; a file named
	 * on the command line is read whatever its name. */
	if (!top && !ends_with(path, ".json") && !ends_with(path, ".jsonl") &&
	    !ends_with(path, ".ndjson"))
		return PP_OK;
	*got = true;
	s->top_files++;
	if (ends_with(path, ".jsonl") || ends_with(path, ".ndjson")) {
		s->stream = !S_ISREG(st.st_mode);
		if (!(s->jsonl = s->stream ? stream_open(s, path) : buffered(s, fopen(path, "rb"))))
			return failure(raw, path, 0, "cannot read: %s", strerror(errno));
		*got = false;
		s->line_no = 0;
		s->rows = 0;
		return (s->jsonl_path = pp_strdup(path)) ? PP_OK : PP_ENOMEM;
	}
	if (top && !ends_with(path, ".json"))
		return sniff(s, path, raw, got);
	if ((rc = pp_buf_read_file(&b, path))) {
		pp_buf_release(&b);
		return rc == PP_ENOMEM ? rc : failure(raw, path, 0, "bad JSON: %s", pp_strerror(rc));
	}
	return whole_file(&b, path, raw);
}

/* The walk of a directory named on the command line has ended: one
 * without a file of transcripts under it is reported (*got). */
static int end_top_dir(struct pp_compat_src *s, struct pp_compat_raw *raw, bool *got)
{
	int rc = PP_OK;

	if (!s->top_files) {
		*got = true;
		rc = failure(raw, s->top_dir, 0, "no transcript file in this directory or under it "
			     "(only *.json, *.jsonl and *.ndjson files are read)");
	}
	free(s->top_dir);
	s->top_dir = NULL;
	return rc;
}

int pp_compat_src_next(struct pp_compat_src *s, struct pp_compat_raw *raw, bool *end)
{
	bool got = false;
	int rc = PP_OK;

	memset(raw, 0, sizeof(*raw));
	*end = false;
	while (!rc && !got) {
		struct frame *f;

		if (s->jsonl) {
			rc = next_line(s, raw, &got);
			continue;
		}
		if (!s->depth) {
			*end = true;
			return PP_OK;
		}
		f = &s->stack[s->depth - 1];
		if (f->next == f->n) {
			free_frame(f);
			if (--s->depth == 1 && s->top_dir)
				rc = end_top_dir(s, raw, &got);
			continue;
		}
		/* The frame may move when visit pushes one: copy what is
		 * needed first. */
		{
			bool top = f->top;
			char *path = f->paths[f->next++];

			rc = visit(s, path, top, raw, &got);
		}
	}
	if (rc)
		pp_compat_raw_release(raw);
	return rc;
}

/* "line L, column C: why" from the JSON parser: the line. */
static long error_line(const char *err)
{
	char *end;
	long l;

	if (strncmp(err, "line ", 5))
		return 0;
	l = strtol(err + 5, &end, 10);
	return end != err + 5 ? l : 0;
}

static int fail(pp_compat_fn fn, void *arg, const char *path, long line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int fail(pp_compat_fn fn, void *arg, const char *path, long line, const char *fmt, ...)
{
	char msg[1200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return fn(arg, path, line, NULL, NULL, msg);
}

/* One value that should be a transcript or a dataset row. */
static int dispatch(const char *path, long line, const struct pp_json *v, pp_compat_fn fn,
		    void *arg)
{
	const struct pp_json *tj = pp_json_get(v, "transcript_json");
	struct pp_json *t = NULL;
	char err[512];
	int rc;

	if (!pp_json_is_object(v))
		return fail(fn, arg, path, line, "not a JSON object");
	if (pp_json_is_array(pp_json_get(v, "conversation")) ||
	    pp_json_is_array(pp_json_get(v, "full_conversation")))
		return fn(arg, path, line, v, NULL, NULL);
	if (pp_json_is_object(pp_json_get(v, "transcript")))
		return fn(arg, path, line, pp_json_get(v, "transcript"), v, NULL);
	if (!pp_json_is_string(tj))
		return fail(fn, arg, path, line, "no transcript (no conversation, transcript or "
			    "transcript_json)");
	err[0] = '\0';
	if (pp_json_parse(pp_json_str(tj), pp_json_len(tj), &t, err, sizeof(err)))
		return t ? PP_ENOMEM : fail(fn, arg, path, line, "transcript_json is not valid JSON: %s",
					    err);
	rc = fn(arg, path, line, t, v, NULL);
	pp_json_decref(t);
	return rc;
}

/* "line L, column C" (a JSON file) or "column C" (a JSONL row) of the
 * byte at off, columns counted in bytes from 1. */
static void where_at(const struct pp_compat_raw *raw, size_t off, char *out, size_t len)
{
	size_t line = 1, col = 1, i;

	for (i = 0; i < off; i++, col++) {
		if (raw->text[i] == '\n')
			line++, col = 0;
	}
	if (raw->jsonl)
		snprintf(out, len, "column %zu", col);
	else
		snprintf(out, len, "line %zu, column %zu", line, col);
}

/* A row that does not parse. jansson names a bad UTF-8 byte at the
 * character count before it, and says nothing of a row that is whole
 * but holds an integer beyond 64 bits: both are said plainly, not as a
 * truncated line. The integer is not read as a real: an id would lose
 * digits, and two rows could then share a key. */
static int fail_parse(const struct pp_compat_raw *raw, const char *err, pp_compat_fn fn,
		      void *arg)
{
	const char *col = strstr(err, "column");
	size_t off;
	char at[64];

	if (strstr(err, "unable to decode byte")) {
		off = pp_utf8_invalid_at(raw->text, raw->len);
		where_at(raw, off, at, sizeof(at));
		if (off < raw->len)
			return fail(fn, arg, raw->path, raw->jsonl ? raw->line : error_line(err),
				    "bad JSON: invalid UTF-8 at %s (byte 0x%02X)", at,
				    (unsigned char)raw->text[off]);
	}
	if (strstr(err, "too big integer") || strstr(err, "too big negative integer"))
		return fail(fn, arg, raw->path, raw->jsonl ? raw->line : error_line(err),
			    "bad JSON: %s (an integer beyond 64 bits; write it as a string)",
			    raw->jsonl && col ? col : err);
	if (!raw->jsonl)
		return fail(fn, arg, raw->path, error_line(err), "bad JSON: %s", err);
	return fail(fn, arg, raw->path, raw->line, "bad JSON (a truncated or broken line): %s",
		    col ? col : err);
}

int pp_compat_decode(const struct pp_compat_raw *raw, pp_compat_fn fn, void *arg)
{
	struct pp_json *v = NULL;
	char err[512];
	int rc;

	if (raw->error)
		return fn(arg, raw->path, raw->line, NULL, NULL, raw->error);
	err[0] = '\0';
	if (pp_json_parse(raw->text, raw->len, &v, err, sizeof(err)))
		return fail_parse(raw, err, fn, arg);
	rc = dispatch(raw->path, raw->line, v, fn, arg);
	pp_json_decref(v);
	return rc;
}

int pp_compat_read_path(const char *path, pp_compat_fn fn, void *arg)
{
	struct pp_compat_src *s = NULL;
	struct pp_compat_raw raw;
	bool end = false;
	int rc = pp_compat_src_new(&path, 1, &s);

	while (!rc) {
		rc = pp_compat_src_next(s, &raw, &end);
		if (rc || end)
			break;
		rc = pp_compat_decode(&raw, fn, arg);
		pp_compat_raw_release(&raw);
	}
	pp_compat_src_free(s);
	return rc;
}
