/*
 * hints.c - when a server says to try again: the values of Retry-After,
 * retry-after-ms and the providers' rate-limit reset headers as
 * milliseconds from now. A value that cannot be read is no hint (-1)
 * rather than a guess.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "net/net_int.h"

/* A day: longer hints are treated as the same wish to back off, capped. */
#define HINT_MAX_MS (24L * 3600 * 1000)

static long clamp_ms(double ms)
{
	if (!(ms >= 0))
		return 0;
	return ms > (double)HINT_MAX_MS ? HINT_MAX_MS : (long)ms;
}

long pp_net_parse_number_ms(const char *s, long unit_ms)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || *end || errno || !(v >= 0) || !isfinite(v))
		return -1;
	return clamp_ms(v * (double)unit_ms);
}

long pp_net_parse_retry_after_ms(const char *s, time_t now)
{
	long ms = pp_net_parse_number_ms(s, 1000);
	time_t t;

	if (ms >= 0)
		return ms;
	t = curl_getdate(s, NULL);
	if (t == (time_t)-1)
		return -1;
	return clamp_ms(difftime(t, now) * 1000.0);
}

long pp_net_parse_duration_ms(const char *s)
{
	double total = 0, v;
	char *end;

	if (!*s)
		return -1;
	while (*s) {
		errno = 0;
		v = strtod(s, &end);
		if (end == s || errno || !(v >= 0))
			return -1;
		if (!strncmp(end, "ms", 2))
			total += v, s = end + 2;
		else if (*end == 's')
			total += v * 1e3, s = end + 1;
		else if (*end == 'm')
			total += v * 6e4, s = end + 1;
		else if (*end == 'h')
			total += v * 3.6e6, s = end + 1;
		else
			return -1;
	}
	return clamp_ms(total);
}

long pp_net_parse_rfc3339_ms(const char *s, time_t now)
{
	struct tm tm;
	int n = 0;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		   &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 || n < 19)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	if ((t = timegm(&tm)) == (time_t)-1)
		return -1;
	return clamp_ms(difftime(t, now) * 1000.0);
}
