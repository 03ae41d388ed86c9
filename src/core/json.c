/*
 * json.c - the JSON wrapper over jansson (see peerpres/json.h).
 *
 * struct pp_json is jansson's json_t under another name; this is the only
 * file that includes jansson.h, so the library can be swapped here alone.
 * jansson is told to use our allocator so fault injection reaches it.
 */
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#include <jansson.h>

#include <peerpres/json.h>
#include <peerpres/status.h>
#include "core/alloc.h"
#include "core/json_fast.h"

#define J(v) ((json_t *)(v))
#define P(v) ((struct pp_json *)(v))

static void *json_alloc(size_t n) { return pp_malloc_small(n); }

static void use_our_allocator(void)
{
	static int done;

	if (!done) {
		json_set_alloc_funcs(json_alloc, pp_free_small);
		done = 1;
	}
}

int pp_json_parse(const char *text, size_t len, struct pp_json **out,
		  char *err, size_t errlen)
{
	/* The fast reader takes what it is sure of; jansson the rest, so
	 * errors keep jansson's messages. */
	if (!pp_json_parse_fast(text, len, out))
		return PP_OK;
	return pp_json_parse_general(text, len, out, err, errlen);
}

int pp_json_parse_general(const char *text, size_t len, struct pp_json **out,
			  char *err, size_t errlen)
{
	json_error_t e;
	json_t *v;

	use_our_allocator();
	v = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
	if (!v) {
		if (errlen)
			snprintf(err, errlen, "line %d, column %d: %s",
				 e.line, e.column, e.text);
		*out = NULL;
		return PP_EPARSE;
	}
	*out = P(v);
	return PP_OK;
}

int pp_json_load_file(const char *path, struct pp_json **out, char *err,
		      size_t errlen)
{
	struct pp_buf b = PP_BUF_INIT;
	int rc = pp_buf_read_file(&b, path);

	if (rc) {
		if (errlen)
			snprintf(err, errlen, "%s", pp_strerror(rc));
		*out = NULL;
		return rc;
	}
	rc = pp_json_parse(b.buf, b.len, out, err, errlen);
	pp_buf_release(&b);
	return rc;
}

static int dump_cb(const char *s, size_t n, void *data)
{
	return pp_buf_add(data, s, n) ? -1 : 0;
}

/*
 * The compact, unsorted dump is on every hot path (each model request,
 * each stored rollout), so it is written here rather than through
 * jansson's per-token callback: safe runs of a string are copied whole.
 * Its output is byte for byte jansson's (tests/unit/test_core.c compares
 * them): the same escapes (\uXXXX in upper case for other control
 * characters, '/' and non-ASCII as is), reals as "%.17g" with ".0" added
 * to integral values and the exponent's '+' and leading zeros dropped.
 * With PP_JSON_SHORT_REALS a real takes the fewest digits (15 to 17) that
 * read back as the same double, in the same form.
 */
static int fast_value(const json_t *v, bool short_reals, struct pp_buf *b);

/* The end of the run of s that needs no escape: non-ASCII bytes are
 * written as they are. */
static const char *unescaped_run(const char *p, const char *end)
{
	for (p = pp_json_plain_run(p, end); p < end && (unsigned char)*p >= 0x80;)
		p = pp_json_plain_run(p + 1, end);
	return p;
}

static int fast_string(const char *s, size_t n, struct pp_buf *b)
{
	static const char named[] = "btn-fr";   /* \b \t \n, none for 11, \f \r: 8..13 */
	const char *p = s, *end = s + n, *run;
	char esc[8];
	int rc = pp_buf_add(b, "\"", 1);

	while (!rc && p < end) {
		run = p;
		p = unescaped_run(p, end);
		if (p > run && (rc = pp_buf_add(b, run, (size_t)(p - run))))
			break;
		if (p == end)
			break;
		if (*p == '"' || *p == '\\') {
			esc[0] = '\\';
			esc[1] = *p;
			rc = pp_buf_add(b, esc, 2);
		} else if (*p >= 8 && *p <= 13 && named[*p - 8] != '-') {
			esc[0] = '\\';
			esc[1] = named[*p - 8];
			rc = pp_buf_add(b, esc, 2);
		} else {
			snprintf(esc, sizeof(esc), "\\u%04X", (unsigned)(unsigned char)*p);
			rc = pp_buf_add(b, esc, 6);
		}
		p++;
	}
	return rc ? rc : pp_buf_add(b, "\"", 1);
}

/* "%lld" without printf's machinery. */
static int fast_integer(long long v, struct pp_buf *b)
{
	char t[24], *end = t + sizeof(t), *p = end;
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	return pp_buf_add(b, p, (size_t)(end - p));
}

/* d as "%.17g" writes it, or with the fewest digits that read back as
 * d; then ".0" on an integral value and the exponent trimmed. */
static int real_text(double d, bool short_reals, char t[64])
{
	int n = 0, digits = short_reals ? 15 : 17;
	char *e;

	for (; digits <= 17; digits++) {
		n = snprintf(t, 61, "%.*g", digits, d);
		if (n < 0 || n >= 61)
			return PP_EINVAL;
		if (digits == 17 || strtod(t, NULL) == d)
			break;
	}
	if (!strchr(t, '.') && !strchr(t, 'e') && !strchr(t, 'n') && !strchr(t, 'i'))
		memcpy(t + n, ".0", 3);
	if ((e = strchr(t, 'e'))) {
		char *d0 = e + 1, *src = e + 1;

		if (*src == '+')
			src++;
		else if (*src == '-')
			*d0++ = *src++;
		while (*src == '0' && src[1])
			src++;
		memmove(d0, src, strlen(src) + 1);
	}
	return PP_OK;
}

static int fast_real(double d, bool short_reals, struct pp_buf *b)
{
	char t[64];
	int rc = real_text(d, short_reals, t);

	return rc ? rc : pp_buf_adds(b, t);
}

/* Rewrites the reals of the JSON text b holds from `from` on in their
 * fewest digits (jansson writes them with one precision for all). A
 * number is a real when it has a '.' or an exponent; strings are
 * skipped. */
static int shorten_reals(struct pp_buf *b, size_t from)
{
	struct pp_buf out = PP_BUF_INIT;
	const char *p = b->buf + from, *end = b->buf + b->len, *run = p;
	bool in_string = false;
	char t[64], num[64];
	int rc = PP_OK;

	while (!rc && p < end) {
		size_t n;

		if (in_string) {
			if (*p == '\\')
				p++;
			else if (*p == '"')
				in_string = false;
			p++;
			continue;
		}
		if (*p == '"') {
			in_string = true;
			p++;
			continue;
		}
		if (*p != '-' && (*p < '0' || *p > '9')) {
			p++;
			continue;
		}
		n = strspn(p, "0123456789+-.eE");
		if (n < sizeof(num) && (memchr(p, '.', n) || memchr(p, 'e', n) || memchr(p, 'E', n))) {
			memcpy(num, p, n);
			num[n] = '\0';
			rc = real_text(strtod(num, NULL), true, t);
			if (!rc)
				rc = pp_buf_add(&out, run, (size_t)(p - run));
			if (!rc)
				rc = pp_buf_adds(&out, t);
			run = p + n;
		}
		p += n;
	}
	if (!rc)
		rc = pp_buf_add(&out, run, (size_t)(end - run));
	if (!rc) {
		b->len = from;
		b->buf[from] = '\0';
		rc = pp_buf_add(b, out.buf ? out.buf : "", out.len);
	}
	pp_buf_release(&out);
	return rc == PP_EINVAL ? PP_ENOMEM : rc;
}

static int fast_object(const json_t *v, bool short_reals, struct pp_buf *b)
{
	void *it = json_object_iter((json_t *)v);
	int rc = pp_buf_add(b, "{", 1);
	bool first = true;

	for (; !rc && it; it = json_object_iter_next((json_t *)v, it), first = false) {
		const char *k = json_object_iter_key(it);

		if (!first)
			rc = pp_buf_add(b, ",", 1);
		if (!rc)
			rc = fast_string(k, strlen(k), b);
		if (!rc)
			rc = pp_buf_add(b, ":", 1);
		if (!rc)
			rc = fast_value(json_object_iter_value(it), short_reals, b);
	}
	return rc ? rc : pp_buf_add(b, "}", 1);
}

static int fast_array(const json_t *v, bool short_reals, struct pp_buf *b)
{
	size_t i, n = json_array_size(v);
	int rc = pp_buf_add(b, "[", 1);

	for (i = 0; !rc && i < n; i++) {
		if (i)
			rc = pp_buf_add(b, ",", 1);
		if (!rc)
			rc = fast_value(json_array_get(v, i), short_reals, b);
	}
	return rc ? rc : pp_buf_add(b, "]", 1);
}

static int fast_value(const json_t *v, bool short_reals, struct pp_buf *b)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return fast_object(v, short_reals, b);
	case JSON_ARRAY:
		return fast_array(v, short_reals, b);
	case JSON_STRING:
		return fast_string(json_string_value(v), json_string_length(v), b);
	case JSON_INTEGER:
		return fast_integer(json_integer_value(v), b);
	case JSON_REAL:
		return fast_real(json_real_value(v), short_reals, b);
	case JSON_TRUE:
		return pp_buf_adds(b, "true");
	case JSON_FALSE:
		return pp_buf_adds(b, "false");
	case JSON_NULL:
		return pp_buf_adds(b, "null");
	}
	return PP_EINVAL;
}

int pp_json_dump(const struct pp_json *v, int flags, struct pp_buf *b)
{
	size_t f = JSON_ENCODE_ANY | JSON_REAL_PRECISION(17), mark;

	use_our_allocator();
	if (flags & PP_JSON_COMPACT)
		f |= JSON_COMPACT;
	if (flags & PP_JSON_SORT_KEYS)
		f |= JSON_SORT_KEYS;
	if (flags & PP_JSON_PRETTY)
		f |= JSON_INDENT(2);
	if (!v)
		return pp_buf_adds(b, "null");
	mark = b->len;
	if ((flags & ~PP_JSON_SHORT_REALS) == PP_JSON_COMPACT) {
		int rc = fast_value(J(v), flags & PP_JSON_SHORT_REALS, b);

		if (rc) {   /* as jansson: nothing half-written */
			b->len = mark;
			b->buf[mark] = '\0';
		}
		return rc == PP_EINVAL ? PP_ENOMEM : rc;
	}
	if (json_dump_callback(J(v), dump_cb, b, f))
		return PP_ENOMEM;
	return flags & PP_JSON_SHORT_REALS ? shorten_reals(b, mark) : PP_OK;
}

char *pp_json_canonical(const struct pp_json *v)
{
	struct pp_buf b = PP_BUF_INIT;

	if (pp_json_dump(v, PP_JSON_COMPACT | PP_JSON_SORT_KEYS, &b)) {
		pp_buf_release(&b);
		return NULL;
	}
	return pp_buf_detach(&b, NULL);
}

enum pp_json_type pp_json_type(const struct pp_json *v)
{
	if (!v)
		return PP_JSON_NULL;
	switch (json_typeof(J(v))) {
	case JSON_OBJECT: return PP_JSON_OBJECT;
	case JSON_ARRAY: return PP_JSON_ARRAY;
	case JSON_STRING: return PP_JSON_STRING;
	case JSON_INTEGER: return PP_JSON_INTEGER;
	case JSON_REAL: return PP_JSON_REAL;
	case JSON_TRUE: return PP_JSON_TRUE;
	case JSON_FALSE: return PP_JSON_FALSE;
	case JSON_NULL: return PP_JSON_NULL;
	}
	return PP_JSON_NULL;
}

bool pp_json_is_object(const struct pp_json *v) { return v && json_is_object(J(v)); }
bool pp_json_is_array(const struct pp_json *v) { return v && json_is_array(J(v)); }
bool pp_json_is_string(const struct pp_json *v) { return v && json_is_string(J(v)); }
bool pp_json_is_number(const struct pp_json *v) { return v && json_is_number(J(v)); }
bool pp_json_is_bool(const struct pp_json *v) { return v && json_is_boolean(J(v)); }
bool pp_json_is_null(const struct pp_json *v) { return !v || json_is_null(J(v)); }
bool pp_json_is_true(const struct pp_json *v) { return v && json_is_true(J(v)); }

struct pp_json *pp_json_get(const struct pp_json *obj, const char *key)
{
	return pp_json_is_object(obj) ? P(json_object_get(J(obj), key)) : NULL;
}

struct pp_json *pp_json_at(const struct pp_json *arr, size_t i)
{
	return pp_json_is_array(arr) ? P(json_array_get(J(arr), i)) : NULL;
}

size_t pp_json_len(const struct pp_json *v)
{
	if (!v)
		return 0;
	if (json_is_array(J(v)))
		return json_array_size(J(v));
	if (json_is_object(J(v)))
		return json_object_size(J(v));
	if (json_is_string(J(v)))
		return json_string_length(J(v));
	return 0;
}

const char *pp_json_str(const struct pp_json *v)
{
	return pp_json_is_string(v) ? json_string_value(J(v)) : NULL;
}

const char *pp_json_get_str(const struct pp_json *obj, const char *key,
			    const char *def)
{
	const char *s = pp_json_str(pp_json_get(obj, key));

	return s ? s : def;
}

bool pp_json_num(const struct pp_json *v, double *out)
{
	if (!pp_json_is_number(v))
		return false;
	*out = json_number_value(J(v));
	return true;
}

bool pp_json_int(const struct pp_json *v, long long *out)
{
	if (!v || !json_is_integer(J(v)))
		return false;
	*out = json_integer_value(J(v));
	return true;
}

void *pp_json_iter(const struct pp_json *obj)
{
	return pp_json_is_object(obj) ? json_object_iter(J(obj)) : NULL;
}

void *pp_json_iter_next(const struct pp_json *obj, void *it)
{
	return json_object_iter_next(J(obj), it);
}

const char *pp_json_iter_key(void *it) { return json_object_iter_key(it); }
struct pp_json *pp_json_iter_value(void *it) { return P(json_object_iter_value(it)); }

int pp_json_iter_set(struct pp_json *obj, void *it, struct pp_json *v)
{
	if (!v)
		return PP_ENOMEM;
	return json_object_iter_set_new(J(obj), it, J(v)) ? PP_EINVAL : PP_OK;
}

struct pp_json *pp_json_object(void) { use_our_allocator(); return P(json_object()); }
struct pp_json *pp_json_array(void) { use_our_allocator(); return P(json_array()); }

struct pp_json *pp_json_string(const char *s)
{
	return pp_json_stringn(s, strlen(s));
}

struct pp_json *pp_json_stringn(const char *s, size_t len)
{
	json_t *v;

	use_our_allocator();
	v = json_stringn_nocheck(s, len);
	return P(v);
}

struct pp_json *pp_json_integer(long long v) { use_our_allocator(); return P(json_integer(v)); }
struct pp_json *pp_json_real(double v) { use_our_allocator(); return P(json_real(v)); }
struct pp_json *pp_json_bool(bool v) { return P(json_boolean(v)); }
struct pp_json *pp_json_null(void) { return P(json_null()); }

int pp_json_set(struct pp_json *obj, const char *key, struct pp_json *val)
{
	if (!val)
		return PP_ENOMEM;
	if (!pp_json_is_object(obj)) {
		json_decref(J(val));
		return PP_EINVAL;
	}
	return json_object_set_new_nocheck(J(obj), key, J(val)) ? PP_ENOMEM : PP_OK;
}

int pp_json_set_str(struct pp_json *obj, const char *key, const char *s)
{
	return pp_json_set(obj, key, s ? pp_json_string(s) : pp_json_null());
}

int pp_json_append(struct pp_json *arr, struct pp_json *val)
{
	if (!val)
		return PP_ENOMEM;
	if (!pp_json_is_array(arr)) {
		json_decref(J(val));
		return PP_EINVAL;
	}
	return json_array_append_new(J(arr), J(val)) ? PP_ENOMEM : PP_OK;
}

int pp_json_insert(struct pp_json *arr, size_t i, struct pp_json *val)
{
	if (!val)
		return PP_ENOMEM;
	if (!pp_json_is_array(arr)) {
		json_decref(J(val));
		return PP_EINVAL;
	}
	return json_array_insert_new(J(arr), i, J(val)) ? PP_ENOMEM : PP_OK;
}

int pp_json_remove(struct pp_json *v, size_t i, const char *key)
{
	if (pp_json_is_object(v))
		return json_object_del(J(v), key) ? PP_ENOTFOUND : PP_OK;
	if (pp_json_is_array(v))
		return json_array_remove(J(v), i) ? PP_ENOTFOUND : PP_OK;
	return PP_EINVAL;
}

struct pp_json *pp_json_incref(struct pp_json *v) { return P(json_incref(J(v))); }
void pp_json_decref(struct pp_json *v) { if (v) json_decref(J(v)); }

struct pp_json *pp_json_copy(const struct pp_json *v)
{
	use_our_allocator();
	return v ? P(json_copy(J(v))) : NULL;
}

struct pp_json *pp_json_pick(const struct pp_json *obj, const char *const *keys, size_t n)
{
	struct pp_json *o = pp_json_object();
	size_t i;

	for (i = 0; o && i < n; i++) {
		struct pp_json *v = pp_json_get(obj, keys[i]);

		if (v && pp_json_set(o, keys[i], pp_json_incref(v))) {
			pp_json_decref(o);
			return NULL;
		}
	}
	return o;
}

struct pp_json *pp_json_deep_copy(const struct pp_json *v)
{
	use_our_allocator();
	return v ? P(json_deep_copy(J(v))) : NULL;
}

bool pp_json_equal(const struct pp_json *a, const struct pp_json *b)
{
	if (!a || !b)
		return pp_json_is_null(a) && pp_json_is_null(b);
	return json_equal(J(a), J(b));
}

struct pp_json *pp_json_str_or_null(const char *s)
{
	return s ? pp_json_string(s) : pp_json_null();
}
