// The statistics of `trading-post bench` (the program's own code, apps/trading-post): what the
// repeated runs of one cell report, and the fitted line that says whether failover cost grows.
#include <boost/test/unit_test.hpp>

#include <vector>

#include "bench_stats.hpp"

using namespace tp::app::bench;

BOOST_AUTO_TEST_SUITE(bench_stats)

BOOST_AUTO_TEST_CASE(the_spread_is_the_median_run_with_the_least_and_the_most) {
    // Three runs, out of order.
    const Spread s = spread({30, 10, 20});
    BOOST_TEST(s.median == 20);
    BOOST_TEST(s.min == 10);
    BOOST_TEST(s.max == 30);
    BOOST_TEST(s.runs == 3u);
}

BOOST_AUTO_TEST_CASE(an_even_count_reports_a_value_some_run_gave) {
    // The lower middle, never an average of two runs (no run gave 25).
    BOOST_TEST(spread({40, 10, 30, 20}).median == 20);
    BOOST_TEST(spread({7}).median == 7);
}

BOOST_AUTO_TEST_CASE(no_runs_make_an_empty_spread) {
    const Spread s = spread({});
    BOOST_TEST(s.runs == 0u);
    BOOST_TEST(s.median == 0);
}

BOOST_AUTO_TEST_CASE(the_median_run_is_found_by_its_figure) {
    // Run 2 (index 2) has the median p50; its samples are the ones plotted.
    BOOST_TEST(median_run({5.0, 9.0, 7.0}) == 2u);
    // Ties: the earlier run.
    BOOST_TEST(median_run({3.0, 3.0, 3.0}) == 1u);
    BOOST_TEST(median_run({}) == 0u);
}

BOOST_AUTO_TEST_CASE(a_fitted_line_finds_a_drift_and_a_flat_series) {
    // Unavailability that grows 0.4 ms per crash from 40 ms.
    std::vector<double> x, growing, flat;
    for (int i = 1; i <= 100; ++i) {
        x.push_back(i);
        growing.push_back(40 + 0.4 * i);
        flat.push_back(i % 2 == 0 ? 41 : 39);  // noise around 40, no trend
    }
    const auto g = fit_line(x, growing);
    BOOST_TEST_REQUIRE(g.has_value());
    BOOST_TEST(g->slope == 0.4, boost::test_tools::tolerance(1e-9));
    BOOST_TEST(g->intercept == 40, boost::test_tools::tolerance(1e-9));
    const auto f = fit_line(x, flat);
    BOOST_TEST_REQUIRE(f.has_value());
    BOOST_TEST(f->slope < 0.001);
    BOOST_TEST(f->slope > -0.001);
}

BOOST_AUTO_TEST_CASE(a_line_needs_two_distinct_points) {
    const std::vector<double> one{1}, same{2, 2}, y{3, 4};
    BOOST_TEST(!fit_line(one, std::vector<double>{1}).has_value());
    BOOST_TEST(!fit_line(same, y).has_value());
    BOOST_CHECK_THROW(fit_line(one, y), std::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()
