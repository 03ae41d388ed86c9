/* Unit tests of src/stats. Reference values were computed independently
 * with python3 (the closed form, and bisection on the score equation
 * (p^ - p)^2 = z^2 p (1 - p) / n), not taken from this code. */
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
