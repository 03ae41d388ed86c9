/*
 * metrics.c - estimates for the study's metrics: a rate, a difference of
 * two rates, and a weighted sum of rates, each with an interval and the
 * test the study used (include/peerpres/metrics.h).
 *
 * Every interval here is a score interval or built from score intervals
 * (Wilson, Newcombe, MOVER), so none collapses to a point at 0 or n
 * successes the way a normal-approximation interval would.
 */
#include <math.h>

#include <peerpres/metrics.h>
#include <peerpres/stats.h>

static void undefined(struct pp_estimate *e, double lo, double hi)
{
	e->defined = false;
	e->value = 0.0;
	e->lo = lo;
	e->hi = hi;
	e->tested = false;
	e->p = 1.0;
	e->stat = 0.0;
	e->df = 0;
}

void pp_estimate_rate(long k, long n, double p0, struct pp_estimate *e)
{
	undefined(e, 0.0, 1.0);
	if (n <= 0)
		return;
	e->defined = true;
	e->value = (double)k / (double)n;
	pp_wilson(k, n, PP_Z95, &e->lo, &e->hi);
	if (p0 > 0.0) {
		e->tested = true;
		e->p = pp_binom_greater(k, n, p0);
	}
}

void pp_estimate_diff(long k1, long n1, long k2, long n2, struct pp_estimate *e)
{
	undefined(e, -1.0, 1.0);
	if (n1 <= 0 || n2 <= 0)
		return;
	e->defined = true;
	e->value = (double)k1 / (double)n1 - (double)k2 / (double)n2;
	pp_newcombe(k1, n1, k2, n2, PP_Z95, &e->lo, &e->hi);
	e->tested = true;
	pp_ztest2(k1, n1, k2, n2, &e->stat, &e->p);
}

/* How far a term pulls the sum down (below) and up (above) from its
 * value: a negative weight turns the upper bound into the lower one. */
static void term_reach(const struct pp_term *t, double *below, double *above)
{
	if (t->w >= 0.0) {
		*below = t->w * (t->value - t->lo);
		*above = t->w * (t->hi - t->value);
	} else {
		*below = -t->w * (t->hi - t->value);
		*above = -t->w * (t->value - t->lo);
	}
}

void pp_mover(const struct pp_term *t, size_t n, double *value, double *lo,
	      double *hi)
{
	double sum = 0.0, down2 = 0.0, up2 = 0.0, min = 0.0, max = 0.0;
	size_t i, j;

	for (i = 0; i < n; i++) {
		double down = 0.0, up = 0.0, b, a;
		int first = 1;

		sum += t[i].w * t[i].value;
		if (t[i].w < 0.0)
			min += t[i].w;
		else
			max += t[i].w;
		/* A pool is summed once, at its first term. */
		for (j = 0; j < i && first; j++)
			first = t[j].pool != t[i].pool;
		if (!first)
			continue;
		for (j = i; j < n; j++) {
			if (t[j].pool != t[i].pool)
				continue;
			term_reach(&t[j], &b, &a);
			down += b;
			up += a;
		}
		down2 += down * down;
		up2 += up * up;
	}
	*value = sum;
	*lo = sum - sqrt(down2);
	*hi = sum + sqrt(up2);
	if (*lo < min)
		*lo = min;
	if (*hi > max)
		*hi = max;
}

void pp_estimate_sum(const struct pp_term *t, size_t n, const double *p, size_t n_p,
		     struct pp_estimate *e)
{
	undefined(e, 0.0, 0.0);
	if (n == 0)
		return;
	e->defined = true;
	pp_mover(t, n, &e->value, &e->lo, &e->hi);
	if (n_p > 0) {
		e->tested = true;
		e->p = pp_fisher(p, n_p, &e->stat);
		e->df = (int)(2 * n_p);
	}
}
