// Randomized runs of five replicas with fixed seeds (property_run.hpp says what a run does and
// checks), and then liveness once everyone is up, connected and syncing.
#include <boost/test/unit_test.hpp>

#include "property_run.hpp"

using namespace tp::replication;
using namespace tp::replication::test;


BOOST_AUTO_TEST_SUITE(replica_property)

// Seeds 1..2000 in one case (a data-driven case per seed trips g++ 12's false -Wrestrict and
// -Wmaybe-uninitialized in Boost's name generation under -O3 and the sanitizers).
void one_run(int seed);

BOOST_AUTO_TEST_CASE(committed_records_agree_and_are_never_lost) {
    for (int seed = 1; seed <= 2000; ++seed) {
        BOOST_TEST_CONTEXT("seed " << seed) { one_run(seed); }
    }
}

void one_run(int seed) {
    Run run(static_cast<std::uint64_t>(seed));
    for (int i = 0; i < 400; ++i) {
        run.step();
        const std::string violation = run.check();
        BOOST_TEST_INFO("seed " << seed << " step " << i);
        BOOST_REQUIRE_MESSAGE(violation.empty(), violation);
    }
    // Liveness where it is due: with everyone up and connected, a leader serves and commits.
    run.c.heal();
    for (PeerId p = 1; p <= n; ++p) {
        if (run.c.is_down(p)) run.c.restart(p);
        if (run.c.sync_held(p)) {
            run.c.hold_sync(p, false);
            run.c.sync(p);
        }
    }
    run.c.settle(5);
    const PeerId p = static_cast<PeerId>(1 + seed % n);
    run.c.lead(p, epoch(run.term + 1, p));
    for (PeerId q = 1; q <= n; ++q) {
        if (q != p) run.c.follow(q, epoch(run.term + 1, p));
    }
    run.c.settle(40);
    BOOST_TEST_INFO("seed " << seed);
    BOOST_TEST(run.c[p].serving());
    BOOST_TEST(run.check().empty(), run.check());
    // Every record ever committed is in the final trader's log, where it was.
    for (const auto& [at, e] : run.committed) {
        if (at < run.c[p].first()) continue;
        BOOST_REQUIRE(run.c[p].entry(at) != nullptr);
        BOOST_TEST((*run.c[p].entry(at) == e));
    }
}

BOOST_AUTO_TEST_SUITE_END()
