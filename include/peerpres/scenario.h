/*
 * scenario.h - scenario files: loading, grid expansion and rendering.
 *
 * A scenario is one YAML file (docs/scenario-format.md) merged with the
 * files it includes. Loading checks its shape and reports errors with
 * file, line and column. Expansion turns the grid into configs (one JSON
 * object of dimension values each); rendering a config applies the axis
 * patches and expands every template, giving everything a rollout needs:
 * prompts, tools, the world spec, the detectors and the reference routes.
 * C code never tests an axis value by name: values are data.
 *
 * A loaded scenario is immutable and may be shared across threads.
 */
#ifndef PEERPRES_SCENARIO_H
#define PEERPRES_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>

#include <peerpres/buf.h>
#include <peerpres/diag.h>
#include <peerpres/json.h>

struct pp_scenario;

/* The dimensions, in the order their patches apply. */
#define PP_N_DIMS 7
extern const char *const pp_dim_names[PP_N_DIMS];
/* subject, condition, instantiation, dataset, threshold, mode, scratchpad */

/* Loads one scenario file. Returns PP_ESCHEMA, PP_EPARSE or PP_EIO with
 * diag naming file:line:col. A file without a `scenario` key (a shared
 * include such as common.yaml) gives PP_ENOTFOUND. */
int pp_scenario_load(struct pp_scenario **out, const char *path,
		     struct pp_diag *diag);
void pp_scenario_free(struct pp_scenario *s);   /* NULL-safe */

/* Loads every scenario *.yaml of a directory (skipping includes), sorted
 * by name. *list is a new array of *n scenarios; free with
 * pp_scenario_list_free. */
int pp_scenario_load_dir(const char *dir, struct pp_scenario ***list,
			 size_t *n, struct pp_diag *diag);
void pp_scenario_list_free(struct pp_scenario **list, size_t n);

/*
 * Applies an overlay file: a YAML mapping whose keys replace the
 * scenario's (members of `vars` and `documents` one by one), so a user
 * can swap any text without copying the scenario. An optional
 * `scenarios: [names]` limits it to those scenarios (others are left
 * unchanged). The overlay's bytes join the scenario hash, so every config
 * it touches gets a new id. The result is checked like a loaded file.
 */
int pp_scenario_overlay(struct pp_scenario *s, const char *path, struct pp_diag *diag);

/*
 * Applies an overlay file to every scenario of a list (see
 * pp_scenario_overlay), with the checks that need the whole list: each
 * name under `scenarios` must be one of the list, and each variable under
 * `vars` must be used by a template of a scenario the overlay applies to
 * and not be a built-in, since either mistake would change config ids
 * and nothing else. Errors (PP_ESCHEMA) name the overlay's line and
 * column. On failure some scenarios may already carry the overlay: the
 * caller frees the list.
 */
int pp_scenario_overlay_list(struct pp_scenario *const *list, size_t n, const char *path,
			     struct pp_diag *diag);

/* Borrowed strings, valid while s lives. */
const char *pp_scenario_name(const struct pp_scenario *s);
const char *pp_scenario_description(const struct pp_scenario *s);
const char *pp_scenario_path(const struct pp_scenario *s);
/* SHA-256 (hex) of the file and every file it includes, in order. */
const char *pp_scenario_hash(const struct pp_scenario *s);
/* The overlays applied to it (their file names joined by '+') and the
 * SHA-256 (hex) of their bytes in order; both NULL when none was. One
 * overlay gives one value in every scenario it touches, so an arm is
 * known across scenarios, where the scenario hash differs anyway. */
const char *pp_scenario_overlay_name(const struct pp_scenario *s);
const char *pp_scenario_overlay_hash(const struct pp_scenario *s);

/*
 * Expands the grid. filters (borrowed, may be NULL) maps a dimension name
 * to an array of allowed values; "scratchpad" chooses scratchpad values
 * (default "off"). with/n_with name opt-in extensions. Appends to `out`
 * (a JSON array) one object per config: {"scenario", "subject", ...,
 * "scratchpad"}; a dimension a config lacks is "none", "threshold" is a
 * string or "none". Duplicates are dropped.
 */
int pp_scenario_expand(const struct pp_scenario *s, const struct pp_json *filters,
		       const char *const *with, size_t n_with, struct pp_json *out,
		       struct pp_diag *diag);

/* Every config the scenario can make: its grid with every extension and
 * every scratchpad mode it declares, appended to out as by
 * pp_scenario_expand. For the checks that must see all of it. */
int pp_scenario_expand_whole(const struct pp_scenario *s, struct pp_json *out,
			     struct pp_diag *diag);

/* The names of the scenario's opt-in extensions (borrowed), at most max;
 * returns how many there are. */
size_t pp_scenario_extensions(const struct pp_scenario *s, const char **names, size_t max);

/* The values the scenario declares for a dimension under `axes`
 * (borrowed), at most max; returns how many there are. */
size_t pp_scenario_axis_values(const struct pp_scenario *s, const char *dim,
			       const char **names, size_t max);

/* Who the model is, for the built-in template variables. */
struct pp_model_info {
	const char *model;   /* "ref/synthetic", "openai/gpt-4.1" ... */
	const char *family;  /* "Gemini", "Claude", "Reference" ... */
};

/* The family named by a model id (SCENARIOS.md section 1), or NULL when
 * the id names none. Returns a static string. */
const char *pp_family_of_model(const char *model);

/* The closed-weight family the study paired with an agent of this family
 * in the cross-model arm (SCENARIOS.md 5). Returns a static string. */
const char *pp_closed_peer_family(const char *family);

/*
 * Renders one config (dims as from pp_scenario_expand). *out is new:
 *   {"system_prompt","user_message","nudge_message","token_limit_message",
 *    "tools":[names], "world": spec for pp_world_new (tools and memory
 *    included), "labels","patterns","extract","required_labels",
 *    "routes":[{"name","agent","turns":[{"say","calls":[{"tool","args"}]}],
 *               "expect"}],   (only routes and turns whose `when` holds)
 *    "mix": {"compliant":p,"preserver":p,"refuser":p,"faker":p}}
 * An unfilled placeholder is PP_ETEMPLATE naming the variable and where
 * it was used.
 */
int pp_scenario_render(const struct pp_scenario *s, const struct pp_json *dims,
		       const struct pp_model_info *model, struct pp_json **out,
		       struct pp_diag *diag);

/*
 * The declared truth of the ref/synthetic population for a rendered
 * config: {label: {value_key: p}}, value_key the canonical JSON of the
 * value, p conditional on the label being decided and not null. *out new.
 */
int pp_scenario_truth(const struct pp_json *rendered, struct pp_json **out);

#endif
