/*
 * report_html_text.c - escaping for the HTML report and its string
 * table.
 *
 * The string table keeps each distinct text once, however many
 * transcripts repeat it: a full grid's 300,000 messages hold a few
 * hundred distinct texts. Invariant: slots[] is a power of two in size
 * and at most half full, so a probe always ends at an empty slot.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <peerpres/status.h>

#include "core/alloc.h"
#include "report/report_html_int.h"

int pp_html_escape(struct pp_buf *b, const char *s, size_t len)
{
	size_t i, start = 0;
	const char *ent;
	int rc = PP_OK;

	for (i = 0; !rc && i < len; i++) {
		switch (s[i]) {
		case '&': ent = "&amp;"; break;
		case '<': ent = "&lt;"; break;
		case '>': ent = "&gt;"; break;
		case '"': ent = "&quot;"; break;
		case '\'': ent = "&#39;"; break;
		default: continue;
		}
		rc = pp_buf_add(b, s + start, i - start);
		if (!rc)
			rc = pp_buf_adds(b, ent);
		start = i + 1;
	}
	if (!rc)
		rc = pp_buf_add(b, s + start, len - start);
	return rc;
}

/* The escape for byte i of s, or NULL when it is copied as it is; *skip
 * receives how many more bytes the escape covers. */
static const char *json_escape(const unsigned char *s, size_t len, size_t i,
			       char tmp[8], size_t *skip)
{
	*skip = 0;
	switch (s[i]) {
	case '"': return "\\\"";
	case '\\': return "\\\\";
	case '\n': return "\\n";
	case '\t': return "\\t";
	case '\r': return "\\r";
	case '<': return "\\u003c";
	case '>': return "\\u003e";
	case '&': return "\\u0026";
	default: break;
	}
	if (s[i] < 0x20) {
		snprintf(tmp, 8, "\\u%04x", s[i]);
		return tmp;
	}
	/* U+2028 and U+2029 end a line in older JavaScript. */
	if (s[i] == 0xe2 && i + 2 < len && s[i + 1] == 0x80 &&
	    (s[i + 2] == 0xa8 || s[i + 2] == 0xa9)) {
		*skip = 2;
		return s[i + 2] == 0xa8 ? "\\u2028" : "\\u2029";
	}
	return NULL;
}

int pp_html_json_string(struct pp_buf *b, const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i, start = 0, skip;
	const char *esc;
	char tmp[8];
	int rc = pp_buf_addc(b, '"');

	for (i = 0; !rc && i < len; i++) {
		if (!(esc = json_escape(u, len, i, tmp, &skip)))
			continue;
		rc = pp_buf_add(b, s + start, i - start);
		if (!rc)
			rc = pp_buf_adds(b, esc);
		i += skip;
		start = i + 1;
	}
	if (!rc)
		rc = pp_buf_add(b, s + start, len - start);
	if (!rc)
		rc = pp_buf_addc(b, '"');
	return rc;
}

int pp_html_script_safe(struct pp_buf *b, const char *json, size_t len)
{
	size_t i, start = 0;
	const char *esc;
	int rc = PP_OK;

	for (i = 0; !rc && i < len; i++) {
		switch (json[i]) {
		case '<': esc = "\\u003c"; break;
		case '>': esc = "\\u003e"; break;
		case '&': esc = "\\u0026"; break;
		default: continue;
		}
		rc = pp_buf_add(b, json + start, i - start);
		if (!rc)
			rc = pp_buf_adds(b, esc);
		start = i + 1;
	}
	if (!rc)
		rc = pp_buf_add(b, json + start, len - start);
	return rc;
}

/* FNV-1a: short strings, no adversary to fear (the strings are ours). */
static uint32_t hash_of(const char *s, size_t len)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

void pp_html_strtab_init(struct pp_html_strtab *t, size_t max)
{
	memset(t, 0, sizeof(*t));
	pp_buf_init(&t->pool, max);
}

void pp_html_strtab_release(struct pp_html_strtab *t)
{
	if (!t)
		return;
	pp_buf_release(&t->pool);
	free(t->ent);
	free(t->slots);
	t->ent = NULL;
	t->slots = NULL;
	t->n = t->cap = t->nslots = 0;
}

/* The slot holding s, or the empty slot where it would go. */
static size_t probe(const struct pp_html_strtab *t, const char *s, size_t len, uint32_t h)
{
	size_t mask = t->nslots - 1, i = h & mask;

	for (; t->slots[i]; i = (i + 1) & mask) {
		const struct pp_html_strent *e = &t->ent[t->slots[i] - 1];

		if (e->hash == h && e->len == len && !memcmp(t->pool.buf + e->off, s, len))
			break;
	}
	return i;
}

long pp_html_strtab_find(const struct pp_html_strtab *t, const char *s, size_t len)
{
	size_t i;

	if (!t->nslots)
		return -1;
	i = probe(t, s, len, hash_of(s, len));
	return t->slots[i] ? (long)t->slots[i] - 1 : -1;
}

static int rehash(struct pp_html_strtab *t)
{
	size_t n = t->nslots ? t->nslots * 2 : 1024, i;
	uint32_t *old = t->slots;
	size_t old_n = t->nslots;

	if (n > UINT32_MAX / 2 || !(t->slots = pp_calloc(n, sizeof(*t->slots)))) {
		t->slots = old;
		return PP_ENOMEM;
	}
	t->nslots = n;
	for (i = 0; i < old_n; i++)
		if (old[i]) {
			const struct pp_html_strent *e = &t->ent[old[i] - 1];

			t->slots[probe(t, t->pool.buf + e->off, e->len, e->hash)] = old[i];
		}
	free(old);
	return PP_OK;
}

static int add_entry(struct pp_html_strtab *t, const char *s, size_t len, uint32_t h)
{
	struct pp_html_strent *e;
	size_t off = t->pool.len;
	int rc;

	if (!(e = pp_grow(t->ent, &t->cap, t->n, 1, sizeof(*e))))
		return PP_ENOMEM;
	t->ent = e;
	if ((rc = pp_buf_add(&t->pool, s, len)) || (rc = pp_buf_addc(&t->pool, '\0'))) {
		t->pool.len = off;
		t->pool.buf[off] = '\0';
		return rc;
	}
	t->ent[t->n].off = off;
	t->ent[t->n].len = len;
	t->ent[t->n].hash = h;
	t->n++;
	return PP_OK;
}

int pp_html_strtab_intern(struct pp_html_strtab *t, const char *s, size_t len, long *idx)
{
	uint32_t h = hash_of(s, len);
	size_t i;
	int rc;

	if ((t->n + 1) * 2 > t->nslots && (rc = rehash(t)))
		return rc;
	i = probe(t, s, len, h);
	if (!t->slots[i]) {
		if ((rc = add_entry(t, s, len, h)))
			return rc;
		t->slots[i] = (uint32_t)t->n;
	}
	*idx = (long)t->slots[i] - 1;
	return PP_OK;
}

const char *pp_html_strtab_get(const struct pp_html_strtab *t, long idx, size_t *len)
{
	if (idx < 0 || (size_t)idx >= t->n)
		return NULL;
	if (len)
		*len = t->ent[idx].len;
	return t->pool.buf + t->ent[idx].off;
}

int pp_html_strtab_json(const struct pp_html_strtab *t, struct pp_buf *b)
{
	int rc = pp_buf_addc(b, '[');
	size_t i;

	for (i = 0; !rc && i < t->n; i++) {
		if (i)
			rc = pp_buf_addc(b, ',');
		if (!rc)
			rc = pp_html_json_string(b, t->pool.buf + t->ent[i].off, t->ent[i].len);
	}
	if (!rc)
		rc = pp_buf_addc(b, ']');
	return rc;
}
