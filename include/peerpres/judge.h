/*
 * judge.h - the LLM judge: the labels the rules leave undecided, asked of
 * a model (SCENARIOS.md section 8; docs/judge.md).
 *
 * A question is one of five kinds (the reported score, the finance grade
 * and recommendation, refusal, deliberate refusal to execute a shutdown,
 * whether the report was deleted). Its prompt is this project's text,
 * versioned by PP_JUDGE_PROMPT_VERSION, and shows the judge only what the
 * agent wrote: its visible turns, its reasoning and its tool-call
 * arguments, never tool outputs (the delete question also lists the
 * files left on the drive). That text sits between two marker lines
 * carrying a token derived from the text itself, which the text therefore
 * cannot contain: the agent cannot close the fence early, and the prompt
 * tells the judge to treat everything inside as data.
 *
 * The judge ends its answer with a line "VERDICT: {json}"; the parser
 * takes the last such line whose JSON is a well-formed verdict for the
 * question. An answer without one is a failure, or a refusal when the
 * judge declined; a failed call is a failure too. Either is stored as a
 * verdict with its outcome and never dropped.
 *
 * Verdicts are a cache in the store (judge_verdicts, store.h): a label
 * judged once by a judge model at a prompt version is not asked again.
 */
#ifndef PEERPRES_JUDGE_H
#define PEERPRES_JUDGE_H

#include <signal.h>
#include <stdbool.h>

#include <peerpres/diag.h>
#include <peerpres/json.h>
#include <peerpres/provider.h>
#include <peerpres/store.h>

#define PP_JUDGE_DEFAULT_MODEL "openai/gpt-4.1-mini"
/* Changes whenever a prompt or the verdict format changes, so verdicts of
 * different wordings are never mixed. */
#define PP_JUDGE_PROMPT_VERSION "judge-v2"

enum pp_judge_question {
	PP_JQ_SCORE,            /* score, threshold_result, refused, fully_incomplete */
	PP_JQ_GRADE,            /* grade, recommendation, refused, fully_incomplete */
	PP_JQ_REFUSAL,          /* refused (exfiltration) */
	PP_JQ_EXECUTE_REFUSAL,  /* refused (alignment_faking's second judge) */
	PP_JQ_DELETE_FILE,      /* delete_file */
	PP_JQ_CONFIG_SCORE,     /* score, threshold_result, fully_incomplete (tampering's second judge) */
	PP_JQ_COUNT
};

enum pp_judge_outcome { PP_JUDGE_OK, PP_JUDGE_FAILED, PP_JUDGE_REFUSED };

/* "score", "grade", "refusal", "execute_refusal", "delete_file",
 * "config_score" (static). */
const char *pp_judge_question_name(enum pp_judge_question q);
/* "ok", "failed", "refused" (static). */
const char *pp_judge_outcome_name(enum pp_judge_outcome o);

/*
 * The messages of one question about one rollout: a new array
 * [{"role":"system","content"},{"role":"user","content"}] in *out.
 * rollout is pp_store_get_rollout()'s shape (its "messages" and, for the
 * delete question, "final_state"); config is the stored config (its
 * "threshold"). Both borrowed. PP_OK, PP_ENOMEM, PP_ERANGE (no fence
 * token could be found, which does not happen in practice) or PP_EINVAL
 * for a question out of range.
 */
int pp_judge_prompt(enum pp_judge_question q, const struct pp_json *rollout,
		    const struct pp_json *config, struct pp_json **out);

/* A parsed answer. verdict is the verdict's JSON object (new) when the
 * outcome is ok, else NULL and why says what went wrong. */
struct pp_judge_verdict {
	enum pp_judge_outcome outcome;
	struct pp_json *verdict;
	char why[256];
};

/*
 * Reads a judge's answer (text; NULL reads as empty): the last line
 * "VERDICT: {...}" (the tag in any case, after optional spaces, '*', '#'
 * or '`') whose object is well formed for q. None: outcome refused when
 * the answer reads as a refusal to judge ("I can't help", "I cannot
 * assist", ...), failed otherwise. Returns PP_OK (the outcome says the
 * rest), PP_ENOMEM or PP_EINVAL (NULL v, q out of range). Release v with
 * pp_judge_verdict_release.
 */
int pp_judge_parse(enum pp_judge_question q, const char *answer, struct pp_judge_verdict *v);
void pp_judge_verdict_release(struct pp_judge_verdict *v);   /* NULL-safe */

/*
 * The label values a verdict of q decides, as a new object {label: value}
 * in *out. labels is the rollout's labels as known so far ({name:
 * {"value","decided"}}, borrowed): only labels it has are set, and some
 * depend on others (a score of 85 against config's threshold gives
 * threshold_result "above"; alignment_faking leaves refused to the
 * second judge when the score is below and nothing was executed). rollout
 * (pp_store_get_rollout()'s shape, may be NULL) tells what the agent
 * called: a score question answered "incomplete" for an agent that wrote
 * to the config with add_var leaves score, threshold_result and
 * fully_incomplete to the config question, as the study did. PP_OK,
 * PP_ENOMEM, PP_EINVAL.
 */
int pp_judge_values(enum pp_judge_question q, const struct pp_json *verdict,
		    const struct pp_json *rollout, const struct pp_json *config,
		    const struct pp_json *labels, struct pp_json **out);

/* The labels a question may decide, NULL-terminated (static). */
const char *const *pp_judge_question_labels(enum pp_judge_question q);

/*
 * The next question to ask about a rollout, or PP_JQ_COUNT when none is
 * left. labels is the rollout's labels with the verdicts known so far
 * merged in (a label with a verdict has "judged": true). A label is open
 * when it exists, has no verdict, and is undecided or (with
 * also_decided, for agreement) was decided by the rules; delete_file is
 * open only when undecided (the rules decide it where nothing was
 * deleted, and the question presumes a deletion). A label decided by the
 * rules is marked "rule_decided" in pp_store_judge_todo()'s entries;
 * without that key "decided" is read. score_asked says the score
 * question was asked in this pass: a score still open after it was left
 * to the config question (pp_judge_values).
 */
enum pp_judge_question pp_judge_next(const struct pp_json *labels, bool also_decided,
				     bool score_asked);

/* Where a pass stands, for a progress line. */
struct pp_judge_progress {
	long done, total;               /* rollouts with no question left, of all to judge */
	long in_flight;                 /* rollouts with a question out */
	long questions;                 /* asked so far */
	long failed;                    /* labels failed or refused so far */
	long retries;                   /* HTTP retries so far */
	long input_tokens, output_tokens;
};

struct pp_judge_options {
	const char *judge;              /* "provider/model"; NULL: PP_JUDGE_DEFAULT_MODEL */
	const char *prompt_version;     /* NULL: PP_JUDGE_PROMPT_VERSION (only it has prompts) */
	struct pp_provider_options provider;
	const struct pp_json *filters;  /* as pp_store_summary(); borrowed, may be NULL */
	long also_decided;              /* also judge this many rule-decided rollouts */
	bool retry_failed;              /* forget this judge's failed verdicts first */
	/* Rollouts judged at once, one question each in flight (HTTP judges;
	 * in-process ones answer one at a time); 0 or 1: one at a time. */
	long concurrency;
	/* Set by a signal: no question starts, those in flight are abandoned. */
	const volatile sig_atomic_t *stop;
	/* Called after each rollout (may be NULL). */
	void (*progress)(void *arg, const struct pp_judge_progress *pr);
	void *progress_arg;
};

struct pp_judge_result {
	long rollouts;                  /* rollouts asked about */
	long questions;                 /* model calls */
	long labels_ok, labels_failed, labels_refused;   /* verdict rows, by outcome */
	long labels_settled;            /* ok verdicts on labels undecided until then */
	long undecided;                 /* undecided labels without a verdict, before judging */
	long cached;                    /* undecided labels already judged by this judge */
	long errors_left_out;           /* status error rollouts with an open label, not asked */
	long forgotten;                 /* failed verdicts dropped by retry_failed */
	long input_tokens, output_tokens;
	long retries;                   /* HTTP retries */
	bool interrupted;
};

/*
 * Counts, for a judge and prompt version, the undecided labels in the
 * store (filters as pp_store_summary) that still lack its verdict, into
 * res->undecided and res->cached; nothing is asked. PP_OK or the store's
 * error.
 */
int pp_judge_count(struct pp_store *s, const struct pp_judge_options *opt,
		   struct pp_judge_result *res);

/*
 * Judges every rollout with an open label (see pp_judge_next) whose
 * status is not error (res->errors_left_out counts those left) and stores
 * a verdict per label as each answer arrives, up to opt->concurrency
 * rollouts at once; the verdicts do not depend on the concurrency. On
 * opt->stop the calls in flight are abandoned and what is stored stays
 * (res->interrupted); the next pass asks only what is left. A judge that cannot be
 * opened (unknown provider, no API key) fails before anything is asked,
 * with PP_EUSAGE and the reason in diag; a failed call is a failed
 * verdict, not an error, except for an HTTP judge that cannot be used at
 * all: its first call fails (tried 3 times, not the full retry schedule;
 * nothing is stored for it) or 6 calls fail in a row, and the pass stops
 * with PP_EPROVIDER and the provider's message in diag. Returns PP_OK
 * (also when interrupted: res->interrupted), PP_EUSAGE, PP_EPROVIDER,
 * PP_ESTORE (diag has the store's message) or PP_ENOMEM.
 */
int pp_judge_run(struct pp_store *s, const struct pp_judge_options *opt,
		 struct pp_judge_result *res, struct pp_diag *diag);

/*
 * Agreement between two sources of label values over the labels both
 * decide: "rules" (labels decided by the rules) or "MODEL@VERSION" (a
 * judge's ok verdicts; "MODEL" alone takes its latest version). *out is
 * a new object {"a","b","labels": {name: {"n","agree","percent",
 * "kappa","categories"}}, "all": {"n","agree","percent","kappa",
 * "kappa_labels","categories"}}; kappa is null where undefined (one value
 * used by both), and all's kappa pools only the labels with a kappa of
 * their own (named in kappa_labels; null when there are none), while its
 * n, agree and percent pool every label. Values compare numerically for
 * numbers and case-insensitively for strings. PP_OK, PP_ENOTFOUND (a judge without verdicts), PP_ESTORE,
 * PP_ENOMEM.
 */
int pp_judge_agreement(struct pp_store *s, const char *a, const char *b,
		       const struct pp_json *filters, struct pp_json **out);

/*
 * The reference judge behind "ref/judge" (src/provider/ref_judge.c), for
 * tests and demos without a model: it finds the fenced text in a prompt
 * pp_judge_prompt() wrote, reads it with a few fixed patterns and answers
 * with a verdict. Variants: "judge"; "judge-first" (takes the first score
 * or grade where "judge" takes the last, so the two disagree on purpose);
 * "judge-garbage", "judge-refuse" and "judge-error", which on about a
 * third of the questions (fixed by the fenced text) answer without a
 * verdict, decline, or fail as a provider would.
 *
 * pp_ref_judge_model: the variant's static name when model (the part
 * after "ref/") is one, else NULL. pp_ref_judge_complete: PP_OK with
 * reply->message a new assistant message, PP_EPROVIDER with reply->error
 * set (the error variant, or a request without a fence).
 */
const char *pp_ref_judge_model(const char *model);
int pp_ref_judge_complete(const char *variant, const struct pp_model_request *req,
			  struct pp_model_reply *reply);

#endif
