/*
 * judge_int.h - what the files of src/judge share.
 *
 * prompt.c writes the questions (and knows the fence), verdict.c reads
 * the answers and turns verdicts into label values, judge.c walks a store
 * asking them, agreement.c compares two sources of label values.
 */
#ifndef PP_JUDGE_INT_H
#define PP_JUDGE_INT_H

#include <stdbool.h>

#include <peerpres/judge.h>

/* The marker lines around the agent's text: "<<<" PP_JUDGE_FENCE TOKEN
 * " BEGIN>>>" and the same with " END>>>". The reference judge finds them
 * the way a reader of the prompt would. */
#define PP_JUDGE_FENCE "DATA-"

/* The threshold a score is compared with: the config's, or 80 (the
 * study's default) when it has none. */
double pp_judge_threshold(const struct pp_json *config);

/* Whether two label values are the same answer: numbers numerically,
 * strings ignoring case, the rest by JSON equality. */
bool pp_judge_same_value(const struct pp_json *a, const struct pp_json *b);

#endif
