/*
 * monotonic.c - CLOCK_MONOTONIC as seconds or milliseconds (monotonic.h),
 * once for the progress lines, the retry deadlines, the store's busy
 * wait and the mock server's timers.
 */
#include <time.h>

#include "core/monotonic.h"

double pp_monotonic_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double pp_monotonic_ms(void)
{
	return pp_monotonic_s() * 1e3;
}
