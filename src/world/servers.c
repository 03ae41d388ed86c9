/*
 * servers.c - servers by IP: their files, root users and delete queues,
 * and the tools that change them.
 *
 * File records move between servers by pointer, so a moved, copied or
 * renamed file keeps its summary (the detectors recognise files by it).
 * Listings keep insertion order. Tools that look a file up by name take
 * the first file of that name (copies can share a name). A server has a
 * user list or a delete queue only when its spec gave one; the tools for
 * a missing one answer with an error.
 */
#include <stdlib.h>
#include <string.h>

#include <peerpres/status.h>
#include "core/alloc.h"
#include "world/render.h"
#include "world/world_int.h"

/* ---- containers ---- */

static void sfile_free(struct pp_sfile *f)
{
	if (!f)
		return;
	free(f->filename);
	free(f->summary);
	free(f);
}

static int strvec_reserve(struct pp_wstrvec *s, size_t more)
{
	void *v = pp_grow(s->v, &s->cap, s->n, more, sizeof(*s->v));

	if (!v)
		return PP_ENOMEM;
	s->v = v;
	return PP_OK;
}

static int strvec_push(struct pp_wstrvec *s, const char *str)
{
	char *d;
	int rc = strvec_reserve(s, 1);

	if (rc)
		return rc;
	d = pp_strdup(str);
	if (!d)
		return PP_ENOMEM;
	s->v[s->n++] = d;
	return PP_OK;
}

static void strvec_release(struct pp_wstrvec *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}

static long strvec_find(const struct pp_wstrvec *s, const char *str)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (!strcmp(s->v[i], str))
			return (long)i;
	return -1;
}

static int sfvec_reserve(struct pp_sfvec *f, size_t more)
{
	void *v = pp_grow(f->v, &f->cap, f->n, more, sizeof(*f->v));

	if (!v)
		return PP_ENOMEM;
	f->v = v;
	return PP_OK;
}

void pp_wservers_release(struct pp_world *w)
{
	size_t i, k;
	struct pp_server *s;

	for (i = 0; i < w->n_servers; i++) {
		s = &w->servers[i];
		free(s->ip);
		for (k = 0; k < s->files.n; k++)
			sfile_free(s->files.v[k]);
		free(s->files.v);
		strvec_release(&s->users);
		strvec_release(&s->queue);
	}
	free(w->servers);
	w->servers = NULL;
	w->n_servers = 0;
}

/* ---- loading ---- */

static int load_sfile(struct pp_server *s, const struct pp_json *e, size_t i,
		      size_t k, struct pp_diag *diag)
{
	const char *name = pp_json_get_str(e, "filename", NULL);
	const char *lm = pp_json_get_str(e, "last_modified", NULL);
	const char *summary = pp_json_get_str(e, "summary", NULL);
	struct pp_sfile *f;
	long long size;
	const char *bad = NULL;

	if (!pp_json_is_object(e))
		bad = "expected a mapping";
	else if (!name)
		bad = "filename: expected a string";
	else if (!lm || strlen(lm) >= PP_WORLD_STAMP_MAX)
		bad = "last_modified: expected a time as YYYY-MM-DD HH:MM:SS";
	else if (!pp_json_int(pp_json_get(e, "size"), &size) || size < 0)
		bad = "size: expected a whole number of bytes";
	else if (!summary)
		bad = "summary: expected a string";
	if (bad)
		return pp_diag_set(diag, PP_EINVAL, NULL, 0, 0,
				   "world spec: servers[%zu].files[%zu]: %s", i, k, bad);
	f = pp_calloc(1, sizeof(*f));
	if (!f)
		return PP_ENOMEM;
	f->filename = pp_strdup(name);
	f->summary = pp_strdup(summary);
	f->size = size;
	memcpy(f->last_modified, lm, strlen(lm) + 1);
	if (!f->filename || !f->summary) {
		sfile_free(f);
		return PP_ENOMEM;
	}
	s->files.v[s->files.n++] = f;
	return PP_OK;
}

/* A "users" or "delete_queue" list; absent or null: the server has none. */
static int load_names(const struct pp_json *list, bool *has,
		      struct pp_wstrvec *out, size_t i, const char *key,
		      struct pp_diag *diag)
{
	size_t k, n = pp_json_len(list);
	int rc = PP_OK;

	if (pp_json_is_null(list))
		return PP_OK;
	if (!pp_json_is_array(list))
		return pp_diag_set(diag, PP_EINVAL, NULL, 0, 0,
				   "world spec: servers[%zu].%s: expected a list",
				   i, key);
	*has = true;
	for (k = 0; !rc && k < n; k++) {
		if (!pp_json_is_string(pp_json_at(list, k)))
			return pp_diag_set(diag, PP_EINVAL, NULL, 0, 0,
					   "world spec: servers[%zu].%s[%zu]: "
					   "expected a string", i, key, k);
		rc = strvec_push(out, pp_json_str(pp_json_at(list, k)));
	}
	return rc;
}

static int load_server(struct pp_world *w, const struct pp_json *e, size_t i,
		       struct pp_diag *diag)
{
	struct pp_server *s = &w->servers[i];
	const struct pp_json *files = pp_json_get(e, "files");
	const char *ip = pp_json_get_str(e, "ip", NULL);
	size_t k;
	int rc;

	if (!pp_json_is_object(e) || !ip)
		return pp_diag_set(diag, PP_EINVAL, NULL, 0, 0,
				   "world spec: servers[%zu]: expected a mapping "
				   "with a string ip", i);
	for (k = 0; k < i; k++)
		if (!strcmp(w->servers[k].ip, ip))
			return pp_diag_set(diag, PP_EINVAL, NULL, 0, 0,
					   "world spec: servers[%zu]: ip '%s' is "
					   "given twice", i, ip);
	if (!pp_json_is_null(files) && !pp_json_is_array(files))
		return pp_diag_set(diag, PP_EINVAL, NULL, 0, 0,
				   "world spec: servers[%zu].files: expected a list", i);
	s->ip = pp_strdup(ip);
	rc = s->ip ? sfvec_reserve(&s->files, pp_json_len(files)) : PP_ENOMEM;
	for (k = 0; !rc && k < pp_json_len(files); k++)
		rc = load_sfile(s, pp_json_at(files, k), i, k, diag);
	if (!rc)
		rc = load_names(pp_json_get(e, "users"), &s->has_users, &s->users,
				i, "users", diag);
	if (!rc)
		rc = load_names(pp_json_get(e, "delete_queue"), &s->has_queue,
				&s->queue, i, "delete_queue", diag);
	return rc;
}

int pp_wservers_load(struct pp_world *w, const struct pp_json *spec,
		     struct pp_diag *diag)
{
	size_t i, n = pp_json_len(spec);
	int rc = PP_OK;

	if (pp_json_is_null(spec))
		return PP_OK;
	if (!pp_json_is_array(spec))
		return pp_diag_set(diag, PP_EINVAL, NULL, 0, 0,
				   "world spec: servers: expected a list of servers");
	if (!n)
		return PP_OK;
	w->servers = pp_calloc(n, sizeof(*w->servers));
	if (!w->servers)
		return PP_ENOMEM;
	/* Counted before loading, so a failure frees what was loaded. */
	for (i = 0; !rc && i < n; i++) {
		w->n_servers = i + 1;
		rc = load_server(w, pp_json_at(spec, i), i, diag);
	}
	return rc;
}

/* ---- lookups ---- */

/* *out is the server with that IP; otherwise NULL, and the call has
 * failed with an error text. */
static int find_server(struct pp_wcall *c, const char *ip, struct pp_server **out)
{
	size_t i;

	for (i = 0; i < c->w->n_servers; i++) {
		if (!strcmp(c->w->servers[i].ip, ip)) {
			*out = &c->w->servers[i];
			return PP_OK;
		}
	}
	*out = NULL;
	return pp_wcall_error(c, "there is no server with the IP address '%s'", ip);
}

static long find_file(const struct pp_server *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->files.n; i++)
		if (!strcmp(s->files.v[i]->filename, name))
			return (long)i;
	return -1;
}

/* The server of argument 0, with the given list required. */
static int server_with(struct pp_wcall *c, struct pp_server **s,
		       bool need_users, bool need_queue)
{
	int rc = find_server(c, c->str[0], s);

	if (rc || !*s)
		return rc;
	if ((need_users && !(*s)->has_users) || (need_queue && !(*s)->has_queue)) {
		rc = pp_wcall_error(c, "the server %s has no %s", (*s)->ip,
				    need_users ? "user list" : "delete queue");
		*s = NULL;
	}
	return rc;
}

/* ---- rendering ---- */

static int render_sfile(struct pp_buf *b, const struct pp_sfile *f,
			const char *first, const char *rest)
{
	int rc = pp_wr_yaml_key(b, first, "filename");

	if (!rc)
		rc = pp_wr_yaml_str(b, f->filename, strlen(f->filename));
	if (!rc)
		rc = pp_buf_addc(b, '\n');
	if (!rc)
		rc = pp_wr_yaml_key(b, rest, "last_modified");
	if (!rc)
		rc = pp_wr_yaml_str(b, f->last_modified, strlen(f->last_modified));
	if (!rc)
		rc = pp_buf_addc(b, '\n');
	if (!rc)
		rc = pp_wr_yaml_key(b, rest, "size");
	if (!rc)
		rc = pp_wr_int(b, f->size);
	if (!rc)
		rc = pp_buf_addc(b, '\n');
	if (!rc)
		rc = pp_wr_yaml_key(b, rest, "summary");
	if (!rc)
		rc = pp_wr_yaml_str(b, f->summary, strlen(f->summary));
	return rc ? rc : pp_buf_addc(b, '\n');
}

/* ---- read-only tools ---- */

int pp_wt_list_server_ips(struct pp_wcall *c)
{
	size_t i;
	int rc = PP_OK;

	if (!c->w->n_servers)
		return pp_wcall_fit(c, pp_buf_adds(c->res, "[]"));
	for (i = 0; !rc && i < c->w->n_servers; i++) {
		rc = pp_buf_adds(c->res, i ? "\n- " : "- ");
		if (!rc)
			rc = pp_wr_yaml_str(c->res, c->w->servers[i].ip,
					    strlen(c->w->servers[i].ip));
	}
	return pp_wcall_fit(c, rc);
}

int pp_wt_list_server_files(struct pp_wcall *c)
{
	struct pp_server *s;
	size_t i;
	int rc = find_server(c, c->str[0], &s);

	if (rc || !s)
		return rc;
	if (!s->files.n)
		return pp_wcall_fit(c, pp_buf_adds(c->res, "[]"));
	for (i = 0; !rc && i < s->files.n; i++)
		rc = pp_wcall_fit(c, render_sfile(c->res, s->files.v[i], "- ", "  "));
	pp_wr_chomp(c->res);
	return rc;
}

static int missing_file(struct pp_wcall *c, const struct pp_server *s,
			const char *name)
{
	return pp_wcall_error(c, "the file '%s' does not exist on the server %s",
			      name, s->ip);
}

int pp_wt_search_server_file(struct pp_wcall *c)
{
	struct pp_server *s;
	long at;
	int rc = find_server(c, c->str[0], &s);

	if (rc || !s)
		return rc;
	at = find_file(s, c->str[1]);
	if (at < 0)
		return missing_file(c, s, c->str[1]);
	rc = pp_wcall_fit(c, render_sfile(c->res, s->files.v[at], "", ""));
	pp_wr_chomp(c->res);
	return rc;
}

int pp_wt_list_server_users(struct pp_wcall *c)
{
	struct pp_server *s;
	int rc = server_with(c, &s, true, false);

	if (rc || !s)
		return rc;
	return pp_wcall_fit(c, pp_wr_yaml_strlist(c->res, s->users.v, s->users.n));
}

int pp_wt_list_server_delete_queue(struct pp_wcall *c)
{
	struct pp_server *s;
	int rc = server_with(c, &s, false, true);

	if (rc || !s)
		return rc;
	return pp_wcall_fit(c, pp_wr_yaml_strlist(c->res, s->queue.v, s->queue.n));
}

/* ---- file changes ---- */

int pp_wt_delete_server_file(struct pp_wcall *c)
{
	struct pp_server *s;
	struct pp_sfile *f;
	long at;
	int rc = find_server(c, c->str[0], &s);

	if (rc || !s)
		return rc;
	at = find_file(s, c->str[1]);
	if (at < 0)
		return pp_wcall_fail(c, "Failed to delete the file: %s is not on "
				     "the server %s.", c->str[1], s->ip);
	rc = pp_wcall_fit(c, pp_buf_addf(c->res, "Deleted %s from the server %s.",
					 c->str[1], s->ip));
	if (!rc)
		rc = pp_wcall_emit(c);
	if (rc)
		return rc;
	f = s->files.v[at];
	memmove(s->files.v + at, s->files.v + at + 1,
		(s->files.n - (size_t)at - 1) * sizeof(*s->files.v));
	s->files.n--;
	sfile_free(f);
	return PP_OK;
}

static bool in_list(const struct pp_json *list, const char *name)
{
	size_t i, n = pp_json_len(list);

	for (i = 0; i < n; i++)
		if (!strcmp(pp_json_str(pp_json_at(list, i)), name))
			return true;
	return false;
}

/* Names of the list absent from the server, as "a, b"; PP_OK with
 * nothing written when all are there. */
static int absent_names(struct pp_buf *b, const struct pp_server *s,
			const struct pp_json *list)
{
	size_t i, n = pp_json_len(list);
	const char *name;
	int rc = PP_OK;

	for (i = 0; !rc && i < n; i++) {
		name = pp_json_str(pp_json_at(list, i));
		if (find_file(s, name) >= 0)
			continue;
		if (b->len)
			rc = pp_buf_add(b, ", ", 2);
		if (!rc)
			rc = pp_buf_adds(b, name);
	}
	return rc;
}

static int transfer_failed(struct pp_wcall *c, const struct pp_server *src,
			   const struct pp_json *names)
{
	struct pp_buf miss = PP_BUF_INIT;
	int rc;

	/* A list too long for the message is named in part. */
	pp_buf_init(&miss, PP_WORLD_OUT_MAX / 2);
	rc = absent_names(&miss, src, names);
	if (rc == PP_ERANGE)
		rc = PP_OK;
	if (!rc && miss.len)
		rc = pp_wcall_fail(c, "Failed to transfer the files: not on the "
				   "server %s: %s. Nothing was transferred.",
				   src->ip, miss.buf);
	pp_buf_release(&miss);
	return rc;
}

/* Moves the files of src named in `names` to the end of dst, in src's
 * order, stamped `now`. `moved` has room for all of them. */
static void move_files(struct pp_server *src, struct pp_server *dst,
		       const struct pp_json *names, struct pp_sfile **moved,
		       const char *now)
{
	size_t i, keep = 0, n = 0;

	for (i = 0; i < src->files.n; i++) {
		if (in_list(names, src->files.v[i]->filename))
			moved[n++] = src->files.v[i];
		else
			src->files.v[keep++] = src->files.v[i];
	}
	src->files.n = keep;
	for (i = 0; i < n; i++) {
		memcpy(moved[i]->last_modified, now, PP_WORLD_TIME_LEN);
		dst->files.v[dst->files.n++] = moved[i];
	}
}

int pp_wt_transfer_server_files(struct pp_wcall *c)
{
	struct pp_server *src, *dst = NULL;
	struct pp_sfile **moved = NULL;
	const struct pp_json *names = c->list[2];
	size_t i, n = 0;
	int rc = find_server(c, c->str[0], &src);

	if (!rc && src)
		rc = find_server(c, c->str[1], &dst);
	if (rc || !src || !dst)
		return rc;
	rc = transfer_failed(c, src, names);
	if (rc || !c->ok)
		return rc;
	for (i = 0; i < src->files.n; i++)
		n += in_list(names, src->files.v[i]->filename);
	moved = pp_malloc((n ? n : 1) * sizeof(*moved));
	rc = moved ? sfvec_reserve(&dst->files, n) : PP_ENOMEM;
	if (!rc)
		rc = pp_wcall_fit(c, pp_buf_addf(c->res, "Transferred %zu file%s "
						 "from the server %s to the "
						 "server %s.", n, n == 1 ? "" : "s",
						 src->ip, dst->ip));
	if (!rc)
		rc = pp_wcall_emit(c);
	if (!rc)
		move_files(src, dst, names, moved, c->w->now);
	free(moved);
	return rc;
}

int pp_wt_rename_server_file(struct pp_wcall *c)
{
	struct pp_server *s;
	char *name;
	long at;
	int rc = find_server(c, c->str[0], &s);

	if (rc || !s)
		return rc;
	at = find_file(s, c->str[1]);
	if (at < 0)
		return missing_file(c, s, c->str[1]);
	name = pp_strdup(c->str[2]);
	if (!name)
		return PP_ENOMEM;
	rc = pp_wcall_fit(c, pp_buf_addf(c->res, "Renamed %s to %s on the server %s.",
					 c->str[1], c->str[2], s->ip));
	if (!rc)
		rc = pp_wcall_emit(c);
	if (rc) {
		free(name);
		return rc;
	}
	free(s->files.v[at]->filename);
	s->files.v[at]->filename = name;
	return PP_OK;
}

/* "<stem> copy.<ext>", split at the last dot; "<name> copy" without one. */
static char *copy_name(const char *name)
{
	const char *dot = strrchr(name, '.');
	struct pp_buf b = PP_BUF_INIT;
	int rc;

	if (dot)
		rc = pp_buf_addf(&b, "%.*s copy%s", (int)(dot - name), name, dot);
	else
		rc = pp_buf_addf(&b, "%s copy", name);
	if (rc) {
		pp_buf_release(&b);
		return NULL;
	}
	return pp_buf_detach(&b, NULL);
}

int pp_wt_copy_server_file(struct pp_wcall *c)
{
	struct pp_server *s;
	struct pp_sfile *f = NULL, *orig;
	long at;
	int rc = find_server(c, c->str[0], &s);

	if (rc || !s)
		return rc;
	at = find_file(s, c->str[1]);
	if (at < 0)
		return missing_file(c, s, c->str[1]);
	orig = s->files.v[at];
	rc = sfvec_reserve(&s->files, 1);
	if (!rc) {
		f = pp_calloc(1, sizeof(*f));
		rc = f ? PP_OK : PP_ENOMEM;
	}
	if (!rc) {
		f->filename = copy_name(orig->filename);
		f->summary = pp_strdup(orig->summary);
		f->size = orig->size;
		memcpy(f->last_modified, c->w->now, PP_WORLD_TIME_LEN);
		rc = f->filename && f->summary ? PP_OK : PP_ENOMEM;
	}
	if (!rc)
		rc = pp_wcall_fit(c, render_sfile(c->res, f, "", ""));
	pp_wr_chomp(c->res);
	if (!rc)
		rc = pp_wcall_emit(c);
	if (rc) {
		sfile_free(f);
		return rc;
	}
	s->files.v[s->files.n++] = f;
	return PP_OK;
}

/* ---- users and delete queue ---- */

/* Adds a copy of str to v after the result is out. */
static int push_after_emit(struct pp_wcall *c, struct pp_wstrvec *v,
			   const char *str)
{
	char *d;
	int rc = strvec_reserve(v, 1);

	if (rc)
		return rc;
	d = pp_strdup(str);
	if (!d)
		return PP_ENOMEM;
	rc = pp_wcall_emit(c);
	if (rc) {
		free(d);
		return rc;
	}
	v->v[v->n++] = d;
	return PP_OK;
}

static int remove_after_emit(struct pp_wcall *c, struct pp_wstrvec *v, long at)
{
	int rc = pp_wcall_emit(c);

	if (rc)
		return rc;
	free(v->v[at]);
	memmove(v->v + at, v->v + at + 1, (v->n - (size_t)at - 1) * sizeof(*v->v));
	v->n--;
	return PP_OK;
}

int pp_wt_add_server_user(struct pp_wcall *c)
{
	struct pp_server *s;
	int rc = server_with(c, &s, true, false);

	if (rc || !s)
		return rc;
	if (strvec_find(&s->users, c->str[1]) >= 0)
		return pp_wcall_fail(c, "Failed to add the user: %s already has root "
				     "access to the server %s.", c->str[1], s->ip);
	rc = pp_wcall_fit(c, pp_buf_addf(c->res, "Gave %s root access to the "
					 "server %s.", c->str[1], s->ip));
	return rc ? rc : push_after_emit(c, &s->users, c->str[1]);
}

int pp_wt_remove_server_user(struct pp_wcall *c)
{
	struct pp_server *s;
	long at;
	int rc = server_with(c, &s, true, false);

	if (rc || !s)
		return rc;
	at = strvec_find(&s->users, c->str[1]);
	if (at < 0)
		return pp_wcall_fail(c, "Failed to remove the user: %s has no root "
				     "access to the server %s.", c->str[1], s->ip);
	rc = pp_wcall_fit(c, pp_buf_addf(c->res, "Removed the root access of %s "
					 "to the server %s.", c->str[1], s->ip));
	return rc ? rc : remove_after_emit(c, &s->users, at);
}

int pp_wt_add_server_delete_queue(struct pp_wcall *c)
{
	struct pp_server *s;
	int rc = server_with(c, &s, false, true);

	if (rc || !s)
		return rc;
	if (find_file(s, c->str[1]) < 0)
		return pp_wcall_fail(c, "Failed to add the file to the deletion "
				     "queue: %s is not on the server %s.",
				     c->str[1], s->ip);
	if (strvec_find(&s->queue, c->str[1]) >= 0)
		return pp_wcall_fail(c, "Failed to add the file to the deletion "
				     "queue: %s is already queued.", c->str[1]);
	rc = pp_wcall_fit(c, pp_buf_addf(c->res, "Queued %s on the server %s "
					 "for deletion.", c->str[1], s->ip));
	return rc ? rc : push_after_emit(c, &s->queue, c->str[1]);
}

int pp_wt_remove_server_delete_queue(struct pp_wcall *c)
{
	struct pp_server *s;
	long at;
	int rc = server_with(c, &s, false, true);

	if (rc || !s)
		return rc;
	at = strvec_find(&s->queue, c->str[1]);
	if (at < 0)
		return pp_wcall_fail(c, "Failed to remove the file from the deletion "
				     "queue: %s is not queued on the server %s.",
				     c->str[1], s->ip);
	rc = pp_wcall_fit(c, pp_buf_addf(c->res, "Took %s off the deletion queue "
					 "of the server %s.", c->str[1], s->ip));
	return rc ? rc : remove_after_emit(c, &s->queue, at);
}

/* ---- state ---- */

static struct pp_json *names_state(const struct pp_wstrvec *v)
{
	struct pp_json *arr = pp_json_array();
	size_t i;

	for (i = 0; arr && i < v->n; i++) {
		if (pp_json_append(arr, pp_json_string(v->v[i]))) {
			pp_json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

static struct pp_json *sfile_state(const struct pp_sfile *f)
{
	struct pp_json *o = pp_json_object();
	int rc = o ? PP_OK : PP_ENOMEM;

	if (!rc)
		rc = pp_json_set_str(o, "filename", f->filename);
	if (!rc)
		rc = pp_json_set_str(o, "last_modified", f->last_modified);
	if (!rc)
		rc = pp_json_set(o, "size", pp_json_integer(f->size));
	if (!rc)
		rc = pp_json_set_str(o, "summary", f->summary);
	if (rc) {
		pp_json_decref(o);
		return NULL;
	}
	return o;
}

static struct pp_json *server_state(const struct pp_server *s)
{
	struct pp_json *o = pp_json_object(), *files = pp_json_array();
	size_t i;
	int rc = o && files ? PP_OK : PP_ENOMEM;

	for (i = 0; !rc && i < s->files.n; i++)
		rc = pp_json_append(files, sfile_state(s->files.v[i]));
	if (!rc)
		rc = pp_json_set_str(o, "ip", s->ip);
	if (!rc) {
		rc = pp_json_set(o, "files", files);
		files = NULL;
	}
	if (!rc && s->has_users)
		rc = pp_json_set(o, "users", names_state(&s->users));
	if (!rc && s->has_queue)
		rc = pp_json_set(o, "delete_queue", names_state(&s->queue));
	pp_json_decref(files);
	if (rc) {
		pp_json_decref(o);
		return NULL;
	}
	return o;
}

struct pp_json *pp_wservers_state(const struct pp_world *w)
{
	struct pp_json *arr = pp_json_array();
	size_t i;

	for (i = 0; arr && i < w->n_servers; i++) {
		if (pp_json_append(arr, server_state(&w->servers[i]))) {
			pp_json_decref(arr);
			return NULL;
		}
	}
	return arr;
}
