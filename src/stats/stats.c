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

void pp_newcombe(long k1, long n1, long k2, long n2, double z, double *lo, double *hi)
{
	double l1, u1, l2, u2, p1, p2, d;

	pp_wilson(k1, n1, z, &l1, &u1);
	pp_wilson(k2, n2, z, &l2, &u2);
	p1 = n1 > 0 ? (double)k1 / (double)n1 : 0.0;
	p2 = n2 > 0 ? (double)k2 / (double)n2 : 0.0;
	d = p1 - p2;
	*lo = d - sqrt((p1 - l1) * (p1 - l1) + (u2 - p2) * (u2 - p2));
	*hi = d + sqrt((u1 - p1) * (u1 - p1) + (p2 - l2) * (p2 - l2));
	if (n1 <= 0 || n2 <= 0) {
		*lo = -1.0;
		*hi = 1.0;
	}
}

void pp_ztest2(long k1, long n1, long k2, long n2, double *z, double *p)
{
	double pooled, se;

	*z = 0.0;
	*p = 1.0;
	if (n1 <= 0 || n2 <= 0)
		return;
	pooled = (double)(k1 + k2) / (double)(n1 + n2);
	if (pooled <= 0.0 || pooled >= 1.0)
		return;
	se = sqrt(pooled * (1.0 - pooled) * (1.0 / (double)n1 + 1.0 / (double)n2));
	*z = ((double)k1 / (double)n1 - (double)k2 / (double)n2) / se;
	*p = erfc(fabs(*z) / sqrt(2.0));
}

/* log of C(n, i) p^i (1-p)^(n-i), in log space so large n stays finite. */
static double log_binom_term(long n, long i, double p)
{
	return lgamma((double)n + 1) - lgamma((double)i + 1) - lgamma((double)(n - i) + 1) +
	       (double)i * log(p) + (double)(n - i) * log1p(-p);
}

double pp_binom_greater(long k, long n, double p0)
{
	double sum = 0.0;
	long i;

	if (k <= 0)
		return 1.0;
	if (k > n || p0 <= 0.0)
		return 0.0;
	if (p0 >= 1.0)
		return 1.0;
	for (i = k; i <= n; i++) {
		double t = exp(log_binom_term(n, i, p0));

		sum += t;
		/* Past the mode the terms only shrink. */
		if ((double)i > (double)n * p0 && t < sum * 1e-17)
			break;
	}
	return sum > 1.0 ? 1.0 : sum;
}

double pp_fisher(const double *p, size_t n, double *chi2)
{
	double x = 0.0, half, term = 1.0, sum = 1.0;
	size_t i;

	for (i = 0; i < n; i++)
		x += -2.0 * log(p[i] < 1e-10 ? 1e-10 : p[i] > 1.0 ? 1.0 : p[i]);
	if (chi2)
		*chi2 = x;
	if (n == 0)
		return 1.0;
	/* With 2n degrees of freedom the chi-square survival function has a
	 * closed form: e^(-x/2) sum_{i<n} (x/2)^i / i!. */
	half = x / 2.0;
	for (i = 1; i < n; i++) {
		term *= half / (double)i;
		sum += term;
	}
	return exp(-half) * sum;
}

const char *pp_stars(double p)
{
	return p < 0.001 ? "***" : p < 0.01 ? "**" : p < 0.05 ? "*" : "";
}

bool pp_cohen_kappa(const long *table, size_t k, double *kappa, double *p_observed)
{
	double n = 0.0, agree = 0.0, pe = 0.0, row, col;
	size_t i, j;

	*kappa = 0.0;
	for (i = 0; i < k * k; i++)
		n += (double)table[i];
	for (i = 0; i < k; i++)
		agree += (double)table[i * k + i];
	if (p_observed)
		*p_observed = n > 0 ? agree / n : 0.0;
	if (n <= 0)
		return false;
	/* Chance agreement: both raters' marginal shares, category by
	 * category. */
	for (i = 0; i < k; i++) {
		row = col = 0.0;
		for (j = 0; j < k; j++) {
			row += (double)table[i * k + j];
			col += (double)table[j * k + i];
		}
		pe += (row / n) * (col / n);
	}
	if (pe >= 1.0)
		return false;
	*kappa = (agree / n - pe) / (1.0 - pe);
	return true;
}
