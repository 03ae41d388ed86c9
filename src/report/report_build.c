/*
 * report_build.c - from a store summary to the report object: per config
 * and per group, status counts and label statistics with n, Wilson
 * intervals and, for reference populations, the declared truth; then the
 * study's metrics (report_metrics.c) and the usage totals
 * (report_usage.c).
 *
 * Counting rules (docs/report.md): a label's n counts the rollouts where
 * it is decided and not null; undecided, judge_failed (the judge was
 * asked and failed), decided-null, error (the labels
 * of a rollout whose provider failed describe no behaviour: they are not
 * read) and missing (rollouts without the label) are counted beside n
 * and never enter a rate. The kind of a label (bool, number, categorical) is decided per
 * scenario from every value it takes there, so one label reads the same
 * way in every row of a scenario's tables.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <peerpres/stats.h>
#include <peerpres/status.h>
#include "core/alloc.h"
#include "report/report_int.h"

enum dim {
	D_SCENARIO, D_SUBJECT, D_CONDITION, D_INSTANTIATION, D_MODEL,
	D_DATASET, D_THRESHOLD, D_MODE, D_SCRATCHPAD, N_DIMS
};

/* In sort order: the group key (the first five) first. */
static const char *const dim_names[N_DIMS] = {
	"scenario", "subject", "condition", "instantiation", "model",
	"dataset", "threshold", "mode", "scratchpad",
};

#define N_GROUP_DIMS 5

static const char *const statuses[] = {
	"scored", "refused", "incomplete", "error", "pending_judge", NULL,
};

enum kind { K_BOOL, K_NUMBER, K_CAT };

/* Which JSON types a label's decided values took. */
#define T_BOOL 1
#define T_NUM 2
#define T_OTHER 4

struct vcount {          /* one distinct decided, non-null value */
	char *canon;         /* pp_report_canon(): the value's identity */
	struct pp_json *value;
	long count;
};

struct lacc {            /* one label over a set of rollouts */
	char *name;
	long present, undecided, judge_failed, nulls;
	long not_rules;      /* decided by anything but the rules (the judge) */
	struct vcount *v;
	size_t n_v, cap_v;
};

struct lset {
	struct lacc *a;
	size_t n, cap;
};

struct cfg {
	const struct pp_json *json; /* borrowed from the summary */
	char *dims[N_DIMS];
	struct pp_json *truth;      /* {label: {canon: p}}, or NULL */
	struct pp_json *status;
	long n_rollouts, n_errors;
	struct lset labels;
};

struct group {
	size_t first, n;            /* its configs: cfgs[first .. first+n) */
	struct pp_json *status;
	long n_rollouts, n_errors;
	struct lset labels;
};

struct kindrec {
	const char *scenario, *label;
	int types;
};

struct build {
	struct cfg *cfgs;
	size_t n_cfgs;
	struct group *groups;
	size_t n_groups;
	struct kindrec *kinds;
	size_t n_kinds, cap_kinds;
};

/* ---- value keys ---- */

/* A real is keyed as people read it (79.15, not 79.150000000000006): the
 * fewest digits that read back as it are as unique as %.17g. */
char *pp_report_canon(const struct pp_json *v)
{
	struct pp_buf b = PP_BUF_INIT;
	struct pp_json *i;
	char *s;
	double d;

	if (pp_json_type(v) != PP_JSON_REAL || !pp_json_num(v, &d))
		return pp_json_canonical(v);
	if (d == floor(d) && fabs(d) < 9e15) {
		i = pp_json_integer((long long)d);
		s = i ? pp_json_canonical(i) : NULL;
		pp_json_decref(i);
		return s;
	}
	if (pp_json_dump(v, PP_JSON_COMPACT | PP_JSON_SHORT_REALS, &b)) {
		pp_buf_release(&b);
		return NULL;
	}
	return pp_buf_detach(&b, NULL);
}

/* Whether a string must be quoted to stay apart from other values. */
static int needs_quotes(const char *s, size_t len)
{
	struct pp_json *t = NULL;

	if (!len || strlen(s) != len || s[0] == ' ' || s[len - 1] == ' ')
		return 1;
	if (pp_json_parse(s, len, &t, NULL, 0) == PP_OK) {
		pp_json_decref(t);
		return 1;
	}
	return 0;
}

char *pp_report_value_key(const struct pp_json *v)
{
	const char *s = pp_json_str(v);

	if (s && !needs_quotes(s, pp_json_len(v)))
		return pp_strdup(s);
	return pp_report_canon(v);
}

/* ---- accumulators ---- */

static void lacc_release(struct lacc *a)
{
	size_t i;

	for (i = 0; i < a->n_v; i++) {
		free(a->v[i].canon);
		pp_json_decref(a->v[i].value);
	}
	free(a->v);
	free(a->name);
}

static void lset_release(struct lset *ls)
{
	size_t i;

	for (i = 0; i < ls->n; i++)
		lacc_release(&ls->a[i]);
	free(ls->a);
	memset(ls, 0, sizeof(*ls));
}

static struct lacc *lset_find(const struct lset *ls, const char *name)
{
	size_t i;

	for (i = 0; i < ls->n; i++)
		if (!strcmp(ls->a[i].name, name))
			return &ls->a[i];
	return NULL;
}

/* The accumulator of a label, created empty when new; NULL on ENOMEM. */
static struct lacc *lset_get(struct lset *ls, const char *name)
{
	struct lacc *a = lset_find(ls, name), *na;

	if (a)
		return a;
	if (!(na = pp_grow(ls->a, &ls->cap, ls->n, 1, sizeof(*na))))
		return NULL;
	ls->a = na;
	a = &ls->a[ls->n];
	memset(a, 0, sizeof(*a));
	if (!(a->name = pp_strdup(name)))
		return NULL;
	ls->n++;
	return a;
}

/* Adds `count` of a value known by its canon (taking neither). */
static int lacc_add_value(struct lacc *a, const char *canon,
			  struct pp_json *value, long count)
{
	struct vcount *vc, *nv;
	size_t i;

	for (i = 0; i < a->n_v; i++)
		if (!strcmp(a->v[i].canon, canon)) {
			a->v[i].count += count;
			return PP_OK;
		}
	if (!(nv = pp_grow(a->v, &a->cap_v, a->n_v, 1, sizeof(*nv))))
		return PP_ENOMEM;
	a->v = nv;
	vc = &a->v[a->n_v];
	if (!(vc->canon = pp_strdup(canon)))
		return PP_ENOMEM;
	vc->value = pp_json_incref(value);
	vc->count = count;
	a->n_v++;
	return PP_OK;
}

/* One rollout's entry for a label: {"value","decided",...}. Anything
 * that is not such an object counts as undecided; a label the judge
 * failed on (pp_store_apply_judge leaves it undecided with source
 * judge_failed) counts apart, as the metrics count it. */
static int lacc_add(struct lacc *a, const struct pp_json *entry)
{
	struct pp_json *v = pp_json_get(entry, "value");
	char *canon;
	int rc;

	a->present++;
	if (!pp_json_is_true(pp_json_get(entry, "decided"))) {
		if (!strcmp(pp_json_get_str(entry, "source", ""), "judge_failed"))
			a->judge_failed++;
		else
			a->undecided++;
		return PP_OK;
	}
	a->not_rules += strcmp(pp_json_get_str(entry, "source", "rule"), "rule") != 0;
	if (pp_json_is_null(v)) {
		a->nulls++;
		return PP_OK;
	}
	if (!(canon = pp_report_canon(v)))
		return PP_ENOMEM;
	rc = lacc_add_value(a, canon, v, 1);
	free(canon);
	return rc;
}

static int lacc_merge(struct lacc *into, const struct lacc *from)
{
	size_t i;
	int rc;

	into->present += from->present;
	into->undecided += from->undecided;
	into->judge_failed += from->judge_failed;
	into->nulls += from->nulls;
	into->not_rules += from->not_rules;
	for (i = 0; i < from->n_v; i++)
		if ((rc = lacc_add_value(into, from->v[i].canon, from->v[i].value,
					 from->v[i].count)))
			return rc;
	return PP_OK;
}

static long lacc_n(const struct lacc *a)
{
	long n = 0;
	size_t i;

	for (i = 0; a && i < a->n_v; i++)
		n += a->v[i].count;
	return n;
}

static int lacc_types(const struct lacc *a)
{
	int t = 0;
	size_t i;

	for (i = 0; i < a->n_v; i++)
		t |= pp_json_is_bool(a->v[i].value) ? T_BOOL :
		     pp_json_is_number(a->v[i].value) ? T_NUM : T_OTHER;
	return t;
}

/* ---- counting helpers ---- */

static int count_add(struct pp_json *obj, const char *key, long n)
{
	long long cur = 0;

	pp_json_int(pp_json_get(obj, key), &cur);
	return pp_json_set(obj, key, pp_json_integer(cur + n));
}

static struct pp_json *status_new(void)
{
	struct pp_json *o = pp_json_object();
	int i;

	for (i = 0; o && statuses[i]; i++)
		if (pp_json_set(o, statuses[i], pp_json_integer(0))) {
			pp_json_decref(o);
			return NULL;
		}
	return o;
}

static int status_merge(struct pp_json *into, const struct pp_json *from)
{
	long long n;
	void *it;
	int rc;

	for (it = pp_json_iter(from); it; it = pp_json_iter_next(from, it)) {
		n = 0;
		pp_json_int(pp_json_iter_value(it), &n);
		if ((rc = count_add(into, pp_json_iter_key(it), (long)n)))
			return rc;
	}
	return PP_OK;
}

/* ---- configs ---- */

/* A dimension as text: strings as they are, numbers as JSON, absent or
 * null as "none" (the store's convention). */
static char *dim_text(const struct pp_json *v)
{
	if (pp_json_is_null(v))
		return pp_strdup("none");
	if (pp_json_is_string(v))
		return pp_strdup(pp_json_str(v));
	return pp_report_canon(v);
}

/*
 * The config's declared truth with every value key in canon form, so a
 * lookup is a plain key match: {"score": {"95.0": .2}} and {"score":
 * {"95": .2}} mean the same. A key that is not JSON is read as a string
 * (below == "\"below\""). A bool label given only "false" also gets
 * "true" = 1 - p.
 */
static int normalize_truth(const struct pp_json *truth, struct pp_json **out)
{
	struct pp_json *nt = NULL, *nl = NULL, *k = NULL;
	void *it, *jt;
	char *canon = NULL;
	double p;
	int rc = PP_OK;

	*out = NULL;
	if (!pp_json_is_object(truth))
		return PP_OK;
	if (!(nt = pp_json_object()))
		return PP_ENOMEM;
	for (it = pp_json_iter(truth); it; it = pp_json_iter_next(truth, it)) {
		struct pp_json *lt = pp_json_iter_value(it);

		if (!pp_json_is_object(lt))
			continue;
		if (!(nl = pp_json_object())) {
			rc = PP_ENOMEM;
			goto out;
		}
		for (jt = pp_json_iter(lt); jt; jt = pp_json_iter_next(lt, jt)) {
			const char *key = pp_json_iter_key(jt);

			if (!pp_json_num(pp_json_iter_value(jt), &p))
				continue;
			if (pp_json_parse(key, strlen(key), &k, NULL, 0) != PP_OK &&
			    !(k = pp_json_string(key))) {
				rc = PP_ENOMEM;
				goto out;
			}
			canon = pp_report_canon(k);
			pp_json_decref(k);
			k = NULL;
			if (!canon || (rc = pp_json_set(nl, canon, pp_json_real(p)))) {
				rc = rc ? rc : PP_ENOMEM;
				goto out;
			}
			free(canon);
			canon = NULL;
		}
		if (!pp_json_get(nl, "true") &&
		    pp_json_num(pp_json_get(nl, "false"), &p) &&
		    (rc = pp_json_set(nl, "true", pp_json_real(1.0 - p))))
			goto out;
		rc = pp_json_set(nt, pp_json_iter_key(it), nl);
		nl = NULL;
		if (rc)
			goto out;
	}
	*out = nt;
	nt = NULL;
out:
	free(canon);
	pp_json_decref(nl);
	pp_json_decref(nt);
	return rc;
}

static void cfg_release(struct cfg *c)
{
	int d;

	for (d = 0; d < N_DIMS; d++)
		free(c->dims[d]);
	pp_json_decref(c->truth);
	pp_json_decref(c->status);
	lset_release(&c->labels);
}

static int cfg_rollout(struct cfg *c, const struct pp_json *r)
{
	const struct pp_json *labels = pp_json_get(r, "labels");
	const char *st = pp_json_get_str(r, "status", "unknown");
	struct lacc *a;
	void *it;
	int rc;

	c->n_rollouts++;
	if ((rc = count_add(c->status, st, 1)))
		return rc;
	/* The detectors ran on whatever world a failed call left: an idle
	 * agent's "no tampering" is not a finding. */
	if (!strcmp(st, "error")) {
		c->n_errors++;
		return PP_OK;
	}
	for (it = pp_json_iter(labels); it; it = pp_json_iter_next(labels, it)) {
		if (!(a = lset_get(&c->labels, pp_json_iter_key(it))))
			return PP_ENOMEM;
		if ((rc = lacc_add(a, pp_json_iter_value(it))))
			return rc;
	}
	return PP_OK;
}

static int cfg_load(struct cfg *c, const struct pp_json *json)
{
	const struct pp_json *rollouts = pp_json_get(json, "rollouts");
	const struct pp_json *req = pp_json_get(json, "required_labels");
	size_t i;
	int d, rc;

	c->json = json;
	for (d = 0; d < N_DIMS; d++)
		if (!(c->dims[d] = dim_text(pp_json_get(json, dim_names[d]))))
			return PP_ENOMEM;
	if (!(c->status = status_new()))
		return PP_ENOMEM;
	if ((rc = normalize_truth(pp_json_get(json, "truth"), &c->truth)))
		return rc;
	for (i = 0; i < pp_json_len(rollouts); i++)
		if ((rc = cfg_rollout(c, pp_json_at(rollouts, i))))
			return rc;
	/* A required label no rollout has is still reported: all missing. */
	for (i = 0; i < pp_json_len(req); i++) {
		const char *name = pp_json_str(pp_json_at(req, i));

		if (name && !lset_get(&c->labels, name))
			return PP_ENOMEM;
	}
	return PP_OK;
}

static int cfg_cmp(const void *pa, const void *pb)
{
	const struct cfg *a = pa, *b = pb;
	int d, r;

	for (d = 0; d < N_DIMS; d++)
		if ((r = strcmp(a->dims[d], b->dims[d])))
			return r;
	return strcmp(pp_json_get_str(a->json, "config_id", ""),
		      pp_json_get_str(b->json, "config_id", ""));
}

static int same_group(const struct cfg *a, const struct cfg *b)
{
	int d;

	for (d = 0; d < N_GROUP_DIMS; d++)
		if (strcmp(a->dims[d], b->dims[d]))
			return 0;
	return 1;
}

/* ---- groups and kinds ---- */

static int make_groups(struct build *b)
{
	struct group *g;
	size_t i, j;
	int rc;

	b->groups = pp_calloc(b->n_cfgs ? b->n_cfgs : 1, sizeof(*b->groups));
	if (!b->groups)
		return PP_ENOMEM;
	for (i = 0; i < b->n_cfgs; i++) {
		if (i == 0 || !same_group(&b->cfgs[i - 1], &b->cfgs[i])) {
			g = &b->groups[b->n_groups++];
			g->first = i;
			if (!(g->status = status_new()))
				return PP_ENOMEM;
		}
		g = &b->groups[b->n_groups - 1];
		g->n++;
		g->n_rollouts += b->cfgs[i].n_rollouts;
		g->n_errors += b->cfgs[i].n_errors;
		if ((rc = status_merge(g->status, b->cfgs[i].status)))
			return rc;
		for (j = 0; j < b->cfgs[i].labels.n; j++) {
			struct lacc *a = lset_get(&g->labels, b->cfgs[i].labels.a[j].name);

			if (!a)
				return PP_ENOMEM;
			if ((rc = lacc_merge(a, &b->cfgs[i].labels.a[j])))
				return rc;
		}
	}
	return PP_OK;
}

static struct kindrec *kind_find(const struct build *b, const char *scenario,
				 const char *label)
{
	size_t i;

	for (i = 0; i < b->n_kinds; i++)
		if (!strcmp(b->kinds[i].scenario, scenario) &&
		    !strcmp(b->kinds[i].label, label))
			return &b->kinds[i];
	return NULL;
}

/* Collects the value types of each (scenario, label) over its groups. */
static int make_kinds(struct build *b)
{
	size_t g, j;

	for (g = 0; g < b->n_groups; g++) {
		const char *scen = b->cfgs[b->groups[g].first].dims[D_SCENARIO];
		const struct lset *ls = &b->groups[g].labels;

		for (j = 0; j < ls->n; j++) {
			struct kindrec *k = kind_find(b, scen, ls->a[j].name);

			if (!k) {
				struct kindrec *nk = pp_grow(b->kinds, &b->cap_kinds, b->n_kinds, 1,
							     sizeof(*nk));

				if (!nk)
					return PP_ENOMEM;
				b->kinds = nk;
				k = &b->kinds[b->n_kinds++];
				k->scenario = scen;
				k->label = ls->a[j].name;
				k->types = 0;
			}
			k->types |= lacc_types(&ls->a[j]);
		}
	}
	return PP_OK;
}

static enum kind kind_of(const struct build *b, const char *scenario,
			 const char *label)
{
	const struct kindrec *k = kind_find(b, scenario, label);
	int t = k ? k->types : 0;

	if (t == T_NUM)
		return K_NUMBER;
	return t & ~T_BOOL ? K_CAT : K_BOOL;
}

/* ---- label statistics ---- */

/* Who the truth of a row comes from: one config, or a group's configs. */
struct members {
	const struct cfg *cfgs;
	size_t n;
};

/*
 * The truth of value `canon` of a label over the members: each config's
 * declared probability (0 for a value its declared distribution leaves
 * out), weighted by that config's decided n; a plain mean when no config
 * has a decided value. False when some config declares no truth for the
 * label, or when a judge decided some of its values: the declared truth
 * is about the labels the rules decide.
 */
static int truth_of(const struct members *m, const char *label,
		    const char *canon, double *p)
{
	double w = 0, pw = 0, plain = 0, pi;
	size_t i;

	if (!m->n)
		return 0;
	for (i = 0; i < m->n; i++) {
		const struct pp_json *lt = pp_json_get(m->cfgs[i].truth, label);
		const struct lacc *a = lset_find(&m->cfgs[i].labels, label);
		long n = lacc_n(a);

		if (!lt || (a && a->not_rules))
			return 0;
		pi = 0;
		pp_json_num(pp_json_get(lt, canon), &pi);
		w += (double)n;
		pw += (double)n * pi;
		plain += pi;
	}
	*p = w > 0 ? pw / w : plain / (double)m->n;
	return 1;
}

static struct pp_json *ci_pair(long k, long n)
{
	struct pp_json *a = pp_json_array();
	double lo, hi;

	pp_wilson(k, n, PP_Z95, &lo, &hi);
	if (a && (pp_json_append(a, pp_json_real(lo)) ||
		  pp_json_append(a, pp_json_real(hi)))) {
		pp_json_decref(a);
		return NULL;
	}
	return a;
}

/* Sets "count", "rate", "ci" and "truth" (when declared) on o. */
static int set_rate(struct pp_json *o, long k, long n, const struct members *m,
		    const char *label, const char *canon)
{
	double t;
	int rc;

	if ((rc = pp_json_set(o, "count", pp_json_integer(k))) ||
	    (rc = pp_json_set(o, "rate", n ? pp_json_real((double)k / (double)n)
					   : pp_json_null())) ||
	    (rc = pp_json_set(o, "ci", ci_pair(k, n))))
		return rc;
	if (truth_of(m, label, canon, &t))
		rc = pp_json_set(o, "truth", pp_json_real(t));
	return rc;
}

static long value_count(const struct lacc *a, const char *canon)
{
	size_t i;

	for (i = 0; i < a->n_v; i++)
		if (!strcmp(a->v[i].canon, canon))
			return a->v[i].count;
	return 0;
}

static int add_value_entry(struct pp_json *values, const struct pp_json *v,
			   const char *canon, long k, long n,
			   const struct members *m, const char *label)
{
	struct pp_json *o = pp_json_object();
	char *key = pp_report_value_key(v);
	int rc;

	if (!o || !key) {
		pp_json_decref(o);
		free(key);
		return PP_ENOMEM;
	}
	rc = set_rate(o, k, n, m, label, canon);
	if (!rc)
		rc = pp_json_set(values, key, o);
	else
		pp_json_decref(o);
	free(key);
	return rc;
}

/* The "values" map: every observed value, then every value a member's
 * truth declares that was never observed (count 0). */
static int values_map(const struct lacc *a, long n, const struct members *m,
		      struct pp_json **out)
{
	struct pp_json *values = pp_json_object(), *v = NULL;
	size_t i;
	void *it;
	int rc = PP_OK;

	if (!values)
		return PP_ENOMEM;
	for (i = 0; i < a->n_v && !rc; i++)
		rc = add_value_entry(values, a->v[i].value, a->v[i].canon,
				     a->v[i].count, n, m, a->name);
	for (i = 0; i < m->n && !rc; i++) {
		const struct pp_json *lt = pp_json_get(m->cfgs[i].truth, a->name);

		for (it = pp_json_iter(lt); it && !rc; it = pp_json_iter_next(lt, it)) {
			const char *canon = pp_json_iter_key(it);

			if (value_count(a, canon))
				continue;
			rc = pp_json_parse(canon, strlen(canon), &v, NULL, 0) ?
			     PP_ENOMEM : PP_OK;
			if (!rc)
				rc = add_value_entry(values, v, canon, 0, n, m, a->name);
			pp_json_decref(v);
			v = NULL;
		}
	}
	if (rc)
		pp_json_decref(values);
	else
		*out = values;
	return rc;
}

/* {"n","mean","min","max"} over the numeric values, on o. */
static int set_numeric(struct pp_json *o, const struct lacc *a)
{
	double sum = 0, lo = 0, hi = 0, d;
	long n = 0;
	size_t i;
	int rc;

	for (i = 0; i < a->n_v; i++) {
		if (!pp_json_num(a->v[i].value, &d))
			continue;
		if (!n || d < lo)
			lo = d;
		if (!n || d > hi)
			hi = d;
		sum += d * (double)a->v[i].count;
		n += a->v[i].count;
	}
	if ((rc = pp_json_set(o, "n", pp_json_integer(n))) ||
	    (rc = pp_json_set(o, "mean", n ? pp_json_real(sum / (double)n) : pp_json_null())) ||
	    (rc = pp_json_set(o, "min", n ? pp_json_real(lo) : pp_json_null())) ||
	    (rc = pp_json_set(o, "max", n ? pp_json_real(hi) : pp_json_null())))
		return rc;
	return PP_OK;
}

static int label_stats(const struct lacc *a, enum kind kind, long n_rollouts,
		       long n_errors, const struct members *m, struct pp_json **out)
{
	static const char *const kind_names[] = { "bool", "number", "categorical" };
	struct pp_json *o = pp_json_object(), *values = NULL, *num = NULL;
	long n = lacc_n(a);
	int rc;

	*out = NULL;
	if (!o)
		return PP_ENOMEM;
	if ((rc = pp_json_set_str(o, "kind", kind_names[kind])) ||
	    (rc = pp_json_set(o, "n", pp_json_integer(n))) ||
	    (rc = pp_json_set(o, "undecided", pp_json_integer(a->undecided))) ||
	    (rc = pp_json_set(o, "judge_failed", pp_json_integer(a->judge_failed))) ||
	    (rc = pp_json_set(o, "null", pp_json_integer(a->nulls))) ||
	    (rc = pp_json_set(o, "error", pp_json_integer(n_errors))) ||
	    (rc = pp_json_set(o, "missing", pp_json_integer(n_rollouts - n_errors - a->present))))
		goto out;
	if (kind == K_BOOL) {
		rc = set_rate(o, value_count(a, "true"), n, m, a->name, "true");
		goto out;
	}
	if ((rc = values_map(a, n, m, &values)) ||
	    (rc = pp_json_set(o, "values", values)))
		goto out;
	if (kind == K_NUMBER) {
		/* Every value is a number here, so its n is the same n. */
		rc = set_numeric(o, a);
	} else if (lacc_types(a) & T_NUM) {
		if (!(num = pp_json_object()) || (rc = set_numeric(num, a))) {
			rc = rc ? rc : PP_ENOMEM;
			pp_json_decref(num);
			goto out;
		}
		rc = pp_json_set(o, "numeric", num);
	}
out:
	if (rc)
		pp_json_decref(o);
	else
		*out = o;
	return rc;
}

/* The "labels" object of a row, labels in name order. */
static int labels_object(const struct build *b, const struct lset *ls,
			 const char *scenario, long n_rollouts, long n_errors,
			 const struct members *m, struct pp_json **out)
{
	struct pp_json *o = pp_json_object(), *st = NULL;
	size_t i;
	int rc = PP_OK;

	if (!o)
		return PP_ENOMEM;
	for (i = 0; i < ls->n && !rc; i++) {
		rc = label_stats(&ls->a[i], kind_of(b, scenario, ls->a[i].name),
				 n_rollouts, n_errors, m, &st);
		if (!rc)
			rc = pp_json_set(o, ls->a[i].name, st);
	}
	if (rc)
		pp_json_decref(o);
	else
		*out = o;
	return rc;
}

/* ---- the report object ---- */

static int row_common(struct pp_json *o, char *const *dims, int n_dims,
		      long n_rollouts, const struct pp_json *status)
{
	int d, rc;

	for (d = 0; d < n_dims; d++)
		if ((rc = pp_json_set_str(o, dim_names[d], dims[d])))
			return rc;
	if ((rc = pp_json_set(o, "n_rollouts", pp_json_integer(n_rollouts))))
		return rc;
	return pp_json_set(o, "status", pp_json_deep_copy(status));
}

static int config_row(const struct build *b, const struct cfg *c,
		      struct pp_json **out)
{
	struct members m = { c, 1 };
	struct pp_json *o = pp_json_object(), *labels = NULL;
	int rc;

	if (!o)
		return PP_ENOMEM;
	if ((rc = pp_json_set_str(o, "config_id",
				  pp_json_get_str(c->json, "config_id", ""))) ||
	    (rc = row_common(o, c->dims, N_DIMS, c->n_rollouts, c->status)) ||
	    (pp_json_get(c->json, "variant") &&
	     (rc = pp_json_set(o, "variant", pp_json_incref(pp_json_get(c->json, "variant"))))) ||
	    (rc = labels_object(b, &c->labels, c->dims[D_SCENARIO], c->n_rollouts,
				c->n_errors, &m, &labels)) ||
	    (rc = pp_json_set(o, "labels", labels)))
		pp_json_decref(o);
	else
		*out = o;
	return rc;
}

static int group_row(const struct build *b, const struct group *g,
		     struct pp_json **out)
{
	const struct cfg *c = &b->cfgs[g->first];
	struct members m = { c, g->n };
	struct pp_json *o = pp_json_object(), *labels = NULL;
	int rc;

	if (!o)
		return PP_ENOMEM;
	if ((rc = row_common(o, c->dims, N_GROUP_DIMS, g->n_rollouts, g->status)) ||
	    (rc = pp_json_set(o, "n_configs", pp_json_integer((long long)g->n))) ||
	    (rc = labels_object(b, &g->labels, c->dims[D_SCENARIO], g->n_rollouts,
				g->n_errors, &m, &labels)) ||
	    (rc = pp_json_set(o, "labels", labels)))
		pp_json_decref(o);
	else
		*out = o;
	return rc;
}

/* "models" (sorted, distinct) and "reference_agents". */
static int set_models(const struct build *b, struct pp_json *report)
{
	struct pp_json *models = pp_json_array();
	const char *prev = NULL;
	int ref = 0, rc;
	size_t i;

	if (!models)
		return PP_ENOMEM;
	/* Configs are sorted with the model inside other keys: pick each
	 * next-larger model name in turn (the list is short). */
	for (;;) {
		const char *next = NULL;

		for (i = 0; i < b->n_cfgs; i++) {
			const char *mdl = b->cfgs[i].dims[D_MODEL];

			if ((!prev || strcmp(mdl, prev) > 0) &&
			    (!next || strcmp(mdl, next) < 0))
				next = mdl;
		}
		if (!next)
			break;
		if ((rc = pp_json_append(models, pp_json_string(next)))) {
			pp_json_decref(models);
			return rc;
		}
		ref |= !strncmp(next, "ref/", 4);
		prev = next;
	}
	rc = pp_json_set(report, "models", models);
	if (!rc)
		rc = pp_json_set(report, "reference_agents", pp_json_bool(ref));
	return rc;
}

static int emit(const struct build *b, struct pp_json *report)
{
	struct pp_json *configs = pp_json_array(), *groups = pp_json_array();
	struct pp_json *row = NULL;
	long total = 0;
	size_t i;
	int rc = PP_OK;

	if (!configs || !groups) {
		rc = PP_ENOMEM;
		goto out;
	}
	for (i = 0; i < b->n_cfgs && !rc; i++) {
		total += b->cfgs[i].n_rollouts;
		rc = config_row(b, &b->cfgs[i], &row);
		if (!rc)
			rc = pp_json_append(configs, row);
	}
	for (i = 0; i < b->n_groups && !rc; i++) {
		rc = group_row(b, &b->groups[i], &row);
		if (!rc)
			rc = pp_json_append(groups, row);
	}
	if (rc || (rc = set_models(b, report)) ||
	    (rc = pp_json_set(report, "n_configs", pp_json_integer((long long)b->n_cfgs))) ||
	    (rc = pp_json_set(report, "n_rollouts", pp_json_integer(total))))
		goto out;
	rc = pp_json_set(report, "configs", configs);
	configs = NULL;
	if (rc)
		goto out;
	rc = pp_json_set(report, "groups", groups);
	groups = NULL;
out:
	pp_json_decref(configs);
	pp_json_decref(groups);
	return rc;
}

/* The study's metrics and the usage totals, read from the summary. */
static int add_metrics(const struct pp_json *summary, struct pp_json *report)
{
	struct pp_json *v = NULL;
	int rc = pp_report_metrics(summary, &v);

	if (!rc)
		rc = pp_json_set(report, "metrics", v);
	if (!rc)
		rc = pp_report_usage(summary, &v);
	if (!rc)
		rc = pp_json_set(report, "usage", v);
	return rc;
}

static void build_release(struct build *b)
{
	size_t i;

	for (i = 0; i < b->n_cfgs; i++)
		cfg_release(&b->cfgs[i]);
	for (i = 0; i < b->n_groups; i++) {
		pp_json_decref(b->groups[i].status);
		lset_release(&b->groups[i].labels);
	}
	free(b->cfgs);
	free(b->groups);
	free(b->kinds);
}

int pp_report_build(const struct pp_json *given, struct pp_json **out)
{
	struct build b = { 0 };
	struct pp_json *report = NULL, *summary = NULL;
	size_t i, n = pp_json_len(given);
	int rc = PP_OK;

	if (!out || !pp_json_is_array(given))
		return PP_EINVAL;
	*out = NULL;
	for (i = 0; i < n; i++)
		if (!pp_json_is_object(pp_json_at(given, i)))
			return PP_EINVAL;
	if ((rc = pp_report_variants(given, &summary)))
		return rc;
	b.cfgs = pp_calloc(n ? n : 1, sizeof(*b.cfgs));
	if (!b.cfgs) {
		pp_json_decref(summary);
		return PP_ENOMEM;
	}
	for (i = 0; i < n; i++) {
		b.n_cfgs++;
		if ((rc = cfg_load(&b.cfgs[i], pp_json_at(summary, i))))
			goto out;
	}
	qsort(b.cfgs, b.n_cfgs, sizeof(*b.cfgs), cfg_cmp);
	if ((rc = make_groups(&b)) || (rc = make_kinds(&b)))
		goto out;
	if (!(report = pp_json_object())) {
		rc = PP_ENOMEM;
		goto out;
	}
	if ((rc = emit(&b, report)) || (rc = add_metrics(summary, report)))
		goto out;
	*out = report;
	report = NULL;
out:
	pp_json_decref(report);
	build_release(&b);
	pp_json_decref(summary);
	return rc;
}
