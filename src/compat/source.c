/*
 * source.c - where upstream transcripts come from: single JSON files,
 * JSONL datasets (one row per line, the transcript inline or as a
 * transcript_json string beside the dataset's columns) and directories
 * of them. A bad file or row is reported with its path and line through
 * the callback and the walk goes on: one broken row never hides the rest.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <peerpres/compat.h>
#include <peerpres/status.h>

#include "core/alloc.h"

struct walk {
	pp_compat_fn fn;
	void *arg;
};

static int fail(struct walk *w, const char *path, long line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(struct walk *w, const char *path, long line, const char *fmt, ...)
{
	char msg[1200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return w->fn(w->arg, path, line, NULL, NULL, msg);
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

/* One value that should be a transcript or a dataset row. */
static int dispatch(struct walk *w, const char *path, long line, const struct pp_json *v)
{
	const struct pp_json *tj = pp_json_get(v, "transcript_json");
	struct pp_json *t = NULL;
	char err[512];
	int rc;

	if (!pp_json_is_object(v))
		return fail(w, path, line, "not a JSON object");
	if (pp_json_is_array(pp_json_get(v, "conversation")) ||
	    pp_json_is_array(pp_json_get(v, "full_conversation")))
		return w->fn(w->arg, path, line, v, NULL, NULL);
	if (pp_json_is_object(pp_json_get(v, "transcript")))
		return w->fn(w->arg, path, line, pp_json_get(v, "transcript"), v, NULL);
	if (!pp_json_is_string(tj))
		return fail(w, path, line, "no transcript (no conversation, transcript or "
			    "transcript_json)");
	err[0] = '\0';
	if (pp_json_parse(pp_json_str(tj), strlen(pp_json_str(tj)), &t, err, sizeof(err)))
		return t ? PP_ENOMEM : fail(w, path, line, "transcript_json is not valid JSON: %s", err);
	rc = w->fn(w->arg, path, line, t, v, NULL);
	pp_json_decref(t);
	return rc;
}

static int read_json(struct walk *w, const char *path)
{
	struct pp_json *v = NULL;
	char err[512];
	int rc;

	err[0] = '\0';
	rc = pp_json_load_file(path, &v, err, sizeof(err));
	if (rc == PP_ENOMEM)
		return rc;
	if (rc)
		return fail(w, path, error_line(err), "bad JSON: %s", err[0] ? err : pp_strerror(rc));
	rc = dispatch(w, path, 0, v);
	pp_json_decref(v);
	return rc;
}

static bool blank(const char *s)
{
	for (; *s; s++)
		if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
			return false;
	return true;
}

static int read_jsonl(struct walk *w, const char *path)
{
	FILE *f = fopen(path, "r");
	char *line = NULL, err[512];
	size_t cap = 0;
	ssize_t len;
	long no = 0;
	int rc = PP_OK;

	if (!f)
		return fail(w, path, 0, "cannot read: %s", strerror(errno));
	while (!rc && (len = getline(&line, &cap, f)) >= 0) {
		struct pp_json *v = NULL;

		no++;
		if (blank(line))
			continue;
		err[0] = '\0';
		rc = pp_json_parse(line, (size_t)len, &v, err, sizeof(err));
		if (rc == PP_ENOMEM)
			break;
		if (rc) {
			const char *col = strstr(err, "column");

			rc = fail(w, path, no, "bad JSON (a truncated or broken line): %s", col ? col : err);
			continue;
		}
		rc = dispatch(w, path, no, v);
		pp_json_decref(v);
	}
	if (!rc && ferror(f))
		rc = fail(w, path, no, "read error: %s", strerror(errno));
	free(line);
	fclose(f);
	return rc;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && !strcmp(s + n - k, suffix);
}

static int read_file(struct walk *w, const char *path)
{
	if (ends_with(path, ".jsonl") || ends_with(path, ".ndjson"))
		return read_jsonl(w, path);
	return read_json(w, path);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int read_any(struct walk *w, const char *path, bool top);

static int read_dir(struct walk *w, const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0, i;
	int rc = PP_OK;

	if (!d)
		return fail(w, path, 0, "cannot read directory: %s", strerror(errno));
	while (!rc && (e = readdir(d))) {
		char **more;

		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			if (!(more = pp_realloc(names, cap * sizeof(*names)))) {
				rc = PP_ENOMEM;
				break;
			}
			names = more;
		}
		if (!(names[n] = pp_strdup(e->d_name)))
			rc = PP_ENOMEM;
		else
			n++;
	}
	closedir(d);
	if (!rc)
		qsort(names, n, sizeof(*names), cmp_names);
	for (i = 0; !rc && i < n; i++) {
		struct pp_buf p = PP_BUF_INIT;

		rc = pp_buf_addf(&p, "%s/%s", path, names[i]);
		if (!rc)
			rc = read_any(w, p.buf, false);
		pp_buf_release(&p);
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

/* Inside directories only *.json and *.jsonl count; a file named on the
 * command line is read whatever its name. */
static int read_any(struct walk *w, const char *path, bool top)
{
	struct stat st;

	if (stat(path, &st))
		return fail(w, path, 0, "cannot read: %s", strerror(errno));
	if (S_ISDIR(st.st_mode))
		return read_dir(w, path);
	if (!top && !ends_with(path, ".json") && !ends_with(path, ".jsonl") &&
	    !ends_with(path, ".ndjson"))
		return PP_OK;
	return read_file(w, path);
}

int pp_compat_read_path(const char *path, pp_compat_fn fn, void *arg)
{
	struct walk w = { fn, arg };

	return read_any(&w, path, true);
}
