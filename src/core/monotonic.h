/*
 * monotonic.h - the time since an arbitrary start, never set back:
 * for durations, rates and deadlines, never for dates.
 */
#ifndef PP_CORE_MONOTONIC_H
#define PP_CORE_MONOTONIC_H

double pp_monotonic_s(void);    /* seconds */
double pp_monotonic_ms(void);   /* milliseconds */

#endif
