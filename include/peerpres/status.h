/*
 * status.h - the one status code type of the library.
 *
 * Every fallible library function returns an int that is PP_OK or one of
 * these codes; the detail goes into the object that failed (a struct
 * pp_diag, a store's last error), never into the code. Codes are
 * append-only: never renumber, always add new ones last.
 */
#ifndef PEERPRES_STATUS_H
#define PEERPRES_STATUS_H

enum pp_status {
	PP_OK = 0,
	PP_ENOMEM = 1,     /* an allocation failed */
	PP_EINVAL = 2,     /* invalid argument from the caller */
	PP_EIO = 3,        /* reading or writing a file failed */
	PP_EPARSE = 4,     /* malformed JSON, YAML or text */
	PP_ENOTFOUND = 5,  /* a named thing does not exist */
	PP_ERANGE = 6,     /* a buffer or value exceeded its cap */
	PP_ESCHEMA = 7,    /* a scenario file breaks the format */
	PP_ESTORE = 8,     /* the SQLite store failed */
	PP_EPROVIDER = 9,  /* a model provider failed after retries */
	PP_EUSAGE = 10,    /* bad command-line usage */
	PP_ETEMPLATE = 11, /* a template has an unfilled placeholder */
	PP_EINTR = 12,     /* interrupted by the user */
	PP_EEXIST = 13     /* already stored (a rollout's config and index) */
};

/* Returns a static, lower-case description of a status code. */
const char *pp_strerror(int status);

#endif
