/*
 * Unit tests of the price table (src/provider/price.c): the lookup rule
 * (exact ids, snapshot suffixes, unknown models, the reference agents),
 * the cost arithmetic, the built-in table's sanity, and prices files
 * with errors that name the file, line and field.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <peerpres/buf.h>
#include <peerpres/diag.h>
#include <peerpres/price.h>
#include <peerpres/status.h>
#include "core/alloc.h"
#include "../harness/test.h"


static const char *write_file(const char *name, const char *text)
{
	static char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", pp_test_tmpdir(), name);
	f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
	return path;
}

/* The diag of loading text as a prices file, formatted; "" on success. */
static const char *load_error(const char *text, int *rc)
{
	static char msg[1200];
	struct pp_price_table *t = NULL;
	struct pp_diag diag;
	struct pp_buf b = PP_BUF_INIT;

	pp_diag_clear(&diag);
	msg[0] = '\0';
	if (pp_price_table_new(&t)) {
		*rc = PP_ENOMEM;
		return msg;
	}
	*rc = pp_price_table_add_file(t, write_file("prices.json", text), &diag);
	if (*rc) {
		pp_diag_format(&diag, &b);
		snprintf(msg, sizeof(msg), "%s", b.buf);
	}
	pp_buf_release(&b);
	pp_price_table_free(t);
	return msg;
}

TEST(price_lookup_exact_id)
{
	struct pp_price p;

	CHECK_INT_EQ(pp_price_lookup(NULL, "openai/gpt-4.1", &p), PP_OK);
	CHECK_STR_EQ(p.model, "openai/gpt-4.1");
	CHECK_NEAR(p.input_usd_per_mtok, 2.00, 1e-9);
	CHECK_NEAR(p.cached_input_usd_per_mtok, 0.50, 1e-9);
	CHECK_NEAR(p.output_usd_per_mtok, 8.00, 1e-9);
	CHECK_NEAR(p.reasoning_usd_per_mtok, 8.00, 1e-9);
	CHECK(!p.reasons);
	CHECK(!p.user);
	CHECK_INT_EQ(strlen(p.checked), 10);
	CHECK(p.source[0]);

	/* Case does not matter; a longer sibling id is its own entry. */
	CHECK_INT_EQ(pp_price_lookup(NULL, "together/moonshotai/kimi-k2.5", &p), PP_OK);
	CHECK_STR_EQ(p.model, "together/moonshotai/Kimi-K2.5");
	CHECK_INT_EQ(pp_price_lookup(NULL, "openai/gpt-4.1-mini", &p), PP_OK);
	CHECK_STR_EQ(p.model, "openai/gpt-4.1-mini");
	CHECK_NEAR(p.input_usd_per_mtok, 0.40, 1e-9);
	CHECK_INT_EQ(pp_price_lookup(NULL, "openai/o3", &p), PP_OK);
	CHECK(p.reasons);
}

TEST(price_lookup_dated_snapshots_take_the_longest_prefix)
{
	static const struct { const char *id, *entry; } cases[] = {
		{ "openai/gpt-4.1-2025-04-14", "openai/gpt-4.1" },
		{ "openai/gpt-4.1-mini-2025-04-14", "openai/gpt-4.1-mini" },
		{ "openai/gpt-4o-2024-08-06", "openai/gpt-4o" },
		{ "openai/o4-mini-2025-04-16", "openai/o4-mini" },
		{ "openai/gpt-5-2025-08-07", "openai/gpt-5" },
		{ "anthropic/claude-haiku-4-5-20251001", "anthropic/claude-haiku-4-5" },
		{ "anthropic/claude-sonnet-4-20250514", "anthropic/claude-sonnet-4" },
		{ "anthropic/claude-opus-4-1-20250805", "anthropic/claude-opus-4-1" },
		{ "anthropic/claude-3-5-haiku-latest", "anthropic/claude-3-5-haiku" },
		{ "anthropic/claude-sonnet-4-5@20250929", "anthropic/claude-sonnet-4-5" },
		{ "google/gemini-2.5-flash-preview-09-2025", "google/gemini-2.5-flash" },
	};
	struct pp_price p;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK_INT_EQ(pp_price_lookup(NULL, cases[i].id, &p), PP_OK);
		CHECK_STR_EQ(p.model, cases[i].entry);
	}
}

TEST(price_lookup_unknown_models_have_no_price)
{
	static const char *const unknown[] = {
		"openai-compat/mystery-7b",
		"openai/gpt-4.1-turbo",          /* not a snapshot of gpt-4.1 */
		"openai/gpt-5.3",                /* a version is not a snapshot of gpt-5 */
		"anthropic/claude-opus-4-9",     /* a single-digit part is a version */
		"google/gemini-2.5-flash-lite-x",
		"openai-compat/gpt-4.1",         /* a gateway's price is its own */
		"gpt-4.1",
		"",
	};
	struct pp_price p;
	size_t i;

	for (i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		memset(&p, 0x5a, sizeof(p));
		CHECK_INT_EQ(pp_price_lookup(NULL, unknown[i], &p), PP_ENOTFOUND);
		CHECK_STR_EQ(p.model, "");
		CHECK(p.input_usd_per_mtok == 0);
	}
	CHECK_INT_EQ(pp_price_lookup(NULL, NULL, &p), PP_EINVAL);
}

TEST(price_lookup_reference_agents_cost_nothing)
{
	struct pp_price p;

	CHECK_INT_EQ(pp_price_lookup(NULL, "ref/synthetic", &p), PP_OK);
	CHECK_STR_EQ(p.model, "ref/synthetic");
	CHECK_NEAR(pp_price_cost_usd(&p, 1000000, 1000000, 500000, 10), 0, 1e-9);
	CHECK_INT_EQ(pp_price_lookup(NULL, "ref/compliant", &p), PP_OK);
}

TEST(price_cost_arithmetic)
{
	struct pp_price p;

	memset(&p, 0, sizeof(p));
	p.input_usd_per_mtok = 2.0;
	p.cached_input_usd_per_mtok = 0.5;
	p.output_usd_per_mtok = 8.0;
	p.reasoning_usd_per_mtok = 8.0;
	CHECK_NEAR(pp_price_cost_usd(&p, 1000000, 0, 0, 0), 2.0, 1e-9);
	CHECK_NEAR(pp_price_cost_usd(&p, 0, 1000000, 0, 0), 8.0, 1e-9);
	/* 1,234 input of which 1,000 cached, 56 output. */
	CHECK_NEAR(pp_price_cost_usd(&p, 1234, 56, 0, 1000),
		   (234 * 2.0 + 1000 * 0.5 + 56 * 8.0) / 1e6, 1e-9);
	/* Reasoning is part of the output: billed once, at its own rate. */
	p.reasoning_usd_per_mtok = 20.0;
	CHECK_NEAR(pp_price_cost_usd(&p, 0, 400, 350, 0), (50 * 8.0 + 350 * 20.0) / 1e6, 1e-9);
	/* Parts larger than the whole are clipped; negatives count as 0. */
	CHECK_NEAR(pp_price_cost_usd(&p, 100, 10, 50, 500), (100 * 0.5 + 10 * 20.0) / 1e6, 1e-9);
	CHECK_NEAR(pp_price_cost_usd(&p, -5, -5, -5, -5), 0, 1e-9);
	CHECK_NEAR(pp_price_cost_usd(NULL, 100, 100, 0, 0), 0, 1e-9);
	/* The study's grid at gpt-4.1's list price, a known figure. */
	CHECK_INT_EQ(pp_price_lookup(NULL, "openai/gpt-4.1", &p), PP_OK);
	CHECK_NEAR(pp_price_cost_usd(&p, 2000000000L, 100000000L, 0, 0), 4000.0 + 800.0, 1e-9);
}

TEST(price_builtin_table_is_sane)
{
	struct pp_price p, q;
	size_t i, j, n = pp_price_table_len(NULL);

	CHECK(n >= 40);
	for (i = 0; i < n; i++) {
		CHECK_INT_EQ(pp_price_table_at(NULL, i, &p), PP_OK);
		CHECK(strchr(p.model, '/') != NULL);
		CHECK(p.input_usd_per_mtok > 0 && p.output_usd_per_mtok >= p.input_usd_per_mtok);
		CHECK(p.cached_input_usd_per_mtok > 0 &&
		      p.cached_input_usd_per_mtok <= p.input_usd_per_mtok);
		CHECK_INT_EQ(strlen(p.checked), 10);
		CHECK(!strncmp(p.checked, "202", 3));
		/* Every entry is found by its own id, and ids are unique. */
		CHECK_INT_EQ(pp_price_lookup(NULL, p.model, &q), PP_OK);
		CHECK_STR_EQ(q.model, p.model);
		for (j = 0; j < i; j++) {
			CHECK_INT_EQ(pp_price_table_at(NULL, j, &q), PP_OK);
			CHECK(strcasecmp(p.model, q.model) != 0);
		}
	}
	CHECK_INT_EQ(pp_price_table_at(NULL, n, &p), PP_ENOTFOUND);
}

TEST(price_file_adds_and_overrides)
{
	struct pp_price_table *t = NULL;
	struct pp_price p;
	struct pp_diag diag;
	const char *path = write_file("prices.yaml",
		"# our gateway's prices\n"
		"prices:\n"
		"  openai/gpt-4.1: {input: 1.5, output: 6, checked: \"2026-11-20\"}\n"
		"  openai-compat/mystery-7b:\n"
		"    input: 0.2\n"
		"    output: 0.4\n"
		"    cached_input: 0.05\n"
		"    reasoning: 0.8\n"
		"    reasons: true\n"
		"    source: our invoice\n");

	pp_diag_clear(&diag);
	CHECK_INT_EQ(pp_price_table_new(&t), PP_OK);
	CHECK_INT_EQ(pp_price_table_add_file(t, path, &diag), PP_OK);
	CHECK_STR_EQ(pp_price_table_file(t), path);
	CHECK_INT_EQ(pp_price_table_len(t), pp_price_table_len(NULL) + 2);

	CHECK_INT_EQ(pp_price_lookup(t, "openai/gpt-4.1", &p), PP_OK);
	CHECK(p.user);
	CHECK_NEAR(p.input_usd_per_mtok, 1.5, 1e-9);
	CHECK_NEAR(p.cached_input_usd_per_mtok, 1.5, 1e-9);   /* defaults to input */
	CHECK_NEAR(p.reasoning_usd_per_mtok, 6.0, 1e-9);      /* defaults to output */
	CHECK_STR_EQ(p.checked, "2026-11-20");
	/* The override covers the snapshots too. */
	CHECK_INT_EQ(pp_price_lookup(t, "openai/gpt-4.1-2025-04-14", &p), PP_OK);
	CHECK(p.user);
	/* The built-in sibling stays. */
	CHECK_INT_EQ(pp_price_lookup(t, "openai/gpt-4.1-mini", &p), PP_OK);
	CHECK(!p.user);

	CHECK_INT_EQ(pp_price_lookup(t, "openai-compat/mystery-7b", &p), PP_OK);
	CHECK_NEAR(p.cached_input_usd_per_mtok, 0.05, 1e-9);
	CHECK_NEAR(p.reasoning_usd_per_mtok, 0.8, 1e-9);
	CHECK(p.reasons);
	CHECK_STR_EQ(p.source, "our invoice");
	CHECK_NEAR(pp_price_cost_usd(&p, 1000, 100, 40, 200),
		   (800 * 0.2 + 200 * 0.05 + 60 * 0.4 + 40 * 0.8) / 1e6, 1e-9);

	/* A second file wins over the first. */
	path = write_file("more.json",
		"{\"prices\": {\"openai/gpt-4.1\": {\"input\": 1, \"output\": 4}}}\n");
	CHECK_INT_EQ(pp_price_table_add_file(t, path, &diag), PP_OK);
	CHECK_INT_EQ(pp_price_lookup(t, "openai/gpt-4.1", &p), PP_OK);
	CHECK_NEAR(p.input_usd_per_mtok, 1.0, 1e-9);
	pp_price_table_free(t);
	pp_price_table_free(NULL);
}

TEST(price_file_json_with_tabs)
{
	int rc;
	const char *msg = load_error(
		"{\n\t\"prices\": {\n\t\t\"together/zai-org/GLM-5\": {\n\t\t\t\"input\": 1.0,\n"
		"\t\t\t\"output\": 3.2\n\t\t}\n\t}\n}\n", &rc);

	CHECK_STR_EQ(msg, "");
	CHECK_INT_EQ(rc, PP_OK);
}

TEST(price_file_errors_name_file_line_and_field)
{
	int rc;
	const char *msg;

	msg = load_error("{\"prices\": {\n"
			 "  \"openai/gpt-4.1\": {\"input\": 2, \"output\": 8},\n"
			 "  \"openai/gpt-4.1-mini\": {\"input\": 0.4, \"ouput\": 1.6}\n"
			 "}}\n", &rc);
	CHECK_INT_EQ(rc, PP_EINVAL);
	CHECK_CONTAINS(msg, "prices.json:3:");
	CHECK_CONTAINS(msg, "unknown field 'ouput'");
	CHECK_CONTAINS(msg, "'openai/gpt-4.1-mini'");

	msg = load_error("{\"prices\": {\n\n  \"openai/gpt-4.1\": {\"output\": 8}}}\n", &rc);
	CHECK_INT_EQ(rc, PP_EINVAL);
	CHECK_CONTAINS(msg, "prices.json:3:");
	CHECK_CONTAINS(msg, "field 'input' is missing");

	msg = load_error("prices:\n  openai/gpt-4.1:\n    input: cheap\n    output: 8\n", &rc);
	CHECK_INT_EQ(rc, PP_EINVAL);
	CHECK_CONTAINS(msg, "prices.json:3:12:");
	CHECK_CONTAINS(msg, "field 'input' must be a number");

	msg = load_error("prices:\n  openai/gpt-4.1:\n    input: 2\n    output: -8\n", &rc);
	CHECK_INT_EQ(rc, PP_EINVAL);
	CHECK_CONTAINS(msg, "prices.json:4:");
	CHECK_CONTAINS(msg, "field 'output'");

	msg = load_error("prices:\n  gpt-4.1: {input: 2, output: 8}\n", &rc);
	CHECK_INT_EQ(rc, PP_EINVAL);
	CHECK_CONTAINS(msg, "prices.json:2:");
	CHECK_CONTAINS(msg, "'provider/model'");

	msg = load_error("prices:\n  ref/synthetic: {input: 2, output: 8}\n", &rc);
	CHECK_INT_EQ(rc, PP_EINVAL);
	CHECK_CONTAINS(msg, "reference agents");

	msg = load_error("prices:\n  openai/x: {input: 2, output: 8, checked: yesterday}\n", &rc);
	CHECK_INT_EQ(rc, PP_EINVAL);
	CHECK_CONTAINS(msg, "field 'checked' must be a date");

	msg = load_error("prices:\n  openai/x: {input: 2, output: 8, reasons: maybe}\n", &rc);
	CHECK_INT_EQ(rc, PP_EINVAL);
	CHECK_CONTAINS(msg, "field 'reasons'");

	msg = load_error("prices:\n  openai/x: 2\n", &rc);
	CHECK_INT_EQ(rc, PP_EINVAL);
	CHECK_CONTAINS(msg, "expected an object");

	msg = load_error("{\"openai/gpt-4.1\": {\"input\": 2, \"output\": 8}}\n", &rc);
	CHECK_INT_EQ(rc, PP_EINVAL);
	CHECK_CONTAINS(msg, "prices.json:1:");
	CHECK_CONTAINS(msg, "{\"prices\":");

	msg = load_error("{\"prices\": {\"openai/gpt-4.1\": {\"input\": 2,,}}\n", &rc);
	CHECK(rc != PP_OK);
	CHECK_CONTAINS(msg, "prices.json:1:");
}

TEST(price_file_error_leaves_the_table_unchanged)
{
	struct pp_price_table *t = NULL;
	struct pp_price p;
	struct pp_diag diag;
	const char *path = write_file("half.yaml",
		"prices:\n  openai/gpt-4.1: {input: 1, output: 1}\n  openai/bad: {input: 1}\n");

	pp_diag_clear(&diag);
	CHECK_INT_EQ(pp_price_table_new(&t), PP_OK);
	CHECK_INT_EQ(pp_price_table_add_file(t, path, &diag), PP_EINVAL);
	CHECK_INT_EQ(pp_price_table_len(t), pp_price_table_len(NULL));
	CHECK(pp_price_table_file(t) == NULL);
	CHECK_INT_EQ(pp_price_lookup(t, "openai/gpt-4.1", &p), PP_OK);
	CHECK(!p.user);
	pp_price_table_free(t);
}

TEST(price_table_load_rule)
{
	struct pp_price_table *t = NULL;
	struct pp_price p;
	struct pp_diag diag;
	char cwd[1024];
	int rc;

	pp_diag_clear(&diag);
	CHECK(getcwd(cwd, sizeof(cwd)) != NULL);
	CHECK_INT_EQ(chdir(pp_test_tmpdir()), 0);

	/* Nothing given, no default file: the built-in table. */
	rc = pp_price_table_load(&t, NULL, &diag);
	if (!rc) {
		CHECK(pp_price_table_file(t) == NULL);
		pp_price_table_free(t);
	}
	/* The default file in the working directory is read... */
	write_file(PP_PRICES_DEFAULT_FILE,
		   "{\"prices\": {\"openai-compat/local\": {\"input\": 0, \"output\": 0}}}");
	if (!rc && !(rc = pp_price_table_load(&t, NULL, &diag))) {
		rc = pp_price_lookup(t, "openai-compat/local", &p);
		pp_price_table_free(t);
	}
	/* ... unless --prices names another, which must exist. */
	if (!rc) {
		rc = pp_price_table_load(&t, "no-such-prices.json", &diag) == PP_ENOTFOUND &&
		     t == NULL ? PP_OK : PP_EINVAL;
	}
	CHECK_INT_EQ(chdir(cwd), 0);
	CHECK_INT_EQ(rc, PP_OK);
	CHECK_CONTAINS(diag.file, "no-such-prices.json");
}

TEST(price_file_survives_allocation_failures)
{
	const char *path = write_file("alloc.yaml",
		"prices:\n  openai/a: {input: 1, output: 2}\n  openai/b: {input: 3, output: 4}\n");
	struct pp_price_table *t;
	struct pp_diag diag;
	unsigned long n;
	int rc = PP_ENOMEM;

	for (n = 1; n < 500 && rc == PP_ENOMEM; n++) {
		t = NULL;
		pp_diag_clear(&diag);
		pp_alloc_fail_after(n);
		rc = pp_price_table_load(&t, path, &diag);
		pp_alloc_fail_after(0);
		CHECK(rc == PP_OK || rc == PP_ENOMEM);
		CHECK(rc == PP_OK ? t != NULL : t == NULL);
		pp_price_table_free(t);
	}
	CHECK_INT_EQ(rc, PP_OK);
}

/* A price as the docs print it: "2.00", "0.075". */
static void doc_rate(double usd, char *out, size_t len)
{
	double cents = usd * 100;
	long long whole = (long long)(cents + 0.5);

	snprintf(out, len, cents - (double)whole < 1e-9 && (double)whole - cents < 1e-9 ?
		 "%.2f" : "%g", usd);
}

TEST(price_docs_list_the_builtin_table)
{
	struct pp_buf doc = PP_BUF_INIT;
	struct pp_price p;
	char row[300], in[32], cached[32], out[32];
	size_t i;

	CHECK_INT_EQ(pp_buf_read_file(&doc, "docs/providers.md"), PP_OK);
	for (i = 0; i < pp_price_table_len(NULL); i++) {
		if (pp_price_table_at(NULL, i, &p))
			break;
		doc_rate(p.input_usd_per_mtok, in, sizeof(in));
		doc_rate(p.cached_input_usd_per_mtok, cached, sizeof(cached));
		doc_rate(p.output_usd_per_mtok, out, sizeof(out));
		snprintf(row, sizeof(row), "| `%s` | %s | %s | %s | %s | %s |", p.model, in,
			 cached, out, p.reasons ? "yes" : "", p.checked);
		if (!strstr(doc.buf, row)) {
			pp_test_fail(__FILE__, __LINE__, "docs/providers.md lacks the row %s", row);
			break;
		}
	}
	pp_buf_release(&doc);
}
