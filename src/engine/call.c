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

#include <peerpres/hash.h>
#include <peerpres/run.h>
#include <peerpres/status.h>

#include "core/alloc.h"
#include "engine/call.h"
#include "provider/provider_int.h"

static const struct pp_provider_ops *find_provider(const char *model, struct pp_diag *diag)
{
	const struct pp_provider_ops *prov = pp_provider_find(model);

	if (!prov)
		pp_diag_set(diag, PP_EUSAGE, NULL, 0, 0,
			    "unknown provider in model '%s' (see 'peerpres list models')", model);
	return prov;
}

/* What opening the caller checks, short of the key: plan must refuse
 * what run refuses, with the same words, and needs no key to do it. An
 * in-process provider is opened and closed (it costs nothing); an HTTP
 * provider's base URL is checked as its open() would. */
int pp_run_check_model(const struct pp_run_options *opt, struct pp_diag *diag)
{
	const struct pp_provider_ops *prov = find_provider(opt->model, diag);
	void *ctx = NULL;
	int rc;

	if (!prov)
		return PP_EUSAGE;
	if (!prov->complete)
		return (rc = pp_model_name_check(prov->name, strchr(opt->model, '/') + 1, diag)) ? rc :
		       opt->provider.base_url ?
		       pp_base_url_check(prov->name, opt->provider.base_url, diag) : PP_OK;
	if ((rc = prov->open(&ctx, strchr(opt->model, '/') + 1, &opt->provider, diag)))
		return rc;
	prov->close(ctx);
	return PP_OK;
}

int pp_caller_open(struct pp_model_caller *mc, const char *model,
		   const struct pp_provider_options *opt, const volatile sig_atomic_t *stop,
		   long max_connections, struct pp_diag *diag)
{
	int rc;

	memset(mc, 0, sizeof(*mc));
	if (!(mc->prov = find_provider(model, diag)))
		return PP_EUSAGE;
	if ((rc = mc->prov->open(&mc->ctx, strchr(model, '/') + 1, opt, diag)))
		return rc;
	mc->policy.stop = stop;
	mc->local = opt && pp_url_is_loopback(opt->base_url);
	if (mc->prov->complete)
		return PP_OK;
	if ((rc = pp_http_global_init()) || (rc = pp_http_client_new(&mc->http)) ||
	    (rc = pp_http_multi_new(&mc->multi, &mc->policy, max_connections))) {
		pp_caller_close(mc);
		return pp_diag_set(diag, rc, NULL, 0, 0, "cannot start the HTTP transport");
	}
	return PP_OK;
}

void pp_caller_close(struct pp_model_caller *mc)
{
	if (mc->prov && mc->ctx)
		mc->prov->close(mc->ctx);
	pp_http_multi_free(mc->multi);
	pp_http_client_free(mc->http);
	pp_json_decref(mc->mock_config);
	free(mc->mock_header);
	memset(mc, 0, sizeof(*mc));
}

bool pp_caller_in_process(const struct pp_model_caller *mc)
{
	return mc->prov->complete != NULL;
}

/* Retry what the transport would, and a 2xx the provider cannot read
 * (arg: the call). A 2xx read here is kept, so no body is parsed twice. */
static bool retry_unreadable(void *arg, const struct pp_http_response *resp)
{
	struct pp_caller_call *call = arg;
	struct pp_model_caller *mc = call->mc;
	int rc;

	if (pp_http_retryable(resp))
		return true;
	if (resp->status < 200 || resp->status > 299)
		return false;
	memset(&call->reply, 0, sizeof(call->reply));
	rc = mc->prov->parse(mc->ctx, resp->status, resp->body.buf, resp->body.len, &call->reply);
	if (rc && call->reply.retryable) {
		pp_json_decref(call->reply.message);
		memset(&call->reply, 0, sizeof(call->reply));
		return true;
	}
	call->parsed = true;
	call->parse_rc = rc;
	return false;
}

/* The config header of cfg. A config's rollouts ask in a row, so the
 * last one is kept; holding a reference to its config keeps its address
 * from being reused by another while it is kept. */
static const char *config_header(struct pp_model_caller *mc, const struct pp_json *cfg)
{
	struct pp_buf h = PP_BUF_INIT;
	char *canon;

	if (mc->mock_header && mc->mock_config == cfg)
		return mc->mock_header;
	pp_json_decref(mc->mock_config);
	free(mc->mock_header);
	mc->mock_config = NULL;
	mc->mock_header = NULL;
	if (!(canon = pp_json_canonical(cfg)))
		return NULL;
	if (!pp_buf_addf(&h, "X-Peerpres-Config: %s", canon)) {
		mc->mock_header = pp_buf_detach(&h, NULL);
		mc->mock_config = mc->mock_header ? pp_json_incref((struct pp_json *)cfg) : NULL;
	}
	pp_buf_release(&h);
	free(canon);
	return mc->mock_header;
}

static int add_mock_headers(struct pp_model_caller *mc, struct pp_http_request *hr,
			    const struct pp_json *cfg, uint64_t seed)
{
	const char *config = config_header(mc, cfg);
	struct pp_buf h = PP_BUF_INIT;
	int rc = config ? PP_OK : PP_ENOMEM;

	if (!hr->headers && !(hr->headers = pp_json_array()))
		rc = PP_ENOMEM;
	if (!rc)
		rc = pp_json_append(hr->headers, pp_json_string(config));
	if (!rc)
		rc = pp_buf_addf(&h, "X-Peerpres-Seed: %llu", (unsigned long long)seed);
	if (!rc)
		rc = pp_json_append(hr->headers, pp_json_string(h.buf));
	pp_buf_release(&h);
	return rc;
}

/* The provider's request, with the mock server's headers when local. */
static int build_request(struct pp_model_caller *mc, const struct pp_model_request *req,
			 const struct pp_json *mock_config, struct pp_http_request *hr)
{
	int rc = mc->prov->build(mc->ctx, req, hr);

	if (!rc && mc->local && mock_config)
		rc = add_mock_headers(mc, hr, mock_config, req->seed);
	return rc;
}

/* The key's head: the provider and the URL without its query (where
 * Gemini keys may travel). */
static void key_head(const struct pp_model_caller *mc, const char *url, struct pp_sha256 *h)
{
	pp_sha256_init(h);
	pp_sha256_update(h, mc->prov->name, strlen(mc->prov->name) + 1);
	pp_sha256_update(h, url, strcspn(url, "?") + 1);
}

/* Whether w's saved digest state may go on with this request: same
 * provider context and URL, and text not emptied since it was saved. */
static bool key_state_fits(const struct pp_model_caller *mc, const struct pp_wire_cache *w,
			   const char *url)
{
	return w->key_url && w->key_ctx == mc->ctx && w->key_resets == w->resets &&
	       w->key_len <= w->text.len && !strcmp(w->key_url, url);
}

/*
 * The state after the head and the part of the body w's text holds; the
 * number of body bytes it covers. A body is its transcript's text then
 * the rest, so what a rollout sent before is hashed once, not on every
 * call (the body is checked to start with the text, so a provider that
 * built it otherwise only costs the saving).
 */
static size_t key_prefix(const struct pp_model_caller *mc, struct pp_wire_cache *w,
			 const struct pp_http_request *hr, struct pp_sha256 *h)
{
	size_t from = 0;
	char *url;

	if (!w || !w->text.len || w->text.len > hr->body.len ||
	    memcmp(w->text.buf, hr->body.buf, w->text.len)) {
		key_head(mc, hr->url, h);
		return 0;
	}
	if (key_state_fits(mc, w, hr->url)) {
		*h = w->key_state;
		from = w->key_len;
	} else {
		key_head(mc, hr->url, h);
	}
	pp_sha256_update(h, hr->body.buf + from, w->text.len - from);
	if (from || (url = pp_strdup(hr->url))) {
		if (!from) {
			free(w->key_url);
			w->key_url = url;
		}
		w->key_state = *h;
		w->key_len = w->text.len;
		w->key_resets = w->resets;
		w->key_ctx = mc->ctx;
	}
	return w->text.len;
}

/* The digest of everything that decides the answer: the key's head, the
 * body and the seed. Headers stay out: they carry the key. */
void pp_caller_request_key(const struct pp_model_caller *mc, const struct pp_http_request *hr,
			   struct pp_wire_cache *w, uint64_t seed, char key[65])
{
	static const char hex[] = "0123456789abcdef";
	struct pp_sha256 h;
	unsigned char d[32];
	char seed_text[32];
	size_t i, from = key_prefix(mc, w, hr, &h);

	pp_sha256_update(&h, hr->body.buf + from, hr->body.len - from + 1);
	snprintf(seed_text, sizeof(seed_text), "%llu", (unsigned long long)seed);
	pp_sha256_update(&h, seed_text, strlen(seed_text));
	pp_sha256_final(&h, d);
	for (i = 0; i < 32; i++) {
		key[2 * i] = hex[d[i] >> 4];
		key[2 * i + 1] = hex[d[i] & 15];
	}
	key[64] = '\0';
}

/* Through the owner (its batch or its storing thread), or to the cache. */
static int write_entry(struct pp_model_caller *mc, const char *key, const char *entry,
		       size_t len)
{
	if (mc->write_cache)
		return mc->write_cache(mc->write_arg, key, entry, len);
	return pp_store_cache_put(mc->cache, key, entry, len);
}

/*
 * A cache entry is the response body, then, when the answer named the
 * mock server's route (the agent a rerun must record too), a NUL and the
 * route. A JSON body holds no NUL byte, so the split is unambiguous and
 * entries written before the route was kept read as bodies alone.
 */
static int cache_put(struct pp_model_caller *mc, const char *key,
		     const struct pp_http_response *resp)
{
	struct pp_buf entry = PP_BUF_INIT;
	int rc;

	if (!resp->route[0])
		return write_entry(mc, key, resp->body.buf, resp->body.len);
	rc = pp_buf_add(&entry, resp->body.buf, resp->body.len);
	if (!rc)
		rc = pp_buf_addc(&entry, '\0');
	if (!rc)
		rc = pp_buf_adds(&entry, resp->route);
	if (!rc)
		rc = write_entry(mc, key, entry.buf, entry.len);
	pp_buf_release(&entry);
	return rc;
}

/* The cached answer to the call's request, read into call->reply. A
 * cached body the provider can no longer read counts as a miss. */
static bool from_cache(struct pp_model_caller *mc, struct pp_caller_call *call)
{
	struct pp_buf body;
	const char *route;
	size_t len;
	bool hit = false;

	if (mc->cache_cold)
		return false;
	pp_buf_init(&body, 64u << 20);
	if (!pp_store_cache_get(mc->cache, call->key, &body, &hit) && hit) {
		route = memchr(body.buf, '\0', body.len);
		len = route ? (size_t)(route - body.buf) : body.len;
		memset(&call->reply, 0, sizeof(call->reply));
		if (mc->prov->parse(mc->ctx, 200, body.buf, len, &call->reply)) {
			pp_json_decref(call->reply.message);
			memset(&call->reply, 0, sizeof(call->reply));
			hit = false;
		} else if (route) {
			snprintf(call->reply.agent, sizeof(call->reply.agent), "%.*s",
				 (int)(body.len - len - 1), route + 1);
		}
	}
	pp_buf_release(&body);
	mc->cache_hits += hit;
	return hit;
}

/* The reply from the transport's outcome rc and the last response. */
static int read_reply(struct pp_caller_call *call, int rc, const struct pp_http_response *resp)
{
	struct pp_model_caller *mc = call->mc;
	struct pp_model_reply *reply = &call->reply;

	if (rc == PP_EPROVIDER)
		snprintf(reply->error, sizeof(reply->error), "%s", resp->error);
	else if (!rc && call->parsed)
		rc = call->parse_rc;
	else if (!rc)
		rc = mc->prov->parse(mc->ctx, resp->status, resp->body.buf, resp->body.len, reply);
	if (!rc && resp->route[0])
		snprintf(reply->agent, sizeof(reply->agent), "%s", resp->route);
	/* A cache that cannot be written costs a rerun money, not this run
	 * its answer: the error is not the call's. */
	if (!rc && call->key[0])
		cache_put(mc, call->key, resp);
	return rc;
}

static int http_call(struct pp_model_caller *mc, const struct pp_model_request *req,
		     const struct pp_json *mock_config, struct pp_model_reply *reply)
{
	struct pp_caller_call call;
	struct pp_http_response resp;
	struct pp_http_stats stats = { 0, 0, 0, 0 };
	int rc;

	memset(&call, 0, sizeof(call));
	call.mc = mc;
	pp_http_request_init(&call.hr);
	pp_http_response_init(&resp);
	rc = build_request(mc, req, mock_config, &call.hr);
	if (!rc && mc->cache) {
		pp_caller_request_key(mc, &call.hr, req->wire, req->seed, call.key);
		if (from_cache(mc, &call)) {
			*reply = call.reply;
			pp_http_request_release(&call.hr);
			pp_http_response_release(&resp);
			return PP_OK;
		}
	}
	if (!rc) {
		mc->policy.seed = req->seed;
		rc = pp_http_call(mc->http, &call.hr, &mc->policy, retry_unreadable, &call, &resp,
				  &stats);
		mc->retries += stats.retries;
		rc = read_reply(&call, rc, &resp);
	}
	*reply = call.reply;
	pp_http_response_release(&resp);
	pp_http_request_release(&call.hr);
	return rc;
}

static void on_response(void *arg, int rc, struct pp_http_response *resp,
			const struct pp_http_stats *stats)
{
	struct pp_caller_call *call = arg;

	rc = read_reply(call, rc, resp);
	pp_http_request_release(&call->hr);
	call->done(call->arg, rc, &call->reply, stats);
}

int pp_caller_start(struct pp_model_caller *mc, struct pp_caller_call *call,
		    const struct pp_model_request *req, const struct pp_json *mock_config,
		    pp_caller_done_fn done, void *arg, bool *answered)
{
	int rc;

	memset(call, 0, sizeof(*call));
	call->mc = mc;
	call->done = done;
	call->arg = arg;
	*answered = false;
	pp_http_request_init(&call->hr);
	rc = build_request(mc, req, mock_config, &call->hr);
	if (!rc && mc->cache) {
		pp_caller_request_key(mc, &call->hr, req->wire, req->seed, call->key);
		if ((*answered = from_cache(mc, call))) {
			pp_http_request_release(&call->hr);
			return PP_OK;
		}
	}
	if (!rc)
		rc = pp_http_multi_add(mc->multi, &call->hr, req->seed, retry_unreadable, call,
				       on_response, call);
	if (rc)
		pp_http_request_release(&call->hr);
	return rc;
}

int pp_caller_step(struct pp_model_caller *mc, long timeout_ms)
{
	return pp_http_multi_step(mc->multi, timeout_ms);
}

long pp_caller_retries(const struct pp_model_caller *mc)
{
	return mc->retries + pp_http_multi_retries(mc->multi);
}

const char *pp_caller_last_error(const struct pp_model_caller *mc)
{
	return pp_http_multi_last_error(mc->multi);
}

int pp_caller_call(struct pp_model_caller *mc, const struct pp_model_request *req,
		   const struct pp_json *mock_config, struct pp_model_reply *reply)
{
	if (mc->prov->complete)
		return mc->prov->complete(mc->ctx, req, reply);
	return http_call(mc, req, mock_config, reply);
}
