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
#include <string.h>

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
	free(w->key_url);
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
	w->resets++;
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

/* ---- formats that merge messages of one role (pp_wire_merged) ---- */

/* Every system message's content, joined by a blank line. */
static int system_text(const struct pp_model_request *req, struct pp_buf *out)
{
	size_t i;
	int rc = PP_OK;

	for (i = 0; !rc && i < pp_json_len(req->messages); i++) {
		const struct pp_json *m = pp_json_at(req->messages, i);

		if (strcmp(pp_json_get_str(m, "role", ""), "system"))
			continue;
		rc = out->len ? pp_buf_adds(out, "\n\n") : PP_OK;
		if (!rc)
			rc = pp_buf_adds(out, pp_json_get_str(m, "content", ""));
	}
	return rc;
}

/* Starts w over from the head: {...,"list":[ */
static int merged_head(const struct pp_wire_merged *f, const void *ctx, struct pp_wire_cache *w,
		       const struct pp_buf *system)
{
	struct pp_json *head = pp_json_object();
	int rc;

	w->n = 0;
	w->n_items = 0;
	pp_buf_reset(&w->text);
	w->resets++;
	pp_buf_reset(&w->system);
	rc = head ? f->head(ctx, system, head) : PP_ENOMEM;
	if (!rc)
		rc = pp_json_dump(head, PP_JSON_COMPACT, &w->text);
	pp_json_decref(head);
	/* The head without its closing brace: "{...". */
	if (!rc)
		w->text.buf[--w->text.len] = '\0';
	if (!rc && w->text.len > 1)
		rc = pp_buf_addc(&w->text, ',');
	if (!rc)
		rc = pp_buf_addf(&w->text, "\"%s\":[", f->list);
	if (!rc)
		rc = pp_buf_add(&w->system, system->buf, system->len);
	return rc;
}

/* The wire messages from internal message w->n on; *last_start: the
 * internal message the last of them starts at. */
static int merged_open(const struct pp_wire_merged *f, const void *ctx,
		       const struct pp_model_request *req, const struct pp_wire_cache *w,
		       struct pp_json **out, size_t *last_start)
{
	struct pp_json *wire = pp_json_array();
	const struct pp_json *state = f->resume ? f->resume(req, w->n) : NULL;
	size_t i, had;
	int rc = wire ? PP_OK : PP_ENOMEM;

	*last_start = w->n;
	for (i = w->n; !rc && i < pp_json_len(req->messages); i++) {
		had = pp_json_len(wire);
		rc = f->push(ctx, req, i, wire, &state);
		if (pp_json_len(wire) > had)
			*last_start = i;
	}
	if (rc) {
		pp_json_decref(wire);
		return rc;
	}
	*out = wire;
	return PP_OK;
}

/* Appends wire messages [from, to) to b, each after a comma when *count
 * are there already. */
static int dump_items(const struct pp_json *wire, size_t from, size_t to, size_t *count,
		      struct pp_buf *b)
{
	int rc = PP_OK;

	for (; !rc && from < to; from++) {
		if (*count && (rc = pp_buf_addc(b, ',')))
			break;
		if (!(rc = pp_json_dump(pp_json_at(wire, from), PP_JSON_COMPACT, b)))
			(*count)++;
	}
	return rc;
}

int pp_wire_merged_body(const struct pp_wire_merged *f, const void *ctx,
			const struct pp_model_request *req, struct pp_wire_cache *w,
			struct pp_buf *out)
{
	struct pp_buf system = PP_BUF_INIT;
	struct pp_json *wire = NULL, *rest = pp_json_object();
	size_t n, last_start, count;
	int rc = rest ? system_text(req, &system) : PP_ENOMEM;

	if (!rc && (!pp_wire_cache_fits(w, f, ctx, req) || system.len != w->system.len ||
		    memcmp(system.buf, w->system.buf, system.len)))
		rc = merged_head(f, ctx, w, &system);
	if (!rc)
		rc = merged_open(f, ctx, req, w, &wire, &last_start);
	/* All but the last wire message are final: into the cache. */
	if (!rc && (n = pp_json_len(wire)) > 1 &&
	    !(rc = dump_items(wire, 0, n - 1, &w->n_items, &w->text)))
		w->n = last_start;
	count = w->n_items;
	if (!rc)
		rc = pp_buf_add(out, w->text.buf, w->text.len);
	if (!rc && (n = pp_json_len(wire)))
		rc = dump_items(wire, n - 1, n, &count, out);
	if (!rc)
		rc = pp_buf_addc(out, ']');
	if (!rc)
		rc = f->tail(ctx, req, rest);
	if (!rc)
		rc = pp_wire_tail(rest, out);
	if (!rc)
		rc = pp_buf_addc(out, '}');
	if (rc)
		w->owner = NULL;   /* half-written: the next request starts over */
	pp_json_decref(wire);
	pp_json_decref(rest);
	pp_buf_release(&system);
	return rc;
}
