/*
 * clock.h - the world's deterministic calendar arithmetic.
 *
 * Times are whole seconds since 1970-01-01 00:00:00 in a proleptic
 * Gregorian calendar with no time zones and no leap seconds, which is all
 * a simulated office clock needs. The C library's gmtime/localtime are
 * not used: they depend on the process environment.
 */
#ifndef PP_WORLD_CLOCK_H
#define PP_WORLD_CLOCK_H

#include <stdbool.h>

/* Parses exactly "YYYY-MM-DD HH:MM:SS" (a valid date, 00:00:00 to
 * 23:59:59). Returns false when s is anything else. */
bool pp_wclock_parse(const char *s, long long *secs);

/* Writes "YYYY-MM-DD HH:MM:SS" into out (at least 20 bytes), for years
 * 0 to 9999; returns false outside them. */
bool pp_wclock_format(long long secs, char *out, unsigned long outlen);

#endif
