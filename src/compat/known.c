/*
 * known.c - what the store already holds of each config an import
 * touches: the source and content keys of its rollouts and the indexes
 * taken, where a transcript's match_keys (parse.c) find a duplicate. They
 * are read once per config (pp_store_extra_values_of) and kept up to date as
 * rollouts are written, so finding a duplicate or a free index costs no
 * query per transcript; the store's answers one at a time read every
 * rollout of the config each time.
 *
 * Invariant: what is listed for a config equals what this store handle
 * sees (its open batch included). Whoever can break that says so with
 * pp_compat_known_forget: a batch rolled back, another connection's write.
 * Memory is bounded: past KNOWN_MAX_CONFIGS configs or KNOWN_MAX_KEYS
 * keys everything is forgotten and read again as needed.
 */
#include <stdlib.h>
#include <string.h>

#include <peerpres/compat.h>
#include <peerpres/status.h>

#include "compat/compat_int.h"
#include "core/alloc.h"

#define KNOWN_MAX_CONFIGS 4096
#define KNOWN_MAX_KEYS ((size_t)1 << 20)
/* Indexes above this are not tracked: a free index is then asked of
 * the store (one config with a million rollouts is not an import's). */
#define KNOWN_MAX_IDX ((size_t)1 << 20)

struct known_config {
	struct pp_json *keys;   /* {source_key: lowest index} */
	struct pp_json *contents;   /* {content_key: lowest index} */
	bool *used;             /* used[i]: index i is stored */
	size_t n_used;          /* entries of used */
	size_t first_free;      /* no free index below it */
};

struct pp_compat_known {
	struct pp_json *slots;  /* {config_id: position in configs} */
	struct known_config *configs;
	size_t n, n_keys;
	int64_t version;        /* the store's data version at the last begin */
	int64_t run_id;         /* what stored rollouts name as their writer */
	bool have_version;
};

int pp_compat_known_new(struct pp_compat_known **out)
{
	struct pp_compat_known *k = pp_calloc(1, sizeof(*k));

	*out = NULL;
	if (!k)
		return PP_ENOMEM;
	k->configs = pp_calloc(KNOWN_MAX_CONFIGS, sizeof(*k->configs));
	k->slots = pp_json_object();
	if (!k->configs || !k->slots) {
		pp_compat_known_free(k);
		return PP_ENOMEM;
	}
	*out = k;
	return PP_OK;
}

void pp_compat_known_forget(struct pp_compat_known *k)
{
	size_t i;

	if (!k)
		return;
	for (i = 0; i < k->n; i++) {
		pp_json_decref(k->configs[i].keys);
		pp_json_decref(k->configs[i].contents);
		free(k->configs[i].used);
		memset(&k->configs[i], 0, sizeof(k->configs[i]));
	}
	k->n = 0;
	k->n_keys = 0;
	pp_json_decref(k->slots);
	k->slots = pp_json_object();   /* NULL: load() tries again */
}

void pp_compat_known_free(struct pp_compat_known *k)
{
	if (!k)
		return;
	pp_compat_known_forget(k);
	pp_json_decref(k->slots);
	free(k->configs);
	free(k);
}

/* Marks index i taken. */
static int mark_used(struct known_config *c, size_t i)
{
	if (i >= KNOWN_MAX_IDX)
		return PP_OK;
	if (i >= c->n_used) {
		size_t n = c->n_used ? c->n_used : 64;
		bool *more;

		while (n <= i)
			n *= 2;
		if (!(more = pp_realloc(c->used, n * sizeof(*more))))
			return PP_ENOMEM;
		memset(more + c->n_used, 0, (n - c->n_used) * sizeof(*more));
		c->used = more;
		c->n_used = n;
	}
	c->used[i] = true;
	return PP_OK;
}

/* Lists key (a source or content key) under map, a config's. */
static int add_key(struct pp_compat_known *k, struct pp_json *map, const char *key, long idx)
{
	int rc;

	if (pp_json_get(map, key))
		return PP_OK;   /* the lowest index stays */
	rc = pp_json_set(map, key, pp_json_integer(idx));
	if (!rc)
		k->n_keys++;
	return rc;
}

/* Reads config_id's rollouts from the store into a new entry. Rollouts
 * stored before content keys existed list a source key only. */
static int load(struct pp_compat_known *k, struct pp_store *store, const char *id,
		struct known_config **out)
{
	static const char *const names[] = { "source_key", "content_key" };
	struct known_config *c;
	struct pp_json *rows = NULL;
	long long idx;
	size_t i;
	int rc;

	if (k->n == KNOWN_MAX_CONFIGS || k->n_keys >= KNOWN_MAX_KEYS)
		pp_compat_known_forget(k);
	if (!k->slots && !(k->slots = pp_json_object()))
		return PP_ENOMEM;
	c = &k->configs[k->n];
	if ((rc = pp_store_extra_values_of(store, id, names, 2, &rows)))
		return rc;
	c->keys = pp_json_object();
	c->contents = pp_json_object();
	rc = c->keys && c->contents ? PP_OK : PP_ENOMEM;
	for (i = 0; !rc && i < pp_json_len(rows); i++) {
		const struct pp_json *row = pp_json_at(rows, i);
		const char *key = pp_json_str(pp_json_at(row, 1));
		const char *content = pp_json_str(pp_json_at(row, 2));

		if (!pp_json_int(pp_json_at(row, 0), &idx) || idx < 0)
			continue;
		rc = mark_used(c, (size_t)idx);
		if (!rc && key)
			rc = add_key(k, c->keys, key, (long)idx);
		if (!rc && content)
			rc = add_key(k, c->contents, content, (long)idx);
	}
	if (!rc)
		rc = pp_json_set(k->slots, id, pp_json_integer((long long)k->n));
	pp_json_decref(rows);
	if (rc) {
		pp_json_decref(c->keys);
		pp_json_decref(c->contents);
		free(c->used);
		memset(c, 0, sizeof(*c));
		return rc;
	}
	k->n++;
	*out = c;
	return PP_OK;
}

/* The lowest index whose key in map is one of the strings of list. */
static void lowest_of(const struct pp_json *map, const struct pp_json *list, long *idx)
{
	long long slot;
	size_t i;

	for (i = 0; i < pp_json_len(list); i++) {
		const char *key = pp_json_str(pp_json_at(list, i));

		if (key && pp_json_int(pp_json_get(map, key), &slot) && (*idx < 0 || slot < *idx))
			*idx = (long)slot;
	}
}

/* The stored rollout the transcript duplicates (the lowest index when
 * several do), or -1. A rollout without match_keys matches by its
 * source key alone. */
static long duplicate_of(const struct known_config *c, const struct pp_json *rollout)
{
	const struct pp_json *mk = pp_json_get(rollout, "match_keys");
	const char *key = pp_json_get_str(rollout, "source_key", NULL);
	long long slot;
	long idx = -1;

	if (!pp_json_is_object(mk))
		return key && pp_json_int(pp_json_get(c->keys, key), &slot) ? (long)slot : -1;
	lowest_of(c->keys, pp_json_get(mk, "source_key"), &idx);
	lowest_of(c->contents, pp_json_get(mk, "content_key"), &idx);
	return idx;
}

/* The config's entry, read from the store when k does not know it. */
static int entry_of(struct pp_compat_known *k, struct pp_store *store, const char *id,
		    struct known_config **c)
{
	long long slot;

	if (pp_json_int(pp_json_get(k->slots, id), &slot)) {
		*c = &k->configs[slot];
		return PP_OK;
	}
	return load(k, store, id, c);
}

int pp_compat_known_find(struct pp_compat_known *k, struct pp_store *store,
			 const char *config_id, const struct pp_json *parsed, long *idx)
{
	struct known_config *c;
	int rc;

	*idx = -1;
	if (!k || !config_id)
		return PP_EINVAL;
	if ((rc = entry_of(k, store, config_id, &c)))
		return rc;
	*idx = duplicate_of(c, parsed);
	return PP_OK;
}

/* The first index of the config not stored: from the list when it
 * tracks one, else from the store. */
static int free_index(struct known_config *c, struct pp_store *store, const char *id, long *idx)
{
	while (c->first_free < c->n_used && c->used[c->first_free])
		c->first_free++;
	if (c->first_free < KNOWN_MAX_IDX) {
		*idx = (long)c->first_free;
		return PP_OK;
	}
	return pp_compat_free_index(store, id, idx);
}

struct pp_compat_ready {
	struct pp_json *keys;   /* source_key, content_key, match_keys */
	struct pp_store_rows *rows;
};

void pp_compat_ready_free(struct pp_compat_ready *ready)
{
	if (!ready)
		return;
	pp_json_decref(ready->keys);
	pp_store_rows_free(ready->rows);
	free(ready);
}

/* The rollout's keys that find a duplicate, in a new object. */
static struct pp_json *match_keys_of(const struct pp_json *rollout)
{
	static const char *const names[] = { "source_key", "content_key", "match_keys" };

	return pp_json_pick(rollout, names, sizeof(names) / sizeof(names[0]));
}

int pp_compat_ready_new(const struct pp_json *config, struct pp_json *rollout,
			const struct pp_json *source, struct pp_compat_ready **out,
			struct pp_diag *diag)
{
	struct pp_compat_ready *ready = pp_calloc(1, sizeof(*ready));
	int rc = ready && (ready->keys = match_keys_of(rollout)) ? PP_OK : PP_ENOMEM;

	*out = NULL;
	if (!rc)
		rc = pp_compat_set_stored(rollout, pp_json_get_str(config, "config_id", ""), 0, source);
	if (rc)
		pp_diag_set(diag, rc, NULL, 0, 0, "cannot store: %s", pp_strerror(rc));
	else
		rc = pp_store_rows_new(rollout, &ready->rows, diag);
	if (rc) {
		pp_compat_ready_free(ready);
		return rc;
	}
	*out = ready;
	return PP_OK;
}

/* The config's entry (its config stored and its rollouts read when k
 * did not know it), and where the rollout with these keys goes: *already
 * with the stored duplicate's index, else the first free index. */
static int place(struct pp_compat_known *k, struct pp_store *store, const struct pp_json *config,
		 const struct pp_json *keys, struct known_config **c, long *idx, bool *already)
{
	const char *id = pp_json_get_str(config, "config_id", "");
	int rc;

	*idx = -1;
	*already = false;
	/* A config met for the first time is stored before its rollouts. */
	if (!pp_json_get(k->slots, id) && (rc = pp_store_put_config(store, config)))
		return rc;
	if ((rc = entry_of(k, store, id, c)))
		return rc;
	if ((*idx = duplicate_of(*c, keys)) >= 0) {
		*already = true;
		return PP_OK;
	}
	return free_index(*c, store, id, idx);
}

/* Lists what was just stored at idx; a list that cannot follow is
 * dropped, to be read again. */
static void remember(struct pp_compat_known *k, struct known_config *c, long idx,
		     const struct pp_json *keys)
{
	const char *key = pp_json_get_str(keys, "source_key", NULL);
	const char *content = pp_json_get_str(keys, "content_key", NULL);

	if (mark_used(c, (size_t)idx) || (key && add_key(k, c->keys, key, idx)) ||
	    (content && add_key(k, c->contents, content, idx)))
		pp_compat_known_forget(k);
}

int pp_compat_store_ready(struct pp_compat_known *k, struct pp_store *store,
			  const struct pp_json *config, const struct pp_compat_ready *ready,
			  long *idx, bool *already)
{
	struct known_config *c;
	int rc;

	if (!k)
		return PP_EINVAL;
	if ((rc = place(k, store, config, ready->keys, &c, idx, already)) || *already ||
	    (rc = pp_store_rows_set_idx(ready->rows, *idx)) ||
	    (rc = pp_store_put_rows(store, k->run_id, ready->rows)))
		return rc;
	remember(k, c, *idx, ready->keys);
	return PP_OK;
}

int pp_compat_store_known(struct pp_compat_known *k, struct pp_store *store,
			  const struct pp_json *config, struct pp_json *rollout,
			  const struct pp_json *source, long *idx, bool *already)
{
	struct known_config *c;
	struct pp_json *keys;
	int rc;

	if (!k)
		return pp_compat_store(store, config, rollout, source, idx, already);
	/* Storing takes the match keys off the rollout. */
	if (!(keys = match_keys_of(rollout)))
		return PP_ENOMEM;
	if (!(rc = place(k, store, config, keys, &c, idx, already)) && !*already &&
	    !(rc = pp_compat_put_at(store, k->run_id, pp_json_get_str(config, "config_id", ""),
				    *idx, rollout, source)))
		remember(k, c, *idx, keys);
	pp_json_decref(keys);
	return rc;
}

void pp_compat_known_set_run(struct pp_compat_known *k, int64_t run_id)
{
	if (k)
		k->run_id = run_id;
}

int pp_compat_known_begin(struct pp_compat_known *k, struct pp_store *store)
{
	int64_t version = 0;
	int rc = k && !k->have_version ? pp_store_tune_for_bulk(store) : PP_OK;

	if (!rc)
		rc = pp_store_begin(store, &version);
	if (rc || !k)
		return rc;
	/* Another connection wrote since the last batch: what we read of
	 * the store may be stale. */
	if (k->have_version && version != k->version)
		pp_compat_known_forget(k);
	k->version = version;
	k->have_version = true;
	return PP_OK;
}

int pp_compat_known_commit(struct pp_compat_known *k, struct pp_store *store)
{
	int rc = pp_store_commit(store);

	if (rc)
		pp_compat_known_forget(k);   /* it listed what is now gone */
	return rc;
}
