/*
 * detectors.c - compiled detectors shared by configs (see detectors.h).
 * The arms of a scenario mostly render the same label sections: a run
 * of the study's grid has about ten sets for its 271 configs. Compiling
 * one set (its regular expressions above all) and freeing it was a
 * sixth of the CPU of a run whose rollouts are each a config of their
 * own, and about half of what a prepared config kept in memory (heap
 * profile, 40 configs in flight).
 */
#include <stdlib.h>
#include <string.h>

#include <peerpres/labels.h>
#include <peerpres/status.h>

#include "core/alloc.h"
#include "scenario/detectors.h"

struct detector_entry {
	char key[65];              /* SHA-256 of the sections' canonical text */
	struct pp_labels *labels;
	long users;                /* prepared configs using it */
	unsigned long released;    /* when users last fell to 0: oldest goes first */
};

struct pp_detector_cache {
	struct detector_entry *at;
	size_t n, cap;
	unsigned long clock;
};

int pp_detector_cache_new(struct pp_detector_cache **out)
{
	*out = pp_calloc(1, sizeof(**out));
	return *out ? PP_OK : PP_ENOMEM;
}

void pp_detector_cache_free(struct pp_detector_cache *dc)
{
	size_t i;

	if (!dc)
		return;
	for (i = 0; i < dc->n; i++)
		pp_labels_free(dc->at[i].labels);
	free(dc->at);
	free(dc);
}

/* The key: what pp_labels_compile reads of the rendered config. */
static int sections_key(const struct pp_json *rendered, char key[65])
{
	static const char *const names[] = { "labels", "patterns", "extract" };
	struct pp_json *sections = pp_json_pick(rendered, names, sizeof(names) / sizeof(names[0]));
	int rc = sections ? pp_json_canonical_sha256(sections, key) : PP_ENOMEM;

	pp_json_decref(sections);
	return rc;
}

static struct detector_entry *entry_find(struct pp_detector_cache *dc, const char *key)
{
	size_t i;

	for (i = 0; i < dc->n; i++)
		if (!strcmp(dc->at[i].key, key))
			return &dc->at[i];
	return NULL;
}

/* Frees the set released longest ago once more than PP_DETECTORS_KEEP
 * sets are unused. */
static void evict_unused(struct pp_detector_cache *dc)
{
	size_t i, unused = 0, oldest = dc->n;

	for (i = 0; i < dc->n; i++) {
		if (dc->at[i].users)
			continue;
		unused++;
		if (oldest == dc->n || dc->at[i].released < dc->at[oldest].released)
			oldest = i;
	}
	if (unused <= PP_DETECTORS_KEEP)
		return;
	pp_labels_free(dc->at[oldest].labels);
	dc->at[oldest] = dc->at[--dc->n];
}

static int entry_add(struct pp_detector_cache *dc, const char *key,
		     const struct pp_json *rendered, struct pp_diag *diag,
		     struct detector_entry **out)
{
	struct detector_entry *e, *at;
	int rc;

	if (!(at = pp_grow(dc->at, &dc->cap, dc->n, 1, sizeof(*at))))
		return PP_ENOMEM;
	dc->at = at;
	e = &dc->at[dc->n];
	memset(e, 0, sizeof(*e));
	memcpy(e->key, key, sizeof(e->key));
	rc = pp_labels_compile(&e->labels, pp_json_get(rendered, "labels"),
			       pp_json_get(rendered, "patterns"),
			       pp_json_get(rendered, "extract"), diag);
	if (rc)
		return rc;
	dc->n++;
	*out = e;
	return PP_OK;
}

size_t pp_detector_cache_count(const struct pp_detector_cache *dc)
{
	return dc->n;
}

int pp_detectors_get(struct pp_detector_cache *dc, const struct pp_json *rendered,
		     struct pp_labels **out, struct pp_diag *diag)
{
	struct detector_entry *e;
	char key[65];
	int rc;

	*out = NULL;
	if ((rc = sections_key(rendered, key)))
		return rc;
	if (!(e = entry_find(dc, key)) && (rc = entry_add(dc, key, rendered, diag, &e)))
		return rc;
	e->users++;
	*out = e->labels;
	return PP_OK;
}

void pp_detectors_put(struct pp_detector_cache *dc, struct pp_labels *labels)
{
	size_t i;

	if (!labels)
		return;
	for (i = 0; i < dc->n; i++) {
		if (dc->at[i].labels != labels)
			continue;
		if (--dc->at[i].users == 0) {
			dc->at[i].released = ++dc->clock;
			evict_unused(dc);
		}
		return;
	}
}
