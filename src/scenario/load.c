/*
 * load.c - reading a scenario file and the files it includes, and
 * checking its shape (docs/scenario-format.md).
 *
 * Includes are merged per top-level key: the including file wins, except
 * `vars` and `documents`, which are merged key by key. Nodes are shared,
 * not copied, so every node keeps its position in its own file's source
 * map and errors found later (a template variable that does not exist)
 * still point at the line that used it.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <peerpres/hash.h>
#include <peerpres/labels.h>
#include <peerpres/status.h>
#include <peerpres/world.h>

#include "core/alloc.h"
#include "scenario/scenario_int.h"

#define PP_INCLUDE_DEPTH 8

const char *const pp_dim_names[PP_N_DIMS] = {
	"subject", "condition", "instantiation", "dataset", "threshold", "mode", "scratchpad"
};

static const char *const top_keys[] = {
	"scenario", "description", "include", "vars", "system_prompt", "user_message",
	"nudge_message", "token_limit_message", "tools", "world", "documents", "axes",
	"grid", "extensions", "patterns", "extract", "labels", "required_labels",
	"routes", "synthetic", "names", NULL
};
static const char *const patch_keys[] = {
	"base", "set", "add_drive", "remove_drive", "add_sheets", "add_tools",
	"remove_tools", "memory", NULL
};
/* `tools` is not here: the world offers the top-level `tools`. */
static const char *const world_keys[] = {
	"clock", "drive", "sheets", "configs", "servers", "memory", NULL
};
static const char *const block_keys[] = {
	"cells", "dataset", "subject", "condition", "instantiation", "mode", "scratchpad", NULL
};
static const char *const agents[] = {
	"compliant", "preserver", "refuser", "faker", "probe", NULL
};

static bool in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (!strcmp(*list, s))
			return true;
	return false;
}

/* pp_dim_names has PP_N_DIMS entries and no NULL end, so not in_list. */
static bool is_dim(const char *s)
{
	size_t i;

	for (i = 0; i < PP_N_DIMS; i++)
		if (!strcmp(pp_dim_names[i], s))
			return true;
	return false;
}

/* Where node, or the key holding it, is: the first map that knows it. */
static void find_pos(const struct pp_scenario *s, const struct pp_json *node, bool key,
		     const char **file, int *line, int *col)
{
	size_t i;

	*file = s->path;
	*line = *col = 0;
	for (i = 0; i < s->n_maps; i++)
		if (key ? pp_srcmap_find_key(s->maps[i], node, line, col) :
		    pp_srcmap_find(s->maps[i], node, line, col)) {
			*file = pp_srcmap_file(s->maps[i]);
			return;
		}
	if (key)
		find_pos(s, node, false, file, line, col);
}

void pp_scenario_pos(const struct pp_scenario *s, const struct pp_json *node,
		     const char **file, int *line, int *col)
{
	find_pos(s, node, false, file, line, col);
}

static int verr(const struct pp_scenario *s, struct pp_diag *diag, int rc,
		const struct pp_json *node, bool key, const char *fmt, va_list ap)
	__attribute__((format(printf, 6, 0)));

static int verr(const struct pp_scenario *s, struct pp_diag *diag, int rc,
		const struct pp_json *node, bool key, const char *fmt, va_list ap)
{
	char msg[900];
	const char *file;
	int line, col;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	find_pos(s, node, key, &file, &line, &col);
	return pp_diag_set(diag, rc, file, line, col, "%s", msg);
}

int pp_scenario_err(const struct pp_scenario *s, struct pp_diag *diag, int rc,
		    const struct pp_json *node, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rc = verr(s, diag, rc, node, false, fmt, ap);
	va_end(ap);
	return rc;
}

int pp_scenario_key_err(const struct pp_scenario *s, struct pp_diag *diag, int rc,
			const struct pp_json *value, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rc = verr(s, diag, rc, value, true, fmt, ap);
	va_end(ap);
	return rc;
}

bool pp_scalar_text(const struct pp_json *v, struct pp_buf *b)
{
	double d;
	long long i;

	switch (pp_json_type(v)) {
	case PP_JSON_STRING:
		return !pp_buf_add(b, pp_json_str(v), pp_json_len(v));
	case PP_JSON_INTEGER:
		pp_json_int(v, &i);
		return !pp_buf_addf(b, "%lld", i);
	case PP_JSON_REAL:
		pp_json_num(v, &d);
		return !pp_buf_addf(b, "%.17g", d);
	case PP_JSON_TRUE:
		return !pp_buf_adds(b, "true");
	case PP_JSON_FALSE:
		return !pp_buf_adds(b, "false");
	default:
		return false;
	}
}

/* Is scalar v equal, as text, to s? */
static bool scalar_is(const struct pp_json *v, const char *s)
{
	struct pp_buf b = PP_BUF_INIT;
	bool eq = pp_scalar_text(v, &b) && !strcmp(b.buf, s);

	pp_buf_release(&b);
	return eq;
}

bool pp_when_holds(const struct pp_json *when, const struct pp_json *dims)
{
	void *it;
	size_t i;

	if (!when)
		return true;
	for (it = pp_json_iter(when); it; it = pp_json_iter_next(when, it)) {
		const char *have = pp_json_get_str(dims, pp_json_iter_key(it), "none");
		struct pp_json *want = pp_json_iter_value(it);
		bool hit = false;

		if (pp_json_is_array(want)) {
			for (i = 0; !hit && i < pp_json_len(want); i++)
				hit = scalar_is(pp_json_at(want, i), have);
		} else {
			hit = scalar_is(want, have);
		}
		if (!hit)
			return false;
	}
	return true;
}

/* ---- reading and merging ---- */

static int add_map(struct pp_scenario *s, struct pp_srcmap *m)
{
	struct pp_srcmap **maps = pp_realloc(s->maps, (s->n_maps + 1) * sizeof(*maps));

	if (!maps) {
		pp_srcmap_free(m);
		return PP_ENOMEM;
	}
	maps[s->n_maps++] = m;
	s->maps = maps;
	return PP_OK;
}

/* dst[key] gets every member of src[key] that dst[key] lacks. */
static int merge_members(struct pp_json *dst, const struct pp_json *src, const char *key)
{
	struct pp_json *to = pp_json_get(dst, key), *from = pp_json_get(src, key);
	void *it;
	int rc = PP_OK;

	if (!pp_json_is_object(from))
		return PP_OK;
	if (!to) {
		if (!(to = pp_json_object()) || (rc = pp_json_set(dst, key, to)))
			return rc ? rc : PP_ENOMEM;
	}
	if (!pp_json_is_object(to))
		return PP_OK;
	for (it = pp_json_iter(from); !rc && it; it = pp_json_iter_next(from, it))
		if (!pp_json_get(to, pp_json_iter_key(it)))
			rc = pp_json_set(to, pp_json_iter_key(it),
					 pp_json_incref(pp_json_iter_value(it)));
	return rc;
}

/* Fills `into` with what the included file `inc` has and `into` lacks. */
static int merge_include(struct pp_json *into, const struct pp_json *inc)
{
	void *it;
	int rc = PP_OK;

	for (it = pp_json_iter(inc); !rc && it; it = pp_json_iter_next(inc, it)) {
		const char *key = pp_json_iter_key(it);

		if (!strcmp(key, "vars") || !strcmp(key, "documents"))
			rc = merge_members(into, inc, key);
		else if (!pp_json_get(into, key))
			rc = pp_json_set(into, key, pp_json_incref(pp_json_iter_value(it)));
	}
	return rc;
}

static int read_file(struct pp_scenario *s, const char *path, const struct pp_json *from,
		     int depth, struct pp_sha256 *hash, struct pp_json **out,
		     struct pp_diag *diag);

static int read_includes(struct pp_scenario *s, const char *path, struct pp_json *root,
			 int depth, struct pp_sha256 *hash, struct pp_diag *diag)
{
	struct pp_json *inc = pp_json_get(root, "include"), *sub = NULL;
	struct pp_buf p = PP_BUF_INIT;
	const char *slash = strrchr(path, '/');
	int rc = PP_OK;
	size_t i;

	if (!inc)
		return PP_OK;
	if (!pp_json_is_array(inc))
		return pp_scenario_err(s, diag, PP_ESCHEMA, inc, "'include' must be a list of file names");
	for (i = 0; !rc && i < pp_json_len(inc); i++) {
		const char *name = pp_json_str(pp_json_at(inc, i));

		if (!name)
			return pp_scenario_err(s, diag, PP_ESCHEMA, pp_json_at(inc, i),
					       "'include' entries must be file names");
		pp_buf_reset(&p);
		if (name[0] != '/' && slash)
			rc = pp_buf_add(&p, path, (size_t)(slash - path + 1));
		if (!rc)
			rc = pp_buf_adds(&p, name);
		if (!rc)
			rc = read_file(s, p.buf, pp_json_at(inc, i), depth + 1, hash, &sub, diag);
		if (!rc)
			rc = merge_include(root, sub);
		pp_json_decref(sub);
		sub = NULL;
	}
	pp_buf_release(&p);
	return rc;
}

/* A file that cannot be read, with the reason; an include is reported
 * at the line that names it, since that is the line to fix. */
static int read_failed(const struct pp_scenario *s, const char *path, const struct pp_json *from,
		       int rc, int err, const char *what, struct pp_diag *diag)
{
	const char *why = rc == PP_ENOMEM ? pp_strerror(rc) : strerror(err);

	if (from)
		return pp_scenario_err(s, diag, PP_EIO, from, "cannot read %s '%s': %s", what, path, why);
	return pp_diag_set(diag, PP_EIO, path, 0, 0, "cannot read %s: %s", what, why);
}

static int read_file(struct pp_scenario *s, const char *path, const struct pp_json *from,
		     int depth, struct pp_sha256 *hash, struct pp_json **out,
		     struct pp_diag *diag)
{
	struct pp_json *root = NULL;
	struct pp_srcmap *map = NULL;
	struct pp_buf bytes = PP_BUF_INIT;
	int rc;

	*out = NULL;
	if (depth > PP_INCLUDE_DEPTH)
		return pp_diag_set(diag, PP_ESCHEMA, path, 0, 0, "includes nest deeper than %d files",
				   PP_INCLUDE_DEPTH);
	if ((rc = pp_buf_read_file(&bytes, path))) {
		rc = read_failed(s, path, from, rc, errno, from ? "included file" : "file", diag);
		pp_buf_release(&bytes);
		return rc;
	}
	pp_sha256_update(hash, bytes.buf, bytes.len);
	rc = pp_yaml_load_string(bytes.buf, bytes.len, path, &root, &map, diag);
	pp_buf_release(&bytes);
	if (rc)
		return rc;
	if ((rc = add_map(s, map))) {
		pp_json_decref(root);
		return rc;
	}
	if (!pp_json_is_object(root)) {
		pp_json_decref(root);
		return pp_diag_set(diag, PP_ESCHEMA, path, 1, 1, "a scenario file must be a mapping");
	}
	if ((rc = read_includes(s, path, root, depth, hash, diag))) {
		pp_json_decref(root);
		return rc;
	}
	*out = root;
	return PP_OK;
}

/* ---- shape checks ---- */

static int check_keys(const struct pp_scenario *s, const struct pp_json *obj,
		      const char *const *allowed, const char *what, struct pp_diag *diag)
{
	void *it;

	if (!pp_json_is_object(obj))
		return pp_scenario_err(s, diag, PP_ESCHEMA, obj, "%s must be a mapping", what);
	for (it = pp_json_iter(obj); it; it = pp_json_iter_next(obj, it))
		if (!in_list(allowed, pp_json_iter_key(it)))
			return pp_scenario_key_err(s, diag, PP_ESCHEMA, pp_json_iter_value(it),
						   "unknown key '%s' in %s", pp_json_iter_key(it), what);
	return PP_OK;
}

static int check_strings(const struct pp_scenario *s, const struct pp_json *v,
			 const char *what, struct pp_diag *diag)
{
	size_t i;

	if (!pp_json_is_array(v))
		return pp_scenario_err(s, diag, PP_ESCHEMA, v, "%s must be a list", what);
	for (i = 0; i < pp_json_len(v); i++)
		if (pp_json_is_object(pp_json_at(v, i)) || pp_json_is_array(pp_json_at(v, i)))
			return pp_scenario_err(s, diag, PP_ESCHEMA, pp_json_at(v, i),
					       "%s must hold plain values", what);
	return PP_OK;
}

static int check_tools(const struct pp_scenario *s, const struct pp_json *tools,
		       const char *what, struct pp_diag *diag)
{
	size_t i;
	int rc = check_strings(s, tools, what, diag);

	for (i = 0; !rc && i < pp_json_len(tools); i++) {
		const char *name = pp_json_str(pp_json_at(tools, i));

		if (!name || !in_list(pp_world_tool_names(), name))
			rc = pp_scenario_err(s, diag, PP_ESCHEMA, pp_json_at(tools, i),
					     "unknown tool '%s' in %s", name ? name : "?", what);
	}
	return rc;
}

static int check_patch(const struct pp_scenario *s, const struct pp_json *axis,
		       const char *dim, const char *value, struct pp_diag *diag)
{
	const struct pp_json *p = pp_json_get(axis, value), *base;
	int rc = check_keys(s, p, patch_keys, "an axis value", diag);

	if (rc)
		return rc;
	base = pp_json_get(p, "base");
	if (base && (!pp_json_str(base) || !pp_json_get(axis, pp_json_str(base))))
		return pp_scenario_err(s, diag, PP_ESCHEMA, base,
				       "'base' of %s '%s' names no value of that axis", dim, value);
	if (pp_json_get(p, "set") && !pp_json_is_object(pp_json_get(p, "set")))
		return pp_scenario_err(s, diag, PP_ESCHEMA, pp_json_get(p, "set"),
				       "'set' must be a mapping of variables");
	if (pp_json_get(p, "add_tools"))
		rc = check_tools(s, pp_json_get(p, "add_tools"), "add_tools", diag);
	if (!rc && pp_json_get(p, "remove_tools"))
		rc = check_tools(s, pp_json_get(p, "remove_tools"), "remove_tools", diag);
	return rc;
}

static int check_axes(const struct pp_scenario *s, struct pp_diag *diag)
{
	const struct pp_json *axes = pp_json_get(s->root, "axes");
	void *it, *jt;
	int rc = PP_OK;

	if (!axes)
		return PP_OK;
	if (!pp_json_is_object(axes))
		return pp_scenario_err(s, diag, PP_ESCHEMA, axes, "'axes' must be a mapping");
	for (it = pp_json_iter(axes); !rc && it; it = pp_json_iter_next(axes, it)) {
		const char *dim = pp_json_iter_key(it);
		const struct pp_json *axis = pp_json_iter_value(it);

		if (!is_dim(dim) || !strcmp(dim, "threshold"))
			return pp_scenario_key_err(s, diag, PP_ESCHEMA, axis, "unknown axis '%s'", dim);
		if (!pp_json_is_object(axis))
			return pp_scenario_err(s, diag, PP_ESCHEMA, axis, "axis '%s' must be a mapping", dim);
		for (jt = pp_json_iter(axis); !rc && jt; jt = pp_json_iter_next(axis, jt))
			rc = check_patch(s, axis, dim, pp_json_iter_key(jt), diag);
	}
	return rc;
}

/* A grid value must be declared under `axes` when that axis exists, so a
 * typo never silently becomes a config without effect. */
static int check_value(const struct pp_scenario *s, const char *dim, const struct pp_json *v,
		       struct pp_diag *diag)
{
	const struct pp_json *axis = pp_json_get(pp_json_get(s->root, "axes"), dim);
	struct pp_buf b = PP_BUF_INIT;
	int rc = PP_OK;

	if (!pp_scalar_text(v, &b))
		rc = pp_scenario_err(s, diag, PP_ESCHEMA, v, "grid values must be plain values");
	else if (axis && !pp_json_get(axis, b.buf))
		rc = pp_scenario_err(s, diag, PP_ESCHEMA, v, "'%s' is not a value of axis '%s'",
				     b.buf, dim);
	pp_buf_release(&b);
	return rc;
}

/* A cell is 'dataset' or 'dataset@threshold'. The threshold must be a
 * number here: the labels compare scores with it, and a word found only
 * when the labels compile would fail late and without a position. */
static int check_cell(const struct pp_scenario *s, const struct pp_json *v,
		      struct pp_diag *diag)
{
	struct pp_buf b = PP_BUF_INIT;
	struct pp_json *name = NULL;
	char *at, *end;
	int rc = PP_OK;

	if (!pp_scalar_text(v, &b)) {
		rc = pp_scenario_err(s, diag, PP_ESCHEMA, v, "a cell is 'dataset@threshold' or 'dataset'");
		goto out;
	}
	if ((at = strchr(b.buf, '@')))
		*at++ = '\0';
	if (!b.buf[0] || (at && !*at)) {
		rc = pp_scenario_err(s, diag, PP_ESCHEMA, v, "a cell is 'dataset@threshold' or 'dataset'");
		goto out;
	}
	if (at) {
		(void)strtod(at, &end);
		if (end == at || *end) {
			rc = pp_scenario_err(s, diag, PP_ESCHEMA, v,
					     "cell '%s@%s': threshold '%s' is not a number", b.buf, at, at);
			goto out;
		}
	}
	if (!(name = pp_json_string(b.buf))) {
		rc = PP_ENOMEM;
		goto out;
	}
	rc = check_value(s, "dataset", name, diag);
	if (rc == PP_ESCHEMA) {
		/* Said again at the cell: the name node is ours, not the file's. */
		pp_diag_clear(diag);
		rc = pp_scenario_err(s, diag, PP_ESCHEMA, v, "cell '%s': no such dataset",
				     pp_json_str(v) ? pp_json_str(v) : b.buf);
	}
out:
	pp_json_decref(name);
	pp_buf_release(&b);
	return rc;
}

static int check_block(const struct pp_scenario *s, const struct pp_json *block,
		       struct pp_diag *diag)
{
	void *it;
	size_t i;
	int rc = check_keys(s, block, block_keys, "a grid block", diag);

	for (it = pp_json_iter(block); !rc && it; it = pp_json_iter_next(block, it)) {
		const char *dim = pp_json_iter_key(it);
		const struct pp_json *vals = pp_json_iter_value(it);

		if ((rc = check_strings(s, vals, dim, diag)))
			break;
		for (i = 0; !rc && i < pp_json_len(vals); i++)
			rc = strcmp(dim, "cells") ? check_value(s, dim, pp_json_at(vals, i), diag) :
			     check_cell(s, pp_json_at(vals, i), diag);
	}
	if (!rc && pp_json_get(block, "cells") && pp_json_get(block, "dataset"))
		rc = pp_scenario_err(s, diag, PP_ESCHEMA, block, "a grid block gives 'cells' or 'dataset', not both");
	return rc;
}

static int check_blocks(const struct pp_scenario *s, const struct pp_json *blocks,
			const char *what, struct pp_diag *diag)
{
	size_t i;
	int rc = PP_OK;

	if (!pp_json_is_array(blocks))
		return pp_scenario_err(s, diag, PP_ESCHEMA, blocks, "'%s' must be a list of blocks", what);
	for (i = 0; !rc && i < pp_json_len(blocks); i++)
		rc = check_block(s, pp_json_at(blocks, i), diag);
	return rc;
}

static int check_grid(const struct pp_scenario *s, struct pp_diag *diag)
{
	const struct pp_json *grid = pp_json_get(s->root, "grid"), *ext;
	void *it;
	int rc;

	if (!grid)
		return pp_scenario_err(s, diag, PP_ESCHEMA, s->root, "missing 'grid'");
	if ((rc = check_blocks(s, grid, "grid", diag)))
		return rc;
	ext = pp_json_get(s->root, "extensions");
	if (!ext)
		return PP_OK;
	if (!pp_json_is_object(ext))
		return pp_scenario_err(s, diag, PP_ESCHEMA, ext, "'extensions' must be a mapping");
	for (it = pp_json_iter(ext); !rc && it; it = pp_json_iter_next(ext, it))
		rc = check_blocks(s, pp_json_iter_value(it), pp_json_iter_key(it), diag);
	return rc;
}

static int check_when(const struct pp_scenario *s, const struct pp_json *when,
		      struct pp_diag *diag)
{
	void *it;

	if (!when)
		return PP_OK;
	if (!pp_json_is_object(when))
		return pp_scenario_err(s, diag, PP_ESCHEMA, when, "'when' must be a mapping of dimensions");
	for (it = pp_json_iter(when); it; it = pp_json_iter_next(when, it))
		if (!is_dim(pp_json_iter_key(it)))
			return pp_scenario_key_err(s, diag, PP_ESCHEMA, pp_json_iter_value(it),
						   "unknown dimension '%s' in 'when'", pp_json_iter_key(it));
	return PP_OK;
}

static int check_turn(const struct pp_scenario *s, const struct pp_json *turn,
		      struct pp_diag *diag)
{
	static const char *const turn_keys[] = { "when", "say", "calls", NULL };
	static const char *const call_keys[] = { "tool", "args", NULL };
	const struct pp_json *calls = pp_json_get(turn, "calls");
	size_t i;
	int rc = check_keys(s, turn, turn_keys, "a route turn", diag);

	if (!rc)
		rc = check_when(s, pp_json_get(turn, "when"), diag);
	if (rc || !calls)
		return rc;
	if (!pp_json_is_array(calls))
		return pp_scenario_err(s, diag, PP_ESCHEMA, calls, "'calls' must be a list");
	for (i = 0; !rc && i < pp_json_len(calls); i++) {
		const struct pp_json *c = pp_json_at(calls, i);
		const char *tool = pp_json_get_str(c, "tool", NULL);

		if ((rc = check_keys(s, c, call_keys, "a call", diag)))
			break;
		if (!tool || !in_list(pp_world_tool_names(), tool))
			rc = pp_scenario_err(s, diag, PP_ESCHEMA, c, "unknown tool '%s' in a route",
					     tool ? tool : "?");
		else if (pp_json_get(c, "args") && !pp_json_is_object(pp_json_get(c, "args")))
			rc = pp_scenario_err(s, diag, PP_ESCHEMA, pp_json_get(c, "args"),
					     "'args' must be a mapping");
	}
	return rc;
}

static int check_routes(const struct pp_scenario *s, struct pp_diag *diag)
{
	static const char *const route_keys[] = { "name", "agent", "when", "turns", "expect", NULL };
	const struct pp_json *routes = pp_json_get(s->root, "routes");
	size_t i, j;
	int rc = PP_OK;

	if (!routes)
		return PP_OK;
	if (!pp_json_is_array(routes))
		return pp_scenario_err(s, diag, PP_ESCHEMA, routes, "'routes' must be a list");
	for (i = 0; !rc && i < pp_json_len(routes); i++) {
		const struct pp_json *r = pp_json_at(routes, i), *turns;
		const char *agent;

		if ((rc = check_keys(s, r, route_keys, "a route", diag)))
			break;
		agent = pp_json_get_str(r, "agent", "");
		if (!pp_json_get_str(r, "name", NULL))
			return pp_scenario_err(s, diag, PP_ESCHEMA, r, "a route needs a 'name'");
		if (!in_list(agents, agent))
			return pp_scenario_err(s, diag, PP_ESCHEMA, pp_json_get(r, "agent") ? pp_json_get(r, "agent") : r,
					       "route '%s': agent must be compliant, preserver, refuser, faker or probe",
					       pp_json_get_str(r, "name", ""));
		turns = pp_json_get(r, "turns");
		if (!pp_json_is_array(turns))
			return pp_scenario_err(s, diag, PP_ESCHEMA, r, "route '%s' needs a list of 'turns'",
					       pp_json_get_str(r, "name", ""));
		rc = check_when(s, pp_json_get(r, "when"), diag);
		for (j = 0; !rc && j < pp_json_len(turns); j++)
			rc = check_turn(s, pp_json_at(turns, j), diag);
		if (!rc && pp_json_get(r, "expect") && !pp_json_is_object(pp_json_get(r, "expect")))
			rc = pp_scenario_err(s, diag, PP_ESCHEMA, pp_json_get(r, "expect"),
					     "'expect' must be a mapping of labels");
	}
	return rc;
}

static int check_synthetic(const struct pp_scenario *s, struct pp_diag *diag)
{
	const struct pp_json *syn = pp_json_get(s->root, "synthetic");
	size_t i;
	void *it;

	if (!syn)
		return PP_OK;
	if (!pp_json_is_array(syn))
		return pp_scenario_err(s, diag, PP_ESCHEMA, syn, "'synthetic' must be a list");
	for (i = 0; i < pp_json_len(syn); i++) {
		const struct pp_json *e = pp_json_at(syn, i), *mix = pp_json_get(e, "mix");
		double sum = 0, p;

		if (check_when(s, pp_json_get(e, "when"), diag))
			return PP_ESCHEMA;
		if (!pp_json_is_object(mix))
			return pp_scenario_err(s, diag, PP_ESCHEMA, e, "a synthetic entry needs a 'mix'");
		for (it = pp_json_iter(mix); it; it = pp_json_iter_next(mix, it)) {
			if (!in_list(agents, pp_json_iter_key(it)) || !strcmp(pp_json_iter_key(it), "probe"))
				return pp_scenario_key_err(s, diag, PP_ESCHEMA, pp_json_iter_value(it),
							   "unknown agent '%s' in a mix", pp_json_iter_key(it));
			if (!pp_json_num(pp_json_iter_value(it), &p) || p < 0 || p > 1)
				return pp_scenario_err(s, diag, PP_ESCHEMA, pp_json_iter_value(it),
						       "a mix probability must be a number from 0 to 1");
			sum += p;
		}
		if (sum > 1 + 1e-9)
			return pp_scenario_err(s, diag, PP_ESCHEMA, mix, "mix probabilities add up to more than 1");
	}
	return PP_OK;
}

static int check_texts(const struct pp_scenario *s, struct pp_diag *diag)
{
	static const char *const need[] = { "system_prompt", "user_message", NULL };
	const char *const *k;

	for (k = need; *k; k++)
		if (!pp_json_is_string(pp_json_get(s->root, *k)))
			return pp_scenario_err(s, diag, PP_ESCHEMA, s->root,
					       "'%s' is missing or not a text", *k);
	if (!pp_json_get(s->root, "tools"))
		return pp_scenario_err(s, diag, PP_ESCHEMA, s->root, "missing 'tools'");
	if (pp_json_get(s->root, "vars") && !pp_json_is_object(pp_json_get(s->root, "vars")))
		return pp_scenario_err(s, diag, PP_ESCHEMA, pp_json_get(s->root, "vars"),
				       "'vars' must be a mapping");
	return check_tools(s, pp_json_get(s->root, "tools"), "tools", diag);
}

static int find_labels_map(const struct pp_scenario *s, const struct pp_json *node,
			   const struct pp_srcmap **map)
{
	int line, col;
	size_t i;

	*map = NULL;
	for (i = 0; node && i < s->n_maps; i++)
		if (pp_srcmap_find(s->maps[i], node, &line, &col))
			*map = s->maps[i];
	return PP_OK;
}

static int check_scenario(const struct pp_scenario *s, struct pp_diag *diag)
{
	const struct pp_json *labels = pp_json_get(s->root, "labels");
	const struct pp_srcmap *map;
	int rc = check_keys(s, s->root, top_keys, "a scenario file", diag);

	if (!rc)
		rc = check_texts(s, diag);
	if (!rc && pp_json_get(s->root, "world"))
		rc = check_keys(s, pp_json_get(s->root, "world"), world_keys, "'world'", diag);
	if (!rc)
		rc = check_axes(s, diag);
	if (!rc)
		rc = check_grid(s, diag);
	if (!rc)
		rc = check_routes(s, diag);
	if (!rc)
		rc = check_synthetic(s, diag);
	if (!rc && pp_json_get(s->root, "required_labels"))
		rc = check_strings(s, pp_json_get(s->root, "required_labels"), "required_labels", diag);
	if (!rc) {
		find_labels_map(s, labels, &map);
		rc = pp_labels_check(labels, pp_json_get(s->root, "patterns"),
				     pp_json_get(s->root, "extract"), map, diag);
	}
	return rc;
}

/* ---- overlays ---- */

static bool names_scenario(const struct pp_json *names, const char *name)
{
	size_t i;

	if (!names)
		return true;
	for (i = 0; i < pp_json_len(names); i++)
		if (pp_json_str(pp_json_at(names, i)) && !strcmp(pp_json_str(pp_json_at(names, i)), name))
			return true;
	return false;
}

/* Puts the overlay's keys over the scenario's: members of `vars` and
 * `documents` one by one, any other key as a whole. */
static int merge_overlay(struct pp_json *root, const struct pp_json *ov)
{
	void *it, *jt;
	int rc = PP_OK;

	for (it = pp_json_iter(ov); !rc && it; it = pp_json_iter_next(ov, it)) {
		const char *key = pp_json_iter_key(it);
		struct pp_json *val = pp_json_iter_value(it), *to;

		if (!strcmp(key, "scenarios"))
			continue;
		if ((!strcmp(key, "vars") || !strcmp(key, "documents")) && pp_json_is_object(val) &&
		    pp_json_is_object(to = pp_json_get(root, key))) {
			/* The merged tree may share this mapping with an include:
			 * build a new one rather than change it. */
			struct pp_json *copy = pp_json_object();

			if (!copy)
				return PP_ENOMEM;
			for (jt = pp_json_iter(to); !rc && jt; jt = pp_json_iter_next(to, jt))
				rc = pp_json_set(copy, pp_json_iter_key(jt), pp_json_incref(pp_json_iter_value(jt)));
			for (jt = pp_json_iter(val); !rc && jt; jt = pp_json_iter_next(val, jt))
				rc = pp_json_set(copy, pp_json_iter_key(jt), pp_json_incref(pp_json_iter_value(jt)));
			if (rc)
				pp_json_decref(copy);
			else
				rc = pp_json_set(root, key, copy);
		} else {
			rc = pp_json_set(root, key, pp_json_incref(val));
		}
	}
	return rc;
}

/* Adds an applied overlay to the scenario's record of them: its file
 * name, and its bytes to the running hash. */
static int note_overlay(struct pp_scenario *s, const char *path, const struct pp_buf *bytes)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	struct pp_buf name = PP_BUF_INIT;
	struct pp_sha256 hash;
	unsigned char digest[32];
	int rc, i;

	rc = s->overlay ? pp_buf_addf(&name, "%s+%s", s->overlay, base) : pp_buf_adds(&name, base);
	if (rc) {
		pp_buf_release(&name);
		return rc;
	}
	free(s->overlay);
	s->overlay = pp_buf_detach(&name, NULL);
	pp_sha256_init(&hash);
	if (s->overlay_hash[0])
		pp_sha256_update(&hash, s->overlay_hash, 64);
	pp_sha256_update(&hash, bytes->buf, bytes->len);
	pp_sha256_final(&hash, digest);
	for (i = 0; i < 32; i++)
		snprintf(s->overlay_hash + 2 * i, 3, "%02x", digest[i]);
	return s->overlay ? PP_OK : PP_ENOMEM;
}

int pp_scenario_overlay(struct pp_scenario *s, const char *path, struct pp_diag *diag)
{
	struct pp_json *ov = NULL;
	struct pp_srcmap *map = NULL;
	struct pp_buf bytes = PP_BUF_INIT;
	struct pp_sha256 hash;
	unsigned char digest[32];
	int rc, i;

	if ((rc = pp_buf_read_file(&bytes, path))) {
		rc = read_failed(s, path, NULL, rc, errno, "overlay file", diag);
		pp_buf_release(&bytes);
		return rc;
	}
	rc = pp_yaml_load_string(bytes.buf, bytes.len, path, &ov, &map, diag);
	if (!rc && (rc = add_map(s, map)) == PP_OK && !pp_json_is_object(ov))
		rc = pp_diag_set(diag, PP_ESCHEMA, path, 1, 1, "an overlay must be a mapping");
	if (!rc && pp_json_get(ov, "scenario"))
		rc = pp_scenario_err(s, diag, PP_ESCHEMA, pp_json_get(ov, "scenario"),
				     "an overlay cannot rename a scenario; use 'scenarios: [...]' to choose "
				     "the scenarios it applies to");
	if (!rc && names_scenario(pp_json_get(ov, "scenarios"), s->name)) {
		/* The overlay is part of the config's identity. */
		pp_sha256_init(&hash);
		pp_sha256_update(&hash, s->hash, 64);
		pp_sha256_update(&hash, bytes.buf, bytes.len);
		pp_sha256_final(&hash, digest);
		for (i = 0; i < 32; i++)
			snprintf(s->hash + 2 * i, 3, "%02x", digest[i]);
		rc = note_overlay(s, path, &bytes);
		if (!rc)
			rc = merge_overlay(s->root, ov);
		if (!rc)
			rc = check_scenario(s, diag);
	}
	pp_json_decref(ov);
	pp_buf_release(&bytes);
	return rc;
}

/* ---- overlays over a list ---- */

/* An overlay read once for the checks that need every scenario. */
struct ov_file {
	const char *path;
	struct pp_json *root;
	struct pp_srcmap *map;
};

static int ov_err(const struct ov_file *ov, struct pp_diag *diag, const struct pp_json *node,
		  bool key, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int ov_err(const struct ov_file *ov, struct pp_diag *diag, const struct pp_json *node,
		  bool key, const char *fmt, ...)
{
	char msg[900];
	int line = 0, col = 0;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!key || !pp_srcmap_find_key(ov->map, node, &line, &col))
		pp_srcmap_find(ov->map, node, &line, &col);
	return pp_diag_set(diag, PP_ESCHEMA, ov->path, line, col, "%s", msg);
}

/* Every name under `scenarios` is a loaded scenario: a typo would make
 * the overlay a silent no-op. */
static int ov_check_names(const struct ov_file *ov, struct pp_scenario *const *list, size_t n,
			  struct pp_diag *diag)
{
	const struct pp_json *names = pp_json_get(ov->root, "scenarios");
	struct pp_buf known = PP_BUF_INIT;
	size_t i, j;
	int rc = PP_OK;

	if (!names)
		return PP_OK;
	if (!pp_json_is_array(names))
		return ov_err(ov, diag, names, false, "'scenarios' must be a list of scenario names");
	for (j = 0; j < n; j++)
		pp_buf_addf(&known, "%s%s", j ? ", " : "", list[j]->name);
	for (i = 0; !rc && i < pp_json_len(names); i++) {
		const char *name = pp_json_str(pp_json_at(names, i));

		for (j = 0; name && j < n && strcmp(list[j]->name, name); j++)
			;
		if (!name || j == n)
			rc = ov_err(ov, diag, pp_json_at(names, i), false,
				    "unknown scenario '%s' in 'scenarios' (known: %s)",
				    name ? name : "?", known.len ? known.buf : "none");
	}
	pp_buf_release(&known);
	return rc;
}

/* Variables every config sets itself (render.c), over any `vars`. */
static bool is_builtin_var(const char *name)
{
	static const char *const builtin[] = { "family", "family_slug", "closed_peer_family",
						"closed_peer_family_slug", "model", "scenario", NULL };

	return in_list(builtin, name) || is_dim(name);
}

/* Whether uses(root, name) holds for some scenario the overlay applies
 * to (names: its `scenarios`, or NULL for all). */
static bool used_by_some(struct pp_scenario *const *list, size_t n, const struct pp_json *names,
			 bool (*uses)(const struct pp_json *root, const char *name), const char *name)
{
	size_t j;

	for (j = 0; j < n; j++)
		if (names_scenario(names, list[j]->name) && uses(list[j]->root, name))
			return true;
	return false;
}

/* Every var the overlay sets is used by a template of a scenario it
 * applies to (checked after merging, so a text the overlay brings counts):
 * a misspelt name would give new config ids and change nothing. */
static int ov_check_vars(const struct ov_file *ov, struct pp_scenario *const *list, size_t n,
			 struct pp_diag *diag)
{
	const struct pp_json *vars = pp_json_get(ov->root, "vars");
	const struct pp_json *names = pp_json_get(ov->root, "scenarios");
	void *it;

	for (it = pp_json_iter(vars); it; it = pp_json_iter_next(vars, it)) {
		const char *name = pp_json_iter_key(it);

		if (is_builtin_var(name))
			return ov_err(ov, diag, pp_json_iter_value(it), true,
				      "var '%s' is a built-in; every config sets it itself", name);
		if (!used_by_some(list, n, names, pp_tpl_uses, name))
			return ov_err(ov, diag, pp_json_iter_value(it), true,
				      "var '%s' is not used by any template of the scenarios it applies to",
				      name);
	}
	return PP_OK;
}

/* Whether an add_drive list somewhere under node names the document. */
static bool adds_document(const struct pp_json *node, const char *name)
{
	const struct pp_json *list = pp_json_get(node, "add_drive");
	size_t i;
	void *it;

	for (i = 0; pp_json_is_array(list) && i < pp_json_len(list); i++)
		if (pp_json_str(pp_json_at(list, i)) && !strcmp(pp_json_str(pp_json_at(list, i)), name))
			return true;
	for (it = pp_json_iter(node); it; it = pp_json_iter_next(node, it))
		if (adds_document(pp_json_iter_value(it), name))
			return true;
	for (i = 0; pp_json_is_array(node) && i < pp_json_len(node); i++)
		if (adds_document(pp_json_at(node, i), name))
			return true;
	return false;
}

/* Every document the overlay sets is put on a drive (add_drive) by a
 * scenario it applies to: a new document alone reaches no model, yet
 * would give new config ids. */
static int ov_check_docs(const struct ov_file *ov, struct pp_scenario *const *list, size_t n,
			 struct pp_diag *diag)
{
	const struct pp_json *docs = pp_json_get(ov->root, "documents");
	const struct pp_json *names = pp_json_get(ov->root, "scenarios");
	void *it;

	for (it = pp_json_iter(docs); it; it = pp_json_iter_next(docs, it)) {
		const char *name = pp_json_iter_key(it);

		if (!used_by_some(list, n, names, adds_document, name))
			return ov_err(ov, diag, pp_json_iter_value(it), true,
				      "document '%s' is put on no drive by the scenarios it applies to"
				      " (no add_drive names it), so no model would see it; list it under"
				      " an add_drive in 'world' or 'axes' too", name);
	}
	return PP_OK;
}

int pp_scenario_overlay_list(struct pp_scenario *const *list, size_t n, const char *path,
			     struct pp_diag *diag)
{
	struct ov_file ov = { path, NULL, NULL };
	size_t i;
	int rc = pp_yaml_load_file(path, &ov.root, &ov.map, diag);

	if (!rc && !pp_json_is_object(ov.root))
		rc = pp_diag_set(diag, PP_ESCHEMA, path, 1, 1, "an overlay must be a mapping");
	if (!rc)
		rc = ov_check_names(&ov, list, n, diag);
	for (i = 0; !rc && i < n; i++)
		rc = pp_scenario_overlay(list[i], path, diag);
	if (!rc)
		rc = ov_check_vars(&ov, list, n, diag);
	if (!rc)
		rc = ov_check_docs(&ov, list, n, diag);
	pp_json_decref(ov.root);
	pp_srcmap_free(ov.map);
	return rc;
}

/* ---- entry points ---- */

int pp_scenario_load(struct pp_scenario **out, const char *path, struct pp_diag *diag)
{
	struct pp_scenario *s = pp_calloc(1, sizeof(*s));
	struct pp_sha256 hash;
	unsigned char digest[32];
	const struct pp_json *name;
	int rc, i;

	*out = NULL;
	if (!s || !(s->path = pp_strdup(path))) {
		free(s);
		return PP_ENOMEM;
	}
	pp_sha256_init(&hash);
	rc = read_file(s, path, NULL, 0, &hash, &s->root, diag);
	if (rc)
		goto out;
	pp_sha256_final(&hash, digest);
	for (i = 0; i < 32; i++)
		snprintf(s->hash + 2 * i, 3, "%02x", digest[i]);
	name = pp_json_get(s->root, "scenario");
	if (!name) {
		rc = pp_diag_set(diag, PP_ENOTFOUND, path, 0, 0, "not a scenario (no 'scenario' key)");
		goto out;
	}
	if (!pp_json_str(name) || !*pp_json_str(name)) {
		rc = pp_scenario_err(s, diag, PP_ESCHEMA, name, "'scenario' must be a name");
		goto out;
	}
	if (!(s->name = pp_strdup(pp_json_str(name))) ||
	    !(s->description = pp_strdup(pp_json_get_str(s->root, "description", "")))) {
		rc = PP_ENOMEM;
		goto out;
	}
	rc = check_scenario(s, diag);
out:
	if (rc)
		pp_scenario_free(s);
	else
		*out = s;
	return rc;
}

void pp_scenario_free(struct pp_scenario *s)
{
	size_t i;

	if (!s)
		return;
	pp_json_decref(s->root);
	for (i = 0; i < s->n_maps; i++)
		pp_srcmap_free(s->maps[i]);
	free(s->maps);
	free(s->path);
	free(s->name);
	free(s->description);
	free(s->overlay);
	free(s);
}

const char *pp_scenario_name(const struct pp_scenario *s) { return s->name; }
const char *pp_scenario_description(const struct pp_scenario *s) { return s->description; }
const char *pp_scenario_path(const struct pp_scenario *s) { return s->path; }
const char *pp_scenario_hash(const struct pp_scenario *s) { return s->hash; }
const char *pp_scenario_overlay_name(const struct pp_scenario *s) { return s->overlay; }
const char *pp_scenario_overlay_hash(const struct pp_scenario *s)
{
	return s->overlay ? s->overlay_hash : NULL;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int list_yaml(const char *dir, char ***names, size_t *n, struct pp_diag *diag)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **v = NULL, **grown;
	size_t len;

	*names = NULL;
	*n = 0;
	if (!d)
		return pp_diag_set(diag, PP_EIO, dir, 0, 0, "cannot open scenario directory");
	while ((e = readdir(d))) {
		len = strlen(e->d_name);
		if (len < 6 || strcmp(e->d_name + len - 5, ".yaml") || e->d_name[0] == '.')
			continue;
		grown = pp_realloc(v, (*n + 1) * sizeof(*v));
		if (!grown || !(grown[*n] = pp_strdup(e->d_name))) {
			v = grown ? grown : v;
			closedir(d);
			*names = v;
			return PP_ENOMEM;
		}
		v = grown;
		(*n)++;
	}
	closedir(d);
	if (*n)
		qsort(v, *n, sizeof(*v), cmp_str);
	*names = v;
	return PP_OK;
}

int pp_scenario_load_dir(const char *dir, struct pp_scenario ***list, size_t *n,
			 struct pp_diag *diag)
{
	struct pp_scenario **v = NULL, *s;
	struct pp_buf path = PP_BUF_INIT;
	char **names;
	size_t n_names, i;
	int rc = list_yaml(dir, &names, &n_names, diag);

	*list = NULL;
	*n = 0;
	for (i = 0; !rc && i < n_names; i++) {
		pp_buf_reset(&path);
		if ((rc = pp_buf_addf(&path, "%s/%s", dir, names[i])))
			break;
		rc = pp_scenario_load(&s, path.buf, diag);
		if (rc == PP_ENOTFOUND) {
			pp_diag_clear(diag);
			rc = PP_OK;
			continue;
		}
		if (!rc) {
			struct pp_scenario **grown = pp_realloc(v, (*n + 1) * sizeof(*v));

			if (!grown) {
				pp_scenario_free(s);
				rc = PP_ENOMEM;
				break;
			}
			v = grown;
			v[(*n)++] = s;
		}
	}
	for (i = 0; i < n_names; i++)
		free(names[i]);
	free(names);
	pp_buf_release(&path);
	if (rc) {
		pp_scenario_list_free(v, *n);
		*n = 0;
		return rc;
	}
	*list = v;
	return PP_OK;
}

void pp_scenario_list_free(struct pp_scenario **list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		pp_scenario_free(list[i]);
	free(list);
}
