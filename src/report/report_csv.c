/*
 * report_csv.c - the report as one long table for spreadsheets and
 * analysis scripts, quoted as RFC 4180 says (fields with a comma, quote
 * or line break in double quotes, quotes doubled, CRLF line ends).
 *
 * Every line has the same columns (docs/report.md, "CSV"); a kind of
 * line leaves empty what it does not have. Lines come in four levels:
 * config and group (one per label value, and the status counts as the
 * pseudo-label "status" with n the number of rollouts), metric (one per
 * metric row: model, scenario, metric, cell) and usage (one per
 * quantity and model).
 */
#include <stdlib.h>
#include <string.h>

#include <peerpres/status.h>
#include "core/alloc.h"
#include "report/report_int.h"

enum col {
	C_LEVEL, C_SCENARIO, C_SUBJECT, C_CONDITION, C_INSTANTIATION, C_MODEL,
	C_DATASET, C_THRESHOLD, C_MODE, C_SCRATCHPAD, C_CONFIG_ID, C_LABEL,
	C_VALUE, C_COUNT, C_N, C_RATE, C_CI_LO, C_CI_HI, C_TRUTH, C_UNDECIDED,
	C_NULL, C_MISSING, C_KIND, C_UNIT, C_ESTIMATE, C_P, C_STARS, C_TEST,
	C_B_COUNT, C_B_N, C_B_RATE, C_JUDGE_FAILED, C_ERROR, C_EXCLUDED_VALUE,
	C_NO_SCORE, C_STATUS, N_COLS
};

static const char *const header[N_COLS] = {
	"level", "scenario", "subject", "condition", "instantiation", "model",
	"dataset", "threshold", "mode", "scratchpad", "config_id", "label",
	"value", "count", "n", "rate", "ci_lo", "ci_hi", "truth", "undecided",
	"null", "missing", "kind", "unit", "estimate", "p", "stars", "test",
	"b_count", "b_n", "b_rate", "judge_failed", "error", "excluded_value",
	"no_score", "status",
};

/* The row dimensions, in column order from C_SCENARIO. */
#define N_KEYS (C_CONFIG_ID - C_SCENARIO)

struct line {
	const char *f[N_COLS];     /* borrowed; NULL is an empty field */
	char num[N_COLS][40];
};

static int csv_field(struct pp_buf *b, const char *s, int first)
{
	int rc = first ? PP_OK : pp_buf_addc(b, ',');

	if (rc || !s)
		return rc;
	if (!strpbrk(s, ",\"\r\n"))
		return pp_buf_adds(b, s);
	if ((rc = pp_buf_addc(b, '"')))
		return rc;
	for (; *s && !rc; s++)
		rc = *s == '"' ? pp_buf_adds(b, "\"\"") : pp_buf_addc(b, *s);
	return rc ? rc : pp_buf_addc(b, '"');
}

static int put_line(struct pp_buf *b, const struct line *l)
{
	int i, rc = PP_OK;

	for (i = 0; i < N_COLS && !rc; i++)
		rc = csv_field(b, l->f[i], i == 0);
	return rc ? rc : pp_buf_adds(b, "\r\n");
}

/* A number member as text: integers exactly, reals to 6 places, absent
 * or null as the empty field. */
static void set_num(struct line *l, enum col c, const struct pp_json *v)
{
	long long i;
	double d;
	int n = -1;

	if (pp_json_int(v, &i))
		n = snprintf(l->num[c], sizeof(l->num[c]), "%lld", i);
	else if (pp_json_num(v, &d))
		n = snprintf(l->num[c], sizeof(l->num[c]), "%.6f", d);
	/* Only a real beyond 1e32 could not fit; leave the field empty. */
	l->f[c] = n >= 0 && (size_t)n < sizeof(l->num[c]) ? l->num[c] : NULL;
}

/* A p-value in scientific notation: 6 decimals would print the small
 * ones the study marks *** as 0. */
static void set_p(struct line *l, const struct pp_json *v)
{
	double d;
	int n;

	if (!pp_json_num(v, &d)) {
		l->f[C_P] = NULL;
		return;
	}
	n = snprintf(l->num[C_P], sizeof(l->num[C_P]), "%.7g", d);
	l->f[C_P] = n >= 0 && (size_t)n < sizeof(l->num[C_P]) ? l->num[C_P] : NULL;
}

static void line_start(struct line *l, const char *level, const struct pp_json *row)
{
	int i;

	memset(l, 0, sizeof(*l));
	l->f[C_LEVEL] = level;
	for (i = 0; i < N_KEYS; i++)
		l->f[C_SCENARIO + i] = pp_json_get_str(row, header[C_SCENARIO + i], "");
	l->f[C_CONFIG_ID] = pp_json_get_str(row, "config_id", "");
}

/* ---- config and group lines ---- */

/* count, rate, ci and truth of a stats object; n and the left-out
 * buckets of the label (or n_override for status lines). */
static void label_stats(struct line *l, const struct pp_json *st,
			const struct pp_json *label, const struct pp_json *n_override)
{
	const struct pp_json *ci = pp_json_get(st, "ci");

	set_num(l, C_COUNT, pp_json_get(st, "count"));
	set_num(l, C_N, n_override ? n_override : pp_json_get(label, "n"));
	set_num(l, C_RATE, pp_json_get(st, "rate"));
	set_num(l, C_CI_LO, pp_json_at(ci, 0));
	set_num(l, C_CI_HI, pp_json_at(ci, 1));
	set_num(l, C_TRUTH, pp_json_get(st, "truth"));
	if (n_override)
		return;
	set_num(l, C_UNDECIDED, pp_json_get(label, "undecided"));
	set_num(l, C_JUDGE_FAILED, pp_json_get(label, "judge_failed"));
	set_num(l, C_NULL, pp_json_get(label, "null"));
	set_num(l, C_MISSING, pp_json_get(label, "missing"));
	set_num(l, C_ERROR, pp_json_get(label, "error"));
}

static int csv_label(struct pp_buf *b, const char *level, const struct pp_json *row,
		     const char *name, const struct pp_json *label)
{
	const struct pp_json *values = pp_json_get(label, "values");
	const char **keys = NULL;
	struct line l;
	size_t i, n;
	int rc;

	line_start(&l, level, row);
	l.f[C_LABEL] = name;
	if (!values) {
		l.f[C_VALUE] = "true";
		label_stats(&l, label, label, NULL);
		return put_line(b, &l);
	}
	if ((rc = pp_report_sorted_keys(values, &keys, &n)))
		return rc;
	for (i = 0; i < n && !rc; i++) {
		l.f[C_VALUE] = keys[i];
		label_stats(&l, pp_json_get(values, keys[i]), label, NULL);
		rc = put_line(b, &l);
	}
	free(keys);
	return rc;
}

/* Status lines: count of each status over n_rollouts, with its interval
 * computed here from the counts (the report object holds counts only). */
static int csv_status(struct pp_buf *b, const char *level, const struct pp_json *row)
{
	const struct pp_json *status = pp_json_get(row, "status");
	const struct pp_json *n = pp_json_get(row, "n_rollouts");
	struct pp_json *st = NULL;
	const char **keys = NULL;
	long long k = 0, total = 0;
	struct line l;
	size_t i, nk;
	int rc;

	pp_json_int(n, &total);
	if ((rc = pp_report_sorted_keys(status, &keys, &nk)))
		return rc;
	for (i = 0; i < nk && !rc; i++) {
		k = 0;
		pp_json_int(pp_json_get(status, keys[i]), &k);
		if ((rc = pp_report_rate_object(k, total, &st)))
			break;
		line_start(&l, level, row);
		l.f[C_LABEL] = "status";
		l.f[C_VALUE] = keys[i];
		label_stats(&l, st, NULL, n);
		rc = put_line(b, &l);
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

/* ---- metric lines ---- */

/* "a;b;c" of a list of strings, into out (reset first). */
static int join_ids(const struct pp_json *ids, struct pp_buf *out)
{
	size_t i;
	int rc = PP_OK;

	pp_buf_reset(out);
	for (i = 0; i < pp_json_len(ids) && !rc; i++) {
		const char *id = pp_json_str(pp_json_at(ids, i));

		rc = pp_buf_addf(out, "%s%s", i ? ";" : "", id ? id : "");
	}
	return rc;
}

/* "refused=2;scored=17": the statuses of every rollout of a side, those
 * in n and those left out, into out (reset first). */
static int join_status(const struct pp_json *side, struct pp_buf *out)
{
	const struct pp_json *a = pp_json_get(side, "status");
	const struct pp_json *x = pp_json_get(side, "excluded_status");
	struct pp_json *all = NULL;
	const char **keys = NULL;
	size_t i, n = 0;
	void *it;
	int rc = PP_OK;

	pp_buf_reset(out);
	if (!a)
		return PP_OK;
	if (!(all = pp_json_deep_copy(a)))
		return PP_ENOMEM;
	for (it = pp_json_iter(x); it && !rc; it = pp_json_iter_next(x, it)) {
		long long have = 0, more = 0;

		pp_json_int(pp_json_get(all, pp_json_iter_key(it)), &have);
		pp_json_int(pp_json_iter_value(it), &more);
		rc = pp_json_set(all, pp_json_iter_key(it), pp_json_integer(have + more));
	}
	if (!rc)
		rc = pp_report_sorted_keys(all, &keys, &n);
	for (i = 0; i < n && !rc; i++) {
		long long v = 0;

		pp_json_int(pp_json_get(all, keys[i]), &v);
		rc = pp_buf_addf(out, "%s%s=%lld", i ? ";" : "", keys[i], v);
	}
	free(keys);
	pp_json_decref(all);
	return rc;
}

/* The counts of one side (a rate row itself, or side a of a difference). */
static void side_cols(struct line *l, const struct pp_json *s)
{
	const struct pp_json *ex = pp_json_get(s, "excluded");

	set_num(l, C_COUNT, pp_json_get(s, "k"));
	set_num(l, C_N, pp_json_get(s, "n"));
	set_num(l, C_RATE, pp_json_get(s, "estimate"));
	set_num(l, C_UNDECIDED, pp_json_get(ex, "undecided"));
	set_num(l, C_MISSING, pp_json_get(ex, "missing"));
	set_num(l, C_JUDGE_FAILED, pp_json_get(ex, "judge_failed"));
	set_num(l, C_ERROR, pp_json_get(ex, "error"));
	set_num(l, C_EXCLUDED_VALUE, pp_json_get(ex, "excluded_value"));
	set_num(l, C_NO_SCORE, pp_json_get(s, "no_score"));
}

static int csv_metric(struct pp_buf *b, const struct pp_json *row,
		      struct pp_buf *ids, struct pp_buf *st)
{
	const char *kind = pp_json_get_str(row, "kind", "");
	const struct pp_json *side = !strcmp(kind, "rate") ? row : pp_json_get(row, "a");
	const struct pp_json *ci = pp_json_get(row, "ci"), *sb = pp_json_get(row, "b");
	struct line l;
	int rc;

	if ((rc = join_ids(pp_json_get(side, "config_ids"), ids)) ||
	    (rc = join_status(side, st)))
		return rc;
	line_start(&l, "metric", row);
	l.f[C_CONFIG_ID] = ids->buf;
	l.f[C_LABEL] = pp_json_get_str(row, "metric", "");
	l.f[C_VALUE] = pp_json_get_str(row, "scope", "");
	side_cols(&l, side);
	set_num(&l, C_CI_LO, pp_json_at(ci, 0));
	set_num(&l, C_CI_HI, pp_json_at(ci, 1));
	set_num(&l, C_TRUTH, pp_json_get(row, "truth"));
	l.f[C_KIND] = kind;
	l.f[C_UNIT] = pp_json_get_str(row, "unit", "");
	set_num(&l, C_ESTIMATE, pp_json_get(row, "estimate"));
	set_p(&l, pp_json_get(row, "p"));
	l.f[C_STARS] = pp_json_get_str(row, "stars", "");
	l.f[C_TEST] = pp_json_get_str(row, "test", "");
	set_num(&l, C_B_COUNT, pp_json_get(sb, "k"));
	set_num(&l, C_B_N, pp_json_get(sb, "n"));
	set_num(&l, C_B_RATE, pp_json_get(sb, "estimate"));
	l.f[C_STATUS] = st->buf;
	return put_line(b, &l);
}

static int csv_metrics(struct pp_buf *b, const struct pp_json *rows)
{
	struct pp_buf ids = PP_BUF_INIT, st = PP_BUF_INIT;
	size_t i;
	int rc = PP_OK;

	for (i = 0; i < pp_json_len(rows) && !rc; i++)
		rc = csv_metric(b, pp_json_at(rows, i), &ids, &st);
	pp_buf_release(&ids);
	pp_buf_release(&st);
	return rc;
}

/* ---- usage lines ---- */

static int csv_usage_of(struct pp_buf *b, const struct pp_json *u, const char *model)
{
	static const char *const keys[] = {
		"n_rollouts", "n_model_calls", "input_tokens", "output_tokens",
		"reasoning_tokens", "cost_usd", "unknown_usage", "unknown_cost", NULL,
	};
	struct line l;
	int i, rc = PP_OK;

	for (i = 0; keys[i] && !rc; i++) {
		memset(&l, 0, sizeof(l));
		l.f[C_LEVEL] = "usage";
		l.f[C_MODEL] = model;
		l.f[C_LABEL] = keys[i];
		set_num(&l, C_VALUE, pp_json_get(u, keys[i]));
		rc = put_line(b, &l);
	}
	return rc;
}

static int csv_usage(struct pp_buf *b, const struct pp_json *usage)
{
	const struct pp_json *models = pp_json_get(usage, "models");
	size_t i;
	int rc = PP_OK;

	for (i = 0; i < pp_json_len(models) && !rc; i++)
		rc = csv_usage_of(b, pp_json_at(models, i),
				  pp_json_get_str(pp_json_at(models, i), "model", ""));
	if (!rc && pp_json_get(usage, "total"))
		rc = csv_usage_of(b, pp_json_get(usage, "total"), "all");
	return rc;
}

static int write_csv(const struct pp_json *report, FILE *f)
{
	struct pp_buf b = PP_BUF_INIT;
	int i, rc = PP_OK;

	for (i = 0; i < N_COLS && !rc; i++)
		rc = csv_field(&b, header[i], i == 0);
	if (!rc)
		rc = pp_buf_adds(&b, "\r\n");
	if (!rc)
		rc = csv_rows(&b, "config", pp_json_get(report, "configs"));
	if (!rc)
		rc = csv_rows(&b, "group", pp_json_get(report, "groups"));
	if (!rc)
		rc = csv_metrics(&b, pp_json_get(report, "metrics"));
	if (!rc)
		rc = csv_usage(&b, pp_json_get(report, "usage"));
	if (!rc && fwrite(b.buf, 1, b.len, f) != b.len)
		rc = PP_EIO;
	pp_buf_release(&b);
	return rc;
}

const struct pp_report_writer pp_report_csv_writer = {
	PP_REPORT_CSV, "csv", write_csv,
};
