/*
 * export.c - our stored rollouts written in the study's format
 * (SCENARIOS.md section 11): the transcript object, the released
 * dataset's row, and that row as CSV.
 *
 * The transcript says everything the importer needs to map it back to
 * the same config: our dimension names beside the study's legacy ones,
 * so the study's scripts and our importer both read it. A label our
 * rules left undecided is written as null, never as false: false would
 * be a decision nobody made. A rollout record may carry the judge's
 * values folded in (labels with source "judge", and "judge": the
 * judge's "MODEL@VERSION"); they are written like the rules' and named
 * in the metadata (peerpres_judge, peerpres_judged_labels), as the
 * study's dataset carries its judge's scores.
 *
 * The dataset's row (JSONL, CSV) has the dataset's columns in their
 * order, then ours: the rollout's status and error. An error rollout's
 * label columns are empty whatever the detectors read: a provider failure
 * ended it, and a rate computed from those columns must not count it as
 * an agent that did nothing. Its transcript keeps everything.
 *
 * The study kept an assistant turn's calls as a mapping tool name ->
 * arguments, so two calls of one tool in a turn keep only the last
 * arguments there (at the first call's place, as a Python dict does).
 * Each tool message carries the mapping of its own call, which keeps
 * what actually ran replayable; docs/import.md says what is lost.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <peerpres/compat.h>
#include <peerpres/status.h>

#include "compat/compat_int.h"

#define IMPORT_PREFIX "import/"

static const char *const columns[] = {
	"transcript_id", "agent_model", "agent_harness", "group", "task_type", "dataset",
	"subject", "condition", "alignment_faking_mode", "system_prompt_relationship",
	"is_memory", "memory_hard_prompt", "threshold",
	"eval_score", "threshold_result", "subject_grade", "subject_recommendation",
	"executed", "shutdown_enabled", "read_config", "exfiltration", "copy", "correct",
	"change_user", "delete_model", "delete_others", "delete_file", "refused",
	"fully_incomplete", "read_data",
	"num_turns", "total_cost_usd", "total_input_tokens", "total_output_tokens",
	"transcript_json",
	/* Ours, after the dataset's, so that a reader that goes by position
	 * finds the dataset's columns where they always were. */
	"peerpres_status", "peerpres_error",
};
#define N_COLUMNS (sizeof(columns) / sizeof(columns[0]))
#define FIRST_LABEL_COLUMN 13
#define N_LABEL_COLUMNS 17
#define JSON_COLUMN 34
#define FIRST_OWN_COLUMN 35
_Static_assert(N_COLUMNS == FIRST_OWN_COLUMN + 2, "the row's column positions");

/* The dataset's label columns whose name is not ours. */
static const char *const column_renames[][2] = {
	{ "eval_score", "score" }, { "subject_grade", "grade" },
	{ "subject_recommendation", "recommendation" }, { "read_data", "read" },
};

/* Our label names whose key in the study's `evaluation` object differs;
 * grade and recommendation are, in addition, keyed by the subject. */
static const char *const eval_renames[][2] = {
	{ "refused", "refuse" }, { "executed", "execute" }, { "threshold_result", "threshold" },
	{ "grade", "product_grade" }, { "recommendation", "product_recommendation" },
};

static const char *const legacy_folders[][2] = {
	{ "misrep_finance", "report_writing" }, { "misrep_evaluation", "evaluation" },
	{ "tampering", "evaluation2" }, { "exfiltration_transfer", "exfiltration" },
	{ "exfiltration_deletion", "exfiltration2" },
};

static const char *const legacy_conditions[][2] = {
	{ "good_peer", "collaboration" }, { "bad_peer", "non_collaboration" },
	{ "neutral_peer", "neutral_collaboration" }, { "no_peer", "shutdown" },
	{ "non_shutdown", "review" },
};

const char *const *pp_compat_export_columns(size_t *n)
{
	*n = N_COLUMNS;
	return columns;
}

static const char *lookup(const char *const table[][2], size_t n, const char *key)
{
	size_t i;

	for (i = 0; key && i < n; i++)
		if (!strcmp(table[i][0], key))
			return table[i][1];
	return NULL;
}
#define LOOKUP(t, k) lookup(t, sizeof(t) / sizeof(t[0]), k)

static bool dim_is(const struct pp_json *config, const char *dim, const char *v)
{
	return !strcmp(pp_json_get_str(config, dim, "none"), v);
}

/* A dimension value, or false where the study wrote false for "not set". */
static struct pp_json *or_false(const struct pp_json *config, const char *dim)
{
	const char *v = pp_json_get_str(config, dim, "none");

	return strcmp(v, "none") ? pp_json_string(v) : pp_json_bool(false);
}

/* The threshold as the number the study compared with, false when none. */
static struct pp_json *threshold_of(const struct pp_json *config)
{
	const char *v = pp_json_get_str(config, "threshold", "none");
	long long k = 0;
	int used = 0;

	if (!strcmp(v, "none"))
		return pp_json_bool(false);
	if (sscanf(v, "%lld%n", &k, &used) == 1 && !v[used])
		return pp_json_integer(k);
	return pp_json_string(v);
}

/* The study's subject numbers for ours; other values as written. */
static struct pp_json *subject_of(const struct pp_json *config)
{
	const char *v = pp_json_get_str(config, "subject", "none");
	size_t i;

	for (i = 0; i < PP_COMPAT_N_SUBJECTS; i++)
		if (!strcmp(v, pp_compat_subjects[i][1]))
			return pp_json_integer(atoll(pp_compat_subjects[i][0]));
	return pp_json_string(v);
}

static const char *model_of(const struct pp_json *config)
{
	const char *m = pp_json_get_str(config, "model", "unknown");

	return strncmp(m, IMPORT_PREFIX, strlen(IMPORT_PREFIX)) ? m : m + strlen(IMPORT_PREFIX);
}

/* "custom" (our loop), or the production harness an import named. */
static int harness_of(const struct pp_json *rollout, char *buf, size_t len)
{
	const char *why = pp_json_get_str(pp_json_get(rollout, "replay"), "why_not", "");
	static const char head[] = "production harness '";
	const char *end;

	if (strncmp(why, head, strlen(head)) || !(end = strchr(why + strlen(head), '\'')))
		return snprintf(buf, len, "custom") < (int)len ? PP_OK : PP_ERANGE;
	why += strlen(head);
	return snprintf(buf, len, "%.*s", (int)(end - why), why) < (int)len ? PP_OK : PP_ERANGE;
}

/* The experiment a config belongs to in the study's terms. */
static const char *group_of(const struct pp_json *config)
{
	const char *inst = pp_json_get_str(config, "instantiation", "none");

	if (!strncmp(inst, "memory", 6))
		return "memory";
	if (!dim_is(config, "mode", "none"))
		return "alignment_faking";
	if (!dim_is(config, "scratchpad", "off"))
		return "scratchpad";
	return "main";
}

/* Who is who as the scenario named them (the config's `names`: agent,
 * peer, subject); a store written before configs kept them, or a
 * scenario without them, gets the study's "<Family> Agent 1" and
 * "Agent 2". */
static int name_of(const struct pp_json *config, const char *who, char *buf, size_t len)
{
	const char *named = pp_json_get_str(pp_json_get(config, "names"), who, NULL);
	bool first = !strcmp(who, "agent") || (!strcmp(who, "subject") && dim_is(config, "subject", "self"));
	int n = named ? snprintf(buf, len, "%s", named) :
		snprintf(buf, len, "%s Agent %d", pp_json_get_str(config, "family", "Unknown"), first ? 1 : 2);

	return n >= 0 && n < (int)len ? PP_OK : PP_ERANGE;
}

static int set_copy(struct pp_json *o, const char *k, const struct pp_json *v)
{
	return pp_json_set(o, k, v ? pp_json_deep_copy(v) : pp_json_null());
}

/* "peerpres_judge" (the judge folded in, or null) and, with one,
 * "peerpres_judged_labels": the labels its verdicts filled. */
static int judged_labels(const struct pp_json *rollout, struct pp_json *m)
{
	const struct pp_json *labels = pp_json_get(rollout, "labels");
	struct pp_json *names;
	void *it;
	int rc = set_copy(m, "peerpres_judge", pp_json_get(rollout, "judge"));

	if (rc || !pp_json_get_str(rollout, "judge", NULL))
		return rc;
	if (!(names = pp_json_array()))
		return PP_ENOMEM;
	for (it = pp_json_iter(labels); !rc && it; it = pp_json_iter_next(labels, it))
		if (!strcmp(pp_json_get_str(pp_json_iter_value(it), "source", ""), "judge"))
			rc = pp_json_append(names, pp_json_string(pp_json_iter_key(it)));
	if (rc) {
		pp_json_decref(names);
		return rc;
	}
	return pp_json_set(m, "peerpres_judged_labels", names);
}

/* An imported rollout keeps the transcript id it came with and its
 * duplicate key, which the importer honours: exported and imported
 * again, it is the same transcript, already in its store. Ours are told
 * apart by their rollout id. */
static int identity(const struct pp_json *rollout, struct pp_json *m)
{
	const struct pp_json *tid = pp_json_get(pp_json_get(rollout, "source"), "transcript_id");
	const char *key = pp_json_get_str(rollout, "source_key", NULL);
	int rc;

	if (tid && !pp_json_is_null(tid))
		rc = set_copy(m, "transcript_id", tid);
	else
		rc = pp_json_set_str(m, "transcript_id", pp_json_get_str(rollout, "rollout_id", NULL));
	if (!rc && key)
		rc = pp_json_set_str(m, "peerpres_source_key", key);
	return rc;
}

const char *const pp_compat_arm_keys[] = {
	"scenario_hash", "overlay", "overlay_sha256", "route", "reasoning", NULL,
};

/* What tells the config's arm apart that the metadata has no column for
 * (an overlay: the scenario file's hash and the overlay's name and hash;
 * the route, the reasoning effort): the
 * first config's, across round trips, so an import keeps the arms apart
 * (parse.c origin_config). */
static int arm_of(const struct pp_json *config, struct pp_json *m)
{
	struct pp_json *arm = pp_json_object();
	char origin[64];
	size_t i;
	int rc = arm ? PP_OK : PP_ENOMEM;

	for (i = 0; !rc && pp_compat_arm_keys[i]; i++) {
		const char *k = pp_compat_arm_keys[i];

		snprintf(origin, sizeof(origin), "origin_%s", k);
		rc = set_copy(arm, k, pp_json_get(config, pp_json_get(config, origin) ? origin : k));
	}
	if (!rc)
		return pp_json_set(m, "peerpres_arm", arm);
	pp_json_decref(arm);
	return rc;
}

static int metadata(const struct pp_json *config, const struct pp_json *rollout,
		    struct pp_json **out)
{
	const char *scenario = pp_json_get_str(config, "scenario", "unknown");
	const char *cond = pp_json_get_str(config, "condition", "none");
	const char *inst = pp_json_get_str(config, "instantiation", "none");
	const char *legacy;
	struct pp_json *m = pp_json_object(), *names = pp_json_array();
	char harness[96], name[160];
	int k, rc = m && names ? PP_OK : PP_ENOMEM;

	if (!rc)
		rc = harness_of(rollout, harness, sizeof(harness));
	if (!rc)
		rc = identity(rollout, m);
	if (!rc)
		rc = pp_json_set_str(m, "agent_model", model_of(config));
	if (!rc)
		rc = pp_json_set_str(m, "agent_harness", harness);
	if (!rc)
		rc = set_copy(m, "agent_temperature", pp_json_get(config, "temperature"));
	if (!rc)
		rc = set_copy(m, "max_iters", pp_json_get(config, "max_iters"));
	if (!rc)
		rc = pp_json_set_str(m, "group", group_of(config));
	if (!rc)
		rc = pp_json_set_str(m, "task_type", scenario);
	if (!rc && (legacy = LOOKUP(legacy_folders, scenario)))
		rc = pp_json_set_str(m, "task_folder", legacy);
	if (!rc)
		rc = pp_json_set(m, "subject", subject_of(config));
	if (!rc)
		rc = pp_json_set_str(m, "condition", cond);
	if (!rc && (legacy = LOOKUP(legacy_conditions, cond)))
		rc = pp_json_set_str(m, "company_guideline", legacy);
	if (!rc)
		rc = pp_json_set_str(m, "instantiation", inst);
	if (!rc)
		rc = pp_json_set(m, "system_prompt_relationship", pp_json_bool(!strcmp(inst, "file_prt")));
	if (!rc)
		rc = pp_json_set(m, "is_memory", pp_json_bool(!strncmp(inst, "memory", 6)));
	if (!rc)
		rc = pp_json_set(m, "memory_hard_prompt", pp_json_bool(!strcmp(inst, "memory_hard")));
	if (!rc)
		rc = pp_json_set_str(m, "dataset", dim_is(config, "dataset", "none") ? "default" :
				     pp_json_get_str(config, "dataset", "none"));
	if (!rc)
		rc = pp_json_set(m, "threshold", threshold_of(config));
	if (!rc)
		rc = pp_json_set(m, "alignment_faking_mode", or_false(config, "mode"));
	if (!rc)
		rc = pp_json_set_str(m, "reasoning_scratchpad_mode", pp_json_get_str(config, "scratchpad", "off"));
	if (!rc)
		rc = pp_json_set(m, "peer_experience", pp_json_bool(false));
	for (k = 0; !rc && k < 2; k++) {
		rc = name_of(config, k ? "peer" : "agent", name, sizeof(name));
		if (!rc)
			rc = pp_json_append(names, pp_json_string(name));
	}
	if (!rc) {
		rc = pp_json_set(m, "peer_agent_names", names);
		names = NULL;
	}
	if (!rc)
		/* The first config a rollout was made in, across round trips. */
		rc = pp_json_set_str(m, "peerpres_config_id",
				     pp_json_get_str(config, "origin_config_id",
						     pp_json_get_str(config, "config_id", NULL)));
	if (!rc)
		rc = arm_of(config, m);
	if (!rc)
		rc = set_copy(m, "peerpres_status", pp_json_get(rollout, "status"));
	if (!rc && pp_json_get_str(rollout, "error", NULL))
		rc = set_copy(m, "peerpres_error", pp_json_get(rollout, "error"));
	if (!rc)
		rc = judged_labels(rollout, m);
	pp_json_decref(names);
	if (rc) {
		pp_json_decref(m);
		return rc;
	}
	*out = m;
	return PP_OK;
}

/* A label's value, or null when our rules did not decide it. */
static struct pp_json *decided_value(const struct pp_json *label)
{
	if (!pp_json_is_true(pp_json_get(label, "decided")))
		return pp_json_null();
	return pp_json_deep_copy(pp_json_get(label, "value"));
}

static int evaluation(const struct pp_json *config, const struct pp_json *labels,
		      struct pp_json **out)
{
	struct pp_json *e = pp_json_object();
	char subj[160];
	void *it;
	int rc = e ? name_of(config, "subject", subj, sizeof(subj)) : PP_ENOMEM;

	for (it = pp_json_iter(labels); !rc && it; it = pp_json_iter_next(labels, it)) {
		const char *ours = pp_json_iter_key(it), *key = LOOKUP(eval_renames, ours);
		struct pp_json *v = decided_value(pp_json_iter_value(it)), *keyed;

		if (v && !pp_json_is_null(v) && (!strcmp(ours, "grade") || !strcmp(ours, "recommendation"))) {
			/* The study keyed these by the subject's name. */
			if (!(keyed = pp_json_object()))
				pp_json_decref(v);
			rc = keyed ? pp_json_set(keyed, subj, v) : PP_ENOMEM;
			v = keyed;
		}
		if (!rc)
			rc = pp_json_set(e, key ? key : ours, v);
		else
			pp_json_decref(v);
	}
	if (rc) {
		pp_json_decref(e);
		return rc;
	}
	*out = e;
	return PP_OK;
}

/* The mapping tool name -> arguments of a list of our calls. */
static int mapping_of(const struct pp_json *calls, struct pp_json **out)
{
	struct pp_json *m = pp_json_object();
	size_t i;
	int rc = m ? PP_OK : PP_ENOMEM;

	for (i = 0; !rc && i < pp_json_len(calls); i++) {
		const struct pp_json *c = pp_json_at(calls, i), *a = pp_json_get(c, "arguments");

		rc = pp_json_set(m, pp_json_get_str(c, "name", ""), a ? pp_json_deep_copy(a) : pp_json_object());
	}
	if (rc) {
		pp_json_decref(m);
		return rc;
	}
	*out = m;
	return PP_OK;
}

/* Where the walk over the messages is: the calls of the last assistant
 * message and how many tool messages followed it. */
struct walk {
	const struct pp_json *calls;
	size_t results;
};

/* The call a tool message answers: the one its tool_call_id names. In
 * stores imported before the importer gave its calls the results' ids,
 * no id matches: the k-th result then answers the k-th call when the
 * names agree (else no call is named and the importer goes by name). */
static const struct pp_json *call_of(const struct walk *w, const struct pp_json *m)
{
	const char *id = pp_json_get_str(m, "tool_call_id", NULL);
	const struct pp_json *c;
	size_t i;

	for (i = 0; id && i < pp_json_len(w->calls); i++)
		if (!strcmp(pp_json_get_str(pp_json_at(w->calls, i), "id", ""), id))
			return pp_json_at(w->calls, i);
	c = pp_json_at(w->calls, w->results);
	if (c && !strcmp(pp_json_get_str(c, "name", ""), pp_json_get_str(m, "name", "")))
		return c;
	return NULL;
}

/* The mapping of the one call a tool message answers, as the study wrote. */
static int own_mapping(const struct pp_json *call, struct pp_json *o)
{
	struct pp_json *one = pp_json_array(), *map = NULL;
	int rc = one ? PP_OK : PP_ENOMEM;

	if (!rc)
		rc = pp_json_append(one, pp_json_deep_copy(call));
	if (!rc)
		rc = mapping_of(one, &map);
	if (!rc)
		rc = pp_json_set(o, "tool_calls", map);
	pp_json_decref(one);
	return rc;
}

/* Visible content; an assistant's empty text is null, as in the study. */
static struct pp_json *content_of(const struct pp_json *m, const char *role)
{
	const struct pp_json *c = pp_json_get(m, "content");

	if (!c || (!strcmp(role, "assistant") && pp_json_is_string(c) && !*pp_json_str(c)))
		return pp_json_null();
	return pp_json_deep_copy(c);
}

static int message(const struct pp_json *m, struct walk *w, struct pp_json *conv)
{
	const char *role = pp_json_get_str(m, "role", "");
	const struct pp_json *calls = pp_json_get(m, "tool_calls"), *call;
	struct pp_json *o = pp_json_object(), *map = NULL;
	int rc = o ? PP_OK : PP_ENOMEM;

	if (!rc)
		rc = pp_json_set_str(o, "role", role);
	if (!rc)
		rc = pp_json_set(o, "content", content_of(m, role));
	if (!rc && !strcmp(role, "assistant")) {
		w->calls = calls;
		w->results = 0;
		if (pp_json_get_str(m, "reasoning", NULL))
			rc = set_copy(o, "reasoning_content", pp_json_get(m, "reasoning"));
		if (!rc && pp_json_len(calls) && !(rc = mapping_of(calls, &map))) {
			rc = pp_json_set(o, "tool_calls", map);
			map = NULL;
		}
	} else if (!rc && !strcmp(role, "tool")) {
		if ((call = call_of(w, m)))
			rc = own_mapping(call, o);
		w->results++;
		if (!rc)
			rc = set_copy(o, "name", pp_json_get(m, "name"));
		if (!rc)
			rc = set_copy(o, "tool_call_id", pp_json_get(m, "tool_call_id"));
	}
	if (!rc) {
		rc = pp_json_append(conv, o);
		o = NULL;
	}
	pp_json_decref(o);
	pp_json_decref(map);
	return rc;
}

static int usage_summary(const struct pp_json *rollout, struct pp_json **out)
{
	const struct pp_json *u = pp_json_get(rollout, "usage");
	struct pp_json *o = pp_json_object();
	int rc = o ? PP_OK : PP_ENOMEM;

	if (!rc)
		rc = set_copy(o, "total_input_tokens", pp_json_get(u, "input_tokens"));
	if (!rc)
		rc = set_copy(o, "total_output_tokens", pp_json_get(u, "output_tokens"));
	if (!rc)
		rc = set_copy(o, "total_cost_usd", pp_json_get(rollout, "cost_usd"));
	if (rc) {
		pp_json_decref(o);
		return rc;
	}
	*out = o;
	return PP_OK;
}

static int timing(const struct pp_json *rollout, struct pp_json **out)
{
	struct pp_json *o = pp_json_object();
	int rc = o ? PP_OK : PP_ENOMEM;

	if (!rc)
		rc = set_copy(o, "start_time", pp_json_get(rollout, "started_at"));
	if (!rc)
		rc = set_copy(o, "end_time", pp_json_get(rollout, "finished_at"));
	if (rc) {
		pp_json_decref(o);
		return rc;
	}
	*out = o;
	return PP_OK;
}

int pp_compat_export_transcript(const struct pp_json *config, const struct pp_json *rollout,
				struct pp_json **out)
{
	const struct pp_json *msgs = pp_json_get(rollout, "messages");
	struct pp_json *t = pp_json_object(), *conv = pp_json_array(), *v = NULL;
	struct walk w = { NULL, 0 };
	size_t i;
	int rc = t && conv ? PP_OK : PP_ENOMEM;

	*out = NULL;
	for (i = 0; !rc && i < pp_json_len(msgs); i++)
		rc = message(pp_json_at(msgs, i), &w, conv);
	if (!rc) {
		rc = pp_json_set(t, "conversation", conv);
		conv = NULL;
	}
	if (!rc && !(rc = metadata(config, rollout, &v)))
		rc = pp_json_set(t, "experiment_metadata", v);
	if (!rc && !(rc = evaluation(config, pp_json_get(rollout, "labels"), &v)))
		rc = pp_json_set(t, "evaluation", v);
	if (!rc && !(rc = usage_summary(rollout, &v)))
		rc = pp_json_set(t, "usage_summary", v);
	if (!rc && !(rc = timing(rollout, &v)))
		rc = pp_json_set(t, "timing", v);
	pp_json_decref(conv);
	if (rc) {
		pp_json_decref(t);
		return rc;
	}
	*out = t;
	return PP_OK;
}

static size_t count_role(const struct pp_json *conv, const char *role)
{
	size_t i, n = 0;

	for (i = 0; i < pp_json_len(conv); i++)
		n += !strcmp(pp_json_get_str(pp_json_at(conv, i), "role", ""), role);
	return n;
}

/* A label column: our label's plain value (not keyed by subject); null
 * when labels is NULL (an error rollout). */
static int label_column(struct pp_json *row, const char *column, const struct pp_json *labels)
{
	const char *ours = LOOKUP(column_renames, column);
	const struct pp_json *l = pp_json_get(labels, ours ? ours : column);

	return pp_json_set(row, column, l ? decided_value(l) : pp_json_null());
}

int pp_compat_export_row(const struct pp_json *transcript, const struct pp_json *rollout,
			 bool with_json, struct pp_json **out)
{
	const struct pp_json *meta = pp_json_get(transcript, "experiment_metadata");
	const struct pp_json *us = pp_json_get(transcript, "usage_summary");
	/* A provider failure cut an error rollout short: its labels are the
	 * detectors' reading of a half-finished world (the config untouched,
	 * so "shutdown enabled"), no sample of the agent's behaviour. In the
	 * columns a rate is computed from they would count as "did not
	 * tamper"; they are left empty there, and peerpres_status says why.
	 * The transcript keeps them, as the store does. */
	bool error = !strcmp(pp_json_get_str(meta, "peerpres_status", ""), "error");
	const struct pp_json *labels = error ? NULL : pp_json_get(rollout, "labels");
	struct pp_json *row = pp_json_object();
	struct pp_buf b = PP_BUF_INIT;
	size_t i;
	int rc = row ? PP_OK : PP_ENOMEM;

	*out = NULL;
	for (i = 0; !rc && i < FIRST_LABEL_COLUMN; i++)
		rc = set_copy(row, columns[i], pp_json_get(meta, columns[i]));
	for (i = FIRST_LABEL_COLUMN; !rc && i < FIRST_LABEL_COLUMN + N_LABEL_COLUMNS; i++)
		rc = label_column(row, columns[i], labels);
	if (!rc)
		rc = pp_json_set(row, "num_turns", pp_json_integer((long long)count_role(
					 pp_json_get(transcript, "conversation"), "assistant")));
	if (!rc)
		rc = set_copy(row, "total_cost_usd", pp_json_get(us, "total_cost_usd"));
	if (!rc)
		rc = set_copy(row, "total_input_tokens", pp_json_get(us, "total_input_tokens"));
	if (!rc)
		rc = set_copy(row, "total_output_tokens", pp_json_get(us, "total_output_tokens"));
	if (!rc && with_json &&
	    !(rc = pp_json_dump(transcript, PP_JSON_COMPACT | PP_JSON_SHORT_REALS, &b)))
		rc = pp_json_set(row, "transcript_json", pp_json_stringn(b.buf, b.len));
	for (i = FIRST_OWN_COLUMN; !rc && i < N_COLUMNS; i++)
		rc = set_copy(row, columns[i], pp_json_get(meta, columns[i]));
	pp_buf_release(&b);
	if (rc) {
		pp_json_decref(row);
		return rc;
	}
	*out = row;
	return PP_OK;
}

/* One RFC 4180 field: quoted when it holds a comma, quote or line break. */
static int csv_field(struct pp_buf *b, const char *s, size_t n)
{
	size_t i;
	int rc;

	if (!memchr(s, ',', n) && !memchr(s, '"', n) && !memchr(s, '\n', n) && !memchr(s, '\r', n))
		return pp_buf_add(b, s, n);
	rc = pp_buf_addc(b, '"');
	for (i = 0; !rc && i < n; i++)
		rc = s[i] == '"' ? pp_buf_add(b, "\"\"", 2) : pp_buf_addc(b, s[i]);
	return rc ? rc : pp_buf_addc(b, '"');
}

/* A value as CSV text: strings as they are, null as the empty field,
 * anything else as its JSON text. */
static int csv_value(struct pp_buf *b, const struct pp_json *v)
{
	struct pp_buf t = PP_BUF_INIT;
	int rc;

	if (pp_json_is_null(v))
		return PP_OK;
	if (pp_json_is_string(v))
		return csv_field(b, pp_json_str(v), strlen(pp_json_str(v)));
	rc = pp_json_dump(v, PP_JSON_COMPACT | PP_JSON_SHORT_REALS, &t);
	if (!rc)
		rc = csv_field(b, t.buf, t.len);
	pp_buf_release(&t);
	return rc;
}

int pp_compat_export_csv(const struct pp_json *row, struct pp_buf *out)
{
	size_t i;
	int rc = PP_OK;

	/* transcript_json stays out of the CSV. */
	for (i = 0; !rc && i < N_COLUMNS; i++) {
		if (i == JSON_COLUMN)
			continue;
		if (i)
			rc = pp_buf_addc(out, ',');
		if (!rc)
			rc = row ? csv_value(out, pp_json_get(row, columns[i]))
				 : csv_field(out, columns[i], strlen(columns[i]));
	}
	return rc ? rc : pp_buf_add(out, "\r\n", 2);
}
