/*
 * report.h - reports over the store: rates with n and Wilson intervals,
 * per config and per group, in markdown, csv, json and html.
 *
 * A label's rate counts only rollouts where the label is decided; the
 * undecided and missing are counted beside it, never folded in as 0.
 * docs/report.md describes the report object and every column.
 */
#ifndef PEERPRES_REPORT_H
#define PEERPRES_REPORT_H

#include <stdio.h>

#include <peerpres/json.h>

enum pp_report_format { PP_REPORT_MD, PP_REPORT_CSV, PP_REPORT_JSON, PP_REPORT_HTML };

struct pp_store;

/* Builds the report object from pp_store_summary() output (borrowed): an
 * array of configs, each with its "rollouts". *out is new. PP_EINVAL when
 * summary is not an array of objects, PP_ENOMEM. */
int pp_report_build(const struct pp_json *summary, struct pp_json **out);

/*
 * Arms of one model that share the nine dimensions (runs at two
 * --max-iters, a control and its overlay, two routes) are kept apart by
 * their model text: "ref/synthetic [max_iters=5]", the part in brackets
 * also in "variant" (docs/report.md, "Arms are never pooled").
 * pp_report_variants gives configs (borrowed; pp_store_summary or
 * pp_store_configs output) those labels: *out is a new array of the same
 * configs in the same order, the relabelled ones shallow copies, the
 * others shared. A label depends on the configs given: a key is shown
 * only where it differs among them. PP_ENOMEM.
 */
int pp_report_variants(const struct pp_json *configs, struct pp_json **out);

/* The configs of configs (borrowed, as above) that the report shows as
 * model, a label as pp_report_variants gives it or a model with one arm:
 * *out is a new array of them, as labelled, empty when none is. So
 * "ref/synthetic [max_iters=5]" selects one arm, while the plain
 * "ref/synthetic" of a model with arms selects nothing here (the store's
 * model filter selects all of them). PP_EINVAL for a NULL argument,
 * PP_ENOMEM. */
int pp_report_arm(const struct pp_json *configs, const char *model, struct pp_json **out);

/* Writes a built report in a format to f (borrowed; not closed): md for
 * people, csv (RFC 4180, CRLF), json (pretty, keys sorted). PP_EIO when
 * writing fails, PP_EINVAL for an unknown format or a non-object. */
int pp_report_write(const struct pp_json *report, enum pp_report_format fmt, FILE *f);

/*
 * Writes the report as one self-contained HTML page (no network: style,
 * script and data inline; docs/report.md, "HTML"): summary tables,
 * charts, and a transcript viewer over the rollouts of summary's configs
 * read from store. summary is the pp_store_summary() array the report
 * was built from, judge verdicts applied (borrowed); store (borrowed)
 * may be NULL, and summary too, for a page without transcripts (what
 * pp_report_write does for PP_REPORT_HTML). max_transcripts < 0 writes
 * every transcript; otherwise at most that many, the misaligned first,
 * and the page says how many were left out. PP_EINVAL for a non-object
 * report, PP_EIO when writing fails, PP_ENOMEM, PP_ERANGE (the data
 * outgrew its 2 GB cap: lower max_transcripts), or the store's error
 * (pp_store_errmsg() says why).
 */
int pp_report_write_html(const struct pp_json *report, const struct pp_json *summary,
			 struct pp_store *store, long max_transcripts, FILE *f);

#endif
