/* Unit tests of src/core: buffers, JSON, YAML, hashes, RNG. */
#include <math.h>
#include <stdlib.h>

#include <jansson.h>

#include <peerpres/buf.h>
#include <peerpres/hash.h>
#include <peerpres/json.h>
#include <peerpres/status.h>
#include <peerpres/yaml.h>
#include "core/alloc.h"
#include "core/json_fast.h"
#include "../harness/test.h"

TEST(buf_appends_and_stays_terminated)
{
	struct pp_buf b = PP_BUF_INIT;

	CHECK_STR_EQ(b.buf, "");
	CHECK_INT_EQ(pp_buf_adds(&b, "abc"), PP_OK);
	CHECK_INT_EQ(pp_buf_addf(&b, "-%d", 42), PP_OK);
	CHECK_STR_EQ(b.buf, "abc-42");
	CHECK_INT_EQ(b.len, 6);
	pp_buf_release(&b);
	CHECK_STR_EQ(b.buf, "");
}

/* Where an import says a row's UTF-8 broke: the first bad byte, as the
 * JSON parsers judge it. */
TEST(utf8_invalid_at_finds_the_first_bad_byte)
{
	CHECK_INT_EQ(pp_utf8_invalid_at("caf\xc3\xa9", 5), 5);
	CHECK_INT_EQ(pp_utf8_invalid_at("caf\xe9!", 5), 3);
	CHECK_INT_EQ(pp_utf8_invalid_at("a\xc0\x80", 3), 1);       /* overlong */
	CHECK_INT_EQ(pp_utf8_invalid_at("ab\xed\xa0\x80", 5), 2);  /* a surrogate */
	CHECK_INT_EQ(pp_utf8_invalid_at("\xe2\x82", 2), 0);        /* cut short */
	CHECK_INT_EQ(pp_utf8_invalid_at("", 0), 0);
}

/* addf writes into the room a reused buffer has, and still grows,
 * caps and keeps the text terminated when the room is short. */
TEST(buf_addf_uses_the_room_and_grows_past_it)
{
	struct pp_buf b = PP_BUF_INIT, capped;

	CHECK_INT_EQ(pp_buf_adds(&b, "0123456789"), PP_OK);
	pp_buf_reset(&b);
	CHECK_INT_EQ(pp_buf_addf(&b, "%s-%d", "ab", 7), PP_OK);   /* fits the room */
	CHECK_STR_EQ(b.buf, "ab-7");
	CHECK_INT_EQ(pp_buf_addf(&b, "%0200d", 5), PP_OK);        /* does not */
	CHECK_INT_EQ(b.len, 204);
	CHECK_STR_EQ(b.buf + 200, "0005");
	pp_buf_release(&b);
	pp_buf_init(&capped, 6);
	CHECK_INT_EQ(pp_buf_adds(&capped, "abcdef"), PP_OK);
	pp_buf_reset(&capped);
	CHECK_INT_EQ(pp_buf_addf(&capped, "%d", 1234), PP_OK);
	/* Fits the allocation (64 bytes) but not the cap: refused whole. */
	CHECK_INT_EQ(pp_buf_addf(&capped, "%d", 567), PP_ERANGE);
	CHECK_STR_EQ(capped.buf, "1234");
	pp_buf_release(&capped);
}

TEST(buf_refuses_to_grow_past_its_cap)
{
	struct pp_buf b;

	pp_buf_init(&b, 4);
	CHECK_INT_EQ(pp_buf_adds(&b, "abcd"), PP_OK);
	CHECK_INT_EQ(pp_buf_adds(&b, "e"), PP_ERANGE);
	CHECK_STR_EQ(b.buf, "abcd");
	pp_buf_release(&b);
}

TEST(buf_reports_allocation_failure)
{
	struct pp_buf b = PP_BUF_INIT;

	pp_alloc_fail_after(1);
	CHECK_INT_EQ(pp_buf_adds(&b, "abc"), PP_ENOMEM);
	pp_alloc_fail_after(0);
	CHECK_STR_EQ(b.buf, "");
	pp_buf_release(&b);
}

TEST(sha256_matches_known_vectors)
{
	char hex[65];

	pp_sha256_hex("abc", 3, hex);
	CHECK_STR_EQ(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	pp_sha256_hex("", 0, hex);
	CHECK_STR_EQ(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	pp_sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, hex);
	CHECK_STR_EQ(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(rng_is_deterministic_and_uniform)
{
	struct pp_rng a, b;
	double sum = 0;
	int i;

	pp_rng_seed(&a, 7);
	pp_rng_seed(&b, 7);
	for (i = 0; i < 100; i++)
		CHECK(pp_rng_next(&a) == pp_rng_next(&b));
	for (i = 0; i < 100000; i++)
		sum += pp_rng_uniform(&a);
	CHECK_NEAR(sum / 100000, 0.5, 0.01);
}

TEST(json_round_trips_with_sorted_keys)
{
	struct pp_json *v;
	char err[128];
	char *s;

	const char *text = "{\"b\":1,\"a\":[true,null,\"x\"]}";

	CHECK_INT_EQ(pp_json_parse(text, strlen(text), &v, err, sizeof(err)), PP_OK);
	s = pp_json_canonical(v);
	CHECK_STR_EQ(s, "{\"a\":[true,null,\"x\"],\"b\":1}");
	free(s);
	pp_json_decref(v);
}

TEST(json_parse_error_names_line_and_column)
{
	struct pp_json *v;
	char err[128];

	CHECK_INT_EQ(pp_json_parse("{\n  \"a\": ,\n}", 12, &v, err, sizeof(err)),
		     PP_EPARSE);
	CHECK_CONTAINS(err, "line 2");
}

TEST(yaml_types_plain_scalars_and_keeps_quoted_strings)
{
	const char *y = "a: 1\nb: 2.5\nc: true\nd: '1'\ne: 2024-08-01\nf: ~\n"
			"g: 10.0.12.45\nh: [x, \"y\"]\n";
	struct pp_json *v;
	struct pp_diag d;
	long long i;
	double x;

	pp_diag_clear(&d);
	CHECK_INT_EQ(pp_yaml_load_string(y, strlen(y), "t.yaml", &v, NULL, &d), PP_OK);
	CHECK(pp_json_int(pp_json_get(v, "a"), &i) && i == 1);
	CHECK(pp_json_num(pp_json_get(v, "b"), &x) && x == 2.5);
	CHECK(pp_json_is_true(pp_json_get(v, "c")));
	CHECK_STR_EQ(pp_json_str(pp_json_get(v, "d")), "1");
	CHECK_STR_EQ(pp_json_str(pp_json_get(v, "e")), "2024-08-01");
	CHECK(pp_json_is_null(pp_json_get(v, "f")));
	CHECK_STR_EQ(pp_json_str(pp_json_get(v, "g")), "10.0.12.45");
	CHECK_STR_EQ(pp_json_str(pp_json_at(pp_json_get(v, "h"), 1)), "y");
	pp_json_decref(v);
}

TEST(yaml_records_positions_and_resolves_aliases)
{
	const char *y = "base: &b\n  k: v\nother:\n  - *b\n";
	struct pp_json *v, *item;
	struct pp_srcmap *m;
	struct pp_diag d;
	int line, col;

	pp_diag_clear(&d);
	CHECK_INT_EQ(pp_yaml_load_string(y, strlen(y), "t.yaml", &v, &m, &d), PP_OK);
	item = pp_json_at(pp_json_get(v, "other"), 0);
	CHECK_STR_EQ(pp_json_get_str(item, "k", NULL), "v");
	CHECK(pp_srcmap_find(m, pp_json_get(v, "other"), &line, &col));
	CHECK_INT_EQ(line, 4);
	pp_srcmap_free(m);
	pp_json_decref(v);
}

TEST(yaml_error_has_file_line_and_column)
{
	const char *y = "a: 1\nb: [1, 2\nc: 3\n";
	struct pp_json *v;
	struct pp_diag d;
	struct pp_buf b = PP_BUF_INIT;

	pp_diag_clear(&d);
	CHECK_INT_EQ(pp_yaml_load_string(y, strlen(y), "bad.yaml", &v, NULL, &d), PP_EPARSE);
	pp_diag_format(&d, &b);
	CHECK_CONTAINS(b.buf, "bad.yaml:");
	CHECK(d.line >= 2);
	pp_buf_release(&b);
}

TEST(yaml_rejects_duplicate_keys)
{
	const char *y = "a: 1\na: 2\n";
	struct pp_json *v;
	struct pp_diag d;

	pp_diag_clear(&d);
	CHECK_INT_EQ(pp_yaml_load_string(y, strlen(y), "dup.yaml", &v, NULL, &d), PP_EPARSE);
	CHECK_CONTAINS(d.msg, "duplicate key");
	CHECK_INT_EQ(d.line, 2);
}

/* jansson's dump of text with jansson's flags, or NULL. */
static char *jansson_dump(const char *text, size_t len, size_t flags)
{
	json_t *j = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	char *out = j ? json_dumps(j, flags | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17)) : NULL;

	json_decref(j);
	return out;
}

/* Every dump of ours (compact, sorted, indented, both) writes what
 * jansson's writes of the same text, byte for byte: the values were
 * jansson's once, and stored ids, cache keys and files depend on it. */
static void check_same_as_jansson(const char *text, size_t len)
{
	static const struct { int ours; size_t theirs; } modes[] = {
		{ PP_JSON_COMPACT, JSON_COMPACT },
		{ PP_JSON_COMPACT | PP_JSON_SORT_KEYS, JSON_COMPACT | JSON_SORT_KEYS },
		{ PP_JSON_PRETTY, JSON_INDENT(2) },
		{ PP_JSON_PRETTY | PP_JSON_SORT_KEYS, JSON_INDENT(2) | JSON_SORT_KEYS },
		{ 0, 0 },
	};
	struct pp_json *v = NULL;
	char err[128];
	size_t i;

	CHECK_INT_EQ(pp_json_parse(text, len, &v, err, sizeof(err)), PP_OK);
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		struct pp_buf ours = PP_BUF_INIT;
		char *theirs = jansson_dump(text, len, modes[i].theirs);

		CHECK(theirs != NULL);
		CHECK_INT_EQ(pp_json_dump(v, modes[i].ours, &ours), PP_OK);
		if (theirs)
			CHECK_STR_EQ(ours.buf, theirs);
		free(theirs);
		pp_buf_release(&ours);
	}
	pp_json_decref(v);
}

/* The text of the one-value JSON text `text` dumped with flags. */
static char *dumped(const char *text, int flags)
{
	struct pp_json *v = NULL;
	struct pp_buf b = PP_BUF_INIT;

	if (pp_json_parse(text, strlen(text), &v, NULL, 0) || pp_json_dump(v, flags, &b)) {
		pp_json_decref(v);
		pp_buf_release(&b);
		return NULL;
	}
	pp_json_decref(v);
	return pp_buf_detach(&b, NULL);
}

/* What people read and the store keeps writes a real in its fewest
 * digits that read back the same; ids and requests keep %.17g. */
TEST(json_short_reals_take_the_fewest_digits_that_read_back)
{
	static const struct { const char *in, *out; } cases[] = {
		{ "79.15", "79.15" }, { "0.30000000000000004", "0.30000000000000004" },
		{ "5.0", "5.0" }, { "-0.0", "-0.0" }, { "1e16", "1e16" }, { "1.5e-7", "1.5e-7" },
		{ "123456789012345.6", "123456789012345.6" }, { "2.5e-300", "2.5e-300" },
		{ "42", "42" },
	};
	static const int flags[] = {
		PP_JSON_COMPACT | PP_JSON_SHORT_REALS, PP_JSON_PRETTY | PP_JSON_SHORT_REALS,
		PP_JSON_COMPACT | PP_JSON_SORT_KEYS | PP_JSON_SHORT_REALS,
	};
	struct pp_rng rng;
	char *t, text[64];
	size_t i, k;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		for (k = 0; k < sizeof(flags) / sizeof(flags[0]); k++) {
			t = dumped(cases[i].in, flags[k]);
			CHECK_STR_EQ(t ? t : "(failed)", cases[i].out);
			free(t);
		}
	/* Without the flag: %.17g, as jansson. */
	t = dumped("79.15", PP_JSON_COMPACT);
	CHECK_STR_EQ(t ? t : "", "79.150000000000006");
	free(t);
	/* Every path rewrites numbers only, never a string's text. */
	for (k = 0; k < sizeof(flags) / sizeof(flags[0]); k++) {
		t = dumped("{\"b\":[79.15,\"at 79.150000000000006 -1.10\",3],\"a\":-1.1e-3}", flags[k]);
		CHECK(t && strstr(t, "79.15,") && strstr(t, "\"at 79.150000000000006 -1.10\"") &&
		      strstr(t, "-0.0011") && !strstr(t, "0.00110") && !strstr(t, "79.150000000000006,"));
		free(t);
	}
	/* Any double reads back as itself, in no more characters. */
	pp_rng_seed(&rng, 7);
	for (i = 0; i < 20000; i++) {
		uint64_t bits = pp_rng_next(&rng);
		double d, back;
		char *full;

		memcpy(&d, &bits, sizeof(d));
		if (!isfinite(d))
			continue;
		snprintf(text, sizeof(text), "%.17g", d);
		t = dumped(text, PP_JSON_COMPACT | PP_JSON_SHORT_REALS);
		full = dumped(text, PP_JSON_COMPACT);
		CHECK(t && full);
		if (!t || !full)
			break;
		back = strtod(t, NULL);
		CHECK(memcmp(&back, &d, sizeof(d)) == 0 || (back == 0 && d == 0));
		CHECK(strlen(t) <= strlen(full));
		free(t);
		free(full);
	}
}

/* Objects keep their members in insertion order, replace a key's value
 * where it stands, and find every key whether the object is small
 * (compared one by one) or large (through the hash index, rebuilt as it
 * grows and when a member goes). */
TEST(json_objects_keep_order_and_find_keys_small_and_large)
{
	struct pp_json *o = pp_json_object(), *back = pp_json_object();
	char key[48];
	void *it;
	long long v;
	size_t i, n = 1000;

	for (i = 0; i < n; i++) {
		snprintf(key, sizeof(key), i % 2 ? "k%zu" : "a much longer key, number %zu", i);
		CHECK_INT_EQ(pp_json_set(o, key, pp_json_integer((long long)i)), PP_OK);
		CHECK_INT_EQ(pp_json_len(o), i + 1);
		/* Every key so far is found, across each growth of the index. */
		if (i == 5 || i == 12 || i == 13 || i == 100 || i == n - 1) {
			size_t k;

			for (k = 0; k <= i; k++) {
				snprintf(key, sizeof(key), k % 2 ? "k%zu" : "a much longer key, number %zu", k);
				CHECK(pp_json_int(pp_json_get(o, key), &v) && v == (long long)k);
			}
		}
	}
	CHECK(pp_json_get(o, "k1000") == NULL);
	CHECK(pp_json_get(o, "") == NULL);
	/* Replacing keeps the place; a removed key is gone and the rest move up. */
	CHECK_INT_EQ(pp_json_set(o, "k501", pp_json_string("new")), PP_OK);
	CHECK_INT_EQ(pp_json_len(o), n);
	CHECK_INT_EQ(pp_json_remove(o, 0, "k3"), PP_OK);
	CHECK_INT_EQ(pp_json_remove(o, 0, "k3"), PP_ENOTFOUND);
	CHECK_INT_EQ(pp_json_len(o), n - 1);
	for (i = 0, it = pp_json_iter(o); it; it = pp_json_iter_next(o, it), i++) {
		size_t was = i < 3 ? i : i + 1;

		snprintf(key, sizeof(key), was % 2 ? "k%zu" : "a much longer key, number %zu", was);
		CHECK_STR_EQ(pp_json_iter_key(it), key);
		if (was == 501)
			CHECK_STR_EQ(pp_json_str(pp_json_iter_value(it)), "new");
		CHECK(pp_json_get(o, key) == pp_json_iter_value(it));
	}
	CHECK_INT_EQ(i, n - 1);
	/* Equal whatever the order: the same members set the other way round. */
	for (i = n; i-- > 0;) {
		snprintf(key, sizeof(key), i % 2 ? "k%zu" : "a much longer key, number %zu", i);
		if (i != 3)
			CHECK_INT_EQ(pp_json_set(back, key, pp_json_incref(pp_json_get(o, key))), PP_OK);
	}
	CHECK(pp_json_equal(o, back));
	CHECK_INT_EQ(pp_json_set(back, "k5", pp_json_integer(-1)), PP_OK);
	CHECK(!pp_json_equal(o, back));
	pp_json_decref(o);
	pp_json_decref(back);
}

TEST(json_pick_shares_the_keys_it_finds)
{
	static const char *const keys[] = { "b", "missing", "a" };
	static const char text[] = "{\"a\":[1,2],\"b\":{\"c\":true},\"d\":3}";
	struct pp_json *obj = NULL, *picked;
	char err[128];

	CHECK_INT_EQ(pp_json_parse(text, strlen(text), &obj, err, sizeof(err)), PP_OK);
	picked = pp_json_pick(obj, keys, 3);
	CHECK(picked != NULL);
	CHECK_INT_EQ(pp_json_len(picked), 2);
	CHECK(pp_json_get(picked, "a") == pp_json_get(obj, "a"));   /* shared, not copied */
	CHECK(pp_json_get(picked, "b") == pp_json_get(obj, "b"));
	CHECK(pp_json_get(picked, "d") == NULL);
	pp_json_decref(obj);
	CHECK_INT_EQ(pp_json_len(pp_json_get(picked, "a")), 2);   /* still held */
	pp_json_decref(picked);
	picked = pp_json_pick(NULL, keys, 3);
	CHECK(picked != NULL && pp_json_len(picked) == 0);
	pp_json_decref(picked);
}

TEST(json_dumps_match_jansson_byte_for_byte)
{
	static const char *const cases[] = {
		"{}", "[]", "\"\"", "null", "true", "false", "0", "-9223372036854775808",
		"[0.1,1e20,1e-05,3.0,-0.0,1.5e300,123456789012345678.0,2.5e-300,-1e+100]",
		"{\"a\":[1,{\"b\":null,\"c\":[[],{}]}],\"d\":\"x\"}",
		"{\"zeta\":1,\"alpha\":{\"b\":2,\"a\":[3,{\"y\":true,\"x\":false}]},\"ab\":\"a\",\"a\":0.5}",
		"{\"a_key_longer_than_sixteen_bytes\":1,\"a_key_longer_than_sixteen\":2,\"\":3}",
		"\"quote \\\" backslash \\\\ slash / tab \\t nl \\n cr \\r ff \\f bs \\b\"",
		"\"caf\\u00e9 \\u65e5\\u672c \\ud83d\\ude00 and \\u007f del\"",
		"\"nul \\u0000 inside\"",
	};
	char ctl[32 * 6 + 3], *p = ctl;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_same_as_jansson(cases[i], strlen(cases[i]));
	/* Every control character, escaped in the input. */
	*p++ = '"';
	for (i = 0; i < 32; i++)
		p += snprintf(p, 7, "\\u%04zx", i);
	*p++ = '"';
	*p = '\0';
	check_same_as_jansson(ctl, strlen(ctl));
	/* Escapes only, each six bytes out for one in: the output outgrows
	 * the room made for the string again and again. */
	{
		char dense[300 * 6 + 3], *q = dense;

		*q++ = '"';
		for (i = 0; i < 300; i++)
			q += snprintf(q, 7, "\\u%04zx", i % 3 ? (size_t)1 : (size_t)0x1f);
		*q++ = '"';
		*q = '\0';
		check_same_as_jansson(dense, strlen(dense));
	}
	/* Long strings go sixteen bytes at a time: a byte to escape, or a
	 * non-ASCII one, at every place within and across the blocks. */
	for (i = 0; i < 40; i++) {
		static const char *const odd[] = { "\\\"", "\\n", "\\u001f", "\\u00e9", "\\ud83d\\ude00",
						   "\\u00e9\\\"\\u00e9\\u0001" };
		size_t k;

		for (k = 0; k < sizeof(odd) / sizeof(odd[0]); k++) {
			char text[128];

			snprintf(text, sizeof(text), "[\"%.*s%s%.*s\",-%zu]", (int)i,
				 "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN", odd[k], (int)(40 - i),
				 "0123456789012345678901234567890123456789", i * 1000003);
			check_same_as_jansson(text, strlen(text));
		}
	}
}
