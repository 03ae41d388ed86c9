/*
 * provider.c - the table of providers and lookup by "provider/model".
 */
#include <string.h>

#include <peerpres/provider.h>

extern const struct pp_provider_ops pp_provider_ref;
extern const struct pp_provider_ops pp_provider_openai;
extern const struct pp_provider_ops pp_provider_openai_compat;
extern const struct pp_provider_ops pp_provider_together;
extern const struct pp_provider_ops pp_provider_anthropic;
extern const struct pp_provider_ops pp_provider_google;

const struct pp_provider_ops *const pp_providers[] = {
	&pp_provider_ref,
	&pp_provider_openai,
	&pp_provider_openai_compat,
	&pp_provider_together,
	&pp_provider_anthropic,
	&pp_provider_google,
	NULL
};

void pp_http_request_init(struct pp_http_request *r)
{
	memset(r, 0, sizeof(*r));
	pp_buf_init(&r->body, PP_BUF_MAX_DEFAULT);
}

void pp_http_request_release(struct pp_http_request *r)
{
	pp_json_decref(r->headers);
	r->headers = NULL;
	pp_buf_release(&r->body);
}

const struct pp_provider_ops *pp_provider_find(const char *model)
{
	const char *slash = model ? strchr(model, '/') : NULL;
	size_t i;

	if (!slash)
		return NULL;
	for (i = 0; pp_providers[i]; i++)
		if (strlen(pp_providers[i]->name) == (size_t)(slash - model) &&
		    !strncmp(pp_providers[i]->name, model, (size_t)(slash - model)))
			return pp_providers[i];
	return NULL;
}
