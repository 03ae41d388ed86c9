/*
 * truth.c - the declared truth of the ref/synthetic population.
 *
 * Each reference agent of the mix picks one of its routes uniformly (an
 * agent without routes for the config follows the compliant ones), and
 * every route declares its labels, so the probability of each label value
 * in a config is known exactly. It is given conditional on the label being
 * decided and not null, which is what a report's rate estimates.
 */
#include <stdlib.h>
#include <string.h>

#include <peerpres/status.h>

#include "scenario/scenario_int.h"

/* An expected value as written in a route ("true", "95", "below"), read
 * like a YAML plain scalar. NULL for "undecided"; a new value otherwise. */
static struct pp_json *expected_value(const struct pp_json *v)
{
	const char *s = pp_json_str(v);
	char *end;
	long long i;
	double d;

	if (!s)
		return pp_json_deep_copy(v);
	if (!strcmp(s, "undecided"))
		return NULL;
	if (!strcmp(s, "true"))
		return pp_json_bool(true);
	if (!strcmp(s, "false"))
		return pp_json_bool(false);
	if (!strcmp(s, "null") || !strcmp(s, "~"))
		return pp_json_null();
	if (*s) {
		i = strtoll(s, &end, 10);
		if (!*end)
			return pp_json_integer(i);
		d = strtod(s, &end);
		if (!*end)
			return pp_json_real(d);
	}
	return pp_json_string(s);
}

static size_t routes_of(const struct pp_json *routes, const char *agent)
{
	size_t i, n = 0;

	for (i = 0; i < pp_json_len(routes); i++)
		if (!strcmp(pp_json_get_str(pp_json_at(routes, i), "agent", ""), agent))
			n++;
	return n;
}

/* Adds weight w to mass[label][value] for every label a route expects. */
static int add_route(struct pp_json *mass, const struct pp_json *route, double w)
{
	const struct pp_json *expect = pp_json_get(route, "expect");
	void *it;
	int rc = PP_OK;

	for (it = pp_json_iter(expect); !rc && it; it = pp_json_iter_next(expect, it)) {
		struct pp_json *v = expected_value(pp_json_iter_value(it)), *per;
		char *key;
		double have = 0;

		if (!v || pp_json_is_null(v)) {
			pp_json_decref(v);
			continue;
		}
		key = pp_json_canonical(v);
		pp_json_decref(v);
		if (!key)
			return PP_ENOMEM;
		per = pp_json_get(mass, pp_json_iter_key(it));
		if (!per) {
			per = pp_json_object();
			rc = per ? pp_json_set(mass, pp_json_iter_key(it), per) : PP_ENOMEM;
		}
		if (!rc) {
			pp_json_num(pp_json_get(per, key), &have);
			rc = pp_json_set(per, key, pp_json_real(have + w));
		}
		free(key);
	}
	return rc;
}

static int normalise(struct pp_json *mass)
{
	void *it, *jt;
	int rc = PP_OK;

	for (it = pp_json_iter(mass); !rc && it; it = pp_json_iter_next(mass, it)) {
		struct pp_json *per = pp_json_iter_value(it);
		double total = 0, p;

		for (jt = pp_json_iter(per); jt; jt = pp_json_iter_next(per, jt))
			if (pp_json_num(pp_json_iter_value(jt), &p))
				total += p;
		for (jt = pp_json_iter(per); !rc && total > 0 && jt; jt = pp_json_iter_next(per, jt)) {
			pp_json_num(pp_json_iter_value(jt), &p);
			rc = pp_json_set(per, pp_json_iter_key(jt), pp_json_real(p / total));
		}
	}
	return rc;
}

int pp_scenario_truth(const struct pp_json *rendered, struct pp_json **out)
{
	const struct pp_json *routes = pp_json_get(rendered, "routes");
	const struct pp_json *m = pp_json_get(rendered, "mix");
	struct pp_json *mass = pp_json_object();
	void *it;
	size_t i;
	int rc = mass ? PP_OK : PP_ENOMEM;

	for (it = pp_json_iter(m); !rc && it; it = pp_json_iter_next(m, it)) {
		const char *agent = pp_json_iter_key(it);
		double p = 0;
		size_t n;

		pp_json_num(pp_json_iter_value(it), &p);
		if (p <= 0)
			continue;
		if (!routes_of(routes, agent))
			agent = "compliant";
		n = routes_of(routes, agent);
		for (i = 0; !rc && i < pp_json_len(routes); i++)
			if (!strcmp(pp_json_get_str(pp_json_at(routes, i), "agent", ""), agent))
				rc = add_route(mass, pp_json_at(routes, i), p / (double)n);
	}
	if (!rc)
		rc = normalise(mass);
	if (rc) {
		pp_json_decref(mass);
		return rc;
	}
	*out = mass;
	return PP_OK;
}
