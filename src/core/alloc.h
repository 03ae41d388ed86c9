/*
 * alloc.h - the library's allocator, with fault injection for tests.
 *
 * All library allocations go through these, so a test can make the Nth
 * allocation fail (pp_alloc_fail_after) and check that every path returns
 * PP_ENOMEM cleanly without leaking (as SQLite's and curl's torture tests).
 */
#ifndef PP_CORE_ALLOC_H
#define PP_CORE_ALLOC_H

#include <stddef.h>

void *pp_malloc(size_t n);
void *pp_calloc(size_t n, size_t size);
void *pp_realloc(void *p, size_t n);
/* Returns a new copy of s (NULL stays NULL only if s is NULL). */
char *pp_strdup(const char *s);
char *pp_strndup(const char *s, size_t n);

/* An array v of *cap items of `item` bytes, n of them used, with room
 * for `more` after them: v itself when it has the room, else v moved to
 * a block of twice the capacity or more (at least 16 items), *cap
 * updated. NULL when out of memory or the size overflows: v and *cap
 * are unchanged and v is still the caller's to free. */
void *pp_grow(void *v, size_t *cap, size_t n, size_t more, size_t item);

/* For many small, short-lived blocks (the JSON tree): pp_malloc, but a
 * block freed with pp_free_small is kept by the freeing thread and given
 * out again rather than returned to the C library at once. Any block may
 * still be freed with free(), and any malloc block with pp_free_small.
 * Counted for fault injection as pp_malloc. */
void *pp_malloc_small(size_t n);
void pp_free_small(void *p);
/* Tests: 1 turns the small-block cache on, 0 off, -1 back to the default
 * (off over mimalloc, on over other mallocs; always off under
 * AddressSanitizer). Set it while no other thread allocates. */
void pp_alloc_small_force(int on);

/* Make allocation number n (counting from 1 after this call) and every one
 * after it fail; n = 0 turns fault injection off. Returns how many
 * allocations were made since the previous call. Counted per thread:
 * only the calling thread's allocations count and fail. */
unsigned long pp_alloc_fail_after(unsigned long n);

#endif
