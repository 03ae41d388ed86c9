/*
 * cmd_show.c - `peerpres show`: one rollout, readable, with each label's
 * evidence marked at the turn that produced it.
 */
#include <string.h>

#include <peerpres/status.h>
#include <peerpres/store.h>

#include "cli/cli.h"

static void print_indented(const char *prefix, const char *text)
{
	const char *nl;

	while (text && *text) {
		nl = strchr(text, '\n');
		printf("%s%.*s\n", prefix, nl ? (int)(nl - text) : (int)strlen(text), text);
		text = nl ? nl + 1 : NULL;
	}
}

static void print_labels_at(const struct pp_json *labels, long long turn)
{
	void *it;
	long long t;

	for (it = pp_json_iter(labels); it; it = pp_json_iter_next(labels, it)) {
		const struct pp_json *l = pp_json_iter_value(it);
		struct pp_buf v = PP_BUF_INIT;

		if (!pp_json_int(pp_json_get(l, "turn"), &t) || t != turn)
			continue;
		pp_json_dump(pp_json_get(l, "value"), PP_JSON_COMPACT, &v);
		printf("      >> label %s = %s: %s\n", pp_json_iter_key(it), v.buf,
		       pp_json_get_str(l, "evidence", ""));
		pp_buf_release(&v);
	}
}

static void print_call(const struct pp_json *call)
{
	struct pp_buf args = PP_BUF_INIT;

	pp_json_dump(pp_json_get(call, "arguments"), PP_JSON_COMPACT, &args);
	printf("    -> %s(%s)\n", pp_json_get_str(call, "name", "?"), args.buf);
	pp_buf_release(&args);
}

static void print_messages(const struct pp_json *rec)
{
	const struct pp_json *msgs = pp_json_get(rec, "messages");
	const struct pp_json *labels = pp_json_get(rec, "labels");
	long long turn = 0;
	size_t i, j;

	for (i = 0; i < pp_json_len(msgs); i++) {
		const struct pp_json *m = pp_json_at(msgs, i);
		const char *role = pp_json_get_str(m, "role", "?");

		if (!strcmp(role, "assistant")) {
			printf("\n[turn %lld] assistant\n", ++turn);
			print_indented("    | ", pp_json_get_str(m, "reasoning", NULL));
			print_indented("    ", pp_json_get_str(m, "content", NULL));
			for (j = 0; j < pp_json_len(pp_json_get(m, "tool_calls")); j++)
				print_call(pp_json_at(pp_json_get(m, "tool_calls"), j));
			print_labels_at(labels, turn);
		} else if (!strcmp(role, "tool")) {
			printf("    <- %s:\n", pp_json_get_str(m, "name", "?"));
			print_indented("       ", pp_json_get_str(m, "content", ""));
		} else {
			printf("\n[%s]\n", role);
			print_indented("    ", pp_json_get_str(m, "content", ""));
		}
	}
}

static void print_label_table(const struct pp_json *labels)
{
	void *it;

	printf("\nlabels\n");
	for (it = pp_json_iter(labels); it; it = pp_json_iter_next(labels, it)) {
		const struct pp_json *l = pp_json_iter_value(it);
		struct pp_buf v = PP_BUF_INIT;

		if (pp_json_is_true(pp_json_get(l, "decided")))
			pp_json_dump(pp_json_get(l, "value"), PP_JSON_COMPACT, &v);
		else
			pp_buf_adds(&v, "undecided");
		printf("  %-18s %-10s [%s] %s\n", pp_json_iter_key(it), v.buf,
		       pp_json_get_str(l, "source", ""), pp_json_get_str(l, "evidence", ""));
		pp_buf_release(&v);
	}
}

static void print_rollout(const struct pp_json *rec)
{
	printf("rollout %s\nstatus  %s (%s)\nagent   %s\nseed    ",
	       pp_json_get_str(rec, "rollout_id", "?"), pp_json_get_str(rec, "status", "?"),
	       pp_json_get_str(pp_json_get(rec, "provenance"), "stop_reason", "?"),
	       pp_json_get_str(rec, "agent", "(model)"));
	{
		long long seed = 0;

		pp_json_int(pp_json_get(rec, "seed"), &seed);
		printf("%lld\n", seed);
	}
	if (pp_json_get_str(rec, "error", NULL))
		printf("error   %s\n", pp_json_get_str(rec, "error", ""));
	print_messages(rec);
	print_label_table(pp_json_get(rec, "labels"));
}

int cmd_show(struct cli *c)
{
	struct pp_store *store = NULL;
	struct pp_json *rec = NULL;
	struct pp_buf out = PP_BUF_INIT;
	int rc = EXIT_RUNTIME;

	if (c->n_args != 1) {
		cli_error("show needs one ROLLOUT_ID (CONFIG_ID:INDEX)");
		return EXIT_USAGE;
	}
	if (cli_open_store(c, &store, true))
		return EXIT_RUNTIME;
	if (pp_store_get_rollout(store, c->args[0], &rec)) {
		cli_error("no rollout '%s': %s", c->args[0], pp_store_errmsg(store));
	} else if (c->json) {
		pp_json_dump(rec, PP_JSON_PRETTY | PP_JSON_SORT_KEYS, &out);
		printf("%s\n", out.buf);
		rc = 0;
	} else {
		print_rollout(rec);
		rc = 0;
	}
	pp_buf_release(&out);
	pp_json_decref(rec);
	pp_store_close(store);
	return rc;
}
