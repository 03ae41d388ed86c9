/*
 * labels_expect.c - label values as a reader sees them and as a route's
 * `expect` states them: printing, quoting the agent's text, and comparing
 * values the way YAML plain scalars read ("95" is 95, "true" is true).
 *
 * Quoted text is cut at a byte budget and always comes out as valid UTF-8:
 * a regular expression works on bytes and may start or end a match in the
 * middle of a character, and the evidence ends up in a JSON string.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <peerpres/status.h>

#include "scenario/labels_int.h"

/* Length of the valid UTF-8 sequence at s (n bytes available), 0 if the
 * bytes there are not one (overlong forms, surrogates and code points past
 * U+10FFFF included, as JSON libraries reject them). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	static const unsigned long min[5] = { 0, 0, 0x80, 0x800, 0x10000 };
	unsigned long cp;
	size_t len, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xC2 && s[0] <= 0xDF)
		len = 2, cp = s[0] & 0x1F;
	else if (s[0] >= 0xE0 && s[0] <= 0xEF)
		len = 3, cp = s[0] & 0x0F;
	else if (s[0] >= 0xF0 && s[0] <= 0xF4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if (cp < min[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return len;
}

/* Appends s[0..n) cleaned: control characters as spaces, broken bytes as
 * '?', a character cut at the start skipped, "..." past max bytes. */
int pp_lbl_clean(struct pp_buf *b, const char *s, size_t n, size_t max)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, len, used = 0;
	int rc = PP_OK;

	while (i < n && (u[i] & 0xC0) == 0x80)
		i++;
	while (!rc && i < n) {
		len = utf8_len(u + i, n - i);
		if (used + (len ? len : 1) > max)
			return pp_buf_adds(b, "...");
		if (!len)
			rc = pp_buf_addc(b, '?');
		else if (len == 1 && (u[i] < 0x20 || u[i] == 0x7F))
			rc = pp_buf_addc(b, ' ');
		else
			rc = pp_buf_add(b, s + i, len);
		used += len ? len : 1;
		i += len ? len : 1;
	}
	return rc;
}

int pp_lbl_quote(struct pp_buf *b, const char *s, size_t n, size_t max)
{
	int rc = pp_buf_addc(b, '"');

	if (!rc)
		rc = pp_lbl_clean(b, s, n, max);
	return rc ? rc : pp_buf_addc(b, '"');
}

int pp_lbl_value_text(struct pp_buf *b, const struct pp_json *v)
{
	struct pp_buf tmp = PP_BUF_INIT;
	int rc;

	if (!v)
		return pp_buf_adds(b, "(absent)");
	if (pp_json_is_string(v))
		return pp_lbl_clean(b, pp_json_str(v), strlen(pp_json_str(v)), 200);
	rc = pp_json_dump(v, PP_JSON_COMPACT | PP_JSON_SHORT_REALS, &tmp);
	if (!rc)
		rc = pp_lbl_clean(b, tmp.buf, tmp.len, 200);
	pp_buf_release(&tmp);
	return rc;
}

/* ---- comparing values ---- */

enum scalar_type { SC_NULL, SC_BOOL, SC_NUM, SC_STR, SC_OTHER };

struct scalar {
	enum scalar_type t;
	bool b;
	double d;
	const char *s;
};

/* Reads s as a YAML 1.2 core-schema plain scalar (as src/core/yaml.c does). */
static struct scalar read_plain(const char *s)
{
	struct scalar r = { SC_STR, false, 0, s };
	const char *digits = s + (s[0] == '-' || s[0] == '+');
	char *end;

	if (!*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL")) {
		r.t = SC_NULL;
	} else if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE")) {
		r.t = SC_BOOL;
		r.b = true;
	} else if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE")) {
		r.t = SC_BOOL;
	} else if (*digits && strchr("0123456789.", *digits) && strcmp(digits, ".") &&
		   !strpbrk(s, "xXnN")) {
		errno = 0;
		r.d = strtod(s, &end);
		if (!*end && errno == 0 && isfinite(r.d))
			r.t = SC_NUM;
	}
	return r;
}

static struct scalar scalar_of(const struct pp_json *v)
{
	struct scalar r = { SC_OTHER, false, 0, NULL };

	switch (pp_json_type(v)) {
	case PP_JSON_STRING:
		return read_plain(pp_json_str(v));
	case PP_JSON_INTEGER:
	case PP_JSON_REAL:
		r.t = SC_NUM;
		pp_json_num(v, &r.d);
		break;
	case PP_JSON_TRUE:
	case PP_JSON_FALSE:
		r.t = SC_BOOL;
		r.b = pp_json_is_true(v);
		break;
	case PP_JSON_NULL:
		r.t = SC_NULL;
		break;
	default:
		break;
	}
	return r;
}

bool pp_lbl_value_equal(const struct pp_json *have, const struct pp_json *want)
{
	struct scalar a, b;

	if (pp_json_is_string(have) && pp_json_is_string(want))
		return !strcmp(pp_json_str(have), pp_json_str(want));
	a = scalar_of(have);
	b = scalar_of(want);
	if (a.t != b.t)
		return false;
	switch (a.t) {
	case SC_NULL:
		return true;
	case SC_BOOL:
		return a.b == b.b;
	case SC_NUM:
		return a.d == b.d;
	case SC_STR:
		return !strcmp(a.s, b.s);
	default:
		return pp_json_equal(have, want);
	}
}

/* ---- expectations ---- */

static bool wants_undecided(const struct pp_json *want)
{
	return pp_json_is_string(want) && !strcmp(pp_json_str(want), "undecided");
}

static bool expect_holds(const struct pp_json *got, const struct pp_json *want)
{
	bool decided = pp_json_is_true(pp_json_get(got, "decided"));

	if (wants_undecided(want))
		return !decided;
	return decided && pp_lbl_value_equal(pp_json_get(got, "value"), want);
}

static int say_mismatch(struct pp_buf *why, const char *name, const struct pp_json *got,
			const struct pp_json *want)
{
	int rc = pp_buf_addf(why, "%s: expected ", name);

	if (!rc)
		rc = pp_lbl_value_text(why, want);
	if (!rc)
		rc = pp_buf_adds(why, ", got ");
	if (!rc && !got)
		rc = pp_buf_adds(why, "no such label");
	else if (!rc && !pp_json_is_true(pp_json_get(got, "decided")))
		rc = pp_buf_adds(why, "undecided");
	else if (!rc)
		rc = pp_lbl_value_text(why, pp_json_get(got, "value"));
	return rc ? rc : pp_buf_addc(why, '\n');
}

int pp_labels_check_expect(const struct pp_json *labels,
			   const struct pp_json *expect, struct pp_buf *why)
{
	const struct pp_json *got, *want;
	int n = 0;
	void *it;

	for (it = pp_json_iter(expect); it; it = pp_json_iter_next(expect, it)) {
		got = pp_json_get(labels, pp_json_iter_key(it));
		want = pp_json_iter_value(it);
		if (got && expect_holds(got, want))
			continue;
		n++;
		/* A message that cannot be written (out of memory) still counts. */
		if (why)
			(void)say_mismatch(why, pp_json_iter_key(it), got, want);
	}
	return n;
}
