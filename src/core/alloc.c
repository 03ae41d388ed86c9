/*
 * alloc.c - allocation wrappers with a fault-injection counter for tests,
 * and a per-thread cache of small blocks for the JSON tree.
 */
#include <malloc.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"

/* Per thread: threads (an import's workers) never share the counter,
 * and a test's fault injection stays in the test's thread. */
static _Thread_local unsigned long alloc_count;
static _Thread_local unsigned long fail_at; /* 0: never fail */

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

void *pp_grow(void *v, size_t *cap, size_t n, size_t more, size_t item)
{
	size_t ncap = *cap ? *cap : 16, want;
	void *p;

	if (more > SIZE_MAX - n)
		return NULL;
	want = n + more;
	if (want <= *cap && v)
		return v;
	while (ncap < want)
		ncap = ncap > SIZE_MAX / 2 ? want : ncap * 2;
	if (!item || ncap > SIZE_MAX / item)
		return NULL;
	if (!(p = pp_realloc(v, ncap * item)))
		return NULL;
	*cap = ncap;
	return p;
}

/* ---- small blocks ----
 *
 * An import builds and frees thousands of small JSON nodes per
 * transcript. glibc keeps only seven freed blocks of each size per thread
 * and sends the rest through its bins, at a cost that was a fifth of the
 * import's time. Freed blocks of up to SMALL_MAX bytes are kept here
 * instead, per thread and up to SMALL_KEEP of each 16-byte size class,
 * and handed out again. They stay ordinary malloc blocks: free() works on
 * any of them, and one freed by another thread than its maker is fine.
 * Off under AddressSanitizer, which must see every free to find misuse.
 */
#if defined(__SANITIZE_ADDRESS__)
#define SMALL_ON 0
#else
#define SMALL_ON 1
#endif
#define SMALL_STEP 16
#define SMALL_CLASSES 17        /* classes 1..16: up to 256 bytes */
#define SMALL_KEEP 2048

struct small_cache {
	void *head[SMALL_CLASSES];
	unsigned n[SMALL_CLASSES];
	bool registered;        /* released at thread exit */
};

static _Thread_local struct small_cache small;

/*
 * mimalloc, which the optimised build links ahead of libc, keeps small
 * blocks per thread itself and takes blocks freed by another thread
 * cheaply: over it this cache only added work (an import with its worker
 * threads used about 7% more CPU with it; a run at 1,000 in flight the
 * same), so it is on only over another malloc. The weak reference is
 * null unless mimalloc is linked in.
 */
extern void *mi_malloc(size_t n) __attribute__((weak));
static int small_forced = -1;

void pp_alloc_small_force(int on)
{
	small_forced = on;
}

static bool small_on(void)
{
	if (!SMALL_ON)
		return false;
	return small_forced >= 0 ? small_forced != 0 : !mi_malloc;
}

static pthread_key_t small_key;
static pthread_once_t small_once = PTHREAD_ONCE_INIT;
static bool small_key_ok;

static void small_release(void *arg)
{
	struct small_cache *c = arg;
	size_t i;

	for (i = 0; i < SMALL_CLASSES; i++)
		while (c->head[i]) {
			void *p = c->head[i];

			c->head[i] = *(void **)p;
			free(p);
		}
	memset(c->n, 0, sizeof(c->n));
	c->registered = false;
}

static void small_key_init(void)
{
	small_key_ok = !pthread_key_create(&small_key, small_release);
}

/* The calling thread's cache is released when it exits (the main
 * thread's lives as long as the process). */
static bool small_register(void)
{
	if (!small.registered) {
		pthread_once(&small_once, small_key_init);
		small.registered = small_key_ok && !pthread_setspecific(small_key, &small);
	}
	return small.registered;
}

void *pp_malloc_small(size_t n)
{
	size_t c = n ? (n + SMALL_STEP - 1) / SMALL_STEP : 1;
	void *p;

	if (c >= SMALL_CLASSES || !small_on())
		return pp_malloc(n);
	if (should_fail())
		return NULL;
	if ((p = small.head[c])) {
		small.head[c] = *(void **)p;
		small.n[c]--;
		return p;
	}
	/* The whole class, so that any block of it fits any request of it. */
	return malloc(c * SMALL_STEP);
}

void pp_free_small(void *p)
{
	size_t c;

	if (!p)
		return;
	/* malloc_usable_size() >= what was asked: a block of class c
	 * serves any request up to c * SMALL_STEP. */
	c = small_on() ? malloc_usable_size(p) / SMALL_STEP : SMALL_CLASSES;
	if (c >= SMALL_CLASSES || small.n[c] >= SMALL_KEEP || !small_register()) {
		free(p);
		return;
	}
	*(void **)p = small.head[c];
	small.head[c] = p;
	small.n[c]++;
}
