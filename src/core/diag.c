/* diag.c - failure locations and messages (see peerpres/diag.h). */
#include <stdarg.h>
#include <stdio.h>

#include <peerpres/diag.h>

void pp_diag_clear(struct pp_diag *d)
{
	if (!d)
		return;
	d->file[0] = '\0';
	d->line = d->col = 0;
	d->msg[0] = '\0';
}

int pp_diag_set(struct pp_diag *d, int rc, const char *file, int line,
		int col, const char *fmt, ...)
{
	va_list ap;

	if (!d || d->msg[0])
		return rc;
	snprintf(d->file, sizeof(d->file), "%s", file ? file : "");
	d->line = line;
	d->col = col;
	va_start(ap, fmt);
	vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
	va_end(ap);
	return rc;
}

int pp_diag_format(const struct pp_diag *d, struct pp_buf *b)
{
	int rc = 0;

	if (d->file[0])
		rc = pp_buf_addf(b, "%s:", d->file);
	if (!rc && d->line)
		rc = pp_buf_addf(b, "%d:", d->line);
	if (!rc && d->line && d->col)
		rc = pp_buf_addf(b, "%d:", d->col);
	if (!rc && (d->file[0] || d->line))
		rc = pp_buf_addc(b, ' ');
	return rc ? rc : pp_buf_adds(b, d->msg);
}
