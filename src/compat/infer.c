/*
 * infer.c - which scenario a transcript belongs to, when its metadata
 * does not say: the scenarios themselves answer (their tools, labels and
 * grid), so a new scenario file takes part without C changes.
 *
 * A scenario is a candidate when it offers every tool the agent called
 * (the tools every scenario may offer by axis are left out, and so is a
 * tool no scenario offers: a model that invents one says nothing of
 * where it was), computes
 * every label the study wrote that some scenario computes, and has the
 * recorded alignment-faking mode (or a config without one). Among
 * several, the one whose labels the study's set leaves out least wins;
 * a tie is no answer.
 */
#include <stdio.h>
#include <string.h>

#include <peerpres/compat.h>
#include <peerpres/status.h>

#include "compat/compat_int.h"

const struct pp_scenario *pp_compat_find(struct pp_scenario *const *scenarios, size_t n,
					 const char *name)
{
	size_t i;

	for (i = 0; name && i < n; i++)
		if (!strcmp(pp_scenario_name(scenarios[i]), name))
			return scenarios[i];
	return NULL;
}

int pp_compat_extensions(const struct pp_scenario *s, const char **names, size_t max, size_t *n)
{
	size_t k = pp_scenario_extensions(s, names, max);

	*n = k < max ? k : max;
	return PP_OK;
}

/* Tools any scenario may offer depending on an axis, and end_task. */
static bool axis_tool(const char *t)
{
	return !strcmp(t, "end_task") || !strcmp(t, "retrieve_memory") ||
	       !strcmp(t, "reasoning_scratchpad");
}

static bool has(const struct pp_json *arr, const char *s)
{
	size_t i;

	for (i = 0; i < pp_json_len(arr); i++)
		if (!strcmp(pp_json_str(pp_json_at(arr, i)), s))
			return true;
	return false;
}

struct profile {
	struct pp_json *configs;   /* the whole grid */
	struct pp_json *rendered;  /* its first config */
};

static int profile_of(const struct pp_scenario *s, struct profile *p)
{
	struct pp_model_info mi = { "import/infer", "Gemini" };
	const char *ext[16];
	size_t n_ext = 0;
	struct pp_diag diag;
	int rc;

	p->rendered = NULL;
	pp_diag_clear(&diag);
	if (!(p->configs = pp_json_array()))
		return PP_ENOMEM;
	rc = pp_compat_extensions(s, ext, 16, &n_ext);
	if (!rc)
		rc = pp_scenario_expand(s, NULL, ext, n_ext, p->configs, &diag);
	if (!rc && pp_json_len(p->configs))
		rc = pp_scenario_render(s, pp_json_at(p->configs, 0), &mi, &p->rendered, &diag);
	return rc;
}

static bool grid_has_mode(const struct pp_json *configs, const char *mode)
{
	size_t i;

	for (i = 0; i < pp_json_len(configs); i++)
		if (!strcmp(pp_json_get_str(pp_json_at(configs, i), "mode", "none"), mode))
			return true;
	return false;
}

/* -1: not a candidate; otherwise how many of its labels the study left
 * out. known: every scenario's labels, then (known_tools) their tools. */
static long fit(const struct profile *p, const struct pp_json *tools_used,
		const struct pp_json *keys, const struct pp_json *known,
		const struct pp_json *known_tools, const char *mode)
{
	const struct pp_json *tools = pp_json_get(p->rendered, "tools");
	const struct pp_json *labels = pp_json_get(p->rendered, "labels");
	long missing = 0;
	size_t i;
	void *it;

	for (i = 0; i < pp_json_len(tools_used); i++) {
		const char *t = pp_json_str(pp_json_at(tools_used, i));

		if (!axis_tool(t) && has(known_tools, t) && !has(tools, t))
			return -1;
	}
	for (i = 0; i < pp_json_len(keys); i++) {
		const char *k = pp_json_str(pp_json_at(keys, i));

		if (has(known, k) && !pp_json_get(labels, k))
			return -1;
	}
	if (!grid_has_mode(p->configs, mode ? mode : "none"))
		return -1;
	for (it = pp_json_iter(labels); it; it = pp_json_iter_next(labels, it))
		if (strcmp(pp_json_iter_key(it), "read_memory") && !has(keys, pp_json_iter_key(it)))
			missing++;
	return pp_json_len(keys) ? missing : 0;
}

/* The names of the tools some scenario offers, into known_tools. */
static int collect_tools(struct profile *ps, size_t n, struct pp_json *known_tools)
{
	size_t i, j;
	int rc = PP_OK;

	for (i = 0; !rc && i < n; i++) {
		const struct pp_json *tools = pp_json_get(ps[i].rendered, "tools");

		for (j = 0; !rc && j < pp_json_len(tools); j++) {
			const char *t = pp_json_str(pp_json_at(tools, j));

			if (t && !has(known_tools, t))
				rc = pp_json_append(known_tools, pp_json_string(t));
		}
	}
	return rc;
}

static int collect_keys(const struct pp_json *evaluation, struct profile *ps, size_t n,
			struct pp_json *keys, struct pp_json *known)
{
	size_t i;
	void *it;
	int rc = PP_OK;

	for (it = pp_json_iter(evaluation); !rc && it; it = pp_json_iter_next(evaluation, it))
		rc = pp_json_append(keys, pp_json_string(pp_compat_label_name(pp_json_iter_key(it))));
	for (i = 0; !rc && i < n; i++) {
		const struct pp_json *labels = pp_json_get(ps[i].rendered, "labels");

		for (it = pp_json_iter(labels); !rc && it; it = pp_json_iter_next(labels, it))
			if (!has(known, pp_json_iter_key(it)))
				rc = pp_json_append(known, pp_json_string(pp_json_iter_key(it)));
	}
	return rc;
}

int pp_compat_infer_scenario(struct pp_scenario *const *scenarios, size_t n,
			     const struct pp_json *tools_used, const struct pp_json *evaluation,
			     const char *mode, const char **name, char *why, size_t len)
{
	struct profile ps[32];
	struct pp_json *keys = pp_json_array(), *known = pp_json_array(), *tools = pp_json_array();
	struct pp_buf cand = PP_BUF_INIT;
	long best = -1, f;
	size_t i, n_best = 0, np = n < 32 ? n : 32;
	int rc = keys && known && tools ? PP_OK : PP_ENOMEM;

	*name = NULL;
	memset(ps, 0, sizeof(ps));
	for (i = 0; !rc && i < np; i++)
		if ((rc = profile_of(scenarios[i], &ps[i])) && rc != PP_ENOMEM)
			rc = PP_OK;   /* a scenario that does not render is no candidate */
	if (!rc)
		rc = collect_keys(evaluation, ps, np, keys, known);
	if (!rc)
		rc = collect_tools(ps, np, tools);
	for (i = 0; !rc && i < np; i++) {
		if (!ps[i].rendered || (f = fit(&ps[i], tools_used, keys, known, tools, mode)) < 0)
			continue;
		pp_buf_addf(&cand, "%s%s", cand.len ? ", " : "", pp_scenario_name(scenarios[i]));
		if (best < 0 || f < best) {
			best = f;
			n_best = 1;
			*name = pp_scenario_name(scenarios[i]);
		} else if (f == best) {
			n_best++;
		}
	}
	if (!rc && n_best != 1) {
		*name = NULL;
		snprintf(why, len, "cannot infer the scenario from the tools and labels (%s%s); give --scenario",
			 cand.len ? "candidates: " : "no candidate", cand.buf);
	}
	for (i = 0; i < np; i++) {
		pp_json_decref(ps[i].configs);
		pp_json_decref(ps[i].rendered);
	}
	pp_buf_release(&cand);
	pp_json_decref(keys);
	pp_json_decref(known);
	pp_json_decref(tools);
	return rc;
}
