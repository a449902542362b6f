// Randomized runs with fixed seeds: sparse ids, lost and delayed messages, the leader (and others)
// crashing and coming back with their memory lost. Checked on every step by the fake network: no
// two peers ever claim the same epoch, and no peer's epoch goes back within one life. Checked at
// the end, once the faults stop and time passes: every live peer knows the same live leader in the
// same epoch, and it stays so; under bully, that leader is the highest live id.

#include "data_test_case.hpp"
#include <boost/test/unit_test.hpp>

#include "fake_network.hpp"

using namespace tp::election;
using namespace tp::election::test;
namespace bdata = boost::unit_test::data;

namespace {

struct Outcome {
    std::optional<PeerId> leader;
    std::string violation;
    std::vector<PeerId> live;
    std::size_t claims = 0;
};

Outcome run(std::uint64_t seed, RecoveryPolicy policy) {
    std::mt19937_64 rng(seed);
    // 3 to 9 peers with sparse ids.
    const std::size_t n = 3 + rng() % 7;
    std::vector<PeerId> ids;
    while (ids.size() < n) {
        const auto id = static_cast<PeerId>(1 + rng() % 1000);
        if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
    }
    Config c;
    c.policy = policy;
    FakeNetwork net(ids, c, seed);
    net.set_faults(Faults{0.05 + static_cast<double>(rng() % 25) / 100.0, 0ms, 4ms});
    net.start_all();
    // Twelve rounds of faults: run a while, then crash the leader, crash someone, or bring a
    // crashed peer back (always leaving one peer up).
    for (int round = 0; round < 12; ++round) {
        net.run_for(Duration(std::chrono::milliseconds(20 + rng() % 150)));
        const auto live = net.live_ids();
        std::vector<PeerId> dead;
        for (PeerId id : net.ids())
            if (!net.alive(id)) dead.push_back(id);
        switch (rng() % 3) {
            case 0: {  // crash whoever leads (by its own belief)
                for (PeerId id : live)
                    if (net.peer(id).is_leader() && net.live_ids().size() > 1) net.crash(id);
                break;
            }
            case 1:
                if (live.size() > 1) net.crash(live[rng() % live.size()]);
                break;
            case 2:
                if (!dead.empty()) net.recover(dead[rng() % dead.size()]);
                break;
        }
    }
    // Faults stop: no more loss (latency stays), and time passes.
    net.set_faults(Faults{0.0, 0ms, 4ms});
    net.run_until([&] { return net.agreed_leader().has_value(); }, net.now() + 3s);
    Outcome out;
    out.leader = net.agreed_leader();
    // Stable: a further second changes nothing.
    const Epoch epoch = out.leader ? net.peer(*out.leader).epoch() : no_epoch;
    net.run_for(1s);
    if (net.agreed_leader() != out.leader || (out.leader && net.peer(*out.leader).epoch() != epoch))
        out.leader.reset();
    out.violation = net.violation();
    out.live = net.live_ids();
    out.claims = net.claims().size();
    return out;
}

// Seeds 1..60 (a plain vector: Boost's xrange trips GCC's maybe-uninitialized under sanitizers).
std::vector<int> seeds() {
    std::vector<int> s(60);
    for (std::size_t i = 0; i < s.size(); ++i) s[i] = static_cast<int>(i) + 1;
    return s;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(bully_properties)

BOOST_DATA_TEST_CASE(converges_to_one_leader_under_defer, bdata::make(seeds()), seed) {
    const auto out = run(static_cast<std::uint64_t>(seed), RecoveryPolicy::defer);
    BOOST_TEST(out.violation.empty(), out.violation);
    BOOST_TEST(out.leader.has_value());
    BOOST_TEST(out.claims >= 1u);
}

BOOST_DATA_TEST_CASE(converges_to_the_highest_live_peer_under_bully, bdata::make(seeds()), seed) {
    const auto out = run(static_cast<std::uint64_t>(seed), RecoveryPolicy::bully);
    BOOST_TEST(out.violation.empty(), out.violation);
    BOOST_REQUIRE(out.leader.has_value());
    BOOST_TEST(*out.leader == out.live.back());
}

BOOST_AUTO_TEST_SUITE_END()
