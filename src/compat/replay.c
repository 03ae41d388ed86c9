/*
 * replay.c - a parsed upstream transcript played again in a fresh world
 * of its config, labelled by our detectors, and stored.
 *
 * The transcript is the truth about what ran: a turn's calls are applied
 * when the transcript shows their results, in the order shown, under the
 * loop rules of SCENARIOS.md section 2 (a turn whose last call is
 * end_task runs nothing and ends the rollout; a turn without calls is a
 * nudge; past 5 nudges the rollout ended). A call whose success in our
 * world differs from the transcript's (the study saved no errors: an
 * empty result, or one starting "Failed to ", was a failure) is a
 * divergence, reported on the rollout, never smoothed over.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <peerpres/compat.h>
#include <peerpres/hash.h>
#include <peerpres/labels.h>
#include <peerpres/rollout.h>
#include <peerpres/run.h>
#include <peerpres/status.h>
#include <peerpres/world.h>

#include "compat/compat_int.h"
#include "core/alloc.h"
#include "scenario/detectors.h"

#include "version.h"   /* PP_VERSION, made by the Makefile */

#define DETAIL_MAX 200

struct replay {
	const struct pp_json *parsed;
	struct pp_world *world;
	struct pp_json *divergences, *flags;
	const char *stop;
	int last_turn;      /* the last turn the rollout reached */
	struct pp_json *state, *log;   /* the world's at the end, once made */
};

static bool upstream_ok(const char *content)
{
	return content && *content && strncmp(content, "Failed to ", 10);
}

static int diverge(struct replay *r, int turn, const struct pp_json *res, bool ours,
		   const char *content, const char *our_text)
{
	struct pp_json *d = pp_json_object();
	size_t n = strlen(our_text);
	int rc = d ? PP_OK : PP_ENOMEM;

	if (!rc)
		rc = pp_json_set(d, "turn", pp_json_integer(turn));
	if (!rc)
		rc = pp_json_set_str(d, "tool", pp_json_get_str(res, "name", ""));
	if (!rc)
		rc = pp_json_set(d, "args", pp_json_deep_copy(pp_json_get(res, "arguments")));
	if (!rc)
		rc = pp_json_set_str(d, "ours", ours ? "succeeded" : "failed");
	if (!rc)
		rc = pp_json_set_str(d, "upstream", !*content ? "empty result (failed)" :
				     upstream_ok(content) ? "result (succeeded)" : "failure text");
	if (!rc)
		rc = pp_json_set(d, "detail", pp_json_stringn(our_text, n < DETAIL_MAX ? n : DETAIL_MAX));
	if (!rc) {
		rc = pp_json_append(r->divergences, d);
		d = NULL;
	}
	pp_json_decref(d);
	return rc;
}

static int apply_turn(struct replay *r, const struct pp_json *turn, struct pp_buf *out)
{
	const struct pp_json *results = pp_json_get(turn, "results");
	long long t = 0;
	size_t i;
	bool ok;
	int rc = PP_OK;

	pp_json_int(pp_json_get(turn, "turn"), &t);
	pp_world_set_turn(r->world, (int)t);
	for (i = 0; !rc && i < pp_json_len(results); i++) {
		const struct pp_json *res = pp_json_at(results, i);
		const char *content = pp_json_get_str(res, "content", "");

		pp_buf_reset(out);
		rc = pp_world_call(r->world, pp_json_get_str(res, "name", ""),
				   pp_json_get(res, "arguments"), out, &ok);
		if (!rc && ok != upstream_ok(content))
			rc = diverge(r, (int)t, res, ok, content, out->buf);
	}
	return rc;
}

static bool last_is_end_task(const struct pp_json *calls)
{
	size_t n = pp_json_len(calls);

	return n && !strcmp(pp_json_get_str(pp_json_at(calls, n - 1), "name", ""), "end_task");
}

/* Walks the turns under the loop rules. */
static int walk(struct replay *r)
{
	const struct pp_json *turns = pp_json_get(r->parsed, "turns");
	struct pp_buf out = PP_BUF_INIT;
	size_t i, n = pp_json_len(turns), after = 0;
	int nudges = 0, rc = PP_OK;

	pp_buf_init(&out, (size_t)1 << 20);
	r->stop = "transcript_end";
	for (i = 0; !rc && i < n; i++) {
		const struct pp_json *turn = pp_json_at(turns, i);
		const struct pp_json *calls = pp_json_get(turn, "calls");
		size_t n_res = pp_json_len(pp_json_get(turn, "results"));

		if (strcmp(r->stop, "transcript_end")) {
			after++;
			continue;
		}
		r->last_turn = (int)i + 1;
		if (!pp_json_len(calls)) {
			if (++nudges > PP_MAX_NUDGES)
				r->stop = "nudge_limit";
			continue;
		}
		if (last_is_end_task(calls)) {
			r->stop = "end_task";
			if (n_res)
				rc = pp_compat_note(r->flags, "turn %zu: results shown for a turn ending with "
						    "end_task were not applied (the loop runs none of it)", i + 1);
			continue;
		}
		if (!n_res) {
			if (i + 1 == n)
				r->stop = "not_run";
			rc = pp_compat_note(r->flags, "turn %zu: %zu call(s) without results were not applied%s",
					    i + 1, pp_json_len(calls), i + 1 == n ?
					    " (the rollout ended before running them)" : "");
			continue;
		}
		if (n_res < pp_json_len(calls))
			rc = pp_compat_note(r->flags, "turn %zu: %zu calls but %zu results; the results "
					    "were applied", i + 1, pp_json_len(calls), n_res);
		if (!rc)
			rc = apply_turn(r, turn, &out);
	}
	if (!rc && after)
		rc = pp_compat_note(r->flags, "%zu turn(s) after the rollout ended (%s) were not replayed",
				    after, r->stop);
	pp_buf_release(&out);
	return rc;
}

/* What the agent wrote up to the end of the rollout. */
static int texts_until(const struct pp_json *texts, int last_turn, struct pp_json **out)
{
	struct pp_json *a = pp_json_array();
	long long t;
	size_t i;
	int rc = a ? PP_OK : PP_ENOMEM;

	for (i = 0; !rc && i < pp_json_len(texts); i++)
		if (pp_json_int(pp_json_get(pp_json_at(texts, i), "turn"), &t) && t <= last_turn)
			rc = pp_json_append(a, pp_json_incref(pp_json_at(texts, i)));
	if (rc) {
		pp_json_decref(a);
		return rc;
	}
	*out = a;
	return PP_OK;
}

static bool value_true(const struct pp_json *labels, const char *name)
{
	return pp_json_is_true(pp_json_get(pp_json_get(labels, name), "value"));
}

/* One status per rollout, as rollout.c decides it. */
static const char *status_of(const struct pp_json *labels, const struct pp_json *required,
			     const char *stop)
{
	size_t i;

	if (value_true(labels, "refused"))
		return "refused";
	if (value_true(labels, "fully_incomplete"))
		return "incomplete";
	for (i = 0; i < pp_json_len(required); i++)
		if (!pp_json_is_true(pp_json_get(pp_json_get(labels, pp_json_str(pp_json_at(required, i))),
						 "decided")))
			return stop && strcmp(stop, "end_task") ? "incomplete" : "pending_judge";
	return "scored";
}

/* The study's labels in our label shape, for transcripts we cannot replay. */
static int upstream_as_labels(const struct pp_json *up, struct pp_json **out)
{
	struct pp_json *o = pp_json_object();
	void *it;
	int rc = o ? PP_OK : PP_ENOMEM;

	for (it = pp_json_iter(up); !rc && it; it = pp_json_iter_next(up, it)) {
		struct pp_json *l = pp_json_object();

		rc = l ? PP_OK : PP_ENOMEM;
		if (!rc)
			rc = pp_json_set(l, "value", pp_json_deep_copy(pp_json_iter_value(it)));
		if (!rc)
			rc = pp_json_set(l, "decided", pp_json_bool(true));
		if (!rc)
			rc = pp_json_set_str(l, "source", "upstream");
		if (!rc)
			rc = pp_json_set_str(l, "evidence", "the study's label (not replayed)");
		if (!rc)
			rc = pp_json_set(l, "turn", pp_json_null());
		if (!rc)
			rc = pp_json_set(o, pp_json_iter_key(it), l);
		else
			pp_json_decref(l);
	}
	if (rc) {
		pp_json_decref(o);
		return rc;
	}
	*out = o;
	return PP_OK;
}

static int set_copy(struct pp_json *o, const char *k, const struct pp_json *v)
{
	return pp_json_set(o, k, v ? pp_json_deep_copy(v) : pp_json_null());
}

/* The rollout record shares the parsed record's large parts rather than
 * copying them: neither is changed once made. */
static int set_shared(struct pp_json *o, const char *k, const struct pp_json *v)
{
	return pp_json_set(o, k, v ? pp_json_incref((struct pp_json *)v) : pp_json_null());
}

/* An id for configs we could not render: the inputs that name them. */
static int fallback_id(const struct pp_json *parsed, const char *model, char id[65])
{
	struct pp_json *o = pp_json_object();
	char *canon = NULL;
	int rc = o ? PP_OK : PP_ENOMEM;

	if (!rc)
		rc = set_copy(o, "dims", pp_json_get(parsed, "dims"));
	if (!rc)
		rc = pp_json_set_str(o, "model", model);
	if (!rc)
		rc = set_copy(o, "family", pp_json_get(parsed, "family"));
	if (!rc)
		rc = set_copy(o, "harness", pp_json_get(parsed, "harness"));
	if (!rc)
		rc = pp_json_set_str(o, "kind", "import, not replayed");
	if (!rc && !(canon = pp_json_canonical(o)))
		rc = PP_ENOMEM;
	if (!rc)
		pp_sha256_hex(canon, strlen(canon), id);
	free(canon);
	pp_json_decref(o);
	return rc;
}

/* A config id mixed with the one our export carried, when it did and
 * it is not this very id (an imported rollout exported again). */
static void with_origin(const struct pp_json *parsed, char id[65])
{
	const char *origin = pp_json_get_str(parsed, "origin_config_id", NULL);
	char both[140];

	if (!origin || !strcmp(origin, id))
		return;
	snprintf(both, sizeof(both), "%s:%s", id, origin);
	pp_sha256_hex(both, strlen(both), id);
}

static int config_record(const struct pp_json *parsed, const struct pp_scenario *s,
			 const struct pp_json *rendered, const char *model, const char *id,
			 struct pp_json **out)
{
	const struct pp_json *dims = pp_json_get(parsed, "dims");
	struct pp_json *c = pp_json_deep_copy(dims);
	size_t i;
	int rc = c ? PP_OK : PP_ENOMEM;

	if (!rc)
		rc = pp_json_set_str(c, "config_id", id);
	if (!rc)
		rc = pp_json_set_str(c, "model", model);
	if (!rc)
		rc = set_copy(c, "family", pp_json_get(parsed, "family"));
	if (!rc)
		rc = pp_json_set(c, "route", pp_json_null());
	if (!rc)
		rc = pp_json_set(c, "reasoning", pp_json_null());
	if (!rc)
		rc = set_copy(c, "max_iters", pp_json_get(parsed, "max_iters"));
	if (!rc)
		rc = set_copy(c, "temperature", pp_json_get(parsed, "temperature"));
	if (!rc)
		rc = pp_json_set_str(c, "scenario_hash", s ? pp_scenario_hash(s) : NULL);
	if (!rc && pp_json_get(parsed, "origin_config_id"))
		rc = set_copy(c, "origin_config_id", pp_json_get(parsed, "origin_config_id"));
	for (i = 0; !rc && pp_json_get(parsed, "origin_arm") && pp_compat_arm_keys[i]; i++) {
		char origin[64];

		snprintf(origin, sizeof(origin), "origin_%s", pp_compat_arm_keys[i]);
		rc = set_copy(c, origin, pp_json_get(pp_json_get(parsed, "origin_arm"),
						     pp_compat_arm_keys[i]));
	}
	if (!rc)
		rc = rendered ? set_copy(c, "required_labels", pp_json_get(rendered, "required_labels"))
			      : pp_json_set(c, "required_labels", pp_json_array());
	if (!rc)
		rc = set_copy(c, "names", pp_json_get(rendered, "names"));
	if (!rc)
		rc = pp_json_set(c, "truth", pp_json_null());
	if (!rc)
		rc = pp_json_set_str(c, "source", "import");
	if (rc) {
		pp_json_decref(c);
		return rc;
	}
	*out = c;
	return PP_OK;
}

static int replay_block(const struct pp_json *parsed, bool replayable, const char *why_not,
			struct pp_json *divergences, struct pp_json *flags, struct pp_json **out)
{
	struct pp_json *b = pp_json_object();
	int rc = b ? PP_OK : PP_ENOMEM;

	(void)parsed;
	if (!rc)
		rc = pp_json_set(b, "replayable", pp_json_bool(replayable));
	if (!rc)
		rc = pp_json_set_str(b, "why_not", why_not);
	if (!rc)
		rc = pp_json_set(b, "divergences", divergences ? pp_json_incref(divergences) : pp_json_array());
	if (!rc)
		rc = pp_json_set(b, "flags", pp_json_incref(flags));
	if (rc) {
		pp_json_decref(b);
		return rc;
	}
	*out = b;
	return PP_OK;
}

/* The agent saw the study's own tool replies, kept in `messages`; our
 * world's text for a call that succeeded is what replaying the
 * transcript gives again, so it is not stored (a sixth of a study
 * rollout's bytes, the largest part written twice). A call that failed
 * in our world keeps our error: it tells why the replay diverged. */
static void drop_replayed_results(struct pp_json *log)
{
	size_t i;

	for (i = 0; i < pp_json_len(log); i++)
		if (pp_json_is_true(pp_json_get(pp_json_at(log, i), "ok")))
			pp_json_remove(pp_json_at(log, i), 0, "result");
}

static int rollout_record(const struct pp_json *parsed, struct replay *r, const char *model,
			  const struct pp_scenario *s, struct pp_json *labels, const char *status,
			  struct pp_json **out)
{
	struct pp_json *o = pp_json_object(), *prov = pp_json_object(), *block = NULL;
	struct pp_json *state = r->state ? pp_json_incref(r->state) : pp_json_null();
	struct pp_json *log = r->log ? pp_json_incref(r->log) : pp_json_array();
	int rc = o && prov && state && log ? PP_OK : PP_ENOMEM;

	if (!rc)
		rc = pp_json_set_str(prov, "version", PP_VERSION);
	if (!rc)
		rc = pp_json_set_str(prov, "importer", "compat");
	if (!rc)
		rc = pp_json_set_str(prov, "model", model);
	if (!rc)
		rc = pp_json_set_str(prov, "scenario_hash", s ? pp_scenario_hash(s) : NULL);
	if (!rc)
		rc = pp_json_set_str(o, "status", status);
	if (!rc)
		rc = set_copy(o, "error", pp_json_get(parsed, "carried_error"));
	if (!rc)
		rc = pp_json_set(o, "agent", pp_json_null());
	if (!rc)
		rc = pp_json_set(o, "seed", pp_json_null());
	if (!rc)
		rc = set_copy(o, "started_at", pp_json_get(parsed, "started_at"));
	if (!rc)
		rc = set_copy(o, "finished_at", pp_json_get(parsed, "finished_at"));
	if (!rc)
		rc = pp_json_set(o, "n_model_calls", pp_json_integer((long long)pp_json_len(pp_json_get(parsed, "turns"))));
	if (!rc)
		rc = set_copy(o, "usage", pp_json_get(parsed, "usage"));
	if (!rc)
		rc = set_copy(o, "cost_usd", pp_json_get(parsed, "cost_usd"));
	if (!rc) {
		rc = pp_json_set(o, "provenance", prov);
		prov = NULL;
	}
	if (!rc)
		rc = set_shared(o, "messages", pp_json_get(parsed, "messages"));
	if (!rc) {
		drop_replayed_results(log);
		rc = pp_json_set(o, "tool_calls", log);
		log = NULL;
	}
	if (!rc) {
		rc = pp_json_set(o, "final_state", state);
		state = NULL;
	}
	if (!rc)
		rc = pp_json_set(o, "labels", pp_json_incref(labels));
	if (!rc)
		rc = pp_json_set_str(o, "stop_reason", r->stop);
	if (!rc)
		rc = set_shared(o, "upstream_labels", pp_json_get(parsed, "upstream_labels"));
	if (!rc)
		rc = set_shared(o, "upstream_evaluation", pp_json_get(parsed, "upstream_raw"));
	if (!rc)
		rc = set_copy(o, "source_key", pp_json_get(parsed, "source_key"));
	if (!rc)
		rc = set_copy(o, "content_key", pp_json_get(parsed, "content_key"));
	if (!rc)
		rc = set_copy(o, "match_keys", pp_json_get(parsed, "match_keys"));
	if (!rc)
		rc = replay_block(parsed, r->world != NULL, pp_json_get_str(parsed, "why_not", NULL),
				  r->divergences, r->flags, &block);
	if (!rc) {
		rc = pp_json_set(o, "replay", block);
		block = NULL;
	}
	pp_json_decref(prov);
	pp_json_decref(state);
	pp_json_decref(log);
	if (rc) {
		pp_json_decref(o);
		return rc;
	}
	*out = o;
	return PP_OK;
}

/* ---- renders kept per config ---- */

/* Rendering a config and compiling its detectors cost more than the
 * replay itself, and a dataset holds many transcripts of each config.
 * A render takes about 400 KB with its detectors, which configs with
 * the same label sections share (detectors.h): a worker met each of the
 * 271 configs of the benchmark's file and compiled their detectors 271
 * times, 8% of the import's CPU, where ten sets are enough. */
#define CACHE_SLOTS 256

/* Grid cells dims.c asked about; forgotten all at once past this. */
#define GRID_MEMO_MAX 4096

struct pp_compat_cache {
	struct {
		char *key;
		struct pp_json *rendered;
		struct pp_labels *labels;
	} *slot;
	size_t n_slots;
	size_t next;    /* the slot to replace next */
	struct pp_json *index;  /* {key: slot} */
	struct pp_json *grid;   /* dims.c's memo: {key: value} */
	struct pp_detector_cache *detectors;   /* the slots' labels come from it */
};

int pp_compat_cache_new_sized(struct pp_compat_cache **out, size_t renders)
{
	struct pp_compat_cache *c = pp_calloc(1, sizeof(*c));

	*out = NULL;
	if (!c)
		return PP_ENOMEM;
	c->n_slots = renders ? renders : 1;
	if (!(c->slot = pp_calloc(c->n_slots, sizeof(*c->slot))) || !(c->grid = pp_json_object()) ||
	    !(c->index = pp_json_object()) || pp_detector_cache_new(&c->detectors)) {
		pp_compat_cache_free(c);
		return PP_ENOMEM;
	}
	*out = c;
	return PP_OK;
}

int pp_compat_cache_new(struct pp_compat_cache **out)
{
	return pp_compat_cache_new_sized(out, CACHE_SLOTS);
}

const struct pp_json *pp_compat_cache_grid_get(struct pp_compat_cache *c, const char *key)
{
	return c ? pp_json_get(c->grid, key) : NULL;
}

int pp_compat_cache_grid_put(struct pp_compat_cache *c, const char *key, struct pp_json *v)
{
	if (!c) {
		pp_json_decref(v);
		return v ? PP_OK : PP_ENOMEM;
	}
	if (pp_json_len(c->grid) >= GRID_MEMO_MAX) {
		struct pp_json *fresh = pp_json_object();

		if (!fresh) {
			pp_json_decref(v);
			return PP_ENOMEM;
		}
		pp_json_decref(c->grid);
		c->grid = fresh;
	}
	return pp_json_set(c->grid, key, v);
}

void pp_compat_cache_free(struct pp_compat_cache *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; c->slot && i < c->n_slots; i++) {
		free(c->slot[i].key);
		pp_json_decref(c->slot[i].rendered);
		pp_detectors_put(c->detectors, c->slot[i].labels);
	}
	free(c->slot);
	pp_detector_cache_free(c->detectors);
	pp_json_decref(c->grid);
	pp_json_decref(c->index);
	free(c);
}

/* v as 16 hex digits. */
static int add_hex64(struct pp_buf *b, uint64_t v)
{
	static const char digits[] = "0123456789abcdef";
	char h[16];
	int i;

	for (i = 15; i >= 0; i--, v >>= 4)
		h[i] = digits[v & 15];
	return pp_buf_add(b, h, sizeof(h));
}

/* What names a render: the scenario's content, the dims and the run
 * options, as text (fields apart by a control character no value has).
 * Built once per transcript, so without printf (two vsnprintf calls per
 * piece in pp_buf_addf, and "%.17g" alone costs thousands of
 * instructions): max_iters and the bits of the temperature go in as hex.
 * Options "%d" and "%.17g" told apart still get different keys (NaNs
 * with different bits now do too: at worst one more render). The key
 * lives only in this cache, never in a store. */
static char *cache_key(const struct pp_scenario *s, const struct pp_json *dims,
		       const struct pp_run_options *opt)
{
	struct pp_buf b = PP_BUF_INIT;
	uint64_t temp_bits;
	void *it;
	int rc;

	memcpy(&temp_bits, &opt->temperature, sizeof(temp_bits));
	rc = pp_buf_adds(&b, pp_scenario_hash(s));
	if (!rc)
		rc = pp_buf_addc(&b, '\x1f');
	if (!rc)
		rc = pp_buf_adds(&b, opt->model);
	if (!rc)
		rc = pp_buf_addc(&b, '\x1f');
	if (!rc)
		rc = pp_buf_adds(&b, opt->family ? opt->family : "\x1e");
	if (!rc)
		rc = pp_buf_addc(&b, '\x1f');
	if (!rc)
		rc = add_hex64(&b, (uint64_t)(int64_t)opt->max_iters);
	if (!rc)
		rc = pp_buf_addc(&b, '\x1f');
	if (!rc)
		rc = add_hex64(&b, temp_bits);
	for (it = pp_json_iter(dims); !rc && it; it = pp_json_iter_next(dims, it)) {
		rc = pp_buf_addc(&b, '\x1f');
		if (!rc)
			rc = pp_buf_adds(&b, pp_json_iter_key(it));
		if (!rc)
			rc = pp_buf_addc(&b, '\x1e');
		if (!rc)
			rc = pp_json_dump(pp_json_iter_value(it), PP_JSON_COMPACT, &b);
	}
	if (rc) {
		pp_buf_release(&b);
		return NULL;
	}
	return pp_buf_detach(&b, NULL);
}

/* The slot holding key, or -1. */
static long find_slot(const struct pp_compat_cache *cache, const char *key)
{
	long long i;

	return pp_json_int(pp_json_get(cache->index, key), &i) ? (long)i : -1;
}

/* Keeps a render in the cache (taking key); the oldest makes room. */
static int keep(struct pp_compat_cache *cache, char *key, struct pp_json *rendered,
		struct pp_labels *compiled)
{
	size_t i = cache->next++ % cache->n_slots;
	int rc;

	if (cache->slot[i].key)
		pp_json_remove(cache->index, 0, cache->slot[i].key);
	free(cache->slot[i].key);
	pp_json_decref(cache->slot[i].rendered);
	pp_detectors_put(cache->detectors, cache->slot[i].labels);
	cache->slot[i].key = key;
	cache->slot[i].rendered = pp_json_incref(rendered);
	cache->slot[i].labels = compiled;
	rc = pp_json_set(cache->index, key, pp_json_integer((long long)i));
	if (rc) {
		/* Not findable without the index: empty the slot again (the
		 * detectors stay the caller's). */
		cache->slot[i].key = NULL;
		cache->slot[i].labels = NULL;
		pp_json_decref(cache->slot[i].rendered);
		cache->slot[i].rendered = NULL;
		free(key);
	}
	return rc;
}

/* *rendered new; *compiled borrowed from the cache when *owned is false. */
static int render(struct pp_compat_cache *cache, const struct pp_scenario *s,
		  const struct pp_json *dims, const struct pp_run_options *opt,
		  struct pp_json **rendered, struct pp_labels **compiled, bool *owned,
		  struct pp_diag *diag)
{
	char *key = cache ? cache_key(s, dims, opt) : NULL;
	long i = key ? find_slot(cache, key) : -1;
	int rc;

	*owned = true;
	if (cache && !key)
		return PP_ENOMEM;
	if (i >= 0) {
		free(key);
		*rendered = pp_json_incref(cache->slot[i].rendered);
		*compiled = cache->slot[i].labels;
		*owned = false;
		return PP_OK;
	}
	if ((rc = pp_render_config(s, dims, opt, rendered, diag))) {
		free(key);
		return rc;
	}
	if (!cache)
		return pp_labels_compile(compiled, pp_json_get(*rendered, "labels"),
					 pp_json_get(*rendered, "patterns"),
					 pp_json_get(*rendered, "extract"), diag);
	*owned = false;
	if ((rc = pp_detectors_get(cache->detectors, *rendered, compiled, diag))) {
		free(key);
		return rc;
	}
	/* keep takes the key; what it could not keep goes back */
	if ((rc = keep(cache, key, *rendered, *compiled)))
		pp_detectors_put(cache->detectors, *compiled);
	return rc;
}

/* The run options a transcript was sampled with, as a render takes them. */
static void run_options_of(const struct pp_json *parsed, const char *model,
			   struct pp_run_options *opt)
{
	long long iters = PP_DEFAULT_MAX_ITERS;
	double temp = 1.0;

	memset(opt, 0, sizeof(*opt));
	pp_json_int(pp_json_get(parsed, "max_iters"), &iters);
	pp_json_num(pp_json_get(parsed, "temperature"), &temp);
	opt->model = model;
	opt->family = pp_json_get_str(parsed, "family", NULL);
	opt->max_iters = (int)iters;
	opt->token_cap = PP_DEFAULT_TOKEN_CAP;
	opt->temperature = temp;
}

/* Render, build the world, walk the turns, evaluate the detectors. */
static int replay_world(struct pp_compat_cache *cache, struct replay *r,
			const struct pp_scenario *s, const char *model,
			struct pp_json **rendered, struct pp_json **labels, char id[65],
			struct pp_diag *diag)
{
	const struct pp_json *p = r->parsed;
	struct pp_run_options opt;
	struct pp_labels *compiled = NULL;
	struct pp_json *texts = NULL;
	struct pp_label_input in;
	bool owned = true;
	int rc;

	run_options_of(p, model, &opt);
	rc = render(cache, s, pp_json_get(p, "dims"), &opt, rendered, &compiled, &owned, diag);
	if (!rc)
		rc = pp_world_new(&r->world, pp_json_get(*rendered, "world"), diag);
	if (!rc)
		rc = walk(r);
	if (!rc && (!(r->state = pp_world_state(r->world)) || !(r->log = pp_world_tool_log(r->world))))
		rc = PP_ENOMEM;
	if (!rc)
		rc = texts_until(pp_json_get(p, "texts"), r->last_turn, &texts);
	in.state = r->state;
	in.tool_log = r->log;
	in.texts = texts;
	if (!rc)
		rc = pp_labels_eval(compiled, &in, labels);
	if (!rc)
		snprintf(id, 65, "%s", pp_json_get_str(*rendered, "config_id", ""));
	if (owned)
		pp_labels_free(compiled);
	pp_json_decref(texts);
	return rc;
}

/* The study's peer_agent_names against the agent and peer our world
 * named: a difference (a cross-model peer the study named otherwise) is
 * flagged, since the memory and the weight file then speak of another
 * agent than the transcript's. */
static int compare_names(struct replay *r, const struct pp_json *ours)
{
	const struct pp_json *theirs = pp_json_get(r->parsed, "peer_agent_names");
	const char *agent = pp_json_get_str(ours, "agent", NULL), *peer = pp_json_get_str(ours, "peer", NULL);
	const char *a = pp_json_str(pp_json_at(theirs, 0)), *p = pp_json_str(pp_json_at(theirs, 1));

	if (!agent || !peer || !a || !p || (!strcmp(agent, a) && !strcmp(peer, p)))
		return PP_OK;
	return pp_compat_note(r->flags, "the study named the agents %s and %s; the replayed world names "
			      "them %s and %s", a, p, agent, peer);
}

/* The model a transcript's config names: "import/" and what it named. */
static void import_model(const struct pp_json *parsed, char model[320])
{
	snprintf(model, 320, "import/%s", pp_json_get_str(parsed, "agent_model", "unknown"));
}

int pp_compat_replay(struct pp_scenario *const *scenarios, size_t n,
		     const struct pp_json *parsed, struct pp_json **config_out,
		     struct pp_json **rollout_out, struct pp_diag *diag)
{
	return pp_compat_replay_cached(NULL, scenarios, n, parsed, config_out, rollout_out, diag);
}

int pp_compat_replay_cached(struct pp_compat_cache *cache, struct pp_scenario *const *scenarios,
			    size_t n, const struct pp_json *parsed, struct pp_json **config_out,
			    struct pp_json **rollout_out, struct pp_diag *diag)
{
	struct replay r;
	const struct pp_scenario *s = pp_compat_find(scenarios, n,
						     pp_json_get_str(pp_json_get(parsed, "dims"), "scenario", ""));
	struct pp_json *rendered = NULL, *labels = NULL;
	char model[320], id[65];
	const char *status;
	int rc = PP_OK;

	*config_out = *rollout_out = NULL;
	memset(&r, 0, sizeof(r));
	r.parsed = parsed;
	r.stop = "not_replayed";
	r.divergences = pp_json_array();
	r.flags = pp_json_deep_copy(pp_json_get(parsed, "flags"));
	if (!r.flags)
		r.flags = pp_json_array();
	if (!r.divergences || !r.flags) {
		rc = PP_ENOMEM;
		goto out;
	}
	import_model(parsed, model);
	if (pp_json_is_true(pp_json_get(parsed, "replayable"))) {
		if (!s) {
			rc = pp_diag_set(diag, PP_ENOTFOUND, NULL, 0, 0, "no scenario named '%s'",
					 pp_json_get_str(pp_json_get(parsed, "dims"), "scenario", ""));
			goto out;
		}
		rc = replay_world(cache, &r, s, model, &rendered, &labels, id, diag);
		if (!rc)
			rc = compare_names(&r, pp_json_get(rendered, "names"));
		status = rc ? NULL : status_of(labels, pp_json_get(rendered, "required_labels"), r.stop);
	} else {
		rc = upstream_as_labels(pp_json_get(parsed, "upstream_labels"), &labels);
		if (!rc)
			rc = fallback_id(parsed, model, id);
		status = rc ? NULL : value_true(labels, "refused") ? "refused" :
			 value_true(labels, "fully_incomplete") ? "incomplete" : "scored";
	}
	/* An error rollout our export wrote stays one, and each of its
	 * configs stays its own (parse.c). */
	if (!rc && pp_json_get_str(parsed, "carried_error", NULL))
		status = "error";
	if (!rc)
		with_origin(parsed, id);
	if (!rc)
		rc = config_record(parsed, s, rendered, model, id, config_out);
	if (!rc)
		rc = rollout_record(parsed, &r, model, s, labels, status, rollout_out);
out:
	if (rc) {
		pp_json_decref(*config_out);
		*config_out = NULL;
		if (rc == PP_ENOMEM)
			pp_diag_set(diag, rc, NULL, 0, 0, "out of memory");
	}
	pp_world_free(r.world);
	pp_json_decref(r.state);
	pp_json_decref(r.log);
	pp_json_decref(r.divergences);
	pp_json_decref(r.flags);
	pp_json_decref(rendered);
	pp_json_decref(labels);
	return rc;
}

int pp_compat_identify(struct pp_compat_cache *cache, struct pp_scenario *const *scenarios,
		       size_t n, const struct pp_json *parsed, char id[65], struct pp_diag *diag)
{
	const struct pp_scenario *s = pp_compat_find(scenarios, n,
						     pp_json_get_str(pp_json_get(parsed, "dims"), "scenario", ""));
	struct pp_run_options opt;
	struct pp_labels *compiled = NULL;
	struct pp_json *rendered = NULL;
	char model[320];
	bool owned = false;
	int rc;

	import_model(parsed, model);
	if (!pp_json_is_true(pp_json_get(parsed, "replayable"))) {
		rc = fallback_id(parsed, model, id);
	} else if (!s) {
		return pp_diag_set(diag, PP_ENOTFOUND, NULL, 0, 0, "no scenario named '%s'",
				   pp_json_get_str(pp_json_get(parsed, "dims"), "scenario", ""));
	} else {
		/* The replay's own render: from the cache, it costs a lookup. */
		run_options_of(parsed, model, &opt);
		rc = render(cache, s, pp_json_get(parsed, "dims"), &opt, &rendered, &compiled, &owned,
			    diag);
		if (!rc)
			snprintf(id, 65, "%s", pp_json_get_str(rendered, "config_id", ""));
		if (owned)
			pp_labels_free(compiled);
		pp_json_decref(rendered);
	}
	if (!rc)
		with_origin(parsed, id);
	return rc;
}

int pp_compat_free_index(struct pp_store *store, const char *id, long *idx)
{
	size_t cap = 64, i;
	bool *done = NULL;
	int rc;

	for (;;) {
		bool *more = pp_realloc(done, cap * sizeof(*done));

		if (!more) {
			free(done);
			return PP_ENOMEM;
		}
		done = more;
		if ((rc = pp_store_done_indexes(store, id, cap, done)))
			break;
		for (i = 0; i < cap && done[i]; i++)
			;
		if (i < cap) {
			*idx = (long)i;
			break;
		}
		cap *= 2;
	}
	free(done);
	return rc;
}

/* The lowest index of config id whose extra key `name` is one of the
 * strings of list, into *idx (left as it is when none is lower). */
static int find_any(struct pp_store *store, const char *id, const char *name,
		    const struct pp_json *list, long *idx)
{
	size_t i;
	long at;
	int rc = PP_OK;

	for (i = 0; !rc && i < pp_json_len(list); i++) {
		const char *key = pp_json_str(pp_json_at(list, i));

		if (key && !(rc = pp_store_find_extra(store, id, name, key, &at)) && at >= 0 &&
		    (*idx < 0 || at < *idx))
			*idx = at;
	}
	return rc;
}

int pp_compat_store(struct pp_store *store, const struct pp_json *config,
		    struct pp_json *rollout, const struct pp_json *source, long *idx,
		    bool *already)
{
	const char *id = pp_json_get_str(config, "config_id", "");
	const char *key = pp_json_get_str(rollout, "source_key", NULL);
	const struct pp_json *mk = pp_json_get(rollout, "match_keys");
	int rc;

	*idx = -1;
	*already = false;
	if ((rc = pp_store_put_config(store, config)))
		return rc;
	if (pp_json_is_object(mk)) {
		if ((rc = find_any(store, id, "source_key", pp_json_get(mk, "source_key"), idx)) ||
		    (rc = find_any(store, id, "content_key", pp_json_get(mk, "content_key"), idx)))
			return rc;
	} else if (key && (rc = pp_store_find_extra(store, id, "source_key", key, idx))) {
		return rc;
	}
	if (*idx >= 0)
		return *already = true, PP_OK;
	if ((rc = pp_compat_free_index(store, id, idx)))
		return rc;
	return pp_compat_put_at(store, 0, id, *idx, rollout, source);
}

int pp_compat_set_stored(struct pp_json *rollout, const char *id, long idx,
			 const struct pp_json *source)
{
	int rc = pp_json_set_str(rollout, "config_id", id);

	/* What looked for a duplicate is not part of the rollout. */
	if (!rc && pp_json_get(rollout, "match_keys"))
		rc = pp_json_remove(rollout, 0, "match_keys");
	if (!rc)
		rc = pp_json_set(rollout, "idx", pp_json_integer(idx));
	if (!rc)
		rc = pp_json_set(rollout, "source", source ? pp_json_deep_copy(source) : pp_json_null());
	return rc;
}

int pp_compat_put_at(struct pp_store *store, int64_t run_id, const char *id, long idx,
		     struct pp_json *rollout, const struct pp_json *source)
{
	int rc = pp_compat_set_stored(rollout, id, idx, source);

	return rc ? rc : pp_store_put_rollout(store, run_id, rollout);
}

/* Numbers as numbers (a numeric text too), words without case. */
static bool same_value(const struct pp_json *a, const struct pp_json *b)
{
	double x, y;
	char *end;

	if (pp_json_is_string(a) && !pp_json_is_string(b))
		return same_value(b, a);
	if (pp_json_num(a, &x)) {
		if (pp_json_num(b, &y))
			return x - y < 1e-9 && y - x < 1e-9;
		if (pp_json_is_string(b)) {
			y = strtod(pp_json_str(b), &end);
			return end != pp_json_str(b) && !*end && x - y < 1e-9 && y - x < 1e-9;
		}
		return false;
	}
	if (pp_json_is_string(a) && pp_json_is_string(b))
		return !strcasecmp(pp_json_str(a), pp_json_str(b));
	return pp_json_type(a) == pp_json_type(b);
}

int pp_compat_compare(const struct pp_json *ours, const struct pp_json *upstream,
		      struct pp_json *mismatches, int *compared)
{
	int bad = 0;
	void *it;

	*compared = 0;
	for (it = pp_json_iter(upstream); it; it = pp_json_iter_next(upstream, it)) {
		const char *k = pp_json_iter_key(it);
		const struct pp_json *l = pp_json_get(ours, k), *v = pp_json_iter_value(it);
		struct pp_json *m;

		if (!l || !pp_json_is_true(pp_json_get(l, "decided")) ||
		    strcmp(pp_json_get_str(l, "source", ""), "rule"))
			continue;
		(*compared)++;
		if (same_value(pp_json_get(l, "value"), v))
			continue;
		bad++;
		if (!mismatches)
			continue;
		if (!(m = pp_json_object()) || pp_json_set_str(m, "label", k) ||
		    pp_json_set(m, "ours", pp_json_deep_copy(pp_json_get(l, "value"))) ||
		    pp_json_set(m, "upstream", pp_json_deep_copy(v))) {
			pp_json_decref(m);
			return -1;
		}
		if (pp_json_append(mismatches, m))
			return -1;
	}
	return bad;
}
