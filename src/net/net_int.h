/*
 * net_int.h - the parsers behind the transport's retry hints; private to
 * src/net (and its tests). Each returns milliseconds from now, never
 * negative, or -1 when the text is not what it should be.
 */
#ifndef PP_NET_INT_H
#define PP_NET_INT_H

#include <time.h>

/* A plain non-negative number ("1.5") times unit_ms. */
long pp_net_parse_number_ms(const char *s, long unit_ms);

/* Retry-After: delta seconds ("120") or an HTTP date, against now. */
long pp_net_parse_retry_after_ms(const char *s, time_t now);

/* A Go-style duration as OpenAI sends it: "20ms", "1s", "6m0s", "1h2m3.5s". */
long pp_net_parse_duration_ms(const char *s);

/* An RFC 3339 UTC time ("2025-01-01T00:00:30Z", fractions ignored), against now. */
long pp_net_parse_rfc3339_ms(const char *s, time_t now);

#endif
