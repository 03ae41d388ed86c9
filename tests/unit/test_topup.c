/*
 * Unit tests of how far a run goes in a config (src/engine/topup.c):
 * every index below -n, or with --scored only the lowest missing indexes
 * the config lacks scored rollouts, never past -n.
 */
#include <stdbool.h>
#include <stdio.h>

#include "engine/engine_int.h"
#include "../harness/test.h"

#define N 6

/* A config's indexes below -n ('x' stored), its scored rollouts and the
 * target, and what the plan must say of them. */
struct topup_case {
	const char *stored;
	long scored, target;
	long want_stored, want_todo, want_limit;
	enum pp_topup_state want_state;
	const char *why;
};

static void check_cases(const struct topup_case *c, size_t n)
{
	struct pp_topup t;
	bool done[N];
	size_t k;
	int i;

	for (k = 0; k < n; k++) {
		for (i = 0; i < N; i++)
			done[i] = c[k].stored[i] == 'x';
		pp_topup_plan(done, N, c[k].scored, c[k].target, &t);
		if (t.stored != c[k].want_stored || t.todo != c[k].want_todo ||
		    t.limit != c[k].want_limit || t.state != c[k].want_state)
			fprintf(stderr, "  case '%s' (%s): stored %ld todo %ld limit %ld state %d\n",
				c[k].stored, c[k].why, t.stored, t.todo, t.limit, (int)t.state);
		CHECK_INT_EQ(t.stored, c[k].want_stored);
		CHECK_INT_EQ(t.todo, c[k].want_todo);
		CHECK_INT_EQ(t.limit, c[k].want_limit);
		CHECK_INT_EQ(t.state, c[k].want_state);
	}
}

/* Without a target a run takes every missing index below -n. */
TEST(topup_without_a_target_runs_every_missing_index)
{
	static const struct topup_case cases[] = {
		{ "x.x...", 0, 0, 2, 4, N, PP_TOPUP_MET, "no target" },
	};

	check_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

/* Short of the target: the lowest missing indexes it lacks, a gap an
 * interrupted run left first; no further than -n. */
TEST(topup_runs_the_lowest_missing_indexes_it_lacks)
{
	static const struct topup_case cases[] = {
		{ "xx.x..", 3, 5, 3, 2, 5, PP_TOPUP_SHORT, "indexes 2 and 4" },
		{ "xxxx..", 1, 5, 4, 2, N, PP_TOPUP_SHORT, "four lacked, two left under -n" },
	};

	check_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

/* A config with its target runs nothing, whatever is missing; one
 * short of it with every index stored is at its ceiling. */
TEST(topup_stops_at_the_target_and_at_the_ceiling)
{
	static const struct topup_case cases[] = {
		{ "xx....", 2, 2, 2, 0, 0, PP_TOPUP_MET, "target met" },
		{ "xx....", 7, 2, 2, 0, 0, PP_TOPUP_MET, "scored beyond -n count too" },
		{ "xxxxxx", 4, 5, N, 0, N, PP_TOPUP_AT_CEILING, "every index stored" },
	};

	check_cases(cases, sizeof(cases) / sizeof(cases[0]));
}
