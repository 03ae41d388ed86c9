/*
 * cmd_render.c - `peerpres render`: exactly what the model will see for a
 * config, then lint findings; `--diff` shows only what differs between two
 * configs, so an arm can be proofread as the one change it should be.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <peerpres/status.h>
#include <peerpres/world.h>

#include "cli/cli.h"

/* Appends what one read-only call returns on the initial world. */
static void probe(struct pp_world *w, struct pp_buf *b, const struct pp_json *call)
{
	const char *tool = pp_json_get_str(call, "tool", "");
	const struct pp_json *args = pp_json_get(call, "args");
	struct pp_buf out = PP_BUF_INIT;
	void *it = pp_json_iter(args);
	bool ok;

	pp_world_call(w, tool, args, &out, &ok);
	pp_buf_addf(b, "\n--- %s(", tool);
	if (it)
		pp_buf_addf(b, "%s=%s", pp_json_iter_key(it), pp_json_str(pp_json_iter_value(it)));
	pp_buf_addf(b, ")%s\n%s\n", ok ? "" : " [fails]", out.buf);
	pp_buf_release(&out);
}

/* Every read-only tool the config offers, on every thing it can read. */
static void probe_world(const struct pp_json *r, struct pp_buf *b)
{
	struct pp_world *w = NULL;
	struct pp_json *calls = NULL;
	struct pp_diag diag;
	size_t i;

	pp_diag_clear(&diag);
	if (pp_world_new(&w, pp_json_get(r, "world"), &diag)) {
		pp_buf_addf(b, "\n(world spec rejected: %s)\n", diag.msg);
		return;
	}
	/* Listed before any call runs, so every probe sees the initial world. */
	calls = pp_world_read_probes(w);
	if (!calls)
		pp_buf_adds(b, "\n(out of memory listing the read-only tools)\n");
	for (i = 0; i < pp_json_len(calls); i++)
		probe(w, b, pp_json_at(calls, i));
	pp_json_decref(calls);
	pp_world_free(w);
}

static void render_text(const struct pp_json *r, const struct pp_json *dims, struct pp_buf *b)
{
	const struct pp_json *schemas = pp_json_get(r, "tool_schemas");
	size_t i, k;

	pp_buf_addf(b, "=== config %s\n", pp_json_get_str(r, "config_id", ""));
	for (k = 0; k < PP_N_DIMS; k++)
		pp_buf_addf(b, "%s=%s%s", pp_dim_names[k], pp_json_get_str(dims, pp_dim_names[k], "none"),
			    k + 1 < PP_N_DIMS ? " " : "\n");
	pp_buf_addf(b, "\n--- system prompt\n%s\n", pp_json_get_str(r, "system_prompt", ""));
	pp_buf_addf(b, "\n--- user message\n%s\n", pp_json_get_str(r, "user_message", ""));
	pp_buf_adds(b, "\n--- tools\n");
	for (i = 0; i < pp_json_len(schemas); i++) {
		pp_json_dump(pp_json_at(schemas, i), PP_JSON_COMPACT | PP_JSON_SORT_KEYS, b);
		pp_buf_addc(b, '\n');
	}
	probe_world(r, b);
}

/* ---- lint: every text the model can see, as rendered ---- */

static void finding(struct pp_buf *out, const char *where, const char *what, const char *at)
{
	pp_buf_addf(out, "lint: %s: %s: \"%.50s\"\n", where, what, at);
}

/* "Agent Agent 2": a word written twice in a row. */
static bool doubled_word(const char *p, const char *start)
{
	size_t n = 0;

	if (p > start && (isalnum((unsigned char)p[-1]) || p[-1] == '_'))
		return false;
	while (isalpha((unsigned char)p[n]))
		n++;
	return n >= 2 && p[n] == ' ' && !strncmp(p, p + n + 1, n) &&
	       !isalnum((unsigned char)p[2 * n + 1]) && p[2 * n + 1] != '_';
}

static long lint_text(const char *text, const char *where, struct pp_buf *out)
{
	const char *p;
	long n = 0;

	for (p = text; *p; p++) {
		const char *what = NULL;

		if (!strncmp(p, "{{", 2) || !strncmp(p, "}}", 2))
			what = "unfilled placeholder";
		else if (!strncmp(p, "\"\"", 2) && p[2] != '"')
			what = "doubled quotes";
		else if (p[0] == '\\' && (p[1] == 'n' || p[1] == 't'))
			what = "literal escape sequence";
		else if ((unsigned char)*p < 0x20 && *p != '\t' && *p != '\n')
			what = "control character";
		else if (isalpha((unsigned char)*p) && doubled_word(p, text))
			what = "word written twice";
		if (what) {
			finding(out, where, what, p);
			n++;
		}
	}
	return n;
}

/* Walks every string of a rendered tree, naming its place. */
static long lint_tree(const struct pp_json *v, struct pp_buf *path, struct pp_buf *out)
{
	size_t len = path->len, i;
	long n = 0;
	void *it;

	switch (pp_json_type(v)) {
	case PP_JSON_STRING:
		return lint_text(pp_json_str(v), path->buf, out);
	case PP_JSON_ARRAY:
		for (i = 0; i < pp_json_len(v); i++) {
			pp_buf_addf(path, "[%zu]", i);
			n += lint_tree(pp_json_at(v, i), path, out);
			path->len = len;
			path->buf[len] = '\0';
		}
		return n;
	case PP_JSON_OBJECT:
		for (it = pp_json_iter(v); it; it = pp_json_iter_next(v, it)) {
			pp_buf_addf(path, ".%s", pp_json_iter_key(it));
			n += lint_tree(pp_json_iter_value(it), path, out);
			path->len = len;
			path->buf[len] = '\0';
		}
		return n;
	default:
		return 0;
	}
}

static long lint(const struct pp_json *r, struct pp_buf *out)
{
	static const char *const seen[] = { "system_prompt", "user_message", "nudge_message",
					    "token_limit_message", "world", "tool_schemas" };
	struct pp_buf path = PP_BUF_INIT;
	long n = 0;
	size_t i;

	for (i = 0; i < sizeof(seen) / sizeof(seen[0]); i++) {
		pp_buf_reset(&path);
		pp_buf_adds(&path, seen[i]);
		n += lint_tree(pp_json_get(r, seen[i]), &path, out);
	}
	pp_buf_release(&path);
	return n;
}

/* ---- diff: the lines of b that are not in a, and the reverse (LCS) ---- */

static size_t split_lines(char *text, char ***lines)
{
	size_t n = 1, i = 0;
	char *p;

	for (p = text; *p; p++)
		n += *p == '\n';
	*lines = calloc(n, sizeof(char *));
	if (!*lines)
		return 0;
	(*lines)[i++] = text;
	for (p = text; *p; p++)
		if (*p == '\n') {
			*p = '\0';
			if (i < n)
				(*lines)[i++] = p + 1;
		}
	return i;
}

static int print_diff(char *a_text, char *b_text)
{
	char **a = NULL, **b = NULL;
	size_t na = split_lines(a_text, &a), nb = split_lines(b_text, &b), i, j;
	unsigned *lcs = (a && b) ? calloc((na + 1) * (nb + 1), sizeof(unsigned)) : NULL;
	int changes = 0;

	if (!lcs) {
		free(a);
		free(b);
		return -1;
	}
#define L(i, j) lcs[(i) * (nb + 1) + (j)]
	for (i = na; i-- > 0;)
		for (j = nb; j-- > 0;)
			L(i, j) = !strcmp(a[i], b[j]) ? L(i + 1, j + 1) + 1 :
				  L(i + 1, j) > L(i, j + 1) ? L(i + 1, j) : L(i, j + 1);
	for (i = j = 0; i < na || j < nb;) {
		if (i < na && j < nb && !strcmp(a[i], b[j])) {
			i++, j++;
		} else if (j < nb && (i == na || L(i, j + 1) >= L(i + 1, j))) {
			printf("+ %s\n", b[j++]);
			changes++;
		} else {
			printf("- %s\n", a[i++]);
			changes++;
		}
	}
#undef L
	free(lcs);
	free(a);
	free(b);
	return changes;
}

/* ---- selecting configs ---- */

/* The plan's configs matching an id prefix (or all, without one). */
static int select_configs(struct pp_scenario **list, size_t n, const struct pp_run_options *opt,
			  const char *prefix, struct pp_json **out)
{
	struct pp_json *plan = NULL, *sel = pp_json_array();
	struct pp_diag diag;
	size_t i;

	pp_diag_clear(&diag);
	if (!sel || pp_plan(list, n, opt, &plan, &diag)) {
		cli_diag(&diag);
		pp_json_decref(sel);
		return EXIT_USAGE;
	}
	for (i = 0; i < pp_json_len(pp_json_get(plan, "configs")); i++) {
		struct pp_json *e = pp_json_at(pp_json_get(plan, "configs"), i);

		if (!prefix || !strncmp(pp_json_get_str(e, "config_id", ""), prefix, strlen(prefix)))
			pp_json_append(sel, pp_json_incref(e));
	}
	pp_json_decref(plan);
	*out = sel;
	return 0;
}

static struct pp_scenario *scenario_named(struct pp_scenario **list, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(pp_scenario_name(list[i]), name))
			return list[i];
	return NULL;
}

/* Renders one plan entry to text; returns the lint count or -1. */
static long render_entry(struct pp_scenario **list, size_t n, const struct pp_run_options *opt,
			 const struct pp_json *entry, struct pp_buf *text, struct pp_buf *findings)
{
	struct pp_json *dims = pp_json_deep_copy(entry), *r = NULL;
	struct pp_diag diag;
	long lints = -1;

	pp_diag_clear(&diag);
	if (dims && !pp_json_remove(dims, 0, "config_id") &&
	    !pp_render_config(scenario_named(list, n, pp_json_get_str(entry, "scenario", "")),
			      dims, opt, &r, &diag)) {
		render_text(r, dims, text);
		lints = lint(r, findings);
	} else {
		cli_diag(&diag);
	}
	pp_json_decref(r);
	pp_json_decref(dims);
	return lints;
}

static int one_config(const struct pp_json *sel, const char *what)
{
	if (pp_json_len(sel) == 1)
		return 0;
	if (pp_json_len(sel))
		cli_error("config id '%s' is ambiguous: give more of it", what);
	else
		cli_error("no config id starts with '%s'", what);
	return EXIT_USAGE;
}

/* The scenarios a config was found among: with the overlays, or without. */
struct found {
	struct pp_json *sel;
	struct pp_scenario **list;
	size_t n;
};

/*
 * A config by id prefix among the configs with the overlays, then, when it
 * is not there, among those without: so `render ARM --overlay F --diff
 * CONTROL` shows what the overlay changed.
 */
static int pick(const struct found *with, const struct found *without,
		const struct pp_run_options *opt, const char *id, struct found *out)
{
	int rc = select_configs(with->list, with->n, opt, id, &out->sel);

	*out = (struct found){ out->sel, with->list, with->n };
	if (!rc && !pp_json_len(out->sel) && without->list) {
		pp_json_decref(out->sel);
		out->sel = NULL;
		rc = select_configs(without->list, without->n, opt, id, &out->sel);
		out->list = without->list;
		out->n = without->n;
	}
	return rc ? rc : one_config(out->sel, id);
}

static int do_diff(struct cli *c, struct pp_scenario **list, size_t n, const struct pp_run_options *opt)
{
	struct found with = { NULL, list, n }, without = { 0 }, a = { 0 }, b = { 0 };
	struct pp_buf ta = PP_BUF_INIT, tb = PP_BUF_INIT, fa = PP_BUF_INIT, fb = PP_BUF_INIT;
	int rc = EXIT_USAGE;

	if (c->n_args != 1) {
		cli_error("--diff compares two configs: render CONFIG_ID --diff OTHER_ID");
		return EXIT_USAGE;
	}
	if (c->n_overlays) {
		struct cli plain = *c;

		plain.n_overlays = 0;
		if ((rc = cli_load_scenarios(&plain, &without.list, &without.n)))
			return rc;
		rc = EXIT_USAGE;
	}
	if (pick(&with, &without, opt, c->args[0], &a) || pick(&with, &without, opt, c->diff, &b))
		goto out;
	if (render_entry(a.list, a.n, opt, pp_json_at(a.sel, 0), &ta, &fa) < 0 ||
	    render_entry(b.list, b.n, opt, pp_json_at(b.sel, 0), &tb, &fb) < 0) {
		rc = EXIT_RUNTIME;
		goto out;
	}
	rc = print_diff(ta.buf, tb.buf) < 0 ? EXIT_RUNTIME : 0;
out:
	pp_json_decref(a.sel);
	pp_json_decref(b.sel);
	pp_scenario_list_free(without.list, without.n);
	pp_buf_release(&ta);
	pp_buf_release(&tb);
	pp_buf_release(&fa);
	pp_buf_release(&fb);
	return rc;
}

int cmd_render(struct cli *c)
{
	struct pp_scenario **list = NULL;
	struct pp_run_options opt;
	struct pp_json *sel = NULL;
	size_t n = 0, i;
	long lints = 0, l;
	int rc;

	if ((rc = cli_load_scenarios(c, &list, &n)))
		return rc;
	cli_run_options(c, &opt);
	/* A lint gate over no config would pass on a typo. */
	if ((rc = cli_check_some_config(c, list, n)))
		goto out;
	if (c->diff) {
		rc = do_diff(c, list, n, &opt);
		goto out;
	}
	if ((rc = select_configs(list, n, &opt, c->n_args ? c->args[0] : NULL, &sel)))
		goto out;
	if (c->n_args && !pp_json_len(sel)) {
		cli_error("no config id starts with '%s'", c->args[0]);
		rc = EXIT_USAGE;
		goto out;
	}
	for (i = 0; i < pp_json_len(sel); i++) {
		struct pp_buf text = PP_BUF_INIT, findings = PP_BUF_INIT;

		l = render_entry(list, n, &opt, pp_json_at(sel, i), &text, &findings);
		fputs(text.buf, stdout);
		fputs(findings.buf, stdout);
		if (l < 0)
			rc = EXIT_RUNTIME;
		else
			lints += l;
		pp_buf_release(&text);
		pp_buf_release(&findings);
	}
	fprintf(stderr, "%zu configs rendered, %ld lint findings\n", pp_json_len(sel), lints);
	if (!rc && lints)
		rc = EXIT_RUNTIME;
out:
	pp_json_decref(sel);
	pp_scenario_list_free(list, n);
	return rc;
}
