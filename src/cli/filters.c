/*
 * filters.c - the dimension filters checked before they are used.
 *
 * A filter value is compared with the grid's text as is, so a typo
 * ("good-peer") silently selects nothing: a plan of 0 configs, a run
 * that stores nothing, a lint gate that passes, an empty report. Here a
 * value must be one its dimension takes somewhere in the scenarios (or,
 * for the commands that read a store, in the store: an import keeps a
 * legacy value it does not know), and the error lists the values there
 * are. The values come from the scenario files, never from C: the axes
 * they declare and the configs of their grids, with every extension and
 * every scratchpad mode.
 */
#include <limits.h>
#include <string.h>

#include <peerpres/status.h>

#include "cli/cli.h"

/* The filter dimensions, in the order the flags are listed. */
static const char *const filter_dims[] = {
	"scenario", "subject", "condition", "instantiation", "dataset", "threshold",
	"mode", "scratchpad"
};
#define N_FILTER_DIMS (sizeof(filter_dims) / sizeof(filter_dims[0]))

static int mark(struct pp_json *known, const char *dim, const char *value)
{
	struct pp_json *seen = pp_json_get(known, dim);

	if (!seen && (!(seen = pp_json_object()) || pp_json_set(known, dim, seen)))
		return PP_ENOMEM;
	return pp_json_get(seen, value) ? PP_OK : pp_json_set(seen, value, pp_json_bool(true));
}

/* The values of one scenario: the declared axes first, in their order,
 * then what only the grid has (thresholds, "none"). */
static int add_scenario(struct pp_json *known, const struct pp_scenario *s)
{
	struct pp_json *configs = pp_json_array();
	const char *names[64];
	size_t k, i, n;
	int rc = configs ? mark(known, "scenario", pp_scenario_name(s)) : PP_ENOMEM;

	for (k = 1; !rc && k < N_FILTER_DIMS; k++) {
		n = pp_scenario_axis_values(s, filter_dims[k], names, 64);
		for (i = 0; !rc && i < n && i < 64; i++)
			rc = mark(known, filter_dims[k], names[i]);
	}
	if (!rc) {
		struct pp_diag diag;

		pp_diag_clear(&diag);
		rc = pp_scenario_expand_whole(s, configs, &diag);
	}
	for (i = 0; !rc && i < pp_json_len(configs); i++)
		for (k = 1; !rc && k < N_FILTER_DIMS; k++)
			rc = mark(known, filter_dims[k],
				  pp_json_get_str(pp_json_at(configs, i), filter_dims[k], "none"));
	pp_json_decref(configs);
	return rc;
}

/* {dim: {value: true}} over the scenarios; NULL when out of memory. */
static struct pp_json *known_values(struct pp_scenario **list, size_t n)
{
	struct pp_json *known = pp_json_object();
	size_t i;

	for (i = 0; known && i < n; i++)
		if (add_scenario(known, list[i])) {
			pp_json_decref(known);
			return NULL;
		}
	return known;
}

/* Does the store hold a config with dim = value? */
static bool stored(struct pp_store *store, const char *dim, const char *value)
{
	struct pp_json *f = pp_json_object(), *v = pp_json_array(), *ids = NULL;
	bool found = false;

	if (f && v && !pp_json_append(v, pp_json_string(value)) && !pp_json_set(f, dim, v)) {
		v = NULL;
		found = !pp_store_config_ids(store, f, &ids) && pp_json_len(ids) > 0;
	}
	pp_json_decref(ids);
	pp_json_decref(v);
	pp_json_decref(f);
	return found;
}

static void unknown_value(const char *dim, const char *value, const struct pp_json *seen,
			  bool in_store)
{
	struct pp_buf b = PP_BUF_INIT;
	void *it;

	for (it = pp_json_iter(seen); it; it = pp_json_iter_next(seen, it))
		pp_buf_addf(&b, "%s%s", b.len ? ", " : "", pp_json_iter_key(it));
	cli_error("unknown --%s '%s' (not in the scenarios%s); the values are: %s", dim, value,
		  in_store ? " nor in the store" : "", b.len ? b.buf : "(none found)");
	pp_buf_release(&b);
}

static int check_known(const struct cli *c, const struct pp_json *known, struct pp_store *store)
{
	size_t k, i;

	for (k = 0; k < N_FILTER_DIMS; k++) {
		const struct pp_json *values = pp_json_get(c->filters, filter_dims[k]);
		const struct pp_json *seen = pp_json_get(known, filter_dims[k]);

		for (i = 0; i < pp_json_len(values); i++) {
			const char *v = pp_json_str(pp_json_at(values, i));

			if (pp_json_get(seen, v) || (store && stored(store, filter_dims[k], v)))
				continue;
			unknown_value(filter_dims[k], v, seen, store != NULL);
			return EXIT_USAGE;
		}
	}
	return 0;
}

int cli_check_filter_values(const struct cli *c, struct pp_scenario **list, size_t n,
			    struct pp_store *store)
{
	struct pp_json *known;
	int rc;

	if (!pp_json_len(c->filters))
		return 0;
	if (!(known = known_values(list, n))) {
		cli_error("out of memory");
		return EXIT_RUNTIME;
	}
	rc = check_known(c, known, store);
	pp_json_decref(known);
	return rc;
}

int cli_check_store_filters(const struct cli *c, struct pp_store *store)
{
	struct pp_scenario **list = NULL;
	struct pp_diag diag;
	char buf[PATH_MAX];
	size_t n = 0;
	int rc;

	if (!pp_json_len(c->filters))
		return 0;
	/* Without the scenario files the grid is unknown, and a value the
	 * store lacks may still be right: the empty result's note says it. */
	pp_diag_clear(&diag);
	if (pp_scenario_load_dir(cli_scenario_dir(c, buf, sizeof(buf)), &list, &n, &diag))
		return 0;
	rc = cli_check_filter_values(c, list, n, store);
	pp_scenario_list_free(list, n);
	return rc;
}

/* "--scenario tampering --mode monitoring" (and --model when given). */
static void describe(const struct cli *c, bool with_model, struct pp_buf *b)
{
	size_t k, i;

	for (k = 0; k < N_FILTER_DIMS; k++) {
		const struct pp_json *values = pp_json_get(c->filters, filter_dims[k]);

		if (!pp_json_len(values))
			continue;
		pp_buf_addf(b, "%s--%s ", b->len ? " " : "", filter_dims[k]);
		for (i = 0; i < pp_json_len(values); i++)
			pp_buf_addf(b, "%s%s", i ? "," : "", pp_json_str(pp_json_at(values, i)));
	}
	for (i = 0; i < c->n_with; i++)
		pp_buf_addf(b, "%s--with %s", b->len ? " " : "", c->with[i]);
	if (with_model && c->model_given)
		pp_buf_addf(b, "%s--model %s", b->len ? " " : "", c->model);
}

/* How many configs the filters select over the scenarios with the
 * extensions with; -1 when out of memory. */
static long count_configs(const struct cli *c, struct pp_scenario **list, size_t n,
			  const char *const *with, size_t n_with)
{
	struct pp_json *configs = pp_json_array();
	struct pp_diag diag;
	size_t i;
	long count = -1;
	int rc = configs ? PP_OK : PP_ENOMEM;

	pp_diag_clear(&diag);
	for (i = 0; !rc && i < n; i++)
		rc = pp_scenario_expand(list[i], c->filters, with, n_with, configs, &diag);
	if (!rc)
		count = (long)pp_json_len(configs);
	pp_json_decref(configs);
	return count;
}

/* An opt-in extension that would give the filters some configs
 * (borrowed), or NULL: --instantiation memory_hard needs --with. */
static const char *extension_with_some(const struct cli *c, struct pp_scenario **list, size_t n)
{
	const char *names[32];
	size_t i, k, n_ext;

	for (i = 0; i < n; i++) {
		n_ext = pp_scenario_extensions(list[i], names, 32);
		for (k = 0; k < n_ext && k < 32; k++)
			if (count_configs(c, list, n, &names[k], 1) > 0)
				return names[k];
	}
	return NULL;
}

int cli_check_some_config(const struct cli *c, struct pp_scenario **list, size_t n)
{
	struct pp_buf b = PP_BUF_INIT;
	long count = count_configs(c, list, n, c->with, c->n_with);
	const char *ext;

	if (count > 0)
		return 0;
	if (count < 0) {
		cli_error("out of memory");
		return EXIT_RUNTIME;
	}
	describe(c, false, &b);
	if ((ext = extension_with_some(c, list, n)))
		cli_error("no config matches these filters: %s (with '--with %s' some do)", b.buf, ext);
	else
		cli_error("no config matches these filters: %s", b.buf);
	pp_buf_release(&b);
	return EXIT_USAGE;
}

void cli_note_nothing_selected(const struct cli *c, size_t n)
{
	struct pp_buf b = PP_BUF_INIT;

	if (n || (!pp_json_len(c->filters) && !c->model_given))
		return;
	describe(c, true, &b);
	cli_error("note: no config in '%s' matches these filters: %s", c->db, b.buf);
	pp_buf_release(&b);
}
