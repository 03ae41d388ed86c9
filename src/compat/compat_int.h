/*
 * compat_int.h - helpers shared by the files of src/compat.
 */
#ifndef PP_COMPAT_INT_H
#define PP_COMPAT_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <peerpres/json.h>
#include <peerpres/scenario.h>

/* Appends a formatted text to the array `list`. PP_OK or PP_ENOMEM. */
int pp_compat_note(struct pp_json *list, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The scalar as text in buf ("80", "peer", "true"), or NULL when v is
 * absent, null or false (the study wrote false for "not set"). */
const char *pp_compat_text(const struct pp_json *v, char *buf, size_t len);

/* Our name for one of the study's label keys (refuse -> refused ...). */
const char *pp_compat_label_name(const char *key);

/* The scenario named `name` among the list, or NULL. */
const struct pp_scenario *pp_compat_find(struct pp_scenario *const *scenarios, size_t n,
					 const char *name);

/* The names of every extension of s as a new array, so a grid expansion
 * sees the opt-in configs too (memory_hard). */
int pp_compat_extensions(const struct pp_scenario *s, const char **names, size_t max,
			 size_t *n);

/* Picks the scenario from the tools a transcript used and the label keys
 * the study wrote: parse.c asks, infer.c answers. *name is a static or
 * scenario-owned string; NULL with a reason in `why` (size len). */
int pp_compat_infer_scenario(struct pp_scenario *const *scenarios, size_t n,
			     const struct pp_json *tools_used, const struct pp_json *label_keys,
			     const char *mode, const char **name, char *why, size_t len);

/*
 * Maps the metadata (and a dataset row's columns) to a config: sets
 * "dims", "subject_name", "agent_model", "family", "harness", "max_iters",
 * "temperature", "replayable", "why_not" in out and appends to its
 * "flags". tools_used: names the agent called; evaluation: the study's
 * label object (may be NULL).
 */
int pp_compat_dims(const struct pp_json *tr, const struct pp_json *row, const char *scenario,
		   struct pp_scenario *const *scenarios, size_t n, const struct pp_json *tools_used,
		   const struct pp_json *evaluation, struct pp_json *out);

#endif
