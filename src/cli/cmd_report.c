/*
 * cmd_report.c - `peerpres report`: rates from the store.
 */
#include <string.h>

#include <peerpres/metrics.h>
#include <peerpres/report.h>
#include <peerpres/status.h>
#include <peerpres/store.h>

#include "cli/cli.h"

static int parse_format(const char *s, enum pp_report_format *f)
{
	if (!s || !strcmp(s, "md") || !strcmp(s, "markdown"))
		*f = PP_REPORT_MD;
	else if (!strcmp(s, "csv"))
		*f = PP_REPORT_CSV;
	else if (!strcmp(s, "json"))
		*f = PP_REPORT_JSON;
	else
		return -1;
	return 0;
}

int cmd_report(struct cli *c)
{
	enum pp_report_format fmt;
	struct pp_store *store = NULL;
	struct pp_json *summary = NULL, *report = NULL, *filters = NULL, *judge = NULL;
	FILE *out = NULL;
	int rc = EXIT_RUNTIME;

	if (parse_format(c->format, &fmt)) {
		cli_error("unknown report format '%s' (md, csv or json)", c->format);
		return EXIT_USAGE;
	}
	if (cli_open_store(c, &store, true))
		return EXIT_RUNTIME;
	filters = cli_store_filters(c);
	if (!filters || pp_store_summary(store, filters, &summary))
		cli_error("cannot read '%s': %s", c->db, pp_store_errmsg(store));
	else if (pp_store_apply_judge(store, summary, c->n_judges ? c->judges[0] : NULL, &judge))
		cli_error("cannot apply the judge: %s", pp_store_errmsg(store));
	else if (pp_report_build(summary, &report))
		cli_error("cannot build the report");
	else if (c->study_refusal && pp_report_study_refusal(summary, report))
		cli_error("cannot apply the study's refusal adjustment");
	/* Which judge filled the undecided labels, for the writers. */
	else if (pp_json_is_object(report) &&
		 pp_json_set(report, "judge", judge ? pp_json_incref(judge) : pp_json_null()))
		cli_error("cannot build the report");
	else if ((out = cli_output(c)) && !pp_report_write(report, fmt, out))
		rc = 0;
	if (out && out != stdout)
		fclose(out);
	pp_json_decref(filters);
	pp_json_decref(summary);
	pp_json_decref(judge);
	pp_json_decref(report);
	pp_store_close(store);
	return rc;
}
