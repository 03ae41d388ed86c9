/*
 * test.h - the in-house unit test runner.
 *
 *   TEST(buf_grows) { ... CHECK_INT_EQ(b.len, 3); ... }
 *
 * Tests register themselves at load time; `test-unit [SUBSTRING...]` runs
 * those whose name contains one of the substrings (all by default). A
 * failed check prints file, line and both values, and ends that test.
 * The last line of output is "N passed, N failed, N skipped".
 */
#ifndef PP_TEST_H
#define PP_TEST_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

typedef void (*pp_test_fn)(void);

void pp_test_register(const char *name, pp_test_fn fn);
void pp_test_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void pp_test_skip(const char *why);
/* Directory of test data (tests/data) and of ../shared, for tests that
 * read files. */
const char *pp_test_data_dir(void);
const char *pp_test_shared_dir(void);
/* A fresh scratch directory for this test, removed afterwards. */
const char *pp_test_tmpdir(void);

#define TEST(name)                                                       \
	static void test_##name(void);                                   \
	__attribute__((constructor)) static void register_##name(void)   \
	{ pp_test_register(#name, test_##name); }                        \
	static void test_##name(void)

#define CHECK(cond) do {                                                 \
	if (!(cond)) { pp_test_fail(__FILE__, __LINE__, "%s", #cond); return; } \
} while (0)

#define CHECK_INT_EQ(a, b) do {                                          \
	long long a_ = (long long)(a), b_ = (long long)(b);              \
	if (a_ != b_) { pp_test_fail(__FILE__, __LINE__,                 \
		"%s == %s: %lld != %lld", #a, #b, a_, b_); return; }     \
} while (0)

#define CHECK_STR_EQ(a, b) do {                                          \
	const char *a_ = (a), *b_ = (b);                                 \
	if (!a_ || !b_ || strcmp(a_, b_)) { pp_test_fail(__FILE__, __LINE__, \
		"%s == %s: \"%s\" != \"%s\"", #a, #b, a_ ? a_ : "(null)",  \
		b_ ? b_ : "(null)"); return; }                           \
} while (0)

#define CHECK_CONTAINS(hay, needle) do {                                 \
	const char *h_ = (hay), *n_ = (needle);                          \
	if (!h_ || !strstr(h_, n_)) { pp_test_fail(__FILE__, __LINE__,   \
		"%s contains \"%s\": got \"%.400s\"", #hay, n_,          \
		h_ ? h_ : "(null)"); return; }                           \
} while (0)

#define CHECK_NEAR(a, b, eps) do {                                       \
	double a_ = (a), b_ = (b);                                       \
	if (!(a_ - b_ <= (eps) && b_ - a_ <= (eps))) {                    \
		pp_test_fail(__FILE__, __LINE__, "%s ~= %s: %.10g != %.10g", \
			     #a, #b, a_, b_); return; }                  \
} while (0)

#define SKIP(why) do { pp_test_skip(why); return; } while (0)

#endif
