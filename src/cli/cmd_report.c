/*
 * cmd_report.c - `peerpres report`: rates from the store, as markdown,
 * csv, json or a self-contained HTML page with the transcripts.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <peerpres/metrics.h>
#include <peerpres/report.h>
#include <peerpres/status.h>
#include <peerpres/store.h>

#include "cli/cli.h"

static int parse_format(const char *s, enum pp_report_format *f)
{
	if (!s || !strcmp(s, "md") || !strcmp(s, "markdown"))
		*f = PP_REPORT_MD;
	else if (!strcmp(s, "csv"))
		*f = PP_REPORT_CSV;
	else if (!strcmp(s, "json"))
		*f = PP_REPORT_JSON;
	else if (!strcmp(s, "html"))
		*f = PP_REPORT_HTML;
	else
		return -1;
	return 0;
}

/* --html-transcripts: "all" (or absent) is -1, else a count >= 0. */
static int parse_cap(const char *s, long *cap)
{
	char *end;

	*cap = -1;
	if (!s || !strcmp(s, "all"))
		return 0;
	errno = 0;
	*cap = strtol(s, &end, 10);
	if (!*s || *end || errno || *cap < 0) {
		cli_error("--html-transcripts takes a count or 'all', not '%s'", s);
		return -1;
	}
	return 0;
}

static int write_report(const struct cli *c, const struct pp_json *report,
			const struct pp_json *summary, struct pp_store *store,
			enum pp_report_format fmt, long cap)
{
	FILE *out = cli_output(c);
	int rc;

	if (!out)
		return EXIT_RUNTIME;
	if (fmt == PP_REPORT_HTML)
		rc = pp_report_write_html(report, summary, store, cap, out);
	else
		rc = pp_report_write(report, fmt, out);
	if (out != stdout && fclose(out) && !rc)
		rc = PP_EIO;
	if (rc == PP_EIO)
		cli_error("cannot write '%s': %s", c->output ? c->output : "-", strerror(errno));
	else if (rc && fmt == PP_REPORT_HTML && *pp_store_errmsg(store))
		cli_error("cannot write the html report: %s", pp_store_errmsg(store));
	else if (rc)
		cli_error("cannot write the report: %s", pp_strerror(rc));
	return rc ? EXIT_RUNTIME : 0;
}

static bool in_list(const struct pp_json *list, const char *v)
{
	size_t i;

	if (pp_json_is_string(list))
		return !strcmp(pp_json_str(list), v);
	for (i = 0; i < pp_json_len(list); i++)
		if (!strcmp(pp_json_str(pp_json_at(list, i)), v))
			return true;
	return false;
}

/* Is v an arm's label ("m/x [max_iters=5]") whose plain model is
 * listed? --model m/x keeps every arm of m/x. */
static bool arm_in_list(const struct pp_json *list, const char *v)
{
	const char *br = strstr(v, " [");
	size_t i, n = br ? (size_t)(br - v) : 0;

	for (i = 0; n && i < (pp_json_is_string(list) ? 1 : pp_json_len(list)); i++) {
		const char *m = pp_json_str(pp_json_is_string(list) ? list : pp_json_at(list, i));

		if (m && strlen(m) == n && !strncmp(m, v, n))
			return true;
	}
	return false;
}

/* The partner cell as store filters: every dim but an arm's model
 * ("m/x [max_iters=5]" is a label of the report's, not stored text). */
static struct pp_json *cell_filters(const struct pp_json *cell)
{
	struct pp_json *f = pp_json_object();
	void *it;

	for (it = pp_json_iter(cell); f && it; it = pp_json_iter_next(cell, it)) {
		const char *dim = pp_json_iter_key(it), *v = pp_json_str(pp_json_iter_value(it));

		if (!v || (!strcmp(dim, "model") && strstr(v, " [")))
			continue;
		if (pp_json_set_str(f, dim, v)) {
			pp_json_decref(f);
			return NULL;
		}
	}
	return f;
}

/*
 * A difference whose partner cell (b_cell) the report lacks: when the
 * filters left it out and the store holds it, the row says which flags
 * ("b_left_out_by": "--condition"), so "no non_shutdown cell" is not read
 * as "the store has none". The metrics are not recomputed over the
 * partner: rows of the report stay rows of the configs it shows.
 */
static int note_left_out(struct pp_store *store, const struct pp_json *filters,
			 struct pp_json *row)
{
	const struct pp_json *cell = pp_json_get(row, "b_cell");
	struct pp_json *f = NULL, *ids = NULL;
	struct pp_buf flags = PP_BUF_INIT;
	void *it;
	int rc = PP_OK;

	for (it = pp_json_iter(filters); it; it = pp_json_iter_next(filters, it)) {
		const char *key = pp_json_iter_key(it), *v = pp_json_get_str(cell, key, NULL);

		if (v && !in_list(pp_json_iter_value(it), v) &&
		    !(!strcmp(key, "model") && arm_in_list(pp_json_iter_value(it), v)))
			pp_buf_addf(&flags, "%s--%s", flags.len ? ", " : "", pp_json_iter_key(it));
	}
	if (!flags.len)
		goto out;
	if (!(f = cell_filters(cell)) || (rc = pp_store_config_ids(store, f, &ids))) {
		rc = rc ? rc : PP_ENOMEM;
		goto out;
	}
	if (pp_json_len(ids))
		rc = pp_json_set_str(row, "b_left_out_by", flags.buf);
out:
	pp_json_decref(ids);
	pp_json_decref(f);
	pp_buf_release(&flags);
	return rc;
}

/* "code_versions": [{"version", "rollouts"}] of the rollouts reported,
 * so that a cell pooling two versions of the code (a top-up after a
 * change) says so. */
static int add_versions(struct pp_store *store, const struct pp_json *filters,
			struct pp_json *report)
{
	struct pp_json *rows = NULL, *list = pp_json_array();
	size_t i;
	int rc = list ? pp_store_versions(store, filters, &rows) : PP_ENOMEM;

	for (i = 0; !rc && i < pp_json_len(rows); i++) {
		const struct pp_json *row = pp_json_at(rows, i);
		struct pp_json *o = pp_json_object();

		rc = o ? pp_json_set(o, "version", pp_json_incref(pp_json_at(row, 0))) : PP_ENOMEM;
		if (!rc)
			rc = pp_json_set(o, "rollouts", pp_json_incref(pp_json_at(row, 1)));
		rc = rc ? (pp_json_decref(o), rc) : pp_json_append(list, o);
	}
	if (!rc && pp_json_is_object(report))
		rc = pp_json_set(report, "code_versions", pp_json_incref(list));
	pp_json_decref(rows);
	pp_json_decref(list);
	return rc;
}

static int note_all_left_out(struct pp_store *store, const struct pp_json *filters,
			     struct pp_json *report)
{
	struct pp_json *rows = pp_json_get(report, "metrics");
	size_t i;
	int rc = PP_OK;

	if (!pp_json_len(filters))
		return PP_OK;
	for (i = 0; !rc && i < pp_json_len(rows); i++) {
		struct pp_json *row = pp_json_at(rows, i);

		if (pp_json_is_object(pp_json_get(row, "b_cell")))
			rc = note_left_out(store, filters, row);
	}
	return rc;
}

int cmd_report(struct cli *c)
{
	enum pp_report_format fmt;
	struct pp_store *store = NULL;
	struct pp_json *summary = NULL, *report = NULL, *filters = NULL, *given = NULL;
	struct pp_json *judge = NULL;
	long cap;
	int rc = EXIT_RUNTIME;

	if (cli_no_args(c, "report"))
		return EXIT_USAGE;
	if (parse_format(c->format, &fmt)) {
		cli_error("unknown report format '%s' (md, csv, json or html)", c->format);
		return EXIT_USAGE;
	}
	if (parse_cap(c->html_transcripts, &cap))
		return EXIT_USAGE;
	if (cli_open_store(c, &store, true))
		return EXIT_RUNTIME;
	if ((rc = cli_check_store_filters(c, store))) {
		pp_store_close(store);
		return rc;
	}
	if ((rc = cli_arm_filters(c, store, &filters)))
		goto out;
	rc = EXIT_RUNTIME;
	/* given: the filters as the flags say them, an arm's label as its
	 * model, which is how the report's cells name it */
	if (!(given = cli_store_filters(c)) || pp_store_summary(store, filters, &summary)) {
		cli_error("cannot read '%s': %s", c->db, pp_store_errmsg(store));
		goto out;
	}
	/* Still a report, with its empty tables, but not a silent one. */
	cli_note_nothing_selected(c, pp_json_len(summary));
	if (cli_label_arm(c, filters, summary))
		cli_error("cannot build the report");
	else if (pp_store_apply_judge(store, summary, c->n_judges ? c->judges[0] : NULL, &judge))
		cli_error("cannot apply the judge: %s", pp_store_errmsg(store));
	else if (pp_report_build(summary, &report))
		cli_error("cannot build the report");
	else if (c->study_refusal && pp_report_study_refusal(summary, report))
		cli_error("cannot apply the study's refusal adjustment");
	else if (note_all_left_out(store, given, report) || add_versions(store, filters, report))
		cli_error("cannot read '%s': %s", c->db, pp_store_errmsg(store));
	/* Which judge filled the undecided labels, for the writers. */
	else if (pp_json_is_object(report) &&
		 pp_json_set(report, "judge", judge ? pp_json_incref(judge) : pp_json_null()))
		cli_error("cannot build the report");
	else
		rc = write_report(c, report, summary, store, fmt, cap);
out:
	pp_json_decref(filters);
	pp_json_decref(given);
	pp_json_decref(summary);
	pp_json_decref(judge);
	pp_json_decref(report);
	pp_store_close(store);
	return rc;
}
