/*
 * json_fast.c - reading JSON fast, and hashing it canonically without
 * writing it out first.
 *
 * jansson reads a byte at a time; on the study's rows (about 10 KB of
 * JSON whose transcript_json string holds JSON again) and on providers'
 * replies it was a large cost. The parser here scans strings in runs and
 * builds the very same values (same types, same key order, the last of
 * two equal keys winning). It takes only input it is sure of: anything
 * else (any syntax error, a number out of range, bad UTF-8, a NUL in a
 * key, very deep nesting, a failed allocation) is left to jansson (json.c),
 * so errors and their messages are exactly jansson's.
 *
 * The canonical hash is SHA-256 of the text pp_json_canonical would make
 * (compact, keys sorted by byte value, strings escaped as the dumper
 * does, reals as "%.17g" with ".0" added and the exponent trimmed), fed
 * to the hash piece by piece. A string that is not valid UTF-8, which the
 * dumper refuses, sends the whole value to pp_json_canonical.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <peerpres/hash.h>
#include <peerpres/status.h>

#include "core/alloc.h"
#include "core/json_fast.h"

/* Nesting beyond this goes to the general parser (it allows 2048). */
#define FAST_MAX_DEPTH 256
#define KEY_INLINE 128

/* ---- UTF-8 as the general parser accepts it ---- */

/* Length of the valid UTF-8 sequence at p (< end), or 0: no overlong
 * forms, no surrogates, nothing above U+10FFFF. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
	size_t n, i;
	uint32_t v;

	if (*p < 0x80)
		return 1;
	if (*p >= 0xC2 && *p <= 0xDF)
		n = 2, v = *p & 0x1F;
	else if (*p >= 0xE0 && *p <= 0xEF)
		n = 3, v = *p & 0x0F;
	else if (*p >= 0xF0 && *p <= 0xF4)
		n = 4, v = *p & 0x07;
	else
		return 0;
	if ((size_t)(end - p) < n)
		return 0;
	for (i = 1; i < n; i++) {
		if (p[i] < 0x80 || p[i] > 0xBF)
			return 0;
		v = v << 6 | (p[i] & 0x3F);
	}
	if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF) || (n == 3 && v < 0x800) ||
	    (n == 4 && v < 0x10000))
		return 0;
	return n;
}

size_t pp_utf8_invalid_at(const char *text, size_t len)
{
	const unsigned char *p = (const unsigned char *)text, *end = p + len;
	size_t n;

	while (p < end) {
		if (!(n = utf8_len(p, end)))
			break;
		p += n;
	}
	return (size_t)(p - (const unsigned char *)text);
}

/* ---- parsing ---- */

struct fp {
	const unsigned char *p, *end;
	int depth;
	char *scratch;        /* decoded strings with escapes */
	size_t cap;
};

static void skip_ws(struct fp *f)
{
	while (f->p < f->end && (*f->p == ' ' || *f->p == '\n' || *f->p == '\r' || *f->p == '\t'))
		f->p++;
}

static int hex4(const unsigned char *p, uint32_t *v)
{
	int i;

	*v = 0;
	for (i = 0; i < 4; i++) {
		unsigned char c = p[i];

		*v <<= 4;
		if (c >= '0' && c <= '9')
			*v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			*v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			*v |= (uint32_t)(c - 'A' + 10);
		else
			return -1;
	}
	return 0;
}

static size_t put_utf8(uint32_t v, char *o)
{
	if (v < 0x80) {
		o[0] = (char)v;
		return 1;
	}
	if (v < 0x800) {
		o[0] = (char)(0xC0 | v >> 6);
		o[1] = (char)(0x80 | (v & 0x3F));
		return 2;
	}
	if (v < 0x10000) {
		o[0] = (char)(0xE0 | v >> 12);
		o[1] = (char)(0x80 | (v >> 6 & 0x3F));
		o[2] = (char)(0x80 | (v & 0x3F));
		return 3;
	}
	o[0] = (char)(0xF0 | v >> 18);
	o[1] = (char)(0x80 | (v >> 12 & 0x3F));
	o[2] = (char)(0x80 | (v >> 6 & 0x3F));
	o[3] = (char)(0x80 | (v & 0x3F));
	return 4;
}

/* One escape after the backslash at f->p: its bytes into o, *n of them. */
static int unescape(struct fp *f, char *o, size_t *n)
{
	uint32_t v, lo;

	if (f->end - f->p < 2)
		return -1;
	*n = 1;
	switch (f->p[1]) {
	case '"': *o = '"'; break;
	case '\\': *o = '\\'; break;
	case '/': *o = '/'; break;
	case 'b': *o = '\b'; break;
	case 'f': *o = '\f'; break;
	case 'n': *o = '\n'; break;
	case 'r': *o = '\r'; break;
	case 't': *o = '\t'; break;
	case 'u': *n = 0; break;
	default: return -1;
	}
	if (*n) {
		f->p += 2;
		return 0;
	}
	if (f->end - f->p < 6 || hex4(f->p + 2, &v))
		return -1;
	f->p += 6;
	if (v >= 0xDC00 && v <= 0xDFFF)
		return -1;
	if (v >= 0xD800 && v <= 0xDBFF) {
		if (f->end - f->p < 6 || f->p[0] != '\\' || f->p[1] != 'u' || hex4(f->p + 2, &lo) ||
		    lo < 0xDC00 || lo > 0xDFFF)
			return -1;
		f->p += 6;
		v = ((v - 0xD800) << 10) + (lo - 0xDC00) + 0x10000;
	}
	*n = put_utf8(v, o);
	return 0;
}

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* Whether any of the 8 bytes in v may be a quote, a backslash, a control
 * character or not ASCII (the bit tricks never miss one; a rare false
 * alarm only sends the bytes through the slow check). */
static bool special8(uint64_t v)
{
	uint64_t q = v ^ (ONES * '"'), b = v ^ (ONES * '\\');

	return ((v | ((v - ONES * 0x20) & ~v) | ((q - ONES) & ~q) | ((b - ONES) & ~b)) & HIGHS) != 0;
}

#if defined(__SSE2__)
/* A bit for each of the 16 bytes of x that is a quote, a backslash, a
 * control character or not ASCII: as signed bytes, control characters
 * and non-ASCII bytes are both below a space. */
static unsigned special16(__m128i x)
{
	const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
	const __m128i space = _mm_set1_epi8(0x20);

	return (unsigned)_mm_movemask_epi8(_mm_or_si128(
		_mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, bslash)),
		_mm_cmplt_epi8(x, space)));
}
#endif

/* Moves p past plain ASCII: no quote, backslash or control character.
 * With SSE2 (every x86-64) sixteen bytes are tested at once and the
 * first special one is found from the mask, with no byte-wise tail. */
static const unsigned char *plain_run(const unsigned char *p, const unsigned char *end)
{
	uint64_t v;

#if defined(__SSE2__)
	unsigned mask;

	while (end - p >= 16) {
		mask = special16(_mm_loadu_si128((const __m128i *)(const void *)p));
		if (mask)
			return p + __builtin_ctz(mask);
		p += 16;
	}
#endif
	while (end - p >= 8) {
		memcpy(&v, p, 8);
		if (special8(v))
			break;
		p += 8;
	}
	while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
		p++;
	return p;
}

/* Decodes the rest of a string (escapes, UTF-8) into f->scratch from n
 * bytes on; f->p is past the closing quote on success. */
static int decode_rest(struct fp *f, size_t *n)
{
	const unsigned char *run;
	size_t k;

	for (;;) {
		run = f->p;
		f->p = plain_run(f->p, f->end);
		memcpy(f->scratch + *n, run, (size_t)(f->p - run));
		*n += (size_t)(f->p - run);
		if (f->p >= f->end || *f->p < 0x20)
			return -1;
		if (*f->p == '"') {
			f->p++;
			return 0;
		}
		if (*f->p == '\\') {
			if (unescape(f, f->scratch + *n, &k))
				return -1;
		} else {
			if (!(k = utf8_len(f->p, f->end)))
				return -1;
			memcpy(f->scratch + *n, f->p, k);
			f->p += k;
		}
		*n += k;
	}
}

/* The string opening at f->p: *s and *len name its decoded bytes (in
 * the input when it has no escape, else in f->scratch). */
static int scan_string(struct fp *f, const char **s, size_t *len)
{
	const unsigned char *start = ++f->p;
	size_t n;

	f->p = plain_run(f->p, f->end);
	if (f->p < f->end && *f->p == '"') {
		*s = (const char *)start;
		*len = (size_t)(f->p++ - start);
		return 0;
	}
	/* Escapes or UTF-8 ahead: decode into scratch, which the input's
	 * length bounds (a decoded string is never longer). */
	if (f->cap < (size_t)(f->end - start) + 1) {
		char *more = pp_realloc(f->scratch, (size_t)(f->end - start) + 1);

		if (!more)
			return -1;
		f->scratch = more;
		f->cap = (size_t)(f->end - start) + 1;
	}
	n = (size_t)(f->p - start);
	memcpy(f->scratch, start, n);
	if (decode_rest(f, &n))
		return -1;
	*s = f->scratch;
	*len = n;
	return 0;
}

static bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

/* A number as the general parser reads it: an integer unless it has a
 * fraction or an exponent; out of range is left to that parser. */
static struct pp_json *scan_number(struct fp *f)
{
	const unsigned char *start = f->p;
	bool real = false;
	char buf[64], *endp;
	size_t n;

	if (f->p < f->end && *f->p == '-')
		f->p++;
	if (f->p >= f->end || !is_digit(*f->p))
		return NULL;
	if (*f->p == '0') {
		if (++f->p < f->end && is_digit(*f->p))
			return NULL;
	} else {
		while (f->p < f->end && is_digit(*f->p))
			f->p++;
	}
	if (f->p < f->end && *f->p == '.') {
		real = true;
		if (++f->p >= f->end || !is_digit(*f->p))
			return NULL;
		while (f->p < f->end && is_digit(*f->p))
			f->p++;
	}
	if (f->p < f->end && (*f->p == 'e' || *f->p == 'E')) {
		real = true;
		if (++f->p < f->end && (*f->p == '+' || *f->p == '-'))
			f->p++;
		if (f->p >= f->end || !is_digit(*f->p))
			return NULL;
		while (f->p < f->end && is_digit(*f->p))
			f->p++;
	}
	n = (size_t)(f->p - start);
	if (n >= sizeof(buf))
		return NULL;
	memcpy(buf, start, n);
	buf[n] = '\0';
	errno = 0;
	if (!real) {
		long long v = strtoll(buf, &endp, 10);

		return errno == ERANGE ? NULL : pp_json_integer(v);
	} else {
		double d = strtod(buf, &endp);

		return errno == ERANGE && (d == HUGE_VAL || d == -HUGE_VAL) ? NULL : pp_json_real(d);
	}
}

static struct pp_json *parse_value(struct fp *f);

static struct pp_json *literal(struct fp *f, const char *word, struct pp_json *v)
{
	size_t n = strlen(word);

	/* "nullx" is one bad word to the general parser, not null and x. */
	if ((size_t)(f->end - f->p) < n || memcmp(f->p, word, n) ||
	    ((size_t)(f->end - f->p) > n && ((f->p[n] | 0x20) >= 'a' && (f->p[n] | 0x20) <= 'z'))) {
		pp_json_decref(v);
		return NULL;
	}
	f->p += n;
	return v;
}

static int object_member(struct fp *f, struct pp_json *o)
{
	char inline_key[KEY_INLINE], *key = inline_key;
	const char *s;
	struct pp_json *v;
	size_t len;
	int rc;

	if (f->p >= f->end || *f->p != '"' || scan_string(f, &s, &len) || memchr(s, '\0', len))
		return -1;
	if (len >= KEY_INLINE && !(key = pp_malloc(len + 1)))
		return -1;
	memcpy(key, s, len);
	key[len] = '\0';
	skip_ws(f);
	v = NULL;
	if (f->p < f->end && *f->p == ':') {
		f->p++;
		v = parse_value(f);
	}
	rc = v ? (pp_json_set(o, key, v) ? -1 : 0) : -1;
	if (key != inline_key)
		free(key);
	return rc;
}

static struct pp_json *parse_object(struct fp *f)
{
	struct pp_json *o = pp_json_object();

	f->p++;
	skip_ws(f);
	if (o && f->p < f->end && *f->p == '}') {
		f->p++;
		return o;
	}
	while (o) {
		if (object_member(f, o))
			break;
		skip_ws(f);
		if (f->p < f->end && *f->p == ',') {
			f->p++;
			skip_ws(f);
			continue;
		}
		if (f->p < f->end && *f->p == '}') {
			f->p++;
			return o;
		}
		break;
	}
	pp_json_decref(o);
	return NULL;
}

static struct pp_json *parse_array(struct fp *f)
{
	struct pp_json *a = pp_json_array();

	f->p++;
	skip_ws(f);
	if (a && f->p < f->end && *f->p == ']') {
		f->p++;
		return a;
	}
	while (a) {
		struct pp_json *v = parse_value(f);

		if (!v || pp_json_append(a, v))
			break;
		skip_ws(f);
		if (f->p < f->end && *f->p == ',') {
			f->p++;
			continue;
		}
		if (f->p < f->end && *f->p == ']') {
			f->p++;
			return a;
		}
		break;
	}
	pp_json_decref(a);
	return NULL;
}

static struct pp_json *parse_value(struct fp *f)
{
	struct pp_json *v = NULL;
	const char *s;
	size_t len;

	skip_ws(f);
	if (f->p >= f->end || ++f->depth > FAST_MAX_DEPTH)
		return NULL;
	switch (*f->p) {
	case '{':
		v = parse_object(f);
		break;
	case '[':
		v = parse_array(f);
		break;
	case '"':
		v = scan_string(f, &s, &len) ? NULL : pp_json_stringn(s, len);
		break;
	case 't':
		v = literal(f, "true", pp_json_bool(true));
		break;
	case 'f':
		v = literal(f, "false", pp_json_bool(false));
		break;
	case 'n':
		v = literal(f, "null", pp_json_null());
		break;
	default:
		v = scan_number(f);
		break;
	}
	f->depth--;
	return v;
}

int pp_json_parse_fast(const char *text, size_t len, struct pp_json **out)
{
	struct fp f = { (const unsigned char *)text, (const unsigned char *)text + len, 0, NULL, 0 };
	struct pp_json *v = parse_value(&f);

	skip_ws(&f);
	free(f.scratch);
	if (v && f.p == f.end) {
		*out = v;
		return PP_OK;
	}
	pp_json_decref(v);
	return PP_EPARSE;
}

/* ---- the canonical hash ----
 *
 * The text is gathered in buf and hashed a few KB at a time. It is made
 * without snprintf or qsort for the common cases (they were about half
 * of the hash's cost beside SHA-256 itself): strings are scanned and
 * copied in one pass, integers and whole reals are written by hand, and
 * an object's members are sorted by insertion (up to 32 of them, often
 * already in order). The text, and so the hash, is byte for byte the one
 * pp_json_canonical would make; stores keep these hashes as keys. */

#define CH_CAP 4096

struct ch {
	struct pp_sha256 sha;
	char buf[CH_CAP];
	size_t used;
};

static void ch_flush(struct ch *c)
{
	pp_sha256_update(&c->sha, c->buf, c->used);
	c->used = 0;
}

static void ch_add_slow(struct ch *c, const void *data, size_t n)
{
	ch_flush(c);
	if (n > CH_CAP)
		pp_sha256_update(&c->sha, data, n);
	else {
		memcpy(c->buf, data, n);
		c->used = n;
	}
}

/* Inline: most pieces are a byte or two of punctuation. */
static inline void ch_add(struct ch *c, const void *data, size_t n)
{
	if (c->used + n > CH_CAP) {
		ch_add_slow(c, data, n);
		return;
	}
	memcpy(c->buf + c->used, data, n);
	c->used += n;
}

/* Copies the plain bytes from p on (as plain_run tells them) to the text;
 * returns where they stop. Scanning and copying are one pass: with SSE2
 * each 16 bytes are stored whole before they are tested and only their
 * plain prefix is kept; the tail goes 8 bytes, then one, at a time. The
 * room for 16 bytes is made first. */
static const unsigned char *ch_plain(struct ch *c, const unsigned char *p,
				     const unsigned char *end)
{
	uint64_t v;
#if defined(__SSE2__)
	__m128i x;
	unsigned mask;

	while (end - p >= 16) {
		if (c->used > CH_CAP - 16)
			ch_flush(c);
		x = _mm_loadu_si128((const __m128i *)(const void *)p);
		_mm_storeu_si128((__m128i *)(void *)(c->buf + c->used), x);
		if ((mask = special16(x))) {
			c->used += (size_t)__builtin_ctz(mask);
			return p + __builtin_ctz(mask);
		}
		c->used += 16;
		p += 16;
	}
#endif
	for (;;) {
		if (c->used > CH_CAP - 16)
			ch_flush(c);
		if (end - p < 8)
			break;
		memcpy(&v, p, 8);
		if (special8(v))
			break;
		memcpy(c->buf + c->used, &v, 8);
		c->used += 8;
		p += 8;
	}
	/* At most 15 bytes are left to the special one or the end, and the
	 * room for them was made above. */
	while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
		c->buf[c->used++] = (char)*p++;
	return p;
}

static int ch_string(struct ch *c, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	char esc[6];
	size_t k;

	ch_add(c, "\"", 1);
	while (p < end) {
		p = ch_plain(c, p, end);
		if (p == end)
			break;
		if (*p >= 0x80) {
			if (!(k = utf8_len(p, end)))
				return -1;
			ch_add(c, p, k);
			p += k;
			continue;
		}
		switch (*p) {
		case '"': ch_add(c, "\\\"", 2); break;
		case '\\': ch_add(c, "\\\\", 2); break;
		case '\b': ch_add(c, "\\b", 2); break;
		case '\f': ch_add(c, "\\f", 2); break;
		case '\n': ch_add(c, "\\n", 2); break;
		case '\r': ch_add(c, "\\r", 2); break;
		case '\t': ch_add(c, "\\t", 2); break;
		default:            /* "\\u%04X" of a control character */
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[*p >> 4];
			esc[5] = hex[*p & 15];
			ch_add(c, esc, 6);
		}
		p++;
	}
	ch_add(c, "\"", 1);
	return 0;
}

/* "%lld" */
static void ch_int(struct ch *c, long long i)
{
	char b[24], *e = b + sizeof(b), *q = e;
	unsigned long long u = i < 0 ? 0 - (unsigned long long)i : (unsigned long long)i;

	do
		*--q = (char)('0' + u % 10);
	while (u /= 10);
	if (i < 0)
		*--q = '-';
	ch_add(c, q, (size_t)(e - q));
}

/* A real as the dumper writes it at 17 digits. */
static int ch_real(struct ch *c, double d)
{
	char b[64], *e, *from, *to;
	int n;

	if (!isfinite(d))
		return -1;
	/* A whole number below 2^53 is its digits under "%.17g" (there is no
	 * exponent below 10^17), and the dumper adds ".0". */
	if (fabs(d) < 9007199254740992.0 && d == (double)(long long)d) {
		if (signbit(d) && d == 0)
			ch_add(c, "-", 1);
		ch_int(c, (long long)d);
		ch_add(c, ".0", 2);
		return 0;
	}
	n = snprintf(b, sizeof(b) - 3, "%.17g", d);
	if (n < 0 || n >= (int)sizeof(b) - 3)
		return -1;
	if (!strchr(b, '.') && !strchr(b, 'e')) {
		memcpy(b + n, ".0", 3);
		n += 2;
	}
	if ((e = strchr(b, 'e'))) {
		to = e + 1;
		if (*to == '-')
			to++;
		for (from = to; *from == '+' || *from == '0'; from++)
			if (*from == '0' && !from[1])
				break;
		memmove(to, from, strlen(from) + 1);
		n = (int)strlen(b);
	}
	ch_add(c, b, (size_t)n);
	return 0;
}

struct member {
	const char *key;
	size_t len;                 /* strlen(key) */
	const struct pp_json *value;
};

/* strcmp's order (bytes as unsigned char, a prefix first). Keys are
 * short and mostly differ early: a loop beats a call to strcmp. */
static int key_cmp(const struct member *a, const struct member *b)
{
	const unsigned char *x = (const unsigned char *)a->key, *y = (const unsigned char *)b->key;
	size_t i, n = a->len < b->len ? a->len : b->len;

	for (i = 0; i < n; i++)
		if (x[i] != y[i])
			return x[i] < y[i] ? -1 : 1;
	return (a->len > b->len) - (a->len < b->len);
}

static int cmp_members(const void *a, const void *b)
{
	return key_cmp(a, b);
}

/* Stable, like glibc's qsort (a merge sort), in case two keys compare
 * equal (a NUL in a key ends it for strcmp). */
static void sort_members(struct member *m, size_t n)
{
	struct member t;
	size_t i, j;

	if (n > 32) {
		qsort(m, n, sizeof(*m), cmp_members);
		return;
	}
	for (i = 1; i < n; i++) {
		if (key_cmp(&m[i - 1], &m[i]) <= 0)
			continue;
		t = m[i];
		for (j = i; j > 0 && key_cmp(&m[j - 1], &t) > 0; j--)
			m[j] = m[j - 1];
		m[j] = t;
	}
}

static int ch_value(struct ch *c, const struct pp_json *v);

static int ch_object(struct ch *c, const struct pp_json *v)
{
	struct member inline_m[32], *m = inline_m;
	size_t n = pp_json_len(v), i = 0;
	void *it;
	int rc = 0;

	if (n > 32 && !(m = pp_malloc(n * sizeof(*m))))
		return -1;
	for (it = pp_json_iter(v); it && i < n; it = pp_json_iter_next(v, it), i++) {
		m[i].key = pp_json_iter_key(it);
		m[i].len = strlen(m[i].key);
		m[i].value = pp_json_iter_value(it);
	}
	sort_members(m, i);
	ch_add(c, "{", 1);
	for (n = i, i = 0; !rc && i < n; i++) {
		if (i)
			ch_add(c, ",", 1);
		rc = ch_string(c, m[i].key, m[i].len);
		ch_add(c, ":", 1);
		if (!rc)
			rc = ch_value(c, m[i].value);
	}
	ch_add(c, "}", 1);
	if (m != inline_m)
		free(m);
	return rc;
}

static int ch_value(struct ch *c, const struct pp_json *v)
{
	long long i;
	double d;
	size_t k;
	int rc = 0;

	switch (pp_json_type(v)) {
	case PP_JSON_OBJECT:
		return ch_object(c, v);
	case PP_JSON_ARRAY:
		ch_add(c, "[", 1);
		for (k = 0; !rc && k < pp_json_len(v); k++) {
			if (k)
				ch_add(c, ",", 1);
			rc = ch_value(c, pp_json_at(v, k));
		}
		ch_add(c, "]", 1);
		return rc;
	case PP_JSON_STRING:
		return ch_string(c, pp_json_str(v), pp_json_len(v));
	case PP_JSON_INTEGER:
		pp_json_int(v, &i);
		ch_int(c, i);
		return 0;
	case PP_JSON_REAL:
		pp_json_num(v, &d);
		return ch_real(c, d);
	case PP_JSON_TRUE:
		ch_add(c, "true", 4);
		return 0;
	case PP_JSON_FALSE:
		ch_add(c, "false", 5);
		return 0;
	default:
		ch_add(c, "null", 4);
		return 0;
	}
}

int pp_json_canonical_sha256_update(struct pp_sha256 *sha, const struct pp_json *v)
{
	struct ch *c = pp_malloc(sizeof(*c));
	char *text;

	if (c) {
		c->sha = *sha;
		c->used = 0;
		if (!ch_value(c, v)) {
			ch_flush(c);
			*sha = c->sha;
			free(c);
			return PP_OK;
		}
		free(c);
	}
	/* What the fast path could not say (or no memory for it): the
	 * dumper decides, failure included. sha is still as it came. */
	if (!(text = pp_json_canonical(v)))
		return PP_ENOMEM;
	pp_sha256_update(sha, text, strlen(text));
	free(text);
	return PP_OK;
}

int pp_json_canonical_sha256(const struct pp_json *v, char hex[65])
{
	struct pp_sha256 sha;
	int rc;

	pp_sha256_init(&sha);
	if ((rc = pp_json_canonical_sha256_update(&sha, v)))
		return rc;
	pp_sha256_final_hex(&sha, hex);
	return PP_OK;
}

const char *pp_json_plain_run(const char *p, const char *end)
{
	return (const char *)plain_run((const unsigned char *)p, (const unsigned char *)end);
}
