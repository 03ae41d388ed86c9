/*
 * detectors.h - compiled detectors shared by configs (detectors.c). A
 * run's engine and an import's replay both keep one cache per thread.
 */
#ifndef PP_SCENARIO_DETECTORS_H
#define PP_SCENARIO_DETECTORS_H

#include <stddef.h>

#include <peerpres/diag.h>
#include <peerpres/json.h>
#include <peerpres/labels.h>

/*
 * Configs whose rendered label sections (labels, patterns, extract) are
 * the same share one compiled set. pp_detectors_get compiles a set the
 * cache does not hold (PP_OK, PP_ENOMEM, or a schema error in diag);
 * each get is matched by one pp_detectors_put. A set no config uses is
 * kept for later configs, up to a few, then freed. Not thread-safe: one
 * cache per thread (regexec locks a shared pattern).
 */
struct pp_detector_cache;
#define PP_DETECTORS_KEEP 16   /* sets no config uses, kept for those to come */
int pp_detector_cache_new(struct pp_detector_cache **out);
size_t pp_detector_cache_count(const struct pp_detector_cache *dc);   /* sets held */
void pp_detector_cache_free(struct pp_detector_cache *dc);   /* NULL-safe */
int pp_detectors_get(struct pp_detector_cache *dc, const struct pp_json *rendered,
		     struct pp_labels **out, struct pp_diag *diag);
void pp_detectors_put(struct pp_detector_cache *dc, struct pp_labels *labels);

#endif
