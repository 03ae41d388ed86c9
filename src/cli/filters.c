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
 *
 * --model is compared with the store alone. Besides a stored model it
 * takes the label the report gives one arm of a model
 * ("ref/synthetic [max_iters=5]", pp_report_variants), which no stored
 * config carries: it becomes the plain model and the arm's config ids.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <peerpres/report.h>
#include <peerpres/status.h>

#include "cli/cli.h"
#include "core/alloc.h"

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

int cli_check_with(const struct cli *c, struct pp_scenario **list, size_t n)
{
	const char *names[64];
	struct pp_json *known = c->n_with ? pp_json_object() : NULL;
	struct pp_buf text = PP_BUF_INIT;
	size_t i, j, k, m;
	void *it;
	int rc = 0;

	if (!c->n_with)
		return 0;
	if (!known) {
		cli_error("out of memory");
		return EXIT_RUNTIME;
	}
	for (j = 0; j < n; j++)
		for (k = 0, m = pp_scenario_extensions(list[j], names, 64); k < m && k < 64; k++)
			pp_json_set(known, names[k], pp_json_bool(true));
	for (it = pp_json_iter(known); it; it = pp_json_iter_next(known, it))
		pp_buf_addf(&text, "%s%s", text.len ? ", " : "", pp_json_iter_key(it));
	/* A misspelt extension would run the plain grid and say nothing. */
	for (i = 0; !rc && i < c->n_with; i++)
		if (!pp_json_get(known, c->with[i])) {
			cli_error("unknown --with '%s': no scenario has that extension (the extensions: %s)",
				  c->with[i], text.len ? text.buf : "none");
			rc = EXIT_USAGE;
		}
	pp_buf_release(&text);
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

/* ---- --model as the report labels an arm ---- */

/* The length of the model in an arm's label, "M [variant]"; 0 when v is
 * not shaped as one. */
static size_t label_base(const char *v)
{
	const char *br = strstr(v, " [");
	size_t n = strlen(v);

	return br && br > v && v[n - 1] == ']' ? (size_t)(br - v) : 0;
}

/* Adds to ids ({config_id: true}) the configs the filters select that
 * the report of those configs shows as label. */
static int add_arm_ids(struct pp_store *store, const struct pp_json *filters, const char *label,
		       struct pp_json *ids)
{
	struct pp_json *configs = NULL, *arm = NULL;
	size_t i;
	int rc = pp_store_configs(store, filters, &configs);

	if (!rc)
		rc = pp_report_arm(configs, label, &arm);
	for (i = 0; !rc && i < pp_json_len(arm); i++)
		rc = pp_json_set(ids, pp_json_get_str(pp_json_at(arm, i), "config_id", ""),
				 pp_json_bool(true));
	pp_json_decref(arm);
	pp_json_decref(configs);
	return rc;
}

/* Adds to seen ({text: true}) every model and arm label the report of
 * the configs the filters select shows. */
static int add_models(struct pp_store *store, const struct pp_json *filters, struct pp_json *seen)
{
	struct pp_json *configs = NULL, *marked = NULL;
	size_t i;
	int rc = pp_store_configs(store, filters, &configs);

	if (!rc)
		rc = pp_report_variants(configs, &marked);
	for (i = 0; !rc && i < pp_json_len(marked); i++) {
		rc = pp_json_set(seen, pp_json_get_str(pp_json_at(configs, i), "model", ""),
				 pp_json_bool(true));
		if (!rc)
			rc = pp_json_set(seen, pp_json_get_str(pp_json_at(marked, i), "model", ""),
					 pp_json_bool(true));
	}
	pp_json_decref(marked);
	pp_json_decref(configs);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "unknown --model ...; the values are: ..." with the store's models and
 * arms, sorted. Returns EXIT_USAGE, or EXIT_RUNTIME when the store fails. */
static int unknown_model(const struct cli *c, struct pp_store *store)
{
	struct pp_json *seen = pp_json_object();
	struct pp_buf b = PP_BUF_INIT;
	const char **names = NULL;
	size_t i, n = 0;
	void *it;
	int rc = seen ? add_models(store, NULL, seen) : PP_ENOMEM;

	if (!rc && pp_json_len(c->filters))
		rc = add_models(store, c->filters, seen);
	if (!rc && !(names = pp_calloc(pp_json_len(seen) + 1, sizeof(*names))))
		rc = PP_ENOMEM;
	if (rc) {
		cli_error("cannot read '%s': %s", c->db, *pp_store_errmsg(store) ?
			  pp_store_errmsg(store) : pp_strerror(rc));
		pp_json_decref(seen);
		return EXIT_RUNTIME;
	}
	for (it = pp_json_iter(seen); it; it = pp_json_iter_next(seen, it))
		names[n++] = pp_json_iter_key(it);
	qsort(names, n, sizeof(*names), cmp_str);
	for (i = 0; i < n; i++)
		pp_buf_addf(&b, "%s%s", i ? ", " : "", names[i]);
	cli_error("unknown --model '%s' (no model nor arm of one in '%s'); the values are: %s",
		  c->model, c->db, n ? b.buf : "(none found)");
	pp_buf_release(&b);
	free(names);
	pp_json_decref(seen);
	return EXIT_USAGE;
}

/* f's "model" the plain model, and "config_id" the ids. */
static int narrow_to_arm(struct pp_json *f, const char *base, const struct pp_json *ids)
{
	struct pp_json *models = pp_json_array(), *list = pp_json_array();
	void *it;
	int rc = models && list ? PP_OK : PP_ENOMEM;

	if (!rc)
		rc = pp_json_append(models, pp_json_string(base));
	for (it = pp_json_iter(ids); !rc && it; it = pp_json_iter_next(ids, it))
		rc = pp_json_append(list, pp_json_string(pp_json_iter_key(it)));
	/* pp_json_set takes the value whether or not it succeeds */
	if (!rc) {
		rc = pp_json_set(f, "model", models);
		models = NULL;
	}
	if (!rc) {
		rc = pp_json_set(f, "config_id", list);
		list = NULL;
	}
	pp_json_decref(models);
	pp_json_decref(list);
	return rc;
}

/* The configs the label selects: those the whole store's report shows
 * under it, and those the report of these filters does (a key the
 * filters leave one value of drops out of the label), in ids. */
static int arm_ids(const struct cli *c, struct pp_store *store, const char *base,
		   struct pp_json *ids)
{
	struct pp_json *f = pp_json_object(), *g = NULL;
	int rc = f ? pp_json_set_str(f, "model", base) : PP_ENOMEM;

	if (!rc)
		rc = add_arm_ids(store, f, c->model, ids);
	if (!rc && pp_json_len(c->filters)) {
		if (!(g = pp_json_deep_copy(c->filters)))
			rc = PP_ENOMEM;
		if (!rc)
			rc = pp_json_set_str(g, "model", base);
		if (!rc)
			rc = add_arm_ids(store, g, c->model, ids);
	}
	pp_json_decref(g);
	pp_json_decref(f);
	return rc;
}

int cli_arm_filters(const struct cli *c, struct pp_store *store, struct pp_json **out)
{
	struct pp_json *f = cli_store_filters(c), *ids = NULL;
	struct pp_buf base = PP_BUF_INIT;
	size_t n = 0;
	int rc = f ? PP_OK : PP_ENOMEM, exit_rc = 0;

	*out = NULL;
	/* A stored model is itself, even if it looks like a label. */
	if (f && c->model_given && (n = label_base(c->model)) && !stored(store, "model", c->model)) {
		rc = (ids = pp_json_object()) ? pp_buf_add(&base, c->model, n) : PP_ENOMEM;
		if (!rc)
			rc = arm_ids(c, store, base.buf, ids);
		if (!rc && !pp_json_len(ids))
			exit_rc = unknown_model(c, store);
		else if (!rc)
			rc = narrow_to_arm(f, base.buf, ids);
	}
	if (rc) {
		cli_error("cannot read '%s': %s", c->db, *pp_store_errmsg(store) ?
			  pp_store_errmsg(store) : pp_strerror(rc));
		exit_rc = EXIT_RUNTIME;
	}
	if (!exit_rc) {
		*out = f;
		f = NULL;
	}
	pp_json_decref(ids);
	pp_buf_release(&base);
	pp_json_decref(f);
	return exit_rc;
}

int cli_label_arm(const struct cli *c, const struct pp_json *filters, struct pp_json *summary)
{
	size_t i, n = c->model_given ? label_base(c->model) : 0;
	struct pp_buf variant = PP_BUF_INIT;
	int rc;

	if (!n || !pp_json_get(filters, "config_id"))
		return PP_OK;
	/* "M [v]": v is what lies between " [" and the closing "]" */
	rc = pp_buf_add(&variant, c->model + n + 2, strlen(c->model) - n - 3);
	for (i = 0; !rc && i < pp_json_len(summary); i++) {
		struct pp_json *cfg = pp_json_at(summary, i);

		rc = pp_json_set_str(cfg, "model", c->model);
		if (!rc)
			rc = pp_json_set_str(cfg, "variant", variant.buf);
	}
	pp_buf_release(&variant);
	return rc;
}
