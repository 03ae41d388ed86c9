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

/* What inference needs of one scenario: its first config's tools and
 * labels, and the alignment-faking modes of its grid. Built once per
 * cache (a worker's): expanding and rendering every scenario for each
 * transcript was a third of an import's CPU when metadata named none. */
static int profile_of(const struct pp_scenario *s, struct pp_json **out)
{
	struct pp_model_info mi = { "import/infer", "Gemini" };
	struct pp_json *configs = pp_json_array(), *rendered = NULL, *modes = pp_json_array();
	const char *ext[16];
	size_t i, n_ext = 0;
	struct pp_diag diag;
	int rc = configs && modes ? PP_OK : PP_ENOMEM;

	*out = NULL;
	pp_diag_clear(&diag);
	if (!rc)
		rc = pp_compat_extensions(s, ext, 16, &n_ext);
	if (!rc)
		rc = pp_scenario_expand(s, NULL, ext, n_ext, configs, &diag);
	if (!rc && pp_json_len(configs))
		rc = pp_scenario_render(s, pp_json_at(configs, 0), &mi, &rendered, &diag);
	for (i = 0; !rc && rendered && i < pp_json_len(configs); i++) {
		const char *mode = pp_json_get_str(pp_json_at(configs, i), "mode", "none");

		if (!has(modes, mode))
			rc = pp_json_append(modes, pp_json_string(mode));
	}
	if (!rc && rendered && !(*out = pp_json_object()))
		rc = PP_ENOMEM;
	if (!rc && *out)
		rc = pp_json_set(*out, "tools", pp_json_incref((struct pp_json *)pp_json_get(rendered, "tools")));
	if (!rc && *out)
		rc = pp_json_set(*out, "labels", pp_json_incref((struct pp_json *)pp_json_get(rendered, "labels")));
	if (!rc && *out)
		rc = pp_json_set(*out, "modes", pp_json_incref(modes));
	pp_json_decref(configs);
	pp_json_decref(rendered);
	pp_json_decref(modes);
	if (rc) {
		pp_json_decref(*out);
		*out = NULL;
	}
	return rc;
}

/* Adds each name in names (an array of strings, or an object's keys)
 * to the set `to` (an object). */
static int add_names(struct pp_json *to, const struct pp_json *names)
{
	size_t i;
	void *it;
	int rc = PP_OK;

	for (i = 0; !rc && pp_json_is_array(names) && i < pp_json_len(names); i++)
		if (pp_json_str(pp_json_at(names, i)))
			rc = pp_json_set(to, pp_json_str(pp_json_at(names, i)), pp_json_bool(true));
	for (it = pp_json_iter(names); !rc && it; it = pp_json_iter_next(names, it))
		rc = pp_json_set(to, pp_json_iter_key(it), pp_json_bool(true));
	return rc;
}

/* What inference knows of the scenarios, kept in the cache under their
 * names: "profiles" (null for one that does not render, so no
 * candidate), and the sets of every label ("known") and tool
 * ("known_tools") some scenario has. New, or NULL. */
static struct pp_json *profiles_of(struct pp_compat_cache *cache,
				   struct pp_scenario *const *scenarios, size_t n)
{
	struct pp_buf key = PP_BUF_INIT;
	const struct pp_json *hit;
	struct pp_json *all = NULL, *profiles = NULL, *known = NULL, *known_tools = NULL, *one;
	size_t i;
	int rc = pp_buf_adds(&key, "\x01infer");

	for (i = 0; !rc && i < n; i++)
		rc = pp_buf_addf(&key, "\x1f%s", pp_scenario_name(scenarios[i]));
	if (!rc && (hit = pp_compat_cache_grid_get(cache, key.buf))) {
		pp_buf_release(&key);
		return pp_json_incref((struct pp_json *)hit);
	}
	if (!rc && (!(all = pp_json_object()) || pp_json_set(all, "profiles", profiles = pp_json_array()) ||
		    pp_json_set(all, "known", known = pp_json_object()) ||
		    pp_json_set(all, "known_tools", known_tools = pp_json_object())))
		rc = PP_ENOMEM;
	for (i = 0; !rc && i < n; i++) {
		if ((rc = profile_of(scenarios[i], &one)) && rc != PP_ENOMEM)
			rc = PP_OK;   /* a scenario that does not render is no candidate */
		if (!rc)
			rc = pp_json_append(profiles, one ? one : pp_json_null());
		/* profiles holds one now */
		if (!rc && one)
			rc = add_names(known, pp_json_get(one, "labels"));
		if (!rc && one)
			rc = add_names(known_tools, pp_json_get(one, "tools"));
	}
	if (!rc)
		rc = pp_compat_cache_grid_put(cache, key.buf, pp_json_incref(all));
	pp_buf_release(&key);
	if (rc) {
		pp_json_decref(all);
		return NULL;
	}
	return all;
}

/* -1: not a candidate; otherwise how many of its labels the study left
 * out. keys: the set of labels the transcript has; what: profiles_of's. */
static long fit(const struct pp_json *profile, const struct pp_json *tools_used,
		const struct pp_json *keys, const struct pp_json *what, const char *mode)
{
	const struct pp_json *tools = pp_json_get(profile, "tools");
	const struct pp_json *labels = pp_json_get(profile, "labels");
	const struct pp_json *known = pp_json_get(what, "known");
	const struct pp_json *known_tools = pp_json_get(what, "known_tools");
	long missing = 0;
	size_t i;
	void *it;

	for (i = 0; i < pp_json_len(tools_used); i++) {
		const char *t = pp_json_str(pp_json_at(tools_used, i));

		if (!axis_tool(t) && pp_json_get(known_tools, t) && !has(tools, t))
			return -1;
	}
	for (it = pp_json_iter(keys); it; it = pp_json_iter_next(keys, it))
		if (pp_json_get(known, pp_json_iter_key(it)) && !pp_json_get(labels, pp_json_iter_key(it)))
			return -1;
	if (!has(pp_json_get(profile, "modes"), mode ? mode : "none"))
		return -1;
	for (it = pp_json_iter(labels); it; it = pp_json_iter_next(labels, it))
		if (strcmp(pp_json_iter_key(it), "read_memory") && !pp_json_get(keys, pp_json_iter_key(it)))
			missing++;
	return pp_json_len(keys) ? missing : 0;
}

/* The set of the study's label names, in ours, of an evaluation object. */
static int collect_keys(const struct pp_json *evaluation, struct pp_json *keys)
{
	void *it;
	int rc = PP_OK;

	for (it = pp_json_iter(evaluation); !rc && it; it = pp_json_iter_next(evaluation, it))
		rc = pp_json_set(keys, pp_compat_label_name(pp_json_iter_key(it)), pp_json_bool(true));
	return rc;
}

int pp_compat_infer_scenario(struct pp_compat_cache *cache, struct pp_scenario *const *scenarios,
			     size_t n, const struct pp_json *tools_used,
			     const struct pp_json *evaluation, const char *mode, const char **name,
			     char *why, size_t len)
{
	struct pp_json *what = profiles_of(cache, scenarios, n);
	struct pp_json *keys = pp_json_object();
	const struct pp_json *profile;
	struct pp_buf cand = PP_BUF_INIT;
	long best = -1, f;
	size_t i, n_best = 0;
	int rc = what && keys ? PP_OK : PP_ENOMEM;

	*name = NULL;
	if (!rc)
		rc = collect_keys(evaluation, keys);
	for (i = 0; !rc && i < n; i++) {
		profile = pp_json_at(pp_json_get(what, "profiles"), i);
		if (!pp_json_is_object(profile) || (f = fit(profile, tools_used, keys, what, mode)) < 0)
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
	pp_buf_release(&cand);
	pp_json_decref(what);
	pp_json_decref(keys);
	return rc;
}
