/*
 * sha256_hw.c - SHA-256 blocks with the x86 SHA extensions, when the
 * processor has them; elsewhere hash.c's portable code runs.
 *
 * Hashing each imported transcript for its source key made SHA-256 the
 * largest single cost of an import (about 150 MB/s in portable C); the
 * SHA instructions do the same rounds several times faster. The state
 * is kept as the instructions want it (ABEF and CDGH halves) across the
 * blocks and put back in order at the end. The results are checked
 * against the portable code on random states, messages and lengths in
 * tests/unit/test_alloc_hash.c, which turns this path off for its
 * calling thread (pp_sha256_hw_off) to get the portable answer.
 */
#include "core/sha256_hw.h"

/* Per thread, so a test comparing the two paths disturbs no other. */
static _Thread_local bool hw_off;

bool pp_sha256_hw_off(bool off)
{
	bool was = hw_off;

	hw_off = off;
	return was;
}

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)

#include <immintrin.h>

__attribute__((target("sha,sse4.1,ssse3")))
static void blocks(uint32_t h[8], const unsigned char *p, size_t n)
{
	/* Big-endian words: reverse the bytes of each 32-bit lane. */
	const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
	__m128i s0, s1, t, w[4], save0, save1, m;
	int i;

	t = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[0]), 0xB1);   /* CDAB */
	s1 = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[4]), 0x1B);  /* EFGH */
	s0 = _mm_alignr_epi8(t, s1, 8);                                          /* ABEF */
	s1 = _mm_blend_epi16(s1, t, 0xF0);                                       /* CDGH */
	for (; n; n--, p += 64) {
		save0 = s0;
		save1 = s1;
		for (i = 0; i < 4; i++)
			w[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * i)), bswap);
		for (i = 0; i < 16; i++) {
			/* Slot j holds the latest four message words whose group
			 * number is j modulo 4. */
			if (i >= 4) {
				t = _mm_sha256msg1_epu32(w[i & 3], w[(i + 1) & 3]);
				t = _mm_add_epi32(t, _mm_alignr_epi8(w[(i + 3) & 3], w[(i + 2) & 3], 4));
				w[i & 3] = _mm_sha256msg2_epu32(t, w[(i + 3) & 3]);
			}
			m = _mm_add_epi32(w[i & 3], _mm_loadu_si128((const __m128i *)&pp_sha256_k[4 * i]));
			s1 = _mm_sha256rnds2_epu32(s1, s0, m);
			s0 = _mm_sha256rnds2_epu32(s0, s1, _mm_shuffle_epi32(m, 0x0E));
		}
		s0 = _mm_add_epi32(s0, save0);
		s1 = _mm_add_epi32(s1, save1);
	}
	t = _mm_shuffle_epi32(s0, 0x1B);      /* FEBA */
	s1 = _mm_shuffle_epi32(s1, 0xB1);     /* DCHG */
	s0 = _mm_blend_epi16(t, s1, 0xF0);    /* DCBA */
	s1 = _mm_alignr_epi8(s1, t, 8);       /* HGFE */
	_mm_storeu_si128((__m128i *)&h[0], s0);
	_mm_storeu_si128((__m128i *)&h[4], s1);
}

bool pp_sha256_hw_available(void)
{
	return __builtin_cpu_supports("sha") && __builtin_cpu_supports("sse4.1") &&
	       __builtin_cpu_supports("ssse3");
}

bool pp_sha256_hw_blocks(uint32_t h[8], const unsigned char *p, size_t n)
{
	if (hw_off || !pp_sha256_hw_available())
		return false;
	blocks(h, p, n);
	return true;
}

#else

bool pp_sha256_hw_available(void)
{
	return false;
}

bool pp_sha256_hw_blocks(uint32_t h[8], const unsigned char *p, size_t n)
{
	(void)h;
	(void)p;
	(void)n;
	return false;
}

#endif
