/*
 * provider.c - the table of providers and lookup by "provider/model".
 */
#include <string.h>

#include <peerpres/provider.h>

extern const struct pp_provider_ops pp_provider_ref;

const struct pp_provider_ops *const pp_providers[] = {
	&pp_provider_ref,
	NULL
};

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
