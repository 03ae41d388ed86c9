/*
 * render.c - YAML-like and Python-like text for tool results (render.h).
 *
 * The study's tools printed with PyYAML and Python's repr(); models read
 * that text, so ours keeps its look: same quoting decisions for the
 * common cases, no line folding, UTF-8 left as it is. Unicode
 * printability follows Python only for the characters that occur in
 * practice (controls, the odd spaces and format characters).
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <peerpres/status.h>
#include "world/render.h"

#define MAX_DEPTH 64
#define CHUNK 4096

int pp_wr_text(struct pp_buf *b, const char *s, size_t len)
{
	size_t n;
	int rc = PP_OK;

	/* In pieces, so that a text overflowing the output cap leaves the
	 * buffer filled nearly to it rather than stopping before the text. */
	while (!rc && len) {
		n = len < CHUNK ? len : CHUNK;
		rc = pp_buf_add(b, s, n);
		s += n;
		len -= n;
	}
	return rc;
}

size_t pp_wr_utf8_next(const unsigned char *s, size_t len, long *cp)
{
	size_t n, i;
	long v;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		v = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		v = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		v = s[0] & 0x07;
	} else {
		*cp = -1;
		return 1;
	}
	if (n > len) {
		*cp = -1;
		return 1;
	}
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80) {
			*cp = -1;
			return 1;
		}
		v = (v << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and values past U+10FFFF are invalid. */
	if ((n == 3 && v < 0x800) || (n == 4 && (v < 0x10000 || v > 0x10ffff)) ||
	    (v >= 0xd800 && v <= 0xdfff)) {
		*cp = -1;
		return 1;
	}
	*cp = v;
	return n;
}

/* Eight bytes at a time: the texts rendered here are mostly ASCII, and
 * these scans run over every drive file and sheet cell shown. The tests
 * are on whole words, so the byte order does not matter. */
#define ONES ((uint64_t)0x0101010101010101)
#define HIGH ((uint64_t)0x8080808080808080)

static uint64_t load8(const unsigned char *p)
{
	uint64_t x;

	memcpy(&x, p, 8);
	return x;
}

/* True when every byte of x is printable ASCII (0x20 to 0x7e): below
 * 0x20 borrows into the high bit, 0x7f carries into it, and the first
 * byte that does either has no borrow or carry coming into it. */
static bool word_printable(uint64_t x)
{
	return !(((x - 0x20 * ONES) | x | (x + ONES)) & HIGH);
}

/* True when some byte of x is 0 (exact, see "haszero"). */
static bool word_has_zero(uint64_t x)
{
	return ((x - ONES) & ~x & HIGH) != 0;
}

size_t pp_wr_plain_run(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (len - i >= 8 && word_printable(load8(p + i)))
		i += 8;
	while (i < len && p[i] >= 0x20 && p[i] < 0x7f)
		i++;
	return i;
}

size_t pp_wr_utf8_chars(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n = 0;
	long cp;

	while (i < len) {
		if (len - i >= 8 && !(load8(p + i) & HIGH)) {
			i += 8;
			n += 8;
			continue;
		}
		if (p[i] < 0x80) {
			i++;
		} else {
			i += pp_wr_utf8_next(p + i, len - i, &cp);
		}
		n++;
	}
	return n;
}

/* Python's str.isprintable(), for the characters that matter here. */
static bool cp_printable(long cp)
{
	if (cp < 0x20 || (cp >= 0x7f && cp <= 0xa0) || cp == 0xad ||
	    cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200f) ||
	    (cp >= 0x2028 && cp <= 0x202f) || (cp >= 0x205f && cp <= 0x206f) ||
	    cp == 0x3000 || (cp >= 0xd800 && cp <= 0xf8ff) || cp == 0xfeff ||
	    (cp >= 0xfff0 && cp <= 0xfffb) || (cp >= 0xe0000 && cp <= 0xe0fff) ||
	    cp >= 0xf0000)
		return false;
	return true;
}

/* ---- YAML ---- */

enum yaml_style { YAML_PLAIN, YAML_SINGLE, YAML_DOUBLE };

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static size_t count_digits(const char *s, size_t len, size_t i, bool underscore)
{
	size_t start = i;

	while (i < len && (is_digit(s[i]) || (underscore && s[i] == '_')))
		i++;
	return i - start;
}

/* Would YAML read s as a number (int, float, sexagesimal, hex ...)? */
static bool yaml_is_number(const char *s, size_t len)
{
	size_t i = 0, n;
	bool any = false;

	if (i < len && (s[i] == '-' || s[i] == '+'))
		i++;
	if (len - i >= 2 && s[i] == '0' && strchr("xXoObB", s[i + 1]) && s[i + 1])
		return len - i > 2;
	if (len - i == 4 && (!memcmp(s + i, ".inf", 4) || !memcmp(s + i, ".Inf", 4) ||
			     !memcmp(s + i, ".INF", 4) || !memcmp(s + i, ".nan", 4) ||
			     !memcmp(s + i, ".NaN", 4) || !memcmp(s + i, ".NAN", 4)))
		return true;
	n = count_digits(s, len, i, true);
	any = n > 0;
	i += n;
	while (any && i < len && s[i] == ':') {        /* 1:30 (base 60) */
		n = count_digits(s, len, i + 1, false);
		if (!n)
			return false;
		i += 1 + n;
	}
	if (i < len && s[i] == '.') {
		n = count_digits(s, len, i + 1, true);
		any = any || n > 0;
		i += 1 + n;
	}
	if (any && i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < len && (s[i] == '-' || s[i] == '+'))
			i++;
		n = count_digits(s, len, i, false);
		if (!n)
			return false;
		i += n;
	}
	return any && i == len;
}

/* Would YAML read s as a timestamp ("2025-10-28", "2025-10-28 16:48:51")? */
static bool yaml_is_timestamp(const char *s, size_t len)
{
	size_t i = 0, n;

	if (count_digits(s, len, 0, false) != 4 || len < 8 || s[4] != '-')
		return false;
	i = 5;
	n = count_digits(s, len, i, false);
	if (n < 1 || n > 2 || i + n >= len || s[i + n] != '-')
		return false;
	i += n + 1;
	n = count_digits(s, len, i, false);
	if (n < 1 || n > 2)
		return false;
	i += n;
	if (i == len)
		return true;
	if (s[i] == 'T' || s[i] == 't')
		i++;
	else
		while (i < len && (s[i] == ' ' || s[i] == '\t'))
			i++;
	n = count_digits(s, len, i, false);
	if (n < 1 || n > 2 || i + n + 6 > len || s[i + n] != ':')
		return false;
	i += n + 1;
	if (count_digits(s, len, i, false) != 2 || s[i + 2] != ':' ||
	    count_digits(s, len, i + 3, false) != 2)
		return false;
	i += 5;
	if (i < len && s[i] == '.')
		i += 1 + count_digits(s, len, i + 1, false);
	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i < len && s[i] == 'Z')
		i++;
	else if (i < len && (s[i] == '-' || s[i] == '+')) {
		n = count_digits(s, len, i + 1, false);
		if (n < 1 || n > 2)
			return false;
		i += 1 + n;
		if (i < len && s[i] == ':') {
			if (count_digits(s, len, i + 1, false) != 2)
				return false;
			i += 3;
		}
	}
	return i == len;
}

static bool yaml_is_keyword(const char *s, size_t len)
{
	/* Grouped by length: this runs for every scalar rendered. */
	static const char *const words[6][13] = {
		{ NULL },
		{ "~", "y", "Y", "n", "N", "=", NULL },
		{ "no", "No", "NO", "on", "On", "ON", "<<", NULL },
		{ "yes", "Yes", "YES", "off", "Off", "OFF", NULL },
		{ "null", "Null", "NULL", "true", "True", "TRUE", NULL },
		{ "false", "False", "FALSE", NULL },
	};
	size_t i;

	if (!len || len > 5)
		return false;
	for (i = 0; words[len][i]; i++)
		if (!memcmp(words[len][i], s, len))
			return true;
	return false;
}

static enum yaml_style yaml_style_of(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	long cp;

	if (!len)
		return YAML_SINGLE;
	while (i < len) {
		i += pp_wr_plain_run(s + i, len - i);
		if (i == len)
			break;
		i += pp_wr_utf8_next(p + i, len - i, &cp);
		if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) ||
		    cp == 0x2028 || cp == 0x2029 || cp == 0xfeff)
			return YAML_DOUBLE;
	}
	if (s[0] == ' ' || s[len - 1] == ' ' || s[len - 1] == ':' ||
	    strchr("-?:,[]{}#&*!|>'\"%@`", s[0]))
		return YAML_SINGLE;
	for (i = 0; i + 1 < len; i++)
		if ((s[i] == ':' && s[i + 1] == ' ') || (s[i] == ' ' && s[i + 1] == '#'))
			return YAML_SINGLE;
	if (yaml_is_keyword(s, len) || yaml_is_number(s, len) ||
	    yaml_is_timestamp(s, len))
		return YAML_SINGLE;
	return YAML_PLAIN;
}

static int yaml_single(struct pp_buf *b, const char *s, size_t len)
{
	size_t i, from = 0;
	int rc = pp_buf_addc(b, '\'');

	for (i = 0; !rc && i < len; i++) {
		if (s[i] != '\'')
			continue;
		rc = pp_wr_text(b, s + from, i + 1 - from);
		if (!rc)
			rc = pp_buf_addc(b, '\'');
		from = i + 1;
	}
	if (!rc)
		rc = pp_wr_text(b, s + from, len - from);
	return rc ? rc : pp_buf_addc(b, '\'');
}

static int yaml_escape(struct pp_buf *b, long cp, unsigned char byte)
{
	switch (cp) {
	case '\\': return pp_buf_adds(b, "\\\\");
	case '"': return pp_buf_adds(b, "\\\"");
	case '\n': return pp_buf_adds(b, "\\n");
	case '\t': return pp_buf_adds(b, "\\t");
	case '\r': return pp_buf_adds(b, "\\r");
	case 0: return pp_buf_adds(b, "\\0");
	case 0x85: return pp_buf_adds(b, "\\N");
	case 0x2028: return pp_buf_adds(b, "\\L");
	case 0x2029: return pp_buf_adds(b, "\\P");
	case 0xfeff: return pp_buf_adds(b, "\\uFEFF");
	default: break;
	}
	return pp_buf_addf(b, "\\x%02X", cp < 0 ? byte : (unsigned)cp);
}

/* Length of the leading run of s that a double-quoted scalar takes as
 * it is: printable ASCII other than the backslash and the quote. */
static size_t double_run(const unsigned char *p, size_t len)
{
	size_t i = 0;
	uint64_t x;

	while (len - i >= 8) {
		x = load8(p + i);
		if (!word_printable(x) || word_has_zero(x ^ ('\\' * ONES)) ||
		    word_has_zero(x ^ ('"' * ONES)))
			break;
		i += 8;
	}
	while (i < len && p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\' && p[i] != '"')
		i++;
	return i;
}

static int yaml_double(struct pp_buf *b, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, from = 0, n;
	long cp;
	int rc = pp_buf_addc(b, '"');

	while (!rc && i < len) {
		i += double_run(p + i, len - i);
		if (i == len)
			break;
		n = pp_wr_utf8_next(p + i, len - i, &cp);
		if (cp >= 0x20 && cp != 0x7f && !(cp >= 0x80 && cp <= 0x9f) &&
		    cp != 0x2028 && cp != 0x2029 && cp != 0xfeff &&
		    cp != '\\' && cp != '"') {
			i += n;
			continue;
		}
		rc = pp_wr_text(b, s + from, i - from);
		if (!rc)
			rc = yaml_escape(b, cp, p[i]);
		i += n;
		from = i;
	}
	if (!rc)
		rc = pp_wr_text(b, s + from, len - from);
	return rc ? rc : pp_buf_addc(b, '"');
}

int pp_wr_yaml_str(struct pp_buf *b, const char *s, size_t len)
{
	switch (yaml_style_of(s, len)) {
	case YAML_PLAIN: return pp_wr_text(b, s, len);
	case YAML_SINGLE: return yaml_single(b, s, len);
	case YAML_DOUBLE: break;
	}
	return yaml_double(b, s, len);
}

int pp_wr_int(struct pp_buf *b, long long v)
{
	char tmp[24], *p = tmp + sizeof(tmp);
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	return pp_buf_add(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

int pp_wr_yaml_key(struct pp_buf *b, const char *prefix, const char *key)
{
	int rc = pp_buf_adds(b, prefix);

	if (!rc)
		rc = pp_buf_adds(b, key);
	return rc ? rc : pp_buf_add(b, ": ", 2);
}

int pp_wr_yaml_strlist(struct pp_buf *b, char *const *v, size_t n)
{
	size_t i;
	int rc = PP_OK;

	if (!n)
		return pp_buf_adds(b, "[]");
	for (i = 0; !rc && i < n; i++) {
		rc = pp_buf_add(b, "- ", 2);
		if (!rc)
			rc = pp_wr_yaml_str(b, v[i], strlen(v[i]));
		if (!rc && i + 1 < n)
			rc = pp_buf_addc(b, '\n');
	}
	return rc;
}

void pp_wr_chomp(struct pp_buf *b)
{
	if (b->len && b->buf[b->len - 1] == '\n')
		b->buf[--b->len] = '\0';
}

/* ---- Python ---- */

static int py_escape(struct pp_buf *b, long cp, unsigned char byte, char quote)
{
	if (cp == '\\')
		return pp_buf_adds(b, "\\\\");
	if (cp == quote)
		return pp_buf_addf(b, "\\%c", quote);
	if (cp == '\n')
		return pp_buf_adds(b, "\\n");
	if (cp == '\t')
		return pp_buf_adds(b, "\\t");
	if (cp == '\r')
		return pp_buf_adds(b, "\\r");
	if (cp < 0)
		return pp_buf_addf(b, "\\x%02x", byte);
	if (cp < 0x100)
		return pp_buf_addf(b, "\\x%02lx", cp);
	if (cp < 0x10000)
		return pp_buf_addf(b, "\\u%04lx", cp);
	return pp_buf_addf(b, "\\U%08lx", cp);
}

int pp_wr_py_str(struct pp_buf *b, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	char quote = '\'';
	size_t i = 0, from = 0, n;
	long cp;
	int rc;

	/* Python prefers single quotes unless only double quotes avoid an
	 * escape. */
	if (memchr(s, '\'', len) && !memchr(s, '"', len))
		quote = '"';
	rc = pp_buf_addc(b, quote);
	while (!rc && i < len) {
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\' && p[i] != (unsigned char)quote) {
			i++;
			continue;
		}
		n = pp_wr_utf8_next(p + i, len - i, &cp);
		if (cp >= 0 && cp_printable(cp) && cp != '\\' && cp != quote) {
			i += n;
			continue;
		}
		rc = pp_wr_text(b, s + from, i - from);
		if (!rc)
			rc = py_escape(b, cp, p[i], quote);
		i += n;
		from = i;
	}
	if (!rc)
		rc = pp_wr_text(b, s + from, len - from);
	return rc ? rc : pp_buf_addc(b, quote);
}

int pp_wr_py_float(struct pp_buf *b, double d)
{
	char sci[40], digits[20], *e, *end;
	int prec, exp, nd, i, rc, n = 0;

	if (isnan(d))
		return pp_buf_adds(b, "nan");
	if (isinf(d))
		return pp_buf_adds(b, d < 0 ? "-inf" : "inf");
	/* The shortest precision that reads back as the same double; 17
	 * digits always do. */
	for (prec = 1; prec <= 17; prec++) {
		n = snprintf(sci, sizeof(sci), "%.*e", prec - 1, d);
		if (n < 0 || (size_t)n >= sizeof(sci))
			return PP_EINVAL;
		if (strtod(sci, &end) == d && !*end)
			break;
	}
	e = strchr(sci, 'e');
	if (!e)
		return PP_EINVAL;
	exp = (int)strtol(e + 1, &end, 10);
	if (*end)
		return PP_EINVAL;
	nd = 0;
	for (i = sci[0] == '-' ? 1 : 0; sci + i < e; i++)
		if (is_digit(sci[i]) && nd < (int)sizeof(digits) - 1)
			digits[nd++] = sci[i];
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	digits[nd] = '\0';
	rc = d < 0 || (d == 0 && signbit(d)) ? pp_buf_addc(b, '-') : PP_OK;
	if (rc)
		return rc;
	if (exp < -4 || exp >= 16) {
		rc = pp_buf_addc(b, digits[0]);
		if (!rc && nd > 1)
			rc = pp_buf_addf(b, ".%s", digits + 1);
		return rc ? rc : pp_buf_addf(b, "e%c%02d", exp < 0 ? '-' : '+',
					     exp < 0 ? -exp : exp);
	}
	if (exp < 0) {
		rc = pp_buf_add(b, "0.", 2);
		for (i = 0; !rc && i < -exp - 1; i++)
			rc = pp_buf_addc(b, '0');
		return rc ? rc : pp_buf_adds(b, digits);
	}
	if (nd <= exp + 1) {
		rc = pp_buf_adds(b, digits);
		for (i = 0; !rc && i < exp + 1 - nd; i++)
			rc = pp_buf_addc(b, '0');
		return rc ? rc : pp_buf_add(b, ".0", 2);
	}
	return pp_buf_addf(b, "%.*s.%s", exp + 1, digits, digits + exp + 1);
}

static int py_value(struct pp_buf *b, const struct pp_json *v, int depth);

static int py_dict(struct pp_buf *b, const struct pp_json *v, int depth)
{
	void *it;
	const char *key;
	bool first = true;
	int rc = pp_buf_addc(b, '{');

	for (it = pp_json_iter(v); !rc && it; it = pp_json_iter_next(v, it)) {
		if (!first)
			rc = pp_buf_add(b, ", ", 2);
		first = false;
		key = pp_json_iter_key(it);
		if (!rc)
			rc = pp_wr_py_str(b, key, strlen(key));
		if (!rc)
			rc = pp_buf_add(b, ": ", 2);
		if (!rc)
			rc = py_value(b, pp_json_iter_value(it), depth + 1);
	}
	return rc ? rc : pp_buf_addc(b, '}');
}

static int py_list(struct pp_buf *b, const struct pp_json *v, int depth)
{
	size_t i, n = pp_json_len(v);
	int rc = pp_buf_addc(b, '[');

	for (i = 0; !rc && i < n; i++) {
		if (i)
			rc = pp_buf_add(b, ", ", 2);
		if (!rc)
			rc = py_value(b, pp_json_at(v, i), depth + 1);
	}
	return rc ? rc : pp_buf_addc(b, ']');
}

static int py_value(struct pp_buf *b, const struct pp_json *v, int depth)
{
	long long n;
	double d;

	if (depth > MAX_DEPTH)
		return pp_buf_adds(b, "...");
	switch (pp_json_type(v)) {
	case PP_JSON_OBJECT: return py_dict(b, v, depth);
	case PP_JSON_ARRAY: return py_list(b, v, depth);
	case PP_JSON_STRING: return pp_wr_py_str(b, pp_json_str(v), pp_json_len(v));
	case PP_JSON_INTEGER:
		pp_json_int(v, &n);
		return pp_wr_int(b, n);
	case PP_JSON_REAL:
		pp_json_num(v, &d);
		return pp_wr_py_float(b, d);
	case PP_JSON_TRUE: return pp_buf_adds(b, "True");
	case PP_JSON_FALSE: return pp_buf_adds(b, "False");
	case PP_JSON_NULL: break;
	}
	return pp_buf_adds(b, "None");
}

int pp_wr_py_value(struct pp_buf *b, const struct pp_json *v)
{
	return py_value(b, v, 0);
}
