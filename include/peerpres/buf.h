/*
 * buf.h - a growable byte buffer.
 *
 * Invariants (after git's strbuf): buf is never NULL and is always
 * NUL-terminated, so it can be printed at any time; len excludes the NUL.
 * Every buffer has a maximum size (after curl's dynbuf): growing past it
 * fails with PP_ERANGE and leaves the content unchanged. A buffer that was
 * initialised but never grown owns no memory.
 */
#ifndef PEERPRES_BUF_H
#define PEERPRES_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct pp_buf {
	char *buf;
	size_t len;
	size_t alloc; /* 0: buf points at a shared empty string */
	size_t max;   /* largest len allowed */
};

/* Default cap: generous for transcripts, finite for runaway input. */
#define PP_BUF_MAX_DEFAULT ((size_t)256 * 1024 * 1024)

extern char pp_buf_empty[];
#define PP_BUF_INIT { pp_buf_empty, 0, 0, PP_BUF_MAX_DEFAULT }

void pp_buf_init(struct pp_buf *b, size_t max);
/* Frees the memory and re-initialises b (keeping its max). */
void pp_buf_release(struct pp_buf *b);
/* Hands the string to the caller (who frees it with free()); b is reset.
 * Never returns NULL unless memory is exhausted. */
char *pp_buf_detach(struct pp_buf *b, size_t *len);
void pp_buf_reset(struct pp_buf *b);
int pp_buf_grow(struct pp_buf *b, size_t extra);
int pp_buf_add(struct pp_buf *b, const void *data, size_t len);
int pp_buf_adds(struct pp_buf *b, const char *s);
int pp_buf_addc(struct pp_buf *b, char c);
int pp_buf_addf(struct pp_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int pp_buf_vaddf(struct pp_buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* Reads a whole file into b (appending). */
int pp_buf_read_file(struct pp_buf *b, const char *path);

#endif
