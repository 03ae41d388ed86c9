/*
 * stats.c - the statistics of the reports.
 *
 * The Wilson score interval is used beside every rate because it stays
 * inside [0, 1] and keeps a sensible width at 0 and n successes, where the
 * normal (Wald) interval collapses to a point.
 */
#include <math.h>

#include <peerpres/stats.h>

void pp_wilson(long k, long n, double z, double *lo, double *hi)
{
	double nn, p, z2, denom, center, half, l, h;

	if (n <= 0) {
		*lo = 0.0;
		*hi = 1.0;
		return;
	}
	if (k < 0)
		k = 0;
	if (k > n)
		k = n;
	nn = (double)n;
	p = (double)k / nn;
	z2 = z * z;
	denom = 1.0 + z2 / nn;
	center = (p + z2 / (2.0 * nn)) / denom;
	half = z * sqrt(p * (1.0 - p) / nn + z2 / (4.0 * nn * nn)) / denom;
	l = center - half;
	h = center + half;
	/* At k == 0 or k == n the bound is exactly 0 or 1; rounding would
	 * otherwise leave 1e-17 where a reader expects 0. */
	*lo = k == 0 || l < 0.0 ? 0.0 : l;
	*hi = k == n || h > 1.0 ? 1.0 : h;
}
