// A seller trading on its own (not scripted) whose deposit goes unacknowledged past its restock
// time: it resends once per request timeout, and never in a loop that does not suspend (it once
// did, which froze a whole peer process).
#include <boost/test/unit_test.hpp>

#include <type_traits>
#include <variant>

#include "tp/peer/local_market.hpp"
#include "tp/peer/log.hpp"

using namespace std::chrono_literals;
using namespace tp;

BOOST_AUTO_TEST_CASE(an_unacknowledged_deposit_is_resent_once_per_request_timeout) {
    static_assert(std::is_same_v<std::variant_alternative_t<0, wire::Body>, wire::Deposit>);
    peer::configure_logging({spdlog::level::err, true});
    peer::Config c;
    c.seed = 5;
    c.peers = 3;
    c.roles = {peer::Role::seller, peer::Role::buyer, peer::Role::seller};
    c.network.transport = peer::TransportKind::memory;
    c.failure.probability = 0;
    c.behaviour.max_transactions = 1'000'000'000;  // the market runs until stopped
    c.storage.durability = peer::Durability::none;
    // The shared journal: a trader serves alone, so cutting the seller off leaves a market. (With
    // replicas, a trader needs a quorum of 2 of 3 to serve, and the cut-off seller is one of them.)
    c.replication.mode = peer::ReplicationMode::shared;
    runtime::Runtime rt(runtime::Mode::virtual_time);
    peer::LocalMarket m(c, rt);

    // The seller (peer 1) cannot reach the trader (peer 3): its deposits go unanswered.
    m.start();
    m.memory_network()->cut(1, 3);
    rt.run_for(1s);
    BOOST_TEST_REQUIRE(m.trader().value_or(0) == 3u);
    BOOST_REQUIRE(m.node(1)->seller().lots.size() == 1);
    BOOST_REQUIRE(!m.node(1)->seller().lots.front().acked);

    // Four request timeouts (ten restock intervals) pass without an acknowledgement.
    const auto deposits = [&] { return m.node(1)->counters().sent_by_kind[0]; };
    const auto before = deposits();
    rt.run_for(4 * c.behaviour.request_timeout);
    BOOST_TEST(deposits() - before >= 3u);
    BOOST_TEST(deposits() - before <= 5u);
    BOOST_TEST(m.node(1)->seller().lots.size() == 1u);  // no restock while one is unacknowledged

    // The link heals: the next resend is acknowledged.
    m.memory_network()->restore(1, 3);
    rt.run_for(c.behaviour.request_timeout + 100ms);
    BOOST_TEST(m.node(1)->seller().lots.front().acked);

    m.request_stop();
    while (!m.done()) rt.run_for(10ms);
}
