// The replica set changing one member at a time through the log (issue 18), stepped by hand over
// the fake network: a config record counts from the moment it is in a log, a learner is caught up
// without counting, a trader that removes itself steps down, and a view change collects again
// from the set the log it adopts names.
#include <boost/test/unit_test.hpp>

#include "membership_scenarios.hpp"

using namespace tp::replication;
using namespace tp::replication::test;

namespace {

// Whether peer `p`'s set is exactly `ids`.
bool set_is(Cluster& c, PeerId p, std::vector<PeerId> ids) {
    return c[p].voters() == ids;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(replica_membership)

BOOST_AUTO_TEST_CASE(a_voter_added_through_the_log_counts_from_its_record_on) {
    // Peers 1..3 are the set; 4 keeps a replica as a learner. Peer 3 serves.
    Cluster c(4, {}, with_set({1, 2, 3}));
    start_serving(c, 3);
    BOOST_TEST(set_is(c, 3, {1, 2, 3}));
    BOOST_TEST(!c[4].voter());
    // The trader ships its log to 4, which is caught up but counts in no quorum yet.
    c[3].set_learners({4}, c.now());
    c.carry(3);
    c.deliver();
    BOOST_TEST(c[4].last() == c[3].last());
    // The change is proposed: the set is 1..4 at the trader at once, and quorum 3 of 4.
    const auto change = c.propose(3, "+4", EntryKind::config);
    BOOST_REQUIRE(change.has_value());
    BOOST_TEST(set_is(c, 3, {1, 2, 3, 4}));
    BOOST_TEST(c[3].quorum() == 3u);
    BOOST_TEST(c[3].learners().empty());
    c.deliver();
    BOOST_TEST(c[3].commit() == *change);
    BOOST_TEST(c[4].voter());
    // Replica 1 is cut off and 4's syncs hang: the trader and 2, a quorum of the old set, are
    // two of four now; 4's ack makes the third.
    c.cut(3, 1);
    c.hold_sync(4, true);
    const auto x = c.propose(3, "x");
    c.deliver();
    BOOST_TEST(c[2].commit() < *x);
    BOOST_TEST(c[3].commit() < *x);
    c.sync(4);
    c.deliver();
    BOOST_TEST(c[3].commit() == *x);
}

BOOST_AUTO_TEST_CASE(a_learner_is_caught_up_but_counts_in_no_quorum) {
    Cluster c(4, {}, with_set({1, 2, 3}));
    serve_with_learners(c, {4});
    // 1 and 2 are cut off: the learner's ack alone does not commit anything.
    c.cut(3, 1);
    c.cut(3, 2);
    const auto x = c.propose(3, "x");
    c.deliver();
    BOOST_TEST(c[4].last() == *x);
    BOOST_TEST(c.disk(4).last() == *x);
    BOOST_TEST(c[3].match_of(4) == *x);
    BOOST_TEST(c[3].commit() < *x);
    // Nor does it make the trader think it has a quorum, or let the learner lead.
    c.tick(std::chrono::milliseconds(600));
    BOOST_TEST(!c[3].has_quorum(c.now()));
    c.lead(4, epoch(2, 4));
    BOOST_TEST(c[4].reign() == 0u);
    BOOST_TEST((c[4].phase() == Phase::follower));
}

BOOST_AUTO_TEST_CASE(one_change_at_a_time) {
    Cluster c(5, {}, with_set({1, 2, 3}));
    serve_with_learners(c, {4, 5});
    BOOST_TEST(c[3].can_change());
    // The first change is in the log, not yet committed: the second is refused.
    c.cut(3, 1);
    c.cut(3, 2);
    const auto first = c.propose(3, "+4", EntryKind::config);
    BOOST_REQUIRE(first.has_value());
    c.deliver();
    BOOST_TEST(c[3].commit() < *first);
    BOOST_TEST(!c[3].can_change());
    BOOST_TEST(!c.propose(3, "+5", EntryKind::config).has_value());
    BOOST_TEST(set_is(c, 3, {1, 2, 3, 4}));
    // Ordinary records are still taken meanwhile.
    BOOST_TEST(c.propose(3, "y").has_value());
    // Once the first commits, the next may follow.
    c.heal();
    c.settle(3);
    BOOST_TEST(c[3].commit() >= *first);
    BOOST_TEST(c[3].can_change());
    BOOST_TEST(c.propose(3, "+5", EntryKind::config).has_value());
    // No one proposes a reign record by hand.
    BOOST_TEST(!c.propose(3, "", EntryKind::reign).has_value());
}

BOOST_AUTO_TEST_CASE(a_removed_voter_no_longer_counts) {
    Cluster c(3, {}, with_set({1, 2, 3}));
    start_serving(c, 3);
    // Peer 1 is removed: the set is 2 and 3, and both are needed.
    const auto change = c.propose(3, "-1", EntryKind::config);
    BOOST_REQUIRE(change.has_value());
    BOOST_TEST(set_is(c, 3, {2, 3}));
    BOOST_TEST(c[3].quorum() == 2u);
    c.deliver();
    BOOST_TEST(c[3].commit() == *change);
    // 2's syncs hang: 1's ack would have made a quorum of the old set, but no longer counts.
    c.hold_sync(2, true);
    const auto x = c.propose(3, "x");
    c.deliver();
    BOOST_TEST(c[1].last() < *x);  // no longer sent the log
    BOOST_TEST(c[3].commit() < *x);
    c.sync(2);
    c.deliver();
    BOOST_TEST(c[3].commit() == *x);
    // Messages from the removed peer are no longer taken.
    const auto ignored = c[3].counters().ignored;
    c[3].on_message(1, AppendAck{c[3].reign(), true, Refusal::none, *x, 0}, c.now());
    BOOST_TEST(c[3].counters().ignored == ignored + 1);
}

BOOST_AUTO_TEST_CASE(a_trader_that_removes_itself_steps_down_once_that_commits) {
    Cluster c(3, {}, with_set({1, 2, 3}));
    start_serving(c, 3);
    // The trader proposes its own removal: the set is 1 and 2 at once, and it counts no more.
    c.hold_sync(1, true);
    c.hold_sync(2, true);
    const auto change = c.propose(3, "-3", EntryKind::config);
    BOOST_REQUIRE(change.has_value());
    BOOST_TEST(!c[3].voter());
    c.deliver();
    // Its own durable copy does not count: it still leads until both others hold the change.
    BOOST_TEST(c[3].serving());
    c.sync(1);
    c.deliver();
    BOOST_TEST(c[3].serving());
    c.sync(2);
    c.deliver();
    // Committed on a quorum of the new set: it leads no more.
    BOOST_TEST(c[3].reign() == 0u);
    BOOST_TEST(!c[3].serving());
    BOOST_TEST(c[3].commit() >= *change);
    // And the election's verdict cannot make it lead the set it is not in.
    c.lead(3, epoch(2, 3));
    BOOST_TEST(c[3].reign() == 0u);
    // Peer 2 leads the new set, of two.
    c.hold_sync(1, false);
    c.hold_sync(2, false);
    c.lead(2, epoch(2, 2));
    c.settle(3);
    BOOST_TEST(c[2].serving());
    BOOST_TEST(set_is(c, 2, {1, 2}));
}

BOOST_AUTO_TEST_CASE(a_change_cut_from_the_log_no_longer_counts) {
    Cluster c(4, {}, with_set({1, 2, 3}));
    serve_with_learners(c, {4});
    // Trader 3 appends "+4" that reaches only replica 1 and peer 4, then is cut off.
    c.cut(3, 2);
    c.hold_sync(1, true);
    c.hold_sync(4, true);
    const auto change = c.propose(3, "+4", EntryKind::config);
    c.deliver();
    BOOST_TEST(set_is(c, 1, {1, 2, 3, 4}));
    BOOST_TEST(c[3].commit() < *change);
    // Peer 2 wins the next epoch, from its own log and 1's durable one: no "+4" there.
    c.crash(3);
    c.lead(2, epoch(2, 2));
    c.deliver();
    BOOST_TEST(set_is(c, 2, {1, 2, 3}));
    // Replica 1's copy of the change is cut by the new trader's reign record: its set is back.
    BOOST_TEST((c[1].entry(*change)->kind == EntryKind::reign));
    BOOST_TEST(set_is(c, 1, {1, 2, 3}));
    c.hold_sync(1, false);
    c.sync(1);
    c.settle(3);
    BOOST_TEST(c[2].serving());
}

BOOST_AUTO_TEST_CASE(a_new_voters_log_counts_in_the_next_view_change) {
    // Peer 4 joins the set of 1..3 through the log; then the trader fails.
    Cluster c(4, {}, with_set({1, 2, 3}));
    serve_with_learners(c, {4});
    c.propose(3, "+4", EntryKind::config);
    c.deliver();
    // A record committed by 3, 4 and 2 while 1 is cut off.
    c.cut(3, 1);
    const auto x = c.propose(3, "x");
    c.deliver();
    BOOST_REQUIRE(c[3].commit() == *x);
    c.crash(3);
    c.heal();
    // Peer 4 wins: it needs 3 of the 4, its own log among them.
    c.crash(2);
    c.lead(4, epoch(2, 4));
    c.settle(3);
    BOOST_TEST(!c[4].serving());  // 4 and 1 are two of four
    c.restart(2);
    c.settle(3);
    BOOST_REQUIRE(c[4].serving());
    BOOST_TEST(c[4].entry(*x)->payload == bytes("x"));
    BOOST_TEST(c[1].entry(*x)->payload == bytes("x"));
}

// Found by `sim --promote --peers 4 --faults churn,crash` (seed 106): the trader failed right
// after proposing the record that added peer 4, which only it and 4 held. 4 won the election,
// but the others' logs named a set without it, and they ignored its view change: no trader, for
// ever. The leader the election named is heard whatever set a follower's log names.
BOOST_AUTO_TEST_CASE(a_voter_whose_record_only_it_holds_can_lead_the_others) {
    // Step 1: trader 3 serves the set {1, 2, 3}; learner 4 is caught up.
    Cluster c(4, {}, with_set({1, 2, 3}));
    serve_with_learners(c, {4});
    // Step 2: the record adding 4 reaches 4 only; then the trader fails.
    c.cut(3, 1);
    c.cut(3, 2);
    c.propose(3, "+4", EntryKind::config);
    c.deliver();
    BOOST_REQUIRE(c[4].voter());
    BOOST_REQUIRE(set_is(c, 1, {1, 2, 3}));
    c.crash(3);
    c.heal();
    // Step 3: the election names 4; 1 and 2 follow it, and answer its view change: 4, 1 and 2
    // are a quorum of its set {1, 2, 3, 4}. It serves, and its record reaches them.
    c.follow(1, epoch(2, 4));
    c.follow(2, epoch(2, 4));
    c.lead(4, epoch(2, 4));
    c.settle(5);
    BOOST_REQUIRE(c[4].serving());
    BOOST_TEST(set_is(c, 1, {1, 2, 3, 4}));
    BOOST_TEST(set_is(c, 2, {1, 2, 3, 4}));
}

BOOST_AUTO_TEST_CASE(a_view_change_collects_again_from_the_set_its_adopted_log_names) {
    BOOST_TEST(!a_view_change_serves_without_a_quorum_of_the_set_it_adopted());
}

BOOST_AUTO_TEST_CASE(two_changes_at_once_cannot_happen) {
    BOOST_TEST(!two_changes_at_once_lose_a_record());
}

BOOST_AUTO_TEST_CASE(a_snapshot_keeps_the_set_it_was_taken_with) {
    // The set is 1..3 plus 4 through the log; the trader compacts past the change.
    Cluster c(4, {}, with_set({1, 2, 3}));
    serve_with_learners(c, {4});
    const auto change = c.propose(3, "+4", EntryKind::config);
    c.propose(3, "x");
    c.settle(2);
    BOOST_REQUIRE(c[3].commit() == c[3].last());
    BOOST_REQUIRE(c[3].compacted(c[3].last(), bytes("voters 1 2 3 4")));
    BOOST_TEST(c[3].first() > *change);
    BOOST_TEST(set_is(c, 3, {1, 2, 3, 4}));
    // A peer restarted from that snapshot reads the set out of it.
    Restored r;
    r.snapshot = *c[3].snapshot();
    r.joined = c[3].joined();
    r.seeded = true;
    c.start(1, std::move(r));
    BOOST_TEST(set_is(c, 1, {1, 2, 3, 4}));
    // A learner far behind gets the snapshot in chunks, and the set with it.
    Cluster d(5, {}, with_set({1, 2, 3}));
    start_serving(d, 3);
    d.propose(3, "+5", EntryKind::config);
    d.settle(2);
    BOOST_TEST(d[5].voter());  // shipped the log once it was in the set
    BOOST_REQUIRE(d[3].compacted(d[3].last(), bytes("voters 1 2 3 5")));
    d[3].set_learners({4}, d.now());
    d.carry(3);
    d.settle(3);
    BOOST_TEST(d[4].snapshot().has_value());
    BOOST_TEST(set_is(d, 4, {1, 2, 3, 5}));
}

BOOST_AUTO_TEST_SUITE_END()
