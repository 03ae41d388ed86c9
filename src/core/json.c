/*
 * json.c - the JSON tree of peerpres (see peerpres/json.h).
 *
 * The values are our own. They were jansson's until its objects (a hash
 * table of separately allocated pairs, each value its own block with its
 * string copied again) were a third of an import's CPU, mostly waiting
 * on memory while building and freeing them: an object is now one block
 * and its members one array (short keys inside it, found by comparing
 * the few there are, through a hash index once an object is large), a
 * string one block with its text. Order, replacement in place, the
 * literals and the atomic reference counts are jansson's, and so is every
 * byte a dump writes (tests/unit/test_core.c compares them with jansson).
 *
 * jansson still reads what the fast reader (json_fast.c) is not sure of,
 * so parse errors keep its messages; its value is then copied into ours.
 * It is told to use our allocator so fault injection reaches it.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#include <jansson.h>

#include <peerpres/json.h>
#include <peerpres/status.h>
#include "core/alloc.h"
#include "core/json_fast.h"

/* The literals are never freed. */
#define REFS_STATIC SIZE_MAX

struct pp_json {
	enum pp_json_type type;
	size_t refs;
};

/* A key shorter than this lives in its member. */
#define KEY_INLINE 16
/* Objects with more members than this find keys through a hash index. */
#define INDEX_FROM 12

struct member {
	struct pp_json *value;
	uint32_t hash;          /* of the key, once the object has an index */
	uint32_t len;
	union {
		char in[KEY_INLINE];
		char *out;
	} key;
};

struct object {
	struct pp_json h;
	size_t n, cap;
	struct member *m;
	/* Open addressing: a member's position + 1, 0 for a free slot. NULL
	 * for small objects, and when memory for it ran out (then keys are
	 * compared one by one: slower, still right). */
	uint32_t *slots;
	size_t n_slots;         /* a power of two, at least twice n */
};

struct array {
	struct pp_json h;
	size_t n, cap;
	struct pp_json **v;
};

struct string {
	struct pp_json h;
	size_t len;
	char s[];
};

struct integer {
	struct pp_json h;
	long long v;
};

struct real {
	struct pp_json h;
	double v;
};

#define OBJ(v) ((struct object *)(v))
#define ARR(v) ((struct array *)(v))
#define STR(v) ((struct string *)(v))

static struct pp_json lit_true = { PP_JSON_TRUE, REFS_STATIC };
static struct pp_json lit_false = { PP_JSON_FALSE, REFS_STATIC };
static struct pp_json lit_null = { PP_JSON_NULL, REFS_STATIC };

static const char *key_of(const struct member *m)
{
	return m->len < KEY_INLINE ? m->key.in : m->key.out;
}

static uint32_t key_hash(const char *key, size_t len)
{
	uint32_t h = 2166136261u;   /* FNV-1a */
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)key[i]) * 16777619u;
	return h;
}

/* ---- values ---- */

static void *node(enum pp_json_type type, size_t size)
{
	struct pp_json *v = pp_malloc_small(size);

	if (v) {
		memset(v, 0, size);
		v->type = type;
		v->refs = 1;
	}
	return v;
}

struct pp_json *pp_json_object(void) { return node(PP_JSON_OBJECT, sizeof(struct object)); }
struct pp_json *pp_json_array(void) { return node(PP_JSON_ARRAY, sizeof(struct array)); }

struct pp_json *pp_json_string(const char *s)
{
	return s ? pp_json_stringn(s, strlen(s)) : NULL;
}

struct pp_json *pp_json_stringn(const char *s, size_t len)
{
	struct string *v;

	if (!s || len > SIZE_MAX - sizeof(*v) - 1 ||
	    !(v = pp_malloc_small(sizeof(*v) + len + 1)))
		return NULL;
	v->h.type = PP_JSON_STRING;
	v->h.refs = 1;
	v->len = len;
	memcpy(v->s, s, len);
	v->s[len] = '\0';
	return &v->h;
}

struct pp_json *pp_json_integer(long long v)
{
	struct integer *i = node(PP_JSON_INTEGER, sizeof(*i));

	if (i)
		i->v = v;
	return i ? &i->h : NULL;
}

/* As jansson: no real for a NaN or an infinity (JSON has none). */
struct pp_json *pp_json_real(double v)
{
	struct real *r = isfinite(v) ? node(PP_JSON_REAL, sizeof(*r)) : NULL;

	if (r)
		r->v = v;
	return r ? &r->h : NULL;
}

struct pp_json *pp_json_bool(bool v) { return v ? &lit_true : &lit_false; }
struct pp_json *pp_json_null(void) { return &lit_null; }

struct pp_json *pp_json_str_or_null(const char *s)
{
	return s ? pp_json_string(s) : pp_json_null();
}

static void release_member(struct member *m)
{
	pp_json_decref(m->value);
	if (m->len >= KEY_INLINE)
		free(m->key.out);
}

static void delete(struct pp_json *v)
{
	size_t i;

	if (v->type == PP_JSON_OBJECT) {
		for (i = 0; i < OBJ(v)->n; i++)
			release_member(&OBJ(v)->m[i]);
		free(OBJ(v)->m);
		free(OBJ(v)->slots);
	} else if (v->type == PP_JSON_ARRAY) {
		for (i = 0; i < ARR(v)->n; i++)
			pp_json_decref(ARR(v)->v[i]);
		free(ARR(v)->v);
	}
	pp_free_small(v);
}

/* Atomic, as jansson's: a value may be shared by threads that only read it
 * (the scenarios), and taking a reference is not reading. The count is
 * read atomically too: another thread may be changing it (a plain read
 * was a data race, if a harmless one, as ThreadSanitizer said). */
static bool is_static(const struct pp_json *v)
{
	return __atomic_load_n(&v->refs, __ATOMIC_RELAXED) == REFS_STATIC;
}

struct pp_json *pp_json_incref(struct pp_json *v)
{
	if (v && !is_static(v))
		__atomic_add_fetch(&v->refs, 1, __ATOMIC_ACQUIRE);
	return v;
}

void pp_json_decref(struct pp_json *v)
{
	if (v && !is_static(v) && __atomic_sub_fetch(&v->refs, 1, __ATOMIC_ACQ_REL) == 0)
		delete(v);
}

/* ---- types and access ---- */

enum pp_json_type pp_json_type(const struct pp_json *v)
{
	return v ? v->type : PP_JSON_NULL;
}

bool pp_json_is_object(const struct pp_json *v) { return v && v->type == PP_JSON_OBJECT; }
bool pp_json_is_array(const struct pp_json *v) { return v && v->type == PP_JSON_ARRAY; }
bool pp_json_is_string(const struct pp_json *v) { return v && v->type == PP_JSON_STRING; }
bool pp_json_is_null(const struct pp_json *v) { return !v || v->type == PP_JSON_NULL; }
bool pp_json_is_true(const struct pp_json *v) { return v && v->type == PP_JSON_TRUE; }

bool pp_json_is_number(const struct pp_json *v)
{
	return v && (v->type == PP_JSON_INTEGER || v->type == PP_JSON_REAL);
}

bool pp_json_is_bool(const struct pp_json *v)
{
	return v && (v->type == PP_JSON_TRUE || v->type == PP_JSON_FALSE);
}

/* The position of key in o, or -1. */
static long find(const struct object *o, const char *key, size_t len)
{
	const struct member *m;
	uint32_t h;
	size_t i, mask;

	if (!o->slots) {
		for (i = 0; i < o->n; i++)
			if (o->m[i].len == len && !memcmp(key_of(&o->m[i]), key, len))
				return (long)i;
		return -1;
	}
	h = key_hash(key, len);
	mask = o->n_slots - 1;
	for (i = h & mask; o->slots[i]; i = (i + 1) & mask) {
		m = &o->m[o->slots[i] - 1];
		if (m->hash == h && m->len == len && !memcmp(key_of(m), key, len))
			return (long)o->slots[i] - 1;
	}
	return -1;
}

struct pp_json *pp_json_get(const struct pp_json *obj, const char *key)
{
	long i;

	if (!pp_json_is_object(obj) || !key)
		return NULL;
	i = find(OBJ(obj), key, strlen(key));
	return i < 0 ? NULL : OBJ(obj)->m[i].value;
}

struct pp_json *pp_json_at(const struct pp_json *arr, size_t i)
{
	return pp_json_is_array(arr) && i < ARR(arr)->n ? ARR(arr)->v[i] : NULL;
}

size_t pp_json_len(const struct pp_json *v)
{
	if (!v)
		return 0;
	switch (v->type) {
	case PP_JSON_ARRAY: return ARR(v)->n;
	case PP_JSON_OBJECT: return OBJ(v)->n;
	case PP_JSON_STRING: return STR(v)->len;
	default: return 0;
	}
}

const char *pp_json_str(const struct pp_json *v)
{
	return pp_json_is_string(v) ? STR(v)->s : NULL;
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
	*out = v->type == PP_JSON_INTEGER ? (double)((const struct integer *)v)->v
					  : ((const struct real *)v)->v;
	return true;
}

bool pp_json_int(const struct pp_json *v, long long *out)
{
	if (!v || v->type != PP_JSON_INTEGER)
		return false;
	*out = ((const struct integer *)v)->v;
	return true;
}

void *pp_json_iter(const struct pp_json *obj)
{
	return pp_json_is_object(obj) && OBJ(obj)->n ? OBJ(obj)->m : NULL;
}

void *pp_json_iter_next(const struct pp_json *obj, void *it)
{
	struct member *m = it;

	return m && m + 1 < OBJ(obj)->m + OBJ(obj)->n ? m + 1 : NULL;
}

const char *pp_json_iter_key(void *it) { return it ? key_of(it) : NULL; }
struct pp_json *pp_json_iter_value(void *it) { return it ? ((struct member *)it)->value : NULL; }

int pp_json_iter_set(struct pp_json *obj, void *it, struct pp_json *v)
{
	struct member *m = it;

	if (!v)
		return PP_ENOMEM;
	if (!pp_json_is_object(obj) || !m || v == obj) {
		pp_json_decref(v);
		return PP_EINVAL;
	}
	pp_json_decref(m->value);
	m->value = v;
	return PP_OK;
}

/* ---- objects ---- */

/* Sets o's index for its members, hashing their keys (a small object's
 * members have none: they are compared as they are); without memory o
 * does without. */
static void index_members(struct object *o)
{
	size_t n_slots = 32, i, j;

	free(o->slots);
	o->slots = NULL;
	if (o->n <= INDEX_FROM || o->n >= UINT32_MAX / 4)
		return;
	while (n_slots < o->n * 2)
		n_slots *= 2;
	if (!(o->slots = pp_calloc(n_slots, sizeof(*o->slots))))
		return;
	o->n_slots = n_slots;
	for (i = 0; i < o->n; i++) {
		o->m[i].hash = key_hash(key_of(&o->m[i]), o->m[i].len);
		for (j = o->m[i].hash & (n_slots - 1); o->slots[j]; j = (j + 1) & (n_slots - 1))
			;
		o->slots[j] = (uint32_t)i + 1;
	}
}

/* The last member of o gets its place in the index, which is made again
 * twice as large when half full. */
static void index_last(struct object *o)
{
	struct member *m = &o->m[o->n - 1];
	size_t j, mask;

	if (!o->slots || o->n * 2 > o->n_slots) {
		index_members(o);
		return;
	}
	m->hash = key_hash(key_of(m), m->len);
	mask = o->n_slots - 1;
	for (j = m->hash & mask; o->slots[j]; j = (j + 1) & mask)
		;
	o->slots[j] = (uint32_t)o->n;
}

/* Room for one more of an object's members or an array's items. The
 * first room is for FIRST_ROOM, not the 16 pp_grow gives a buffer: most
 * objects and arrays hold a handful, and a report's summary kept 512
 * bytes of member slots for each rollout's 7 members and 3 counts. */
#define FIRST_ROOM 4

static void *room_for_one(void *v, size_t *cap, size_t n, size_t item)
{
	void *p;

	if (*cap)
		return pp_grow(v, cap, n, 1, item);
	if ((p = pp_realloc(v, FIRST_ROOM * item)))
		*cap = FIRST_ROOM;
	return p;
}

/* Sets key (len bytes, no NUL among them) to val, replacing a value in
 * place; steals val. */
static int set_member(struct object *o, const char *key, size_t len, struct pp_json *val)
{
	struct member *m, *grown;
	long at = find(o, key, len);

	if (at >= 0) {
		pp_json_decref(o->m[at].value);
		o->m[at].value = val;
		return PP_OK;
	}
	if (len >= UINT32_MAX || !(grown = room_for_one(o->m, &o->cap, o->n, sizeof(*o->m)))) {
		pp_json_decref(val);
		return PP_ENOMEM;
	}
	o->m = grown;
	m = &o->m[o->n];
	if (len >= KEY_INLINE && !(m->key.out = pp_malloc(len + 1))) {
		pp_json_decref(val);
		return PP_ENOMEM;
	}
	memcpy(len >= KEY_INLINE ? m->key.out : m->key.in, key, len);
	(len >= KEY_INLINE ? m->key.out : m->key.in)[len] = '\0';
	m->len = (uint32_t)len;
	m->value = val;
	o->n++;
	if (o->n > INDEX_FROM)
		index_last(o);
	return PP_OK;
}

int pp_json_set(struct pp_json *obj, const char *key, struct pp_json *val)
{
	if (!val)
		return PP_ENOMEM;
	if (!pp_json_is_object(obj)) {
		pp_json_decref(val);
		return PP_EINVAL;
	}
	if (!key || val == obj) {
		pp_json_decref(val);
		return PP_ENOMEM;
	}
	return set_member(OBJ(obj), key, strlen(key), val);
}

int pp_json_set_str(struct pp_json *obj, const char *key, const char *s)
{
	return pp_json_set(obj, key, s ? pp_json_string(s) : pp_json_null());
}

static int remove_member(struct object *o, const char *key)
{
	long at = key ? find(o, key, strlen(key)) : -1;

	if (at < 0)
		return PP_ENOTFOUND;
	release_member(&o->m[at]);
	memmove(&o->m[at], &o->m[at + 1], (o->n - (size_t)at - 1) * sizeof(*o->m));
	o->n--;
	if (o->slots)
		index_members(o);
	return PP_OK;
}

/* ---- arrays ---- */

int pp_json_insert(struct pp_json *arr, size_t i, struct pp_json *val)
{
	struct array *a = ARR(arr);
	struct pp_json **grown;

	if (!val)
		return PP_ENOMEM;
	if (!pp_json_is_array(arr)) {
		pp_json_decref(val);
		return PP_EINVAL;
	}
	if (i > a->n || val == arr || !(grown = room_for_one(a->v, &a->cap, a->n, sizeof(*a->v)))) {
		pp_json_decref(val);
		return PP_ENOMEM;
	}
	a->v = grown;
	memmove(&a->v[i + 1], &a->v[i], (a->n - i) * sizeof(*a->v));
	a->v[i] = val;
	a->n++;
	return PP_OK;
}

int pp_json_append(struct pp_json *arr, struct pp_json *val)
{
	return pp_json_insert(arr, pp_json_is_array(arr) ? ARR(arr)->n : 0, val);
}

int pp_json_remove(struct pp_json *v, size_t i, const char *key)
{
	struct array *a = ARR(v);

	if (pp_json_is_object(v))
		return remove_member(OBJ(v), key);
	if (!pp_json_is_array(v))
		return PP_EINVAL;
	if (i >= a->n)
		return PP_ENOTFOUND;
	pp_json_decref(a->v[i]);
	memmove(&a->v[i], &a->v[i + 1], (a->n - i - 1) * sizeof(*a->v));
	a->n--;
	return PP_OK;
}

/* ---- copies and equality ---- */

/* A copy of v, its members copied by copy_child (a new reference for a
 * shallow copy, a deep copy for a deep one). */
static struct pp_json *copy_with(const struct pp_json *v,
				 struct pp_json *(*copy_child)(const struct pp_json *))
{
	struct pp_json *c;
	size_t i;

	switch (v->type) {
	case PP_JSON_OBJECT:
		if (!(c = pp_json_object()))
			return NULL;
		for (i = 0; i < OBJ(v)->n; i++) {
			const struct member *m = &OBJ(v)->m[i];
			struct pp_json *child = copy_child(m->value);

			if (!child || set_member(OBJ(c), key_of(m), m->len, child)) {
				pp_json_decref(c);
				return NULL;
			}
		}
		return c;
	case PP_JSON_ARRAY:
		if (!(c = pp_json_array()))
			return NULL;
		for (i = 0; i < ARR(v)->n; i++)
			if (pp_json_append(c, copy_child(ARR(v)->v[i]))) {
				pp_json_decref(c);
				return NULL;
			}
		return c;
	case PP_JSON_STRING:
		return pp_json_stringn(STR(v)->s, STR(v)->len);
	case PP_JSON_INTEGER:
		return pp_json_integer(((const struct integer *)v)->v);
	case PP_JSON_REAL:
		return pp_json_real(((const struct real *)v)->v);
	default:
		return (struct pp_json *)v;   /* a literal */
	}
}

static struct pp_json *new_reference(const struct pp_json *v)
{
	return pp_json_incref((struct pp_json *)v);
}

struct pp_json *pp_json_copy(const struct pp_json *v)
{
	return v ? copy_with(v, new_reference) : NULL;
}

struct pp_json *pp_json_deep_copy(const struct pp_json *v)
{
	return v ? copy_with(v, pp_json_deep_copy) : NULL;
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

/* As jansson's json_equal: objects equal whatever their order, an
 * integer never equals a real. */
bool pp_json_equal(const struct pp_json *a, const struct pp_json *b)
{
	size_t i;
	long at;

	if (!a || !b)
		return pp_json_is_null(a) && pp_json_is_null(b);
	if (a == b)
		return true;
	if (a->type != b->type)
		return false;
	switch (a->type) {
	case PP_JSON_OBJECT:
		if (OBJ(a)->n != OBJ(b)->n)
			return false;
		for (i = 0; i < OBJ(a)->n; i++) {
			const struct member *m = &OBJ(a)->m[i];

			at = find(OBJ(b), key_of(m), m->len);
			if (at < 0 || !pp_json_equal(m->value, OBJ(b)->m[at].value))
				return false;
		}
		return true;
	case PP_JSON_ARRAY:
		if (ARR(a)->n != ARR(b)->n)
			return false;
		for (i = 0; i < ARR(a)->n; i++)
			if (!pp_json_equal(ARR(a)->v[i], ARR(b)->v[i]))
				return false;
		return true;
	case PP_JSON_STRING:
		return STR(a)->len == STR(b)->len && !memcmp(STR(a)->s, STR(b)->s, STR(a)->len);
	case PP_JSON_INTEGER:
		return ((const struct integer *)a)->v == ((const struct integer *)b)->v;
	case PP_JSON_REAL:
		return ((const struct real *)a)->v == ((const struct real *)b)->v;
	default:
		return true;   /* the same literal type */
	}
}

/* ---- reading ---- */

static void *json_alloc(size_t n) { return pp_malloc_small(n); }

static void use_our_allocator(void)
{
	static int done;

	if (!done) {
		json_set_alloc_funcs(json_alloc, pp_free_small);
		done = 1;
	}
}

/* Our value of jansson's j, or NULL without memory. */
static struct pp_json *from_jansson(json_t *j)
{
	struct pp_json *v;
	const char *key;
	json_t *child;
	size_t i;

	switch (json_typeof(j)) {
	case JSON_OBJECT:
		v = pp_json_object();
		json_object_foreach(j, key, child)
			if (v && pp_json_set(v, key, from_jansson(child))) {
				pp_json_decref(v);
				v = NULL;
			}
		return v;
	case JSON_ARRAY:
		v = pp_json_array();
		json_array_foreach(j, i, child)
			if (v && pp_json_append(v, from_jansson(child))) {
				pp_json_decref(v);
				v = NULL;
			}
		return v;
	case JSON_STRING:
		return pp_json_stringn(json_string_value(j), json_string_length(j));
	case JSON_INTEGER:
		return pp_json_integer(json_integer_value(j));
	case JSON_REAL:
		return pp_json_real(json_real_value(j));
	case JSON_TRUE:
		return pp_json_bool(true);
	case JSON_FALSE:
		return pp_json_bool(false);
	default:
		return pp_json_null();
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
	json_t *j;

	use_our_allocator();
	*out = NULL;
	if (!(j = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e))) {
		if (errlen)
			snprintf(err, errlen, "line %d, column %d: %s", e.line, e.column, e.text);
		return PP_EPARSE;
	}
	*out = from_jansson(j);
	json_decref(j);
	if (!*out) {
		if (errlen)
			snprintf(err, errlen, "%s", pp_strerror(PP_ENOMEM));
		return PP_ENOMEM;
	}
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

/* ---- writing ----
 *
 * Every dump writes what jansson's would, byte for byte (tests compare
 * them): the same escapes (\uXXXX in upper case for other control
 * characters, '/' and non-ASCII as is), reals as "%.17g" with ".0" added
 * to integral values and the exponent's '+' and leading zeros dropped,
 * jansson's separators and its two-space indent. The compact, unsorted
 * dump is on every hot path (each model request, each stored rollout):
 * safe runs of a string are copied whole, and it writes a string that is
 * not UTF-8 as it is, as it always has; the sorted and indented dumps
 * refuse one, as jansson's do. With PP_JSON_SHORT_REALS a real takes the
 * fewest digits (15 to 17) that read back as the same double.
 */
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


struct dump {
	struct pp_buf *b;
	bool short_reals;
	bool sorted;
	bool checked;           /* a string that is not UTF-8 fails the dump */
	int indent;             /* spaces a level, or 0 for one line */
	bool compact;           /* no space after ':' and ',' */
};

static int dump_value(const struct dump *d, const struct pp_json *v, int depth);

static int dump_string(const struct dump *d, const char *s, size_t n)
{
	if (d->checked && pp_utf8_invalid_at(s, n) != n)
		return PP_EINVAL;
	return fast_string(s, n, d->b);
}

/* What jansson writes before an item: a new line indented to depth, or
 * (after a comma, `space`) one space unless compact. */
static int item_break(const struct dump *d, int depth, bool space)
{
	static const char spaces[] = "                                ";
	size_t n;
	int rc;

	if (!d->indent)
		return space && !d->compact ? pp_buf_add(d->b, " ", 1) : PP_OK;
	rc = pp_buf_add(d->b, "\n", 1);
	for (n = (size_t)depth * (size_t)d->indent; !rc && n; n -= n > 32 ? 32 : n)
		rc = pp_buf_add(d->b, spaces, n > 32 ? 32 : n);
	return rc;
}

/* After item i of n: a comma and the next item's break, or the break
 * before the closing bracket. */
static int after_item(const struct dump *d, size_t i, size_t n, int depth)
{
	if (i + 1 < n) {
		int rc = pp_buf_add(d->b, ",", 1);

		return rc ? rc : item_break(d, depth + 1, true);
	}
	return item_break(d, depth, false);
}

/* Keys by their bytes, a prefix first (jansson's order). */
static int by_key(const void *a, const void *b)
{
	const struct member *x = *(const struct member *const *)a;
	const struct member *y = *(const struct member *const *)b;
	int c = memcmp(key_of(x), key_of(y), x->len < y->len ? x->len : y->len);

	return c ? c : (x->len > y->len) - (x->len < y->len);
}

static int dump_members(const struct dump *d, const struct member *const *order,
			size_t n, int depth)
{
	int rc = item_break(d, depth + 1, false);
	size_t i;

	for (i = 0; !rc && i < n; i++) {
		rc = dump_string(d, key_of(order[i]), order[i]->len);
		if (!rc)
			rc = d->compact ? pp_buf_add(d->b, ":", 1) : pp_buf_add(d->b, ": ", 2);
		if (!rc)
			rc = dump_value(d, order[i]->value, depth + 1);
		if (!rc)
			rc = after_item(d, i, n, depth);
	}
	return rc;
}

static int dump_object(const struct dump *d, const struct object *o, int depth)
{
	const struct member **order;
	size_t i;
	int rc;

	if (!o->n)
		return pp_buf_add(d->b, "{}", 2);
	if (!(order = pp_malloc(o->n * sizeof(*order))))
		return PP_ENOMEM;
	for (i = 0; i < o->n; i++)
		order[i] = &o->m[i];
	if (d->sorted)
		qsort(order, o->n, sizeof(*order), by_key);
	rc = pp_buf_add(d->b, "{", 1);
	if (!rc)
		rc = dump_members(d, order, o->n, depth);
	free(order);
	return rc ? rc : pp_buf_add(d->b, "}", 1);
}

/* The hot path's object: members in their order, no list made. */
static int dump_object_compact(const struct dump *d, const struct object *o, int depth)
{
	int rc = pp_buf_add(d->b, "{", 1);
	size_t i;

	for (i = 0; !rc && i < o->n; i++) {
		if (i)
			rc = pp_buf_add(d->b, ",", 1);
		if (!rc)
			rc = fast_string(key_of(&o->m[i]), o->m[i].len, d->b);
		if (!rc)
			rc = pp_buf_add(d->b, ":", 1);
		if (!rc)
			rc = dump_value(d, o->m[i].value, depth + 1);
	}
	return rc ? rc : pp_buf_add(d->b, "}", 1);
}

static int dump_array(const struct dump *d, const struct array *a, int depth)
{
	size_t i;
	int rc;

	if (!a->n)
		return pp_buf_add(d->b, "[]", 2);
	rc = pp_buf_add(d->b, "[", 1);
	if (!rc)
		rc = item_break(d, depth + 1, false);
	for (i = 0; !rc && i < a->n; i++) {
		rc = dump_value(d, a->v[i], depth + 1);
		if (!rc)
			rc = after_item(d, i, a->n, depth);
	}
	return rc ? rc : pp_buf_add(d->b, "]", 1);
}

static int dump_value(const struct dump *d, const struct pp_json *v, int depth)
{
	switch (v->type) {
	case PP_JSON_OBJECT:
		if (d->compact && !d->sorted && !d->checked)
			return dump_object_compact(d, OBJ(v), depth);
		return dump_object(d, OBJ(v), depth);
	case PP_JSON_ARRAY:
		return dump_array(d, ARR(v), depth);
	case PP_JSON_STRING:
		return dump_string(d, STR(v)->s, STR(v)->len);
	case PP_JSON_INTEGER:
		return fast_integer(((const struct integer *)v)->v, d->b);
	case PP_JSON_REAL:
		return fast_real(((const struct real *)v)->v, d->short_reals, d->b);
	case PP_JSON_TRUE:
		return pp_buf_adds(d->b, "true");
	case PP_JSON_FALSE:
		return pp_buf_adds(d->b, "false");
	case PP_JSON_NULL:
		return pp_buf_adds(d->b, "null");
	}
	return PP_EINVAL;
}

int pp_json_dump(const struct pp_json *v, int flags, struct pp_buf *b)
{
	struct dump d = {
		.b = b,
		.short_reals = flags & PP_JSON_SHORT_REALS,
		.sorted = flags & PP_JSON_SORT_KEYS,
		.indent = flags & PP_JSON_PRETTY ? 2 : 0,
		.compact = flags & PP_JSON_COMPACT,
	};
	size_t mark = b->len;
	int rc;

	if (!v)
		return pp_buf_adds(b, "null");
	d.checked = (flags & ~PP_JSON_SHORT_REALS) != PP_JSON_COMPACT;
	if ((rc = dump_value(&d, v, 0)) && b->buf) {   /* as jansson: nothing half-written */
		b->len = mark;
		b->buf[mark] = '\0';
	}
	return rc == PP_EINVAL ? PP_ENOMEM : rc;
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
