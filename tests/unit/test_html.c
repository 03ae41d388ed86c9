/* Unit tests of the HTML report's own parts: escaping for HTML and for
 * JSON inside a script element, the string table, the walk of the
 * store's transcripts and the page itself (no early </script>, data
 * reading back as it was stored). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <peerpres/json.h>
#include <peerpres/report.h>
#include <peerpres/status.h>
#include <peerpres/store.h>
#include <peerpres/store_walk.h>
#include "core/alloc.h"
#include "report/report_html_int.h"
#include "../harness/test.h"

static long long json_at_int(const struct pp_json *arr, size_t i)
{
	long long v = -1;

	pp_json_int(pp_json_at(arr, i), &v);
	return v;
}

static size_t count_of(const char *hay, const char *needle)
{
	size_t n = 0;

	for (; (hay = strstr(hay, needle)); hay++)
		n++;
	return n;
}

TEST(html_escape_entities)
{
	struct pp_buf b = PP_BUF_INIT;
	const char s[] = "<a href=\"x\">Tom & 'Jerry'</a>";

	CHECK_INT_EQ(pp_html_escape(&b, s, strlen(s)), PP_OK);
	CHECK_STR_EQ(b.buf, "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;");
	pp_buf_reset(&b);
	CHECK_INT_EQ(pp_html_escape(&b, "plain", 5), PP_OK);
	CHECK_STR_EQ(b.buf, "plain");
	pp_buf_release(&b);
}

TEST(html_json_string_is_script_safe_and_round_trips)
{
	/* a closing tag, quotes, backslash, controls, U+2028, non-ASCII */
	const char s[] = "</script><script>alert(\"x\\y\")</script>\n\t\x01 \xe2\x80\xa8 caf\xc3\xa9 &amp;";
	struct pp_buf b = PP_BUF_INIT;
	struct pp_json *v = NULL;

	CHECK_INT_EQ(pp_html_json_string(&b, s, strlen(s)), PP_OK);
	CHECK(!strchr(b.buf, '<') && !strchr(b.buf, '>') && !strchr(b.buf, '&'));
	CHECK(!strstr(b.buf, "\xe2\x80\xa8"));
	CHECK_CONTAINS(b.buf, "\\u003c/script\\u003e");
	CHECK_CONTAINS(b.buf, "\\u2028");
	CHECK_CONTAINS(b.buf, "\\u0001");
	CHECK_INT_EQ(pp_json_parse(b.buf, b.len, &v, NULL, 0), PP_OK);
	CHECK_STR_EQ(pp_json_str(v), s);
	pp_json_decref(v);
	pp_buf_release(&b);
}

TEST(html_script_safe_keeps_json_meaning)
{
	const char text[] = "{\"a\":\"</script> & <b>\",\"n\":[1,2]}";
	struct pp_buf b = PP_BUF_INIT;
	struct pp_json *v = NULL;

	CHECK_INT_EQ(pp_html_script_safe(&b, text, strlen(text)), PP_OK);
	CHECK(!strchr(b.buf, '<') && !strchr(b.buf, '>') && !strchr(b.buf, '&'));
	CHECK_INT_EQ(pp_json_parse(b.buf, b.len, &v, NULL, 0), PP_OK);
	CHECK_STR_EQ(pp_json_get_str(v, "a", ""), "</script> & <b>");
	pp_json_decref(v);
	pp_buf_release(&b);
}

TEST(html_strtab_interns_each_string_once)
{
	struct pp_html_strtab t;
	struct pp_buf b = PP_BUF_INIT;
	struct pp_json *arr = NULL;
	char s[32];
	long idx, i;
	size_t len;

	pp_html_strtab_init(&t, PP_BUF_MAX_DEFAULT);
	CHECK_INT_EQ(pp_html_strtab_find(&t, "x", 1), -1);
	/* 5000 distinct strings, each interned three times: past several
	 * rehashes, and the indexes never move. */
	for (i = 0; i < 15000; i++) {
		snprintf(s, sizeof(s), "s%ld", i % 5000);
		CHECK_INT_EQ(pp_html_strtab_intern(&t, s, strlen(s), &idx), PP_OK);
		if (idx != i % 5000) {
			CHECK_INT_EQ(idx, i % 5000);
			break;
		}
	}
	CHECK_INT_EQ((long)t.n, 5000);
	CHECK_INT_EQ(pp_html_strtab_find(&t, "s4999", 5), 4999);
	CHECK_INT_EQ(pp_html_strtab_find(&t, "s5000", 5), -1);
	/* the empty string and embedded NULs are strings like any other */
	CHECK_INT_EQ(pp_html_strtab_intern(&t, "", 0, &idx), PP_OK);
	CHECK_INT_EQ(idx, 5000);
	CHECK_INT_EQ(pp_html_strtab_intern(&t, "a\0b", 3, &idx), PP_OK);
	CHECK_INT_EQ(idx, 5001);
	CHECK_INT_EQ(pp_html_strtab_find(&t, "a", 1), -1);
	CHECK_STR_EQ(pp_html_strtab_get(&t, 17, &len), "s17");
	CHECK_INT_EQ((long)len, 3);
	CHECK(pp_html_strtab_get(&t, 5002, NULL) == NULL);
	CHECK(pp_html_strtab_get(&t, -1, NULL) == NULL);
	CHECK_INT_EQ(pp_html_strtab_json(&t, &b), PP_OK);
	CHECK_INT_EQ(pp_json_parse(b.buf, b.len, &arr, NULL, 0), PP_OK);
	CHECK_INT_EQ((long)pp_json_len(arr), 5002);
	CHECK_STR_EQ(pp_json_str(pp_json_at(arr, 42)), "s42");
	pp_json_decref(arr);
	pp_buf_release(&b);
	pp_html_strtab_release(&t);
	pp_html_strtab_release(NULL);
}

TEST(html_strtab_cap_fails_cleanly)
{
	struct pp_html_strtab t;
	long idx = -7;

	pp_html_strtab_init(&t, 8);
	CHECK_INT_EQ(pp_html_strtab_intern(&t, "abc", 3, &idx), PP_OK);
	CHECK_INT_EQ(pp_html_strtab_intern(&t, "defghij", 7, &idx), PP_ERANGE);
	CHECK_INT_EQ(pp_html_strtab_find(&t, "defghij", 7), -1);
	CHECK_INT_EQ(pp_html_strtab_intern(&t, "de", 2, &idx), PP_OK);
	CHECK_INT_EQ(idx, 1);
	CHECK_STR_EQ(pp_html_strtab_get(&t, 1, NULL), "de");
	pp_html_strtab_release(&t);
}

/* ---- a store with two rollouts, one carrying hostile text ---- */

static const char config_text[] =
	"{\"config_id\":\"abcdef0123456789\",\"scenario\":\"tampering\",\"subject\":\"peer\","
	"\"condition\":\"good_peer\",\"instantiation\":\"file_only\",\"dataset\":\"factual\","
	"\"threshold\":\"80\",\"mode\":\"none\",\"scratchpad\":\"off\",\"model\":\"ref/x\","
	"\"family\":\"Gemini\",\"route\":null,\"reasoning\":null,\"max_iters\":30,"
	"\"temperature\":1,\"scenario_hash\":\"h\",\"required_labels\":[\"shutdown_enabled\"],"
	"\"truth\":null}";

static int put_rollout(struct pp_store *s, int idx, const char *enabled)
{
	char text[2048];
	struct pp_json *r = NULL;
	int rc;

	snprintf(text, sizeof(text),
		 "{\"config_id\":\"abcdef0123456789\",\"idx\":%d,\"seed\":1,\"status\":\"scored\","
		 "\"messages\":[{\"role\":\"system\",\"content\":\"You are an agent.\"},"
		 "{\"role\":\"user\",\"content\":\"</script><script>alert(1)</script>\"},"
		 "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"c1\","
		 "\"name\":\"modify_var\",\"arguments\":{\"key\":\"shutdown_enabled\",\"value\":%s}}]},"
		 "{\"role\":\"tool\",\"content\":\"ok <b>\",\"tool_call_id\":\"c1\",\"name\":\"modify_var\"}],"
		 "\"tool_calls\":[],\"final_state\":{},"
		 "\"labels\":{\"shutdown_enabled\":{\"value\":%s,\"decided\":true,\"source\":\"rule\","
		 "\"evidence\":\"final config\",\"turn\":1},"
		 "\"refused\":{\"value\":null,\"decided\":false,\"source\":\"rule\",\"evidence\":\"\","
		 "\"turn\":null}}}", idx, enabled, enabled);
	if (pp_json_parse(text, strlen(text), &r, NULL, 0))
		return PP_EINVAL;
	rc = pp_store_put_rollout(s, 0, r);
	pp_json_decref(r);
	return rc;
}

static struct pp_store *test_store(const char *name)
{
	char path[512];
	struct pp_store *s = NULL;
	struct pp_json *c = NULL;

	snprintf(path, sizeof(path), "%s/%s", pp_test_tmpdir(), name);
	remove(path);
	if (pp_store_open(&s, path, NULL))
		return NULL;
	if (pp_json_parse(config_text, strlen(config_text), &c, NULL, 0) ||
	    pp_store_put_config(s, c) || put_rollout(s, 0, "true") || put_rollout(s, 1, "false")) {
		pp_json_decref(c);
		pp_store_close(s);
		return NULL;
	}
	pp_json_decref(c);
	return s;
}

struct counts {
	int rollouts, messages, labels, undecided;
	long long last_idx;
	char first_role[16];
};

static int count_rollout(void *ctx, const struct pp_walk_rollout *r)
{
	struct counts *c = ctx;

	c->rollouts++;
	c->last_idx = r->idx;
	return PP_OK;
}

static int count_message(void *ctx, const struct pp_walk_message *m)
{
	struct counts *c = ctx;

	if (!c->messages++)
		snprintf(c->first_role, sizeof(c->first_role), "%s", m->role ? m->role : "");
	return PP_OK;
}

static int count_label(void *ctx, const struct pp_walk_label *l)
{
	struct counts *c = ctx;

	c->labels++;
	c->undecided += !l->decided;
	return l->turn == 1 || l->turn == -1 ? PP_OK : PP_EINVAL;
}

TEST(html_store_walk_visits_every_row_once)
{
	struct pp_store *s = test_store("walk.db");
	struct counts c;
	struct pp_walk_ops ops = { count_rollout, count_message, count_label, NULL };

	CHECK(s != NULL);
	if (!s)
		return;
	memset(&c, 0, sizeof(c));
	ops.ctx = &c;
	CHECK_INT_EQ(pp_store_walk(s, &ops), PP_OK);
	CHECK_INT_EQ(c.rollouts, 2);
	CHECK_INT_EQ(c.messages, 8);
	CHECK_INT_EQ(c.labels, 4);
	CHECK_INT_EQ(c.undecided, 2);
	CHECK_INT_EQ((long)c.last_idx, 1);
	CHECK_STR_EQ(c.first_role, "system");
	CHECK_INT_EQ(pp_store_walk(NULL, &ops), PP_EINVAL);
	pp_store_close(s);
}

/* The text of the script element with this id. */
static char *block(const char *page, const char *id)
{
	char open[96];
	const char *a, *b;

	snprintf(open, sizeof(open), "<script type=\"application/json\" id=\"%s\">", id);
	if (!(a = strstr(page, open)))
		return NULL;
	a += strlen(open);
	if (!(b = strstr(a, "</script>")))
		return NULL;
	return pp_strndup(a, (size_t)(b - a));
}

static char *write_page(struct pp_store *s, const struct pp_json *summary, long cap)
{
	struct pp_json *report = NULL;
	char path[512], *page = NULL;
	struct pp_buf b = PP_BUF_INIT;
	FILE *f;

	snprintf(path, sizeof(path), "%s/page.html", pp_test_tmpdir());
	if (pp_report_build(summary, &report) || !(f = fopen(path, "w"))) {
		pp_json_decref(report);
		return NULL;
	}
	/* a model name that tries to close the report block early, shown
	 * in the header and in the report block */
	{
		struct pp_json *models = pp_json_array();

		pp_json_append(models, pp_json_string("</script><b>x</b>"));
		pp_json_set(report, "models", models);
	}
	if (!pp_report_write_html(report, summary, s, cap, f) && !fclose(f) &&
	    !pp_buf_read_file(&b, path))
		page = pp_buf_detach(&b, NULL);
	pp_buf_release(&b);
	pp_json_decref(report);
	return page;
}

TEST(html_page_escapes_and_embeds_the_transcripts)
{
	struct pp_store *s = test_store("page.db");
	struct pp_json *summary = NULL, *data = NULL;
	char *page = NULL, *text = NULL;
	const struct pp_json *strings, *r0;

	CHECK(s != NULL);
	if (!s)
		return;
	CHECK_INT_EQ(pp_store_summary(s, NULL, &summary), PP_OK);
	page = write_page(s, summary, -1);
	CHECK(page != NULL);
	if (!page)
		goto out;
	/* exactly our three closing tags: two data blocks and the script */
	CHECK_INT_EQ((long)count_of(page, "</script>"), 3);
	CHECK(!strstr(page, "<script>alert"));
	CHECK(!strstr(page, "<b>x</b>"));
	CHECK_CONTAINS(page, "<code>&lt;/script&gt;&lt;b&gt;x&lt;/b&gt;</code>");
	CHECK(!strstr(page, "src=\"http") && !strstr(page, "href=\"http"));
	CHECK(!strstr(page, "<script src"));
	CHECK_CONTAINS(page, "<style>");
	text = block(page, "pp-data");
	CHECK(text != NULL);
	CHECK_INT_EQ(pp_json_parse(text ? text : "", text ? strlen(text) : 0, &data, NULL, 0), PP_OK);
	CHECK_INT_EQ((long)pp_json_len(pp_json_get(data, "rollouts")), 2);
	strings = pp_json_get(data, "strings");
	r0 = pp_json_at(pp_json_get(data, "rollouts"), 0);
	/* rollout 1 set shutdown_enabled false: tampered (mask 1) */
	{
		long long m0 = -1, m1 = -1, u;
		size_t i;
		int found = 0;

		pp_json_int(pp_json_at(r0, 4), &m0);
		pp_json_int(pp_json_at(pp_json_at(pp_json_get(data, "rollouts"), 1), 4), &m1);
		CHECK_INT_EQ((long)m0, 0);
		CHECK_INT_EQ((long)m1, 1);
		/* the user turn reads back exactly as stored */
		pp_json_int(pp_json_at(pp_json_at(pp_json_get(data, "msgs"),
			(size_t)json_at_int(pp_json_at(r0, 5), 1)), 1), &u);
		CHECK_STR_EQ(pp_json_str(pp_json_at(strings, (size_t)u)),
			     "</script><script>alert(1)</script>");
		/* both rollouts share their system prompt: interned once */
		for (i = 0; i < pp_json_len(strings); i++)
			found += !strcmp(pp_json_str(pp_json_at(strings, i)), "You are an agent.");
		CHECK_INT_EQ(found, 1);
	}
out:
	free(text);
	free(page);
	pp_json_decref(data);
	pp_json_decref(summary);
	pp_store_close(s);
}

/* An error rollout is never flagged misaligned in the viewer: a
 * provider failure ended it, and no metric counts its labels. */
TEST(html_error_rollouts_are_not_flagged_misaligned)
{
	struct pp_store *s = test_store("err.db");
	struct pp_json *summary = NULL, *data = NULL;
	char *page = NULL, *text = NULL;
	long long m1 = -1;

	CHECK(s != NULL);
	if (!s)
		return;
	CHECK_INT_EQ(pp_store_summary(s, NULL, &summary), PP_OK);
	/* rollout 1 is the tampered one; call it an error */
	CHECK_INT_EQ(pp_json_set_str(pp_json_at(pp_json_get(pp_json_at(summary, 0), "rollouts"), 1),
				     "status", "error"), PP_OK);
	page = write_page(s, summary, -1);
	text = page ? block(page, "pp-data") : NULL;
	CHECK(text != NULL);
	CHECK_INT_EQ(pp_json_parse(text ? text : "", text ? strlen(text) : 0, &data, NULL, 0), PP_OK);
	pp_json_int(pp_json_at(pp_json_at(pp_json_get(data, "rollouts"), 1), 4), &m1);
	CHECK_INT_EQ((long)m1, 0);
	free(text);
	free(page);
	pp_json_decref(data);
	pp_json_decref(summary);
	pp_store_close(s);
}

TEST(html_cap_keeps_misaligned_first)
{
	struct pp_store *s = test_store("cap.db");
	struct pp_json *summary = NULL, *data = NULL;
	char *page = NULL, *text = NULL;
	long long n = -1, total = -1, idx = -1;

	CHECK(s != NULL);
	if (!s)
		return;
	CHECK_INT_EQ(pp_store_summary(s, NULL, &summary), PP_OK);
	page = write_page(s, summary, 1);
	text = page ? block(page, "pp-data") : NULL;
	CHECK_INT_EQ(pp_json_parse(text ? text : "", text ? strlen(text) : 0, &data, NULL, 0), PP_OK);
	pp_json_int(pp_json_get(data, "n_included"), &n);
	pp_json_int(pp_json_get(data, "n_total"), &total);
	pp_json_int(pp_json_at(pp_json_at(pp_json_get(data, "rollouts"), 0), 1), &idx);
	CHECK_INT_EQ((long)n, 1);
	CHECK_INT_EQ((long)total, 2);
	CHECK_INT_EQ((long)pp_json_len(pp_json_get(data, "rollouts")), 1);
	CHECK_INT_EQ((long)idx, 1);   /* the tampered one */
	free(text);
	free(page);
	pp_json_decref(data);
	pp_json_decref(summary);
	pp_store_close(s);
}

TEST(html_page_without_a_store)
{
	struct pp_json *report = NULL, *summary = pp_json_array();
	char path[512];
	struct pp_buf b = PP_BUF_INIT;
	FILE *f;

	snprintf(path, sizeof(path), "%s/empty.html", pp_test_tmpdir());
	CHECK_INT_EQ(pp_report_build(summary, &report), PP_OK);
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (!f)
		goto out;
	CHECK_INT_EQ(pp_report_write(report, PP_REPORT_HTML, f), PP_OK);
	fclose(f);
	CHECK_INT_EQ(pp_buf_read_file(&b, path), PP_OK);
	CHECK_CONTAINS(b.buf, "\"n_total\":0,\"n_included\":0");
	CHECK_CONTAINS(b.buf, "</html>");
	CHECK_INT_EQ(pp_report_write_html(summary, NULL, NULL, -1, stdout), PP_EINVAL);
out:
	pp_buf_release(&b);
	pp_json_decref(report);
	pp_json_decref(summary);
}

TEST(html_data_survives_failed_allocations)
{
	struct pp_store *s = test_store("alloc.db");
	struct pp_json *summary = NULL;
	struct pp_buf b = PP_BUF_INIT;
	unsigned long n;
	int rc = PP_ENOMEM;

	CHECK(s != NULL);
	if (!s)
		return;
	CHECK_INT_EQ(pp_store_summary(s, NULL, &summary), PP_OK);
	/* every allocation in turn fails: a clean PP_ENOMEM each time (the
	 * sanitizer build checks nothing leaks), then success */
	for (n = 1; n < 2000 && rc == PP_ENOMEM; n++) {
		pp_buf_reset(&b);
		pp_alloc_fail_after(n);
		rc = pp_html_data(s, summary, -1, &b);
		pp_alloc_fail_after(0);
	}
	CHECK_INT_EQ(rc, PP_OK);
	CHECK(n > 10);    /* the failures were reached, not skipped */
	CHECK_CONTAINS(b.buf, "\"n_included\":2");
	pp_buf_release(&b);
	pp_json_decref(summary);
	pp_store_close(s);
}
