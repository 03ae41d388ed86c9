/*
 * cmd_validate.c - `peerpres validate`: a scenario file's shape, every
 * template of every config (all extensions and scratchpad modes), and
 * every reference route replayed against the labels it declares.
 *
 * One wrong `expect` contradicts its route in every config the route
 * plays in (hundreds, with the scratchpad modes): identical failures are
 * gathered, per file, into one line with a count and one example config,
 * so the cause is what the user sees.
 */
#include <stdlib.h>
#include <string.h>

#include <peerpres/labels.h>
#include <peerpres/status.h>

#include "cli/cli.h"

static void describe(const struct pp_json *dims, struct pp_buf *b)
{
	size_t k;

	for (k = 0; k < PP_N_DIMS; k++) {
		const char *v = pp_json_get_str(dims, pp_dim_names[k], "none");

		if (strcmp(v, "none"))
			pp_buf_addf(b, "%s%s=%s", b->len ? " " : "", pp_dim_names[k], v);
	}
}

/* Counts a contradiction in its group (same route, same mismatches),
 * starting a group with this config as the example. */
static int tally(struct pp_json *groups, const char *route, const char *why, const char *where)
{
	struct pp_json *g;
	long long n;
	size_t i;
	int rc;

	for (i = 0; i < pp_json_len(groups); i++) {
		g = pp_json_at(groups, i);
		if (!strcmp(pp_json_get_str(g, "route", ""), route) &&
		    !strcmp(pp_json_get_str(g, "why", ""), why)) {
			n = 0;
			pp_json_int(pp_json_get(g, "n"), &n);
			return pp_json_set(g, "n", pp_json_integer(n + 1));
		}
	}
	if (!(g = pp_json_object()))
		return PP_ENOMEM;
	rc = pp_json_set_str(g, "route", route);
	if (!rc)
		rc = pp_json_set_str(g, "why", why);
	if (!rc)
		rc = pp_json_set_str(g, "example", where);
	if (!rc)
		rc = pp_json_set(g, "n", pp_json_integer(1));
	if (rc) {
		pp_json_decref(g);
		return rc;
	}
	return pp_json_append(groups, g);
}

static void print_groups(const char *path, const struct pp_json *groups)
{
	size_t i;

	for (i = 0; i < pp_json_len(groups); i++) {
		const struct pp_json *g = pp_json_at(groups, i);
		long long n = 0;

		pp_json_int(pp_json_get(g, "n"), &n);
		fprintf(stderr, "%s: route '%s' contradicts its labels in %lld config%s (%s%s):\n%s",
			path, pp_json_get_str(g, "route", "?"), n, n == 1 ? "" : "s",
			n == 1 ? "" : "e.g. ", pp_json_get_str(g, "example", ""),
			pp_json_get_str(g, "why", ""));
	}
}

static int check_config(const struct pp_scenario *s, const struct pp_json *dims,
			const struct pp_run_options *opt, struct pp_json *groups,
			long *n_routes, long *n_bad)
{
	struct pp_json *r = NULL;
	struct pp_labels *labels = NULL;
	struct pp_buf why = PP_BUF_INIT, where = PP_BUF_INIT;
	struct pp_diag diag;
	size_t i;
	int rc, bad;

	pp_diag_clear(&diag);
	rc = pp_render_config(s, dims, opt, &r, &diag);
	if (!rc)
		rc = pp_labels_compile(&labels, pp_json_get(r, "labels"), pp_json_get(r, "patterns"),
				       pp_json_get(r, "extract"), &diag);
	describe(dims, &where);
	for (i = 0; !rc && i < pp_json_len(pp_json_get(r, "routes")); i++) {
		const struct pp_json *route = pp_json_at(pp_json_get(r, "routes"), i);

		pp_buf_reset(&why);
		rc = pp_check_route(r, labels, route, opt->max_iters, &bad, &why, NULL, &diag);
		(*n_routes)++;
		if (!rc && bad) {
			(*n_bad)++;
			rc = tally(groups, pp_json_get_str(route, "name", "?"), why.buf, where.buf);
		}
	}
	if (rc) {
		/* Only the first reason counts: this fills in one if none was given. */
		pp_diag_set(&diag, rc, pp_scenario_path(s), 0, 0, "%s", pp_strerror(rc));
		cli_diag(&diag);
		(*n_bad)++;
	}
	pp_buf_release(&why);
	pp_buf_release(&where);
	pp_labels_free(labels);
	pp_json_decref(r);
	return rc;
}

/* Applies the overlays to s; touched[i] is set when overlay i applied
 * to it (its bytes then joined the scenario's hash). */
static int apply_overlays(struct pp_scenario *s, const struct cli *c, bool *touched,
			  struct pp_diag *diag)
{
	char before[65];
	size_t i;
	int rc = PP_OK;

	for (i = 0; !rc && i < c->n_overlays; i++) {
		snprintf(before, sizeof(before), "%s", pp_scenario_hash(s));
		rc = pp_scenario_overlay(s, c->overlays[i], diag);
		if (!rc && strcmp(before, pp_scenario_hash(s)))
			touched[i] = true;
	}
	return rc;
}

static int validate_file(const char *path, const struct cli *c, bool *touched,
			 long *n_configs, long *n_routes, long *n_bad, bool *skipped)
{
	struct pp_scenario *s = NULL;
	struct pp_json *configs = pp_json_array(), *groups = pp_json_array();
	struct pp_run_options opt;
	struct pp_diag diag;
	size_t i;
	int rc = (configs && groups) ? PP_OK : PP_ENOMEM;

	pp_diag_clear(&diag);
	cli_run_options(c, &opt);
	/* Validation names the agents as a real family would be named. */
	if (!c->family && !strncmp(opt.model, "ref/", 4))
		opt.family = "Gemini";
	if (!rc && (rc = pp_scenario_load(&s, path, &diag)) == PP_ENOTFOUND) {
		/* A shared include (common.yaml) is checked through the
		 * scenarios that include it. */
		*skipped = true;
		rc = PP_OK;
		goto out;
	}
	/* An arm's overlay is checked with the routes it could break. */
	if (!rc)
		rc = apply_overlays(s, c, touched, &diag);
	if (rc)
		cli_diag(&diag);   /* the load's error or the overlay's */
	/* Every scratchpad mode and every extension: nothing goes unchecked. */
	if (!rc && (rc = pp_scenario_expand_whole(s, configs, &diag)))
		cli_diag(&diag);
	for (i = 0; !rc && i < pp_json_len(configs); i++) {
		(*n_configs)++;
		rc = check_config(s, pp_json_at(configs, i), &opt, groups, n_routes, n_bad);
	}
	print_groups(path, groups);
out:
	pp_json_decref(groups);
	pp_json_decref(configs);
	pp_scenario_free(s);
	return rc;
}

/* The overlays' checks that need every scenario (a misspelt var, a
 * document no drive shows, an unknown name under `scenarios`), made over
 * the scenarios a run would load: one file at a time cannot tell. */
static bool overlays_fail(const struct cli *c)
{
	struct pp_scenario **list = NULL;
	size_t n = 0, i;

	if (!c->n_overlays || !cli_load_scenarios(c, &list, &n)) {
		pp_scenario_list_free(list, n);
		return false;
	}
	for (i = 0; i < c->n_overlays; i++)
		fprintf(stderr, "%s: FAILED\n", c->overlays[i]);
	return true;
}

/* An overlay that changed none of the files given was checked only for
 * what needs no render: its templates and routes were not. */
static size_t note_untouched(const struct cli *c, const bool *touched)
{
	size_t i, n = 0;

	for (i = 0; i < c->n_overlays; i++) {
		if (touched[i])
			continue;
		fprintf(stderr, "peerpres: note: %s changes none of the scenario files given, so "
			"the templates and routes it changes were not checked; give the files of "
			"the scenarios it names\n", c->overlays[i]);
		n++;
	}
	return n;
}

int cmd_validate(struct cli *c)
{
	long n_configs = 0, n_routes = 0, n_bad = 0, n_files_bad = 0;
	bool overlay_bad, *touched;
	size_t i, n_untouched;

	if (!c->n_args) {
		cli_error("validate needs scenario files; see 'peerpres validate --help'");
		return EXIT_USAGE;
	}
	if (!(touched = calloc(c->n_overlays + 1, sizeof(*touched)))) {
		cli_error("out of memory");
		return EXIT_RUNTIME;
	}
	overlay_bad = overlays_fail(c);
	for (i = 0; i < c->n_args; i++) {
		long before = n_bad;
		bool skipped = false;

		if (validate_file(c->args[i], c, touched, &n_configs, &n_routes, &n_bad, &skipped) ||
		    n_bad > before) {
			n_files_bad++;
			fprintf(stderr, "%s: FAILED\n", c->args[i]);
		} else if (skipped) {
			printf("%s: skipped (no 'scenario' key: an include, checked through its scenarios)\n",
			       c->args[i]);
		} else {
			printf("%s: ok\n", c->args[i]);
		}
	}
	/* A file that failed to load adds no configs and no checks: the
	 * counts alone would read as a clean pass. */
	printf("%ld configs, %ld route checks, %ld failures", n_configs, n_routes, n_bad);
	if (n_files_bad)
		printf("; %ld of %zu files FAILED", n_files_bad, c->n_args);
	if (overlay_bad)
		printf("; the overlay FAILED");
	n_untouched = overlay_bad ? 0 : note_untouched(c, touched);
	if (n_untouched)
		printf("; %zu overlay(s) changed none of these files", n_untouched);
	putchar('\n');
	free(touched);
	return n_files_bad || overlay_bad ? EXIT_RUNTIME : 0;
}
