// The replication machine stepped by hand over a fake network (cluster.hpp): quorum commit,
// epochs as fences, the view change, catch-up and recovery after a lost disk.
#include <boost/test/unit_test.hpp>

#include "cluster.hpp"

using namespace tp::replication;
using namespace tp::replication::test;

namespace {

// Every live replica's log agrees with `leader`'s up to `upto`.
void expect_same_prefix(Cluster& c, std::initializer_list<PeerId> peers, PeerId leader,
                        Position upto) {
    for (PeerId p : peers) {
        for (Position at = c[p].first(); at <= upto; ++at) {
            BOOST_TEST_INFO("peer " << p << " position " << at);
            BOOST_REQUIRE(c[p].entry(at) != nullptr);
            BOOST_TEST((*c[p].entry(at) == *c[leader].entry(at)));
        }
    }
}

// Whether any of `peers` holds `text` at `at` as committed.
bool committed_as(Cluster& c, std::initializer_list<PeerId> peers, Position at,
                  const std::string& text) {
    for (PeerId p : peers) {
        const Entry* e = c[p].entry(at);
        if (c[p].commit() >= at && e != nullptr && e->payload == bytes(text)) return true;
    }
    return false;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(replica)

BOOST_AUTO_TEST_CASE(a_new_trader_serves_once_its_reign_record_is_committed) {
    Cluster c(3);
    // Peer 3 wins epoch 1:3 and asks the others for their logs.
    c.lead(3, epoch(1, 3));
    BOOST_TEST((c[3].phase() == Phase::collecting));
    BOOST_TEST(!c[3].propose(bytes("early"), c.now()).has_value());
    // They join the epoch and answer; the trader appends its reign record and ships it.
    c.deliver();
    BOOST_TEST(c[3].serving());
    BOOST_TEST(c[3].commit() == 1u);
    BOOST_TEST((c[3].entry(1)->kind == EntryKind::reign));
    BOOST_TEST(c[1].joined() == epoch(1, 3));
    BOOST_TEST(c.disk(1).joined == epoch(1, 3));
}

BOOST_AUTO_TEST_CASE(commit_needs_a_quorum) {
    Cluster c(5);
    c.lead(5, epoch(1, 5));
    c.deliver();
    BOOST_REQUIRE(c[5].serving());
    // Only peer 4 still hears the trader: two of five hold the record.
    c.cut(5, 1);
    c.cut(5, 2);
    c.cut(5, 3);
    const auto at = c.propose(5, "buy 1");
    BOOST_REQUIRE(at.has_value());
    c.deliver();
    BOOST_TEST(c.disk(4).last() == *at);
    BOOST_TEST(c[5].commit() < *at);
    // A third replica makes a quorum: committed, and the followers learn it.
    c.heal();
    c.settle(3);
    BOOST_TEST(c[5].commit() == *at);
    BOOST_TEST(c[1].commit() == *at);
    expect_same_prefix(c, {1, 2, 3, 4}, 5, *at);
}

BOOST_AUTO_TEST_CASE(an_ack_counts_only_once_durable) {
    Cluster c(3);
    c.lead(3, epoch(1, 3));
    c.deliver();
    // Peers 1 and 2 append but their syncs do not return.
    c.hold_sync(1, true);
    c.hold_sync(2, true);
    const auto at = c.propose(3, "deposit");
    c.deliver();
    BOOST_TEST(c[1].last() == *at);
    BOOST_TEST(c[3].commit() < *at);
    // One sync returns: its ack leaves, and the record is committed.
    c.sync(1);
    c.deliver();
    BOOST_TEST(c[3].commit() == *at);
}

BOOST_AUTO_TEST_CASE(an_append_from_an_older_epoch_is_refused) {
    Cluster c(3);
    c.lead(3, epoch(1, 3));
    c.deliver();
    // Peer 2 takes over in epoch 2:2; peer 1 joins it.
    c.lead(2, epoch(2, 2));
    c.deliver();
    BOOST_REQUIRE(c[1].joined() == epoch(2, 2));
    const Position before = c[1].last();
    // The old trader's append reaches peer 1: refused, counted, nothing appended.
    c[1].on_message(3, Append{epoch(1, 3), before, c[1].epoch_at(before), 0,
                              {data(epoch(1, 3), "late")}},
                    c.now());
    BOOST_TEST(c[1].last() == before);
    BOOST_TEST(c[1].counters().refused[static_cast<int>(Refusal::stale_epoch)] == 1u);
    const auto& answer = c[1].ready().messages.back();
    BOOST_TEST(std::get<AppendAck>(answer.message).epoch == epoch(2, 2));
    // The old trader learns of the new epoch from the refusal and stops.
    c.carry(1);
    c.deliver();
    BOOST_TEST(c[3].reign() == 0u);
    BOOST_TEST(!c[3].propose(bytes("x"), c.now()).has_value());
}

BOOST_AUTO_TEST_CASE(a_deposed_trader_cannot_commit) {
    Cluster c(3);
    c.lead(3, epoch(1, 3));
    c.deliver();
    // The trader is cut off (a pause, a partition); peer 2 is elected meanwhile.
    c.cut(3, 1);
    c.cut(3, 2);
    c.lead(2, epoch(2, 2));
    c.deliver();
    BOOST_REQUIRE(c[2].serving());
    // The old trader accepts a request: it can never be committed.
    const auto at = c.propose(3, "stale buy");
    BOOST_REQUIRE(at.has_value());
    c.deliver();
    BOOST_TEST(c[3].commit() < *at);
    // Healed: the old trader hears of epoch 2:2 and steps down; its record never commits.
    c.heal();
    c.settle(3);
    BOOST_TEST(c[3].reign() == 0u);
    BOOST_TEST(!committed_as(c, {1, 2, 3}, *at, "stale buy"));
    // The old trader's uncommitted suffix is replaced by the new reign's log.
    c.follow(3, epoch(2, 2));
    c.propose(2, "fresh");
    c.settle(3);
    expect_same_prefix(c, {1, 3}, 2, c[2].commit());
}

BOOST_AUTO_TEST_CASE(a_divergent_suffix_is_truncated) {
    const Epoch e1 = epoch(1, 3);
    const Epoch e2 = epoch(2, 2);
    // Peer 3 (old trader, epoch 1:3) kept two records nobody else has; peer 2 is ahead.
    Restored p3{{}, {data(e1, "a"), data(e1, "b"), data(e1, "c")}, e1, true};
    Restored p2{{}, {data(e1, "a")}, e1, true};
    Restored p1{{}, {data(e1, "a")}, e1, true};
    Cluster c(3, {{1, p1}, {2, p2}, {3, p3}});
    // Peer 2 wins epoch 2:2 with peer 1: the most advanced of their logs is one record.
    c.crash(3);
    c.lead(2, e2);
    c.deliver();
    BOOST_REQUIRE(c[2].serving());
    // Peer 3 comes back and follows: its records 2 and 3 differ from the trader's and go.
    c.restart(3);
    c.follow(3, e2);
    c.settle(3);
    BOOST_TEST(c[3].last() == c[2].last());
    BOOST_TEST(c[3].counters().truncated >= 1u);
    BOOST_TEST(c.disk(3).last() == c[2].last());
    BOOST_TEST((c.disk(3).entries[1].kind == EntryKind::reign));
    expect_same_prefix(c, {1, 3}, 2, c[2].last());
}

// Raft's figure 8: an old epoch's record held by a majority after a view change is not
// committed by counting, so a later trader may replace it; it was never confirmed.
BOOST_AUTO_TEST_CASE(an_old_epochs_record_on_a_minority_is_never_confirmed_then_lost) {
    const Epoch e2 = epoch(2, 1);
    const Epoch e3 = epoch(3, 5);
    const Epoch e4 = epoch(4, 1);
    const Epoch e5 = epoch(5, 5);
    // (a)+(b): peer 1 led epoch 2 and got record 2 to peer 2 only; peer 5 led epoch 3 and
    // appended its own record 2, which nobody else has.
    const Entry first = data(epoch(1, 1), "genesis");
    Restored p1{{}, {first, data(e2, "x")}, e3, true};
    Restored p2{{}, {first, data(e2, "x")}, e3, true};
    Restored p34{{}, {first}, e3, true};
    Restored p5{{}, {first, data(e3, "y")}, e3, true};
    Cluster c(5, {{1, p1}, {2, p2}, {3, p34}, {4, p34}, {5, p5}});
    // (c): peer 1 leads epoch 4 with peers 2 and 3; it ships x to peer 3 (now on a majority),
    // but its own reign record reaches nobody before it crashes.
    c.crash(5);
    c.lead(1, e4);
    c.cut(1, 4);
    c.deliver(4);  // StartView out and the answers of 2 and 3 back
    c.cut(1, 2);
    c.cut(1, 3);
    c.deliver();
    BOOST_TEST(c[1].commit() < 2u);  // x is on 1 and 2 only, and not of epoch 4
    c.crash(1);
    c.heal();
    // (d): peer 5 leads epoch 5 with 2, 3 and 4. x was never committed, so whether peer 5
    // adopts it or its own y, no peer ever reported x committed.
    c.restart(5);
    c.lead(5, e5);
    c.settle(5);
    BOOST_REQUIRE(c[5].serving());
    for (PeerId p : {2, 3, 4, 5}) BOOST_TEST(c[p].commit() >= 2u);
    expect_same_prefix(c, {2, 3, 4}, 5, c[5].commit());
    // The committed record 2 is whichever log was most advanced in epoch terms: y (epoch 3:5)
    // beat x (epoch 2:1).
    BOOST_TEST(c[5].entry(2)->epoch == e3);
}

BOOST_AUTO_TEST_CASE(a_new_trader_pulls_committed_records_it_lacks) {
    Cluster c(5);
    c.lead(5, epoch(1, 5));
    c.deliver();
    // Peers 1 and 2 miss three committed records (peers 3, 4 and 5 hold them).
    c.cut(5, 1);
    c.cut(5, 2);
    for (const char* r : {"r1", "r2", "r3"}) c.propose(5, r);
    c.deliver();
    const Position committed = c[5].commit();
    BOOST_REQUIRE(committed == c[5].last());
    // The trader dies; peer 2, which lacks them, wins with 1, 3 and 4.
    c.crash(5);
    c.heal();
    c.lead(2, epoch(2, 2));
    c.settle(3);
    BOOST_REQUIRE(c[2].serving());
    // It adopted them before its own reign record.
    for (Position at = 1; at <= committed; ++at) {
        BOOST_TEST(c[2].entry(at)->payload == c.disk(3).entries[at - 1].payload);
    }
    BOOST_TEST(c[2].commit() == committed + 1);
}

// Found by `sim --replicas 3`: the replica a new trader pulled the log from lost its disk before
// it answered, and then answered every Fetch with nothing; the trader fetched from it forever
// while another replica of its quorum held the whole log.
BOOST_AUTO_TEST_CASE(a_view_change_whose_source_lost_its_log_collects_again) {
    Cluster c(3);
    c.lead(3, epoch(1, 3));
    c.deliver();
    // Step 1: three records committed on 2 and 3; peer 1 is cut off and lacks them.
    c.cut(3, 1);
    for (const char* r : {"r1", "r2", "r3"}) c.propose(3, r);
    c.deliver();
    const Position committed = c[3].commit();
    BOOST_REQUIRE(committed == c[3].last());
    // Step 2: the trader dies; peer 1 wins with peer 2's log state and starts pulling from 2.
    c.crash(3);
    c.heal();
    c.lead(1, epoch(2, 1));
    c.deliver(1);  // the StartView to peer 2
    c.deliver(1);  // its LogState: peer 1 sends a Fetch to 2
    BOOST_REQUIRE(c[1].phase() == Phase::fetching);
    // Step 3: peer 2 loses its disk before the Fetch arrives; peer 3 comes back with its own.
    c.lose_disk(2);
    c.restart(3);
    // Step 4: peer 2 answers with nothing. After quorum_timeout peer 1 collects again, hears
    // peer 3's log, pulls it and serves with every committed record.
    c.settle(12);
    BOOST_TEST(c[1].counters().recollections >= 1u);
    BOOST_REQUIRE(c[1].serving());
    for (Position at = 1; at <= committed; ++at) {
        BOOST_TEST(c[1].entry(at)->payload == c.disk(3).entries[at - 1].payload);
    }
}

// Found by `sim --seed 42 --duration 60s`: a new trader that had restarted (commit position 0)
// and whose last record was of an older epoch than its source's asked for the log from position
// 1 on every Fetch. The source answers at most max_append_bytes, all of which the trader held
// already, so each answer "made progress" and the next Fetch asked for the same records again:
// the view change never ended, and no request was answered after the faults stopped.
BOOST_AUTO_TEST_CASE(a_view_change_pulling_more_than_one_append_ends) {
    Options small;
    small.max_append_bytes = 1;  // one entry per Append: the source's log takes many
    Cluster c(3, {}, small);
    c.lead(3, epoch(1, 3));
    c.deliver();
    // Step 1: six records committed everywhere, in epoch 1.
    for (const char* r : {"r1", "r2", "r3", "r4", "r5", "r6"}) c.propose(3, r);
    c.deliver();
    // Step 2: peer 1 is cut off; peer 2 leads epoch 2 with peer 3 and commits one more record
    // there, so the most advanced log ends in epoch 2 and peer 1's in epoch 1.
    c.cut(1, 2);
    c.cut(1, 3);
    c.lead(2, epoch(2, 2));
    c.settle(3);
    BOOST_REQUIRE(c[2].serving());
    const Position r7 = *c.propose(2, "r7");
    c.deliver();
    // Step 3: peers 1 and 3 restart (a commit position is not durable: both know 0); healed,
    // peer 1 wins epoch 3 with peer 3's log state, pulls peer 3's log one Append at a time, and
    // serves.
    c.crash(2);
    c.restart(1);
    c.restart(3);
    BOOST_REQUIRE(c[3].commit() == 0u);
    c.heal();
    c.lead(1, epoch(3, 1));
    c.settle(40);
    BOOST_REQUIRE(c[1].serving());
    BOOST_TEST(c[1].counters().recollections == 0u);
    BOOST_TEST(c[1].entry(r7)->payload == bytes("r7"));
    expect_same_prefix(c, {1}, 3, r7);
}

// Found by `sim --replicas 5` (seed 1446): a trader that had lost its disk heard from every
// replica and counted itself seeded before it held the log it was pulling. Had it crashed then,
// it would have come back counted as authoritative without the committed records.
BOOST_AUTO_TEST_CASE(a_trader_is_seeded_only_once_the_log_it_adopted_is_durable) {
    Cluster c(3);
    c.lead(3, epoch(1, 3));
    c.deliver();
    for (const char* r : {"r1", "r2"}) c.propose(3, r);
    c.deliver();
    const Position committed = c[3].commit();
    // Step 1: peer 1 loses its disk, comes back unseeded and wins the next reign; its disk is
    // slow, so what it pulls is not durable yet.
    c.lose_disk(1);
    BOOST_REQUIRE(!c.disk(1).seeded);
    c.hold_sync(1, true);
    c.lead(1, epoch(2, 1));
    c.deliver();
    // Step 2: it heard every replica and holds their log in memory, but is not seeded on disk.
    BOOST_REQUIRE(c[1].last() >= committed);
    BOOST_TEST(!c.disk(1).seeded);
    // Step 3: once the adopted log is durable, it is.
    c.hold_sync(1, false);
    c.sync(1);
    BOOST_TEST(c.disk(1).seeded);
}

// Found by `bench failover`: a follower compacted entries its Ready had not yet handed to the
// driver (append_from), which then found no entry to write and crashed.
BOOST_AUTO_TEST_CASE(entries_not_yet_handed_to_the_driver_are_never_compacted) {
    Cluster c(3);
    c.lead(3, epoch(1, 3));
    c.deliver();
    const Position before = c[1].last();
    // Step 1: an append arrives at peer 1 that commits its own records: they are in memory, and
    // the Ready says to write them, but the driver has not yet.
    c[1].on_message(3,
                    Append{epoch(1, 3), before, c[1].epoch_at(before), before + 2,
                           {data(epoch(1, 3), "a"), data(epoch(1, 3), "b")}},
                    c.now());
    BOOST_REQUIRE(c[1].ready().append_from == before + 1);
    BOOST_REQUIRE(c[1].commit() == before + 2);
    // Step 2: compacting them now is refused, and changes nothing.
    BOOST_TEST(!c[1].can_compact(before + 2));
    BOOST_TEST(!c[1].compacted(before + 2, bytes("books")));
    BOOST_TEST(c[1].entry(before + 1) != nullptr);
    BOOST_TEST(!c[1].snapshot().has_value());
    // Step 3: once the driver wrote them, they may go.
    c.carry(1);
    BOOST_TEST(c.disk(1).entries.size() == before + 2);
    BOOST_TEST(c[1].can_compact(before + 2));
    BOOST_TEST(c[1].compacted(before + 2, bytes("books")));
    BOOST_TEST(c[1].first() == before + 3);
}

BOOST_AUTO_TEST_CASE(a_replica_far_behind_catches_up_from_the_snapshot_in_chunks) {
    Options small;
    small.chunk_bytes = 7;  // several chunks for a small snapshot
    Cluster c(3, {}, small);
    c.lead(3, epoch(1, 3));
    c.deliver();
    c.crash(1);
    for (int i = 0; i < 10; ++i) c.propose(3, std::string("r").append(std::to_string(i)));
    c.deliver();
    // The trader compacts what is committed: peer 1 now needs the snapshot.
    const Position covered = c[3].commit();
    c[3].compacted(covered, bytes("the books up to here"));
    c[2].compacted(covered, bytes("the books up to here"));
    // Peer 1 comes back with its disk lost: it recovers the newest epoch, then catches up.
    c.start(1, Restored{});
    BOOST_TEST(c[1].recovering());
    c.settle(10);
    BOOST_TEST(!c[1].recovering());
    BOOST_TEST(c[1].counters().snapshots_installed == 1u);
    BOOST_REQUIRE(c.disk(1).snapshot.has_value());
    BOOST_TEST(c.disk(1).snapshot->covered == covered);
    BOOST_TEST((c.disk(1).snapshot->bytes == bytes("the books up to here")));
    BOOST_TEST(c[3].counters().chunks_sent >= 3u);
    // Then it takes appends past the snapshot, and is authoritative again.
    c.propose(3, "after");
    c.settle(3);
    BOOST_TEST(c[1].last() == c[3].last());
    BOOST_TEST(c[1].seeded());
    BOOST_TEST(c.disk(1).seeded);
}

// Found by the simulator in quorum mode (seed 8): a replica that had acknowledged records, then
// lost its disk, refused every Append with a gap, and the trader, which never looked before what
// had been acknowledged, sent the same Append again and again (100,000 times a second).
BOOST_AUTO_TEST_CASE(a_replica_that_lost_what_it_acknowledged_is_sent_the_log_again) {
    // Step 1: every replica holds and acknowledges five records.
    Cluster c(3);
    c.lead(3, epoch(1, 3));
    c.deliver();
    for (int i = 0; i < 5; ++i) c.propose(3, std::string("r").append(std::to_string(i)));
    c.settle(3);
    BOOST_REQUIRE(c[1].last() == c[3].last());
    // Step 2: peer 1 loses its disk and comes back empty.
    c.crash(1);
    c.start(1, Restored{});
    c.settle(10);
    const auto appends = c[3].counters().appends_sent;
    // Step 3: one more record: peer 1 is sent the log from its start and holds all of it.
    c.propose(3, "after");
    c.settle(10);
    BOOST_TEST(c[1].last() == c[3].last());
    BOOST_TEST(c[1].seeded());
    BOOST_TEST(c[3].counters().appends_sent - appends < 100u);
}

BOOST_AUTO_TEST_CASE(a_replica_that_lost_its_disk_relearns_its_promises_before_acking) {
    Cluster c(3);
    c.lead(3, epoch(1, 3));
    c.deliver();
    // Peer 2 wins epoch 2:2; peer 1 promised it. Then peer 1 loses its disk.
    c.cut(2, 3);
    c.lead(2, epoch(2, 2));
    c.deliver();
    BOOST_REQUIRE(c[1].joined() == epoch(2, 2));
    c.start(1, Restored{});
    // The old trader (still in epoch 1:3) sends peer 1 an append: no ack while recovering.
    const auto stale = c.propose(3, "stale");
    BOOST_REQUIRE(stale.has_value());
    c.cut(1, 2);
    c.deliver();
    BOOST_TEST(c[3].commit() < *stale);
    // Recovery hears from a quorum (peer 2 here): peer 1 joins 2:2 again and refuses 1:3.
    // Recovery needs answers from two of the others (any two include one that kept the
    // promise): peer 2 says 2:2, the old trader 1:3. Peer 1 joins 2:2 again and refuses 1:3.
    c.heal();
    c.cut(2, 3);
    c.tick(std::chrono::milliseconds(60));
    c.deliver();
    BOOST_TEST(!c[1].recovering());
    BOOST_TEST(c[1].joined() == epoch(2, 2));
    BOOST_TEST(c[1].counters().refused[static_cast<int>(Refusal::stale_epoch)] >= 1u);
    BOOST_TEST(c[3].commit() < *stale);
    c.heal();
    c.settle(3);
    BOOST_TEST(!committed_as(c, {1, 2, 3}, *stale, "stale"));
}

BOOST_AUTO_TEST_CASE(a_first_start_waits_for_every_replica) {
    // Three fresh replicas: nobody's state is authoritative yet.
    Cluster c(3, {{1, Restored{}}, {2, Restored{}}, {3, Restored{}}});
    c.tick(std::chrono::milliseconds(60));
    c.deliver();
    c.crash(1);
    c.lead(3, epoch(1, 3));
    c.settle(3);
    // Two of three answered, both unseeded: not enough.
    BOOST_TEST(!c[3].serving());
    c.restart(1);
    c.settle(3);
    BOOST_TEST(c[3].serving());
    BOOST_TEST(c[3].seeded());
    BOOST_TEST(c[1].seeded());
}

// Found by the simulator in quorum mode (seed 31): a trader that became seeded by its view change
// kept that in memory only (no Ready::seeded), so after a restart it asked a quorum again as if it
// had lost its disk.
BOOST_AUTO_TEST_CASE(a_trader_seeded_by_its_view_change_says_so_durably) {
    // Step 1: a first start; every replica answers and peer 3 leads.
    Cluster c(3, {{1, Restored{}}, {2, Restored{}}, {3, Restored{}}});
    c.tick(std::chrono::milliseconds(60));
    c.deliver();
    c.lead(3, epoch(1, 3));
    c.settle(3);
    BOOST_REQUIRE(c[3].serving());
    // Step 2: its disk says it is seeded, so it comes back seeded from a crash.
    BOOST_TEST(c.disk(3).seeded);
    c.crash(3);
    c.restart(3);
    BOOST_TEST(c[3].seeded());
    BOOST_TEST(!c[3].recovering());
}

BOOST_AUTO_TEST_CASE(without_a_quorum_the_trader_says_so) {
    Options o;
    o.quorum_timeout = std::chrono::milliseconds(100);
    Cluster c(3, {}, o);
    c.lead(3, epoch(1, 3));
    c.deliver();
    BOOST_TEST(c[3].has_quorum(c.now()));
    c.crash(1);
    c.crash(2);
    c.tick(std::chrono::milliseconds(150));
    BOOST_TEST(!c[3].has_quorum(c.now()));
}


// Found by the randomized runs (seed 373): a replica sent the snapshot while it held the
// snapshot's last entry dropped the entries after it, which it had acknowledged.
BOOST_AUTO_TEST_CASE(a_snapshot_never_drops_entries_the_replica_acknowledged) {
    Cluster c(3);
    c.lead(3, epoch(1, 3));
    c.deliver();
    for (const char* r : {"r1", "r2", "r3"}) c.propose(3, r);
    c.deliver();
    const Position held = c[1].last();
    BOOST_REQUIRE(held == 4u);
    // A chunk of a snapshot covering position 2 (whose entry peer 1 holds) reaches peer 1.
    const auto state = bytes("books@2");
    c[1].on_message(3, SnapshotChunk{epoch(1, 3), 2, c[1].epoch_at(2), 0, state.size(), state,
                                     tp::journal::crc32c(state)},
                    c.now());
    c.carry(1);
    // It keeps every entry, on disk as in memory.
    BOOST_TEST(c[1].last() == held);
    BOOST_TEST(c.disk(1).last() == held);
    BOOST_TEST(c[1].counters().snapshots_installed == 0u);
}

// Found by the randomized runs (seed 1807): a new trader pulling from a replica that had
// compacted entries the trader already held asked for the same snapshot forever.
BOOST_AUTO_TEST_CASE(a_view_change_pulling_past_a_compacted_log_ends) {
    Cluster c(3);
    c.lead(3, epoch(1, 3));
    c.deliver();
    for (const char* r : {"r1", "r2", "r3"}) c.propose(3, r);
    c.deliver();
    // Peer 2 leads epoch 2:2 with peer 3 while peer 1 is cut off; its reign record is 5.
    c.cut(1, 2);
    c.cut(1, 3);
    c.lead(2, epoch(2, 2));
    c.settle(2);
    BOOST_REQUIRE(c[2].commit() == 5u);
    // Peer 2 compacts up to 4, which peer 1 holds too.
    c[2].compacted(4, bytes("books@4"));
    // Peer 1 restarts (its commit position forgotten) and wins with peer 2: it must pull 5.
    c.crash(3);
    c.restart(1);
    c.heal();
    c.lead(1, epoch(3, 1));
    const std::size_t delivered = c.deliver();
    c.settle(2);
    BOOST_TEST(delivered < 50u);
    BOOST_TEST(c[1].serving());
    BOOST_REQUIRE(c[1].entry(5) != nullptr);
    BOOST_TEST(c[1].entry(5)->epoch == epoch(2, 2));
    BOOST_TEST((c[1].entry(4)->payload == bytes("r3")));
}

// A replica back from a lost disk is authoritative again only once it holds what the trader's
// commit covers, and only a commit of the trader's own epoch covers everything committed before.
BOOST_AUTO_TEST_CASE(a_replica_is_seeded_only_by_a_commit_of_the_traders_own_epoch) {
    Cluster c(3);
    c.lead(3, epoch(1, 3));
    c.deliver();
    c.crash(1);
    c.start(1, Restored{});
    c.tick(std::chrono::milliseconds(60));
    c.deliver();
    BOOST_REQUIRE(!c[1].recovering());
    // An append whose commit (1) covers only an older epoch's record: not seeded by it.
    c[1].on_message(2, Append{epoch(2, 2), 0, 0, 1, {c.disk(3).entries[0]}}, c.now());
    c.carry(1);
    BOOST_TEST(!c[1].seeded());
    // The trader of 2:2 commits its reign record (2) and says so: now it is.
    Entry reign{epoch(2, 2), EntryKind::reign, {}, tp::journal::crc32c({})};
    c[1].on_message(2, Append{epoch(2, 2), 1, c[1].epoch_at(1), 2, {reign}}, c.now());
    c.carry(1);
    BOOST_TEST(c[1].seeded());
    BOOST_TEST(c.disk(1).seeded);
}

// ---- Bad input: refused and counted, never applied -------------------------------------------

struct Following {
    Cluster c{3};
    Following() {
        c.lead(3, epoch(1, 3));
        c.deliver();
    }
    std::uint64_t refused(PeerId p, Refusal r) {
        return c[p].counters().refused[static_cast<int>(r)];
    }
};

BOOST_FIXTURE_TEST_CASE(an_append_that_does_not_extend_the_log_is_refused, Following) {
    const Position last = c[1].last();
    c[1].on_message(3, Append{epoch(1, 3), last + 5, epoch(1, 3), 0, {data(epoch(1, 3), "z")}},
                    c.now());
    BOOST_TEST(c[1].last() == last);
    BOOST_TEST(refused(1, Refusal::gap) == 1u);
    const auto ack = std::get<AppendAck>(c[1].ready().messages.back().message);
    BOOST_TEST(!ack.ok);
    BOOST_TEST(ack.last == last);
}

BOOST_FIXTURE_TEST_CASE(a_record_with_a_bad_crc_is_refused, Following) {
    const Position last = c[1].last();
    Entry bad = data(epoch(1, 3), "payload");
    bad.payload[0] = std::byte{'P'};
    c[1].on_message(3, Append{epoch(1, 3), last, c[1].epoch_at(last), 0, {bad}}, c.now());
    BOOST_TEST(c[1].last() == last);
    BOOST_TEST(refused(1, Refusal::bad_crc) == 1u);
}

BOOST_FIXTURE_TEST_CASE(a_snapshot_chunk_out_of_order_is_refused, Following) {
    const auto whole = bytes("0123456789");
    const auto crc = tp::journal::crc32c(whole);
    // The second piece before the first.
    c[1].on_message(3, SnapshotChunk{epoch(1, 3), 50, epoch(1, 3), 5, 10,
                                     {whole.begin() + 5, whole.end()}, crc},
                    c.now());
    BOOST_TEST(refused(1, Refusal::out_of_order) == 1u);
    BOOST_TEST(c[1].counters().snapshots_installed == 0u);
    BOOST_TEST(c[1].last() == 1u);
    // A chunk past its own total.
    c[1].on_message(3, SnapshotChunk{epoch(1, 3), 50, epoch(1, 3), 8, 10, whole, crc}, c.now());
    BOOST_TEST(refused(1, Refusal::too_large) == 1u);
    // A whole snapshot whose bytes do not match its CRC is not installed.
    c[1].on_message(3, SnapshotChunk{epoch(1, 3), 50, epoch(1, 3), 0, 10, whole, crc + 1},
                    c.now());
    BOOST_TEST(refused(1, Refusal::bad_crc) == 1u);
    BOOST_TEST(c[1].counters().snapshots_installed == 0u);
}

BOOST_FIXTURE_TEST_CASE(a_position_beyond_the_log_is_refused, Following) {
    // An ack for more than the trader holds.
    c[3].on_message(1, AppendAck{epoch(1, 3), true, Refusal::none, 99, 0}, c.now());
    BOOST_TEST(refused(3, Refusal::beyond_log) == 1u);
    BOOST_TEST(c[3].commit() == 1u);
    // A fetch from beyond a replica's log.
    c.lead(2, epoch(2, 2));
    c[1].on_message(2, Fetch{epoch(2, 2), 40, 50}, c.now());
    BOOST_TEST(refused(1, Refusal::beyond_log) == 1u);
}

BOOST_FIXTURE_TEST_CASE(an_append_rewriting_a_committed_record_is_refused, Following) {
    c.propose(3, "r");
    c.settle(2);
    BOOST_REQUIRE(c[1].commit() == 2u);
    // A forged append claiming another record at 2, from a newer epoch's leader.
    c.follow(1, epoch(2, 2));
    c[1].on_message(2, Append{epoch(2, 2), 1, c[1].epoch_at(1), 0, {data(epoch(2, 2), "other")}},
                    c.now());
    BOOST_TEST(refused(1, Refusal::conflict) == 1u);
    BOOST_TEST((c[1].entry(2)->payload == bytes("r")));
}

BOOST_FIXTURE_TEST_CASE(messages_from_a_non_member_are_ignored, Following) {
    c[1].on_message(9, Append{epoch(1, 9), 0, 0, 0, {}}, c.now());
    BOOST_TEST(c[1].counters().ignored == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
