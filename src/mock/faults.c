/*
 * faults.c - which responses the mock server damages: a scripted list for
 * the first responses (tests that need an exact sequence), then draws
 * from a seeded RNG with the spec's probabilities, so a fault run can be
 * repeated exactly.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <peerpres/status.h>

#include "core/alloc.h"
#include "mock/mock_int.h"

static const struct { const char *name; int kind; } named[] = {
	{ "reset", FAULT_RESET }, { "truncate", FAULT_TRUNCATE },
	{ "slow", FAULT_SLOW }, { "malformed", FAULT_MALFORMED },
};

/* A fault name of len bytes: its kind, or 0 when unknown ("ok" is
 * FAULT_NONE and valid only when allow_ok; *ok says it was valid). */
static int kind_of(const char *s, size_t len, bool allow_ok, bool *ok)
{
	char *end;
	long status;
	size_t i;

	*ok = true;
	if (allow_ok && len == 2 && !strncmp(s, "ok", 2))
		return FAULT_NONE;
	for (i = 0; i < sizeof(named) / sizeof(named[0]); i++)
		if (strlen(named[i].name) == len && !strncmp(s, named[i].name, len))
			return named[i].kind;
	errno = 0;
	status = strtol(s, &end, 10);
	if (end == s + len && !errno && status >= 400 && status <= 599)
		return (int)status;
	*ok = false;
	return FAULT_NONE;
}

static int parse_spec(struct mock_faults *f, const char *spec, struct pp_diag *diag)
{
	const char *p = spec, *eq, *comma;
	double sum = 0;
	char *end;
	bool ok;

	while (p && *p) {
		comma = strchr(p, ',');
		eq = strchr(p, '=');
		if (!comma)
			comma = p + strlen(p);
		if (!eq || eq > comma)
			return pp_diag_set(diag, PP_EUSAGE, NULL, 0, 0,
					   "fault '%.*s' needs a probability (NAME=P)", (int)(comma - p), p);
		if (f->n == MOCK_MAX_FAULTS)
			return pp_diag_set(diag, PP_EUSAGE, NULL, 0, 0, "too many faults");
		f->kind[f->n] = kind_of(p, (size_t)(eq - p), false, &ok);
		if (!ok)
			return pp_diag_set(diag, PP_EUSAGE, NULL, 0, 0,
					   "unknown fault '%.*s' (a status 400-599, reset, truncate, slow, malformed)",
					   (int)(eq - p), p);
		errno = 0;
		f->p[f->n] = strtod(eq + 1, &end);
		if (end != comma || errno || !(f->p[f->n] >= 0 && f->p[f->n] <= 1))
			return pp_diag_set(diag, PP_EUSAGE, NULL, 0, 0,
					   "fault '%.*s' needs a probability from 0 to 1", (int)(eq - p), p);
		sum += f->p[f->n++];
		p = *comma ? comma + 1 : NULL;
	}
	if (sum > 1 + 1e-9)
		return pp_diag_set(diag, PP_EUSAGE, NULL, 0, 0,
				   "fault probabilities add up to %g, more than 1", sum);
	return PP_OK;
}

static int parse_script(struct mock_faults *f, const char *script, struct pp_diag *diag)
{
	const char *p = script, *comma;
	size_t n = 1;
	bool ok;

	for (comma = script; (comma = strchr(comma, ',')); comma++)
		n++;
	if (!(f->script = pp_calloc(n, sizeof(int))))
		return PP_ENOMEM;
	while (p) {
		comma = strchr(p, ',');
		if (!comma)
			comma = p + strlen(p);
		f->script[f->n_script++] = kind_of(p, (size_t)(comma - p), true, &ok);
		if (!ok)
			return pp_diag_set(diag, PP_EUSAGE, NULL, 0, 0, "unknown fault '%.*s' in the script",
					   (int)(comma - p), p);
		p = *comma ? comma + 1 : NULL;
	}
	return PP_OK;
}

int mock_faults_init(struct mock_faults *f, const char *spec, const char *script,
		     uint64_t seed, struct pp_diag *diag)
{
	int rc;

	memset(f, 0, sizeof(*f));
	pp_rng_seed(&f->rng, seed);
	rc = parse_spec(f, spec, diag);
	if (!rc && script && *script)
		rc = parse_script(f, script, diag);
	if (rc)
		mock_faults_release(f);
	return rc;
}

void mock_faults_release(struct mock_faults *f)
{
	free(f->script);
	f->script = NULL;
	f->n_script = f->pos = 0;
}

int mock_faults_next(struct mock_faults *f)
{
	double u, acc = 0;
	size_t i;

	if (f->pos < f->n_script)
		return f->script[f->pos++];
	if (!f->n)
		return FAULT_NONE;
	u = pp_rng_uniform(&f->rng);
	for (i = 0; i < f->n; i++) {
		acc += f->p[i];
		if (u < acc)
			return f->kind[i];
	}
	return FAULT_NONE;
}
