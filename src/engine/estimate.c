/*
 * estimate.c - what a plan would cost, before any model call.
 *
 * Each config is rendered and its compliant reference route is played
 * through the real loop in a fresh world: that gives the number of model
 * calls a rollout makes and, call by call, the prompt as it grows (the
 * system prompt, the task, the tool declarations and every tool result
 * the world returns). What a real model writes cannot be known, so each
 * of its turns is assumed to be EST_OUTPUT_TOKENS_PER_CALL tokens (sent
 * back as input on every later call) plus reasoning by effort. Tokens are
 * counted as the loop's token cap counts them: 3 a message plus one per
 * 4 bytes. No cache hits are assumed, so the input cost is an upper
 * bound where the provider caches prompts. The estimate is a pure
 * function of the plan, the options and the price table.
 */
#include <string.h>

#include <peerpres/price.h>
#include <peerpres/provider.h>
#include <peerpres/rollout.h>
#include <peerpres/run.h>
#include <peerpres/status.h>

#include "engine/engine_int.h"

#define EST_CHARS_PER_TOKEN 4
#define EST_TOKENS_PER_MESSAGE 3
#define EST_OUTPUT_TOKENS_PER_CALL 200

/* Per rollout of one config. */
struct tally {
	double calls, input, output, reasoning;
};

/* Reasoning tokens a call is assumed to spend at an effort; a model that
 * reasons by default is taken at medium. */
static long reasoning_per_call(const char *effort, bool reasons)
{
	if (!effort)
		return reasons ? 1024 : 0;
	if (!strcmp(effort, "low"))
		return 256;
	if (!strcmp(effort, "high"))
		return 4096;
	return 1024;
}

static double text_tokens(size_t bytes)
{
	return (double)bytes / EST_CHARS_PER_TOKEN;
}

/* What a message adds to the prompt of every later call. */
static double message_tokens(const struct pp_json *m)
{
	const struct pp_json *calls = pp_json_get(m, "tool_calls");
	size_t bytes = strlen(pp_json_get_str(m, "role", "")) +
		       strlen(pp_json_get_str(m, "content", ""));
	struct pp_buf b = PP_BUF_INIT;
	size_t i;

	for (i = 0; i < pp_json_len(calls); i++) {
		const struct pp_json *c = pp_json_at(calls, i);

		pp_buf_reset(&b);
		pp_json_dump(pp_json_get(c, "arguments"), 0, &b);
		bytes += strlen(pp_json_get_str(c, "name", "")) + b.len;
	}
	pp_buf_release(&b);
	return EST_TOKENS_PER_MESSAGE + text_tokens(bytes);
}

static int tools_tokens(const struct pp_json *schemas, double *out)
{
	struct pp_buf b = PP_BUF_INIT;
	int rc = pp_json_dump(schemas, 0, &b);

	*out = text_tokens(b.len);
	pp_buf_release(&b);
	return rc;
}

/*
 * Plays the compliant route of a rendered config and counts, for each
 * model call, the prompt a real model would be sent: the tools, every
 * message but the route's own assistant turns, and the assumed turns of
 * the model in their place.
 */
static int calibrate(const struct pp_json *rendered, const struct pp_run_options *opt,
		     long reasoning, struct tally *t, struct pp_diag *diag)
{
	const struct pp_json *route = pp_ref_pick_route("compliant", rendered, 0);
	struct pp_rollout_config cfg = { rendered, NULL, opt->max_iters, opt->token_cap, NULL };
	struct pp_rollout *r = NULL;
	struct pp_json *msg;
	double tools = 0, transcript = 0, prompt;
	size_t seen = 0, i;
	int rc = tools_tokens(pp_json_get(rendered, "tool_schemas"), &tools);

	memset(t, 0, sizeof(*t));
	if (!rc)
		rc = pp_rollout_new(&r, &cfg, diag);
	while (!rc && pp_rollout_wants_model(r)) {
		const struct pp_json *msgs = pp_rollout_messages(r);

		for (i = seen; i < pp_json_len(msgs); i++)
			if (strcmp(pp_json_get_str(pp_json_at(msgs, i), "role", ""), "assistant"))
				transcript += message_tokens(pp_json_at(msgs, i));
		seen = pp_json_len(msgs);
		prompt = transcript + t->calls * (EST_TOKENS_PER_MESSAGE + EST_OUTPUT_TOKENS_PER_CALL);
		if (opt->token_cap > 0 && prompt > (double)opt->token_cap)
			prompt = (double)opt->token_cap;
		t->input += tools + prompt;
		t->calls++;
		/* A config without routes still costs its first call. */
		if (!route)
			break;
		if (!(rc = pp_ref_reply(route, msgs, &msg)))
			rc = pp_rollout_feed(r, msg, 0, 0, 0);
	}
	t->reasoning = t->calls * (double)reasoning;
	t->output = t->calls * EST_OUTPUT_TOKENS_PER_CALL + t->reasoning;
	pp_rollout_free(r);
	return rc;
}

int pp_rollout_cost_estimate(const struct pp_json *rendered, const struct pp_run_options *opt,
			     const struct pp_price *price, double *usd, struct pp_diag *diag)
{
	struct tally t;
	int rc = calibrate(rendered, opt, reasoning_per_call(opt->provider.reasoning, price->reasons),
			   &t, diag);

	*usd = rc ? 0 : pp_price_cost_usd(price, (long)t.input, (long)t.output, (long)t.reasoning, 0);
	return rc;
}

static const struct pp_scenario *scenario_named(struct pp_scenario *const *scenarios, size_t n,
					       const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(pp_scenario_name(scenarios[i]), name))
			return scenarios[i];
	return NULL;
}

/* One entry of the plan rendered: *rendered new, NULL on failure. */
static int render_entry(struct pp_scenario *const *scenarios, size_t n,
			const struct pp_run_options *opt, const struct pp_json *entry,
			struct pp_json **rendered, struct pp_diag *diag)
{
	const char *name = pp_json_get_str(entry, "scenario", "");
	const struct pp_scenario *s = scenario_named(scenarios, n, name);
	struct pp_json *dims = pp_json_deep_copy(entry);
	int rc = dims ? PP_OK : PP_ENOMEM;

	*rendered = NULL;
	if (!rc && !s)
		rc = pp_diag_set(diag, PP_EINVAL, NULL, 0, 0, "the plan names scenario '%s', "
				 "which is not loaded", name);
	/* The plan's entry is the config's dimensions plus its id. */
	if (!rc && pp_json_get(dims, "config_id"))
		rc = pp_json_remove(dims, 0, "config_id");
	if (!rc)
		rc = pp_render_config(s, dims, opt, rendered, diag);
	pp_json_decref(dims);
	return rc;
}

/* One config of the plan, rendered and calibrated. */
static int config_tally(struct pp_scenario *const *scenarios, size_t n,
			const struct pp_run_options *opt, const struct pp_json *entry,
			long reasoning, struct tally *t, struct pp_diag *diag)
{
	struct pp_json *rendered = NULL;
	int rc = render_entry(scenarios, n, opt, entry, &rendered, diag);

	if (!rc)
		rc = calibrate(rendered, opt, reasoning, t, diag);
	pp_json_decref(rendered);
	return rc;
}

int pp_plan_check(struct pp_scenario *const *scenarios, size_t n,
		  const struct pp_run_options *opt, const struct pp_json *plan,
		  struct pp_diag *diag)
{
	const struct pp_json *configs = pp_json_get(plan, "configs");
	struct pp_json *rendered = NULL;
	size_t i;
	int rc = PP_OK;

	for (i = 0; !rc && i < pp_json_len(configs); i++) {
		rc = render_entry(scenarios, n, opt, pp_json_at(configs, i), &rendered, diag);
		pp_json_decref(rendered);
	}
	return rc;
}

static struct pp_json *price_json(const struct pp_price *p)
{
	struct pp_json *o = pp_json_object();

	if (o && (pp_json_set_str(o, "model", p->model) ||
		  pp_json_set(o, "input_usd_per_mtok", pp_json_real(p->input_usd_per_mtok)) ||
		  pp_json_set(o, "cached_input_usd_per_mtok",
			      pp_json_real(p->cached_input_usd_per_mtok)) ||
		  pp_json_set(o, "output_usd_per_mtok", pp_json_real(p->output_usd_per_mtok)) ||
		  pp_json_set(o, "reasoning_usd_per_mtok", pp_json_real(p->reasoning_usd_per_mtok)) ||
		  pp_json_set(o, "checked", pp_json_str_or_null(p->checked[0] ? p->checked : NULL)) ||
		  pp_json_set(o, "source", pp_json_str_or_null(p->source[0] ? p->source : NULL)) ||
		  pp_json_set(o, "from_file", pp_json_bool(p->user)))) {
		pp_json_decref(o);
		return NULL;
	}
	return o;
}

static struct pp_json *assumptions_json(bool reference, long reasoning)
{
	struct pp_json *o = pp_json_object();
	const char *calls = reference ? "none: the reference agents run in-process, unbilled"
				      : "the compliant reference route of each config";

	if (o && (pp_json_set_str(o, "calls", calls) ||
		  pp_json_set(o, "chars_per_token", pp_json_integer(EST_CHARS_PER_TOKEN)) ||
		  pp_json_set(o, "output_tokens_per_call",
			      pp_json_integer(reference ? 0 : EST_OUTPUT_TOKENS_PER_CALL)) ||
		  pp_json_set(o, "reasoning_tokens_per_call", pp_json_integer(reasoning)) ||
		  pp_json_set(o, "cache_hits", pp_json_integer(0)))) {
		pp_json_decref(o);
		return NULL;
	}
	return o;
}

struct totals {
	double rollouts, calls, input, output, reasoning, cost_usd;
};

static int set_totals(struct pp_json *e, const struct totals *s, bool priced)
{
	int rc = pp_json_set(e, "cost_usd", priced ? pp_json_real(s->cost_usd) : pp_json_null());

	if (!rc)
		rc = pp_json_set(e, "n_rollouts", pp_json_integer((long long)s->rollouts));
	if (!rc)
		rc = pp_json_set(e, "model_calls", pp_json_integer((long long)(s->calls + 0.5)));
	if (!rc)
		rc = pp_json_set(e, "calls_per_rollout",
				 pp_json_real(s->rollouts > 0 ? s->calls / s->rollouts : 0));
	if (!rc)
		rc = pp_json_set(e, "input_tokens", pp_json_integer((long long)(s->input + 0.5)));
	if (!rc)
		rc = pp_json_set(e, "output_tokens", pp_json_integer((long long)(s->output + 0.5)));
	if (!rc)
		rc = pp_json_set(e, "reasoning_tokens",
				 pp_json_integer((long long)(s->reasoning + 0.5)));
	if (!rc)
		rc = pp_json_set(e, "tokens",
				 pp_json_integer((long long)(s->input + s->output + 0.5)));
	return rc;
}

int pp_plan_estimate(struct pp_scenario *const *scenarios, size_t n,
		     const struct pp_run_options *opt, const struct pp_json *plan,
		     const struct pp_price_table *prices, struct pp_json **out,
		     struct pp_diag *diag)
{
	const struct pp_json *configs = pp_json_get(plan, "configs");
	bool reference = opt->model && !strncmp(opt->model, "ref/", 4);
	struct pp_price price;
	bool priced = !pp_price_lookup(prices, opt->model, &price);
	long reasoning = reference ? 0 : reasoning_per_call(opt->provider.reasoning,
							    priced && price.reasons);
	struct totals sum = { 0, 0, 0, 0, 0, 0 };
	struct pp_json *e = pp_json_object();
	struct tally t;
	size_t i;
	int rc = e ? PP_OK : PP_ENOMEM;

	*out = NULL;
	sum.rollouts = (double)pp_json_len(configs) * (double)opt->n_rollouts;
	for (i = 0; !rc && !reference && i < pp_json_len(configs); i++) {
		rc = config_tally(scenarios, n, opt, pp_json_at(configs, i), reasoning, &t, diag);
		sum.calls += t.calls * (double)opt->n_rollouts;
		sum.input += t.input * (double)opt->n_rollouts;
		sum.output += t.output * (double)opt->n_rollouts;
		sum.reasoning += t.reasoning * (double)opt->n_rollouts;
		if (priced)
			sum.cost_usd += (double)opt->n_rollouts *
				pp_price_cost_usd(&price, (long)t.input, (long)t.output,
						  (long)t.reasoning, 0);
	}
	if (!rc)
		rc = set_totals(e, &sum, priced);
	if (!rc)
		rc = pp_json_set(e, "price", priced ? price_json(&price) : pp_json_null());
	if (!rc)
		rc = pp_json_set(e, "prices_file",
				 pp_json_str_or_null(pp_price_table_file(prices)));
	if (!rc)
		rc = pp_json_set(e, "assumptions", assumptions_json(reference, reasoning));
	if (rc) {
		pp_json_decref(e);
		return rc;
	}
	*out = e;
	return PP_OK;
}
