/*
 * diag.h - where and why something failed.
 *
 * A struct pp_diag travels with calls that read user input (scenario
 * files, transcripts, command lines) and receives the location and the
 * message of the first failure, so a caller can print
 * "scenarios/x.yaml:12:5: unknown predicate 'calld'".
 */
#ifndef PEERPRES_DIAG_H
#define PEERPRES_DIAG_H

#include <peerpres/buf.h>

struct pp_diag {
	char file[512];
	int line;   /* 1-based; 0 when unknown */
	int col;    /* 1-based; 0 when unknown */
	char msg[1024];
};

void pp_diag_clear(struct pp_diag *d);
/* Records a failure unless one is already recorded (the first one wins).
 * d may be NULL. Returns rc so callers can write
 * `return pp_diag_set(d, PP_ESCHEMA, ...)`. */
int pp_diag_set(struct pp_diag *d, int rc, const char *file, int line,
		int col, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
/* Appends "file:line:col: msg" (omitting what is unknown). */
int pp_diag_format(const struct pp_diag *d, struct pp_buf *b);

#endif
