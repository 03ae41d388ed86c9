/* alloc.c - allocation wrappers with a fault-injection counter for tests. */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"

static unsigned long alloc_count;
static unsigned long fail_at; /* 0: never fail */

static int should_fail(void)
{
	alloc_count++;
	return fail_at && alloc_count >= fail_at;
}

unsigned long pp_alloc_fail_after(unsigned long n)
{
	unsigned long made = alloc_count;

	alloc_count = 0;
	fail_at = n;
	return made;
}

void *pp_malloc(size_t n)
{
	return should_fail() ? NULL : malloc(n ? n : 1);
}

void *pp_calloc(size_t n, size_t size)
{
	return should_fail() ? NULL : calloc(n ? n : 1, size ? size : 1);
}

void *pp_realloc(void *p, size_t n)
{
	return should_fail() ? NULL : realloc(p, n ? n : 1);
}

char *pp_strndup(const char *s, size_t n)
{
	char *d;

	if (!s)
		return NULL;
	d = pp_malloc(n + 1);
	if (!d)
		return NULL;
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

char *pp_strdup(const char *s)
{
	return s ? pp_strndup(s, strlen(s)) : NULL;
}
