/*
 * hash.h - SHA-256 for identities and content hashes, and a seeded RNG.
 *
 * Config ids, scenario hashes and prompt hashes are SHA-256 hex digests of
 * canonical text, so they are stable across machines and versions.
 * The RNG is xoshiro256** seeded through splitmix64: fast, deterministic
 * for a given seed, and good enough for sampling the synthetic population.
 */
#ifndef PEERPRES_HASH_H
#define PEERPRES_HASH_H

#include <stddef.h>
#include <stdint.h>

struct pp_sha256 {
	uint32_t h[8];
	uint64_t n_bytes;
	unsigned char block[64];
	size_t used;
};

void pp_sha256_init(struct pp_sha256 *c);
void pp_sha256_update(struct pp_sha256 *c, const void *data, size_t len);
void pp_sha256_final(struct pp_sha256 *c, unsigned char digest[32]);
/* pp_sha256_final, the digest written as 64 lower-case hex digits and a
 * NUL. A copy of a context taken before final hashes on from there: a
 * common head is hashed once for several tails. */
void pp_sha256_final_hex(struct pp_sha256 *c, char hex[65]);
/* Writes the 64-character lower-case hex digest of data, NUL-terminated. */
void pp_sha256_hex(const void *data, size_t len, char hex[65]);

struct pp_rng {
	uint64_t s[4];
};

void pp_rng_seed(struct pp_rng *r, uint64_t seed);
uint64_t pp_rng_next(struct pp_rng *r);
/* Uniform in [0, 1). */
double pp_rng_uniform(struct pp_rng *r);
/* Uniform in [0, n); n > 0. */
uint64_t pp_rng_below(struct pp_rng *r, uint64_t n);
/* A 64-bit seed from text (first 8 bytes of its SHA-256). */
uint64_t pp_seed_from_text(const char *s);

#endif
