/*
 * runner.c - registry and main() of the unit test binary (see test.h).
 */
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"

#define MAX_TESTS 2048

static struct { const char *name; pp_test_fn fn; } tests[MAX_TESTS];
static int n_tests;
static int failed, skipped;
static char tmpdir[256];

void pp_test_register(const char *name, pp_test_fn fn)
{
	if (n_tests < MAX_TESTS) {
		tests[n_tests].name = name;
		tests[n_tests++].fn = fn;
	}
}

void pp_test_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	failed = 1;
	fprintf(stdout, "    %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
}

void pp_test_skip(const char *why)
{
	skipped = 1;
	fprintf(stdout, "    skipped: %s\n", why);
}

const char *pp_test_data_dir(void)
{
	const char *d = getenv("PP_TEST_DATA");

	return d ? d : "tests/data";
}

const char *pp_test_shared_dir(void)
{
	const char *d = getenv("PP_SHARED_DIR");

	return d ? d : "../shared";
}

const char *pp_test_tmpdir(void)
{
	if (!tmpdir[0]) {
		snprintf(tmpdir, sizeof(tmpdir), "/tmp/pp-test-XXXXXX");
		if (!mkdtemp(tmpdir))
			tmpdir[0] = '\0';
	}
	return tmpdir;
}

static void remove_tmpdir(void)
{
	char cmd[300];

	if (!tmpdir[0])
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "warning: could not remove %s\n", tmpdir);
	tmpdir[0] = '\0';
}

static int selected(const char *name, int argc, char **argv)
{
	int i;

	if (argc < 2)
		return 1;
	for (i = 1; i < argc; i++)
		if (strstr(name, argv[i]))
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	int i, n_pass = 0, n_fail = 0, n_skip = 0;

	for (i = 0; i < n_tests; i++) {
		if (!selected(tests[i].name, argc, argv))
			continue;
		failed = skipped = 0;
		tests[i].fn();
		remove_tmpdir();
		if (failed) {
			n_fail++;
			printf("FAIL %s\n", tests[i].name);
		} else if (skipped) {
			n_skip++;
			printf("skip %s\n", tests[i].name);
		} else {
			n_pass++;
			printf("ok   %s\n", tests[i].name);
		}
	}
	printf("%d passed, %d failed, %d skipped\n", n_pass, n_fail, n_skip);
	return n_fail ? 1 : 0;
}
