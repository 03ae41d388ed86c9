/*
 * ref.c - the reference agents: deterministic scripted "models".
 *
 * ref/compliant, ref/preserver, ref/refuser and ref/faker follow the
 * routes the scenario file declares for their kind (an agent without a
 * route for the config follows the compliant ones); ref/synthetic draws
 * one of them per rollout from the config's declared mix. The route is
 * chosen from the rollout's seed alone and the turn from the number of
 * assistant messages so far, so the agent is stateless: the same request
 * always gets the same reply, as a cached or replayed model would.
 */
#include <stdio.h>
#include <string.h>

#include <peerpres/hash.h>
#include <peerpres/judge.h>
#include <peerpres/provider.h>
#include <peerpres/status.h>

#include "core/alloc.h"

static const char *const kinds[] = {
	"compliant", "preserver", "refuser", "faker", "synthetic", NULL
};
/* The order in which the synthetic mix is cut into intervals. */
static const char *const mix_order[] = { "preserver", "refuser", "faker", "compliant" };

static int ref_open(void **ctx, const char *model, const struct pp_provider_options *opt,
		    struct pp_diag *diag)
{
	size_t i;

	(void)opt;
	if (pp_ref_judge_model(model)) {
		*ctx = (void *)pp_ref_judge_model(model);
		return PP_OK;
	}
	for (i = 0; kinds[i]; i++)
		if (!strcmp(kinds[i], model)) {
			*ctx = (void *)kinds[i];
			return PP_OK;
		}
	return pp_diag_set(diag, PP_EUSAGE, NULL, 0, 0,
			   "unknown reference agent 'ref/%s' (compliant, preserver, refuser, faker,"
			   " synthetic; judges: judge, judge-first, judge-garbage, judge-refuse,"
			   " judge-error)",
			   model);
}

static void ref_close(void *ctx)
{
	(void)ctx;
}

static const char *draw_kind(const struct pp_json *mix, struct pp_rng *rng)
{
	double u = pp_rng_uniform(rng), acc = 0, p;
	size_t i;

	for (i = 0; i < sizeof(mix_order) / sizeof(mix_order[0]); i++) {
		p = 0;
		pp_json_num(pp_json_get(mix, mix_order[i]), &p);
		acc += p;
		if (u < acc)
			return mix_order[i];
	}
	return "compliant";
}

static size_t count_routes(const struct pp_json *routes, const char *kind)
{
	size_t i, n = 0;

	for (i = 0; i < pp_json_len(routes); i++)
		if (!strcmp(pp_json_get_str(pp_json_at(routes, i), "agent", ""), kind))
			n++;
	return n;
}

static const struct pp_json *nth_route(const struct pp_json *routes, const char *kind, size_t k)
{
	size_t i;

	for (i = 0; i < pp_json_len(routes); i++)
		if (!strcmp(pp_json_get_str(pp_json_at(routes, i), "agent", ""), kind) && k-- == 0)
			return pp_json_at(routes, i);
	return NULL;
}

const struct pp_json *pp_ref_pick_route(const char *kind, const struct pp_json *config,
				       uint64_t seed)
{
	const struct pp_json *routes = pp_json_get(config, "routes");
	struct pp_rng rng;
	size_t n;

	pp_rng_seed(&rng, seed);
	if (!strcmp(kind, "synthetic"))
		kind = draw_kind(pp_json_get(config, "mix"), &rng);
	if (!count_routes(routes, kind))
		kind = "compliant";
	n = count_routes(routes, kind);
	return n ? nth_route(routes, kind, (size_t)pp_rng_below(&rng, n)) : NULL;
}

static size_t assistant_turns(const struct pp_json *messages)
{
	size_t i, n = 0;

	for (i = 0; i < pp_json_len(messages); i++)
		if (!strcmp(pp_json_get_str(pp_json_at(messages, i), "role", ""), "assistant"))
			n++;
	return n;
}

static int add_call(struct pp_json *calls, size_t turn, size_t i, const char *name,
		    const struct pp_json *args)
{
	struct pp_json *c = pp_json_object();
	char id[64];

	snprintf(id, sizeof(id), "call_%zu_%zu", turn, i);
	if (!c || pp_json_set_str(c, "id", id) || pp_json_set_str(c, "name", name) ||
	    pp_json_set(c, "arguments", args ? pp_json_deep_copy(args) : pp_json_object())) {
		pp_json_decref(c);
		return PP_ENOMEM;
	}
	return pp_json_append(calls, c);
}

/* The reply for one scripted turn; past the end of the script, end_task. */
static int scripted_turn(const struct pp_json *turn, size_t t, struct pp_json **out)
{
	struct pp_json *msg = pp_json_object(), *calls = pp_json_array();
	const struct pp_json *script = pp_json_get(turn, "calls");
	const char *say = pp_json_get_str(turn, "say", NULL);
	size_t i;
	int rc = (msg && calls) ? PP_OK : PP_ENOMEM;

	if (!rc)
		rc = pp_json_set_str(msg, "role", "assistant");
	if (!rc)
		rc = pp_json_set(msg, "content", say ? pp_json_string(say) : pp_json_null());
	if (!rc)
		rc = pp_json_set(msg, "reasoning", pp_json_null());
	if (!rc && !turn)
		rc = add_call(calls, t, 0, "end_task", NULL);
	for (i = 0; !rc && i < pp_json_len(script); i++)
		rc = add_call(calls, t, i, pp_json_get_str(pp_json_at(script, i), "tool", ""),
			      pp_json_get(pp_json_at(script, i), "args"));
	if (!rc) {
		rc = pp_json_set(msg, "tool_calls", calls);
		calls = NULL;
	}
	pp_json_decref(calls);
	if (rc) {
		pp_json_decref(msg);
		return rc;
	}
	*out = msg;
	return PP_OK;
}

int pp_ref_reply(const struct pp_json *route, const struct pp_json *messages,
		 struct pp_json **out)
{
	size_t t = assistant_turns(messages);

	return scripted_turn(pp_json_at(pp_json_get(route, "turns"), t), t + 1, out);
}

static int ref_complete(void *ctx, const struct pp_model_request *req,
			struct pp_model_reply *reply)
{
	const struct pp_json *route;
	int rc;

	if (pp_ref_judge_model(ctx))
		return pp_ref_judge_complete(ctx, req, reply);
	route = pp_ref_pick_route((const char *)ctx, req->config, req->seed);
	if (!route) {
		snprintf(reply->error, sizeof(reply->error),
			 "the scenario declares no compliant route for this config");
		return PP_EPROVIDER;
	}
	rc = pp_ref_reply(route, req->messages, &reply->message);
	if (rc)
		return rc;
	snprintf(reply->agent, sizeof(reply->agent), "%s", pp_json_get_str(route, "name", ""));
	reply->input_tokens = 0;
	reply->output_tokens = 0;
	reply->reasoning_tokens = 0;
	return PP_OK;
}

const struct pp_provider_ops pp_provider_ref = {
	"ref", ref_open, ref_close, ref_complete, NULL, NULL
};
