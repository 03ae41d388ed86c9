/*
 * report_int.h - what the report files share: the table of writers (one
 * file per format, after curl's vtls backends) and the value-key
 * convention.
 *
 * Writers read only the built report object (docs/report.md), never the
 * summary, so every format shows the same numbers.
 */
#ifndef PP_REPORT_INT_H
#define PP_REPORT_INT_H

#include <stdio.h>

#include <peerpres/json.h>
#include <peerpres/report.h>

struct pp_report_writer {
	enum pp_report_format fmt;
	const char *name;
	/* Writes the report to f; PP_EIO when the stream fails. */
	int (*write)(const struct pp_json *report, FILE *f);
};

extern const struct pp_report_writer pp_report_md_writer;
extern const struct pp_report_writer pp_report_csv_writer;
extern const struct pp_report_writer pp_report_json_writer;
extern const struct pp_report_writer pp_report_html_writer;

/*
 * The canonical text of a label value that identifies it: compact JSON
 * with sorted keys, integral numbers without a fraction ("95", never
 * "95.0"). New string, or NULL when memory runs out.
 */
char *pp_report_canon(const struct pp_json *v);

/*
 * The key under which a value appears in a report: a string as it is
 * when that text does not itself read as JSON (below, A, continue), and
 * every other value, or a string such as "95" or "true", as its canonical
 * JSON ("95", "true", "\"95\""). So within one label two different
 * values never share a key. New string, or NULL when memory runs out.
 */
char *pp_report_value_key(const struct pp_json *v);

/* A new {"count": k, "rate": k/n or null, "ci": [lo, hi]} (Wilson 95%). */
int pp_report_rate_object(long long k, long long n, struct pp_json **out);

/* The keys of an object in strcmp order: *keys is a new array of
 * borrowed strings (valid while obj is unchanged); free() it. */
int pp_report_sorted_keys(const struct pp_json *obj, const char ***keys,
			  size_t *n);

/*
 * Markdown output (report_md.c): appends to b until the first failure,
 * kept in rc; later appends do nothing, so a writer checks rc once.
 */
struct pp_md {
	struct pp_buf b;
	int rc;
	int multi_model;    /* the report has several models: show the column */
};

void pp_md_put(struct pp_md *m, const char *s);
void pp_md_putf(struct pp_md *m, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Table-cell text: a pipe would end the cell, a newline the row. */
void pp_md_cell(struct pp_md *m, const char *s);

/* The usage table and the metric sections (report_md_metrics.c). */
void pp_md_usage(struct pp_md *m, const struct pp_json *report);
void pp_md_metrics(struct pp_md *m, const struct pp_json *report);

/* The "metrics" array (report_metrics.c): the study's metrics from a
 * store summary (borrowed). *out is new. PP_ENOMEM. */
int pp_report_metrics(const struct pp_json *summary, struct pp_json **out);

/* The "usage" object (report_usage.c): tokens, model calls and cost per
 * model and in total. *out is new. PP_ENOMEM. */
int pp_report_usage(const struct pp_json *summary, struct pp_json **out);

#endif
