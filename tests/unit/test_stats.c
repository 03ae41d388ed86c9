/* Unit tests of src/stats. Reference values were computed independently
 * with python3 (the closed form, and bisection on the score equation
 * (p^ - p)^2 = z^2 p (1 - p) / n), not taken from this code. */
#include <math.h>

#include <peerpres/metrics.h>
#include <peerpres/stats.h>
#include "../harness/test.h"

TEST(stats_wilson_matches_reference_values)
{
	double lo, hi;

	pp_wilson(0, 10, PP_Z95, &lo, &hi);
	CHECK_NEAR(lo, 0.0, 1e-12);
	CHECK_NEAR(hi, 0.2775328, 1e-6);
	pp_wilson(5, 10, PP_Z95, &lo, &hi);
	CHECK_NEAR(lo, 0.2365931, 1e-6);
	CHECK_NEAR(hi, 0.7634069, 1e-6);
	pp_wilson(81, 263, PP_Z95, &lo, &hi);
	CHECK_NEAR(lo, 0.2552885, 1e-6);
	CHECK_NEAR(hi, 0.3662096, 1e-6);
	pp_wilson(3, 7, PP_Z95, &lo, &hi);
	CHECK_NEAR(lo, 0.1582199, 1e-6);
	CHECK_NEAR(hi, 0.7495416, 1e-6);
	pp_wilson(1, 1000, PP_Z95, &lo, &hi);
	CHECK_NEAR(lo, 0.00017655, 1e-7);
	CHECK_NEAR(hi, 0.00564256, 1e-7);
}

TEST(stats_wilson_is_exact_at_the_edges)
{
	double lo, hi;

	pp_wilson(10, 10, PP_Z95, &lo, &hi);
	CHECK(hi == 1.0);
	CHECK_NEAR(lo, 0.7224672, 1e-6);
	pp_wilson(0, 10, PP_Z95, &lo, &hi);
	CHECK(lo == 0.0);
	pp_wilson(0, 0, PP_Z95, &lo, &hi);
	CHECK(lo == 0.0 && hi == 1.0);
	/* Out-of-range counts are clamped, never outside [0, 1]. */
	pp_wilson(12, 10, PP_Z95, &lo, &hi);
	CHECK(hi == 1.0 && lo > 0.7 && lo < 0.73);
	pp_wilson(-3, 10, PP_Z95, &lo, &hi);
	CHECK(lo == 0.0 && hi < 0.28);
}

TEST(stats_wilson_narrows_with_n_and_widens_with_z)
{
	double lo1, hi1, lo2, hi2;

	pp_wilson(30, 100, PP_Z95, &lo1, &hi1);
	pp_wilson(300, 1000, PP_Z95, &lo2, &hi2);
	CHECK(hi2 - lo2 < hi1 - lo1);
	CHECK(lo1 < 0.3 && 0.3 < hi1);
	pp_wilson(30, 100, 2.5758293035489, &lo2, &hi2);
	CHECK(lo2 < lo1 && hi2 > hi1);
}

/* Newcombe (1998), example (a): 56/70 against 48/80, method 10. */
TEST(stats_newcombe_matches_the_published_example)
{
	double lo, hi;

	pp_newcombe(56, 70, 48, 80, PP_Z95, &lo, &hi);
	CHECK_NEAR(lo, 0.0524, 1e-4);
	CHECK_NEAR(hi, 0.3339, 1e-4);
	pp_newcombe(0, 0, 3, 10, PP_Z95, &lo, &hi);
	CHECK_NEAR(lo, -1.0, 1e-12);
	CHECK_NEAR(hi, 1.0, 1e-12);
}

/* Values computed independently (closed form in Python's math module). */
TEST(stats_ztest_pooled_and_its_degenerate_cases)
{
	double z, p;

	pp_ztest2(45, 100, 30, 100, &z, &p);
	CHECK_NEAR(z, 2.1908902300206647, 1e-9);
	CHECK_NEAR(p, 0.02845973691631057, 1e-9);
	pp_ztest2(0, 100, 0, 50, &z, &p);
	CHECK_NEAR(z, 0.0, 0);
	CHECK_NEAR(p, 1.0, 0);
	pp_ztest2(20, 20, 10, 10, &z, &p);
	CHECK_NEAR(p, 1.0, 0);
}

TEST(stats_binomial_tail_against_a_tiny_rate)
{
	CHECK_NEAR(pp_binom_greater(1, 10, 0.001), 0.009955119790251765, 1e-12);
	CHECK_NEAR(pp_binom_greater(3, 50, 0.001), 1.8921655140061335e-05, 1e-12);
	CHECK_NEAR(pp_binom_greater(0, 50, 0.001), 1.0, 0);
	CHECK(pp_binom_greater(100, 100000, 0.001) > 0.4);
}

TEST(stats_fisher_combines_with_the_floor)
{
	const double a[] = { 0.01, 0.02 }, b[] = { 0.04, 1e-12, 0.5 };
	double chi2;

	CHECK_NEAR(pp_fisher(a, 2, &chi2), 0.001903438638283249, 1e-12);
	CHECK_NEAR(chi2, 17.034386382832473, 1e-9);
	CHECK_NEAR(pp_fisher(b, 3, &chi2), 7.815248000285503e-10, 1e-15);
	CHECK_NEAR(chi2, 53.8757478707372, 1e-9);
	CHECK_NEAR(pp_fisher(NULL, 0, NULL), 1.0, 0);
	CHECK_STR_EQ(pp_stars(0.0005), "***");
	CHECK_STR_EQ(pp_stars(0.005), "**");
	CHECK_STR_EQ(pp_stars(0.02), "*");
	CHECK_STR_EQ(pp_stars(0.2), "");
}

/* Newcombe, "Two-sided confidence intervals for the single proportion:
 * comparison of seven methods", Stat Med 1998;17:857-872, worked
 * examples for the score (Wilson) method without continuity correction. */
TEST(stats_wilson_matches_newcombes_single_proportion_examples)
{
	double lo, hi;

	pp_wilson(81, 263, PP_Z95, &lo, &hi);
	CHECK_NEAR(lo, 0.2553, 5e-5);
	CHECK_NEAR(hi, 0.3662, 5e-5);
	pp_wilson(15, 148, PP_Z95, &lo, &hi);
	CHECK_NEAR(lo, 0.0624, 5e-5);
	CHECK_NEAR(hi, 0.1605, 5e-5);
	pp_wilson(0, 20, PP_Z95, &lo, &hi);
	CHECK(lo == 0.0);
	CHECK_NEAR(hi, 0.1611, 5e-5);
	pp_wilson(1, 29, PP_Z95, &lo, &hi);
	CHECK_NEAR(lo, 0.0061, 5e-5);
	CHECK_NEAR(hi, 0.1718, 5e-5);
}

/* Newcombe, "Interval estimation for the difference between independent
 * proportions: comparison of eleven methods", Stat Med 1998;17:873-890,
 * Table II, method 10, examples (b), (d), (e), (g) and (h). */
TEST(stats_newcombe_matches_the_published_table)
{
	double lo, hi;

	pp_newcombe(9, 10, 3, 10, PP_Z95, &lo, &hi);
	CHECK_NEAR(lo, 0.1705, 5e-5);
	CHECK_NEAR(hi, 0.8090, 5e-5);
	pp_newcombe(5, 56, 0, 29, PP_Z95, &lo, &hi);
	CHECK_NEAR(lo, -0.0381, 5e-5);
	CHECK_NEAR(hi, 0.1926, 5e-5);
	pp_newcombe(0, 10, 0, 20, PP_Z95, &lo, &hi);
	CHECK_NEAR(lo, -0.1611, 5e-5);
	CHECK_NEAR(hi, 0.2775, 5e-5);
	pp_newcombe(10, 10, 0, 20, PP_Z95, &lo, &hi);
	CHECK_NEAR(lo, 0.6791, 5e-5);
	CHECK_NEAR(hi, 1.0, 5e-5);
	pp_newcombe(10, 10, 0, 10, PP_Z95, &lo, &hi);
	CHECK_NEAR(lo, 0.6075, 5e-5);
	CHECK_NEAR(hi, 1.0, 5e-5);
}

/* Fisher's method has closed forms for one p (the p itself: chi-square on
 * 2 df is exponential) and for two (P = c (1 - ln c) with c = p1 p2, the
 * distribution of a product of two uniforms). */
TEST(stats_fisher_matches_its_closed_forms)
{
	const double one[] = { 0.037 }, two[] = { 0.3, 0.04 };
	double c = 0.3 * 0.04;

	CHECK_NEAR(pp_fisher(one, 1, NULL), 0.037, 1e-12);
	CHECK_NEAR(pp_fisher(two, 2, NULL), c * (1.0 - log(c)), 1e-12);
}

/* The MOVER interval of a difference is Newcombe's: his example (a). */
TEST(stats_mover_of_two_terms_is_newcombe)
{
	struct pp_term t[2];
	double v, lo, hi;

	t[0].w = 1.0;
	t[0].value = 56.0 / 70.0;
	pp_wilson(56, 70, PP_Z95, &t[0].lo, &t[0].hi);
	t[0].pool = 0;
	t[1].w = -1.0;
	t[1].value = 48.0 / 80.0;
	pp_wilson(48, 80, PP_Z95, &t[1].lo, &t[1].hi);
	t[1].pool = 1;
	pp_mover(t, 2, &v, &lo, &hi);
	CHECK_NEAR(v, 0.2, 1e-12);
	CHECK_NEAR(lo, 0.0524, 5e-5);
	CHECK_NEAR(hi, 0.3339, 5e-5);
}

/* Expected values from python3: the MOVER sums written out by hand over
 * Wilson intervals. A repeated estimate (one pool) adds linearly, so the
 * shared baseline of two differences counts with its full weight. */
TEST(stats_mover_averages_and_shared_terms)
{
	struct pp_term t[4];
	double v, lo, hi;
	long k[3] = { 81, 15, 1 }, n[3] = { 263, 148, 29 };
	int i;

	for (i = 0; i < 3; i++) {
		t[i].w = 1.0 / 3.0;
		t[i].value = (double)k[i] / (double)n[i];
		pp_wilson(k[i], n[i], PP_Z95, &t[i].lo, &t[i].hi);
		t[i].pool = (size_t)i;
	}
	pp_mover(t, 3, &v, &lo, &hi);
	CHECK_NEAR(v, 0.14793963361552193, 1e-12);
	CHECK_NEAR(lo, 0.12413488270626168, 1e-9);
	CHECK_NEAR(hi, 0.2014091551199918, 1e-9);

	/* (30/100 + 20/100) / 2 - 5/100, the baseline entered twice. */
	t[0].w = t[1].w = 0.5;
	t[0].value = 0.3;
	pp_wilson(30, 100, PP_Z95, &t[0].lo, &t[0].hi);
	t[1].value = 0.2;
	pp_wilson(20, 100, PP_Z95, &t[1].lo, &t[1].hi);
	t[2].w = t[3].w = -0.5;
	t[2].value = t[3].value = 0.05;
	pp_wilson(5, 100, PP_Z95, &t[2].lo, &t[2].hi);
	t[3].lo = t[2].lo;
	t[3].hi = t[2].hi;
	t[0].pool = 0;
	t[1].pool = 1;
	t[2].pool = t[3].pool = 2;
	pp_mover(t, 4, &v, &lo, &hi);
	CHECK_NEAR(v, 0.2, 1e-12);
	CHECK_NEAR(lo, 0.1189726345402531, 1e-9);
	CHECK_NEAR(hi, 0.27126817887124266, 1e-9);
	/* Clamped to what proportions allow: 1/1 twice is exactly 2. */
	t[0].w = t[1].w = 1.0;
	t[0].value = t[0].hi = t[1].value = t[1].hi = 1.0;
	t[0].lo = t[1].lo = 0.9;
	pp_mover(t, 2, &v, &lo, &hi);
	CHECK(hi == 2.0);
	pp_mover(t, 0, &v, &lo, &hi);
	CHECK(v == 0.0 && lo == 0.0 && hi == 0.0);
}

TEST(stats_estimates_carry_their_tests)
{
	struct pp_estimate e;
	struct pp_term t = { 1.0, 0.5, 0.2, 0.8, 0 };
	const double p[] = { 0.01, 0.02 };

	pp_estimate_rate(3, 50, PP_BINOM_P0, &e);
	CHECK(e.defined && e.tested);
	CHECK_NEAR(e.value, 0.06, 1e-12);
	CHECK_NEAR(e.p, 1.8921655140061335e-05, 1e-12);
	pp_estimate_rate(0, 50, PP_BINOM_P0, &e);
	CHECK(e.tested && e.p == 1.0 && e.lo == 0.0);
	pp_estimate_rate(4, 10, 0, &e);
	CHECK(e.defined && !e.tested && e.p == 1.0);
	pp_estimate_rate(0, 0, PP_BINOM_P0, &e);
	CHECK(!e.defined && !e.tested && e.lo == 0.0 && e.hi == 1.0);

	pp_estimate_diff(45, 100, 30, 100, &e);
	CHECK(e.defined && e.tested);
	CHECK_NEAR(e.value, 0.15, 1e-12);
	CHECK_NEAR(e.stat, 2.1908902300206647, 1e-9);
	CHECK_NEAR(e.p, 0.02845973691631057, 1e-9);
	pp_estimate_diff(4, 10, 0, 0, &e);
	CHECK(!e.defined && !e.tested && e.lo == -1.0 && e.hi == 1.0);

	pp_estimate_sum(&t, 1, p, 2, &e);
	CHECK(e.defined && e.tested && e.df == 4);
	CHECK_NEAR(e.value, 0.5, 1e-12);
	CHECK_NEAR(e.lo, 0.2, 1e-12);
	CHECK_NEAR(e.p, 0.001903438638283249, 1e-12);
	CHECK_NEAR(e.stat, 17.034386382832473, 1e-9);
	pp_estimate_sum(&t, 1, p, 0, &e);
	CHECK(e.defined && !e.tested && e.p == 1.0);
}
