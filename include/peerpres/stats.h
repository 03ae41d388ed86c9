/*
 * stats.h - the statistics of the reports.
 */
#ifndef PEERPRES_STATS_H
#define PEERPRES_STATS_H

/* 95% two-sided normal quantile. */
#define PP_Z95 1.959963984540054

/* Wilson score interval for k successes in n trials at normal quantile z.
 * n <= 0 gives [0, 1]; k is clamped to [0, n]; the bounds are clamped to
 * [0, 1] and are exactly 0 at k == 0 and exactly 1 at k == n. */
void pp_wilson(long k, long n, double z, double *lo, double *hi);

#endif
