// The default run tells the original lab's story every time (issue 14): several buyers and
// sellers trade, the trader fails once, a new one is elected, the old trader comes back as a
// buyer or seller and trades, and the books balance. Seeds 5 and 7 once showed no failure at all.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>

#include "tp/peer/config.hpp"
#include "tp/peer/local_market.hpp"
#include "tp/peer/log.hpp"
#include "tp/runtime/runtime.hpp"

namespace {

using namespace std::chrono_literals;
using tp::peer::Role;
using tp::peer::TransportKind;

// A default market but for the transport, the seed and a shorter run: the failure schedule is
// the default one.
tp::peer::Summary run_default(TransportKind kind, std::uint64_t seed, std::uint32_t requests) {
    tp::peer::Config c;
    c.seed = seed;
    c.network.transport = kind;
    c.behaviour.max_transactions = requests;
    if (kind == TransportKind::memory) c.storage.durability = tp::peer::Durability::none;
    BOOST_REQUIRE(!c.failure.probability);  // the story schedule is the default
    tp::peer::configure_logging({spdlog::level::warn, true});
    tp::runtime::Runtime rt(kind == TransportKind::memory ? tp::runtime::Mode::virtual_time
                                                          : tp::runtime::Mode::real_time);
    tp::peer::LocalMarket market(c, rt);
    market.start();
    const auto end = rt.now() + 120s;
    while (!market.done() && rt.now() < end) rt.run_for(50ms);
    BOOST_REQUIRE_MESSAGE(market.done(), "seed " << seed << " did not finish");
    return market.summary();
}

void check_story(const tp::peer::Summary& s) {
    const auto seed = s.seed;
    BOOST_TEST_CONTEXT("seed " << seed) {
        BOOST_TEST(s.ok());
        for (const auto& v : s.violations) BOOST_ERROR(v);
        // Exactly one failure, of the first trader.
        BOOST_TEST_REQUIRE(s.failures.size() == 1u);
        const auto& f = s.failures.front();
        BOOST_TEST(f.was_trader);
        BOOST_TEST_REQUIRE(s.traders.size() >= 2u);
        BOOST_TEST(s.traders.front().first == f.peer);
        // Another peer was elected after it, in a later epoch.
        BOOST_TEST(s.traders[1].first != f.peer);
        BOOST_TEST(s.elected_at[1] >= f.at);
        BOOST_TEST(s.traders[1].second > s.traders[0].second);
        // The old trader came back, as a customer, and traded in its new life.
        BOOST_TEST_REQUIRE(s.returns.size() == 1u);
        const auto& r = s.returns.front();
        BOOST_TEST(r.peer == f.peer);
        BOOST_TEST(r.at > f.at);
        BOOST_TEST(r.traded());
        // Trading happened before and after the failure, with sellers paid.
        BOOST_TEST(s.filled > 0u);
        BOOST_TEST(s.sellers.size() >= 1u);
    }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(story)

// Every seed, on virtual time: the schedule does not depend on luck.
BOOST_AUTO_TEST_CASE(every_seed_shows_a_failover_and_the_old_trader_trading_memory) {
    for (std::uint64_t seed = 1; seed <= 30; ++seed)
        check_story(run_default(TransportKind::memory, seed, 6));
}

// Several buyers and several sellers among the first trader's customers, whatever the seed.
BOOST_AUTO_TEST_CASE(the_drawn_roles_give_several_buyers_and_sellers) {
    for (std::uint64_t seed = 1; seed <= 200; ++seed) {
        tp::peer::Config c;
        c.seed = seed;
        c.network.transport = TransportKind::memory;
        tp::runtime::Runtime rt(tp::runtime::Mode::virtual_time);
        tp::peer::LocalMarket market(c, rt);
        market.start();  // the roles are settled when the market starts
        int buyers = 0, sellers = 0;
        for (auto id : market.peers()) {
            if (id == market.peers().back()) continue;  // the first trader
            (market.role(id) == Role::seller ? sellers : buyers) += 1;
        }
        BOOST_TEST(buyers >= 2, "seed " << seed);
        BOOST_TEST(sellers >= 2, "seed " << seed);
        market.request_stop();
        while (!market.done()) rt.run_for(10ms);
    }
}

// The default transport, in real time, shortened by fewer requests per buyer.
BOOST_AUTO_TEST_CASE(the_default_run_over_udp_shows_the_story) {
    check_story(run_default(TransportKind::udp, 11, 4));
}

BOOST_AUTO_TEST_SUITE_END()

// The original lab's schedule (the trader fails with a probability per time quantum) ends when
// the buyers are done, however often the trader fails. Waiting also for every failed peer to be
// back, as the story schedule does, never ended it: one was nearly always due.
BOOST_AUTO_TEST_CASE(the_original_lab_schedule_ends_when_the_buyers_are_done) {
    tp::peer::Config c;
    c.seed = 13;
    c.network.transport = TransportKind::memory;
    c.storage.durability = tp::peer::Durability::none;
    c.failure.probability = 0.5;
    c.behaviour.max_transactions = 20;
    tp::peer::configure_logging({spdlog::level::warn, true});
    tp::runtime::Runtime rt(tp::runtime::Mode::virtual_time);
    tp::peer::LocalMarket market(c, rt);
    market.start();
    const auto end = rt.now() + 600s;
    while (!market.done() && rt.now() < end) rt.run_for(50ms);
    BOOST_REQUIRE_MESSAGE(market.done(), "the run did not end in 600 s of its time");
    const auto s = market.summary();
    BOOST_TEST(s.ok());
    for (const auto& v : s.violations) BOOST_ERROR(v);
    BOOST_TEST(s.failures.size() > 1u);
}
