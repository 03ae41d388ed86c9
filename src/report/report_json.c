/*
 * report_json.c - the report object itself, pretty-printed with sorted
 * keys so that two reports of the same data are byte-identical.
 */
#include <peerpres/status.h>
#include "report/report_int.h"

static int write_json(const struct pp_json *report, FILE *f)
{
	struct pp_buf b = PP_BUF_INIT;
	int rc;

	rc = pp_json_dump(report, PP_JSON_PRETTY | PP_JSON_SORT_KEYS | PP_JSON_SHORT_REALS, &b);
	if (!rc)
		rc = pp_buf_addc(&b, '\n');
	if (!rc && fwrite(b.buf, 1, b.len, f) != b.len)
		rc = PP_EIO;
	pp_buf_release(&b);
	return rc;
}

const struct pp_report_writer pp_report_json_writer = {
	PP_REPORT_JSON, "json", write_json,
};
