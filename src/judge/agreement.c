/*
 * agreement.c - how often two sources of label values agree: the rules
 * and a judge, or two judges (or one judge at two prompt versions).
 *
 * Only labels both sources decide are compared: a failed verdict, or a
 * label the rules left open, is no disagreement, and the counts of each
 * ("failed": a label one source decides and the other's judge failed
 * on) are in the output beside the agreement, so nothing is hidden. Values are
 * compared as pp_judge_same_value() does, and Cohen's kappa is computed
 * over the categories the two sources used for that label; "all" pools
 * every label with categories "label=value", so kappa there is not
 * inflated by values that agree only because they are of one label, and
 * its kappa pools only the labels with a kappa of their own (see
 * pooled()).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>

#include <peerpres/stats.h>
#include <peerpres/status.h>

#include "core/alloc.h"
#include "judge/judge_int.h"

#define KEY_MAX 96

struct source {
	bool rules;
	char judge[512], version[128];
	struct pp_json *verdicts;       /* the judge's, by rollout id */
};

/* A category name for a value: strings lower-cased, numbers by value. */
static void category(const struct pp_json *v, char *out, size_t len)
{
	const char *s = pp_json_str(v);
	double d;
	size_t i;

	if (s) {
		for (i = 0; s[i] && i + 1 < len; i++)
			out[i] = (char)tolower((unsigned char)s[i]);
		out[i] = '\0';
	} else if (pp_json_num(v, &d)) {
		snprintf(out, len, "%g", d);
	} else {
		snprintf(out, len, "%s", pp_json_is_bool(v) ? (pp_json_is_true(v) ? "true" : "false")
							     : "null");
	}
}

static int open_source(struct pp_store *s, const char *spec, struct source *src)
{
	memset(src, 0, sizeof(*src));
	if (!strcmp(spec, "rules")) {
		src->rules = true;
		return PP_OK;
	}
	if (pp_store_judge_resolve(s, spec, src->judge, sizeof(src->judge), src->version,
				   sizeof(src->version)))
		return PP_ENOTFOUND;
	return pp_store_verdicts(s, src->judge, src->version, &src->verdicts);
}

/* The value a source gives a label: *state 1 decided (value in *v), 0
 * open, -1 failed at the judge. */
static void value_from(const struct source *src, const char *id, const char *name,
		       const struct pp_json *label, const struct pp_json **v, int *state)
{
	const struct pp_json *e;

	*v = NULL;
	if (src->rules) {
		bool rule = pp_json_is_true(pp_json_get(label, "decided")) &&
			    strcmp(pp_json_get_str(label, "source", "rule"), "judge");

		*state = rule ? 1 : 0;
		*v = pp_json_get(label, "value");
		return;
	}
	e = pp_json_get(pp_json_get(src->verdicts, id), name);
	if (!e) {
		*state = 0;
		return;
	}
	*state = strcmp(pp_json_get_str(e, "outcome", ""), "ok") ? -1 : 1;
	*v = pp_json_get(e, "value");
}

/* pairs: {label: [[cat_a, cat_b], ...]}; failed: {label: {"a": n, "b": n}} */
struct collect {
	struct pp_json *pairs, *failed;
};

static int bump(struct pp_json *o, const char *label, const char *key)
{
	struct pp_json *e = pp_json_get(o, label);
	long long n = 0;

	if (!e) {
		if (pp_json_set(o, label, pp_json_object()))
			return PP_ENOMEM;
		e = pp_json_get(o, label);
	}
	pp_json_int(pp_json_get(e, key), &n);
	return pp_json_set(e, key, pp_json_integer(n + 1));
}

static int add_pair(struct collect *c, const char *label, const struct pp_json *a,
		    const struct pp_json *b)
{
	struct pp_json *list = pp_json_get(c->pairs, label), *pair;
	char ka[KEY_MAX], kb[KEY_MAX];

	if (!list) {
		if (pp_json_set(c->pairs, label, pp_json_array()))
			return PP_ENOMEM;
		list = pp_json_get(c->pairs, label);
	}
	category(a, ka, sizeof(ka));
	category(b, kb, sizeof(kb));
	if (!(pair = pp_json_array()) || pp_json_append(pair, pp_json_string(ka)) ||
	    pp_json_append(pair, pp_json_string(kb))) {
		pp_json_decref(pair);
		return PP_ENOMEM;
	}
	return pp_json_append(list, pair);
}

static int collect_rollout(struct collect *c, const struct source *a, const struct source *b,
			   const char *id, const struct pp_json *labels)
{
	void *it;
	int rc = PP_OK;

	for (it = pp_json_iter(labels); !rc && it; it = pp_json_iter_next(labels, it)) {
		const char *name = pp_json_iter_key(it);
		const struct pp_json *va, *vb;
		int sa, sb;

		value_from(a, id, name, pp_json_iter_value(it), &va, &sa);
		value_from(b, id, name, pp_json_iter_value(it), &vb, &sb);
		if (sa == 1 && sb == 1)
			rc = add_pair(c, name, va, vb);
		else if (sa == -1 && sb == 1)
			rc = bump(c->failed, name, "a");
		else if (sb == -1 && sa == 1)
			rc = bump(c->failed, name, "b");
	}
	return rc;
}

/* The index of key in cats (appended when new). */
static int cat_index(struct pp_json *cats, const char *key, size_t *i)
{
	for (*i = 0; *i < pp_json_len(cats); (*i)++)
		if (!strcmp(pp_json_str(pp_json_at(cats, *i)), key))
			return PP_OK;
	return pp_json_append(cats, pp_json_string(key));
}

/* {"n","agree","percent","kappa","categories"} of a list of pairs. */
static int stats_of(const struct pp_json *pairs, struct pp_json **out)
{
	struct pp_json *cats = pp_json_array(), *o = pp_json_object();
	size_t i, k, ia, ib, n = pp_json_len(pairs);
	long *table = NULL, agree = 0;
	double kappa, po;
	bool defined;
	int rc = cats && o ? PP_OK : PP_ENOMEM;

	for (i = 0; !rc && i < n; i++) {
		const struct pp_json *p = pp_json_at(pairs, i);

		if (!(rc = cat_index(cats, pp_json_str(pp_json_at(p, 0)), &ia)))
			rc = cat_index(cats, pp_json_str(pp_json_at(p, 1)), &ib);
		agree += !rc && ia == ib;
	}
	k = pp_json_len(cats);
	if (!rc && k && !(table = pp_calloc(k * k, sizeof(*table))))
		rc = PP_ENOMEM;
	for (i = 0; !rc && i < n; i++) {
		const struct pp_json *p = pp_json_at(pairs, i);

		if (!(rc = cat_index(cats, pp_json_str(pp_json_at(p, 0)), &ia)) &&
		    !(rc = cat_index(cats, pp_json_str(pp_json_at(p, 1)), &ib)))
			table[ia * k + ib]++;
	}
	defined = !rc && k && pp_cohen_kappa(table, k, &kappa, &po);
	if (!rc)
		rc = pp_json_set(o, "n", pp_json_integer((long long)n));
	if (!rc)
		rc = pp_json_set(o, "agree", pp_json_integer(agree));
	if (!rc)
		rc = pp_json_set(o, "percent", n ? pp_json_real(100.0 * (double)agree / (double)n)
					       : pp_json_null());
	if (!rc)
		rc = pp_json_set(o, "kappa", defined ? pp_json_real(kappa) : pp_json_null());
	if (!rc) {
		rc = pp_json_set(o, "categories", cats);
		cats = NULL;
	}
	free(table);
	pp_json_decref(cats);
	if (rc) {
		pp_json_decref(o);
		return rc;
	}
	*out = o;
	return PP_OK;
}

static bool in_names(const struct pp_json *names, const char *name)
{
	size_t i;

	for (i = 0; i < pp_json_len(names); i++)
		if (!strcmp(pp_json_str(pp_json_at(names, i)), name))
			return true;
	return false;
}

/* The pairs of the labels chosen (all when names is NULL), as
 * "label=value" categories, appended to all. */
static int qualified_pairs(const struct pp_json *pairs, const struct pp_json *names,
			   struct pp_json *all)
{
	char ka[2 * KEY_MAX + 2], kb[2 * KEY_MAX + 2];
	void *it;
	size_t i;
	int rc = PP_OK;

	for (it = pp_json_iter(pairs); !rc && it; it = pp_json_iter_next(pairs, it)) {
		const struct pp_json *list = pp_json_iter_value(it);

		if (names && !in_names(names, pp_json_iter_key(it)))
			continue;

		for (i = 0; !rc && i < pp_json_len(list); i++) {
			struct pp_json *p = pp_json_array();

			snprintf(ka, sizeof(ka), "%s=%s", pp_json_iter_key(it),
				 pp_json_str(pp_json_at(pp_json_at(list, i), 0)));
			snprintf(kb, sizeof(kb), "%s=%s", pp_json_iter_key(it),
				 pp_json_str(pp_json_at(pp_json_at(list, i), 1)));
			if (!p || pp_json_append(p, pp_json_string(ka)) ||
			    pp_json_append(p, pp_json_string(kb))) {
				pp_json_decref(p);
				rc = PP_ENOMEM;
			} else {
				rc = pp_json_append(all, p);
			}
		}
	}
	return rc;
}

/* The labels whose own kappa is defined, as a new array. */
static struct pp_json *kappa_labels(const struct pp_json *per)
{
	struct pp_json *names = pp_json_array();
	void *it;

	for (it = pp_json_iter(per); names && it; it = pp_json_iter_next(per, it)) {
		if (pp_json_is_null(pp_json_get(pp_json_iter_value(it), "kappa")))
			continue;
		if (pp_json_append(names, pp_json_string(pp_json_iter_key(it)))) {
			pp_json_decref(names);
			names = NULL;
		}
	}
	return names;
}

/*
 * Every pair of every label, as "label=value" categories, for n, agree
 * and percent. Kappa pools only the labels with a kappa of their own: a
 * label where both sources used one value carries no information about
 * chance agreement, yet its label-qualified category would count as
 * a category the two agree on beyond chance and push the pooled kappa
 * towards 1. With no such label the pooled kappa is undefined (null).
 */
static int pooled(const struct pp_json *pairs, const struct pp_json *per, struct pp_json **out)
{
	struct pp_json *all = pp_json_array(), *some = pp_json_array(), *names = kappa_labels(per);
	struct pp_json *st = NULL;
	int rc = all && some && names ? PP_OK : PP_ENOMEM;

	if (!rc)
		rc = qualified_pairs(pairs, NULL, all);
	if (!rc)
		rc = qualified_pairs(pairs, names, some);
	if (!rc)
		rc = stats_of(all, out);
	if (!rc)
		rc = stats_of(some, &st);
	if (!rc)
		rc = pp_json_set(*out, "kappa", pp_json_incref(pp_json_get(st, "kappa")));
	if (!rc) {
		rc = pp_json_set(*out, "kappa_labels", names);
		names = NULL;
	}
	pp_json_decref(st);
	pp_json_decref(all);
	pp_json_decref(some);
	pp_json_decref(names);
	return rc;
}

static struct pp_json *source_name(const struct source *src)
{
	char buf[660];

	if (src->rules)
		return pp_json_string("rules");
	snprintf(buf, sizeof(buf), "%s@%s", src->judge, src->version);
	return pp_json_string(buf);
}

static int result(const struct source *a, const struct source *b, const struct collect *c,
		  struct pp_json **out)
{
	struct pp_json *o = pp_json_object(), *per = pp_json_object(), *st = NULL, *all = NULL;
	void *it;
	int rc = o && per ? PP_OK : PP_ENOMEM;

	for (it = pp_json_iter(c->pairs); !rc && it; it = pp_json_iter_next(c->pairs, it)) {
		rc = stats_of(pp_json_iter_value(it), &st);
		if (!rc)
			rc = pp_json_set(per, pp_json_iter_key(it), st);
	}
	if (!rc)
		rc = pooled(c->pairs, per, &all);
	if (!rc)
		rc = pp_json_set(o, "a", source_name(a));
	if (!rc)
		rc = pp_json_set(o, "b", source_name(b));
	if (!rc) {
		rc = pp_json_set(o, "labels", per);
		per = NULL;
	}
	if (!rc) {
		rc = pp_json_set(o, "all", all);
		all = NULL;
	}
	if (!rc)
		rc = pp_json_set(o, "failed", pp_json_incref(c->failed));
	pp_json_decref(per);
	pp_json_decref(all);
	if (rc) {
		pp_json_decref(o);
		return rc;
	}
	*out = o;
	return PP_OK;
}

/* What walk_config needs besides a config's summary. */
struct walk {
	struct collect *c;
	const struct source *a, *b;
};

/* Collects the label pairs of one config's rollouts (pp_store_summary_each). */
static int walk_config(void *arg, struct pp_json *summary)
{
	const struct walk *w = arg;
	const struct pp_json *cfg = pp_json_at(summary, 0), *rs = pp_json_get(cfg, "rollouts");
	char id[160];
	size_t j;
	int rc = PP_OK;

	for (j = 0; !rc && j < pp_json_len(rs); j++) {
		const struct pp_json *r = pp_json_at(rs, j);
		long long idx = -1;

		pp_json_int(pp_json_get(r, "idx"), &idx);
		snprintf(id, sizeof(id), "%s:%lld", pp_json_get_str(cfg, "config_id", ""), idx);
		rc = collect_rollout(w->c, w->a, w->b, id, pp_json_get(r, "labels"));
	}
	return rc;
}

int pp_judge_agreement(struct pp_store *s, const char *a, const char *b,
		       const struct pp_json *filters, struct pp_json **out)
{
	struct source sa, sb;
	struct collect c = { NULL, NULL };
	struct walk w = { &c, &sa, &sb };
	int rc;

	if (!s || !a || !b || !out)
		return PP_EINVAL;
	*out = NULL;
	memset(&sb, 0, sizeof(sb));
	if ((rc = open_source(s, a, &sa)) || (rc = open_source(s, b, &sb)))
		goto out;
	c.pairs = pp_json_object();
	c.failed = pp_json_object();
	if (!c.pairs || !c.failed) {
		rc = PP_ENOMEM;
		goto out;
	}
	if (!(rc = pp_store_summary_each(s, filters, walk_config, &w)))
		rc = result(&sa, &sb, &c, out);
out:
	pp_json_decref(c.pairs);
	pp_json_decref(c.failed);
	pp_json_decref(sa.verdicts);
	pp_json_decref(sb.verdicts);
	return rc;
}
