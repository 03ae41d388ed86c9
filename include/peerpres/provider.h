/*
 * provider.h - model providers behind one table of functions.
 *
 * A model is named "provider/model" ("ref/synthetic", "openai/gpt-4.1").
 * Every provider turns a request (the transcript so far, the tools, the
 * sampling settings) into one assistant message. Messages use one
 * internal shape whatever the wire format:
 *   {"role":"assistant","content": text or null,"reasoning": text or null,
 *    "tool_calls":[{"id","name","arguments":{...}}]}
 * A model that behaves badly is a reply, never an error: errors are for
 * providers that fail (network, HTTP status, malformed response).
 */
#ifndef PEERPRES_PROVIDER_H
#define PEERPRES_PROVIDER_H

#include <stdint.h>

#include <peerpres/diag.h>
#include <peerpres/json.h>

struct pp_model_request {
	const char *model;                /* the part after "provider/" */
	const struct pp_json *messages;   /* the transcript so far (borrowed) */
	const struct pp_json *tools;      /* tool declarations (borrowed) */
	double temperature;
	uint64_t seed;                    /* the rollout's seed */
	/* The config as rendered (borrowed): only the reference agents read
	 * it, for their routes; real providers never look at it. */
	const struct pp_json *config;
};

struct pp_model_reply {
	struct pp_json *message;          /* new; the caller takes it */
	long input_tokens, output_tokens, reasoning_tokens;
	char error[512];                  /* set when complete() fails */
	char agent[128];                  /* reference agents: the route followed */
};

struct pp_provider_ops {
	const char *name;                 /* "ref" */
	/* Checks the model name; *ctx is the provider's state for a run. */
	int (*open)(void **ctx, const char *model, struct pp_diag *diag);
	void (*close)(void *ctx);
	/* One model call, synchronously. */
	int (*complete)(void *ctx, const struct pp_model_request *req,
			struct pp_model_reply *reply);
};

/* The reference agents' reply to a transcript when following `route` (a
 * rendered route): the next scripted turn, or end_task past the end.
 * *out is a new assistant message. */
int pp_ref_reply(const struct pp_json *route, const struct pp_json *messages,
		 struct pp_json **out);

/* The provider of a "provider/model" id, or NULL. */
const struct pp_provider_ops *pp_provider_find(const char *model);

/* Every provider, NULL-terminated. */
extern const struct pp_provider_ops *const pp_providers[];

#endif
