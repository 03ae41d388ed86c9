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
