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

/*
 * A cell is shown on one line: a text with its line breaks and tabs
 * written as \n, \r, \t; an integer in decimal; a float as Python's
 * repr(); True, False, None. Each cell is measured once (its width in
 * characters, and whether its text needs escapes), then written with a
 * single add, so that a table cut at the output cap stops between cells.
 */
struct cell {
	size_t width;
	size_t escapes; /* of a text: its line breaks and tabs */
};

/* Characters of a text once escaped: its code points (an invalid byte
 * counts as one, as in pp_wr_utf8_chars), plus one per escape. */
static size_t text_width(const char *s, size_t n, size_t *escapes)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, chars = 0, esc = 0, run;
	long cp;

	while (i < n) {
		run = pp_wr_plain_run(s + i, n - i);
		i += run;
		chars += run;
		if (i == n)
			break;
		if (p[i] < 0x80) {
			esc += p[i] == '\n' || p[i] == '\r' || p[i] == '\t';
			i++;
		} else {
			i += pp_wr_utf8_next(p + i, n - i, &cp);
		}
		chars++;
	}
	*escapes = esc;
	return chars + esc;
}

/* A text with its line breaks and tabs escaped, into t. */
static int escape_text(struct pp_buf *t, const char *s, size_t n)
{
	size_t i, from = 0;
	int rc = PP_OK;

	pp_buf_reset(t);
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
}

/* The decimal digits of v at the end of tmp[24]; returns where they
 * start. */
static char *int_text(char tmp[24], long long v)
{
	char *p = tmp + 24;
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	return p;
}

/* The shown text of a cell that is not a text (t: room for a float's). */
static int scalar_text(struct pp_buf *t, const struct pp_json *v, char tmp[24],
		       const char **s, size_t *n)
{
	long long iv;
	double d;
	int rc;

	switch (pp_json_type(v)) {
	case PP_JSON_INTEGER:
		pp_json_int(v, &iv);
		*s = int_text(tmp, iv);
		*n = (size_t)(tmp + 24 - *s);
		return PP_OK;
	case PP_JSON_REAL:
		pp_json_num(v, &d);
		pp_buf_reset(t);
		rc = pp_wr_py_float(t, d);
		*s = t->buf;
		*n = t->len;
		return rc;
	case PP_JSON_TRUE: *s = "True"; break;
	case PP_JSON_FALSE: *s = "False"; break;
	default: *s = "None"; break;
	}
	*n = strlen(*s);
	return PP_OK;
}

static int measure(struct cell *m, const struct pp_json *v, struct pp_buf *t)
{
	const char *s;
	char tmp[24];
	size_t n;
	int rc;

	if (pp_json_is_string(v)) {
		m->width = text_width(pp_json_str(v), pp_json_len(v), &m->escapes);
		return PP_OK;
	}
	m->escapes = 0;
	rc = scalar_text(t, v, tmp, &s, &n);
	m->width = n;   /* all ASCII */
	return rc;
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

/* Two spaces, then the cell right-aligned in width characters. */
static int put_right(struct pp_buf *b, const struct pp_json *v,
		     const struct cell *m, size_t width, struct pp_buf *t)
{
	const char *s;
	char tmp[24];
	size_t n;
	int rc = pad(b, 2 + (width > m->width ? width - m->width : 0));

	if (rc)
		return rc;
	if (!pp_json_is_string(v)) {
		rc = scalar_text(t, v, tmp, &s, &n);
		return rc ? rc : pp_buf_add(b, s, n);
	}
	if (!m->escapes)
		return pp_buf_add(b, pp_json_str(v), pp_json_len(v));
	rc = escape_text(t, pp_json_str(v), pp_json_len(v));
	return rc ? rc : pp_buf_add(b, t->buf, t->len);
}

/* "\n" and the row number left-aligned in idx_w characters. */
static int row_start(struct pp_buf *b, size_t r, size_t idx_w)
{
	char line[1 + 24 + 24], tmp[24], *d = int_text(tmp, (long long)r);
	size_t n = (size_t)(tmp + 24 - d);

	line[0] = '\n';
	memcpy(line + 1, d, n);
	if (n < idx_w) {        /* idx_w is the digits of the last row: < 24 */
		memset(line + 1 + n, ' ', idx_w - n);
		n = idx_w;
	}
	return pp_buf_add(b, line, 1 + n);
}

/* Measures every cell (m: the header row, then each row) and the width
 * of each column (w). */
static int measure_all(const struct pp_json *cols, const struct pp_json *rows,
		       struct cell *m, size_t *w, struct pp_buf *t)
{
	const struct pp_json *row;
	size_t k, r, ncols = pp_json_len(cols), nrows = pp_json_len(rows);
	int rc = PP_OK;

	/* A column is at least as wide as its name as given: unescaped. */
	for (k = 0; !rc && k < ncols; k++) {
		rc = measure(&m[k], pp_json_at(cols, k), t);
		w[k] = m[k].width - m[k].escapes;
	}
	for (r = 0; !rc && r < nrows; r++) {
		row = pp_json_at(rows, r);
		for (k = 0; !rc && k < ncols; k++) {
			struct cell *c = &m[(r + 1) * ncols + k];

			rc = measure(c, pp_json_at(row, k), t);
			if (c->width > w[k])
				w[k] = c->width;
		}
	}
	return rc;
}

static int render_table(struct pp_buf *b, const struct pp_json *sheet,
			const struct cell *m, const size_t *w, struct pp_buf *t)
{
	const struct pp_json *cols = pp_json_get(sheet, "columns");
	const struct pp_json *rows = pp_json_get(sheet, "rows"), *row;
	size_t k, r, ncols = pp_json_len(cols), nrows = pp_json_len(rows);
	size_t idx_w = 1, last = nrows ? nrows - 1 : 0;
	int rc;

	while (last >= 10) {    /* width of the largest row number */
		idx_w++;
		last /= 10;
	}
	rc = pad(b, idx_w);

	for (k = 0; !rc && k < ncols; k++)
		rc = put_right(b, pp_json_at(cols, k), &m[k], w[k], t);
	for (r = 0; !rc && r < nrows; r++) {
		row = pp_json_at(rows, r);
		rc = row_start(b, r, idx_w);
		for (k = 0; !rc && k < ncols; k++)
			rc = put_right(b, pp_json_at(row, k), &m[(r + 1) * ncols + k],
				       w[k], t);
	}
	if (!rc && !nrows)
		rc = pp_buf_adds(b, "\n(no rows)");
	return rc;
}

int pp_wt_view_sheet(struct pp_wcall *c)
{
	const struct pp_json *sheets = c->w->sheets, *sheet = NULL, *cols, *rows;
	struct pp_buf t = PP_BUF_INIT;
	struct cell *m;
	size_t i, ncols, ncells, *w;
	int rc;

	for (i = 0; !sheet && i < pp_json_len(sheets); i++)
		if (!strcmp(pp_json_get_str(pp_json_at(sheets, i), "name", ""), c->str[0]))
			sheet = pp_json_at(sheets, i);
	if (!sheet)
		return pp_wcall_error(c, "there is no sheet named '%s' in the workbook",
				      c->str[0]);
	cols = pp_json_get(sheet, "columns");
	rows = pp_json_get(sheet, "rows");
	ncols = pp_json_len(cols);
	/* The sizes fit: the spec holds that many JSON values already. */
	ncells = (pp_json_len(rows) + 1) * ncols;
	w = pp_calloc(ncols + 1, sizeof(*w));
	m = pp_calloc(ncells + 1, sizeof(*m));
	rc = w && m ? PP_OK : PP_ENOMEM;
	if (!rc)
		rc = measure_all(cols, rows, m, w, &t);
	if (!rc)
		rc = pp_wcall_fit(c, render_table(c->res, sheet, m, w, &t));
	pp_buf_release(&t);
	free(m);
	free(w);
	return rc;
}
