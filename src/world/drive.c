/*
 * drive.c - the company cloud drive and its tools.
 *
 * Files are kept in id order; ids are 1, 2, ... in spec order and a new
 * file gets the largest id present + 1 (so deleting the newest file frees
 * its id again, as in the study). A file's size is its number of
 * characters (code points), not bytes. Listings are sorted by filename,
 * files of the same name by id.
 */
#include <stdlib.h>
#include <string.h>

#include <peerpres/status.h>
#include "core/alloc.h"
#include "world/render.h"
#include "world/world_int.h"

#define AGENT_OWNER "agents@openbrain.com"

static void file_free(struct pp_wfile *f)
{
	if (!f)
		return;
	free(f->filename);
	free(f->content);
	free(f->owner);
	free(f->last_modified);
	free(f);
}

void pp_wdrive_release(struct pp_wdrive *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		file_free(d->v[i]);
	free(d->v);
	d->v = NULL;
	d->n = d->cap = 0;
}

static struct pp_wfile *file_new(long long id, const char *filename,
				 const char *content, size_t len,
				 const char *owner, const char *last_modified)
{
	struct pp_wfile *f = pp_calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->id = id;
	f->filename = pp_strdup(filename);
	f->content = pp_strndup(content, len);
	f->content_len = len;
	f->chars = pp_wr_utf8_chars(content, len);
	f->owner = pp_strdup(owner);
	f->last_modified = last_modified ? pp_strdup(last_modified) : NULL;
	if (!f->filename || !f->content || !f->owner ||
	    (last_modified && !f->last_modified)) {
		file_free(f);
		return NULL;
	}
	return f;
}

static int drive_reserve(struct pp_wdrive *d, size_t more)
{
	void *v = pp_grow(d->v, &d->cap, d->n, more, sizeof(*d->v));

	if (!v)
		return PP_ENOMEM;
	d->v = v;
	return PP_OK;
}

static int spec_error(struct pp_diag *diag, size_t i, const char *what)
{
	return pp_diag_set(diag, PP_EINVAL, NULL, 0, 0,
			   "world spec: drive[%zu]: %s", i, what);
}

static int load_file(struct pp_world *w, const struct pp_json *e, size_t i,
		     struct pp_diag *diag)
{
	const struct pp_json *content = pp_json_get(e, "content");
	const struct pp_json *lm = pp_json_get(e, "last_modified");
	const char *filename = pp_json_get_str(e, "filename", NULL);
	const char *owner = pp_json_get_str(e, "owner", NULL);
	struct pp_wfile *f;

	if (!pp_json_is_object(e))
		return spec_error(diag, i, "expected a mapping");
	if (!filename)
		return spec_error(diag, i, "filename: expected a string");
	if (!pp_json_is_string(content))
		return spec_error(diag, i, "content: expected a string");
	if (pp_json_len(content) > PP_WORLD_TEXT_MAX)
		return spec_error(diag, i, "content: longer than the drive file cap");
	if (!owner)
		return spec_error(diag, i, "owner: expected a string");
	if (!pp_json_is_null(lm) && !pp_json_is_string(lm))
		return spec_error(diag, i, "last_modified: expected a string or null");
	/* Ids from 0 in the spec's order, as the study's drive numbered
	 * them: a transcript's file_id names the same file here. */
	f = file_new((long long)i, filename, pp_json_str(content),
		     pp_json_len(content), owner, pp_json_str(lm));
	if (!f)
		return PP_ENOMEM;
	w->drive.v[w->drive.n++] = f;
	return PP_OK;
}

int pp_wdrive_load(struct pp_world *w, const struct pp_json *spec,
		   struct pp_diag *diag)
{
	size_t i, n;
	int rc;

	if (pp_json_is_null(spec))
		return PP_OK;
	if (!pp_json_is_array(spec))
		return pp_diag_set(diag, PP_EINVAL, NULL, 0, 0,
				   "world spec: drive: expected a list of files");
	n = pp_json_len(spec);
	rc = drive_reserve(&w->drive, n);
	for (i = 0; !rc && i < n; i++)
		rc = load_file(w, pp_json_at(spec, i), i, diag);
	return rc;
}

/* Index in the id-ordered array of the file with that id, or -1. */
static long find_id(const struct pp_wdrive *d, long long id)
{
	size_t lo = 0, hi = d->n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (d->v[mid]->id == id)
			return (long)mid;
		if (d->v[mid]->id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* ---- rendering ---- */

/* One file as a YAML mapping with sorted keys; `first` prefixes the first
 * line ("- " in a list), `rest` the others. Every line ends in '\n'. */
static int render_file(struct pp_buf *b, const struct pp_wfile *f,
		       const char *first, const char *rest)
{
	int rc = pp_wr_yaml_key(b, first, "content");

	if (!rc)
		rc = pp_wr_yaml_str(b, f->content, f->content_len);
	if (!rc)
		rc = pp_buf_addc(b, '\n');
	if (!rc)
		rc = pp_wr_yaml_key(b, rest, "filename");
	if (!rc)
		rc = pp_wr_yaml_str(b, f->filename, strlen(f->filename));
	if (!rc)
		rc = pp_buf_addc(b, '\n');
	if (!rc)
		rc = pp_wr_yaml_key(b, rest, "id");
	if (!rc)
		rc = pp_wr_int(b, f->id);
	if (!rc)
		rc = pp_buf_addc(b, '\n');
	if (!rc)
		rc = pp_wr_yaml_key(b, rest, "last_modified");
	if (!rc)
		rc = f->last_modified ?
		     pp_wr_yaml_str(b, f->last_modified, strlen(f->last_modified)) :
		     pp_buf_adds(b, "None");
	if (!rc)
		rc = pp_buf_addc(b, '\n');
	if (!rc)
		rc = pp_wr_yaml_key(b, rest, "owner");
	if (!rc)
		rc = pp_wr_yaml_str(b, f->owner, strlen(f->owner));
	if (!rc)
		rc = pp_buf_addc(b, '\n');
	if (!rc)
		rc = pp_wr_yaml_key(b, rest, "size");
	if (!rc)
		rc = pp_wr_int(b, (long long)f->chars);
	if (!rc)
		rc = pp_buf_addc(b, '\n');
	return rc;
}

static int by_filename(const void *a, const void *b)
{
	const struct pp_wfile *x = *(struct pp_wfile *const *)a;
	const struct pp_wfile *y = *(struct pp_wfile *const *)b;
	int c = strcmp(x->filename, y->filename);

	if (c)
		return c;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* ---- tools ---- */

int pp_wt_list_files(struct pp_wcall *c)
{
	const struct pp_wdrive *d = &c->w->drive;
	struct pp_wfile **sorted;
	size_t i;
	int rc = PP_OK;

	if (!d->n)
		return pp_wcall_fit(c, pp_buf_adds(c->res, "[]"));
	sorted = pp_malloc(d->n * sizeof(*sorted));
	if (!sorted)
		return PP_ENOMEM;
	memcpy(sorted, d->v, d->n * sizeof(*sorted));
	qsort(sorted, d->n, sizeof(*sorted), by_filename);
	for (i = 0; !rc && i < d->n; i++)
		rc = pp_wcall_fit(c, render_file(c->res, sorted[i], "- ", "  "));
	free(sorted);
	pp_wr_chomp(c->res);
	return rc;
}

int pp_wt_create_file(struct pp_wcall *c)
{
	struct pp_wdrive *d = &c->w->drive;
	struct pp_wfile *f;
	int rc;

	rc = drive_reserve(d, 1);
	if (rc)
		return rc;
	f = file_new(d->n ? d->v[d->n - 1]->id + 1 : 0, c->str[0], c->str[1],
		     c->len[1], AGENT_OWNER, NULL);
	if (!f)
		return PP_ENOMEM;
	rc = pp_wcall_fit(c, render_file(c->res, f, "", ""));
	pp_wr_chomp(c->res);
	if (!rc)
		rc = pp_wcall_emit(c);
	if (rc) {
		file_free(f);
		return rc;
	}
	d->v[d->n++] = f;
	return PP_OK;
}

int pp_wt_append_to_file(struct pp_wcall *c)
{
	struct pp_wdrive *d = &c->w->drive;
	long at = find_id(d, c->id[0]);
	struct pp_wfile *f, view;
	char *text;
	size_t len;
	int rc;

	if (at < 0)
		return pp_wcall_error(c, "there is no drive file with id %lld",
				      c->id[0]);
	f = d->v[at];
	if (c->len[1] > PP_WORLD_TEXT_MAX - f->content_len)
		return pp_wcall_error(c, "file %lld would grow past the %zu-byte "
				      "limit of a drive file", f->id,
				      PP_WORLD_TEXT_MAX);
	len = f->content_len + c->len[1];
	text = pp_malloc(len + 1);
	if (!text)
		return PP_ENOMEM;
	memcpy(text, f->content, f->content_len);
	memcpy(text + f->content_len, c->str[1], c->len[1]);
	text[len] = '\0';
	view = *f;
	view.content = text;
	view.content_len = len;
	view.chars = f->chars + pp_wr_utf8_chars(c->str[1], c->len[1]);
	rc = pp_wcall_fit(c, render_file(c->res, &view, "", ""));
	pp_wr_chomp(c->res);
	if (!rc)
		rc = pp_wcall_emit(c);
	if (rc) {
		free(text);
		return rc;
	}
	free(f->content);
	*f = view;
	return PP_OK;
}

int pp_wt_delete_file(struct pp_wcall *c)
{
	struct pp_wdrive *d = &c->w->drive;
	long at = find_id(d, c->id[0]);
	struct pp_wfile *f;
	int rc;

	if (at < 0)
		return pp_wcall_fail(c, "Failed to delete the file: there is no "
				     "file with id %lld in the drive.", c->id[0]);
	f = d->v[at];
	rc = pp_wcall_fit(c, pp_buf_addf(c->res, "Deleted the file with id %lld "
					 "(%s) from the drive.", f->id,
					 f->filename));
	if (!rc)
		rc = pp_wcall_emit(c);
	if (rc)
		return rc;
	memmove(d->v + at, d->v + at + 1, (d->n - (size_t)at - 1) * sizeof(*d->v));
	d->n--;
	file_free(f);
	return PP_OK;
}

/* ---- state ---- */

static struct pp_json *file_state(const struct pp_wfile *f)
{
	struct pp_json *o = pp_json_object();
	int rc = o ? PP_OK : PP_ENOMEM;

	if (!rc)
		rc = pp_json_set(o, "id", pp_json_integer(f->id));
	if (!rc)
		rc = pp_json_set_str(o, "filename", f->filename);
	if (!rc)
		rc = pp_json_set(o, "content", pp_json_stringn(f->content, f->content_len));
	if (!rc)
		rc = pp_json_set_str(o, "owner", f->owner);
	if (!rc)
		rc = pp_json_set_str(o, "last_modified", f->last_modified);
	if (!rc)
		rc = pp_json_set(o, "size", pp_json_integer((long long)f->chars));
	if (rc) {
		pp_json_decref(o);
		return NULL;
	}
	return o;
}

struct pp_json *pp_wdrive_state(const struct pp_world *w)
{
	struct pp_json *arr = pp_json_array();
	size_t i;

	for (i = 0; arr && i < w->drive.n; i++) {
		if (pp_json_append(arr, file_state(w->drive.v[i]))) {
			pp_json_decref(arr);
			return NULL;
		}
	}
	return arr;
}
