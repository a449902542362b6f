#include <boost/test/unit_test.hpp>
#include <cmath>
#include <vector>

#include "tp/runtime/random.hpp"

using tp::runtime::RandomStreams;
using tp::runtime::Rng;

namespace {

std::vector<std::uint64_t> draw(Rng r, int n) {
    std::vector<std::uint64_t> v;
    for (int i = 0; i < n; ++i) v.push_back(r());
    return v;
}

// |observed - expected| within k standard deviations of a binomial(n, p) count.
bool within_sigma(double observed, double n, double p, double k = 5) {
    return std::abs(observed - n * p) <= k * std::sqrt(n * p * (1 - p));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(random_streams)

BOOST_AUTO_TEST_CASE(streams_are_reproducible_and_independent) {
    const RandomStreams s(2026);
    BOOST_TEST(draw(s.stream("peer", 3), 8) == draw(RandomStreams(2026).stream("peer", 3), 8));
    BOOST_TEST(draw(s.stream("peer", 3), 8) != draw(s.stream("peer", 4), 8));
    BOOST_TEST(draw(s.stream("peer", 3), 8) != draw(s.stream("network", 3), 8));
    BOOST_TEST(draw(s.stream("peer", 3), 8) != draw(RandomStreams(2027).stream("peer", 3), 8));
}

BOOST_AUTO_TEST_CASE(uniform_int_stays_in_range_and_covers_it) {
    Rng r(1);
    std::vector<int> hits(7, 0);
    for (int i = 0; i < 70'000; ++i) {
        const auto x = r.uniform_int(10, 16);
        BOOST_REQUIRE(x >= 10u);
        BOOST_REQUIRE(x <= 16u);
        ++hits[x - 10];
    }
    for (int h : hits) BOOST_TEST(within_sigma(h, 70'000, 1.0 / 7));
    BOOST_TEST(r.uniform_int(5, 5) == 5u);
    (void)r.uniform_int(0, ~0ULL);  // the full range does not overflow
}

BOOST_AUTO_TEST_CASE(uniform_real_bernoulli_and_exponential_have_their_moments) {
    Rng r(2);
    const int n = 100'000;
    int heads = 0;
    double sum_u = 0, sum_e = 0;
    for (int i = 0; i < n; ++i) {
        const double u = r.uniform_real();
        BOOST_REQUIRE(u >= 0.0);
        BOOST_REQUIRE(u < 1.0);
        sum_u += u;
        heads += r.bernoulli(0.2);
        sum_e += r.exponential(3.0);
    }
    BOOST_TEST(within_sigma(heads, n, 0.2));
    BOOST_TEST(std::abs(sum_u / n - 0.5) < 5 * std::sqrt(1.0 / 12 / n));
    BOOST_TEST(std::abs(sum_e / n - 3.0) < 5 * 3.0 / std::sqrt(n));
    BOOST_TEST(!r.bernoulli(0.0));
    BOOST_TEST(r.bernoulli(1.0));
}

BOOST_AUTO_TEST_SUITE_END()
