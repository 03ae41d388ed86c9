/*
 * call.h - one model call, whatever the provider: in-process complete(),
 * or an HTTP provider's build -> transport (with retries) -> parse.
 */
#ifndef PP_ENGINE_CALL_H
#define PP_ENGINE_CALL_H

#include <peerpres/http.h>
#include <peerpres/provider.h>

struct pp_model_caller {
	const struct pp_provider_ops *prov;
	void *ctx;
	struct pp_http_client *http;      /* NULL for in-process providers */
	struct pp_http_policy policy;
	bool local;                       /* base URL on this machine: the mock server */
	long retries;                     /* over the run */
};

int pp_caller_open(struct pp_model_caller *mc, const char *model,
		   const struct pp_provider_options *opt, const volatile sig_atomic_t *stop,
		   struct pp_diag *diag);
void pp_caller_close(struct pp_model_caller *mc);

/* One call. `mock_config` (the config's dimensions, model and family) is
 * sent, with the seed, in test-only headers when the endpoint is local, so
 * the mock server can answer as the reference agents. */
int pp_caller_call(struct pp_model_caller *mc, const struct pp_model_request *req,
		   const struct pp_json *mock_config, struct pp_model_reply *reply);

#endif
