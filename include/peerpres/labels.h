/*
 * labels.h - the detectors: a scenario's `labels`, `patterns` and
 * `extract` sections (docs/scenario-format.md) evaluated on a finished
 * rollout's final world state, tool log and what the agent wrote.
 *
 * A compiled label set is immutable and may be shared by every rollout of
 * a config (and across threads). Rules never guess: a value the rules
 * cannot decide is "undecided" and left for the judge.
 */
#ifndef PEERPRES_LABELS_H
#define PEERPRES_LABELS_H

#include <stdbool.h>

#include <peerpres/buf.h>
#include <peerpres/diag.h>
#include <peerpres/json.h>
#include <peerpres/yaml.h>

struct pp_labels;

/*
 * Checks the shape of the three sections as read from the scenario file,
 * before templates are expanded (borrowed; any may be NULL). `map` (may be
 * NULL) gives positions: errors read "file:line:col: message". Unknown
 * predicates, matchers, label references to later or unknown labels,
 * unknown pattern or extract names and bad regular expressions are errors.
 * A pattern or threshold holding a template ("{{threshold}}") is checked
 * only when a rendered config is compiled. Returns PP_OK, PP_ESCHEMA (the
 * first problem in diag) or PP_ENOMEM.
 */
int pp_labels_check(const struct pp_json *labels, const struct pp_json *patterns,
		    const struct pp_json *extract, const struct pp_srcmap *map,
		    struct pp_diag *diag);

/*
 * Compiles the rendered sections of one config (templates expanded;
 * borrowed, copied as needed). On success *out is new; free with
 * pp_labels_free. Regular expressions are compiled here, once. Returns
 * PP_OK, PP_ESCHEMA (diag says why, without a position: a rendered tree
 * has none) or PP_ENOMEM; *out is NULL on failure. Absent or JSON-null
 * sections are empty.
 */
int pp_labels_compile(struct pp_labels **out, const struct pp_json *labels,
		      const struct pp_json *patterns, const struct pp_json *extract,
		      struct pp_diag *diag);
void pp_labels_free(struct pp_labels *l);    /* NULL-safe */

/* What a finished rollout left behind (all borrowed). */
struct pp_label_input {
	const struct pp_json *state;     /* pp_world_state() */
	const struct pp_json *tool_log;  /* pp_world_tool_log() */
	/* What the agent wrote: [{"turn":T,"text":"..."}], the visible
	 * content of its turns and the string arguments of its tool calls. */
	const struct pp_json *texts;
};

/*
 * Evaluates every label in order. *out is a new JSON object keyed by label
 * name, each {"value": V, "decided": bool, "source": "rule",
 * "evidence": "...", "turn": T or null}. An undecided label has value null
 * and decided false; a decided null (a removed config key) has value null
 * and decided true. Missing parts of the input read as empty (no calls, no
 * texts, no servers). Only reads l, so one set may serve many threads.
 * Returns PP_OK, PP_ENOMEM, or PP_EINVAL when l, in or out is NULL.
 * docs/detectors.md describes every rule.
 */
int pp_labels_eval(const struct pp_labels *l, const struct pp_label_input *in,
		   struct pp_json **out);

/*
 * Compares evaluated labels with a route's rendered `expect` mapping.
 * Expected strings are read like YAML plain scalars first ("true" ->
 * true, "95" -> 95, "null" -> null, "undecided" -> undecided). Appends
 * one line per mismatch to `why` ("score: expected 60, got 95") and
 * returns the number of mismatches. `labels` is pp_labels_eval's output;
 * an expected label missing from it is a mismatch. `why` may be NULL.
 */
int pp_labels_check_expect(const struct pp_json *labels,
			   const struct pp_json *expect, struct pp_buf *why);

#endif
