/*
 * topup.c - how far a run goes in each config: every index below -n, or,
 * with --scored N, only as many missing indexes as the config lacks
 * scored rollouts (run --scored tops up in rounds, judging in between,
 * until none is short or every short one is at its ceiling).
 *
 * A rollout that waits for the judge (pending_judge) counts towards the
 * target: the judge decides it later, and replacing it would pay twice
 * for a config the judge then finds complete; `run --scored` judges
 * between rounds, and with no judge at hand it says how many wait.
 *
 * A top-up never skips an index: it runs the lowest missing ones, so
 * "the first N" of a config (ARCHITECTURE.md) stays a prefix in the
 * order rollouts start, and a plain `run -n` over the same store later
 * fills what is left below its n.
 */
#include <stdlib.h>
#include <string.h>

#include <peerpres/status.h>
#include "core/alloc.h"
#include "engine/engine_int.h"

void pp_topup_plan(const bool *done, long n, long counted, long target, struct pp_topup *t)
{
	long need = target > 0 ? target - counted : n, k;

	t->stored = t->todo = t->pending = 0;
	for (k = 0; k < n; k++)
		t->stored += done[k];
	for (k = 0; k < n && need > 0; k++)
		if (!done[k]) {
			need--;
			t->todo++;
		}
	t->limit = k;
	if (target <= 0 || counted >= target)
		t->state = PP_TOPUP_MET;
	else
		t->state = t->todo ? PP_TOPUP_SHORT : PP_TOPUP_AT_CEILING;
}

int pp_topup_read(const struct pp_run_options *opt, struct pp_store *store,
		  const char *config_id, bool *done, struct pp_topup *t, struct pp_diag *diag)
{
	long scored = 0, pending = 0;
	int rc = pp_store_done_indexes(store, config_id, (size_t)opt->n_rollouts, done);

	if (!rc && opt->scored_target > 0)
		rc = pp_store_count_status(store, config_id, "scored", &scored);
	if (!rc && opt->scored_target > 0)
		rc = pp_store_count_status(store, config_id, "pending_judge", &pending);
	if (rc)
		return pp_diag_set(diag, rc, NULL, 0, 0, "%s", pp_store_errmsg(store));
	pp_topup_plan(done, opt->n_rollouts, scored + pending, opt->scored_target, t);
	t->pending = pending;
	return PP_OK;
}

int pp_run_shortfall(struct pp_scenario *const *scenarios, size_t n,
		     const struct pp_run_options *opt, struct pp_store *store,
		     struct pp_run_shortfall *out, struct pp_diag *diag)
{
	struct pp_json *plan = NULL;
	const struct pp_json *configs;
	bool *done = pp_calloc((size_t)opt->n_rollouts + 1, sizeof(*done));
	struct pp_topup t;
	size_t i;
	int rc = done ? PP_OK : PP_ENOMEM;

	memset(out, 0, sizeof(*out));
	if (!rc)
		rc = pp_plan(scenarios, n, opt, &plan, diag);
	configs = pp_json_get(plan, "configs");
	for (i = 0; !rc && i < pp_json_len(configs); i++) {
		rc = pp_topup_read(opt, store, pp_json_get_str(pp_json_at(configs, i), "config_id", ""),
				   done, &t, diag);
		if (rc)
			break;
		out->configs++;
		out->todo += t.todo;
		out->stored += t.stored;
		out->pending += t.pending;
		out->met += t.state == PP_TOPUP_MET;
		out->short_of += t.state == PP_TOPUP_SHORT;
		out->at_ceiling += t.state == PP_TOPUP_AT_CEILING;
	}
	pp_json_decref(plan);
	free(done);
	return rc;
}
