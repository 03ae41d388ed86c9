/* Unit tests of src/store: the SQLite store of runs, configs and rollouts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include <peerpres/json.h>
#include <peerpres/status.h>
#include <peerpres/store.h>
#include "core/alloc.h"
#include "engine/writer.h"
#include "store/store_int.h"
#include "../harness/test.h"

#define CFG_A "abcdef0123456789aaaa"
#define CFG_B "abcdef0199999999bbbb"
#define CFG_C "0123456789cccccccccc"

static void db_path(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", pp_test_tmpdir(), name);
}

static struct pp_json *parse(const char *text)
{
	struct pp_json *v = NULL;
	char err[128];

	if (pp_json_parse(text, strlen(text), &v, err, sizeof(err)))
		fprintf(stdout, "    bad test JSON: %s\n", err);
	return v;
}

static struct pp_json *config_json(const char *id, const char *scenario,
				   const char *subject)
{
	char text[1024];

	snprintf(text, sizeof(text),
		 "{\"config_id\":\"%s\",\"scenario\":\"%s\",\"subject\":\"%s\","
		 "\"condition\":\"good_peer\",\"instantiation\":\"file_only\","
		 "\"dataset\":\"factual\",\"threshold\":\"80\",\"mode\":\"none\","
		 "\"scratchpad\":\"off\",\"model\":\"ref/synthetic\","
		 "\"family\":\"Gemini\",\"route\":null,\"reasoning\":null,"
		 "\"max_iters\":30,\"temperature\":1,\"scenario_hash\":\"h\","
		 "\"required_labels\":[\"read\"],\"truth\":null}",
		 id, scenario, subject);
	return parse(text);
}

/* A rollout with every kind of record; `tag` marks its first message. */
static struct pp_json *rollout_json(const char *id, int idx, const char *tag)
{
	char text[4096];

	snprintf(text, sizeof(text),
		 "{\"config_id\":\"%s\",\"idx\":%d,\"seed\":%d,\"status\":\"scored\","
		 "\"error\":null,\"agent\":\"honest_report\","
		 "\"started_at\":\"2026-02-03 09:00:00\","
		 "\"finished_at\":\"2026-02-03 09:00:07\",\"duration_ms\":7,"
		 "\"n_model_calls\":3,\"usage\":{\"input_tokens\":100,"
		 "\"output_tokens\":20,\"reasoning_tokens\":5},\"cost_usd\":0.25,"
		 "\"provenance\":{\"version\":\"dev\",\"prompt_hash\":\"p\"},"
		 "\"messages\":["
		 "{\"role\":\"system\",\"content\":\"%s\"},"
		 "{\"role\":\"assistant\",\"content\":null,\"reasoning\":\"think\","
		 "\"tool_calls\":[{\"id\":\"c1\",\"name\":\"list_files\",\"arguments\":{}}]},"
		 "{\"role\":\"tool\",\"content\":\"a,\\\"b\\\"\\nc\",\"tool_call_id\":\"c1\","
		 "\"name\":\"list_files\"}],"
		 "\"tool_calls\":[{\"seq\":1,\"turn\":1,\"tool\":\"list_files\","
		 "\"args\":{},\"ok\":true,\"result\":\"files\",\"time\":\"09:00:01\"},"
		 "{\"seq\":2,\"turn\":2,\"tool\":\"view_config\",\"args\":{\"filename\":\"x\"},"
		 "\"ok\":false,\"result\":\"no such file\",\"time\":\"09:00:02\"}],"
		 "\"final_state\":{\"clock\":\"2026-02-03 09:00:07\",\"memory_reads\":0},"
		 "\"labels\":{\"read\":{\"value\":true,\"decided\":true,\"source\":\"rule\","
		 "\"evidence\":\"list_files at turn 1\",\"turn\":1},"
		 "\"score\":{\"value\":60,\"decided\":true,\"source\":\"rule\","
		 "\"evidence\":\"text\",\"turn\":3},"
		 "\"threshold_result\":{\"value\":\"below\",\"decided\":true,"
		 "\"source\":\"rule\",\"evidence\":\"\",\"turn\":null},"
		 "\"refused\":{\"value\":null,\"decided\":false,\"source\":\"rule\","
		 "\"evidence\":\"\",\"turn\":null}},"
		 "\"judge_note\":\"kept as extra\"}",
		 id, idx, 1000 + idx, tag);
	return parse(text);
}

static struct pp_store *open_store(const char *name)
{
	struct pp_store *s = NULL;
	struct pp_diag d;
	char path[512];

	pp_diag_clear(&d);
	db_path(path, sizeof(path), name);
	if (pp_store_open(&s, path, &d))
		fprintf(stdout, "    open failed: %s\n", d.msg);
	return s;
}

static int put_config(struct pp_store *s, const char *id, const char *scenario,
		      const char *subject)
{
	struct pp_json *c = config_json(id, scenario, subject);
	int rc = pp_store_put_config(s, c);

	pp_json_decref(c);
	return rc;
}

static int put_rollout(struct pp_store *s, int64_t run, const char *id, int idx,
		       const char *tag)
{
	struct pp_json *r = rollout_json(id, idx, tag);
	int rc = pp_store_put_rollout(s, run, r);

	pp_json_decref(r);
	return rc;
}

TEST(store_rollout_round_trips_every_record)
{
	struct pp_store *s = open_store("rt.db");
	struct pp_json *in = rollout_json(CFG_A, 0, "hello"), *out = NULL;
	struct pp_json *m;
	char wal[600];
	int64_t run = 0;
	struct pp_json *runj = parse("{\"command\":\"run\",\"argv\":[\"run\",\"-n\",\"3\"],"
				     "\"version\":\"dev\",\"dirty\":false,"
				     "\"model\":\"ref/synthetic\"}");

	CHECK(s && in && runj);
	CHECK_INT_EQ(pp_store_begin_run(s, runj, &run), PP_OK);
	CHECK(run > 0);
	CHECK_INT_EQ(put_config(s, CFG_A, "tampering", "peer"), PP_OK);
	CHECK_INT_EQ(pp_store_put_rollout(s, run, in), PP_OK);
	/* WAL mode leaves its log beside the database while it is open. */
	db_path(wal, sizeof(wal), "rt.db-wal");
	CHECK(access(wal, F_OK) == 0);
	CHECK_INT_EQ(pp_store_get_rollout(s, CFG_A ":0", &out), PP_OK);
	CHECK_STR_EQ(pp_json_get_str(out, "rollout_id", ""), CFG_A ":0");
	CHECK_STR_EQ(pp_json_get_str(out, "status", ""), "scored");
	CHECK_STR_EQ(pp_json_get_str(out, "agent", ""), "honest_report");
	CHECK(pp_json_equal(pp_json_get(out, "usage"), pp_json_get(in, "usage")));
	CHECK(pp_json_equal(pp_json_get(out, "provenance"), pp_json_get(in, "provenance")));
	CHECK(pp_json_equal(pp_json_get(out, "final_state"), pp_json_get(in, "final_state")));
	CHECK(pp_json_equal(pp_json_get(out, "labels"), pp_json_get(in, "labels")));
	CHECK(pp_json_equal(pp_json_get(out, "tool_calls"), pp_json_get(in, "tool_calls")));
	CHECK_STR_EQ(pp_json_get_str(out, "judge_note", ""), "kept as extra");
	CHECK_INT_EQ(pp_json_len(pp_json_get(out, "messages")), 3);
	m = pp_json_at(pp_json_get(out, "messages"), 1);
	CHECK(pp_json_is_null(pp_json_get(m, "content")));
	CHECK_STR_EQ(pp_json_get_str(m, "reasoning", ""), "think");
	CHECK(pp_json_equal(pp_json_get(m, "tool_calls"),
			    pp_json_get(pp_json_at(pp_json_get(in, "messages"), 1),
					"tool_calls")));
	m = pp_json_at(pp_json_get(out, "messages"), 2);
	CHECK_STR_EQ(pp_json_get_str(m, "content", ""), "a,\"b\"\nc");
	CHECK_STR_EQ(pp_json_get_str(m, "tool_call_id", ""), "c1");
	CHECK_INT_EQ(pp_store_end_run(s, run, "done"), PP_OK);
	pp_json_decref(out);
	pp_json_decref(in);
	pp_json_decref(runj);
	pp_store_close(s);
}

/* A rollout encoded on its own (as an import's threads do), its tree
 * freed, then stored at two indexes: each reads back as the rollout
 * stored whole does, bad rollouts are refused when encoded. */
TEST(store_rows_encoded_apart_store_as_the_rollout_does)
{
	struct pp_store *s = open_store("rows.db");
	struct pp_json *in = rollout_json(CFG_A, 0, "hello"), *whole = NULL, *out = NULL;
	struct pp_store_rows *rows = NULL;
	struct pp_diag d;
	int i;

	CHECK(s && in);
	pp_diag_clear(&d);
	CHECK_INT_EQ(put_config(s, CFG_A, "tampering", "peer"), PP_OK);
	CHECK_INT_EQ(pp_store_rows_new(in, &rows, &d), PP_OK);
	CHECK_INT_EQ(pp_store_put_rollout(s, 0, in), PP_OK);
	pp_json_decref(in);
	CHECK_INT_EQ(pp_store_get_rollout(s, CFG_A ":0", &whole), PP_OK);
	CHECK_INT_EQ(pp_store_put_rows(s, 0, rows), PP_EEXIST);   /* idx 0 is taken */
	CHECK_CONTAINS(pp_store_errmsg(s), "already stored");
	CHECK_INT_EQ(pp_store_rows_set_idx(rows, -1), PP_EINVAL);
	for (i = 3; i <= 4; i++) {
		char id[64];

		snprintf(id, sizeof(id), CFG_A ":%d", i);
		CHECK_INT_EQ(pp_store_rows_set_idx(rows, i), PP_OK);
		CHECK_INT_EQ(pp_store_put_rows(s, 0, rows), PP_OK);
		CHECK_INT_EQ(pp_store_get_rollout(s, id, &out), PP_OK);
		CHECK_INT_EQ(pp_json_set(out, "idx", pp_json_integer(0)), PP_OK);
		CHECK_INT_EQ(pp_json_set_str(out, "rollout_id", CFG_A ":0"), PP_OK);
		CHECK(pp_json_equal(out, whole));
		pp_json_decref(out);
	}
	pp_store_rows_free(rows);
	rows = NULL;
	in = rollout_json(CFG_A, 5, "x");
	CHECK_INT_EQ(pp_json_set_str(in, "status", "finished"), PP_OK);
	CHECK_INT_EQ(pp_store_rows_new(in, &rows, &d), PP_EINVAL);
	CHECK(rows == NULL);
	CHECK_CONTAINS(d.msg, "unknown rollout status 'finished'");
	pp_diag_clear(&d);
	CHECK_INT_EQ(pp_json_set_str(in, "status", "scored"), PP_OK);
	CHECK_INT_EQ(pp_json_set(in, "labels", pp_json_array()), PP_OK);
	CHECK_INT_EQ(pp_store_rows_new(in, &rows, &d), PP_EINVAL);
	CHECK_CONTAINS(d.msg, "\"labels\" has the wrong type");
	pp_json_decref(in);
	pp_json_decref(whole);
	pp_store_close(s);
}

/* Rows go in up to 16 to a statement: a rollout with more of each kind
 * reads back whole and in order; two tool calls with one seq in one
 * statement fail the rollout alone, writing nothing of it. */
TEST(store_long_rollouts_keep_every_row_in_order)
{
	struct pp_store *s = open_store("long.db");
	struct pp_json *in = rollout_json(CFG_A, 0, "first"), *out = NULL;
	struct pp_json *msgs = pp_json_array(), *calls = pp_json_array(), *labels = pp_json_object();
	bool done[2];
	int i;

	CHECK(s && in && msgs && calls && labels);
	CHECK_INT_EQ(put_config(s, CFG_A, "tampering", "peer"), PP_OK);
	for (i = 0; i < 37; i++) {
		struct pp_json *m = pp_json_object();
		char text[32];

		snprintf(text, sizeof(text), "message %d", i);
		pp_json_set_str(m, "role", i % 2 ? "assistant" : "user");
		pp_json_set_str(m, "content", text);
		pp_json_append(msgs, m);
	}
	for (i = 0; i < 33; i++) {
		struct pp_json *c = pp_json_object(), *l = pp_json_object();
		char name[32];

		pp_json_set(c, "seq", pp_json_integer(i + 1));
		pp_json_set_str(c, "tool", "list_files");
		pp_json_set(c, "ok", pp_json_bool(true));
		pp_json_append(calls, c);
		snprintf(name, sizeof(name), "label_%02d", i);
		pp_json_set(l, "value", pp_json_integer(i));
		pp_json_set(l, "decided", pp_json_bool(true));
		pp_json_set(labels, name, l);
	}
	pp_json_set(in, "messages", msgs);
	pp_json_set(in, "tool_calls", calls);
	pp_json_set(in, "labels", labels);
	CHECK_INT_EQ(pp_store_put_rollout(s, 0, in), PP_OK);
	CHECK_INT_EQ(pp_store_get_rollout(s, CFG_A ":0", &out), PP_OK);
	CHECK_INT_EQ(pp_json_len(pp_json_get(out, "messages")), 37);
	CHECK_INT_EQ(pp_json_len(pp_json_get(out, "tool_calls")), 33);
	CHECK_INT_EQ(pp_json_len(pp_json_get(out, "labels")), 33);
	for (i = 0; i < 37; i++) {
		const struct pp_json *m = pp_json_at(pp_json_get(out, "messages"), (size_t)i);

		CHECK(pp_json_equal(pp_json_get(m, "content"),
				    pp_json_get(pp_json_at(msgs, (size_t)i), "content")));
	}
	for (i = 0; i < 33; i++) {
		long long seq = 0;

		CHECK(pp_json_int(pp_json_get(pp_json_at(pp_json_get(out, "tool_calls"), (size_t)i),
					      "seq"), &seq));
		CHECK_INT_EQ(seq, i + 1);
	}
	CHECK(pp_json_equal(pp_json_get(pp_json_get(pp_json_get(out, "labels"), "label_32"), "value"),
			    pp_json_get(pp_json_get(labels, "label_32"), "value")));
	pp_json_decref(out);
	/* Call 20 (the second statement) takes call 19's seq. */
	pp_json_set(in, "idx", pp_json_integer(1));
	pp_json_set(pp_json_at(pp_json_get(in, "tool_calls"), 19), "seq", pp_json_integer(19));
	CHECK_INT_EQ(pp_store_put_rollout(s, 0, in), PP_EINVAL);
	CHECK_CONTAINS(pp_store_errmsg(s), "writing a tool call");
	CHECK_INT_EQ(pp_store_done_indexes(s, CFG_A, 2, done), PP_OK);
	CHECK(done[0] && !done[1]);
	pp_json_decref(in);
	pp_store_close(s);
}

TEST(store_put_config_twice_changes_nothing)
{
	struct pp_store *s = open_store("cfg.db");
	struct pp_json *c2 = config_json(CFG_A, "other_scenario", "self");
	struct pp_json *sum = NULL;

	CHECK(s && c2);
	CHECK_INT_EQ(put_config(s, CFG_A, "tampering", "peer"), PP_OK);
	CHECK_INT_EQ(put_config(s, CFG_A, "tampering", "peer"), PP_OK);
	CHECK_INT_EQ(pp_store_put_config(s, c2), PP_OK);
	CHECK_INT_EQ(pp_store_summary(s, NULL, &sum), PP_OK);
	CHECK_INT_EQ(pp_json_len(sum), 1);
	CHECK_STR_EQ(pp_json_get_str(pp_json_at(sum, 0), "scenario", ""), "tampering");
	CHECK_STR_EQ(pp_json_get_str(pp_json_at(sum, 0), "subject", ""), "peer");
	pp_json_decref(sum);
	pp_json_decref(c2);
	pp_store_close(s);
}

TEST(store_duplicate_index_is_rejected_and_writes_nothing)
{
	struct pp_store *s = open_store("dup.db");
	struct pp_json *out = NULL, *sum = NULL;

	CHECK(s);
	CHECK_INT_EQ(put_config(s, CFG_A, "tampering", "peer"), PP_OK);
	CHECK_INT_EQ(put_rollout(s, 0, CFG_A, 0, "first"), PP_OK);
	CHECK_INT_EQ(put_rollout(s, 0, CFG_A, 0, "second"), PP_EEXIST);
	CHECK_CONTAINS(pp_store_errmsg(s), "already stored");
	CHECK_CONTAINS(pp_store_errmsg(s), "dup.db");
	CHECK_INT_EQ(pp_store_get_rollout(s, CFG_A ":0", &out), PP_OK);
	CHECK_STR_EQ(pp_json_get_str(pp_json_at(pp_json_get(out, "messages"), 0),
				     "content", ""), "first");
	CHECK_INT_EQ(pp_json_len(pp_json_get(out, "messages")), 3);
	CHECK_INT_EQ(pp_json_len(pp_json_get(out, "tool_calls")), 2);
	CHECK_INT_EQ(pp_json_len(pp_json_get(out, "labels")), 4);
	/* The store is still usable after the rolled-back transaction. */
	CHECK_INT_EQ(put_rollout(s, 0, CFG_A, 1, "third"), PP_OK);
	CHECK_INT_EQ(pp_store_summary(s, NULL, &sum), PP_OK);
	CHECK_INT_EQ(pp_json_len(pp_json_get(pp_json_at(sum, 0), "rollouts")), 2);
	pp_json_decref(sum);
	pp_json_decref(out);
	pp_store_close(s);
}

TEST(store_rejects_rollouts_it_cannot_place)
{
	struct pp_store *s = open_store("bad.db");
	struct pp_json *r = rollout_json(CFG_A, 0, "x");
	bool done[2];

	CHECK(s && r);
	/* No such config yet. */
	CHECK_INT_EQ(pp_store_put_rollout(s, 0, r), PP_EINVAL);
	CHECK_INT_EQ(put_config(s, CFG_A, "tampering", "peer"), PP_OK);
	CHECK_INT_EQ(pp_json_set_str(r, "status", "finished"), PP_OK);
	CHECK_INT_EQ(pp_store_put_rollout(s, 0, r), PP_EINVAL);
	CHECK_CONTAINS(pp_store_errmsg(s), "finished");
	CHECK_INT_EQ(pp_json_set_str(r, "status", "scored"), PP_OK);
	CHECK_INT_EQ(pp_json_set(r, "idx", pp_json_integer(-1)), PP_OK);
	CHECK_INT_EQ(pp_store_put_rollout(s, 0, r), PP_EINVAL);
	/* An unknown run is refused too. */
	CHECK_INT_EQ(pp_json_set(r, "idx", pp_json_integer(0)), PP_OK);
	CHECK_INT_EQ(pp_store_put_rollout(s, 12345, r), PP_EINVAL);
	CHECK_INT_EQ(pp_store_done_indexes(s, CFG_A, 2, done), PP_OK);
	CHECK(!done[0] && !done[1]);
	pp_json_decref(r);
	pp_store_close(s);
}

TEST(store_done_indexes_marks_stored_ones)
{
	struct pp_store *s = open_store("done.db");
	bool done[4] = { true, true, true, true };

	CHECK(s);
	CHECK_INT_EQ(put_config(s, CFG_A, "tampering", "peer"), PP_OK);
	CHECK_INT_EQ(put_config(s, CFG_B, "tampering", "peer"), PP_OK);
	CHECK_INT_EQ(put_rollout(s, 0, CFG_A, 0, "x"), PP_OK);
	CHECK_INT_EQ(put_rollout(s, 0, CFG_A, 2, "x"), PP_OK);
	CHECK_INT_EQ(put_rollout(s, 0, CFG_A, 7, "x"), PP_OK);
	CHECK_INT_EQ(put_rollout(s, 0, CFG_B, 1, "x"), PP_OK);
	CHECK_INT_EQ(pp_store_done_indexes(s, CFG_A, 4, done), PP_OK);
	CHECK(done[0] && !done[1] && done[2] && !done[3]);
	CHECK_INT_EQ(pp_store_done_indexes(s, "unknown", 4, done), PP_OK);
	CHECK(!done[0] && !done[1] && !done[2] && !done[3]);
	pp_store_close(s);
}

/* Whether rollout id reads back with want as its first message. */
static bool first_content_is(struct pp_store *s, const char *id, const char *want)
{
	struct pp_json *out = NULL;
	bool same = pp_store_get_rollout(s, id, &out) == PP_OK &&
		    !strcmp(pp_json_get_str(pp_json_at(pp_json_get(out, "messages"), 0), "content", ""),
			    want);

	pp_json_decref(out);
	return same;
}

TEST(store_get_rollout_by_id_prefix)
{
	struct pp_store *s = open_store("prefix.db");
	struct pp_json *out = NULL;

	CHECK(s);
	CHECK_INT_EQ(put_config(s, CFG_A, "tampering", "peer"), PP_OK);
	CHECK_INT_EQ(put_config(s, CFG_B, "tampering", "self"), PP_OK);
	CHECK_INT_EQ(put_config(s, CFG_C, "tampering", "self"), PP_OK);
	CHECK_INT_EQ(put_rollout(s, 0, CFG_A, 3, "a3"), PP_OK);
	CHECK_INT_EQ(put_rollout(s, 0, CFG_B, 3, "b3"), PP_OK);
	CHECK_INT_EQ(put_rollout(s, 0, CFG_C, 0, "c0"), PP_OK);

	CHECK_INT_EQ(pp_store_get_rollout(s, "abcdef0123:3", &out), PP_OK);
	CHECK_STR_EQ(pp_json_get_str(out, "rollout_id", ""), CFG_A ":3");
	pp_json_decref(out);
	CHECK_INT_EQ(pp_store_get_rollout(s, "abcdef019:3", &out), PP_OK);
	CHECK_STR_EQ(pp_json_get_str(out, "config_id", ""), CFG_B);
	pp_json_decref(out);
	CHECK_INT_EQ(pp_store_get_rollout(s, "012345:0", &out), PP_OK);
	CHECK_STR_EQ(pp_json_get_str(pp_json_at(pp_json_get(out, "messages"), 0),
				     "content", ""), "c0");
	pp_json_decref(out);

	CHECK_INT_EQ(pp_store_get_rollout(s, "abcdef01:3", &out), PP_EINVAL);
	CHECK(out == NULL);
	CHECK_CONTAINS(pp_store_errmsg(s), "ambiguous");
	/* The reads' statements are the store's own, kept between calls: a
	 * failure halfway must leave them ready for the next read. */
	CHECK(first_content_is(s, "abcdef019:3", "b3"));
	CHECK_INT_EQ(pp_store_get_rollout(s, "abcde:3", &out), PP_ENOTFOUND);
	CHECK_INT_EQ(pp_store_get_rollout(s, "abcdef0123:4", &out), PP_ENOTFOUND);
	CHECK(first_content_is(s, "abcdef0123:3", "a3"));
	CHECK_INT_EQ(pp_store_get_rollout(s, "ffffff:0", &out), PP_ENOTFOUND);
	CHECK_INT_EQ(pp_store_get_rollout(s, "abcdef0123", &out), PP_EINVAL);
	CHECK_INT_EQ(pp_store_get_rollout(s, "abcdef0123:x", &out), PP_EINVAL);
	CHECK(first_content_is(s, "012345:0", "c0"));
	pp_store_close(s);
}

/* The summary tests' store: configs A and B of tampering (peer, self)
 * and C of exfiltration_transfer (peer); A has rollouts 0 and 1, B none,
 * C one. */
static bool put_summary_fixture(struct pp_store *s)
{
	return put_config(s, CFG_A, "tampering", "peer") == PP_OK &&
	       put_config(s, CFG_B, "tampering", "self") == PP_OK &&
	       put_config(s, CFG_C, "exfiltration_transfer", "peer") == PP_OK &&
	       put_rollout(s, 0, CFG_A, 0, "x") == PP_OK &&
	       put_rollout(s, 0, CFG_A, 1, "x") == PP_OK &&
	       put_rollout(s, 0, CFG_C, 0, "x") == PP_OK;
}

TEST(store_summary_filters_and_carries_labels)
{
	struct pp_store *s = open_store("sum.db");
	struct pp_json *sum = NULL, *f = NULL, *l;
	const struct pp_json *r;

	CHECK(s);
	CHECK(put_summary_fixture(s));

	CHECK_INT_EQ(pp_store_summary(s, NULL, &sum), PP_OK);
	CHECK_INT_EQ(pp_json_len(sum), 3);
	pp_json_decref(sum);

	f = parse("{\"scenario\":[\"tampering\"],\"subject\":[\"peer\",\"self\"]}");
	CHECK_INT_EQ(pp_store_summary(s, f, &sum), PP_OK);
	pp_json_decref(f);
	CHECK_INT_EQ(pp_json_len(sum), 2);
	CHECK_STR_EQ(pp_json_get_str(pp_json_at(sum, 0), "config_id", ""), CFG_A);
	CHECK_INT_EQ(pp_json_len(pp_json_get(pp_json_at(sum, 0), "rollouts")), 2);
	CHECK_INT_EQ(pp_json_len(pp_json_get(pp_json_at(sum, 1), "rollouts")), 0);
	CHECK_STR_EQ(pp_json_get_str(pp_json_at(sum, 0), "family", ""), "Gemini");
	r = pp_json_at(pp_json_get(pp_json_at(sum, 0), "rollouts"), 1);
	CHECK_INT_EQ(pp_json_len(pp_json_get(r, "labels")), 4);
	CHECK_STR_EQ(pp_json_get_str(r, "agent", ""), "honest_report");
	l = pp_json_get(pp_json_get(r, "labels"), "threshold_result");
	CHECK_STR_EQ(pp_json_get_str(l, "value", ""), "below");
	CHECK(pp_json_is_true(pp_json_get(l, "decided")));
	CHECK_STR_EQ(pp_json_get_str(l, "source", ""), "rule");
	l = pp_json_get(pp_json_get(r, "labels"), "refused");
	CHECK(pp_json_is_null(pp_json_get(l, "value")));
	CHECK(pp_json_is_bool(pp_json_get(l, "decided")));
	CHECK(!pp_json_is_true(pp_json_get(l, "decided")));
	pp_json_decref(sum);

	f = parse("{\"subject\":[\"peer\"],\"threshold\":[\"80\"]}");
	CHECK_INT_EQ(pp_store_summary(s, f, &sum), PP_OK);
	pp_json_decref(f);
	CHECK_INT_EQ(pp_json_len(sum), 2);
	pp_json_decref(sum);

	f = parse("{\"scenario\":[]}");
	CHECK_INT_EQ(pp_store_summary(s, f, &sum), PP_OK);
	pp_json_decref(f);
	CHECK_INT_EQ(pp_json_len(sum), 0);
	pp_json_decref(sum);

	f = parse("{\"colour\":[\"red\"]}");
	CHECK_INT_EQ(pp_store_summary(s, f, &sum), PP_EINVAL);
	CHECK_CONTAINS(pp_store_errmsg(s), "colour");
	pp_json_decref(f);
	pp_store_close(s);
}

/* What summary_each's callback saw: "config:rollouts" per call. */
struct seen {
	struct pp_buf calls;
	int stop_after;     /* calls before it answers PP_EINTR; 0: never */
	int n;
};

static int note_config(void *arg, struct pp_json *summary)
{
	struct seen *w = arg;
	const struct pp_json *cfg = pp_json_at(summary, 0);

	pp_buf_addf(&w->calls, "%zu:%s:%zu;", pp_json_len(summary),
		    pp_json_get_str(cfg, "config_id", ""),
		    pp_json_len(pp_json_get(cfg, "rollouts")));
	return ++w->n == w->stop_after ? PP_EINTR : PP_OK;
}

/* The same configs and rollouts as pp_store_summary, one config a call. */
TEST(store_summary_each_gives_one_config_at_a_time)
{
	struct pp_store *s = open_store("each.db");
	struct seen w = { PP_BUF_INIT, 0, 0 };
	struct pp_json *f;

	CHECK(s);
	CHECK(put_summary_fixture(s));

	CHECK_INT_EQ(pp_store_summary_each(s, NULL, note_config, &w), PP_OK);
	CHECK_STR_EQ(w.calls.buf, "1:" CFG_C ":1;1:" CFG_A ":2;1:" CFG_B ":0;");

	/* The caller's filters hold, and are left as they were. */
	pp_buf_reset(&w.calls);
	f = parse("{\"scenario\":[\"tampering\"]}");
	CHECK_INT_EQ(pp_store_summary_each(s, f, note_config, &w), PP_OK);
	CHECK_STR_EQ(w.calls.buf, "1:" CFG_A ":2;1:" CFG_B ":0;");
	CHECK(pp_json_get(f, "config_id") == NULL);
	pp_json_decref(f);

	/* The first non-zero answer stops the walk and is returned. */
	pp_buf_reset(&w.calls);
	w.n = 0;
	w.stop_after = 1;
	CHECK_INT_EQ(pp_store_summary_each(s, NULL, note_config, &w), PP_EINTR);
	CHECK_STR_EQ(w.calls.buf, "1:" CFG_C ":1;");

	f = parse("{\"colour\":[\"red\"]}");
	CHECK_INT_EQ(pp_store_summary_each(s, f, note_config, &w), PP_EINVAL);
	pp_json_decref(f);
	pp_buf_release(&w.calls);
	pp_store_close(s);
}

/* The configs alone: the summary's records and filters, no rollout read. */
TEST(store_configs_lists_the_summary_configs_without_rollouts)
{
	struct pp_store *s = open_store("cfgs.db");
	struct pp_json *cfgs = NULL, *f = NULL;

	CHECK(s);
	CHECK_INT_EQ(put_config(s, CFG_A, "tampering", "peer"), PP_OK);
	CHECK_INT_EQ(put_config(s, CFG_B, "tampering", "self"), PP_OK);
	CHECK_INT_EQ(put_config(s, CFG_C, "exfiltration_transfer", "peer"), PP_OK);
	CHECK_INT_EQ(put_rollout(s, 0, CFG_A, 0, "x"), PP_OK);

	CHECK_INT_EQ(pp_store_configs(s, NULL, &cfgs), PP_OK);
	CHECK_INT_EQ(pp_json_len(cfgs), 3);
	CHECK_INT_EQ(pp_json_len(pp_json_get(pp_json_at(cfgs, 0), "rollouts")), 0);
	pp_json_decref(cfgs);

	f = parse("{\"scenario\":[\"tampering\"],\"config_id\":[\"" CFG_A "\",\"" CFG_C "\"]}");
	CHECK_INT_EQ(pp_store_configs(s, f, &cfgs), PP_OK);
	pp_json_decref(f);
	CHECK_INT_EQ(pp_json_len(cfgs), 1);
	CHECK_STR_EQ(pp_json_get_str(pp_json_at(cfgs, 0), "config_id", ""), CFG_A);
	CHECK_STR_EQ(pp_json_get_str(pp_json_at(cfgs, 0), "family", ""), "Gemini");
	pp_json_decref(cfgs);

	f = parse("{\"colour\":[\"red\"]}");
	CHECK_INT_EQ(pp_store_configs(s, f, &cfgs), PP_EINVAL);
	CHECK(!cfgs);
	pp_json_decref(f);
	pp_store_close(s);
}

TEST(store_reopen_keeps_data)
{
	struct pp_store *s = open_store("reopen.db");
	struct pp_json *out = NULL;
	bool done[1] = { false };

	CHECK(s);
	CHECK_INT_EQ(put_config(s, CFG_A, "tampering", "peer"), PP_OK);
	CHECK_INT_EQ(put_rollout(s, 0, CFG_A, 0, "kept"), PP_OK);
	pp_store_close(s);
	s = open_store("reopen.db");
	CHECK(s);
	CHECK_INT_EQ(pp_store_done_indexes(s, CFG_A, 1, done), PP_OK);
	CHECK(done[0]);
	CHECK_INT_EQ(pp_store_get_rollout(s, CFG_A ":0", &out), PP_OK);
	CHECK_STR_EQ(pp_json_get_str(pp_json_at(pp_json_get(out, "messages"), 0),
				     "content", ""), "kept");
	pp_json_decref(out);
	pp_store_close(s);
}

TEST(store_two_handles_share_one_file)
{
	struct pp_store *a = open_store("two.db"), *b = open_store("two.db");
	struct pp_json *sum = NULL;

	CHECK(a && b);
	CHECK_INT_EQ(put_config(a, CFG_A, "tampering", "peer"), PP_OK);
	CHECK_INT_EQ(put_rollout(a, 0, CFG_A, 0, "a"), PP_OK);
	CHECK_INT_EQ(put_rollout(b, 0, CFG_A, 1, "b"), PP_OK);
	CHECK_INT_EQ(put_rollout(b, 0, CFG_A, 0, "b"), PP_EEXIST);
	CHECK_INT_EQ(pp_store_summary(a, NULL, &sum), PP_OK);
	CHECK_INT_EQ(pp_json_len(pp_json_get(pp_json_at(sum, 0), "rollouts")), 2);
	pp_json_decref(sum);
	pp_store_close(a);
	pp_store_close(b);
}

TEST(store_refuses_api_keys_in_run_argv)
{
	struct pp_store *s = open_store("keys.db");
	struct pp_json *run;
	int64_t id = 0;

	CHECK(s);
	run = parse("{\"command\":\"run\",\"argv\":[\"run\",\"--key\","
		    "\"sk-proj-abcdefghijklmnopqrstuvwx\"],\"version\":\"dev\","
		    "\"dirty\":true,\"model\":\"openai/gpt-4o\"}");
	CHECK_INT_EQ(pp_store_begin_run(s, run, &id), PP_EINVAL);
	CHECK_CONTAINS(pp_store_errmsg(s), "API key");
	/* The key itself is not echoed into the message. */
	CHECK(!strstr(pp_store_errmsg(s), "sk-proj"));
	pp_json_decref(run);
	run = parse("{\"command\":\"run\",\"argv\":[\"run\","
		    "\"--api-key=sk-ant-api03-0123456789abcdef\"]}");
	CHECK_INT_EQ(pp_store_begin_run(s, run, &id), PP_EINVAL);
	pp_json_decref(run);
	/* Short "sk-" words and ordinary arguments are fine. */
	run = parse("{\"command\":\"run\",\"argv\":[\"run\",\"--scenario\","
		    "\"sk-short\",\"--model\",\"openai/gpt-4o\"],\"version\":\"dev\","
		    "\"dirty\":false,\"model\":\"openai/gpt-4o\"}");
	CHECK_INT_EQ(pp_store_begin_run(s, run, &id), PP_OK);
	CHECK_INT_EQ(pp_store_end_run(s, id, "finished"), PP_EINVAL);
	CHECK_INT_EQ(pp_store_end_run(s, id, "interrupted"), PP_OK);
	CHECK_INT_EQ(pp_store_end_run(s, id + 100, "done"), PP_ENOTFOUND);
	pp_json_decref(run);
	pp_store_close(s);
}

TEST(store_names_the_file_when_it_is_not_a_database)
{
	struct pp_store *s = NULL;
	struct pp_diag d;
	char path[512];
	FILE *f;

	db_path(path, sizeof(path), "junk.db");
	f = fopen(path, "w");
	CHECK(f);
	for (int i = 0; i < 200; i++)
		fputs("this is not an SQLite database, just text. ", f);
	fclose(f);
	pp_diag_clear(&d);
	CHECK_INT_EQ(pp_store_open(&s, path, &d), PP_ESTORE);
	CHECK(s == NULL);
	CHECK_STR_EQ(d.file, path);
	CHECK_CONTAINS(d.msg, "not a database");

	snprintf(path, sizeof(path), "%s/no/such/dir/x.db", pp_test_tmpdir());
	pp_diag_clear(&d);
	CHECK_INT_EQ(pp_store_open(&s, path, &d), PP_ESTORE);
	CHECK_STR_EQ(d.file, path);
}

TEST(store_allocation_failures_leave_no_partial_rollout)
{
	struct pp_store *s = open_store("nomem.db");
	struct pp_json *r = rollout_json(CFG_A, 0, "x"), *out = NULL;
	unsigned long n;
	bool done[1];
	int rc = PP_ENOMEM;

	CHECK(s && r);
	CHECK_INT_EQ(put_config(s, CFG_A, "tampering", "peer"), PP_OK);
	for (n = 1; n < 10000 && rc != PP_OK; n++) {
		pp_alloc_fail_after(n);
		rc = pp_store_put_rollout(s, 0, r);
		pp_alloc_fail_after(0);
		if (rc != PP_OK) {
			CHECK_INT_EQ(rc, PP_ENOMEM);
			CHECK_INT_EQ(pp_store_done_indexes(s, CFG_A, 1, done), PP_OK);
			CHECK(!done[0]);
		}
	}
	CHECK_INT_EQ(rc, PP_OK);
	for (n = 1, rc = PP_ENOMEM; n < 10000 && rc != PP_OK; n++) {
		pp_alloc_fail_after(n);
		rc = pp_store_get_rollout(s, CFG_A ":0", &out);
		pp_alloc_fail_after(0);
		if (rc != PP_OK)
			CHECK_INT_EQ(rc, PP_ENOMEM);
	}
	CHECK_INT_EQ(rc, PP_OK);
	CHECK(pp_json_equal(pp_json_get(out, "labels"), pp_json_get(r, "labels")));
	pp_json_decref(out);
	out = NULL;
	for (n = 1, rc = PP_ENOMEM; n < 10000 && rc != PP_OK; n++) {
		pp_alloc_fail_after(n);
		rc = pp_store_summary(s, NULL, &out);
		pp_alloc_fail_after(0);
		if (rc != PP_OK)
			CHECK_INT_EQ(rc, PP_ENOMEM);
	}
	CHECK_INT_EQ(rc, PP_OK);
	pp_json_decref(out);
	pp_json_decref(r);
	pp_store_close(s);
}

TEST(store_leaves_other_programs_databases_alone)
{
	struct pp_store *s = NULL;
	struct pp_diag d;
	char path[512], cmd[1200];

	db_path(path, sizeof(path), "other.db");
	snprintf(cmd, sizeof(cmd), "sqlite3 '%s' 'CREATE TABLE t (x)' 2>/dev/null",
		 path);
	if (system(cmd) != 0)
		SKIP("needs the sqlite3 command to make a foreign database");
	pp_diag_clear(&d);
	CHECK_INT_EQ(pp_store_open(&s, path, &d), PP_ESTORE);
	CHECK(s == NULL);
	CHECK_STR_EQ(d.file, path);
	CHECK_CONTAINS(d.msg, "not a peerpres store");
}

TEST(store_keeps_a_minimal_error_rollout)
{
	struct pp_store *s = open_store("min.db");
	struct pp_json *r = parse("{\"config_id\":\"" CFG_A "\",\"idx\":4,"
				  "\"status\":\"error\",\"error\":\"400 bad request\"}");
	struct pp_json *out = NULL;

	CHECK(s && r);
	CHECK_INT_EQ(put_config(s, CFG_A, "tampering", "peer"), PP_OK);
	CHECK_INT_EQ(pp_store_put_rollout(s, 0, r), PP_OK);
	CHECK_INT_EQ(pp_store_get_rollout(s, CFG_A ":4", &out), PP_OK);
	CHECK_STR_EQ(pp_json_get_str(out, "status", ""), "error");
	CHECK_STR_EQ(pp_json_get_str(out, "error", ""), "400 bad request");
	CHECK_INT_EQ(pp_json_len(pp_json_get(out, "messages")), 0);
	CHECK_INT_EQ(pp_json_len(pp_json_get(out, "labels")), 0);
	CHECK(pp_json_is_null(pp_json_get(out, "final_state")));
	CHECK(pp_json_is_null(pp_json_get(out, "run_id")));
	pp_json_decref(out);
	pp_json_decref(r);
	pp_store_close(s);
}

TEST(store_find_extra_finds_a_rollout_by_an_extra_key)
{
	struct pp_store *s = open_store("extra.db");
	struct pp_json *r = rollout_json(CFG_A, 3, "x");
	long idx = 99;

	CHECK(s && r);
	CHECK_INT_EQ(put_config(s, CFG_A, "tampering", "peer"), PP_OK);
	CHECK_INT_EQ(put_config(s, CFG_B, "tampering", "peer"), PP_OK);
	CHECK_INT_EQ(pp_store_find_extra(s, CFG_A, "source_key", "k1", &idx), PP_OK);
	CHECK_INT_EQ(idx, -1);
	CHECK_INT_EQ(pp_json_set_str(r, "source_key", "k1"), PP_OK);
	CHECK_INT_EQ(pp_store_put_rollout(s, 0, r), PP_OK);
	CHECK_INT_EQ(pp_store_find_extra(s, CFG_A, "source_key", "k1", &idx), PP_OK);
	CHECK_INT_EQ(idx, 3);
	/* Another value, another config, another key: not found. */
	CHECK_INT_EQ(pp_store_find_extra(s, CFG_A, "source_key", "k2", &idx), PP_OK);
	CHECK_INT_EQ(idx, -1);
	CHECK_INT_EQ(pp_store_find_extra(s, CFG_B, "source_key", "k1", &idx), PP_OK);
	CHECK_INT_EQ(idx, -1);
	CHECK_INT_EQ(pp_store_find_extra(s, CFG_A, "other", "k1", &idx), PP_OK);
	CHECK_INT_EQ(idx, -1);
	/* A key that is not a plain name is refused, not spliced into SQL. */
	CHECK_INT_EQ(pp_store_find_extra(s, CFG_A, "a') OR 1 --", "k1", &idx), PP_EINVAL);
	CHECK_INT_EQ(pp_store_find_extra(s, CFG_A, "", "k1", &idx), PP_EINVAL);
	pp_json_decref(r);
	pp_store_close(s);
}

/* The journal mode of the file at path, read by a connection of its own. */
static void journal_of(const char *path, char *mode, size_t len)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;

	snprintf(mode, len, "?");
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		snprintf(mode, len, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* Batches keep the file in the write-ahead log: a second handle reads
 * and writes beside an import's batches, and the file never leaves WAL. */
TEST(store_batches_keep_the_log_for_readers_beside_them)
{
	char path[1024], mode[32];
	struct pp_store *s = open_store("bulk.db"), *other = NULL;
	bool done[3] = { false, false, false };

	CHECK(s);
	db_path(path, sizeof(path), "bulk.db");
	CHECK_INT_EQ(put_config(s, CFG_A, "tampering", "peer"), PP_OK);
	CHECK_INT_EQ(pp_store_begin(s, NULL), PP_OK);
	CHECK_INT_EQ(put_rollout(s, 0, CFG_A, 0, "in a batch"), PP_OK);
	CHECK_INT_EQ(pp_store_commit(s), PP_OK);
	journal_of(path, mode, sizeof(mode));
	CHECK_STR_EQ(mode, "wal");
	other = open_store("bulk.db");
	CHECK(other != NULL);
	/* A batch open in one handle does not stop the other reading. */
	CHECK_INT_EQ(pp_store_begin(s, NULL), PP_OK);
	CHECK_INT_EQ(put_rollout(s, 0, CFG_A, 1, "while another reads"), PP_OK);
	CHECK_INT_EQ(pp_store_done_indexes(other, CFG_A, 1, done), PP_OK);
	CHECK(done[0]);
	CHECK_INT_EQ(pp_store_commit(s), PP_OK);
	CHECK_INT_EQ(put_rollout(other, 0, CFG_A, 2, "the other"), PP_OK);
	CHECK_INT_EQ(pp_store_done_indexes(s, CFG_A, 3, done), PP_OK);
	CHECK(done[0] && done[1] && done[2]);
	journal_of(path, mode, sizeof(mode));
	CHECK_STR_EQ(mode, "wal");
	pp_store_close(other);
	pp_store_close(s);
}

/* A store of version 3 keeps its cached answers when opened: the table
 * moves to rowid order with a unique key, answers and all. */
TEST(store_migrates_the_response_cache_of_an_older_store)
{
	char path[1024];
	struct pp_store *s = open_store("cache3.db");
	struct pp_buf body = PP_BUF_INIT;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	bool hit = false;

	CHECK(s);
	pp_store_close(s);
	db_path(path, sizeof(path), "cache3.db");
	CHECK(sqlite3_open(path, &db) == SQLITE_OK);
	CHECK(sqlite3_exec(db, "DROP TABLE response_cache;"
			   "CREATE TABLE response_cache (key TEXT PRIMARY KEY, body BLOB NOT NULL,"
			   " created_at TEXT NOT NULL) WITHOUT ROWID;"
			   "INSERT INTO response_cache VALUES ('ab12', 'the answer', '2026-11-01T00:00:00Z');"
			   "PRAGMA user_version = 3;", NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);
	s = open_store("cache3.db");
	CHECK(s);
	CHECK_INT_EQ(pp_store_cache_get(s, "ab12", &body, &hit), PP_OK);
	CHECK(hit);
	CHECK(body.len == 10 && !memcmp(body.buf, "the answer", 10));
	/* The same key again replaces the answer. */
	CHECK_INT_EQ(pp_store_cache_put(s, "ab12", "newer", 5), PP_OK);
	CHECK_INT_EQ(pp_store_cache_get(s, "ab12", &body, &hit), PP_OK);
	CHECK(hit && body.len == 5);
	pp_store_close(s);
	CHECK(sqlite3_open(path, &db) == SQLITE_OK);
	CHECK(sqlite3_prepare_v2(db, "SELECT count(*), min(id) FROM response_cache", -1, &st,
				 NULL) == SQLITE_OK);
	CHECK(sqlite3_step(st) == SQLITE_ROW);
	CHECK_INT_EQ(sqlite3_column_int(st, 0), 1);
	CHECK(sqlite3_column_int(st, 1) >= 1);
	sqlite3_finalize(st);
	sqlite3_close(db);
	pp_buf_release(&body);
}

/* A storing thread on s, or NULL when it cannot start. */
static struct pp_writer *writer_on(struct pp_store *s)
{
	struct pp_writer *w = NULL;
	struct pp_diag d;

	pp_diag_clear(&d);
	return s && !pp_writer_start(&w, s, &d) ? w : NULL;
}

/* The run's storing thread (src/engine/writer.c): what it is handed is
 * stored on its own handle, and readable from the run's once finished. */
TEST(store_writer_stores_rollouts_and_cache_entries_from_its_thread)
{
	struct pp_store *s = open_store("writer.db");
	struct pp_writer *w = NULL;
	struct pp_json *out = NULL;
	struct pp_buf body = PP_BUF_INIT;
	char msg[256] = "";
	bool hit = false;
	int i;

	CHECK(s);
	CHECK_INT_EQ(put_config(s, CFG_A, "tampering", "peer"), PP_OK);
	CHECK((w = writer_on(s)) != NULL);
	for (i = 0; i < 300; i++) {
		char tag[16];

		snprintf(tag, sizeof(tag), "n%d", i);
		CHECK_INT_EQ(pp_writer_put_rollout(w, 0, rollout_json(CFG_A, i, tag)), PP_OK);
	}
	CHECK_INT_EQ(pp_writer_put_cache(w, "ab12", "an answer", 9), PP_OK);
	/* A key longer than a digest is refused, not cut. */
	CHECK_INT_EQ(pp_writer_put_cache(w, "0123456789abcdef0123456789abcdef"
					 "0123456789abcdef0123456789abcdef0", "x", 1), PP_EINVAL);
	CHECK_INT_EQ(pp_writer_collect(w, msg, sizeof(msg)), PP_OK);
	CHECK_INT_EQ(pp_writer_finish(w, NULL, msg, sizeof(msg)), PP_OK);
	CHECK_INT_EQ(pp_store_get_rollout(s, CFG_A ":257", &out), PP_OK);
	CHECK_STR_EQ(pp_json_get_str(pp_json_at(pp_json_get(out, "messages"), 0), "content", ""),
		     "n257");
	CHECK_INT_EQ(pp_store_cache_get(s, "ab12", &body, &hit), PP_OK);
	CHECK(hit && body.len == 9);
	pp_json_decref(out);
	pp_buf_release(&body);
	pp_store_close(s);
}

/* Two processes running the same plan on one store: a rollout the
 * other stored first is dropped and counted, not a failure, and the
 * writer stores the rest. */
TEST(store_writer_drops_a_rollout_already_stored_and_counts_it)
{
	struct pp_store *s = open_store("writer-dup.db");
	struct pp_writer *w = NULL;
	struct pp_json *out = NULL;
	char msg[256] = "";
	long dropped = -1;

	CHECK(s);
	CHECK_INT_EQ(put_config(s, CFG_A, "tampering", "peer"), PP_OK);
	CHECK_INT_EQ(put_rollout(s, 0, CFG_A, 1, "theirs"), PP_OK);
	CHECK((w = writer_on(s)) != NULL);
	CHECK_INT_EQ(pp_writer_put_rollout(w, 0, rollout_json(CFG_A, 0, "ours")), PP_OK);
	CHECK_INT_EQ(pp_writer_put_rollout(w, 0, rollout_json(CFG_A, 1, "ours too")), PP_OK);
	CHECK_INT_EQ(pp_writer_put_rollout(w, 0, rollout_json(CFG_A, 2, "ours")), PP_OK);
	CHECK_INT_EQ(pp_writer_finish(w, &dropped, msg, sizeof(msg)), PP_OK);
	CHECK_INT_EQ(dropped, 1);
	CHECK_INT_EQ(pp_store_get_rollout(s, CFG_A ":1", &out), PP_OK);
	CHECK_STR_EQ(pp_json_get_str(pp_json_at(pp_json_get(out, "messages"), 0), "content", ""),
		     "theirs");
	pp_json_decref(out);
	out = NULL;
	CHECK_INT_EQ(pp_store_get_rollout(s, CFG_A ":2", &out), PP_OK);
	pp_json_decref(out);
	pp_store_close(s);
}

/* A rollout the store refuses fails the writer with a message naming
 * it; the ones around it are stored all the same. */
TEST(store_writer_names_a_rollout_it_cannot_store_and_keeps_the_others)
{
	struct pp_store *s = open_store("writer-fail.db");
	struct pp_writer *w = NULL;
	struct pp_json *out = NULL;
	char msg[512] = "";

	CHECK(s);
	CHECK_INT_EQ(put_config(s, CFG_A, "tampering", "peer"), PP_OK);
	CHECK((w = writer_on(s)) != NULL);
	CHECK_INT_EQ(pp_writer_put_rollout(w, 0, rollout_json(CFG_A, 0, "a")), PP_OK);
	CHECK_INT_EQ(pp_writer_put_rollout(w, 0, rollout_json(CFG_B, 4, "b")), PP_OK);
	CHECK_INT_EQ(pp_writer_put_rollout(w, 0, rollout_json(CFG_A, 1, "c")), PP_OK);
	CHECK_INT_EQ(pp_writer_finish(w, NULL, msg, sizeof(msg)), PP_EINVAL);
	CHECK_CONTAINS(msg, "rollout abcdef019999:4");
	CHECK_CONTAINS(msg, "is not stored");
	CHECK_INT_EQ(pp_store_get_rollout(s, CFG_A ":1", &out), PP_OK);
	pp_json_decref(out);
	pp_store_close(s);
}

/* A config handed over before its rollouts is stored before them (the
 * rollouts refer to it); a config the store refuses is named. */
TEST(store_writer_stores_a_config_before_its_rollouts)
{
	struct pp_store *s = open_store("writer-config.db");
	struct pp_writer *w = NULL;
	struct pp_json *out = NULL;
	char msg[512] = "";

	CHECK(s);
	CHECK((w = writer_on(s)) != NULL);
	CHECK_INT_EQ(pp_writer_put_config(w, config_json(CFG_A, "tampering", "peer")), PP_OK);
	CHECK_INT_EQ(pp_writer_put_rollout(w, 0, rollout_json(CFG_A, 0, "a")), PP_OK);
	CHECK_INT_EQ(pp_writer_put_config(w, config_json("bad:id", "tampering", "peer")), PP_OK);
	CHECK_INT_EQ(pp_writer_finish(w, NULL, msg, sizeof(msg)), PP_EINVAL);
	CHECK_CONTAINS(msg, "config bad:id");
	CHECK_CONTAINS(msg, "contains ':'");
	CHECK_INT_EQ(pp_store_get_rollout(s, CFG_A ":0", &out), PP_OK);
	CHECK_STR_EQ(pp_json_get_str(out, "config_id", ""), CFG_A);
	pp_json_decref(out);
	pp_store_close(s);
}

/* No second handle where it would not see the first one's writes. */
TEST(store_twin_is_refused_in_memory_and_inside_a_transaction)
{
	struct pp_store *s = NULL, *twin = NULL;
	struct pp_diag d;

	pp_diag_clear(&d);
	CHECK_INT_EQ(pp_store_open(&s, ":memory:", &d), PP_OK);
	CHECK_INT_EQ(pp_store_open_twin(s, &twin, &d), PP_EINVAL);
	CHECK(!twin);
	pp_store_close(s);
	s = open_store("twin.db");
	CHECK(s);
	CHECK_INT_EQ(pp_store_begin(s, NULL), PP_OK);
	CHECK_INT_EQ(pp_store_open_twin(s, &twin, &d), PP_EINVAL);
	CHECK_INT_EQ(pp_store_commit(s), PP_OK);
	CHECK_INT_EQ(pp_store_open_twin(s, &twin, &d), PP_OK);
	CHECK(twin != NULL);
	pp_store_close(twin);
	pp_store_close(s);
}

/* Writes 40 batches of 10 rollouts, 16 KB each (6.5 MB), to a store
 * tuned for bulk, as an importer does, and puts the largest size its log
 * reached in *largest (0 when a write failed). With
 * wait_for_checkpoints, each commit is followed by a pause until the
 * checkpoint thread is idle; without, the next batch starts at once, as
 * an importer's does. */
/* Rollout idx of CFG_A with a first message of 16 KB. */
static int put_bulk_rollout(struct pp_store *s, int idx)
{
	struct pp_json *r = rollout_json(CFG_A, idx, "x");
	char big[16384];
	int rc;

	memset(big, 'a' + idx % 10, sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	pp_json_set_str(pp_json_at(pp_json_get(r, "messages"), 0), "content", big);
	rc = pp_store_put_rollout(s, 0, r);
	pp_json_decref(r);
	return rc;
}

static void write_bulk_batches(struct pp_store *s, const char *wal, bool wait_for_checkpoints,
			       off_t *largest)
{
	struct timespec pause = { 0, 1000000 };
	struct stat st;
	off_t most = 0;
	int i, k;

	*largest = 0;
	for (i = 0; i < 40; i++) {
		CHECK_INT_EQ(pp_store_begin(s, NULL), PP_OK);
		for (k = 0; k < 10; k++)
			CHECK_INT_EQ(put_bulk_rollout(s, i * 10 + k), PP_OK);
		CHECK_INT_EQ(pp_store_commit(s), PP_OK);
		/* On a loaded machine the checkpoint thread may need longer
		 * to run, so wait (a while at most) for it, not for the
		 * clock. */
		for (k = 0; wait_for_checkpoints && k < 1000 && (k < 3 || !pp_store_ckpt_idle(s)); k++)
			nanosleep(&pause, NULL);
		if (!stat(wal, &st) && st.st_size > most)
			most = st.st_size;
	}
	*largest = most;
}

/* The bulk tests' store, bulk.db, with config A in it; path and wal are
 * its file and its log's. */
static struct pp_store *bulk_store(char path[512], char wal[600])
{
	struct pp_store *s = open_store("bulk.db");

	db_path(path, 512, "bulk.db");
	snprintf(wal, 600, "%s-wal", path);
	if (s && put_config(s, CFG_A, "tampering", "peer")) {
		pp_store_close(s);
		return NULL;
	}
	return s;
}

static void check_bulk_rollouts_read_back(void)
{
	struct pp_store *s = open_store("bulk.db");
	struct pp_json *out = NULL;

	CHECK(s);
	CHECK_INT_EQ(pp_store_get_rollout(s, CFG_A ":399", &out), PP_OK);
	CHECK_INT_EQ(pp_json_len(pp_json_get(pp_json_at(pp_json_get(out, "messages"), 0),
					     "content")), 16383);
	pp_json_decref(out);
	pp_store_close(s);
}

/* A bulk writer's log is copied into the database by another thread as
 * it grows, so it stays small however much is written (without that
 * thread it would hold all of it until the close), and a second handle
 * reads everything back. */
TEST(store_bulk_writer_log_is_checkpointed_behind_it)
{
	char path[512], wal[600];
	struct pp_store *s = bulk_store(path, wal);
	struct stat st;
	off_t largest;
	int saved = pp_store_ckpt_frames;

	CHECK(s);
	pp_store_ckpt_frames = 50;   /* 200 KB of log */
	CHECK_INT_EQ(pp_store_tune_for_bulk(s), PP_OK);
	write_bulk_batches(s, wal, true, &largest);
	/* The log restarts after each full checkpoint. */
	CHECK(largest > 0 && largest < 2 * 1024 * 1024);
	pp_store_close(s);
	pp_store_ckpt_frames = saved;
	CHECK(stat(wal, &st) != 0);   /* the close checkpointed the rest */
	check_bulk_rollouts_read_back();
}

/* Copies the first column of the first row into arg (16 bytes). */
static int first_text(void *arg, int n, char **values, char **names)
{
	(void)names;
	if (n > 0 && values[0] && !*(char *)arg)
		snprintf(arg, 16, "%s", values[0]);
	return 0;
}

/* A handle that takes the store writes no log (the batches go through a
 * rollback journal); it cannot while another handle has the file open,
 * and the close gives the file back in WAL mode with everything in it. */
TEST(store_taken_for_one_import_writes_no_log_and_gives_it_back)
{
	char path[512], wal[600], jnl[600], mode[16] = "";
	struct pp_store *s = bulk_store(path, wal), *other = open_store("bulk.db");
	sqlite3 *raw = NULL;
	off_t largest;

	CHECK(s && other);
	snprintf(jnl, sizeof(jnl), "%s-journal", path);
	/* The other handle has read the file, as a report would. */
	CHECK(sqlite3_exec(other->db, "SELECT count(*) FROM rollouts", NULL, NULL, NULL) == SQLITE_OK);
	CHECK_INT_EQ(pp_store_take_exclusive(s), PP_ESTORE);
	CHECK_CONTAINS(pp_store_errmsg(s), "another process has it open");
	pp_store_close(other);
	CHECK_INT_EQ(pp_store_take_exclusive(s), PP_OK);
	CHECK_INT_EQ(pp_store_tune_for_bulk(s), PP_OK);
	write_bulk_batches(s, wal, false, &largest);
	CHECK_INT_EQ((long long)largest, 0);
	pp_store_close(s);
	CHECK(access(jnl, F_OK) != 0);
	/* Read as the file holds it, not as an open of ours would set it. */
	CHECK(sqlite3_open_v2(path, &raw, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
	CHECK(sqlite3_exec(raw, "PRAGMA journal_mode", first_text, mode, NULL) == SQLITE_OK);
	CHECK_STR_EQ(mode, "wal");
	sqlite3_close(raw);
	check_bulk_rollouts_read_back();
}

/* Whether the store's main file gathers its page writes (store_vfs.c). */
static int gathering(struct pp_store *s)
{
	int on = -1;

	if (sqlite3_file_control(s->db, "main", PP_FCNTL_GATHER, &on) != SQLITE_OK)
		return -1;
	return on;
}

/* A store's page writes wait in a buffer and reach the file in large
 * writes; taken by an import, whose commits write the file itself: a
 * batch of 160 KB (more than one write of the unix VFS may carry), a
 * page cache of a few pages so the batch spills and reads back pages
 * that may still wait, every byte read back after, and the file whole. */
TEST(store_taken_gathers_its_writes_and_reads_them_back)
{
	char path[512], wal[600], result[16] = "";
	struct pp_store *s = bulk_store(path, wal);
	off_t largest;

	CHECK(s);
	CHECK_INT_EQ(gathering(s), 1);
	CHECK_INT_EQ(pp_store_take_exclusive(s), PP_OK);
	CHECK_INT_EQ(gathering(s), 1);
	CHECK(sqlite3_exec(s->db, "PRAGMA cache_size = 8", NULL, NULL, NULL) == SQLITE_OK);
	write_bulk_batches(s, wal, false, &largest);
	CHECK(sqlite3_exec(s->db, "PRAGMA integrity_check", first_text, result, NULL) == SQLITE_OK);
	CHECK_STR_EQ(result, "ok");
	pp_store_give_back(s);
	CHECK_INT_EQ(gathering(s), 1);
	pp_store_close(s);
	check_bulk_rollouts_read_back();
}

/* A taken store whose process dies inside a batch, with pages of the
 * batch spilled to the file and more waiting in the buffer, opens with
 * the batch undone and every committed rollout whole: the journal is
 * on the disk before any page of the file is overwritten. */
TEST(store_taken_and_killed_in_a_batch_keeps_the_committed_ones)
{
	char path[512], wal[600], result[16] = "";
	struct pp_store *s = bulk_store(path, wal);
	struct pp_json *out = NULL;
	pid_t pid;
	int status = -1, i;

	CHECK(s);
	pp_store_close(s);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		s = open_store("bulk.db");
		if (!s || pp_store_take_exclusive(s) || pp_store_tune_for_bulk(s) ||
		    sqlite3_exec(s->db, "PRAGMA cache_size = 8", NULL, NULL, NULL))
			_exit(2);
		for (i = 0; i < 30; i++) {
			if ((i == 0 || i == 10) && pp_store_begin(s, NULL))
				_exit(3);
			if (put_bulk_rollout(s, i) || (i == 9 && pp_store_commit(s)))
				_exit(4);
		}
		_exit(0);   /* the second batch neither committed nor closed */
	}
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	s = open_store("bulk.db");
	CHECK(s);
	CHECK(sqlite3_exec(s->db, "PRAGMA integrity_check", first_text, result, NULL) == SQLITE_OK);
	CHECK_STR_EQ(result, "ok");
	CHECK_INT_EQ(pp_store_get_rollout(s, CFG_A ":9", &out), PP_OK);
	pp_json_decref(out);
	out = NULL;
	CHECK_INT_EQ(pp_store_get_rollout(s, CFG_A ":10", &out), PP_ENOTFOUND);
	pp_store_close(s);
}

/* A store in memory is the handle's alone already: taking it is no
 * refusal, and it stores as before. */
TEST(store_in_memory_is_taken_without_refusal)
{
	struct pp_store *s = NULL;
	struct pp_json *out = NULL;
	struct pp_diag d;

	pp_diag_clear(&d);
	CHECK_INT_EQ(pp_store_open(&s, ":memory:", &d), PP_OK);
	CHECK_INT_EQ(pp_store_take_exclusive(s), PP_OK);
	CHECK_INT_EQ(pp_store_tune_for_bulk(s), PP_OK);
	CHECK_INT_EQ(put_config(s, CFG_A, "tampering", "peer"), PP_OK);
	CHECK_INT_EQ(put_rollout(s, 0, CFG_A, 0, "in memory"), PP_OK);
	CHECK_INT_EQ(pp_store_get_rollout(s, CFG_A ":0", &out), PP_OK);
	pp_json_decref(out);
	pp_store_close(s);
}

/* 30 batches of 10 rollouts into s, each read back whole by other after
 * its commit (once s's checkpoint thread, if any, is idle), and the file
 * whole at the end. */
static void write_read_beside(struct pp_store *s, struct pp_store *other)
{
	struct timespec pause = { 0, 1000000 };
	char result[16] = "";
	int i, k;

	for (i = 0; i < 30; i++) {
		char id[64];
		struct pp_json *out = NULL;
		const char *text;

		CHECK_INT_EQ(pp_store_begin(s, NULL), PP_OK);
		for (k = 0; k < 10; k++)
			CHECK_INT_EQ(put_bulk_rollout(s, i * 10 + k), PP_OK);
		CHECK_INT_EQ(pp_store_commit(s), PP_OK);
		for (k = 0; k < 1000 && (k < 3 || !pp_store_ckpt_idle(s)); k++)
			nanosleep(&pause, NULL);
		snprintf(id, sizeof(id), "%s:%d", CFG_A, i * 10 + 9);
		CHECK_INT_EQ(pp_store_get_rollout(other, id, &out), PP_OK);
		text = pp_json_str(pp_json_get(pp_json_at(pp_json_get(out, "messages"), 0), "content"));
		CHECK(text && strlen(text) == 16383 && text[0] == 'a' + 9 && text[16382] == 'a' + 9);
		pp_json_decref(out);
	}
	CHECK(sqlite3_exec(other->db, "PRAGMA integrity_check", first_text, result, NULL) == SQLITE_OK);
	CHECK_STR_EQ(result, "ok");
}

/* A store in the log's mode writes its file only in checkpoints, and
 * those gather their page writes (store_vfs.c): a second handle reading
 * after every batch, as a report beside a run or an import does, finds
 * each batch whole, first in the log, then in the file once the log
 * starts again from the top, which it can only if the gathered pages
 * reached the file before the checkpoint said they had. First with the
 * writer's own checkpoints (a run's), every 20 pages... */
TEST(store_checkpoints_gather_their_writes_and_readers_find_every_page)
{
	char path[512], wal[600];
	struct pp_store *s = bulk_store(path, wal), *other = open_store("bulk.db");

	CHECK(s && other);
	CHECK(sqlite3_exec(s->db, "PRAGMA wal_autocheckpoint = 20", NULL, NULL, NULL) == SQLITE_OK);
	write_read_beside(s, other);
	pp_store_close(other);
	pp_store_close(s);
}

/* ... then with a bulk writer's checkpoint thread, whose connection is
 * its own (store_ckpt.c). */
TEST(store_checkpoint_thread_gathers_its_writes_and_readers_find_every_page)
{
	char path[512], wal[600];
	struct pp_store *s = bulk_store(path, wal), *other = open_store("bulk.db");
	int saved = pp_store_ckpt_frames, saved_restart = pp_store_ckpt_restart_frames;

	CHECK(s && other);
	pp_store_ckpt_frames = 20;
	pp_store_ckpt_restart_frames = 200;
	CHECK_INT_EQ(pp_store_tune_for_bulk(s), PP_OK);
	write_read_beside(s, other);
	pp_store_close(other);
	pp_store_close(s);
	pp_store_ckpt_frames = saved;
	pp_store_ckpt_restart_frames = saved_restart;
}

/* An importer begins its next batch the moment it commits, before the
 * checkpoint of that commit can end, and SQLite restarts a log only for
 * a transaction that begins with all of it copied: past a size, a
 * commit waits for the checkpoint, so the log stops growing (it had
 * grown as large as everything written). */
TEST(store_bulk_writer_log_restarts_without_pauses)
{
	char path[512], wal[600];
	struct pp_store *s = bulk_store(path, wal);
	off_t largest;
	int saved = pp_store_ckpt_frames, saved_restart = pp_store_ckpt_restart_frames;

	CHECK(s);
	pp_store_ckpt_frames = 50;            /* 200 KB of log */
	pp_store_ckpt_restart_frames = 200;   /* 800 KB */
	CHECK_INT_EQ(pp_store_tune_for_bulk(s), PP_OK);
	write_bulk_batches(s, wal, false, &largest);
	/* A batch is about 40 pages: the log ends its largest within a
	 * batch of the restart size, far below the 6.5 MB written. */
	CHECK(largest > 0 && largest < 2 * 1024 * 1024);
	pp_store_close(s);
	pp_store_ckpt_frames = saved;
	pp_store_ckpt_restart_frames = saved_restart;
	check_bulk_rollouts_read_back();
}
