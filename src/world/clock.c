/*
 * clock.c - calendar conversion for the world clock (see clock.h).
 *
 * Day numbers use a calendar whose years start on March 1, so the leap
 * day is the last day of a year and month lengths repeat in a fixed
 * 5-month pattern; 400-year eras make the arithmetic exact for any
 * year without loops.
 */
#include <string.h>

#include "world/clock.h"

#define SECS_PER_DAY 86400LL
#define DAYS_PER_ERA 146097LL   /* days in 400 Gregorian years */

/* Day number (0 = 1970-01-01) of y-m-d. */
static long long days_from_civil(long long y, int m, int d)
{
	long long era, yoe, doy, doe;

	if (m <= 2)
		y--;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;                                   /* 0..399 */
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1; /* 0..365 */
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           /* 0..146096 */
	return era * DAYS_PER_ERA + doe - 719468;
}

static void civil_from_days(long long z, long long *y, int *m, int *d)
{
	long long era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - DAYS_PER_ERA + 1) / DAYS_PER_ERA;
	doe = z - era * DAYS_PER_ERA;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static int days_in_month(long long y, int m)
{
	static const int len[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : len[m - 1];
}

/* Reads n decimal digits at s; false if any is not a digit. */
static bool digits(const char *s, int n, int *out)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

bool pp_wclock_parse(const char *s, long long *secs)
{
	int y, mo, d, h, mi, se;

	if (!s || strlen(s) != 19 || s[4] != '-' || s[7] != '-' ||
	    s[10] != ' ' || s[13] != ':' || s[16] != ':')
		return false;
	if (!digits(s, 4, &y) || !digits(s + 5, 2, &mo) ||
	    !digits(s + 8, 2, &d) || !digits(s + 11, 2, &h) ||
	    !digits(s + 14, 2, &mi) || !digits(s + 17, 2, &se))
		return false;
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) ||
	    h > 23 || mi > 59 || se > 59)
		return false;
	*secs = days_from_civil(y, mo, d) * SECS_PER_DAY + h * 3600LL +
		mi * 60LL + se;
	return true;
}

/* Writes v as n digits, zero-padded. */
static void put_digits(char *out, long long v, int n)
{
	while (n--) {
		out[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

bool pp_wclock_format(long long secs, char *out, unsigned long outlen)
{
	long long days = secs / SECS_PER_DAY, rem = secs % SECS_PER_DAY, y;
	int m, d;

	if (rem < 0) {
		rem += SECS_PER_DAY;
		days--;
	}
	civil_from_days(days, &y, &m, &d);
	if (y < 0 || y > 9999 || outlen < 20)
		return false;
	/* Runs after every tool call: digits by hand, not printf. */
	memcpy(out, "0000-00-00 00:00:00", 20);
	put_digits(out, y, 4);
	put_digits(out + 5, m, 2);
	put_digits(out + 8, d, 2);
	put_digits(out + 11, rem / 3600, 2);
	put_digits(out + 14, rem / 60 % 60, 2);
	put_digits(out + 17, rem % 60, 2);
	return true;
}
