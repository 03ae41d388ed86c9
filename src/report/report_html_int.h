/*
 * report_html_int.h - what the HTML report's files share: escaping, the
 * string table that interns every distinct text once, the embedded
 * assets and the transcript data block.
 *
 * Everything from the store reaches the page either HTML-escaped
 * (pp_html_escape) or inside a <script type="application/json"> block
 * written so that no "<", ">" or "&" appears in it literally: the block
 * can never be closed early by a "</script>" in a transcript.
 */
#ifndef PP_REPORT_HTML_INT_H
#define PP_REPORT_HTML_INT_H

#include <stddef.h>
#include <stdint.h>

#include <peerpres/buf.h>
#include <peerpres/json.h>
#include <peerpres/report.h>
#include <peerpres/store.h>

/* The page's style sheet and script (src/report/html/), made into C
 * strings at build time by tools/embed.c. */
extern const char pp_html_css[];
extern const char pp_html_js[];

/* Appends s (len bytes) to b with & < > " ' as entities. PP_OK or the
 * buffer's error (PP_ENOMEM, PP_ERANGE). */
int pp_html_escape(struct pp_buf *b, const char *s, size_t len);

/* Appends s (len bytes) as a JSON string literal, quotes included, safe
 * inside a script element: control characters, quote and backslash
 * escaped as JSON requires, and < > & U+2028 U+2029 as \uXXXX. */
int pp_html_json_string(struct pp_buf *b, const char *s, size_t len);

/* Appends JSON text (len bytes) with every < > & turned into \uXXXX;
 * outside strings JSON has none of them, so the meaning is unchanged. */
int pp_html_script_safe(struct pp_buf *b, const char *json, size_t len);

/*
 * A string table: each distinct byte string gets the next index from 0,
 * once. Strings live in one pool, found through an open-addressing hash
 * table of indexes (load kept under one half).
 */
struct pp_html_strent {
	size_t off, len;
	uint32_t hash;
};

struct pp_html_strtab {
	struct pp_buf pool;            /* the strings, each NUL-terminated */
	struct pp_html_strent *ent;
	size_t n, cap;
	uint32_t *slots;               /* index + 1, 0 for an empty slot */
	size_t nslots;                 /* a power of two, or 0 */
};

/* max: the largest pool in bytes (the sum of the lengths plus one per
 * string); past it intern fails with PP_ERANGE. */
void pp_html_strtab_init(struct pp_html_strtab *t, size_t max);
void pp_html_strtab_release(struct pp_html_strtab *t);
/* *idx receives the string's index, new or old. PP_OK, PP_ENOMEM,
 * PP_ERANGE. */
int pp_html_strtab_intern(struct pp_html_strtab *t, const char *s, size_t len, long *idx);
/* The index of s, or -1 when it was never interned. */
long pp_html_strtab_find(const struct pp_html_strtab *t, const char *s, size_t len);
/* String idx (borrowed, NUL-terminated; its length in *len when len is
 * not NULL), or NULL for an index out of range. */
const char *pp_html_strtab_get(const struct pp_html_strtab *t, long idx, size_t *len);
/* Appends the table as a JSON array of strings (pp_html_json_string). */
int pp_html_strtab_json(const struct pp_html_strtab *t, struct pp_buf *b);

/*
 * The transcript data block (report_html_data.c): every rollout of the
 * summary's configs read from the store, as one JSON object
 * {"n_total","n_included","strings":[..],"configs":[[..]],"msgs":[[..]],
 *  "labels":[[..]],"rollouts":[[..]]} whose texts are indexes into
 * "strings" and whose messages and labels are indexes into "msgs" and
 * "labels" (docs/report.md, "HTML"). Labels carry the judge's verdicts
 * where the summary has them. max_transcripts < 0: all; else at most
 * that many, the misaligned ones first. Appends to b. PP_ENOMEM,
 * PP_ERANGE, or the store's error.
 */
int pp_html_data(struct pp_store *store, const struct pp_json *summary,
		 long max_transcripts, struct pp_buf *b);

#endif
