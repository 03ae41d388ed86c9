/*
 * stats.h - the statistics of the reports.
 */
#ifndef PEERPRES_STATS_H
#define PEERPRES_STATS_H

#include <stdbool.h>
#include <stddef.h>

/* 95% two-sided normal quantile. */
#define PP_Z95 1.959963984540054

/* Wilson score interval for k successes in n trials at normal quantile z.
 * n <= 0 gives [0, 1]; k is clamped to [0, n]; the bounds are clamped to
 * [0, 1] and are exactly 0 at k == 0 and exactly 1 at k == n. */
void pp_wilson(long k, long n, double z, double *lo, double *hi);

/* Newcombe's hybrid score interval (his method 10) for the difference of
 * two rates k1/n1 - k2/n2, built from the two Wilson intervals. */
void pp_newcombe(long k1, long n1, long k2, long n2, double z, double *lo, double *hi);

/* Two-proportion z-test with pooled variance, two-sided, as the study
 * computed it: z = 0 and p = 1 when the pooled rate is 0 or 1 or a group
 * is empty. */
void pp_ztest2(long k1, long n1, long k2, long n2, double *z, double *p);

/* One-sided exact binomial test of k successes in n against rate p0:
 * P(X >= k). 1 when k <= 0. */
double pp_binom_greater(long k, long n, double p0);

/* Fisher's method: chi-square = -2 sum ln p_i on 2k degrees of freedom,
 * each p floored at 1e-10 as in the study. Returns the combined p; *chi2
 * (may be NULL) receives the statistic. n == 0 gives 1. */
double pp_fisher(const double *p, size_t n, double *chi2);

/* The study's marks: "***" p < 0.001, "**" p < 0.01, "*" p < 0.05, "". */
const char *pp_stars(double p);

/* Cohen's kappa of two raters over k categories: table[i * k + j] counts
 * the items rater A put in category i and rater B in j. *kappa receives
 * (po - pe) / (1 - pe) and *p_observed (may be NULL) the share of
 * agreements po. Returns false, with *kappa 0, when kappa is undefined:
 * no items, or both raters used one same category throughout (pe = 1). */
bool pp_cohen_kappa(const long *table, size_t k, double *kappa, double *p_observed);

#endif
