/*
 * json.h - the JSON tree used everywhere in peerpres.
 *
 * The values are peerpres's own (src/core/json.c; jansson reads only
 * what the fast reader leaves to it, for its error messages). Values are
 * reference counted. "Borrowed" results stay valid
 * as long as their container holds them; "new" results must be released
 * with pp_json_decref(). Setters "steal" the value passed in: the caller
 * gives up its reference, even on failure. Objects keep insertion order.
 * Not thread-safe for a shared value; separate values may be used from
 * separate threads.
 */
#ifndef PEERPRES_JSON_H
#define PEERPRES_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include <peerpres/buf.h>

struct pp_json;

enum pp_json_type {
	PP_JSON_OBJECT, PP_JSON_ARRAY, PP_JSON_STRING, PP_JSON_INTEGER,
	PP_JSON_REAL, PP_JSON_TRUE, PP_JSON_FALSE, PP_JSON_NULL
};

/* Parsing. On failure returns PP_EPARSE and writes "line L, column C: why"
 * into err (if errlen > 0). *out is a new value on success. */
int pp_json_parse(const char *text, size_t len, struct pp_json **out,
		  char *err, size_t errlen);
int pp_json_load_file(const char *path, struct pp_json **out, char *err,
		      size_t errlen);

/* Dumping. Appends to b. */
#define PP_JSON_COMPACT   0x1
#define PP_JSON_SORT_KEYS 0x2
#define PP_JSON_PRETTY    0x4
/* Reals in the fewest digits that read back as the same double (79.15,
 * not %.17g's 79.150000000000006): for what people read and the store
 * keeps, never for what is hashed or sent (ids, cache keys and requests
 * keep %.17g, so stored ids and cached answers stay valid). */
#define PP_JSON_SHORT_REALS 0x8
int pp_json_dump(const struct pp_json *v, int flags, struct pp_buf *b);
/* Returns a new compact, key-sorted string (canonical form for hashing),
 * or NULL on allocation failure. Caller frees. */
char *pp_json_canonical(const struct pp_json *v);
/* The SHA-256 hex digest of pp_json_canonical(v), computed without
 * writing the text out. PP_OK, or PP_ENOMEM when pp_json_canonical would
 * fail (no memory, a string that is not UTF-8). */
int pp_json_canonical_sha256(const struct pp_json *v, char hex[65]);
/* Feeds the text of pp_json_canonical(v) to the SHA-256 context c
 * (hash.h), without writing the text out: the hash of a text made of
 * several canonical values and punctuation. PP_OK, or PP_ENOMEM as
 * pp_json_canonical_sha256 (c is then as it was). */
struct pp_sha256;
int pp_json_canonical_sha256_update(struct pp_sha256 *c, const struct pp_json *v);

/* Types. A NULL value has type PP_JSON_NULL for these queries. */
enum pp_json_type pp_json_type(const struct pp_json *v);
bool pp_json_is_object(const struct pp_json *v);
bool pp_json_is_array(const struct pp_json *v);
bool pp_json_is_string(const struct pp_json *v);
bool pp_json_is_number(const struct pp_json *v);
bool pp_json_is_bool(const struct pp_json *v);
bool pp_json_is_null(const struct pp_json *v);   /* also true for NULL */
bool pp_json_is_true(const struct pp_json *v);

/* Access (all borrowed; NULL when absent or of another type). */
struct pp_json *pp_json_get(const struct pp_json *obj, const char *key);
struct pp_json *pp_json_at(const struct pp_json *arr, size_t i);
size_t pp_json_len(const struct pp_json *v);     /* array, object, string */
const char *pp_json_str(const struct pp_json *v);
/* String member of obj, or def when absent or not a string. */
const char *pp_json_get_str(const struct pp_json *obj, const char *key,
			    const char *def);
/* Numbers: integer or real. Returns false when v is not a number. */
bool pp_json_num(const struct pp_json *v, double *out);
bool pp_json_int(const struct pp_json *v, long long *out);

/* Object iteration in insertion order:
 *   for (it = pp_json_iter(o); it; it = pp_json_iter_next(o, it))
 *       key = pp_json_iter_key(it), val = pp_json_iter_value(it);
 * An iterator, and the key it gives, last until the object gains or
 * loses a member (a short key lives in the object's array of members). */
void *pp_json_iter(const struct pp_json *obj);
void *pp_json_iter_next(const struct pp_json *obj, void *it);
const char *pp_json_iter_key(void *it);
struct pp_json *pp_json_iter_value(void *it);
/* Replaces the value at it (steals v; NULL v is PP_ENOMEM); safe while
 * iterating, unlike pp_json_set. */
int pp_json_iter_set(struct pp_json *obj, void *it, struct pp_json *v);

/* Construction (new values; NULL on allocation failure). */
struct pp_json *pp_json_object(void);
struct pp_json *pp_json_array(void);
struct pp_json *pp_json_string(const char *s);
struct pp_json *pp_json_stringn(const char *s, size_t len);
struct pp_json *pp_json_integer(long long v);
struct pp_json *pp_json_real(double v);
struct pp_json *pp_json_bool(bool v);
struct pp_json *pp_json_null(void);
/* A string, or null when s is NULL. */
struct pp_json *pp_json_str_or_null(const char *s);

/* Mutation: steal val. Return PP_OK or PP_ENOMEM / PP_EINVAL. */
int pp_json_set(struct pp_json *obj, const char *key, struct pp_json *val);
int pp_json_append(struct pp_json *arr, struct pp_json *val);
int pp_json_insert(struct pp_json *arr, size_t i, struct pp_json *val);
int pp_json_remove(struct pp_json *arr_or_obj, size_t i_or_0, const char *key);
int pp_json_set_str(struct pp_json *obj, const char *key, const char *s);

struct pp_json *pp_json_incref(struct pp_json *v);
void pp_json_decref(struct pp_json *v);          /* NULL-safe */
/* A new container holding the same values (each one more reference). */
struct pp_json *pp_json_copy(const struct pp_json *v);
struct pp_json *pp_json_deep_copy(const struct pp_json *v);
/* A new object with those of the n keys obj has, their values shared
 * (one more reference each, as pp_json_copy); NULL without memory. */
struct pp_json *pp_json_pick(const struct pp_json *obj, const char *const *keys, size_t n);
bool pp_json_equal(const struct pp_json *a, const struct pp_json *b);

#endif
