/*
 * json_fast.h - the fast JSON reader behind pp_json_parse (json_fast.c).
 */
#ifndef PP_CORE_JSON_FAST_H
#define PP_CORE_JSON_FAST_H

#include <stddef.h>

#include <peerpres/json.h>

/* The value of text, as jansson would build it, or PP_EPARSE (with *out
 * untouched) for any input this reader is not sure of: the caller then
 * asks jansson, for the value or for the error. */
int pp_json_parse_fast(const char *text, size_t len, struct pp_json **out);

/* The offset of the first byte of text that is not valid UTF-8 as the
 * parsers read it (no overlong forms, no surrogates), or len: where a
 * "unable to decode byte" error really is. */
size_t pp_utf8_invalid_at(const char *text, size_t len);

/* The end of the run of plain ASCII from p: the first quote, backslash,
 * control character or non-ASCII byte before end, or end. Sixteen bytes
 * at a time: what the writers use to copy text that needs no escape. */
const char *pp_json_plain_run(const char *p, const char *end);

/* jansson alone: what pp_json_parse falls back to (tests compare the
 * two readers with it). */
int pp_json_parse_general(const char *text, size_t len, struct pp_json **out,
			  char *err, size_t errlen);

#endif
