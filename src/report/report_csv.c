/*
 * report_csv.c - the report as one long table for spreadsheets and
 * analysis scripts: one row per (level, row keys, label, value), quoted
 * as RFC 4180 says (fields with a comma, quote or line break in double
 * quotes, quotes doubled, CRLF line ends).
 *
 * Status counts come as rows of the pseudo-label "status" with n the
 * number of rollouts, so refusals and errors sit beside the labels.
 */
#include <stdlib.h>
#include <string.h>

#include <peerpres/status.h>
#include "report/report_int.h"

static const char *const key_cols[] = {
	"scenario", "subject", "condition", "instantiation", "model",
	"dataset", "threshold", "mode", "scratchpad", "config_id", NULL,
};

static const char *const header[] = {
	"level", "scenario", "subject", "condition", "instantiation", "model",
	"dataset", "threshold", "mode", "scratchpad", "config_id", "label",
	"value", "count", "n", "rate", "ci_lo", "ci_hi", "truth", "undecided",
	"null", "missing", NULL,
};

static int csv_field(struct pp_buf *b, const char *s, int first)
{
	int rc = first ? PP_OK : pp_buf_addc(b, ',');

	if (rc)
		return rc;
	if (!strpbrk(s, ",\"\r\n"))
		return pp_buf_adds(b, s);
	if ((rc = pp_buf_addc(b, '"')))
		return rc;
	for (; *s && !rc; s++)
		rc = *s == '"' ? pp_buf_adds(b, "\"\"") : pp_buf_addc(b, *s);
	return rc ? rc : pp_buf_addc(b, '"');
}

/* A number member as text: integers exactly, reals to 6 places, absent
 * or null as the empty field. */
static void num_text(const struct pp_json *v, char out[40])
{
	long long i;
	double d;

	int n = 0;

	if (pp_json_int(v, &i))
		n = snprintf(out, 40, "%lld", i);
	else if (pp_json_num(v, &d))
		n = snprintf(out, 40, "%.6f", d);
	/* Only a real beyond 1e32 could not fit; leave the field empty. */
	if (n < 0 || n >= 40)
		n = 0;
	out[n] = '\0';
}

/* The value columns of one row, from a stats object (count, rate, ci,
 * truth) and, for labels, the label object (n, undecided, null,
 * missing); n_override replaces n when not NULL (status rows). */
static int csv_stats(struct pp_buf *b, const struct pp_json *st,
		     const struct pp_json *label, const struct pp_json *n_override)
{
	static const char *const tail[] = { "undecided", "null", "missing", NULL };
	const struct pp_json *ci = pp_json_get(st, "ci");
	const struct pp_json *vals[6];
	char text[40];
	int i, rc = PP_OK;

	vals[0] = pp_json_get(st, "count");
	vals[1] = n_override ? n_override : pp_json_get(label, "n");
	vals[2] = pp_json_get(st, "rate");
	vals[3] = pp_json_at(ci, 0);
	vals[4] = pp_json_at(ci, 1);
	vals[5] = pp_json_get(st, "truth");
	for (i = 0; i < 6 && !rc; i++) {
		num_text(vals[i], text);
		rc = csv_field(b, text, 0);
	}
	for (i = 0; tail[i] && !rc; i++) {
		num_text(n_override ? NULL : pp_json_get(label, tail[i]), text);
		rc = csv_field(b, text, 0);
	}
	return rc ? rc : pp_buf_adds(b, "\r\n");
}

static int csv_lead(struct pp_buf *b, const char *level, const struct pp_json *row,
		    const char *label, const char *value)
{
	int i, rc = csv_field(b, level, 1);

	for (i = 0; key_cols[i] && !rc; i++)
		rc = csv_field(b, pp_json_get_str(row, key_cols[i], ""), 0);
	if (!rc)
		rc = csv_field(b, label, 0);
	if (!rc)
		rc = csv_field(b, value, 0);
	return rc;
}

static int csv_label(struct pp_buf *b, const char *level, const struct pp_json *row,
		     const char *name, const struct pp_json *label)
{
	const struct pp_json *values = pp_json_get(label, "values");
	const char **keys = NULL;
	size_t i, n;
	int rc;

	if (!values) {
		rc = csv_lead(b, level, row, name, "true");
		return rc ? rc : csv_stats(b, label, label, NULL);
	}
	if ((rc = pp_report_sorted_keys(values, &keys, &n)))
		return rc;
	for (i = 0; i < n && !rc; i++) {
		rc = csv_lead(b, level, row, name, keys[i]);
		if (!rc)
			rc = csv_stats(b, pp_json_get(values, keys[i]), label, NULL);
	}
	free(keys);
	return rc;
}

/* Status rows: count of each status over n_rollouts, with its interval
 * computed here from the counts (the report object holds counts only). */
static int csv_status(struct pp_buf *b, const char *level, const struct pp_json *row)
{
	const struct pp_json *status = pp_json_get(row, "status");
	const struct pp_json *n = pp_json_get(row, "n_rollouts");
	struct pp_json *st = NULL;
	const char **keys = NULL;
	long long k = 0, total = 0;
	size_t i, nk;
	int rc;

	pp_json_int(n, &total);
	if ((rc = pp_report_sorted_keys(status, &keys, &nk)))
		return rc;
	for (i = 0; i < nk && !rc; i++) {
		k = 0;
		pp_json_int(pp_json_get(status, keys[i]), &k);
		rc = pp_report_rate_object(k, total, &st);
		if (!rc)
			rc = csv_lead(b, level, row, "status", keys[i]);
		if (!rc)
			rc = csv_stats(b, st, NULL, n);
		pp_json_decref(st);
		st = NULL;
	}
	free(keys);
	return rc;
}

static int csv_rows(struct pp_buf *b, const char *level, const struct pp_json *rows)
{
	const char **names = NULL;
	size_t r, i, n;
	int rc = PP_OK;

	for (r = 0; r < pp_json_len(rows) && !rc; r++) {
		const struct pp_json *row = pp_json_at(rows, r);
		const struct pp_json *labels = pp_json_get(row, "labels");

		if ((rc = csv_status(b, level, row)) ||
		    (rc = pp_report_sorted_keys(labels, &names, &n)))
			break;
		for (i = 0; i < n && !rc; i++)
			rc = csv_label(b, level, row, names[i],
				       pp_json_get(labels, names[i]));
		free(names);
		names = NULL;
	}
	return rc;
}

static int write_csv(const struct pp_json *report, FILE *f)
{
	struct pp_buf b = PP_BUF_INIT;
	int i, rc = PP_OK;

	for (i = 0; header[i] && !rc; i++)
		rc = csv_field(&b, header[i], i == 0);
	if (!rc)
		rc = pp_buf_adds(&b, "\r\n");
	if (!rc)
		rc = csv_rows(&b, "config", pp_json_get(report, "configs"));
	if (!rc)
		rc = csv_rows(&b, "group", pp_json_get(report, "groups"));
	if (!rc && fwrite(b.buf, 1, b.len, f) != b.len)
		rc = PP_EIO;
	pp_buf_release(&b);
	return rc;
}

const struct pp_report_writer pp_report_csv_writer = {
	PP_REPORT_CSV, "csv", write_csv,
};
