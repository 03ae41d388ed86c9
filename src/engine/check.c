/*
 * check.c - known-answer checks: a reference route played through the
 * real loop, world and detectors, its labels compared with what the route
 * declares. `peerpres validate` and the tests rest on it.
 */
#include <peerpres/labels.h>
#include <peerpres/provider.h>
#include <peerpres/rollout.h>
#include <peerpres/run.h>
#include <peerpres/status.h>

int pp_check_route(const struct pp_json *rendered, const struct pp_labels *labels,
		   const struct pp_json *route, int max_iters, int *mismatches,
		   struct pp_buf *why, struct pp_json **labels_out, struct pp_diag *diag)
{
	struct pp_rollout_config cfg = { rendered, labels, max_iters, PP_DEFAULT_TOKEN_CAP, NULL };
	struct pp_rollout *r = NULL;
	struct pp_json *rec = NULL, *msg;
	int rc;

	*mismatches = 0;
	if (labels_out)
		*labels_out = NULL;
	if ((rc = pp_rollout_new(&r, &cfg, diag)))
		return rc;
	while (!rc && pp_rollout_wants_model(r)) {
		rc = pp_ref_reply(route, pp_rollout_messages(r), &msg);
		if (!rc)
			rc = pp_rollout_feed(r, msg, 0, 0, 0);
	}
	if (!rc)
		rc = pp_rollout_finish(r, &rec);
	if (rc)    /* the first reason wins: the rollout's own, if it gave one */
		pp_diag_set(diag, rc, NULL, 0, 0, "route '%s' could not be played: %s",
			    pp_json_get_str(route, "name", "?"), pp_strerror(rc));
	if (!rc)
		*mismatches = pp_labels_check_expect(pp_json_get(rec, "labels"),
						     pp_json_get(route, "expect"), why);
	if (!rc && labels_out)
		*labels_out = pp_json_incref(pp_json_get(rec, "labels"));
	pp_json_decref(rec);
	pp_rollout_free(r);
	return rc;
}
