/*
 * Unit tests of how far a run goes in a config (src/engine/topup.c):
 * every index below -n, or with --scored only the lowest missing indexes
 * the config lacks scored rollouts, never past -n.
 */
#include <stdbool.h>

#include "engine/engine_int.h"
#include "../harness/test.h"

#define N 6

static void plan_of(const char *stored, long scored, long target, struct pp_topup *t)
{
	bool done[N];
	int i;

	for (i = 0; i < N; i++)
		done[i] = stored[i] == 'x';
	pp_topup_plan(done, N, scored, target, t);
}

/* Without a target a run takes every missing index below -n. */
TEST(topup_without_a_target_runs_every_missing_index)
{
	struct pp_topup t;

	plan_of("x.x...", 0, 0, &t);
	CHECK_INT_EQ(t.stored, 2);
	CHECK_INT_EQ(t.todo, 4);
	CHECK_INT_EQ(t.limit, N);
	CHECK_INT_EQ(t.state, PP_TOPUP_MET);
}

/* Three scored of a target of five: the two lowest missing indexes,
 * a gap an interrupted run left first. */
TEST(topup_runs_the_lowest_missing_indexes_it_lacks)
{
	struct pp_topup t;

	plan_of("xx.x..", 3, 5, &t);
	CHECK_INT_EQ(t.stored, 3);
	CHECK_INT_EQ(t.todo, 2);
	CHECK_INT_EQ(t.limit, 5);     /* indexes 2 and 4 */
	CHECK_INT_EQ(t.state, PP_TOPUP_SHORT);
	plan_of("xxxx..", 1, 5, &t);   /* four lacked, two left under -n */
	CHECK_INT_EQ(t.todo, 2);
	CHECK_INT_EQ(t.limit, N);
	CHECK_INT_EQ(t.state, PP_TOPUP_SHORT);
}

/* A config with its target runs nothing, whatever is missing; one
 * short of it with every index stored is at its ceiling. */
TEST(topup_stops_at_the_target_and_at_the_ceiling)
{
	struct pp_topup t;

	plan_of("xx....", 2, 2, &t);
	CHECK_INT_EQ(t.todo, 0);
	CHECK_INT_EQ(t.limit, 0);
	CHECK_INT_EQ(t.state, PP_TOPUP_MET);
	plan_of("xx....", 7, 2, &t);  /* scored beyond -n count too */
	CHECK_INT_EQ(t.todo, 0);
	CHECK_INT_EQ(t.state, PP_TOPUP_MET);
	plan_of("xxxxxx", 4, 5, &t);
	CHECK_INT_EQ(t.stored, N);
	CHECK_INT_EQ(t.todo, 0);
	CHECK_INT_EQ(t.state, PP_TOPUP_AT_CEILING);
}
