/*
 * wire_cache.c - a rollout's serialised transcript kept between its
 * requests (struct pp_wire_cache in provider_int.h).
 *
 * A request body is the messages so far plus a few settings, and a
 * rollout's messages never change once sent: serialising the whole
 * transcript on every call was the largest cost of an HTTP call. The
 * cache keeps the text of the messages already serialised; a provider
 * appends the new ones and adds the settings after. Whether the cache
 * may be used is checked on every request (format, provider, transcript,
 * length), so a cache handed the wrong transcript is rebuilt, never
 * trusted.
 */
#include <stdlib.h>

#include <peerpres/status.h>

#include "core/alloc.h"
#include "provider/provider_int.h"

int pp_wire_cache_new(struct pp_wire_cache **out)
{
	struct pp_wire_cache *w = pp_calloc(1, sizeof(*w));

	*out = w;
	if (!w)
		return PP_ENOMEM;
	pp_buf_init(&w->text, PP_BUF_MAX_DEFAULT);
	pp_buf_init(&w->tools_text, PP_BUF_MAX_DEFAULT);
	pp_buf_init(&w->system, PP_BUF_MAX_DEFAULT);
	return PP_OK;
}

void pp_wire_cache_free(struct pp_wire_cache *w)
{
	if (!w)
		return;
	pp_buf_release(&w->text);
	pp_buf_release(&w->tools_text);
	pp_buf_release(&w->system);
	free(w);
}

bool pp_wire_cache_fits(struct pp_wire_cache *w, const void *owner, const void *ctx,
			const struct pp_model_request *req)
{
	if (w->owner == owner && w->ctx == ctx && w->messages == req->messages &&
	    w->n <= pp_json_len(req->messages) && w->text.len)
		return true;
	w->owner = owner;
	w->ctx = ctx;
	w->messages = req->messages;
	w->n = 0;
	pp_buf_reset(&w->text);
	w->tools = NULL;
	w->n_tools = 0;
	pp_buf_reset(&w->tools_text);
	w->n_items = 0;
	pp_buf_reset(&w->system);
	return false;
}

int pp_wire_tail(const struct pp_json *obj, struct pp_buf *b)
{
	struct pp_buf t = PP_BUF_INIT;
	int rc = obj ? pp_json_dump(obj, PP_JSON_COMPACT, &t) : PP_OK;

	/* t is {...}: its inside, after a comma. */
	if (!rc && t.len > 2 && !(rc = pp_buf_addc(b, ',')))
		rc = pp_buf_add(b, t.buf + 1, t.len - 2);
	pp_buf_release(&t);
	return rc;
}
