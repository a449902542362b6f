// Elections and failovers of the whole market: a single trader known to every live peer after
// each crash, never two leaders claiming one epoch, and nothing confirmed lost or done twice.
#include <boost/test/unit_test.hpp>

#include <map>

#include "market_fixture.hpp"

using namespace tp::system_test;

namespace {

// Records which peer claimed each epoch it led, on every step; fails on a second claimant.
struct EpochWatch {
    std::map<tp::wire::Epoch, PeerId> claims;
    bool check(tp::peer::LocalMarket& m) {
        for (PeerId id : m.peers()) {
            auto* n = m.node(id);
            if (n == nullptr || !n->election().is_leader()) continue;
            auto [it, fresh] = claims.emplace(n->epoch(), id);
            if (!fresh && it->second != id) {
                BOOST_ERROR("epoch " << n->epoch() << " claimed by " << it->second << " and "
                                     << id);
                return false;
            }
        }
        return true;
    }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(failover)

TP_ON_EVERY_TRANSPORT(every_crash_of_the_trader_ends_with_one_trader_known_to_all) {
    const bool memory = kind == TransportKind::memory;
    Market m(kind, std::vector<Role>(6, Role::buyer),
             [](tp::peer::Config& c) { c.failure.recovery_delay = 150ms; });
    if (auto* net = m->memory_network()) {
        // A lossy, jittery network: timeouts must carry the elections through.
        tp::transport::LinkFaults faults;
        faults.drop = 0.05;
        faults.duplicate = 0.02;
        faults.delay.fixed = 100us;
        faults.delay.jitter = 2ms;
        net->set_faults(faults);
    }
    EpochWatch watch;
    auto settled = [&] {
        if (!watch.check(m.get())) return true;  // stop at once; the error is recorded
        const auto t = m->trader();
        if (!t) return false;
        for (PeerId id : m->peers()) {
            auto* n = m->node(id);
            if (n == nullptr) return false;  // wait for the restarted peer too
            if (n->leader() != t) return false;
        }
        return true;
    };
    BOOST_REQUIRE(m.run_until(settled));
    const int rounds = memory ? 30 : 6;
    for (int round = 0; round < rounds; ++round) {
        // The trader fails, and comes back 150 ms later (policy defer).
        const PeerId old = *m->trader();
        m->crash(old, 150ms);
        // A new trader is elected, the old one returns, and every peer agrees.
        BOOST_REQUIRE_MESSAGE(m.run_until(settled), "round " << round << " did not settle");
        BOOST_TEST(*m->trader() != old);
    }
    BOOST_TEST(m->traders().size() == static_cast<std::size_t>(rounds + 1));
    // Epochs only grew.
    for (std::size_t i = 1; i < m->traders().size(); ++i) {
        BOOST_TEST(m->traders()[i].epoch > m->traders()[i - 1].epoch);
    }
}

// Random trading with the trader failing often: the durable books, the buyers' answers and the
// sellers' payments must agree at the end (LocalMarket::summary checks them).
TP_ON_EVERY_TRANSPORT(nothing_confirmed_is_lost_or_done_twice_across_many_failovers) {
    const bool memory = kind == TransportKind::memory;
    for (std::uint64_t seed :
         memory ? std::vector<std::uint64_t>{1, 2, 3, 4} : std::vector<std::uint64_t>{5}) {
        tp::peer::Config c;
        c.seed = seed;
        c.peers = 6;
        c.network.transport = kind;
        c.behaviour.max_transactions = memory ? 40 : 30;
        c.behaviour.think_time = 5ms;
        c.behaviour.request_timeout = 100ms;
        // Over UDP (one seed, real time) the trader fails every quantum, so failovers happen.
        c.failure.probability = memory ? 0.7 : 1.0;
        c.failure.time_quantum = memory ? 150ms : 200ms;
        c.failure.recovery_delay = 100ms;
        c.election.heartbeat_interval = 10ms;
        c.election.election_timeout = 40ms;
        c.election.answer_timeout = 15ms;
        c.storage.durability = memory ? tp::peer::Durability::none : tp::peer::Durability::group;
        tp::peer::configure_logging({spdlog::level::warn, true});
        tp::runtime::Runtime rt(memory ? tp::runtime::Mode::virtual_time
                                       : tp::runtime::Mode::real_time);
        tp::peer::LocalMarket market(c, rt);
        if (auto* net = market.memory_network()) {
            tp::transport::LinkFaults faults;
            faults.drop = 0.02;
            faults.duplicate = 0.02;
            faults.delay.jitter = 1ms;
            net->set_faults(faults);
        }
        market.start();
        const auto end = rt.now() + 60s;
        while (!market.done() && rt.now() < end) rt.run_for(10ms);
        BOOST_REQUIRE_MESSAGE(market.done(), "seed " << seed << " did not finish");
        const auto s = market.summary();
        BOOST_TEST_MESSAGE("seed " << seed << ": " << s.requests << " requests, " << s.crashes
                                   << " crashes");
        BOOST_TEST(s.crashes > 0u);
        BOOST_TEST(s.requests > 0u);
        BOOST_TEST(s.ok());
        for (const auto& v : s.violations) BOOST_ERROR("seed " << seed << ": " << v);
    }
}

BOOST_AUTO_TEST_SUITE_END()

// A peer back from a crash starts from the highest epoch it had seen (durable peer state). It
// used to start from nothing: alone after a restart, it claimed again the reign it had before
// the crash ("6 (epoch 1:6)" twice in the list of traders).
BOOST_AUTO_TEST_CASE(a_restarted_peer_never_claims_a_reign_it_had) {
    Market m(TransportKind::memory, {Role::seller, Role::buyer, Role::buyer});
    // Step 1: peer 3 leads the first reign.
    BOOST_REQUIRE(m.settle_on(3));
    const auto first = m.node(3).epoch();
    // Step 2: peer 3 crashes and comes back cut off from everyone, so it hears of no leader.
    m->crash(3, 100ms);
    auto* net = m->memory_network();
    for (PeerId p : {1, 2}) {
        net->cut(3, p);
        net->cut(p, 3);
    }
    // Step 3: alone, it elects itself, in an epoch above the one it led before.
    BOOST_REQUIRE(m.run_until([&] {
        const auto* n = m->node(3);
        return n != nullptr && n->election().is_leader();
    }));
    BOOST_TEST(m.node(3).epoch() > first, tp::election::epoch_text(m.node(3).epoch())
                                              << " is not above "
                                              << tp::election::epoch_text(first));
    // Every reign the market saw is new.
    for (std::size_t i = 1; i < m->traders().size(); ++i) {
        BOOST_TEST(m->traders()[i].epoch > m->traders()[i - 1].epoch);
    }
}
