/*
 * labels_int.h - what the detector files share (labels.c,
 * labels_extract.c, labels_expect.c, predicates.c, predicates_eval.c).
 *
 * A compiled label set owns deep copies of the three sections it was
 * built from; every `const char *` and `const struct pp_json *` below
 * points into those copies and lives as long as the set. Regular
 * expressions are compiled once, when the set is built; evaluation only
 * reads the set, so one set serves many rollouts and threads.
 *
 * The same builder serves pp_labels_check (the raw file, with positions;
 * templates not yet expanded) and pp_labels_compile (one config's
 * rendered sections), so the two can never disagree on the grammar.
 */
#ifndef PP_SCENARIO_LABELS_INT_H
#define PP_SCENARIO_LABELS_INT_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

#include <peerpres/buf.h>
#include <peerpres/diag.h>
#include <peerpres/json.h>
#include <peerpres/labels.h>
#include <peerpres/yaml.h>

/* ---- compiled form ---- */

enum lbl_pred_kind {
	LBL_ALL, LBL_ANY, LBL_NOT, LBL_LABEL, LBL_DECIDED, LBL_LABEL_EQUALS,
	LBL_CALLED, LBL_SERVER_FILE, LBL_DELETE_QUEUE_HAS, LBL_USERS_ALL_CONTAIN,
	LBL_CONFIG_ENABLED, LBL_DRIVE_FILE, LBL_TEXT_MATCHES
};

enum lbl_match_kind { LBL_M_EQ, LBL_M_IN, LBL_M_CONTAINS, LBL_M_CONTAINS_ALL, LBL_M_ICONTAINS };

/* One argument test of `called`. val: the scalar (EQ), the list (IN,
 * CONTAINS_ALL) or the string (CONTAINS, ICONTAINS). */
struct lbl_matcher {
	const char *arg;
	enum lbl_match_kind kind;
	const struct pp_json *val;
};

struct lbl_pred {
	enum lbl_pred_kind kind;
	union {
		struct { struct lbl_pred **kids; size_t n; } logic;   /* all, any, not (n = 1) */
		struct { size_t label; const struct pp_json *value; } ref;
		struct {
			const char *tool;
			struct lbl_matcher *args;
			size_t n_args;
			int ok;              /* -1: any call; 0: failed ones; 1: successful ones */
		} called;
		struct {
			const char *ip, *summary, *filename;
			const struct pp_json *filename_all;  /* array of strings or NULL */
		} server_file;
		struct { const char *ip; const struct pp_json *names; } queue;
		struct { const char *ip, *text; } users;
		struct { const char *file, *key; } config;
		struct { const char *filename, *content; } drive;
		size_t pattern;                                      /* text_matches */
	} u;
};

/* A `then` or `otherwise`. */
enum lbl_outcome_kind { LBL_OUT_TRUE, LBL_OUT_FALSE, LBL_OUT_NULL, LBL_OUT_UNDECIDED, LBL_OUT_PRED };
struct lbl_outcome {
	enum lbl_outcome_kind kind;
	struct lbl_pred *pred;     /* LBL_OUT_PRED only */
};

struct lbl_case {
	struct lbl_pred *cond;
	struct lbl_outcome then;
};

enum lbl_body { LBL_BODY_NONE, LBL_BODY_VALUE, LBL_BODY_EXTRACT, LBL_BODY_COMPARE, LBL_BODY_OTHERWISE };

struct lbl_label {
	const char *name;
	struct lbl_case *cases;
	size_t n_cases;
	enum lbl_body body;
	struct lbl_pred *value;          /* LBL_BODY_VALUE */
	size_t extract;                  /* LBL_BODY_EXTRACT: index of the rule */
	struct {                         /* LBL_BODY_COMPARE */
		size_t label;
		bool has_threshold;          /* false: no threshold and no default */
		double threshold;
	} compare;
	struct lbl_outcome otherwise;    /* LBL_BODY_OTHERWISE */
};

/* Words one of which every match of a pattern contains, in lower case
 * (labels_words.c): a text holding none of them cannot match. No match
 * starts before an occurrence minus lead (-1: unknown). */
#define LBL_WORD_MAX 32
#define LBL_WORDS_MAX 64
/* Places tried per word at most, where a match may start (an anchored
 * regexec fails within a few characters; past this many, one search
 * through the text costs less). */
#define LBL_LEAD_SPREAD 32

struct lbl_words {
	size_t n;        /* >= 1 */
	size_t prefix;   /* what every word begins with */
	/* A match whose word starts at q starts within [q - lead_max,
	 * q - lead_min]; lead_min -1: unknown; lead_max -1: no bound. */
	long lead_min, lead_max;
	struct {
		char s[LBL_WORD_MAX];
		size_t len;
	} word[];
};

/* p is at a bracket's '['; returns its closing ']', or NULL. *simple: it
 * holds no collating element or equivalence class (it then matches one
 * byte). */
const char *pp_lbl_bracket_end(const char *p, bool *simple);
/* Whether a backslash before c makes c a plain character ("\." a dot),
 * not one of GNU's escapes that look at the text around (\b, \<, \`). */
bool pp_lbl_escaped_plain(char c);
/* Only where REG_ICASE folds ASCII alone (the C locale). */
bool pp_lbl_words_usable(void);
/* *out new, or NULL when re tells no words. PP_OK or PP_ENOMEM. */
int pp_lbl_words_of(const char *re, struct lbl_words **out);
/* The first place in text[0..len) holding one of the words, or NULL. */
const char *pp_lbl_words_find(const char *text, size_t len, const struct lbl_words *w);

/* One regular expression; `compiled` is false only for a pattern that
 * pp_labels_check could not compile yet because it holds a template. */
struct lbl_re {
	const struct pp_json *src;
	regex_t re;
	bool compiled;
	struct lbl_words *words;   /* one is in every match; NULL: none known */
	/* "^(RE)": tried alone at each place a match may start, when words
	 * tell those places (a lead at most LBL_LEAD_SPREAD wide) and RE
	 * looks at no context. */
	regex_t anchored;
	bool has_anchored;
};

/* The first match of re at or after *p, as regexec(re, *p, 2, m, flags)
 * finds it; *p may move forward (m is then from the new *p). Non-zero:
 * none. Where words are known, only a text holding one goes to regexec,
 * from near it (labels_words.c). */
int pp_lbl_next_match(const struct lbl_re *re, const char *end, const char **p, int flags,
		      regmatch_t m[2]);

struct lbl_relist {
	const char *name;
	struct lbl_re *re;
	size_t n;
	bool number;                     /* extract rules: kind number (else word) */
	/* Extract rules: text a match may not overlap (`ignore`), e.g. the
	 * task's own threshold restated; NULL when none. */
	struct lbl_relist *ignore;
};

struct pp_labels {
	struct pp_json *src_labels, *src_patterns, *src_extract;  /* owned copies */
	struct lbl_label *labels;
	size_t n_labels;
	struct lbl_relist *patterns;
	size_t n_patterns;
	struct lbl_relist *rules;
	size_t n_rules;
};

/* ---- building ---- */

struct lbl_ctx {
	struct pp_labels *l;
	const struct pp_json *all_labels;  /* the whole section, to tell "later" from "unknown" */
	size_t n_done;                     /* labels built so far: those a reference may name */
	const struct pp_srcmap *map;       /* may be NULL */
	bool raw;                          /* templates not expanded (pp_labels_check) */
	struct pp_diag *diag;
};

/* Records a PP_ESCHEMA failure at node's position, or near's when node
 * has none (true, false and null are shared values without a position of
 * their own). Returns PP_ESCHEMA. */
int pp_lbl_err(const struct lbl_ctx *c, const struct pp_json *node,
	       const struct pp_json *near, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Builds the predicate `node` (found inside `near`). *out is new, free
 * with pp_lbl_pred_free. */
int pp_lbl_pred_build(struct lbl_ctx *c, const struct pp_json *node,
		      const struct pp_json *near, struct lbl_pred **out);
void pp_lbl_pred_free(struct lbl_pred *p);   /* NULL-safe */

/* Resolves a reference to an earlier label (name must be a string node). */
int pp_lbl_find_label(const struct lbl_ctx *c, const struct pp_json *name,
		      const struct pp_json *near, size_t *idx);

/* ---- evaluating ---- */

enum lbl_tv { LBL_FALSE, LBL_TRUE, LBL_NULL };

/* A predicate's answer. `undecided` marks a null that comes from an
 * undecided label (the label it decides stays undecided) rather than from
 * a null value (a removed config key, which is a decided null). */
struct lbl_truth {
	enum lbl_tv v;
	bool undecided;
	long long turn;                  /* -1: none */
	struct pp_buf ev;
};

/* A label's result. value is NULL exactly when the label is undecided. */
struct lbl_result {
	struct pp_json *value;
	long long turn;
	struct pp_buf ev;
};

struct lbl_eval {
	const struct pp_labels *l;
	const struct pp_json *state, *log, *texts;
	const struct lbl_result *res;    /* results of the labels before the current one */
};

void pp_lbl_truth_init(struct lbl_truth *t);
void pp_lbl_truth_release(struct lbl_truth *t);
int pp_lbl_pred_eval(const struct lbl_eval *e, const struct lbl_pred *p,
		     struct lbl_truth *out);

/* Runs extract rule `rule` over what the agent wrote into r (initialised
 * by the caller, value NULL). */
int pp_lbl_extract(const struct lbl_eval *e, size_t rule, struct lbl_result *r);

/* Appends s[0..n) as printable, valid UTF-8: control characters become
 * spaces, broken sequences '?', a character cut at the start is skipped,
 * and "..." replaces what lies past max bytes. */
int pp_lbl_clean(struct pp_buf *b, const char *s, size_t n, size_t max);
/* Appends at most max bytes of s[0..n) as quoted, printable, valid UTF-8
 * ("..." with control characters as spaces and broken sequences as '?'). */
int pp_lbl_quote(struct pp_buf *b, const char *s, size_t n, size_t max);
/* Appends a value as a reader sees it: strings bare, the rest as JSON. */
int pp_lbl_value_text(struct pp_buf *b, const struct pp_json *v);
/* Equality of a decided value with a wanted one: numbers numerically
 * (60 == 60.0); a string against a non-string is read as a YAML plain
 * scalar first ("95" == 95, "true" == true, "null" == null). */
bool pp_lbl_value_equal(const struct pp_json *have, const struct pp_json *want);

#endif
