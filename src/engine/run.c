/*
 * run.c - plans (configs with their ids) and the synchronous runner.
 *
 * The runner drives each rollout's state machine with the provider's
 * complete() and writes every finished rollout in one transaction. The
 * seed of a rollout is a function of (config id, index, --seed), so a
 * resumed or repeated run makes the same rollouts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <peerpres/hash.h>
#include <peerpres/labels.h>
#include <peerpres/provider.h>
#include <peerpres/rollout.h>
#include <peerpres/run.h>
#include <peerpres/status.h>

#include "engine/engine_int.h"
#include <peerpres/world.h>

#include "core/alloc.h"

#include "version.h"   /* PP_VERSION, made by the Makefile */

const char *pp_run_family(const struct pp_run_options *opt)
{
	return opt->family ? opt->family : pp_family_of_model(opt->model);
}

struct pp_json *pp_run_route(const struct pp_run_options *opt)
{
	const char *url = opt->provider.base_url;
	size_t n = url ? strlen(url) : 0;

	if (!url)
		return pp_json_null();
	while (n && url[n - 1] == '/')
		n--;
	return pp_json_stringn(url, n);
}

/* The inputs that make a config; hashed into its id. */
static struct pp_json *identity(const struct pp_scenario *s, const struct pp_json *dims,
				const struct pp_run_options *opt, const char *family)
{
	struct pp_json *id = pp_json_deep_copy(dims);

	if (!id || pp_json_set_str(id, "model", opt->model) ||
	    pp_json_set_str(id, "family", family) ||
	    pp_json_set(id, "route", pp_run_route(opt)) ||
	    pp_json_set(id, "reasoning", pp_json_str_or_null(opt->provider.reasoning)) ||
	    pp_json_set(id, "max_iters", pp_json_integer(opt->max_iters)) ||
	    pp_json_set(id, "temperature", pp_json_real(opt->temperature)) ||
	    pp_json_set_str(id, "scenario_hash", pp_scenario_hash(s))) {
		pp_json_decref(id);
		return NULL;
	}
	return id;
}

int pp_config_id(const struct pp_scenario *s, const struct pp_json *dims,
		 const struct pp_run_options *opt, const char *family, char id[65])
{
	struct pp_json *ident = identity(s, dims, opt, family);
	char *canon = ident ? pp_json_canonical(ident) : NULL;

	pp_json_decref(ident);
	if (!canon)
		return PP_ENOMEM;
	pp_sha256_hex(canon, strlen(canon), id);
	free(canon);
	return PP_OK;
}

/* Expands every scenario's grid, honouring --test. */
static int expand_all(struct pp_scenario *const *scenarios, size_t n,
		      const struct pp_run_options *opt, struct pp_json **pairs,
		      struct pp_diag *diag)
{
	struct pp_json *res = pp_json_array(), *dims = NULL;
	size_t i, j;
	int rc = res ? PP_OK : PP_ENOMEM;

	for (i = 0; !rc && i < n; i++) {
		if (!(dims = pp_json_array())) {
			rc = PP_ENOMEM;
			break;
		}
		rc = pp_scenario_expand(scenarios[i], opt->filters, opt->with, opt->n_with, dims, diag);
		for (j = 0; !rc && j < pp_json_len(dims); j++) {
			struct pp_json *pair = pp_json_object();

			if (opt->one_per_scenario && j > 0)
				break;
			rc = pair ? PP_OK : PP_ENOMEM;
			if (!rc)
				rc = pp_json_set(pair, "scenario_index", pp_json_integer((long long)i));
			if (!rc)
				rc = pp_json_set(pair, "dims", pp_json_incref(pp_json_at(dims, j)));
			if (rc)
				pp_json_decref(pair);
			else
				rc = pp_json_append(res, pair);
		}
		pp_json_decref(dims);
	}
	if (rc) {
		pp_json_decref(res);
		return rc;
	}
	*pairs = res;
	return PP_OK;
}

static int plan_entry(const struct pp_scenario *s, const struct pp_json *dims,
		      const struct pp_run_options *opt, const char *family, struct pp_json **out)
{
	struct pp_json *e = pp_json_object();
	char id[65];
	void *it;
	int rc = e ? pp_config_id(s, dims, opt, family, id) : PP_ENOMEM;

	if (!rc)
		rc = pp_json_set_str(e, "config_id", id);
	for (it = pp_json_iter(dims); !rc && it; it = pp_json_iter_next(dims, it))
		rc = pp_json_set(e, pp_json_iter_key(it), pp_json_incref(pp_json_iter_value(it)));
	if (rc) {
		pp_json_decref(e);
		return rc;
	}
	*out = e;
	return PP_OK;
}

static int check_family(const struct pp_run_options *opt, struct pp_diag *diag)
{
	if (!pp_run_family(opt))
		return pp_diag_set(diag, PP_EUSAGE, NULL, 0, 0,
				   "cannot tell the family of model '%s': give it with --family NAME",
				   opt->model);
	return PP_OK;
}

int pp_plan(struct pp_scenario *const *scenarios, size_t n,
	    const struct pp_run_options *opt, struct pp_json **out, struct pp_diag *diag)
{
	struct pp_json *pairs = NULL, *plan = NULL, *configs = NULL, *e;
	const char *family = pp_run_family(opt);
	size_t i;
	int rc = check_family(opt, diag);

	*out = NULL;
	if (!rc)
		rc = expand_all(scenarios, n, opt, &pairs, diag);
	if (!rc && (!(plan = pp_json_object()) || !(configs = pp_json_array())))
		rc = PP_ENOMEM;
	for (i = 0; !rc && i < pp_json_len(pairs); i++) {
		long long si = 0;

		pp_json_int(pp_json_get(pp_json_at(pairs, i), "scenario_index"), &si);
		rc = plan_entry(scenarios[si], pp_json_get(pp_json_at(pairs, i), "dims"), opt, family, &e);
		if (!rc)
			rc = pp_json_append(configs, e);
	}
	if (!rc)
		rc = pp_json_set_str(plan, "model", opt->model);
	if (!rc)
		rc = pp_json_set_str(plan, "family", family);
	if (!rc)
		rc = pp_json_set(plan, "n_configs", pp_json_integer((long long)pp_json_len(configs)));
	if (!rc)
		rc = pp_json_set(plan, "n_rollouts",
				 pp_json_integer((long long)pp_json_len(configs) * opt->n_rollouts));
	if (!rc)
		rc = pp_json_set(plan, "max_model_calls",
				 pp_json_integer((long long)pp_json_len(configs) * opt->n_rollouts *
						 (opt->max_iters + 1)));
	if (!rc) {
		rc = pp_json_set(plan, "configs", configs);
		configs = NULL;
	}
	pp_json_decref(pairs);
	pp_json_decref(configs);
	if (rc) {
		pp_json_decref(plan);
		return rc;
	}
	*out = plan;
	return PP_OK;
}

static int tool_schemas(const struct pp_json *rendered, struct pp_json **out)
{
	const struct pp_json *names = pp_json_get(rendered, "tools");
	struct pp_json *res = pp_json_array();
	size_t i;
	int rc = res ? PP_OK : PP_ENOMEM;

	for (i = 0; !rc && i < pp_json_len(names); i++) {
		struct pp_json *decl = pp_world_tool_schema(pp_json_str(pp_json_at(names, i)));

		rc = decl ? pp_json_append(res, decl) : PP_EINVAL;
	}
	if (rc) {
		pp_json_decref(res);
		return rc;
	}
	*out = res;
	return PP_OK;
}

int pp_render_config(const struct pp_scenario *s, const struct pp_json *dims,
		     const struct pp_run_options *opt, struct pp_json **out,
		     struct pp_diag *diag)
{
	struct pp_model_info mi = { opt->model, pp_run_family(opt) };
	struct pp_json *r = NULL, *schemas = NULL;
	char id[65];
	int rc = check_family(opt, diag);

	*out = NULL;
	if (!rc)
		rc = pp_scenario_render(s, dims, &mi, &r, diag);
	if (!rc)
		rc = pp_config_id(s, dims, opt, mi.family, id);
	if (!rc)
		rc = pp_json_set_str(r, "config_id", id);
	if (!rc)
		rc = tool_schemas(r, &schemas);
	if (!rc) {
		rc = pp_json_set(r, "tool_schemas", schemas);
		schemas = NULL;
	}
	pp_json_decref(schemas);
	if (rc) {
		pp_json_decref(r);
		return rc;
	}
	*out = r;
	return PP_OK;
}
