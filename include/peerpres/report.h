/*
 * report.h - reports over the store: rates with n and Wilson intervals,
 * per config and per group, in markdown, csv and json.
 *
 * A label's rate counts only rollouts where the label is decided; the
 * undecided and missing are counted beside it, never folded in as 0.
 * docs/report.md describes the report object and every column.
 */
#ifndef PEERPRES_REPORT_H
#define PEERPRES_REPORT_H

#include <stdio.h>

#include <peerpres/json.h>

enum pp_report_format { PP_REPORT_MD, PP_REPORT_CSV, PP_REPORT_JSON };

/* Builds the report object from pp_store_summary() output (borrowed): an
 * array of configs, each with its "rollouts". *out is new. PP_EINVAL when
 * summary is not an array of objects, PP_ENOMEM. */
int pp_report_build(const struct pp_json *summary, struct pp_json **out);

/* Writes a built report in a format to f (borrowed; not closed): md for
 * people, csv (RFC 4180, CRLF), json (pretty, keys sorted). PP_EIO when
 * writing fails, PP_EINVAL for an unknown format or a non-object. */
int pp_report_write(const struct pp_json *report, enum pp_report_format fmt, FILE *f);

#endif
