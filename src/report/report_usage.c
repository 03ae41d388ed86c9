/*
 * report_usage.c - what the rollouts of a report cost: tokens, model
 * calls and dollars, per model and in total.
 *
 * A count the store does not have (null: a rollout written before usage
 * was recorded, a provider that reports no usage, a model with no price)
 * is never summed as 0 silently: the rollouts lacking it are counted in
 * unknown_usage or unknown_cost, so a total is known to be a lower bound;
 * a cost none of whose rollouts is known is null, not 0.
 */
#include <string.h>

#include <peerpres/status.h>
#include "report/report_int.h"

static const char *const token_keys[] = {
	"input_tokens", "output_tokens", "reasoning_tokens",
};

#define N_TOKENS 3

struct usage {
	long long rollouts, calls, tokens[N_TOKENS];
	long long unknown_usage, unknown_cost;
	double cost;
};

static void usage_add(struct usage *u, const struct pp_json *r)
{
	const struct pp_json *tok = pp_json_get(r, "usage");
	long long v;
	double c;
	bool all = true;
	int i;

	u->rollouts++;
	if (pp_json_int(pp_json_get(r, "n_model_calls"), &v))
		u->calls += v;
	for (i = 0; i < N_TOKENS; i++) {
		if (pp_json_int(pp_json_get(tok, token_keys[i]), &v))
			u->tokens[i] += v;
		else
			all = false;
	}
	u->unknown_usage += !all;
	if (pp_json_num(pp_json_get(r, "cost_usd"), &c))
		u->cost += c;
	else
		u->unknown_cost++;
}

/* The known costs' sum, or null when no rollout has one (a model with
 * no price): a sum of nothing would read as free. */
static struct pp_json *cost_json(const struct usage *u)
{
	if (u->rollouts && u->unknown_cost == u->rollouts)
		return pp_json_null();
	return pp_json_real(u->cost);
}

static int usage_json(const struct usage *u, const char *model, struct pp_json **out)
{
	struct pp_json *o = pp_json_object();
	int i, rc = o ? PP_OK : PP_ENOMEM;

	if (!rc && model) {
		if (!(rc = pp_json_set_str(o, "model", model)))
			rc = pp_json_set(o, "reference", pp_json_bool(!strncmp(model, "ref/", 4)));
	}
	if (!rc && !(rc = pp_json_set(o, "n_rollouts", pp_json_integer(u->rollouts))))
		rc = pp_json_set(o, "n_model_calls", pp_json_integer(u->calls));
	for (i = 0; i < N_TOKENS && !rc; i++)
		rc = pp_json_set(o, token_keys[i], pp_json_integer(u->tokens[i]));
	if (!rc && !(rc = pp_json_set(o, "cost_usd", cost_json(u))) &&
	    !(rc = pp_json_set(o, "unknown_usage", pp_json_integer(u->unknown_usage))))
		rc = pp_json_set(o, "unknown_cost", pp_json_integer(u->unknown_cost));
	if (rc)
		pp_json_decref(o);
	else
		*out = o;
	return rc;
}

/* The usage of every rollout of one model. */
static void model_usage(const struct pp_json *summary, const char *model,
			struct usage *u)
{
	size_t i, j;

	memset(u, 0, sizeof(*u));
	for (i = 0; i < pp_json_len(summary); i++) {
		const struct pp_json *cfg = pp_json_at(summary, i);
		const struct pp_json *rollouts = pp_json_get(cfg, "rollouts");

		if (model && strcmp(pp_json_get_str(cfg, "model", "none"), model))
			continue;
		for (j = 0; j < pp_json_len(rollouts); j++)
			usage_add(u, pp_json_at(rollouts, j));
	}
}

/* The next model name after prev (NULL: the first), in strcmp order. */
static const char *next_model(const struct pp_json *summary, const char *prev)
{
	const char *next = NULL;
	size_t i;

	for (i = 0; i < pp_json_len(summary); i++) {
		const char *m = pp_json_get_str(pp_json_at(summary, i), "model", "none");

		if ((!prev || strcmp(m, prev) > 0) && (!next || strcmp(m, next) < 0))
			next = m;
	}
	return next;
}

int pp_report_usage(const struct pp_json *summary, struct pp_json **out)
{
	struct pp_json *o = pp_json_object(), *models = pp_json_array(), *m = NULL;
	const char *model = NULL;
	struct usage u;
	int rc = o && models ? PP_OK : PP_ENOMEM;

	*out = NULL;
	while (!rc && (model = next_model(summary, model))) {
		model_usage(summary, model, &u);
		if (!(rc = usage_json(&u, model, &m)))
			rc = pp_json_append(models, m);
	}
	if (!rc) {
		model_usage(summary, NULL, &u);
		rc = usage_json(&u, NULL, &m);
	}
	if (!rc)
		rc = pp_json_set(o, "total", m);
	if (!rc) {
		rc = pp_json_set(o, "models", models);
		models = NULL;
	}
	pp_json_decref(models);
	if (rc)
		pp_json_decref(o);
	else
		*out = o;
	return rc;
}
