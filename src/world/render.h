/*
 * render.h - the text a tool returns: YAML-like listings and Python-like
 * literals, as the study's tools printed them.
 *
 * YAML scalars are written plain when a YAML reader would read them back
 * as the same string, single-quoted when plain text would change type
 * (dates, numbers, booleans) or hit an indicator, and double-quoted with
 * escapes when they hold line breaks or control characters. Lines are
 * never folded. All functions append to b and return PP_OK, PP_ENOMEM or
 * PP_ERANGE (b full; b keeps what fitted).
 */
#ifndef PP_WORLD_RENDER_H
#define PP_WORLD_RENDER_H

#include <stddef.h>

#include <peerpres/buf.h>
#include <peerpres/json.h>

/* Decodes one UTF-8 sequence at s[0..len), len > 0; *cp is -1 for an
 * invalid byte, which then counts as one. Returns the bytes consumed. */
size_t pp_wr_utf8_next(const unsigned char *s, size_t len, long *cp);

/* Number of UTF-8 code points in s[0..len) (invalid bytes count one
 * each). */
size_t pp_wr_utf8_chars(const char *s, size_t len);

/* Length of the leading run of s[0..len) that is printable ASCII
 * (0x20 to 0x7e), the bytes every renderer here copies as they are. */
size_t pp_wr_plain_run(const char *s, size_t len);

/* Text as it is, added piecewise so an overflow keeps most of it. */
int pp_wr_text(struct pp_buf *b, const char *s, size_t len);
/* A decimal integer (faster than a printf, which this runs often). */
int pp_wr_int(struct pp_buf *b, long long v);

/* A YAML scalar string. */
int pp_wr_yaml_str(struct pp_buf *b, const char *s, size_t len);
/* "key: " after `prefix` ("- " for a list item's first key, "  " for the
 * next ones, "" at top level). */
int pp_wr_yaml_key(struct pp_buf *b, const char *prefix, const char *key);
/* A YAML block list of strings ("- a" lines), or "[]" when n is 0. */
int pp_wr_yaml_strlist(struct pp_buf *b, char *const *v, size_t n);
/* Drops one trailing newline: results carry none. */
void pp_wr_chomp(struct pp_buf *b);

/* Python's repr() of a str. */
int pp_wr_py_str(struct pp_buf *b, const char *s, size_t len);
/* Python's repr() of a float (shortest text that reads back the same). */
int pp_wr_py_float(struct pp_buf *b, double d);
/* Python's repr() of the value a JSON value becomes: dict, list, str,
 * int, float, True, False, None. */
int pp_wr_py_value(struct pp_buf *b, const struct pp_json *v);

#endif
