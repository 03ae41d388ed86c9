/*
 * grid.c - grid expansion: blocks of lists become configs.
 *
 * A block is the cartesian product of its lists (docs/scenario-format.md,
 * Grid). The order is fixed (blocks, cells, subject, condition,
 * instantiation, mode, scratchpad) so plans and config lists are stable.
 */
#include <stdlib.h>
#include <string.h>

#include <peerpres/status.h>

#include "core/alloc.h"
#include "scenario/scenario_int.h"

/* The dimensions a block lists, besides cells, in product order. */
static const char *const block_dims[] = {
	"subject", "condition", "instantiation", "mode", "scratchpad"
};
#define N_BLOCK_DIMS (sizeof(block_dims) / sizeof(block_dims[0]))

struct expansion {
	const struct pp_scenario *s;
	const struct pp_json *filters;
	struct pp_json *out;
	struct pp_json *seen;          /* canonical dims -> true */
	const struct pp_json *lists[N_BLOCK_DIMS];
	struct pp_json *chosen_scratchpad;
};

/* Does the filter allow dims[dim] = value? */
static bool allowed(const struct pp_json *filters, const char *dim, const char *value)
{
	const struct pp_json *f = pp_json_get(filters, dim);
	size_t i;

	if (!f)
		return true;
	for (i = 0; i < pp_json_len(f); i++)
		if (pp_json_str(pp_json_at(f, i)) && !strcmp(pp_json_str(pp_json_at(f, i)), value))
			return true;
	return false;
}

static int emit(struct expansion *x, struct pp_json *dims)
{
	char *key;
	size_t i;
	int rc;

	for (i = 0; i < PP_N_DIMS; i++)
		if (!allowed(x->filters, pp_dim_names[i], pp_json_get_str(dims, pp_dim_names[i], "none")))
			return PP_OK;
	if (!allowed(x->filters, "scenario", x->s->name))
		return PP_OK;
	if (!(key = pp_json_canonical(dims)))
		return PP_ENOMEM;
	if (pp_json_get(x->seen, key)) {
		free(key);
		return PP_OK;
	}
	rc = pp_json_set(x->seen, key, pp_json_bool(true));
	free(key);
	if (!rc)
		rc = pp_json_append(x->out, pp_json_deep_copy(dims));
	return rc;
}

static int scalar_set(struct pp_json *dims, const char *dim, const struct pp_json *v)
{
	struct pp_buf b = PP_BUF_INIT;
	int rc = pp_scalar_text(v, &b) ? pp_json_set_str(dims, dim, b.buf) : PP_EINVAL;

	pp_buf_release(&b);
	return rc;
}

/* Fills dimension k and the ones after it, then emits. */
static int product(struct expansion *x, struct pp_json *dims, size_t k)
{
	const struct pp_json *list;
	size_t i;
	int rc = PP_OK;

	if (k == N_BLOCK_DIMS)
		return emit(x, dims);
	list = x->lists[k];
	if (!list) {
		if ((rc = pp_json_set_str(dims, block_dims[k], "none")))
			return rc;
		return product(x, dims, k + 1);
	}
	for (i = 0; !rc && i < pp_json_len(list); i++) {
		rc = scalar_set(dims, block_dims[k], pp_json_at(list, i));
		if (!rc)
			rc = product(x, dims, k + 1);
	}
	return rc;
}

/* Sets dataset and threshold from a "dataset@threshold" or "dataset" cell. */
static int set_cell(struct pp_json *dims, const struct pp_json *cell)
{
	struct pp_buf b = PP_BUF_INIT;
	char *at;
	int rc;

	if (!pp_scalar_text(cell, &b))
		return PP_EINVAL;
	at = strchr(b.buf, '@');
	if (at)
		*at = '\0';
	rc = pp_json_set_str(dims, "dataset", b.buf);
	if (!rc)
		rc = pp_json_set_str(dims, "threshold", at ? at + 1 : "none");
	pp_buf_release(&b);
	return rc;
}

static int expand_block(struct expansion *x, const struct pp_json *block)
{
	const struct pp_json *cells = pp_json_get(block, "cells");
	struct pp_json *dims = pp_json_object(), *none = NULL;
	size_t i, k, n_cells;
	int rc = PP_OK;

	if (!dims)
		return PP_ENOMEM;
	for (k = 0; k < N_BLOCK_DIMS; k++)
		x->lists[k] = pp_json_get(block, block_dims[k]);
	/* Scratchpad is chosen by the user, not the block, unless the block
	 * fixes it. */
	if (!x->lists[N_BLOCK_DIMS - 1])
		x->lists[N_BLOCK_DIMS - 1] = x->chosen_scratchpad;
	if (!cells)
		cells = pp_json_get(block, "dataset");
	if (!cells) {
		if (!(none = pp_json_array()) || pp_json_append(none, pp_json_string("none")))
			rc = PP_ENOMEM;
		cells = none;
	}
	n_cells = pp_json_len(cells);
	for (i = 0; !rc && i < n_cells; i++) {
		rc = pp_json_set_str(dims, "scenario", x->s->name);
		if (!rc)
			rc = set_cell(dims, pp_json_at(cells, i));
		if (!rc)
			rc = product(x, dims, 0);
	}
	pp_json_decref(none);
	pp_json_decref(dims);
	return rc;
}

static int expand_blocks(struct expansion *x, const struct pp_json *blocks)
{
	size_t i;
	int rc = PP_OK;

	for (i = 0; !rc && i < pp_json_len(blocks); i++)
		rc = expand_block(x, pp_json_at(blocks, i));
	return rc;
}

int pp_scenario_expand(const struct pp_scenario *s, const struct pp_json *filters,
		       const char *const *with, size_t n_with, struct pp_json *out,
		       struct pp_diag *diag)
{
	struct expansion x = { s, filters, out, NULL, { NULL }, NULL };
	const struct pp_json *ext = pp_json_get(s->root, "extensions");
	size_t i;
	int rc;

	(void)diag;
	if (!(x.seen = pp_json_object()))
		return PP_ENOMEM;
	x.chosen_scratchpad = pp_json_get(filters, "scratchpad");
	if (x.chosen_scratchpad)
		pp_json_incref(x.chosen_scratchpad);
	else if (!(x.chosen_scratchpad = pp_json_array()) ||
		 pp_json_append(x.chosen_scratchpad, pp_json_string("off"))) {
		rc = PP_ENOMEM;
		goto out;
	}
	rc = expand_blocks(&x, pp_json_get(s->root, "grid"));
	for (i = 0; !rc && i < n_with; i++)
		if (pp_json_get(ext, with[i]))
			rc = expand_blocks(&x, pp_json_get(ext, with[i]));
out:
	pp_json_decref(x.seen);
	pp_json_decref(x.chosen_scratchpad);
	return rc;
}

#define MAX_NAMES 32

int pp_scenario_expand_whole(const struct pp_scenario *s, struct pp_json *out,
			     struct pp_diag *diag)
{
	const char *with[MAX_NAMES], *pads[MAX_NAMES];
	size_t n_with = pp_scenario_extensions(s, with, MAX_NAMES);
	size_t n_pads = pp_scenario_axis_values(s, "scratchpad", pads, MAX_NAMES), i;
	struct pp_json *filters = pp_json_object(), *list = pp_json_array();
	int rc = filters && list ? PP_OK : PP_ENOMEM;

	for (i = 0; !rc && i < n_pads && i < MAX_NAMES; i++)
		rc = pp_json_append(list, pp_json_string(pads[i]));
	if (!rc && n_pads) {
		rc = pp_json_set(filters, "scratchpad", list);
		list = NULL;
	}
	if (!rc)
		rc = pp_scenario_expand(s, filters, with, n_with < MAX_NAMES ? n_with : MAX_NAMES,
					out, diag);
	pp_json_decref(list);
	pp_json_decref(filters);
	return rc;
}

static size_t keys_of(const struct pp_json *obj, const char **names, size_t max)
{
	size_t n = 0;
	void *it;

	for (it = pp_json_iter(obj); it; it = pp_json_iter_next(obj, it), n++)
		if (n < max)
			names[n] = pp_json_iter_key(it);
	return n;
}

size_t pp_scenario_extensions(const struct pp_scenario *s, const char **names, size_t max)
{
	return keys_of(pp_json_get(s->root, "extensions"), names, max);
}

size_t pp_scenario_axis_values(const struct pp_scenario *s, const char *dim,
			       const char **names, size_t max)
{
	return keys_of(pp_json_get(pp_json_get(s->root, "axes"), dim), names, max);
}
