/*
 * runner.c - the synchronous runner: each missing rollout of each config,
 * driven to its end with the provider and stored in one transaction.
 *
 * Per config the work that does not change between rollouts (rendering,
 * compiling the detectors, the tool declarations, the prompt hash, the
 * synthetic truth) is done once; a rollout then costs a fresh world, the
 * loop and one store transaction.
 */
#include <stdbool.h>
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

#include "core/alloc.h"
#include "engine/call.h"

#ifndef PP_VERSION
#define PP_VERSION "unknown"
#endif

struct run_ctx {
	const struct pp_run_options *opt;
	struct pp_model_caller caller;
	const char *model_name;       /* after "provider/" */
	struct pp_store *store;
	int64_t run_id;
	struct pp_run_result *res;
	long total;
	long budget;                  /* rollouts left under --limit; <0: unlimited */
};

/* A config made ready to run. */
struct prepared {
	const struct pp_scenario *s;
	struct pp_json *mock_config;   /* dims, model, family: what the mock server renders */
	struct pp_json *rendered;
	struct pp_labels *labels;
	char prompt_hash[65];
	const char *config_id;
};

static void now_iso(char out[32])
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	if (!strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
		out[0] = '\0';
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static const char *family_of(const struct run_ctx *c)
{
	return c->opt->family ? c->opt->family : pp_family_of_model(c->opt->model);
}

static int hash_prompt(const struct pp_json *rendered, char out[65])
{
	struct pp_json *p = pp_json_object();
	char *canon = NULL;
	int rc = p ? PP_OK : PP_ENOMEM;

	if (!rc)
		rc = pp_json_set(p, "system_prompt", pp_json_incref(pp_json_get(rendered, "system_prompt")));
	if (!rc)
		rc = pp_json_set(p, "user_message", pp_json_incref(pp_json_get(rendered, "user_message")));
	if (!rc)
		rc = pp_json_set(p, "tools", pp_json_incref(pp_json_get(rendered, "tool_schemas")));
	if (!rc && !(canon = pp_json_canonical(p)))
		rc = PP_ENOMEM;
	if (!rc)
		pp_sha256_hex(canon, strlen(canon), out);
	free(canon);
	pp_json_decref(p);
	return rc;
}

/* The config as the store keeps it. */
static int config_record(const struct run_ctx *c, const struct prepared *pc,
			 const struct pp_json *dims, struct pp_json **out)
{
	struct pp_json *rec = pp_json_deep_copy(dims), *truth = NULL;
	int rc = rec ? PP_OK : PP_ENOMEM;

	if (!rc && !strcmp(c->opt->model, "ref/synthetic"))
		rc = pp_scenario_truth(pc->rendered, &truth);
	if (!rc)
		rc = pp_json_set_str(rec, "config_id", pc->config_id);
	if (!rc)
		rc = pp_json_set_str(rec, "model", c->opt->model);
	if (!rc)
		rc = pp_json_set_str(rec, "family", family_of(c));
	if (!rc)
		rc = pp_json_set(rec, "route", pp_json_str_or_null(c->opt->provider.base_url));
	if (!rc)
		rc = pp_json_set(rec, "reasoning", pp_json_str_or_null(c->opt->provider.reasoning));
	if (!rc)
		rc = pp_json_set(rec, "max_iters", pp_json_integer(c->opt->max_iters));
	if (!rc)
		rc = pp_json_set(rec, "temperature", pp_json_real(c->opt->temperature));
	if (!rc)
		rc = pp_json_set_str(rec, "scenario_hash", pp_scenario_hash(pc->s));
	if (!rc)
		rc = pp_json_set(rec, "required_labels",
				 pp_json_incref(pp_json_get(pc->rendered, "required_labels")));
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

static int provenance(const struct run_ctx *c, const struct prepared *pc,
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
		rc = pp_json_set_str(p, "prompt_hash", pc->prompt_hash);
	if (!rc)
		rc = pp_json_set_str(p, "model", c->opt->model);
	if (!rc)
		rc = pp_json_set(p, "route", pp_json_str_or_null(c->opt->provider.base_url));
	if (!rc)
		rc = pp_json_set(p, "reasoning_requested", pp_json_str_or_null(c->opt->provider.reasoning));
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

/* Drives one rollout to its end. */
static int drive(struct run_ctx *c, const struct prepared *pc, uint64_t seed,
		 struct pp_json **record, char agent[128])
{
	struct pp_rollout_config rc_cfg = { pc->rendered, pc->labels, c->opt->max_iters,
					    c->opt->token_cap };
	struct pp_rollout *r = NULL;
	struct pp_diag diag;
	int rc;

	pp_diag_clear(&diag);
	agent[0] = '\0';
	if ((rc = pp_rollout_new(&r, &rc_cfg, &diag)))
		return rc;
	while (!rc && pp_rollout_wants_model(r)) {
		struct pp_model_request req = { c->model_name, pp_rollout_messages(r),
						pp_rollout_tools(r), c->opt->temperature, seed,
						pc->rendered };
		struct pp_model_reply reply;

		memset(&reply, 0, sizeof(reply));
		if (pp_caller_call(&c->caller, &req, pc->mock_config, &reply)) {
			pp_json_decref(reply.message);
			pp_rollout_fail(r, reply.error[0] ? reply.error : "provider failure");
			break;
		}
		if (reply.agent[0])
			snprintf(agent, 128, "%s", reply.agent);
		rc = pp_rollout_feed(r, reply.message, reply.input_tokens, reply.output_tokens,
				     reply.reasoning_tokens);
	}
	if (!rc)
		rc = pp_rollout_finish(r, record);
	pp_rollout_free(r);
	return rc;
}

/* A call's result is also the content of its tool message: keeping it
 * once saves about a quarter of the store. */
static void drop_duplicate_results(struct pp_json *rec)
{
	const struct pp_json *log = pp_json_get(rec, "tool_calls");
	size_t i;

	for (i = 0; i < pp_json_len(log); i++)
		pp_json_remove(pp_json_at(log, i), 0, "result");
}

static int one_rollout(struct run_ctx *c, const struct prepared *pc, long idx)
{
	struct pp_json *rec = NULL, *prov = NULL;
	char seed_text[128], started[32], finished[32], agent[128];
	uint64_t seed;
	double t0 = now_ms();
	int rc;

	snprintf(seed_text, sizeof(seed_text), "%s:%ld:%llu", pc->config_id, idx,
		 (unsigned long long)c->opt->seed);
	/* SQLite integers are signed 64-bit: keep seeds in 63 bits. */
	seed = pp_seed_from_text(seed_text) >> 1;
	now_iso(started);
	rc = drive(c, pc, seed, &rec, agent);
	now_iso(finished);
	if (!rc)
		rc = provenance(c, pc, rec, &prov);
	if (!rc) {
		rc = pp_json_set(rec, "provenance", prov);
		prov = NULL;
	}
	if (!rc && (pp_json_set_str(rec, "config_id", pc->config_id) ||
		    pp_json_set(rec, "idx", pp_json_integer(idx)) ||
		    pp_json_set(rec, "seed", pp_json_integer((long long)seed)) ||
		    pp_json_set(rec, "agent", agent[0] ? pp_json_string(agent) : pp_json_null()) ||
		    pp_json_set_str(rec, "started_at", started) ||
		    pp_json_set_str(rec, "finished_at", finished) ||
		    pp_json_set(rec, "duration_ms", pp_json_real(now_ms() - t0)) ||
		    pp_json_set(rec, "cost_usd", pp_json_real(0))))
		rc = PP_ENOMEM;
	if (!rc) {
		drop_duplicate_results(rec);
		rc = pp_store_put_rollout(c->store, c->run_id, rec);
	}
	if (!rc && !strcmp(pp_json_get_str(rec, "status", ""), "error"))
		c->res->errors++;
	pp_json_decref(prov);
	pp_json_decref(rec);
	return rc;
}

static int prepare(struct run_ctx *c, const struct pp_scenario *s, const struct pp_json *dims,
		   struct prepared *pc, struct pp_diag *diag)
{
	struct pp_json *rec = NULL;
	int rc;

	memset(pc, 0, sizeof(*pc));
	pc->s = s;
	rc = pp_render_config(s, dims, c->opt, &pc->rendered, diag);
	if (!rc && (!(pc->mock_config = pp_json_deep_copy(dims)) ||
		    pp_json_set_str(pc->mock_config, "model", c->opt->model) ||
		    pp_json_set_str(pc->mock_config, "family", family_of(c))))
		rc = PP_ENOMEM;
	if (!rc)
		rc = pp_labels_compile(&pc->labels, pp_json_get(pc->rendered, "labels"),
				       pp_json_get(pc->rendered, "patterns"),
				       pp_json_get(pc->rendered, "extract"), diag);
	if (!rc)
		rc = hash_prompt(pc->rendered, pc->prompt_hash);
	if (!rc) {
		pc->config_id = pp_json_get_str(pc->rendered, "config_id", "");
		rc = config_record(c, pc, dims, &rec);
	}
	if (!rc && (rc = pp_store_put_config(c->store, rec)))
		pp_diag_set(diag, rc, NULL, 0, 0, "%s", pp_store_errmsg(c->store));
	pp_json_decref(rec);
	return rc;
}

static void release(struct prepared *pc)
{
	pp_json_decref(pc->mock_config);
	pp_json_decref(pc->rendered);
	pp_labels_free(pc->labels);
}

static int run_config(struct run_ctx *c, const struct pp_scenario *s, const struct pp_json *dims,
		      struct pp_diag *diag)
{
	struct prepared pc;
	bool *done = pp_calloc((size_t)c->opt->n_rollouts + 1, sizeof(bool));
	long idx;
	int rc;

	if (!done)
		return PP_ENOMEM;
	rc = prepare(c, s, dims, &pc, diag);

	if (!rc && (rc = pp_store_done_indexes(c->store, pc.config_id, (size_t)c->opt->n_rollouts, done)))
		pp_diag_set(diag, rc, NULL, 0, 0, "%s", pp_store_errmsg(c->store));
	for (idx = 0; !rc && idx < c->opt->n_rollouts; idx++) {
		if (done[idx]) {
			c->res->skipped++;
			continue;
		}
		if ((c->opt->stop && *c->opt->stop) || c->budget == 0) {
			c->res->interrupted = c->opt->stop && *c->opt->stop;
			break;
		}
		if ((rc = one_rollout(c, &pc, idx))) {
			pp_diag_set(diag, rc, NULL, 0, 0, "rollout %.12s:%ld: %s", pc.config_id, idx,
				    rc == PP_ESTORE || rc == PP_EINVAL ? pp_store_errmsg(c->store) : pp_strerror(rc));
			break;
		}
		c->res->done++;
		if (c->budget > 0)
			c->budget--;
		if (c->opt->progress)
			c->opt->progress(c->opt->progress_arg, c->res->done + c->res->skipped,
					 c->total, c->res->errors);
	}
	release(&pc);
	free(done);
	return rc;
}

int pp_run(struct pp_scenario *const *scenarios, size_t n, const struct pp_run_options *opt,
	   struct pp_store *store, const struct pp_json *run_record,
	   struct pp_run_result *res, struct pp_diag *diag)
{
	struct run_ctx c;
	struct pp_json *plan = NULL;
	size_t i;
	int rc;

	memset(res, 0, sizeof(*res));
	memset(&c, 0, sizeof(c));
	c.opt = opt;
	c.store = store;
	c.res = res;
	c.budget = opt->limit > 0 ? opt->limit : -1;
	if ((rc = pp_caller_open(&c.caller, opt->model, &opt->provider, opt->stop, diag)))
		return rc;
	c.model_name = strchr(opt->model, '/') + 1;
	rc = pp_plan(scenarios, n, opt, &plan, diag);
	if (!rc) {
		c.total = (long)pp_json_len(pp_json_get(plan, "configs")) * opt->n_rollouts;
		rc = pp_store_begin_run(store, run_record, &c.run_id);
		if (rc)
			pp_diag_set(diag, rc, NULL, 0, 0, "%s", pp_store_errmsg(store));
	}
	for (i = 0; !rc && i < pp_json_len(pp_json_get(plan, "configs")); i++) {
		const struct pp_json *e = pp_json_at(pp_json_get(plan, "configs"), i);
		struct pp_json *dims = pp_json_deep_copy(e);
		const struct pp_scenario *s = NULL;
		size_t k;

		for (k = 0; k < n; k++)
			if (!strcmp(pp_scenario_name(scenarios[k]), pp_json_get_str(e, "scenario", "")))
				s = scenarios[k];
		/* The plan entry is the dims plus the id; the id is derived. */
		rc = dims ? pp_json_remove(dims, 0, "config_id") : PP_ENOMEM;
		if (!rc)
			rc = run_config(&c, s, dims, diag);
		pp_json_decref(dims);
		if (res->interrupted || c.budget == 0)
			break;
	}
	if (c.run_id)
		pp_store_end_run(store, c.run_id, rc ? "failed" : res->interrupted ? "interrupted" : "done");
	res->retries = c.caller.retries;
	pp_caller_close(&c.caller);
	pp_json_decref(plan);
	return rc;
}
