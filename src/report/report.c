/*
 * report.c - choosing a writer, and helpers the writers share.
 */
#include <stdlib.h>
#include <string.h>

#include <peerpres/stats.h>
#include <peerpres/status.h>
#include "core/alloc.h"
#include "report/report_int.h"

static const struct pp_report_writer *const writers[] = {
	&pp_report_md_writer, &pp_report_csv_writer, &pp_report_json_writer,
	&pp_report_html_writer,
};

int pp_report_write(const struct pp_json *report, enum pp_report_format fmt, FILE *f)
{
	size_t i;

	if (!pp_json_is_object(report) || !f)
		return PP_EINVAL;
	for (i = 0; i < sizeof(writers) / sizeof(writers[0]); i++)
		if (writers[i]->fmt == fmt)
			return writers[i]->write(report, f);
	return PP_EINVAL;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int pp_report_sorted_keys(const struct pp_json *obj, const char ***keys,
			  size_t *n)
{
	size_t len = pp_json_len(obj), i = 0;
	void *it;

	*keys = pp_calloc(len ? len : 1, sizeof(**keys));
	*n = 0;
	if (!*keys)
		return PP_ENOMEM;
	for (it = pp_json_iter(obj); it && i < len; it = pp_json_iter_next(obj, it))
		(*keys)[i++] = pp_json_iter_key(it);
	qsort(*keys, i, sizeof(**keys), cmp_str);
	*n = i;
	return PP_OK;
}

int pp_report_rate_object(long long k, long long n, struct pp_json **out)
{
	struct pp_json *o = pp_json_object(), *ci = pp_json_array();
	double lo, hi;
	int rc;

	*out = NULL;
	if (!o || !ci) {
		pp_json_decref(o);
		pp_json_decref(ci);
		return PP_ENOMEM;
	}
	pp_wilson((long)k, (long)n, PP_Z95, &lo, &hi);
	if ((rc = pp_json_append(ci, pp_json_real(lo))) ||
	    (rc = pp_json_append(ci, pp_json_real(hi)))) {
		pp_json_decref(ci);
		goto out;
	}
	if ((rc = pp_json_set(o, "count", pp_json_integer(k))) ||
	    (rc = pp_json_set(o, "rate", n > 0 ? pp_json_real((double)k / (double)n)
					       : pp_json_null())))
		pp_json_decref(ci);
	else
		rc = pp_json_set(o, "ci", ci);
out:
	if (rc)
		pp_json_decref(o);
	else
		*out = o;
	return rc;
}
