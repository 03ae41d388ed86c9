/*
 * prepare.c - a config made ready to run (see engine_int.h), and the
 * records the store keeps about it: the config record and each rollout's
 * provenance.
 */
#include <stdlib.h>
#include <string.h>

#include <peerpres/provider.h>
#include <peerpres/rollout.h>
#include <peerpres/status.h>

#include "core/alloc.h"
#include "engine/engine_int.h"

#include "version.h"   /* PP_VERSION, made by the Makefile */

/* What the model sees, hashed: two arms that send the same prompt have
 * the same prompt hash whatever their config says. */
static int hash_prompt(const struct pp_json *rendered, char out[65])
{
	struct pp_json *p = pp_json_object();
	int rc = p ? PP_OK : PP_ENOMEM;

	if (!rc)
		rc = pp_json_set(p, "system_prompt", pp_json_incref(pp_json_get(rendered, "system_prompt")));
	if (!rc)
		rc = pp_json_set(p, "user_message", pp_json_incref(pp_json_get(rendered, "user_message")));
	if (!rc)
		rc = pp_json_set(p, "tools", pp_json_incref(pp_json_get(rendered, "tool_schemas")));
	/* The digest of the canonical text, without writing the text out. */
	if (!rc)
		rc = pp_json_canonical_sha256(p, out);
	pp_json_decref(p);
	return rc;
}

/* "overlay" and "overlay_sha256": which overlays made this arm (null for
 * none). Not part of the id, which the scenario hash already covers; the
 * report tells arms apart by them across scenarios. */
static int set_overlay(struct pp_json *o, const struct pp_scenario *s)
{
	int rc = pp_json_set(o, "overlay", pp_json_str_or_null(pp_scenario_overlay_name(s)));

	return rc ? rc : pp_json_set(o, "overlay_sha256",
				     pp_json_str_or_null(pp_scenario_overlay_hash(s)));
}

/* The config as the store keeps it. */
static int config_record(const struct pp_run_options *opt, const struct pp_prepared *pc,
			 const struct pp_json *dims, struct pp_json **out)
{
	struct pp_json *rec = pp_json_deep_copy(dims), *truth = NULL;
	int rc = rec ? PP_OK : PP_ENOMEM;

	if (!rc && !strcmp(opt->model, "ref/synthetic"))
		rc = pp_scenario_truth(pc->rendered, &truth);
	if (!rc)
		rc = pp_json_set_str(rec, "config_id", pc->config_id);
	if (!rc)
		rc = pp_json_set_str(rec, "model", opt->model);
	if (!rc)
		rc = pp_json_set_str(rec, "family", pp_run_family(opt));
	if (!rc)
		rc = pp_json_set(rec, "route", pp_run_route(opt));
	if (!rc)
		rc = pp_json_set(rec, "reasoning", pp_json_str_or_null(opt->provider.reasoning));
	if (!rc)
		rc = pp_json_set(rec, "max_iters", pp_json_integer(opt->max_iters));
	if (!rc)
		rc = pp_json_set(rec, "temperature", pp_json_real(opt->temperature));
	if (!rc)
		rc = pp_json_set_str(rec, "scenario_hash", pp_scenario_hash(pc->s));
	if (!rc)
		rc = set_overlay(rec, pc->s);
	if (!rc)
		rc = pp_json_set(rec, "required_labels",
				 pp_json_incref(pp_json_get(pc->rendered, "required_labels")));
	if (!rc)
		rc = pp_json_set(rec, "names", pp_json_incref(pp_json_get(pc->rendered, "names")));
	if (!rc) {
		rc = pp_json_set(rec, "truth", truth ? truth : pp_json_null());
		truth = NULL;
	}
	pp_json_decref(truth);
	if (rc) {
		pp_json_decref(rec);
		return rc;
	}
	*out = rec;
	return PP_OK;
}

static int mock_config(const struct pp_run_options *opt, const struct pp_json *dims,
		       struct pp_json **out)
{
	struct pp_json *m = pp_json_deep_copy(dims);

	if (!m || pp_json_set_str(m, "model", opt->model) ||
	    pp_json_set_str(m, "family", pp_run_family(opt))) {
		pp_json_decref(m);
		return PP_ENOMEM;
	}
	*out = m;
	return PP_OK;
}

static int read_done(struct pp_prepared *pc, struct pp_store *store, long n, struct pp_diag *diag)
{
	long i;
	int rc;

	if (!(pc->done = pp_calloc((size_t)n + 1, sizeof(bool))))
		return PP_ENOMEM;
	if ((rc = pp_store_done_indexes(store, pc->config_id, (size_t)n, pc->done)))
		return pp_diag_set(diag, rc, NULL, 0, 0, "%s", pp_store_errmsg(store));
	for (i = 0; i < n; i++)
		pc->n_done += pc->done[i];
	return PP_OK;
}

int pp_prepared_new(const struct pp_run_options *opt, struct pp_store *store,
		    const struct pp_scenario *s, const struct pp_json *dims,
		    struct pp_detector_cache *dc, struct pp_prepared **out,
		    struct pp_diag *diag)
{
	struct pp_prepared *pc = pp_calloc(1, sizeof(*pc));
	int rc = pc ? PP_OK : PP_ENOMEM;

	*out = NULL;
	if (!rc) {
		pc->s = s;
		pc->detectors = dc;
		pc->current = true;
		pc->est_cost_usd = -1;
		rc = pp_render_config(s, dims, opt, &pc->rendered, diag);
	}
	if (!rc)
		rc = mock_config(opt, dims, &pc->mock_config);
	if (!rc)
		rc = pp_detectors_get(dc, pc->rendered, &pc->labels, diag);
	if (!rc)
		rc = pp_rollout_tools_new(pc->rendered, &pc->tools);
	if (!rc)
		rc = hash_prompt(pc->rendered, pc->prompt_hash);
	if (!rc) {
		pc->config_id = pp_json_get_str(pc->rendered, "config_id", "");
		rc = config_record(opt, pc, dims, &pc->record);
	}
	if (!rc)
		rc = read_done(pc, store, opt->n_rollouts, diag);
	if (rc) {
		pp_prepared_free(pc);
		return rc;
	}
	*out = pc;
	return PP_OK;
}

void pp_prepared_free(struct pp_prepared *pc)
{
	if (!pc)
		return;
	pp_json_decref(pc->mock_config);
	pp_json_decref(pc->rendered);
	pp_json_decref(pc->tools);
	pp_json_decref(pc->record);
	pp_detectors_put(pc->detectors, pc->labels);
	free(pc->done);
	free(pc);
}

long pp_prepared_next(struct pp_prepared *pc, long limit)
{
	while (pc->next_idx < limit && pc->done[pc->next_idx])
		pc->next_idx++;
	return pc->next_idx < limit ? pc->next_idx++ : -1;
}

/* Did the provider return reasoning apart from the visible content? */
static bool reasoning_returned(const struct pp_json *rec)
{
	const struct pp_json *msgs = pp_json_get(rec, "messages");
	size_t i;

	for (i = 0; i < pp_json_len(msgs); i++)
		if (pp_json_len(pp_json_get(pp_json_at(msgs, i), "reasoning")))
			return true;
	return false;
}

int pp_provenance(const struct pp_run_options *opt, const struct pp_prepared *pc,
		  const struct pp_json *rec, struct pp_json **out)
{
	struct pp_json *p = pp_json_object();
	const char *v = PP_VERSION;
	size_t n = strlen(v);
	int rc = p ? PP_OK : PP_ENOMEM;

	if (!rc)
		rc = pp_json_set_str(p, "version", v);
	if (!rc)
		rc = pp_json_set(p, "dirty", pp_json_bool(n > 6 && !strcmp(v + n - 6, "-dirty")));
	if (!rc)
		rc = pp_json_set_str(p, "scenario_hash", pp_scenario_hash(pc->s));
	if (!rc)
		rc = set_overlay(p, pc->s);
	if (!rc)
		rc = pp_json_set_str(p, "prompt_hash", pc->prompt_hash);
	if (!rc)
		rc = pp_json_set_str(p, "model", opt->model);
	if (!rc)
		rc = pp_json_set(p, "route", pp_run_route(opt));
	if (!rc)
		rc = pp_json_set(p, "reasoning_requested", pp_json_str_or_null(opt->provider.reasoning));
	if (!rc)
		rc = pp_json_set(p, "reasoning_returned", pp_json_bool(reasoning_returned(rec)));
	if (!rc)
		rc = pp_json_set(p, "stop_reason", pp_json_incref(pp_json_get(rec, "stop_reason")));
	if (rc) {
		pp_json_decref(p);
		return rc;
	}
	*out = p;
	return PP_OK;
}
