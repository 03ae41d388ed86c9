/*
 * engine_int.h - what the runner's parts share; private to src/engine.
 */
#ifndef PP_ENGINE_INT_H
#define PP_ENGINE_INT_H

#include <stdbool.h>

#include <peerpres/labels.h>
#include <peerpres/price.h>
#include <peerpres/run.h>
#include <peerpres/scenario.h>
#include <peerpres/store.h>

#include "scenario/detectors.h"

/*
 * A config made ready to run: the work that does not change between its
 * rollouts (rendering, compiling the detectors, the prompt hash) done
 * once, and the indexes still to do. It lives while it is the runner's
 * current config or any of its rollouts is in flight.
 */
struct pp_prepared {
	const struct pp_scenario *s;
	struct pp_json *mock_config;   /* dims, model, family: what the mock server renders */
	struct pp_json *rendered;
	struct pp_labels *labels;      /* from detectors, shared */
	struct pp_detector_cache *detectors;
	struct pp_json *tools;         /* its rollouts' tool declarations, shared */
	struct pp_json *record;        /* the config as the store keeps it, until stored */
	char prompt_hash[65];
	const char *config_id;         /* borrowed from rendered */
	bool *done;                    /* [n_rollouts]: indexes already stored */
	long n_done;
	long next_idx;                 /* the next index to look at */
	long limit;                    /* indexes handed out are below it */
	long in_flight;                /* its rollouts started and not yet stored */
	bool current;                  /* still handing out indexes */
	double est_cost_usd;           /* a rollout's estimated cost; < 0: not yet */
};

/*
 * What one rollout of a rendered config is expected to cost at price,
 * before any is run: its compliant reference route played with the
 * token assumptions of `plan` (estimate.c). PP_OK, PP_ENOMEM, or a
 * failure playing the route, in diag.
 */
int pp_rollout_cost_estimate(const struct pp_json *rendered, const struct pp_run_options *opt,
			     const struct pp_price *price, double *usd, struct pp_diag *diag);

/* The family the agents are named after: --family, else the model id's. */
const char *pp_run_family(const struct pp_run_options *opt);

/* The base URL as a config records it and its id hashes it: a new JSON
 * string without trailing slashes (the providers cut them too, so
 * ".../v1/" and ".../v1" reach the same endpoint and are one config), or
 * null when there is none; NULL on out of memory. */
struct pp_json *pp_run_route(const struct pp_run_options *opt);

/* Renders the config, makes its record (pc->record, for the caller to
 * store) and reads which indexes are stored; its detectors come from
 * dc. *out is new; free with pp_prepared_free(). */
int pp_prepared_new(const struct pp_run_options *opt, struct pp_store *store,
		    const struct pp_scenario *s, const struct pp_json *dims,
		    struct pp_detector_cache *dc, struct pp_prepared **out,
		    struct pp_diag *diag);
void pp_prepared_free(struct pp_prepared *pc);   /* NULL-safe */

/* The next index of pc below limit not yet stored, or -1 when none is
 * left. */
long pp_prepared_next(struct pp_prepared *pc, long limit);

/*
 * A config's part in a run (topup.c): its indexes below opt->n_rollouts
 * read from the store, and how far the run goes, all of them or, for a
 * top-up to opt->scored_target scored rollouts, as far as the missing
 * indexes it lacks. done is scratch of n_rollouts + 1 entries.
 */
enum pp_topup_state { PP_TOPUP_MET, PP_TOPUP_SHORT, PP_TOPUP_AT_CEILING };
struct pp_topup {
	long stored;      /* indexes below the ceiling already stored */
	long todo;        /* missing indexes below limit: the run starts these */
	long limit;       /* the run hands out indexes below this */
	long pending;     /* pending_judge rollouts, counted as scored */
	enum pp_topup_state state;
};
int pp_topup_read(const struct pp_run_options *opt, struct pp_store *store,
		  const char *config_id, bool *done, struct pp_topup *t, struct pp_diag *diag);
/* The same from done[0..n-1] and the config's count of scored (and
 * pending_judge) rollouts (target 0: every index below n). */
void pp_topup_plan(const bool *done, long n, long counted, long target, struct pp_topup *t);

/* The rollout's provenance (ARCHITECTURE.md): *out is new. */
int pp_provenance(const struct pp_run_options *opt, const struct pp_prepared *pc,
		  const struct pp_json *rec, struct pp_json **out);

#endif
