/*
 * Unit tests of the two fast paths an import leans on, in the optimised
 * build where they are on: the per-thread small-block cache of
 * src/core/alloc.c (off under AddressSanitizer, so only test-unit of
 * build/rel exercises it; over mimalloc it is off by default, so these
 * tests turn it on) and the SHA instructions of
 * src/core/sha256_hw.c, compared with the portable code; and the
 * growable array every module uses (pp_grow).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <peerpres/hash.h>
#include <peerpres/json.h>
#include <peerpres/status.h>
#include "core/alloc.h"
#include "core/sha256_hw.h"
#include "../harness/test.h"

#if defined(__SANITIZE_ADDRESS__)
#define CACHE_ON 0
#else
#define CACHE_ON 1
#endif

/* Fills a block with a pattern derived from its size and a tag. */
static void fill(unsigned char *p, size_t n, unsigned tag)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (unsigned char)(tag * 31 + i * 7 + n);
}

static int intact(const unsigned char *p, size_t n, unsigned tag)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != (unsigned char)(tag * 31 + i * 7 + n))
			return 0;
	return 1;
}

TEST(alloc_small_blocks_are_reused_and_never_overlap)
{
	enum { N = 600 };
	unsigned char *live[N];
	size_t size[N], i;
	void *a, *b;

	pp_alloc_small_force(1);
	/* A freed block comes back for a request of its class. */
	a = pp_malloc_small(40);
	CHECK(a != NULL);
	pp_free_small(a);
	b = pp_malloc_small(33);
	CHECK(b != NULL);
	if (CACHE_ON)
		CHECK(a == b);
	pp_free_small(b);
	/* Sizes 0..299 twice over, freed and taken again in a shuffled
	 * order: every live block keeps its own bytes. */
	for (i = 0; i < N; i++) {
		size[i] = i % 300;
		CHECK((live[i] = pp_malloc_small(size[i])) != NULL);
		fill(live[i], size[i], (unsigned)i);
	}
	for (i = 0; i < N; i += 3) {
		pp_free_small(live[i]);
		size[i] = (i * 13) % 257;
		CHECK((live[i] = pp_malloc_small(size[i])) != NULL);
		fill(live[i], size[i], (unsigned)i + 1000);
	}
	for (i = 0; i < N; i++) {
		CHECK(intact(live[i], size[i], i % 3 ? (unsigned)i : (unsigned)i + 1000));
		pp_free_small(live[i]);
	}
	pp_alloc_small_force(-1);
}

TEST(alloc_small_blocks_mix_with_realloc_and_free)
{
	unsigned char *p, *q;

	pp_alloc_small_force(1);
	/* A small block grown and shrunk by realloc, then kept by the cache;
	 * a plain malloc block kept too; a cached one given to free(). */
	CHECK((p = pp_malloc_small(24)) != NULL);
	fill(p, 24, 1);
	CHECK((q = pp_realloc(p, 1000)) != NULL);
	CHECK(intact(q, 24, 1));
	CHECK((p = pp_realloc(q, 100)) != NULL);
	CHECK(intact(p, 24, 1));
	pp_free_small(p);
	CHECK((p = pp_malloc(70)) != NULL);
	pp_free_small(p);
	CHECK((p = pp_malloc_small(70)) != NULL);
	fill(p, 70, 2);
	CHECK(intact(p, 70, 2));
	free(p);
	/* Past the largest class: an ordinary block. */
	CHECK((p = pp_malloc_small(5000)) != NULL);
	fill(p, 5000, 3);
	CHECK(intact(p, 5000, 3));
	pp_free_small(p);
	pp_alloc_small_force(-1);
}

TEST(alloc_small_blocks_fail_on_request_even_when_cached)
{
	void *p;

	pp_alloc_small_force(1);
	p = pp_malloc_small(48);
	CHECK(p != NULL);
	pp_free_small(p);
	pp_alloc_fail_after(1);
	CHECK(pp_malloc_small(48) == NULL);
	pp_alloc_fail_after(0);
	CHECK((p = pp_malloc_small(48)) != NULL);
	pp_free_small(p);
	pp_alloc_small_force(-1);
}

/*
 * Threads hand blocks to each other: each makes blocks, checks and frees
 * the blocks its neighbour made (so every free is by another thread than
 * the maker, into the freeing thread's cache), and allocates again from
 * what it was given back. Then the threads exit, releasing their caches.
 */
#define T_THREADS 4
#define T_ROUNDS 200
#define T_BLOCKS 64

struct mailbox {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned char *blocks[T_BLOCKS];
	size_t sizes[T_BLOCKS];
	unsigned tag;
	int full;
};

struct t_arg {
	struct mailbox *out, *in;
	unsigned id;
	int bad;
};

static void post(struct mailbox *m, unsigned char **b, const size_t *sz, unsigned tag)
{
	pthread_mutex_lock(&m->mu);
	while (m->full)
		pthread_cond_wait(&m->cv, &m->mu);
	memcpy(m->blocks, b, sizeof(m->blocks));
	memcpy(m->sizes, sz, sizeof(m->sizes));
	m->tag = tag;
	m->full = 1;
	pthread_cond_broadcast(&m->cv);
	pthread_mutex_unlock(&m->mu);
}

static void collect(struct mailbox *m, unsigned char **b, size_t *sz, unsigned *tag)
{
	pthread_mutex_lock(&m->mu);
	while (!m->full)
		pthread_cond_wait(&m->cv, &m->mu);
	memcpy(b, m->blocks, sizeof(m->blocks));
	memcpy(sz, m->sizes, sizeof(m->sizes));
	*tag = m->tag;
	m->full = 0;
	pthread_cond_broadcast(&m->cv);
	pthread_mutex_unlock(&m->mu);
}

static void *trader(void *arg)
{
	struct t_arg *a = arg;
	unsigned char *mine[T_BLOCKS], *theirs[T_BLOCKS];
	size_t msz[T_BLOCKS], tsz[T_BLOCKS];
	unsigned r, i, tag;

	for (r = 0; r < T_ROUNDS; r++) {
		for (i = 0; i < T_BLOCKS; i++) {
			msz[i] = (r * 17 + i * 5 + a->id) % 270;
			mine[i] = pp_malloc_small(msz[i]);
			if (!mine[i]) {
				a->bad++;
				msz[i] = 0;
				continue;
			}
			fill(mine[i], msz[i], a->id * 100000 + r);
		}
		post(a->out, mine, msz, a->id * 100000 + r);
		collect(a->in, theirs, tsz, &tag);
		for (i = 0; i < T_BLOCKS; i++) {
			if (theirs[i] && !intact(theirs[i], tsz[i], tag))
				a->bad++;
			pp_free_small(theirs[i]);
		}
	}
	return NULL;
}

TEST(alloc_small_blocks_freed_by_other_threads)
{
	struct mailbox box[T_THREADS];
	struct t_arg args[T_THREADS];
	pthread_t th[T_THREADS];
	int i, started = 0, bad = 0;

	pp_alloc_small_force(1);
	memset(box, 0, sizeof(box));
	for (i = 0; i < T_THREADS; i++) {
		pthread_mutex_init(&box[i].mu, NULL);
		pthread_cond_init(&box[i].cv, NULL);
	}
	/* Thread i posts to box i and collects from box i-1: a ring. */
	for (i = 0; i < T_THREADS; i++) {
		args[i].out = &box[i];
		args[i].in = &box[(i + T_THREADS - 1) % T_THREADS];
		args[i].id = (unsigned)i;
		args[i].bad = 0;
	}
	for (i = 0; i < T_THREADS; i++)
		if (!pthread_create(&th[i], NULL, trader, &args[i]))
			started++;
	CHECK_INT_EQ(started, T_THREADS);
	for (i = 0; i < started; i++) {
		pthread_join(th[i], NULL);
		bad += args[i].bad;
	}
	CHECK_INT_EQ(bad, 0);
	for (i = 0; i < T_THREADS; i++) {
		pthread_mutex_destroy(&box[i].mu);
		pthread_cond_destroy(&box[i].cv);
	}
	pp_alloc_small_force(-1);
}

/* JSON values (which use the cache) made in one thread, freed in another. */
static void *json_maker(void *arg)
{
	struct pp_json **out = arg;
	int i;

	*out = pp_json_array();
	for (i = 0; *out && i < 2000; i++)
		if (pp_json_append(*out, pp_json_string("a string of a few dozen bytes, cached")))
			break;
	return NULL;
}

TEST(alloc_json_made_in_one_thread_freed_in_another)
{
	struct pp_json *v = NULL;
	pthread_t th;

	pp_alloc_small_force(1);
	CHECK_INT_EQ(pthread_create(&th, NULL, json_maker, &v), 0);
	pthread_join(th, NULL);
	CHECK(v != NULL);
	CHECK_INT_EQ((int)pp_json_len(v), 2000);
	CHECK_STR_EQ(pp_json_str(pp_json_at(v, 1999)), "a string of a few dozen bytes, cached");
	pp_json_decref(v);
	pp_alloc_small_force(-1);
}

/* ---- SHA-256: the SHA instructions against the portable code ---- */

static uint64_t next(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* The digest of data, fed in pieces of random lengths, by either path. */
static void digest(const unsigned char *data, size_t len, bool portable, uint64_t *rng,
		   unsigned char d[32])
{
	struct pp_sha256 c;
	bool was = pp_sha256_hw_off(portable);
	size_t at = 0;

	pp_sha256_init(&c);
	while (at < len) {
		size_t take = (size_t)(next(rng) % 200);

		if (take > len - at)
			take = len - at;
		pp_sha256_update(&c, data + at, take);
		at += take;
	}
	pp_sha256_final(&c, d);
	pp_sha256_hw_off(was);
}

/* pp_grow: the array keeps its items as it doubles; a failure, whether
 * the allocation's or a size that overflows, leaves the array and its
 * capacity as they were, still the caller's. */
TEST(alloc_grow_keeps_the_items_and_fails_without_losing_them)
{
	size_t cap = 0, n, i;
	int *v = NULL, *more;

	for (n = 0; n < 100; n++) {
		more = pp_grow(v, &cap, n, 1, sizeof(*v));
		CHECK(more != NULL);
		v = more;
		v[n] = (int)n * 7;
	}
	CHECK_INT_EQ((long long)cap, 128);   /* 16, 32, 64, 128 */
	CHECK(pp_grow(v, &cap, n, 28, sizeof(*v)) == v);
	CHECK(pp_grow(v, &cap, n, SIZE_MAX, sizeof(*v)) == NULL);
	CHECK(pp_grow(v, &cap, SIZE_MAX / 2, SIZE_MAX / 4, sizeof(*v)) == NULL);
	pp_alloc_fail_after(1);
	CHECK(pp_grow(v, &cap, n, 29, sizeof(*v)) == NULL);
	pp_alloc_fail_after(0);
	CHECK_INT_EQ((long long)cap, 128);
	for (i = 0; i < n; i++)
		CHECK_INT_EQ(v[i], (int)i * 7);
	CHECK((more = pp_grow(v, &cap, n, 29, sizeof(*v))) != NULL);
	CHECK_INT_EQ((long long)cap, 256);
	free(more);
}

TEST(sha256_hardware_equals_portable_on_random_inputs)
{
	unsigned char data[2200], a[32], b[32];
	uint64_t rng = 12345, r1, r2;
	size_t len, i;
	int differ = 0;

	if (!pp_sha256_hw_available())
		SKIP("this processor has no SHA instructions: only the portable code runs");
	/* Every length 0..2199 (all paddings, 0 to 34 blocks), random bytes,
	 * random pieces. */
	for (len = 0; len < sizeof(data); len++) {
		for (i = 0; i < len; i++)
			data[i] = (unsigned char)next(&rng);
		r1 = r2 = next(&rng);
		digest(data, len, false, &r1, a);
		digest(data, len, true, &r2, b);
		differ += memcmp(a, b, 32) != 0;
	}
	CHECK_INT_EQ(differ, 0);
}

TEST(sha256_hardware_blocks_equal_portable_from_random_states)
{
	unsigned char block[64 * 5];
	uint32_t h0[8], hw[8];
	uint64_t rng = 777;
	struct pp_sha256 c;
	size_t n;
	int round, i, differ = 0;

	if (!pp_sha256_hw_available())
		SKIP("this processor has no SHA instructions: only the portable code runs");
	/* The compression function alone, from arbitrary chaining values
	 * (not only the standard start), over 1 to 5 blocks; the portable
	 * answer comes through a context whose state is set by hand. */
	for (round = 0; round < 500; round++) {
		n = 1 + (size_t)(next(&rng) % 5);
		for (i = 0; i < 8; i++)
			h0[i] = (uint32_t)next(&rng);
		for (i = 0; i < (int)(64 * n); i++)
			block[i] = (unsigned char)next(&rng);
		memcpy(hw, h0, sizeof(hw));
		CHECK(pp_sha256_hw_blocks(hw, block, n));
		pp_sha256_init(&c);
		memcpy(c.h, h0, sizeof(h0));
		pp_sha256_hw_off(true);
		pp_sha256_update(&c, block, 64 * n);
		pp_sha256_hw_off(false);
		differ += memcmp(c.h, hw, sizeof(hw)) != 0;
	}
	CHECK_INT_EQ(differ, 0);
	/* Turned off, the hardware path declines and leaves h alone. */
	pp_sha256_hw_off(true);
	memcpy(hw, h0, sizeof(hw));
	CHECK(!pp_sha256_hw_blocks(hw, block, 1));
	CHECK(!memcmp(hw, h0, sizeof(hw)));
	pp_sha256_hw_off(false);
}
