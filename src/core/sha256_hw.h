/*
 * sha256_hw.h - SHA-256 blocks in hardware where the processor can
 * (sha256_hw.c), for hash.c.
 */
#ifndef PP_SHA256_HW_H
#define PP_SHA256_HW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* SHA-256's round constants (FIPS 180-4), defined in hash.c and read by
 * both the portable and the hardware code. */
extern const uint32_t pp_sha256_k[64];

/* Runs the compression function over n 64-byte blocks at p, updating
 * h, and returns true; returns false, touching nothing, when this
 * processor (or build) has no SHA instructions. */
bool pp_sha256_hw_blocks(uint32_t h[8], const unsigned char *p, size_t n);

/* Whether this processor and build have the SHA instructions. */
bool pp_sha256_hw_available(void);

/* For tests: off = true makes pp_sha256_hw_blocks decline in the calling
 * thread only, so hash.c's portable code runs; returns the previous
 * setting. */
bool pp_sha256_hw_off(bool off);

#endif
