/*
 * sheets.c - the spreadsheet workbook: read-only sheets with a header
 * row, shown as a fixed-width table like the study's (pandas-style: a
 * row number column, then right-aligned columns two spaces apart).
 */
#include <stdlib.h>
#include <string.h>

#include <peerpres/status.h>
#include "core/alloc.h"
#include "world/render.h"
#include "world/world_int.h"

static int sheet_error(struct pp_diag *diag, size_t i, const char *what)
{
	return pp_diag_set(diag, PP_EINVAL, NULL, 0, 0,
			   "world spec: sheets[%zu]: %s", i, what);
}

static bool is_scalar(const struct pp_json *v)
{
	return !pp_json_is_object(v) && !pp_json_is_array(v);
}

static int check_sheet(const struct pp_json *s, size_t i, struct pp_diag *diag)
{
	const struct pp_json *cols = pp_json_get(s, "columns");
	const struct pp_json *rows = pp_json_get(s, "rows"), *row;
	size_t k, r, ncols;

	if (!pp_json_is_object(s))
		return sheet_error(diag, i, "expected a mapping");
	if (!pp_json_get_str(s, "name", NULL))
		return sheet_error(diag, i, "name: expected a string");
	if (!pp_json_is_array(cols))
		return sheet_error(diag, i, "columns: expected a list of names");
	ncols = pp_json_len(cols);
	for (k = 0; k < ncols; k++)
		if (!pp_json_is_string(pp_json_at(cols, k)))
			return sheet_error(diag, i, "columns: expected a list of names");
	if (!pp_json_is_null(rows) && !pp_json_is_array(rows))
		return sheet_error(diag, i, "rows: expected a list of rows");
	for (r = 0; r < pp_json_len(rows); r++) {
		row = pp_json_at(rows, r);
		if (!pp_json_is_array(row) || pp_json_len(row) != ncols)
			return pp_diag_set(diag, PP_EINVAL, NULL, 0, 0,
					   "world spec: sheets[%zu].rows[%zu]: expected "
					   "a list of %zu cells", i, r, ncols);
		for (k = 0; k < ncols; k++)
			if (!is_scalar(pp_json_at(row, k)))
				return pp_diag_set(diag, PP_EINVAL, NULL, 0, 0,
						   "world spec: sheets[%zu].rows[%zu]"
						   "[%zu]: expected a text or a number",
						   i, r, k);
	}
	return PP_OK;
}

int pp_wsheets_load(struct pp_world *w, const struct pp_json *spec,
		    struct pp_diag *diag)
{
	size_t i;
	int rc;

	if (pp_json_is_null(spec)) {
		w->sheets = pp_json_array();
		return w->sheets ? PP_OK : PP_ENOMEM;
	}
	if (!pp_json_is_array(spec))
		return pp_diag_set(diag, PP_EINVAL, NULL, 0, 0,
				   "world spec: sheets: expected a list of sheets");
	for (i = 0; i < pp_json_len(spec); i++) {
		rc = check_sheet(pp_json_at(spec, i), i, diag);
		if (rc)
			return rc;
	}
	/* The world never changes its workbook: it keeps the spec's own
	 * (world_int.h). */
	w->sheets = pp_json_incref((struct pp_json *)spec);
	return PP_OK;
}

int pp_wt_list_sheets(struct pp_wcall *c)
{
	const struct pp_json *sheets = c->w->sheets;
	const char *name;
	size_t i, n = pp_json_len(sheets);
	int rc;

	if (!n)
		return pp_wcall_fit(c, pp_buf_adds(c->res, "The workbook has no sheets."));
	rc = pp_buf_adds(c->res, "Sheets in the workbook:");
	for (i = 0; !rc && i < n; i++) {
		name = pp_json_get_str(pp_json_at(sheets, i), "name", "");
		rc = pp_buf_addf(c->res, "\n- %s", name);
	}
	return pp_wcall_fit(c, rc);
}

/* The text of one cell, on one line. */
static int cell_text(struct pp_buf *t, const struct pp_json *v)
{
	const char *s;
	size_t i, n, from = 0;
	long long iv;
	double d;
	int rc = PP_OK;

	pp_buf_reset(t);
	switch (pp_json_type(v)) {
	case PP_JSON_STRING:
		s = pp_json_str(v);
		n = pp_json_len(v);
		for (i = 0; !rc && i < n; i++) {
			if (s[i] != '\n' && s[i] != '\r' && s[i] != '\t')
				continue;
			rc = pp_buf_add(t, s + from, i - from);
			if (!rc)
				rc = pp_buf_adds(t, s[i] == '\n' ? "\\n" :
						 s[i] == '\r' ? "\\r" : "\\t");
			from = i + 1;
		}
		return rc ? rc : pp_buf_add(t, s + from, n - from);
	case PP_JSON_INTEGER:
		pp_json_int(v, &iv);
		return pp_buf_addf(t, "%lld", iv);
	case PP_JSON_REAL:
		pp_json_num(v, &d);
		return pp_wr_py_float(t, d);
	case PP_JSON_TRUE: return pp_buf_adds(t, "True");
	case PP_JSON_FALSE: return pp_buf_adds(t, "False");
	default: break;
	}
	return pp_buf_adds(t, "None");
}

static int pad(struct pp_buf *b, size_t n)
{
	static const char spaces[] = "                                ";
	size_t k;
	int rc = PP_OK;

	while (!rc && n) {
		k = n < sizeof(spaces) - 1 ? n : sizeof(spaces) - 1;
		rc = pp_buf_add(b, spaces, k);
		n -= k;
	}
	return rc;
}

/* Two spaces, then the text right-aligned in width characters. */
static int put_right(struct pp_buf *b, const struct pp_buf *t, size_t width)
{
	size_t n = pp_wr_utf8_chars(t->buf, t->len);
	int rc = pad(b, 2 + (width > n ? width - n : 0));

	return rc ? rc : pp_buf_add(b, t->buf, t->len);
}

static int column_widths(const struct pp_json *cols, const struct pp_json *rows,
			 size_t *w, struct pp_buf *t)
{
	size_t k, r, n, ncols = pp_json_len(cols);
	int rc;

	for (k = 0; k < ncols; k++)
		w[k] = pp_wr_utf8_chars(pp_json_str(pp_json_at(cols, k)),
					pp_json_len(pp_json_at(cols, k)));
	for (r = 0; r < pp_json_len(rows); r++) {
		for (k = 0; k < ncols; k++) {
			rc = cell_text(t, pp_json_at(pp_json_at(rows, r), k));
			if (rc)
				return rc;
			n = pp_wr_utf8_chars(t->buf, t->len);
			if (n > w[k])
				w[k] = n;
		}
	}
	return PP_OK;
}

static int render_table(struct pp_buf *b, const struct pp_json *sheet,
			size_t *w, struct pp_buf *t)
{
	const struct pp_json *cols = pp_json_get(sheet, "columns");
	const struct pp_json *rows = pp_json_get(sheet, "rows");
	size_t k, r, ncols = pp_json_len(cols), nrows = pp_json_len(rows);
	size_t idx_w = 1, last = nrows ? nrows - 1 : 0;
	int rc;

	while (last >= 10) {    /* width of the largest row number */
		idx_w++;
		last /= 10;
	}
	rc = pad(b, idx_w);

	for (k = 0; !rc && k < ncols; k++) {
		rc = cell_text(t, pp_json_at(cols, k));
		if (!rc)
			rc = put_right(b, t, w[k]);
	}
	for (r = 0; !rc && r < nrows; r++) {
		rc = pp_buf_addf(b, "\n%-*zu", (int)idx_w, r);
		for (k = 0; !rc && k < ncols; k++) {
			rc = cell_text(t, pp_json_at(pp_json_at(rows, r), k));
			if (!rc)
				rc = put_right(b, t, w[k]);
		}
	}
	if (!rc && !nrows)
		rc = pp_buf_adds(b, "\n(no rows)");
	return rc;
}

int pp_wt_view_sheet(struct pp_wcall *c)
{
	const struct pp_json *sheets = c->w->sheets, *sheet = NULL;
	struct pp_buf t = PP_BUF_INIT;
	size_t i, *w;
	int rc;

	for (i = 0; !sheet && i < pp_json_len(sheets); i++)
		if (!strcmp(pp_json_get_str(pp_json_at(sheets, i), "name", ""), c->str[0]))
			sheet = pp_json_at(sheets, i);
	if (!sheet)
		return pp_wcall_error(c, "there is no sheet named '%s' in the workbook",
				      c->str[0]);
	w = pp_calloc(pp_json_len(pp_json_get(sheet, "columns")) + 1, sizeof(*w));
	if (!w)
		return PP_ENOMEM;
	rc = column_widths(pp_json_get(sheet, "columns"), pp_json_get(sheet, "rows"),
			   w, &t);
	if (!rc)
		rc = pp_wcall_fit(c, render_table(c->res, sheet, w, &t));
	pp_buf_release(&t);
	free(w);
	return rc;
}
