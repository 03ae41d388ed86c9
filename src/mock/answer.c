/*
 * answer.c - one request to one reply: the route, the injected fault, the
 * X-Peerpres-* headers, the config rendered once and cached, and the
 * reference agent's turn in the request's wire format.
 *
 * The reply depends only on the request (config, seed, agent, the number
 * of assistant turns), as pp_ref_reply does in-process, so a rollout
 * through the mock server follows the route the in-process agent would.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <peerpres/provider.h>
#include <peerpres/status.h>

#include "core/alloc.h"
#include "mock/mock_int.h"

static const char *const agents[] = {
	"compliant", "preserver", "refuser", "faker", "synthetic", NULL
};

/* The format a path speaks, and the model a Gemini path names. */
static bool format_of(const char *path, enum mock_format *f, char *model, size_t len)
{
	const char *g = "/v1beta/models/", *colon;

	if (!strcmp(path, "/v1/chat/completions") || !strcmp(path, "/chat/completions")) {
		*f = MOCK_OPENAI;
		return true;
	}
	if (!strcmp(path, "/v1/messages")) {
		*f = MOCK_ANTHROPIC;
		return true;
	}
	if (!strncmp(path, g, strlen(g)) && (colon = strrchr(path, ':')) &&
	    !strcmp(colon, ":generateContent") && colon > path + strlen(g)) {
		*f = MOCK_GEMINI;
		snprintf(model, len, "%.*s", (int)(colon - path - strlen(g)), path + strlen(g));
		return true;
	}
	return false;
}

static int error_reply(struct mock_reply *r, enum mock_format f, int status, const char *msg)
{
	r->status = status;
	pp_buf_reset(&r->body);
	return mock_wire_error(f, status, msg, &r->body);
}

static int fault_reply(const struct pp_mock *m, struct mock_reply *r, enum mock_format f,
		       int status)
{
	char msg[64];
	long ms = m->opt.retry_after_ms;

	snprintf(msg, sizeof(msg), "injected fault: HTTP %d", status);
	if (status == 429 && ms > 0)
		snprintf(r->headers, sizeof(r->headers), "Retry-After: %ld\r\nretry-after-ms: %ld\r\n",
			 (ms + 999) / 1000, ms);
	else if (status == 429)
		snprintf(r->headers, sizeof(r->headers), "Retry-After: 1\r\n");
	return error_reply(r, f, status, msg);
}

void mock_cache_clear(struct pp_mock *m)
{
	size_t i;

	for (i = 0; i < MOCK_CACHE_BUCKETS; i++) {
		while (m->cache[i]) {
			struct mock_render *e = m->cache[i];

			m->cache[i] = e->next;
			free(e->key);
			pp_json_decref(e->rendered);
			free(e);
		}
	}
	m->n_cached = 0;
}

/* Renders the config of the header; why it cannot goes to diag. */
static int render(const struct pp_mock *m, const struct pp_json *cfg, struct pp_json **out,
		  struct pp_diag *diag)
{
	const char *name = pp_json_get_str(cfg, "scenario", NULL);
	const char *model = pp_json_get_str(cfg, "model", "ref/synthetic");
	struct pp_model_info mi = { model, pp_json_get_str(cfg, "family", pp_family_of_model(model)) };
	const struct pp_scenario *s = NULL;
	struct pp_json *dims = NULL;
	size_t i;
	int rc;

	for (i = 0; name && i < m->opt.n_scenarios; i++)
		if (!strcmp(pp_scenario_name(m->opt.scenarios[i]), name))
			s = m->opt.scenarios[i];
	if (!s)
		return pp_diag_set(diag, PP_ENOTFOUND, NULL, 0, 0, "unknown scenario '%s'",
				   name ? name : "(none)");
	if (!mi.family)
		return pp_diag_set(diag, PP_EUSAGE, NULL, 0, 0,
				   "cannot tell the family of model '%s': put \"family\" in the config", model);
	if (!(dims = pp_json_deep_copy(cfg)))
		return PP_ENOMEM;
	pp_json_remove(dims, 0, "model");
	pp_json_remove(dims, 0, "family");
	pp_json_remove(dims, 0, "config_id");
	rc = pp_scenario_render(s, dims, &mi, out, diag);
	pp_json_decref(dims);
	return rc;
}

/* The rendered config of a config header (borrowed from the cache). */
static int rendered_of(struct pp_mock *m, const struct pp_json *cfg, const struct pp_json **out,
		       struct pp_diag *diag)
{
	char *key = pp_json_canonical(cfg);
	size_t b;
	struct mock_render *e;
	int rc;

	if (!key)
		return PP_ENOMEM;
	b = (size_t)(pp_seed_from_text(key) % MOCK_CACHE_BUCKETS);
	for (e = m->cache[b]; e; e = e->next)
		if (!strcmp(e->key, key)) {
			free(key);
			*out = e->rendered;
			return PP_OK;
		}
	if (m->n_cached >= MOCK_CACHE_MAX)
		mock_cache_clear(m);
	if (!(e = pp_calloc(1, sizeof(*e)))) {
		free(key);
		return PP_ENOMEM;
	}
	if ((rc = render(m, cfg, &e->rendered, diag))) {
		free(key);
		free(e);
		return rc;
	}
	m->stats.renders++;
	e->key = key;
	e->next = m->cache[b];
	m->cache[b] = e;
	m->n_cached++;
	*out = e->rendered;
	return PP_OK;
}

/* The transcript as pp_ref_reply reads it: only the assistant turns count. */
static int ref_messages(size_t turns, struct pp_json **out)
{
	struct pp_json *a = pp_json_array();
	int rc = a ? PP_OK : PP_ENOMEM;

	while (!rc && turns--) {
		struct pp_json *msg = pp_json_object();

		rc = msg ? pp_json_set_str(msg, "role", "assistant") : PP_ENOMEM;
		if (rc)
			pp_json_decref(msg);
		else
			rc = pp_json_append(a, msg);
	}
	if (rc) {
		pp_json_decref(a);
		return rc;
	}
	*out = a;
	return PP_OK;
}

static bool agent_known(const char *a)
{
	size_t i;

	for (i = 0; agents[i]; i++)
		if (!strcmp(agents[i], a))
			return true;
	return false;
}

/* Route names go into a header: keep them to one clean line. */
static void route_header(struct mock_reply *r, const char *name)
{
	size_t i, n = strlen(r->headers);
	int w = snprintf(r->headers + n, sizeof(r->headers) - n, "X-Peerpres-Route: %.100s\r\n", name);

	if (w < 0 || (size_t)w >= sizeof(r->headers) - n) {
		r->headers[n] = '\0';
		return;
	}
	for (i = n + 18; i < n + (size_t)w - 2; i++)
		if (r->headers[i] == '\r' || r->headers[i] == '\n')
			r->headers[i] = ' ';
}

/* The reference agent's turn for a model request whose headers are there. */
static int agent_reply(struct pp_mock *m, const struct mock_request *rq, enum mock_format f,
		       const char *model, struct mock_reply *r)
{
	struct pp_json *cfg = NULL, *body = NULL, *msgs = NULL, *msg = NULL;
	const struct pp_json *rendered = NULL, *route;
	struct pp_buf tmp = PP_BUF_INIT;
	struct pp_diag diag;
	char err[256], *end, body_model[256];
	size_t turns = 0;
	unsigned long long seed;
	const char *agent = rq->agent ? rq->agent : "synthetic";
	int rc = PP_OK;

	pp_diag_clear(&diag);
	errno = 0;
	seed = strtoull(rq->seed, &end, 10);
	if (!*rq->seed || *end || errno || rq->seed[0] == '-')
		return error_reply(r, f, 400, "X-Peerpres-Seed must be a decimal number");
	if (!agent_known(agent))
		return error_reply(r, f, 400, "X-Peerpres-Agent must be compliant, preserver, refuser, faker or synthetic");
	if (pp_json_parse(rq->config, strlen(rq->config), &cfg, err, sizeof(err)) || !pp_json_is_object(cfg)) {
		rc = error_reply(r, f, 400, "X-Peerpres-Config must be a JSON object");
		goto out;
	}
	/* The skim reads the two facts needed; a body it is unsure of is
	 * parsed whole. */
	if (!mock_skim(f, rq->body, rq->body_len, &turns, body_model, sizeof(body_model))) {
		if (pp_json_parse(rq->body, rq->body_len, &body, err, sizeof(err)) ||
		    !pp_json_is_object(body)) {
			rc = error_reply(r, f, 400, "the request body is not a JSON object");
			goto out;
		}
		turns = mock_wire_turns(f, body);
		snprintf(body_model, sizeof(body_model), "%s", pp_json_get_str(body, "model", "mock"));
	}
	if ((rc = rendered_of(m, cfg, &rendered, &diag))) {
		if (rc != PP_ENOMEM)
			rc = error_reply(r, f, 400, diag.msg[0] ? diag.msg : pp_strerror(rc));
		goto out;
	}
	if (!(route = pp_ref_pick_route(agent, rendered, (uint64_t)seed))) {
		rc = error_reply(r, f, 400, "the scenario declares no compliant route for this config");
		goto out;
	}
	rc = ref_messages(turns, &msgs);
	if (!rc)
		rc = pp_ref_reply(route, msgs, &msg);
	if (!rc)
		rc = pp_json_dump(msg, PP_JSON_COMPACT, &tmp);
	if (!rc) {
		r->status = 200;
		rc = mock_wire_reply(f, model[0] ? model : body_model, msg,
				     (long)(rq->body_len / 4 + 1), (long)(tmp.len / 4 + 1), &r->body);
		route_header(r, pp_json_get_str(route, "name", ""));
	}
out:
	pp_buf_release(&tmp);
	pp_json_decref(cfg);
	pp_json_decref(body);
	pp_json_decref(msgs);
	pp_json_decref(msg);
	return rc;
}

/* A request without the agents' headers may be a judge's question. */
static int judge_request(enum mock_format f, const char *model, const struct mock_request *rq,
			 struct mock_reply *r, bool *handled)
{
	struct pp_json *body = NULL;
	char err[8];
	int rc;

	*handled = false;
	if (!rq->body || pp_json_parse(rq->body, rq->body_len, &body, err, sizeof(err)))
		return PP_OK;
	rc = mock_judge_answer(f, model, body, r, handled);
	pp_json_decref(body);
	return rc;
}

int mock_answer(struct pp_mock *m, const struct mock_request *rq, struct mock_reply *r)
{
	enum mock_format f = MOCK_OPENAI;
	char model[256] = "";
	bool health = !strcmp(rq->path, "/healthz"), handled = false;
	int fault, rc;

	if (!health && !format_of(rq->path, &f, model, sizeof(model)))
		return error_reply(r, MOCK_OPENAI, 404, "no such endpoint on the mock server");
	if ((fault = mock_faults_next(&m->faults)) != FAULT_NONE)
		m->stats.faults++;
	if (fault > 0)
		return fault_reply(m, r, f, fault);
	r->fault = fault;
	if (fault == FAULT_MALFORMED) {
		r->status = 200;
		return pp_buf_adds(&r->body, "{\"id\":\"mock\",\"choices\":[{\"message\":<not json");
	}
	if (health) {
		r->status = 200;
		return pp_buf_adds(&r->body, "{\"ok\":true}");
	}
	if (strcmp(rq->method, "POST"))
		return error_reply(r, f, 405, "use POST");
	if (!rq->config && (rc = judge_request(f, model, rq, r, &handled)))
		return rc;
	if (handled)
		return PP_OK;
	if (!rq->config || !rq->seed)
		return error_reply(r, f, 400,
				   "the mock server answers as the reference agents: send the test-only "
				   "headers X-Peerpres-Config and X-Peerpres-Seed");
	return agent_reply(m, rq, f, model, r);
}
