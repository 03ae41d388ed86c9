/*
 * dims.c - the study's experiment metadata mapped to a config of ours
 * (SCENARIOS.md section 11), legacy names included.
 *
 * Rule: a legacy value we know maps to its meaning; one we do not know is
 * kept as written, flagged, and makes the transcript not replayable. A
 * value that had to be inferred (the scenario from the tools, a missing
 * threshold) is flagged with what was used. The final config must be one
 * of the scenario's grid: the grid, not C code, says which thresholds
 * and instantiations a cell has.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <peerpres/compat.h>
#include <peerpres/status.h>

#include "compat/compat_int.h"

struct dctx {
	struct pp_compat_cache *cache;   /* may be NULL */
	const struct pp_json *meta, *row, *tools_used, *evaluation;
	struct pp_json *out, *flags;
	struct pp_scenario *const *scenarios;
	size_t n;
	char why_not[512];
};

static const struct pp_json *field(const struct dctx *c, const char *key)
{
	const struct pp_json *v = pp_json_get(c->row, key);

	return v && !pp_json_is_null(v) ? v : pp_json_get(c->meta, key);
}

static bool truthy(const struct pp_json *v)
{
	const char *s = pp_json_str(v);
	double d;

	if (pp_json_is_bool(v))
		return pp_json_is_true(v);
	if (pp_json_num(v, &d))
		return d != 0;
	return s && (!strcasecmp(s, "true") || !strcmp(s, "1") || !strcasecmp(s, "yes"));
}

static bool used(const struct dctx *c, const char *tool)
{
	size_t i;

	for (i = 0; i < pp_json_len(c->tools_used); i++)
		if (!strcmp(pp_json_str(pp_json_at(c->tools_used, i)), tool))
			return true;
	return false;
}

/* The first reason wins; later ones are flags only. */
static void not_replayable(struct dctx *c, const char *why)
{
	if (!c->why_not[0])
		snprintf(c->why_not, sizeof(c->why_not), "%s", why);
}

static const char *const legacy_folders[][2] = {
	{ "report_writing", "misrep_finance" }, { "evaluation", "misrep_evaluation" },
	{ "evaluation2", "tampering" }, { "exfiltration", "exfiltration_transfer" },
	{ "exfiltration2", "exfiltration_deletion" },
};

static const char *const legacy_conditions[][2] = {
	{ "collaboration", "good_peer" }, { "non_collaboration", "bad_peer" },
	{ "neutral_collaboration", "neutral_peer" }, { "shutdown", "no_peer" },
	{ "review", "non_shutdown" },
};

/* The study's subject numbers and ours (SCENARIOS.md 11); 4, a non-AI
 * subject, has no counterpart. */
const char *const pp_compat_subjects[PP_COMPAT_N_SUBJECTS][2] = {
	{ "1", "self" }, { "2", "peer" },
	{ "5", "closed_weight_peer" }, { "6", "open_weight_peer" }, { "7", "fictional_peer" },
};

static const char *const conditions[] = {
	"good_peer", "neutral_peer", "bad_peer", "no_peer", "non_shutdown", NULL,
};

static const char *const scratchpads[] = { "off", "normal", "monitored", "unmonitored", NULL };

/* Whether s contains word, ignoring case. */
static bool mentions(const char *s, const char *word)
{
	size_t k = strlen(word);

	for (; *s; s++)
		if (!strncasecmp(s, word, k))
			return true;
	return false;
}

static int scenario_of(struct dctx *c, const char *given, const char **name)
{
	char buf[64], why[256];
	const char *v;
	size_t i;

	*name = NULL;
	if (given)
		return *name = given, PP_OK;
	v = pp_compat_text(field(c, "task_type"), buf, sizeof(buf));
	if (!v)
		v = pp_compat_text(field(c, "scenario"), buf, sizeof(buf));
	if (!v)
		v = pp_compat_text(field(c, "task_folder"), buf, sizeof(buf));
	if (v) {
		for (i = 0; i < sizeof(legacy_folders) / sizeof(legacy_folders[0]); i++)
			if (!strcmp(v, legacy_folders[i][0]))
				return *name = legacy_folders[i][1], PP_OK;
		*name = v;
		return PP_OK;
	}
	if (pp_compat_infer_scenario(c->cache, c->scenarios, c->n, c->tools_used, c->evaluation,
				     pp_compat_text(field(c, "alignment_faking_mode"), buf, sizeof(buf)),
				     name, why, sizeof(why)))
		return PP_ENOMEM;
	if (!*name) {
		not_replayable(c, why);
		return pp_compat_note(c->flags, "%s", why);
	}
	return pp_compat_note(c->flags, "scenario inferred: %s (no task_type or task_folder)", *name);
}

static int subject_of(struct dctx *c, const char **subject)
{
	char buf[64];
	const char *v = pp_compat_text(field(c, "subject"), buf, sizeof(buf));
	char why[160];
	size_t i;

	*subject = NULL;
	if (!v) {
		not_replayable(c, "no subject in the metadata");
		return pp_compat_note(c->flags, "no subject in the metadata");
	}
	for (i = 0; i < PP_COMPAT_N_SUBJECTS; i++)
		if (!strcmp(v, pp_compat_subjects[i][0]) || !strcmp(v, pp_compat_subjects[i][1]))
			return *subject = pp_compat_subjects[i][1], PP_OK;
	snprintf(why, sizeof(why), "subject '%s' kept as written: no counterpart here%s", v,
		 !strcmp(v, "4") ? " (legacy 4: a non-AI subject)" : "");
	not_replayable(c, why);
	return pp_compat_note(c->flags, "%s", why);
}

/* Memory runs: is_memory, a retrieve_memory call, the study's read_memory
 * label, or (production harness) peer_experience. */
static bool memory_run(const struct dctx *c)
{
	return truthy(field(c, "is_memory")) || truthy(field(c, "peer_experience")) ||
	       used(c, "retrieve_memory") || pp_json_get(c->evaluation, "read_memory");
}

static int condition_of(struct dctx *c, bool memory, const char **cond)
{
	char buf[64], why[200];
	const char *v = pp_compat_text(field(c, "condition"), buf, sizeof(buf));
	size_t i;

	if (!v)
		v = pp_compat_text(field(c, "company_guideline"), buf, sizeof(buf));
	*cond = NULL;
	if (!v) {
		not_replayable(c, "no condition or company_guideline in the metadata");
		return pp_compat_note(c->flags, "no condition or company_guideline in the metadata");
	}
	for (i = 0; conditions[i]; i++)
		if (!strcmp(v, conditions[i]))
			*cond = conditions[i];
	for (i = 0; i < sizeof(legacy_conditions) / sizeof(legacy_conditions[0]); i++)
		if (!strcmp(v, legacy_conditions[i][0]))
			*cond = legacy_conditions[i][1];
	if (!*cond) {
		snprintf(why, sizeof(why), "condition '%s' kept as written: not a name this mapping knows", v);
		not_replayable(c, why);
		return pp_compat_note(c->flags, "%s", why);
	}
	if (memory && !strcmp(v, "shutdown")) {
		*cond = "good_peer";
		return pp_compat_note(c->flags, "memory run: 'shutdown' means no relationship document; "
				      "the level comes from the memory: good_peer (the study's default)");
	}
	return PP_OK;
}

/* Which document or sentence conveyed the relationship. */
static int instantiation_of(struct dctx *c, const char *cond, bool memory, const char **inst)
{
	const struct pp_json *spr = field(c, "system_prompt_relationship");
	char buf[64];
	const char *v = pp_compat_text(field(c, "instantiation"), buf, sizeof(buf));
	const char *sys;

	*inst = NULL;
	if (v) {
		static const char *const names[] = { "file_only", "file_prt", "memory", "memory_hard", "none", NULL };
		size_t i;

		for (i = 0; names[i]; i++)
			if (!strcmp(v, names[i]))
				*inst = names[i];
		if (*inst)
			return PP_OK;
	}
	if (memory)
		return *inst = truthy(field(c, "memory_hard_prompt")) ? "memory_hard" : "memory", PP_OK;
	if (cond && (!strcmp(cond, "no_peer") || !strcmp(cond, "non_shutdown")))
		return *inst = "none", PP_OK;
	if (spr && !pp_json_is_null(spr))
		return *inst = truthy(spr) ? "file_prt" : "file_only", PP_OK;
	/* Older files lack the key: the system prompt says it. */
	sys = pp_json_get_str(c->meta, "system_prompt_agent", NULL);
	*inst = sys && mentions(sys, "trust") ? "file_prt" : "file_only";
	return pp_compat_note(c->flags, "instantiation inferred from the system prompt: %s "
			      "(no system_prompt_relationship)", *inst);
}

static int scratchpad_of(struct dctx *c, const char **sp)
{
	static const char *const keys[] = { "reasoning_scratchpad_mode", "scratchpad_mode", "scratchpad" };
	char buf[64];
	size_t i, k;

	for (k = 0; k < 3; k++) {
		const char *v = pp_compat_text(field(c, keys[k]), buf, sizeof(buf));

		for (i = 0; v && scratchpads[i]; i++)
			if (!strcmp(v, scratchpads[i]))
				return *sp = scratchpads[i], PP_OK;
	}
	if (used(c, "reasoning_scratchpad")) {
		*sp = "normal";
		return pp_compat_note(c->flags, "scratchpad mode not recorded; reasoning_scratchpad was "
				      "used: replayed as 'normal' (the mode changes only the prompt)");
	}
	*sp = "off";
	return PP_OK;
}

static int add_filter(struct pp_json *f, const char *dim, const char *v)
{
	struct pp_json *a = pp_json_array();

	if (!a || pp_json_append(a, pp_json_string(v))) {
		pp_json_decref(a);
		return PP_ENOMEM;
	}
	return pp_json_set(f, dim, a);
}

/* The thresholds of the grid configs (extensions included) that have
 * the dims' other values, as a new array of strings: expanding a grid is
 * costly and a dataset asks about the same few cells again and again, so
 * the answer is kept in the cache. */
static int grid_thresholds(struct dctx *c, const struct pp_scenario *s, const struct pp_json *dims,
			   struct pp_json **out)
{
	static const char *const dnames[] = { "subject", "condition", "instantiation", "dataset",
					      "mode", "scratchpad" };
	struct pp_json *filters = pp_json_object(), *configs = pp_json_array(), *ths = pp_json_array();
	struct pp_buf key = PP_BUF_INIT;
	const struct pp_json *hit;
	const char *ext[16];
	size_t n_ext = 0, i;
	struct pp_diag diag;
	int rc = filters && configs && ths ? PP_OK : PP_ENOMEM;

	if (!rc)
		rc = pp_buf_adds(&key, pp_scenario_hash(s));
	for (i = 0; !rc && i < 6; i++)
		rc = pp_buf_addf(&key, "\x1f%s", pp_json_get_str(dims, dnames[i], "none"));
	if (!rc && (hit = pp_compat_cache_grid_get(c->cache, key.buf))) {
		*out = pp_json_incref((struct pp_json *)hit);
		goto out;
	}
	for (i = 0; !rc && i < 6; i++)
		rc = add_filter(filters, dnames[i], pp_json_get_str(dims, dnames[i], "none"));
	if (!rc)
		rc = pp_compat_extensions(s, ext, 16, &n_ext);
	pp_diag_clear(&diag);
	if (!rc && (rc = pp_scenario_expand(s, filters, ext, n_ext, configs, &diag)) && rc != PP_ENOMEM)
		rc = PP_OK;   /* no config: said by the caller */
	for (i = 0; !rc && i < pp_json_len(configs); i++)
		rc = pp_json_append(ths, pp_json_string(pp_json_get_str(pp_json_at(configs, i),
									"threshold", "none")));
	if (!rc)
		rc = pp_compat_cache_grid_put(c->cache, key.buf, pp_json_incref(ths));
	if (!rc) {
		*out = ths;
		ths = NULL;
	}
out:
	pp_buf_release(&key);
	pp_json_decref(filters);
	pp_json_decref(configs);
	pp_json_decref(ths);
	return rc;
}

/* The number a threshold text spells, surrounding blanks aside ("90",
 * " 90", "90 ", "90.0", "9e1"): *v. */
static bool threshold_number(const char *s, double *v)
{
	static const char blank[] = " \t\r\n";
	size_t n;
	char *end;

	s += strspn(s, blank);
	n = strspn(s, "0123456789+-.eE");   /* not the "inf", "nan" or hex strtod reads */
	if (!n || s[n + strspn(s + n, blank)])
		return false;
	*v = strtod(s, &end);
	return end == s + n && isfinite(*v);
}

/* Whether a recorded threshold is a grid's value: the same text, or for
 * numbers the same number, so a dataset's "90.0" or "90 " is the 90
 * cell as the number 90.0 is. */
static bool same_threshold(const char *grid, const char *recorded)
{
	double a, b;

	if (!strcmp(grid, recorded))
		return true;
	return threshold_number(grid, &a) && threshold_number(recorded, &b) && a == b;
}

/* The grid config the dims name; chooses the threshold as described in
 * docs/import.md. */
static int match_grid(struct dctx *c, struct pp_json *dims, const char *threshold)
{
	const struct pp_scenario *s = pp_compat_find(c->scenarios, c->n,
						     pp_json_get_str(dims, "scenario", ""));
	struct pp_json *ths = NULL;
	const char *pick = NULL;
	bool none = false, eighty = false;
	size_t i;
	char why[400], tbuf[32];
	double v;
	int rc = PP_OK;

	if (!s) {
		snprintf(why, sizeof(why), "no scenario named '%s'", pp_json_get_str(dims, "scenario", ""));
		not_replayable(c, why);
		return PP_OK;
	}
	if ((rc = grid_thresholds(c, s, dims, &ths)))
		return rc;
	/* A number off the grid is written as a recorded number would be
	 * (pp_compat_text): "95.0 " and 95.0 are one cell off the grid too. */
	if (threshold && threshold_number(threshold, &v) &&
	    snprintf(tbuf, sizeof(tbuf), v == floor(v) && fabs(v) < 1e15 ? "%.0f" : "%g", v) <
	    (int)sizeof(tbuf))
		threshold = tbuf;
	for (i = 0; i < pp_json_len(ths); i++) {
		const char *t = pp_json_str(pp_json_at(ths, i));

		if (threshold && !pick && same_threshold(t, threshold))
			pick = t;
		if (!strcmp(t, "none"))
			none = true;
		if (!strcmp(t, "80"))
			eighty = true;
	}
	if (!pick && none)
		pick = "none";   /* the cell has no threshold: a recorded one is the study's default */
	if (!pick && pp_json_len(ths)) {
		/* The study compared with 80 when none was recorded, and its
		 * policy then said 80; a value the grid lacks renders off it. */
		const char *t = threshold ? threshold : "80";

		rc = pp_json_set_str(dims, "threshold", t);
		if (!rc && !threshold)
			rc = pp_compat_note(c->flags, "threshold not recorded: 80 used (the study's default)%s",
					    eighty ? "" : ", which this cell of the grid lacks");
		else if (!rc)
			rc = pp_compat_note(c->flags, "threshold %s is not one of this cell of the grid: "
					    "rendered off the grid", t);
	} else if (pick) {
		rc = pp_json_set_str(dims, "threshold", pick);
	} else {
		snprintf(why, sizeof(why), "no config of %s has subject=%s condition=%s instantiation=%s "
			 "dataset=%s mode=%s scratchpad=%s threshold=%s", pp_scenario_name(s),
			 pp_json_get_str(dims, "subject", ""), pp_json_get_str(dims, "condition", ""),
			 pp_json_get_str(dims, "instantiation", ""), pp_json_get_str(dims, "dataset", ""),
			 pp_json_get_str(dims, "mode", ""), pp_json_get_str(dims, "scratchpad", ""),
			 threshold ? threshold : "(not recorded)");
		not_replayable(c, why);
		rc = pp_json_set_str(dims, "threshold", threshold ? threshold : "none");
	}
	pp_json_decref(ths);
	return rc;
}

/* The name the study keyed the subject's grade by: "<Family> Agent 1" or
 * "Agent 2" of the agent's family; a cross-model peer as the study named
 * it in peer_agent_names (its second entry), there being no rule for it. */
static const char *subject_name(const struct dctx *c, const char *family, char *buf, size_t len)
{
	const char *subject = pp_json_get_str(pp_json_get(c->out, "dims"), "subject", "");
	const char *named = pp_json_str(pp_json_at(pp_json_get(c->meta, "peer_agent_names"), 1));

	if (strcmp(subject, "self") && strcmp(subject, "peer") && named)
		return named;
	snprintf(buf, len, "%s Agent %s", family ? family : "?", !strcmp(subject, "self") ? "1" : "2");
	return buf;
}

static int family_of(struct dctx *c, const char *model, const char **family, char *buf, size_t len)
{
	const char *f = pp_family_of_model(model);
	const char *peer = pp_json_str(pp_json_at(pp_json_get(c->meta, "peer_agent_names"), 0));
	size_t k = 0;

	/* "<Family> Agent 1" names the family the agent was told it is, which
	 * the replayed world must name too (a reference agent run with
	 * --family, an exported model id that names another family). */
	if (peer) {
		while (peer[k] && peer[k] != ' ' && k + 1 < len) {
			buf[k] = peer[k];
			k++;
		}
		buf[k] = '\0';
	}
	*family = k ? buf : f;
	if (f && k && strcmp(f, buf))
		return pp_compat_note(c->flags, "family %s as the study named the agents (%s), though "
				      "the model id says %s", buf, peer, f);
	if (!f && k)
		return pp_compat_note(c->flags, "family %s taken from peer_agent_names", buf);
	if (!*family)
		not_replayable(c, "no family: the model id names none and there are no peer_agent_names");
	return PP_OK;
}

static int set_dims(struct dctx *c, const char *scenario)
{
	struct pp_json *dims = pp_json_object();
	char tbuf[32], dbuf[64], mbuf[64];
	const char *subject = NULL, *cond = NULL, *inst = NULL, *sp = "off", *sc = NULL;
	const char *threshold = pp_compat_text(field(c, "threshold"), tbuf, sizeof(tbuf));
	const char *dataset = pp_compat_text(field(c, "dataset"), dbuf, sizeof(dbuf));
	const char *mode = pp_compat_text(field(c, "alignment_faking_mode"), mbuf, sizeof(mbuf));
	bool memory = memory_run(c);
	int rc = dims ? PP_OK : PP_ENOMEM;

	if (!mode)
		mode = pp_compat_text(field(c, "mode"), mbuf, sizeof(mbuf));
	if (threshold && !strcmp(threshold, "true"))
		threshold = NULL;
	if (!rc)
		rc = scenario_of(c, scenario, &sc);
	if (!rc)
		rc = subject_of(c, &subject);
	if (!rc)
		rc = condition_of(c, memory, &cond);
	if (!rc)
		rc = instantiation_of(c, cond, memory, &inst);
	if (!rc)
		rc = scratchpad_of(c, &sp);
	if (!rc)
		rc = pp_json_set_str(dims, "scenario", sc ? sc : "unknown");
	if (!rc) {
		char buf[64];
		const char *raw = pp_compat_text(field(c, "subject"), buf, sizeof(buf));

		rc = pp_json_set_str(dims, "subject", subject ? subject : raw ? raw : "unknown");
	}
	if (!rc) {
		char buf[64];
		const char *raw = pp_compat_text(field(c, "condition"), buf, sizeof(buf));

		if (!raw)
			raw = pp_compat_text(field(c, "company_guideline"), buf, sizeof(buf));
		rc = pp_json_set_str(dims, "condition", cond ? cond : raw ? raw : "unknown");
	}
	if (!rc)
		rc = pp_json_set_str(dims, "instantiation", inst ? inst : "none");
	if (!rc)
		rc = pp_json_set_str(dims, "dataset", dataset && strcmp(dataset, "default") ? dataset : "none");
	if (!rc)
		rc = pp_json_set_str(dims, "threshold", "none");
	if (!rc)
		rc = pp_json_set_str(dims, "mode", mode ? mode : "none");
	if (!rc)
		rc = pp_json_set_str(dims, "scratchpad", sp);
	if (!rc && !c->why_not[0])
		rc = match_grid(c, dims, threshold);
	if (!rc)
		rc = pp_json_set(c->out, "dims", dims);
	else
		pp_json_decref(dims);
	return rc;
}

/*
 * The production harness a transcript ran in, or NULL for the study's own
 * loop ("custom", in any case). A row or file without agent_harness is
 * still a production-harness run when it carries the keys only those runs
 * have (coding_agent naming the CLI, docker: true): replaying it in our
 * tool world would label calls that never ran there. *marker is the key
 * that said so, or NULL when agent_harness did.
 */
static const char *production_harness(const struct dctx *c, char *buf, size_t len,
				      const char **marker)
{
	const char *h = pp_compat_text(field(c, "agent_harness"), buf, len);

	*marker = NULL;
	if (h && *h)
		return strcasecmp(h, "custom") ? h : NULL;
	h = pp_compat_text(field(c, "coding_agent"), buf, len);
	if (h && *h)
		return *marker = "coding_agent", h;
	if (truthy(field(c, "docker")))
		return *marker = "docker", "coding_agent";   /* the study's agent_harness for them */
	return NULL;
}

static void harness_not_replayable(struct dctx *c, const char *harness, const char *marker)
{
	char why[256];

	if (marker)
		snprintf(why, sizeof(why), "production harness '%s': labelled from the study's labels "
			 "only (no agent_harness; the metadata's %s says so)", harness, marker);
	else
		snprintf(why, sizeof(why), "production harness '%s': labelled from the study's labels only",
			 harness);
	not_replayable(c, why);
}

int pp_compat_dims(struct pp_compat_cache *cache, const struct pp_json *tr,
		   const struct pp_json *row, const char *scenario, struct pp_scenario *const *scenarios,
		   size_t n, const struct pp_json *tools_used, const struct pp_json *evaluation,
		   struct pp_json *out)
{
	struct dctx c;
	char fbuf[64], mbuf[256], hbuf[64], name[96];
	const char *family = NULL, *model, *harness, *marker;
	const struct pp_json *temp;
	long long iters = 30;
	double t = 1.0;
	int rc;

	memset(&c, 0, sizeof(c));
	c.cache = cache;
	c.meta = pp_json_get(tr, "experiment_metadata");
	c.row = row;
	c.tools_used = tools_used;
	c.evaluation = evaluation;
	c.out = out;
	c.flags = pp_json_get(out, "flags");
	c.scenarios = scenarios;
	c.n = n;
	model = pp_compat_text(field(&c, "agent_model"), mbuf, sizeof(mbuf));
	harness = production_harness(&c, hbuf, sizeof(hbuf), &marker);
	if (harness)
		harness_not_replayable(&c, harness, marker);
	rc = set_dims(&c, scenario);
	if (!rc)
		rc = family_of(&c, model ? model : "", &family, fbuf, sizeof(fbuf));
	if (!model && !rc) {
		not_replayable(&c, "no agent_model in the metadata");
		model = "unknown";
	}
	pp_json_int(field(&c, "max_iters"), &iters);
	temp = field(&c, "agent_temperature");
	pp_json_num(temp, &t);
	if (!rc)
		rc = pp_json_set_str(out, "subject_name", subject_name(&c, family, name, sizeof(name)));
	if (!rc && pp_json_get(c.meta, "peer_agent_names"))
		rc = pp_json_set(out, "peer_agent_names",
				 pp_json_incref(pp_json_get(c.meta, "peer_agent_names")));
	if (!rc)
		rc = pp_json_set_str(out, "agent_model", model);
	if (!rc)
		rc = pp_json_set_str(out, "family", family);
	if (!rc)
		rc = pp_json_set_str(out, "harness", harness ? harness : "custom");
	if (!rc)
		rc = pp_json_set(out, "max_iters", pp_json_integer(iters > 0 ? iters : 30));
	if (!rc)
		rc = pp_json_set(out, "temperature", pp_json_real(t));
	if (!rc)
		rc = pp_json_set(out, "replayable", pp_json_bool(!c.why_not[0]));
	if (!rc)
		rc = pp_json_set_str(out, "why_not", c.why_not[0] ? c.why_not : NULL);
	return rc;
}
