// The replication machine's broken variants, each caught at the lowest level: the same scenarios
// as replica_test.cpp with one mutation point switched on, and the property it breaks checked.
// (The simulator's checker must catch them too once the peer runs on replication.)
#include <boost/test/unit_test.hpp>

#include "property_run.hpp"
#include "membership_scenarios.hpp"
#include "scenarios.hpp"
#include "tp/mutant/mutant.hpp"

using namespace tp::replication;
using namespace tp::replication::test;

namespace {

// Switches one variant on for a test's life.
struct Broken {
    bool& point;
    explicit Broken(bool& p) : point(p) { point = true; }
    ~Broken() { point = false; }
};

// How many replicas hold `text` at `at`.
std::size_t holders(Cluster& c, std::size_t n, Position at, const std::string& text) {
    std::size_t count = 0;
    for (PeerId p = 1; p <= n; ++p) {
        const Entry* e = c[p].entry(at);
        if (e != nullptr && e->payload == bytes(text)) ++count;
    }
    return count;
}

// Whether two replicas hold different committed entries at one position.
bool committed_prefixes_disagree(Cluster& c, std::size_t n) {
    for (PeerId a = 1; a <= n; ++a) {
        for (PeerId b = a + 1; b <= n; ++b) {
            const Position upto = std::min(c[a].commit(), c[b].commit());
            for (Position at = std::max(c[a].first(), c[b].first()); at <= upto; ++at) {
                const Entry* x = c[a].entry(at);
                const Entry* y = c[b].entry(at);
                if (x != nullptr && y != nullptr && !(*x == *y)) return true;
            }
        }
    }
    return false;
}

// A record committed with fewer than a quorum holding it: the scenario of commit_needs_a_quorum.
bool commits_without_quorum() {
    Cluster c(5);
    c.lead(5, epoch(1, 5));
    c.deliver();
    c.cut(5, 1);
    c.cut(5, 2);
    c.cut(5, 3);
    const auto at = c.propose(5, "buy 1");
    c.deliver();
    return c[5].commit() >= *at && holders(c, 5, *at, "buy 1") < c[5].quorum();
}

// A committed record missing from a new trader's log: a_new_trader_pulls_committed_records_it_lacks.
bool loses_a_committed_record() {
    Cluster c(5);
    c.lead(5, epoch(1, 5));
    c.deliver();
    c.cut(5, 1);
    c.cut(5, 2);
    c.propose(5, "r1");
    c.deliver();
    const Position committed = c[5].commit();
    c.crash(5);
    c.heal();
    c.lead(2, epoch(2, 2));
    c.settle(3);
    const Entry* e = c[2].entry(committed);
    return c[2].serving() && (e == nullptr || e->payload != bytes("r1"));
}

// An old trader getting a record committed after a quorum joined a newer epoch.
bool old_epoch_commits() {
    Cluster c(3);
    c.lead(3, epoch(1, 3));
    c.deliver();
    c.cut(2, 3);
    c.lead(2, epoch(2, 2));
    c.deliver();
    const auto at = c.propose(3, "stale");
    c.deliver();
    c.propose(2, "fresh");
    c.deliver();
    return (c[3].commit() >= *at && holders(c, 3, *at, "stale") > 0) ||
           committed_prefixes_disagree(c, 3);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(replication_broken_variants)

BOOST_AUTO_TEST_CASE(the_scenarios_hold_without_a_broken_variant) {
    BOOST_TEST(!commits_without_quorum());
    BOOST_TEST(!loses_a_committed_record());
    BOOST_TEST(!old_epoch_commits());
}

BOOST_AUTO_TEST_CASE(commit_before_quorum_is_caught) {
    Broken on(tp::mutant::commit_before_quorum);
    BOOST_TEST(commits_without_quorum());
}

BOOST_AUTO_TEST_CASE(skipping_the_log_collection_is_caught) {
    Broken on(tp::mutant::skip_log_collection);
    BOOST_TEST(loses_a_committed_record());
}

BOOST_AUTO_TEST_CASE(accepting_an_older_epochs_append_is_caught) {
    Broken on(tp::mutant::accept_old_epoch_append);
    BOOST_TEST(old_epoch_commits());
}

BOOST_AUTO_TEST_CASE(acking_an_older_reign_after_joining_a_newer_one_is_caught) {
    BOOST_TEST(!an_old_reign_commits_after_its_replica_joined_a_newer_one());
    Broken on(tp::mutant::ack_after_newer_reign);
    BOOST_TEST(an_old_reign_commits_after_its_replica_joined_a_newer_one());
}

// Issue 18: the replica set changes one member at a time, and a view change hears a quorum of
// the set the log it adopts names.
BOOST_AUTO_TEST_CASE(two_changes_at_once_are_caught) {
    BOOST_TEST(!two_changes_at_once_lose_a_record());
    Broken on(tp::mutant::two_changes_at_once);
    BOOST_TEST(two_changes_at_once_lose_a_record());
}

BOOST_AUTO_TEST_CASE(counting_a_set_never_heard_is_caught) {
    BOOST_TEST(!a_view_change_serves_without_a_quorum_of_the_set_it_adopted());
    Broken on(tp::mutant::count_an_unheard_set);
    BOOST_TEST(a_view_change_serves_without_a_quorum_of_the_set_it_adopted());
}

// The randomized runs find each variant too, within seeds 1..100000 (a few seconds). The last two
// are rare: with at most two Appends in flight an old-epoch append seldom meets a replica that
// moved on (seed 6556), and an ack outliving its reign needs a slow sync across a view change
// (seed 75854). Each variant's scenario above is the test that shows it at once.
BOOST_AUTO_TEST_CASE(the_randomized_runs_catch_every_variant) {
    for (bool* point : {&tp::mutant::commit_before_quorum, &tp::mutant::skip_log_collection,
                        &tp::mutant::accept_old_epoch_append, &tp::mutant::ack_after_newer_reign}) {
        Broken on(*point);
        int caught_at = 0;
        for (int seed = 1; seed <= 100000 && caught_at == 0; ++seed) {
            Run run(static_cast<std::uint64_t>(seed));
            for (int i = 0; i < 400; ++i) {
                run.step();
                if (!run.check().empty()) {
                    caught_at = seed;
                    break;
                }
            }
        }
        BOOST_TEST(caught_at != 0);
        BOOST_TEST_MESSAGE("caught at seed " << caught_at);
    }
}

BOOST_AUTO_TEST_SUITE_END()
