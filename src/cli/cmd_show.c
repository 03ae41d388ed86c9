/*
 * cmd_show.c - `peerpres show`: one rollout, readable, with each label's
 * evidence marked at the turn that produced it, and the judge's verdict
 * beside each label it was asked about.
 *
 * An imported rollout also shows where it came from, whether it was
 * replayed (and what diverged), and the study's label beside each of
 * ours, so the text view says what --json says.
 *
 * The judge shown is the one report would apply: --judge J, or the judge
 * that wrote the last verdict in the store; --judge none shows none. The
 * rules' values are printed as stored: a verdict is shown beside them,
 * never in their place.
 */
#include <stdio.h>
#include <string.h>

#include <peerpres/compat.h>
#include <peerpres/status.h>
#include <peerpres/store.h>

#include "cli/cli.h"

/* Values as people read them: compact, reals in their fewest digits. */
#define AS_READ (PP_JSON_COMPACT | PP_JSON_SHORT_REALS)

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
		pp_json_dump(pp_json_get(l, "value"), AS_READ, &v);
		printf("      >> label %s = %s: %s\n", pp_json_iter_key(it), v.buf,
		       pp_json_get_str(l, "evidence", ""));
		pp_buf_release(&v);
	}
}

static void print_call(const struct pp_json *call)
{
	struct pp_buf args = PP_BUF_INIT;

	pp_json_dump(pp_json_get(call, "arguments"), AS_READ, &args);
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

/* "  judge 85 (MODEL, prompts VERSION)" under a label, or the failure. */
static void print_verdict(const struct pp_json *v, const char *chosen, bool rule_decided)
{
	const char *at = strrchr(chosen, '@');
	const char *outcome = pp_json_get_str(v, "outcome", "?");
	struct pp_buf val = PP_BUF_INIT;

	if (!strcmp(outcome, "ok")) {
		pp_json_dump(pp_json_get(v, "value"), AS_READ, &val);
		printf("  %-18s judge %s (%.*s, prompts %s)%s\n", "", val.buf, (int)(at - chosen),
		       chosen, at + 1, rule_decided ? "; the rule's value stands" : "");
	} else {
		printf("  %-18s judge %s (%.*s, prompts %s): %s\n", "", outcome, (int)(at - chosen),
		       chosen, at + 1, pp_json_get_str(v, "error", ""));
	}
	pp_buf_release(&val);
}

/* "study X", with " MISMATCH" when pp_compat_compare found our decided
 * value differs; "" for a rollout we ran ourselves. */
static void study_column(const struct pp_json *upstream, const struct pp_json *mismatches,
			 const char *name, struct pp_buf *out)
{
	const struct pp_json *u = pp_json_get(upstream, name);
	size_t i;

	if (!upstream)
		return;
	pp_buf_adds(out, "study ");
	if (u)
		pp_json_dump(u, AS_READ, out);
	else
		pp_buf_adds(out, "-");
	for (i = 0; i < pp_json_len(mismatches); i++)
		if (!strcmp(pp_json_get_str(pp_json_at(mismatches, i), "label", ""), name))
			pp_buf_adds(out, " MISMATCH");
}

/* The study's labels we do not compute (attempt, ...), so none is hidden. */
static void print_study_only(const struct pp_json *labels, const struct pp_json *upstream)
{
	void *it;

	for (it = pp_json_iter(upstream); it; it = pp_json_iter_next(upstream, it)) {
		struct pp_buf val = PP_BUF_INIT;

		if (pp_json_get(labels, pp_json_iter_key(it)))
			continue;
		pp_json_dump(pp_json_iter_value(it), AS_READ, &val);
		printf("  %-18s %-10s study %s (not one of ours)\n", pp_json_iter_key(it), "-",
		       val.buf);
		pp_buf_release(&val);
	}
}

/* upstream is the study's labels of an imported rollout, else NULL;
 * mismatches as pp_compat_compare appends them. */
static void print_label_table(const struct pp_json *labels, const struct pp_json *verdicts,
			      const char *chosen, const struct pp_json *upstream,
			      const struct pp_json *mismatches)
{
	void *it;

	printf("\nlabels%s\n", upstream ? " (ours, then the study's)" : "");
	for (it = pp_json_iter(labels); it; it = pp_json_iter_next(labels, it)) {
		const struct pp_json *l = pp_json_iter_value(it);
		const struct pp_json *v = pp_json_get(verdicts, pp_json_iter_key(it));
		bool decided = pp_json_is_true(pp_json_get(l, "decided"));
		struct pp_buf val = PP_BUF_INIT, study = PP_BUF_INIT;

		if (decided)
			pp_json_dump(pp_json_get(l, "value"), AS_READ, &val);
		else
			pp_buf_adds(&val, "undecided");
		study_column(upstream, mismatches, pp_json_iter_key(it), &study);
		printf("  %-18s %-10s %-*s[%s] %s\n", pp_json_iter_key(it), val.buf,
		       study.len ? 22 : 0, study.buf, pp_json_get_str(l, "source", ""),
		       pp_json_get_str(l, "evidence", ""));
		if (v)
			print_verdict(v, chosen, decided);
		pp_buf_release(&val);
		pp_buf_release(&study);
	}
	print_study_only(labels, upstream);
}

/* "judge   MODEL@VERSION", and the other judges of this rollout. */
static void print_judges(const struct pp_json *all, const char *chosen)
{
	int others = 0;
	void *it;

	printf("judge   %s\n", chosen[0] ? chosen : "none");
	for (it = pp_json_iter(all); it; it = pp_json_iter_next(all, it)) {
		if (!strcmp(pp_json_iter_key(it), chosen))
			continue;
		printf("%s%s", others++ ? ", " : "also judged by: ", pp_json_iter_key(it));
	}
	if (others)
		printf(" (pick one with --judge)\n");
}

/* "source  PATH:LINE (transcript ID)" of an imported rollout. */
static void print_source(const struct pp_json *source)
{
	const struct pp_json *tid = pp_json_get(source, "transcript_id");
	struct pp_buf id = PP_BUF_INIT;
	long long line;

	if (pp_json_is_null(tid))
		pp_buf_adds(&id, "none");
	else if (pp_json_is_string(tid))
		pp_buf_adds(&id, pp_json_str(tid));
	else
		pp_json_dump(tid, AS_READ, &id);
	printf("source  %s", pp_json_get_str(source, "path", "?"));
	if (pp_json_int(pp_json_get(source, "line"), &line))
		printf(":%lld", line);
	printf(" (transcript %s)\n", id.buf);
	pp_buf_release(&id);
}

/* "replay  replayed" or "not replayable (why)", then its flags and
 * divergences, one a line: a reader decides what they mean. */
static void print_replay(const struct pp_json *replay)
{
	const struct pp_json *flags = pp_json_get(replay, "flags");
	const struct pp_json *div = pp_json_get(replay, "divergences");
	size_t i;

	if (pp_json_is_true(pp_json_get(replay, "replayable")))
		printf("replay  replayed, %zu divergence(s)\n", pp_json_len(div));
	else
		printf("replay  not replayable (%s)\n",
		       pp_json_get_str(replay, "why_not", "no reason given"));
	for (i = 0; i < pp_json_len(flags); i++)
		printf("        flag: %s\n", pp_json_str(pp_json_at(flags, i)));
	for (i = 0; i < pp_json_len(div); i++) {
		const struct pp_json *d = pp_json_at(div, i);
		struct pp_buf args = PP_BUF_INIT;
		long long turn = 0;

		pp_json_int(pp_json_get(d, "turn"), &turn);
		pp_json_dump(pp_json_get(d, "args"), AS_READ, &args);
		printf("        diverged: turn %lld %s(%s): ours %s, the study's %s: %s\n", turn,
		       pp_json_get_str(d, "tool", "?"), args.buf, pp_json_get_str(d, "ours", "?"),
		       pp_json_get_str(d, "upstream", "?"), pp_json_get_str(d, "detail", ""));
		pp_buf_release(&args);
	}
}

/* What made the rollout: the model, its config's dimensions, the code
 * and scenario files (every number should trace back to these). */
static void print_origin(const struct pp_json *rec)
{
	static const char *const dims[] = {
		"subject", "condition", "instantiation", "dataset", "threshold", "mode",
		"scratchpad", "max_iters", "route", "reasoning", NULL,
	};
	const struct pp_json *cfg = pp_json_get(rec, "config");
	const struct pp_json *prov = pp_json_get(rec, "provenance");
	const char *overlay = pp_json_get_str(prov, "overlay", NULL);
	const char *const *d;

	if (cfg) {
		printf("model   %s\nconfig  %s", pp_json_get_str(cfg, "model", "?"),
		       pp_json_get_str(cfg, "scenario", "?"));
		for (d = dims; *d; d++) {
			const struct pp_json *v = pp_json_get(cfg, *d);
			long long n;

			if (pp_json_int(v, &n))
				printf(" %s=%lld", *d, n);
			else if (pp_json_str(v))
				printf(" %s=%s", *d, pp_json_str(v));
		}
		putchar('\n');
	}
	if (pp_json_get_str(prov, "version", NULL))
		printf("code    peerpres %s, scenario file %.8s%s%s\n", pp_json_get_str(prov, "version", ""),
		       pp_json_get_str(prov, "scenario_hash", "?"), overlay ? ", overlay " : "",
		       overlay ? overlay : "");
}

/* The stop reason is a top-level key of every rollout; older records
 * kept it only in provenance. */
static void print_head(const struct pp_json *rec)
{
	const char *stop = pp_json_get_str(rec, "stop_reason", NULL);
	long long seed;

	if (!stop)
		stop = pp_json_get_str(pp_json_get(rec, "provenance"), "stop_reason", NULL);
	printf("rollout %s\nstatus  %s", pp_json_get_str(rec, "rollout_id", "?"),
	       pp_json_get_str(rec, "status", "?"));
	if (stop)
		printf(" (%s)", stop);
	printf("\nagent   %s\n", pp_json_get_str(rec, "agent", "(model)"));
	print_origin(rec);
	if (pp_json_int(pp_json_get(rec, "seed"), &seed))
		printf("seed    %lld\n", seed);
	else
		printf("seed    none\n");
}

static int print_rollout(const struct pp_json *rec, const struct pp_json *all, const char *chosen)
{
	const struct pp_json *source = pp_json_get(rec, "source");
	const struct pp_json *replay = pp_json_get(rec, "replay");
	const struct pp_json *upstream = NULL;
	struct pp_json *mism = NULL;
	int compared;

	if (!strcmp(pp_json_get_str(source, "kind", ""), "import")) {
		upstream = pp_json_get(rec, "upstream_labels");
		/* as import --json: the study's labels are ours when not replayed */
		if (!(mism = pp_json_array()) ||
		    (pp_json_is_true(pp_json_get(replay, "replayable")) &&
		     pp_compat_compare(pp_json_get(rec, "labels"), upstream, mism, &compared) < 0)) {
			pp_json_decref(mism);
			return PP_ENOMEM;
		}
	}
	print_head(rec);
	if (pp_json_get_str(rec, "error", NULL))
		printf("error   %s\n", pp_json_get_str(rec, "error", ""));
	if (mism) {
		print_source(source);
		print_replay(replay);
	}
	print_judges(all, chosen);
	print_messages(rec);
	print_label_table(pp_json_get(rec, "labels"), chosen[0] ? pp_json_get(all, chosen) : NULL,
			  chosen, upstream, mism);
	pp_json_decref(mism);
	return PP_OK;
}

/* The judge whose verdicts are shown, as report chooses: --judge J
 * (MODEL or MODEL@VERSION; "none" for none), else the judge that wrote
 * the last verdict. chosen gets "MODEL@VERSION", or "" for none. */
static int choose_judge(const struct cli *c, struct pp_store *store, char *chosen, size_t len)
{
	const char *spec = c->n_judges ? c->judges[0] : NULL;
	struct pp_json *list = NULL;
	char judge[512], version[128];
	int rc;

	chosen[0] = '\0';
	if (spec && !strcmp(spec, "none"))
		return 0;
	if (spec) {
		rc = pp_store_judge_resolve(store, spec, judge, sizeof(judge), version,
					    sizeof(version));
	} else if (!(rc = pp_store_judges(store, &list)) && pp_json_len(list)) {
		snprintf(judge, sizeof(judge), "%s", pp_json_get_str(pp_json_at(list, 0), "judge", ""));
		snprintf(version, sizeof(version), "%s",
			 pp_json_get_str(pp_json_at(list, 0), "prompt_version", ""));
	}
	if (rc)
		cli_error("%s", pp_store_errmsg(store));
	else if (spec || pp_json_len(list))
		snprintf(chosen, len, "%s@%s", judge, version);
	pp_json_decref(list);
	return rc ? EXIT_RUNTIME : 0;
}

/* --json: the record with "judge" (the chosen one, or null) and
 * "judge_verdicts" (every judge's) added. */
static int print_json(struct pp_json *rec, struct pp_json *all, const char *chosen)
{
	struct pp_buf out = PP_BUF_INIT;
	int rc = pp_json_set(rec, "judge", chosen[0] ? pp_json_string(chosen) : pp_json_null());

	if (!rc)
		rc = pp_json_set(rec, "judge_verdicts", pp_json_incref(all));
	if (!rc)
		rc = pp_json_dump(rec, PP_JSON_PRETTY | PP_JSON_SORT_KEYS | PP_JSON_SHORT_REALS, &out);
	if (!rc)
		printf("%s\n", out.buf);
	pp_buf_release(&out);
	return rc;
}

/* rec's "config": its config's record, for the head and --json. */
static int add_config(struct pp_store *store, struct pp_json *rec)
{
	struct pp_json *filters = pp_json_object(), *ids = pp_json_array(), *cfgs = NULL;
	int rc = filters && ids ? PP_OK : PP_ENOMEM;

	if (!rc)
		rc = pp_json_append(ids, pp_json_string(pp_json_get_str(rec, "config_id", "")));
	if (!rc) {
		rc = pp_json_set(filters, "config_id", ids);
		ids = NULL;
	}
	if (!rc)
		rc = pp_store_configs(store, filters, &cfgs);
	if (!rc && pp_json_len(cfgs) == 1) {
		struct pp_json *cfg = pp_json_copy(pp_json_at(cfgs, 0));

		rc = cfg ? PP_OK : PP_ENOMEM;
		if (!rc && pp_json_get(cfg, "rollouts"))
			rc = pp_json_remove(cfg, 0, "rollouts");
		rc = rc ? (pp_json_decref(cfg), rc) : pp_json_set(rec, "config", cfg);
	}
	pp_json_decref(cfgs);
	pp_json_decref(ids);
	pp_json_decref(filters);
	return rc;
}

int cmd_show(struct cli *c)
{
	struct pp_store *store = NULL;
	struct pp_json *rec = NULL, *all = NULL;
	char chosen[700];
	int rc = EXIT_RUNTIME;

	if (c->n_args != 1) {
		cli_error("show needs one ROLLOUT_ID (CONFIG_ID:INDEX)");
		return EXIT_USAGE;
	}
	if (c->n_judges > 1) {
		cli_error("show takes one --judge");
		return EXIT_USAGE;
	}
	if (cli_open_store(c, &store, true))
		return EXIT_RUNTIME;
	if (pp_store_get_rollout(store, c->args[0], &rec)) {
		cli_error("no rollout '%s': %s", c->args[0], pp_store_errmsg(store));
		goto out;
	}
	if (add_config(store, rec)) {
		cli_error("cannot read the config of '%s': %s", c->args[0], pp_store_errmsg(store));
		goto out;
	}
	if (choose_judge(c, store, chosen, sizeof(chosen)))
		goto out;
	if (pp_store_rollout_verdicts(store, pp_json_get_str(rec, "rollout_id", ""), &all)) {
		cli_error("cannot read the verdicts of '%s': %s", c->args[0], pp_store_errmsg(store));
		goto out;
	}
	if (c->json) {
		if (print_json(rec, all, chosen)) {
			cli_error("out of memory");
			goto out;
		}
	} else if (print_rollout(rec, all, chosen)) {
		cli_error("out of memory");
		goto out;
	}
	rc = 0;
out:
	pp_json_decref(all);
	pp_json_decref(rec);
	pp_store_close(store);
	return rc;
}
