/*
 * report_html.c - the report as one self-contained HTML page.
 *
 * The page is a frame written here (head, header, an empty main), the
 * style sheet and script embedded at build time (src/report/html/), and
 * two JSON blocks the script reads once: the report object and the
 * transcript data (report_html_data.c). Everything outside the JSON
 * blocks that comes from the store is HTML-escaped; the blocks hold no
 * literal < > &. Nothing on the page refers to the network.
 */
#include <string.h>

#include <peerpres/status.h>

#include "report/report_html_int.h"
#include "report/report_int.h"

static int put_text(struct pp_buf *b, const char *s)
{
	return pp_html_escape(b, s, strlen(s));
}

/* The header: what a reader needs before any number, in plain HTML so
 * it shows even where scripts are off. */
/* Which code made the rollouts; a warning when more than one version did. */
static int versions_line(struct pp_buf *b, const struct pp_json *versions)
{
	size_t i, n = pp_json_len(versions);
	int rc;

	if (!n)
		return PP_OK;
	rc = pp_buf_adds(b, n == 1 ? "<p>Code: peerpres " :
			 "<p class=\"warn\"><b>Code: these rollouts were made by several versions of "
			 "peerpres</b>, pooled in every cell that holds more than one (a top-up after "
			 "a change; the store's <code>provenance.version</code> says which made each): ");
	for (i = 0; !rc && i < n; i++) {
		const struct pp_json *v = pp_json_at(versions, i);
		long long k = 0;

		pp_json_int(pp_json_get(v, "rollouts"), &k);
		rc = pp_buf_adds(b, i ? ", <code>" : "<code>");
		if (!rc)
			rc = put_text(b, pp_json_get_str(v, "version", "unknown (imported)"));
		if (!rc)
			rc = pp_buf_addf(b, "</code> (%lld rollouts)", k);
	}
	return rc ? rc : pp_buf_adds(b, ".</p>\n");
}

static int header(struct pp_buf *b, const struct pp_json *report)
{
	const struct pp_json *models = pp_json_get(report, "models");
	const struct pp_json *judge = pp_json_get(report, "judge");
	long long nc = 0, nr = 0;
	size_t i;
	int rc;

	pp_json_int(pp_json_get(report, "n_configs"), &nc);
	pp_json_int(pp_json_get(report, "n_rollouts"), &nr);
	rc = pp_buf_adds(b, "<header><h1>peerpres report</h1>\n<p>Models: ");
	for (i = 0; !rc && i < pp_json_len(models); i++) {
		rc = pp_buf_adds(b, i ? ", <code>" : "<code>");
		if (!rc)
			rc = put_text(b, pp_json_str(pp_json_at(models, i)) ?
					 pp_json_str(pp_json_at(models, i)) : "?");
		if (!rc)
			rc = pp_buf_adds(b, "</code>");
	}
	if (!rc)
		rc = pp_buf_addf(b, ". Configs: %lld, rollouts: %lld.</p>\n", nc, nr);
	if (!rc)
		rc = versions_line(b, pp_json_get(report, "code_versions"));
	if (!rc && pp_json_is_true(pp_json_get(report, "reference_agents")))
		rc = pp_buf_adds(b, "<p class=\"warn\"><b>Results from reference agents, not a "
				 "model.</b> Models named <code>ref/...</code> are scripted agents: "
				 "they check the pipeline and measure no language model.</p>\n");
	if (!rc && pp_json_get_str(judge, "judge", NULL)) {
		rc = pp_buf_adds(b, "<p>Judge: <code>");
		if (!rc)
			rc = put_text(b, pp_json_get_str(judge, "judge", ""));
		if (!rc)
			rc = pp_buf_adds(b, "@");
		if (!rc)
			rc = put_text(b, pp_json_get_str(judge, "prompt_version", ""));
		if (!rc)
			rc = pp_buf_adds(b, "</code> decided the labels the rules left open.</p>\n");
	} else if (!rc) {
		rc = pp_buf_adds(b, "<p>Judge: none applied; labels the rules leave undecided "
				 "are counted as undecided.</p>\n");
	}
	if (!rc)
		rc = pp_buf_adds(b, "</header>\n");
	return rc;
}

static int json_block(struct pp_buf *b, const char *id, const struct pp_json *v)
{
	struct pp_buf tmp = PP_BUF_INIT;
	int rc = pp_json_dump(v, PP_JSON_COMPACT | PP_JSON_SHORT_REALS, &tmp);

	if (!rc)
		rc = pp_buf_addf(b, "<script type=\"application/json\" id=\"%s\">", id);
	if (!rc)
		rc = pp_html_script_safe(b, tmp.buf, tmp.len);
	if (!rc)
		rc = pp_buf_adds(b, "</script>\n");
	pp_buf_release(&tmp);
	return rc;
}

static int page_head(struct pp_buf *b, const struct pp_json *report)
{
	int rc = pp_buf_adds(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
			     "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
			     "<title>peerpres report</title>\n<style>\n");

	if (!rc)
		rc = pp_buf_adds(b, pp_html_css);
	if (!rc)
		rc = pp_buf_adds(b, "</style>\n</head>\n<body>\n");
	if (!rc)
		rc = header(b, report);
	if (!rc)
		rc = pp_buf_adds(b, "<nav id=\"toc\"></nav>\n<main id=\"app\"><noscript><p>The tables, "
				 "charts and transcripts of this report are drawn by its script: "
				 "allow JavaScript for this file.</p></noscript></main>\n"
				 "<pre id=\"selftest\"></pre>\n");
	if (!rc)
		rc = json_block(b, "pp-report", report);
	return rc;
}

static int flush(struct pp_buf *b, FILE *f)
{
	int rc = fwrite(b->buf, 1, b->len, f) == b->len ? PP_OK : PP_EIO;

	pp_buf_reset(b);
	return rc;
}

int pp_report_write_html(const struct pp_json *report, const struct pp_json *summary,
			 struct pp_store *store, long max_transcripts, FILE *f)
{
	struct pp_buf b = PP_BUF_INIT;
	struct pp_json *empty = NULL;
	int rc;

	if (!pp_json_is_object(report) || !f)
		return PP_EINVAL;
	pp_buf_init(&b, (size_t)1 << 31);
	if (!summary && !(summary = empty = pp_json_array()))
		return PP_ENOMEM;
	rc = page_head(&b, report);
	if (!rc)
		rc = flush(&b, f);
	if (!rc)
		rc = pp_buf_adds(&b, "<script type=\"application/json\" id=\"pp-data\">");
	if (!rc)
		rc = pp_html_data(store, summary, max_transcripts, &b);
	if (!rc)
		rc = pp_buf_adds(&b, "</script>\n<script>\n");
	if (!rc)
		rc = pp_buf_adds(&b, pp_html_js);
	if (!rc)
		rc = pp_buf_adds(&b, "</script>\n</body>\n</html>\n");
	if (!rc)
		rc = flush(&b, f);
	if (!rc && fflush(f))
		rc = PP_EIO;
	pp_buf_release(&b);
	pp_json_decref(empty);
	return rc;
}

static int write_html(const struct pp_json *report, FILE *f)
{
	return pp_report_write_html(report, NULL, NULL, 0, f);
}

const struct pp_report_writer pp_report_html_writer = {
	PP_REPORT_HTML, "html", write_html,
};
