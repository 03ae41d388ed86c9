/*
 * labels.c - the detectors (see peerpres/labels.h and docs/detectors.md):
 * building a label set from a scenario's `labels`, `patterns` and
 * `extract` sections, and evaluating it on a finished rollout.
 *
 * A label is decided by its first case whose `if` holds; when none does,
 * by its `value`, `extract` or `compare`, else by `otherwise`; else it is
 * undecided. Labels are evaluated in file order and may only use the
 * labels before them, so one pass suffices and there are no cycles.
 *
 * When a case overrides what `value` or `extract` would say (the study's
 * gating on `read`), both are evaluated and the evidence keeps the fact
 * the case hides.
 */
#include <stdlib.h>
#include <string.h>

#include <peerpres/status.h>

#include "core/alloc.h"
#include "scenario/labels_int.h"

/* ---- patterns and extract rules ---- */

static bool has_template(const char *s)
{
	return strstr(s, "{{") != NULL;
}

/* Whether re holds no '^' outside brackets and no backslash but before
 * a special character ("\." is a plain dot; GNU's \b, \< and the like
 * look at the characters around a match): it then matches at a place
 * whatever comes before it. */
static bool looks_at_no_context(const char *re)
{
	bool simple;

	for (; *re; re++) {
		if (*re == '\\' && pp_lbl_escaped_plain(re[1])) {
			re++;
			continue;
		}
		if (*re == '^' || *re == '\\')
			return false;
		/* Both are plain characters in a bracket. */
		if (*re == '[' && !(re = pp_lbl_bracket_end(re, &simple)))
			return false;
	}
	return true;
}

/* out->anchored: "^(RE)". One that does not compile is left out. */
static int build_anchored(const char *re, struct lbl_re *out)
{
	struct pp_buf b = PP_BUF_INIT;

	if (pp_buf_addf(&b, "^(%s)", re))
		return PP_ENOMEM;
	out->has_anchored = !regcomp(&out->anchored, b.buf, REG_EXTENDED | REG_ICASE);
	pp_buf_release(&b);
	return PP_OK;
}

/* `what` and `name` name the list in messages ("pattern list 'refusal'"). */
static int build_regex(const struct lbl_ctx *c, const struct pp_json *src,
		       const struct pp_json *near, const char *what, const char *name,
		       bool need_group, struct lbl_re *out)
{
	char why[256];
	int err;

	out->src = src;
	if (!pp_json_is_string(src))
		return pp_lbl_err(c, src, near, "%s '%s': a pattern must be a text", what, name);
	/* A template may hold anything; the rendered config is checked
	 * when it is compiled. */
	if (c->raw && has_template(pp_json_str(src)))
		return PP_OK;
	err = regcomp(&out->re, pp_json_str(src), REG_EXTENDED | REG_ICASE);
	if (err) {
		regerror(err, NULL, why, sizeof(why));
		return pp_lbl_err(c, src, near, "%s '%s': bad regular expression: %s", what, name,
				  why);
	}
	out->compiled = true;
	if (pp_lbl_words_usable() && pp_lbl_words_of(pp_json_str(src), &out->words))
		return PP_ENOMEM;
	if (out->words && out->words->lead_min >= 0 && out->words->lead_max >= 0 &&
	    out->words->lead_max - out->words->lead_min < LBL_LEAD_SPREAD &&
	    looks_at_no_context(pp_json_str(src)) &&
	    build_anchored(pp_json_str(src), out))
		return PP_ENOMEM;
	if (need_group && out->re.re_nsub < 1)
		return pp_lbl_err(c, src, near, "%s '%s': the pattern needs a group: group 1 is "
				  "the value", what, name);
	return PP_OK;
}

static int build_relist(const struct lbl_ctx *c, const char *name, const struct pp_json *list,
			const struct pp_json *near, bool need_group, struct lbl_relist *out)
{
	const char *what = need_group ? "extract rule" : "pattern list";
	size_t i, n = pp_json_len(list);
	int rc;

	out->name = name;
	if (!pp_json_is_array(list) || !n)
		return pp_lbl_err(c, list, near, "%s '%s': needs a non-empty list of patterns", what,
				  name);
	out->re = pp_calloc(n, sizeof(*out->re));
	if (!out->re)
		return PP_ENOMEM;
	out->n = n;
	for (i = 0; i < n; i++) {
		rc = build_regex(c, pp_json_at(list, i), list, what, name, need_group, &out->re[i]);
		if (rc)
			return rc;
	}
	return PP_OK;
}

static int build_patterns(struct lbl_ctx *c, const struct pp_json *patterns)
{
	struct pp_labels *l = c->l;
	void *it;
	int rc;

	if (pp_json_is_null(patterns))
		return PP_OK;
	if (!pp_json_is_object(patterns))
		return pp_lbl_err(c, patterns, patterns, "'patterns' must map names to lists of patterns");
	l->patterns = pp_calloc(pp_json_len(patterns) + 1, sizeof(*l->patterns));
	if (!l->patterns)
		return PP_ENOMEM;
	for (it = pp_json_iter(patterns); it; it = pp_json_iter_next(patterns, it)) {
		rc = build_relist(c, pp_json_iter_key(it), pp_json_iter_value(it), patterns, false,
				  &l->patterns[l->n_patterns++]);
		if (rc)
			return rc;
	}
	return PP_OK;
}

static int build_rule(struct lbl_ctx *c, const char *name, const struct pp_json *node,
		      const struct pp_json *near, struct lbl_relist *out)
{
	const struct pp_json *kind = pp_json_get(node, "kind");
	void *it;
	int rc;

	out->name = name;
	if (!pp_json_is_object(node))
		return pp_lbl_err(c, node, near, "extract rule '%s' must be a mapping "
				  "{kind: number|word, patterns: [...]}", name);
	for (it = pp_json_iter(node); it; it = pp_json_iter_next(node, it))
		if (strcmp(pp_json_iter_key(it), "kind") && strcmp(pp_json_iter_key(it), "patterns") &&
		    strcmp(pp_json_iter_key(it), "ignore"))
			return pp_lbl_err(c, pp_json_iter_value(it), node,
					  "unknown key '%s' in extract rule '%s'", pp_json_iter_key(it),
					  name);
	if (!pp_json_is_string(kind) ||
	    (strcmp(pp_json_str(kind), "number") && strcmp(pp_json_str(kind), "word")))
		return pp_lbl_err(c, kind, node, "extract rule '%s' needs 'kind: number' or "
				  "'kind: word'", name);
	out->number = !strcmp(pp_json_str(kind), "number");
	if (!pp_json_get(node, "patterns"))
		return pp_lbl_err(c, node, near, "extract rule '%s' needs 'patterns'", name);
	if (pp_json_get(node, "ignore")) {
		if (!(out->ignore = pp_calloc(1, sizeof(*out->ignore))))
			return PP_ENOMEM;
		rc = build_relist(c, name, pp_json_get(node, "ignore"), node, false, out->ignore);
		if (rc)
			return rc;
	}
	return build_relist(c, name, pp_json_get(node, "patterns"), node, true, out);
}

static int build_rules(struct lbl_ctx *c, const struct pp_json *extract)
{
	struct pp_labels *l = c->l;
	void *it;
	int rc;

	if (pp_json_is_null(extract))
		return PP_OK;
	if (!pp_json_is_object(extract))
		return pp_lbl_err(c, extract, extract, "'extract' must map names to extract rules");
	l->rules = pp_calloc(pp_json_len(extract) + 1, sizeof(*l->rules));
	if (!l->rules)
		return PP_ENOMEM;
	for (it = pp_json_iter(extract); it; it = pp_json_iter_next(extract, it)) {
		rc = build_rule(c, pp_json_iter_key(it), pp_json_iter_value(it), extract,
				&l->rules[l->n_rules++]);
		if (rc)
			return rc;
	}
	return PP_OK;
}

static void relists_free(struct lbl_relist *r, size_t n)
{
	size_t i, j;

	for (i = 0; r && i < n; i++) {
		for (j = 0; j < r[i].n; j++) {
			if (r[i].re[j].compiled)
				regfree(&r[i].re[j].re);
			if (r[i].re[j].has_anchored)
				regfree(&r[i].re[j].anchored);
			free(r[i].re[j].words);
		}
		free(r[i].re);
		relists_free(r[i].ignore, 1);
	}
	free(r);
}

/* ---- labels ---- */

static int build_outcome(struct lbl_ctx *c, const struct pp_json *node,
			 const struct pp_json *near, const char *what, struct lbl_outcome *out)
{
	switch (pp_json_type(node)) {
	case PP_JSON_TRUE:
		out->kind = LBL_OUT_TRUE;
		return PP_OK;
	case PP_JSON_FALSE:
		out->kind = LBL_OUT_FALSE;
		return PP_OK;
	case PP_JSON_NULL:
		out->kind = LBL_OUT_NULL;
		return PP_OK;
	case PP_JSON_OBJECT:
		out->kind = LBL_OUT_PRED;
		return pp_lbl_pred_build(c, node, near, &out->pred);
	default:
		break;
	}
	if (pp_json_is_string(node) && !strcmp(pp_json_str(node), "undecided")) {
		out->kind = LBL_OUT_UNDECIDED;
		return PP_OK;
	}
	return pp_lbl_err(c, node, near, "'%s' takes true, false, null, undecided or a predicate",
			  what);
}

static int build_cases(struct lbl_ctx *c, const struct pp_json *cases, struct lbl_label *lb)
{
	const struct pp_json *cs;
	size_t i;
	void *it;
	int rc;

	if (!pp_json_is_array(cases))
		return pp_lbl_err(c, cases, cases, "label '%s': 'cases' must be a list", lb->name);
	lb->cases = pp_calloc(pp_json_len(cases) + 1, sizeof(*lb->cases));
	if (!lb->cases)
		return PP_ENOMEM;
	for (i = 0; i < pp_json_len(cases); i++) {
		cs = pp_json_at(cases, i);
		if (!pp_json_is_object(cs) || !pp_json_get(cs, "if") || !pp_json_get(cs, "then"))
			return pp_lbl_err(c, cs, cases, "label '%s': a case is {if: PREDICATE, then: VALUE}",
					  lb->name);
		for (it = pp_json_iter(cs); it; it = pp_json_iter_next(cs, it))
			if (strcmp(pp_json_iter_key(it), "if") && strcmp(pp_json_iter_key(it), "then"))
				return pp_lbl_err(c, pp_json_iter_value(it), cs,
						  "unknown key '%s' in a case", pp_json_iter_key(it));
		lb->n_cases = i + 1;
		rc = pp_lbl_pred_build(c, pp_json_get(cs, "if"), cs, &lb->cases[i].cond);
		if (!rc)
			rc = build_outcome(c, pp_json_get(cs, "then"), cs, "then", &lb->cases[i].then);
		if (rc)
			return rc;
	}
	return PP_OK;
}

/* A threshold as rendered: a number, a text holding one, or empty (the
 * config has none: the default applies). */
static int build_threshold(struct lbl_ctx *c, const struct pp_json *cmp, struct lbl_label *lb)
{
	const struct pp_json *t = pp_json_get(cmp, "threshold");
	const struct pp_json *d = pp_json_get(cmp, "default");
	const char *s = pp_json_str(t);
	char *end;

	if (d && !pp_json_num(d, &lb->compare.threshold))
		return pp_lbl_err(c, d, cmp, "label '%s': the 'default' of 'compare' must be a number",
				  lb->name);
	lb->compare.has_threshold = d != NULL;
	if (pp_json_num(t, &lb->compare.threshold)) {
		lb->compare.has_threshold = true;
		return PP_OK;
	}
	if (t && !s)
		return pp_lbl_err(c, t, cmp, "label '%s': 'threshold' must be a number", lb->name);
	if (!s || !*s || (c->raw && has_template(s)))
		return PP_OK;
	lb->compare.threshold = strtod(s, &end);
	if (*end || end == s)
		return pp_lbl_err(c, t, cmp, "label '%s': threshold '%s' is not a number", lb->name, s);
	lb->compare.has_threshold = true;
	return PP_OK;
}

static int build_compare(struct lbl_ctx *c, const struct pp_json *cmp, struct lbl_label *lb)
{
	static const char *const keys[] = { "label", "threshold", "default", NULL };
	const char *const *k;
	void *it;
	int rc;

	if (!pp_json_is_object(cmp) || !pp_json_get(cmp, "label"))
		return pp_lbl_err(c, cmp, cmp, "label '%s': 'compare' is {label: L, threshold: T, "
				  "default: D}", lb->name);
	for (it = pp_json_iter(cmp); it; it = pp_json_iter_next(cmp, it)) {
		for (k = keys; *k && strcmp(*k, pp_json_iter_key(it)); k++)
			;
		if (!*k)
			return pp_lbl_err(c, pp_json_iter_value(it), cmp, "unknown key '%s' in 'compare'",
					  pp_json_iter_key(it));
	}
	lb->body = LBL_BODY_COMPARE;
	rc = pp_lbl_find_label(c, pp_json_get(cmp, "label"), cmp, &lb->compare.label);
	return rc ? rc : build_threshold(c, cmp, lb);
}

static int build_extract_ref(struct lbl_ctx *c, const struct pp_json *ref, struct lbl_label *lb)
{
	const char *name = pp_json_str(ref);
	size_t i;

	lb->body = LBL_BODY_EXTRACT;
	for (i = 0; name && i < c->l->n_rules; i++)
		if (!strcmp(c->l->rules[i].name, name)) {
			lb->extract = i;
			return PP_OK;
		}
	if (!name)
		return pp_lbl_err(c, ref, ref, "label '%s': 'extract' takes the name of an extract rule",
				  lb->name);
	return pp_lbl_err(c, ref, ref, "label '%s': unknown extract rule '%s'", lb->name, name);
}

static int build_body(struct lbl_ctx *c, const struct pp_json *node, struct lbl_label *lb)
{
	static const char *const bodies[] = { "value", "extract", "compare", "otherwise", NULL };
	const char *const *k;
	int n = 0;

	for (k = bodies; *k; k++)
		n += pp_json_get(node, *k) != NULL;
	if (n > 1)
		return pp_lbl_err(c, node, node, "label '%s' takes at most one of value, extract, "
				  "compare and otherwise", lb->name);
	if (!n && !lb->n_cases)
		return pp_lbl_err(c, node, node, "label '%s' decides nothing: give cases, value, "
				  "extract, compare or otherwise", lb->name);
	if (pp_json_get(node, "value")) {
		lb->body = LBL_BODY_VALUE;
		return pp_lbl_pred_build(c, pp_json_get(node, "value"), node, &lb->value);
	}
	if (pp_json_get(node, "extract"))
		return build_extract_ref(c, pp_json_get(node, "extract"), lb);
	if (pp_json_get(node, "compare"))
		return build_compare(c, pp_json_get(node, "compare"), lb);
	if (pp_json_get(node, "otherwise")) {
		lb->body = LBL_BODY_OTHERWISE;
		return build_outcome(c, pp_json_get(node, "otherwise"), node, "otherwise",
				     &lb->otherwise);
	}
	return PP_OK;
}

static int build_label(struct lbl_ctx *c, const struct pp_json *node, struct lbl_label *lb)
{
	static const char *const keys[] = { "cases", "value", "extract", "compare", "otherwise", NULL };
	const char *const *k;
	void *it;
	int rc;

	if (!pp_json_is_object(node))
		return pp_lbl_err(c, node, c->all_labels, "label '%s' must be a mapping", lb->name);
	for (it = pp_json_iter(node); it; it = pp_json_iter_next(node, it)) {
		for (k = keys; *k && strcmp(*k, pp_json_iter_key(it)); k++)
			;
		if (!*k)
			return pp_lbl_err(c, pp_json_iter_value(it), node, "unknown key '%s' in label '%s'",
					  pp_json_iter_key(it), lb->name);
	}
	if (pp_json_get(node, "cases")) {
		rc = build_cases(c, pp_json_get(node, "cases"), lb);
		if (rc)
			return rc;
	}
	return build_body(c, node, lb);
}

static int build_labels(struct lbl_ctx *c, const struct pp_json *labels)
{
	struct pp_labels *l = c->l;
	size_t n = pp_json_len(labels);
	void *it;
	int rc;

	if (pp_json_is_null(labels))
		return PP_OK;
	if (!pp_json_is_object(labels))
		return pp_lbl_err(c, labels, labels, "'labels' must map label names to their rules");
	l->labels = pp_calloc(n + 1, sizeof(*l->labels));
	if (!l->labels)
		return PP_ENOMEM;
	/* Names first: a reference to a later label is told apart from an
	 * unknown one. */
	for (it = pp_json_iter(labels); it; it = pp_json_iter_next(labels, it))
		l->labels[l->n_labels++].name = pp_json_iter_key(it);
	for (it = pp_json_iter(labels); it; it = pp_json_iter_next(labels, it), c->n_done++) {
		rc = build_label(c, pp_json_iter_value(it), &l->labels[c->n_done]);
		if (rc)
			return rc;
	}
	return PP_OK;
}

static void outcome_free(struct lbl_outcome *o)
{
	if (o->kind == LBL_OUT_PRED)
		pp_lbl_pred_free(o->pred);
}

void pp_labels_free(struct pp_labels *l)
{
	size_t i, j;

	if (!l)
		return;
	for (i = 0; l->labels && i < l->n_labels; i++) {
		for (j = 0; j < l->labels[i].n_cases; j++) {
			pp_lbl_pred_free(l->labels[i].cases[j].cond);
			outcome_free(&l->labels[i].cases[j].then);
		}
		free(l->labels[i].cases);
		pp_lbl_pred_free(l->labels[i].value);
		if (l->labels[i].body == LBL_BODY_OTHERWISE)
			outcome_free(&l->labels[i].otherwise);
	}
	free(l->labels);
	relists_free(l->patterns, l->n_patterns);
	relists_free(l->rules, l->n_rules);
	pp_json_decref(l->src_labels);
	pp_json_decref(l->src_patterns);
	pp_json_decref(l->src_extract);
	free(l);
}

static int build_all(struct lbl_ctx *c, const struct pp_json *labels,
		     const struct pp_json *patterns, const struct pp_json *extract)
{
	int rc = build_patterns(c, patterns);

	if (!rc)
		rc = build_rules(c, extract);
	c->all_labels = labels;
	if (!rc)
		rc = build_labels(c, labels);
	return rc;
}

int pp_labels_check(const struct pp_json *labels, const struct pp_json *patterns,
		    const struct pp_json *extract, const struct pp_srcmap *map,
		    struct pp_diag *diag)
{
	struct lbl_ctx c = { NULL, NULL, 0, map, true, diag };
	int rc;

	c.l = pp_calloc(1, sizeof(*c.l));
	if (!c.l)
		return PP_ENOMEM;
	rc = build_all(&c, labels, patterns, extract);
	pp_labels_free(c.l);
	return rc;
}

/* A deep copy of a section; NULL (or JSON null) stays NULL. */
static int copy_section(const struct pp_json *v, struct pp_json **out)
{
	*out = NULL;
	if (pp_json_is_null(v))
		return PP_OK;
	*out = pp_json_deep_copy(v);
	return *out ? PP_OK : PP_ENOMEM;
}

int pp_labels_compile(struct pp_labels **out, const struct pp_json *labels,
		      const struct pp_json *patterns, const struct pp_json *extract,
		      struct pp_diag *diag)
{
	struct lbl_ctx c = { NULL, NULL, 0, NULL, false, diag };
	int rc;

	*out = NULL;
	c.l = pp_calloc(1, sizeof(*c.l));
	if (!c.l)
		return PP_ENOMEM;
	rc = copy_section(labels, &c.l->src_labels);
	if (!rc)
		rc = copy_section(patterns, &c.l->src_patterns);
	if (!rc)
		rc = copy_section(extract, &c.l->src_extract);
	if (!rc)
		rc = build_all(&c, c.l->src_labels, c.l->src_patterns, c.l->src_extract);
	if (rc) {
		pp_labels_free(c.l);
		return rc;
	}
	*out = c.l;
	return PP_OK;
}
