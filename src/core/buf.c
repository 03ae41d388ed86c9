/*
 * buf.c - the growable buffer (see peerpres/buf.h for the invariants).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <peerpres/buf.h>
#include <peerpres/status.h>
#include "core/alloc.h"

char pp_buf_empty[1];

void pp_buf_init(struct pp_buf *b, size_t max)
{
	b->buf = pp_buf_empty;
	b->len = 0;
	b->alloc = 0;
	b->max = max ? max : PP_BUF_MAX_DEFAULT;
}

void pp_buf_release(struct pp_buf *b)
{
	size_t max = b->max;

	if (b->alloc)
		free(b->buf);
	pp_buf_init(b, max);
}

char *pp_buf_detach(struct pp_buf *b, size_t *len)
{
	char *s;

	if (len)
		*len = b->len;
	if (b->alloc) {
		s = b->buf;
	} else {
		s = pp_malloc(1);
		if (s)
			s[0] = '\0';
	}
	pp_buf_init(b, b->max);
	return s;
}

void pp_buf_reset(struct pp_buf *b)
{
	b->len = 0;
	if (b->alloc)   /* the shared empty string is never written: threads */
		b->buf[0] = '\0';
}

int pp_buf_grow(struct pp_buf *b, size_t extra)
{
	size_t want, cap;
	char *p;

	if (extra > b->max || b->len > b->max - extra)
		return PP_ERANGE;
	want = b->len + extra + 1;
	if (want <= b->alloc)
		return PP_OK;
	cap = b->alloc ? b->alloc : 64;
	while (cap < want)
		cap = cap > SIZE_MAX / 2 ? want : cap * 2;
	p = pp_realloc(b->alloc ? b->buf : NULL, cap);
	if (!p)
		return PP_ENOMEM;
	if (!b->alloc)
		p[0] = '\0';
	b->buf = p;
	b->alloc = cap;
	return PP_OK;
}

int pp_buf_add(struct pp_buf *b, const void *data, size_t len)
{
	int rc;

	if (!len)
		return PP_OK;
	rc = pp_buf_grow(b, len);
	if (rc)
		return rc;
	memcpy(b->buf + b->len, data, len);
	b->len += len;
	b->buf[b->len] = '\0';
	return PP_OK;
}

int pp_buf_adds(struct pp_buf *b, const char *s)
{
	return pp_buf_add(b, s, strlen(s));
}

int pp_buf_addc(struct pp_buf *b, char c)
{
	return pp_buf_add(b, &c, 1);
}

/* Formats straight into the room the buffer already has, the usual case
 * for a buffer reused across calls: one vsnprintf instead of a sizing
 * pass and a writing pass (formatting was a tenth of an import's CPU). */
int pp_buf_vaddf(struct pp_buf *b, const char *fmt, va_list ap)
{
	size_t room = b->alloc ? b->alloc - b->len : 0;
	va_list cp;
	int n, rc;

	va_copy(cp, ap);
	n = room ? vsnprintf(b->buf + b->len, room, fmt, cp) : vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n >= 0 && (size_t)n < room && (size_t)n <= b->max && b->len <= b->max - (size_t)n) {
		b->len += (size_t)n;
		return PP_OK;
	}
	if (room)   /* whatever was written past len is not the buffer's */
		b->buf[b->len] = '\0';
	if (n < 0)
		return PP_EINVAL;
	rc = pp_buf_grow(b, (size_t)n);
	if (rc)
		return rc;
	vsnprintf(b->buf + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return PP_OK;
}

int pp_buf_addf(struct pp_buf *b, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = pp_buf_vaddf(b, fmt, ap);
	va_end(ap);
	return rc;
}

int pp_buf_read_file(struct pp_buf *b, const char *path)
{
	char chunk[65536];
	FILE *f;
	size_t n;
	int rc = PP_OK;

	f = fopen(path, "rb");
	if (!f)
		return errno == ENOENT ? PP_ENOTFOUND : PP_EIO;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		rc = pp_buf_add(b, chunk, n);
		if (rc)
			break;
	}
	if (!rc && ferror(f))
		rc = PP_EIO;
	fclose(f);
	return rc;
}
