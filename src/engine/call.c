/*
 * call.c - one model call through the provider table (see call.h).
 *
 * Providers never touch the network: an HTTP provider describes the
 * request, the transport sends it with retries, the provider reads the
 * answer. A 2xx whose body is not the wire format is retried too (the
 * provider says so through reply.retryable).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <peerpres/status.h>

#include "engine/call.h"

static bool is_local(const char *url)
{
	return url && (!strncmp(url, "http://127.0.0.1", 16) || !strncmp(url, "http://localhost", 16));
}

int pp_caller_open(struct pp_model_caller *mc, const char *model,
		   const struct pp_provider_options *opt, const volatile sig_atomic_t *stop,
		   struct pp_diag *diag)
{
	int rc;

	memset(mc, 0, sizeof(*mc));
	if (!(mc->prov = pp_provider_find(model)))
		return pp_diag_set(diag, PP_EUSAGE, NULL, 0, 0,
				   "unknown provider in model '%s' (see 'peerpres list models')", model);
	if ((rc = mc->prov->open(&mc->ctx, strchr(model, '/') + 1, opt, diag)))
		return rc;
	mc->policy.stop = stop;
	mc->local = opt && is_local(opt->base_url);
	if (mc->prov->complete)
		return PP_OK;
	if ((rc = pp_http_global_init()) || (rc = pp_http_client_new(&mc->http))) {
		pp_caller_close(mc);
		return pp_diag_set(diag, rc, NULL, 0, 0, "cannot start the HTTP transport");
	}
	return PP_OK;
}

void pp_caller_close(struct pp_model_caller *mc)
{
	if (mc->prov && mc->ctx)
		mc->prov->close(mc->ctx);
	pp_http_client_free(mc->http);
	memset(mc, 0, sizeof(*mc));
}

struct retry_arg {
	struct pp_model_caller *mc;
};

/* Retry what the transport would, and a 2xx the provider cannot read. */
static bool retry_unreadable(void *arg, const struct pp_http_response *resp)
{
	struct retry_arg *ra = arg;
	struct pp_model_reply probe;
	bool again;

	if (pp_http_retryable(resp))
		return true;
	if (resp->status < 200 || resp->status > 299)
		return false;
	memset(&probe, 0, sizeof(probe));
	again = ra->mc->prov->parse(ra->mc->ctx, resp->status, resp->body.buf, resp->body.len, &probe) &&
		probe.retryable;
	pp_json_decref(probe.message);
	return again;
}

static int add_mock_headers(struct pp_http_request *hr, const struct pp_json *cfg, uint64_t seed)
{
	char *canon = pp_json_canonical(cfg);
	struct pp_buf h = PP_BUF_INIT;
	int rc = canon ? PP_OK : PP_ENOMEM;

	if (!hr->headers && !(hr->headers = pp_json_array()))
		rc = PP_ENOMEM;
	if (!rc)
		rc = pp_buf_addf(&h, "X-Peerpres-Config: %s", canon);
	if (!rc)
		rc = pp_json_append(hr->headers, pp_json_string(h.buf));
	pp_buf_reset(&h);
	if (!rc)
		rc = pp_buf_addf(&h, "X-Peerpres-Seed: %llu", (unsigned long long)seed);
	if (!rc)
		rc = pp_json_append(hr->headers, pp_json_string(h.buf));
	pp_buf_release(&h);
	free(canon);
	return rc;
}

static int http_call(struct pp_model_caller *mc, const struct pp_model_request *req,
		     const struct pp_json *mock_config, struct pp_model_reply *reply)
{
	struct pp_http_request hr;
	struct pp_http_response resp;
	struct pp_http_stats stats;
	struct retry_arg ra = { mc };
	int rc;

	pp_http_request_init(&hr);
	pp_http_response_init(&resp);
	rc = mc->prov->build(mc->ctx, req, &hr);
	if (!rc && mc->local && mock_config)
		rc = add_mock_headers(&hr, mock_config, req->seed);
	if (!rc) {
		mc->policy.seed = req->seed;
		rc = pp_http_call(mc->http, &hr, &mc->policy, retry_unreadable, &ra, &resp, &stats);
		mc->retries += stats.retries;
	}
	if (rc == PP_EPROVIDER)
		snprintf(reply->error, sizeof(reply->error), "%s", resp.error);
	else if (!rc)
		rc = mc->prov->parse(mc->ctx, resp.status, resp.body.buf, resp.body.len, reply);
	if (!rc && resp.route[0])
		snprintf(reply->agent, sizeof(reply->agent), "%s", resp.route);
	pp_http_response_release(&resp);
	pp_http_request_release(&hr);
	return rc;
}

int pp_caller_call(struct pp_model_caller *mc, const struct pp_model_request *req,
		   const struct pp_json *mock_config, struct pp_model_reply *reply)
{
	if (mc->prov->complete)
		return mc->prov->complete(mc->ctx, req, reply);
	return http_call(mc, req, mock_config, reply);
}
