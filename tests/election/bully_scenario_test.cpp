// Scripted scenarios, step by step in virtual time on the fake network (zero latency unless said).
#include <boost/test/unit_test.hpp>

#include "fake_network.hpp"

using namespace tp::election;
using namespace tp::election::test;

namespace {

Config config(RecoveryPolicy policy = RecoveryPolicy::defer) {
    return scenario_config(policy);
}

bool is(const Message& m, MessageKind kind) {
    return kind_of(m) == kind;
}

// Peers 1..n all start at t=0; n wins at once and everyone follows it.
FakeNetwork cluster(PeerId n, RecoveryPolicy policy = RecoveryPolicy::defer) {
    FakeNetwork net(FakeNetwork::range(1, n), config(policy));
    net.start_all();
    net.deliver_all();
    if (net.agreed_leader() != n) throw std::logic_error("initial election failed");
    net.clear_log();
    return net;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(bully_scenarios)

BOOST_AUTO_TEST_CASE(highest_id_wins_at_start_up) {
    FakeNetwork net(FakeNetwork::range(1, 6), config());
    // All six start together; 6 has nobody above it and declares itself at once.
    net.start_all();
    BOOST_TEST(net.peer(6).is_leader());
    BOOST_TEST(net.peer(6).epoch() == make_epoch(1, 6));
    // Each lower peer asked every peer above it: 5 + 4 + 3 + 2 + 1 Elections.
    BOOST_TEST(net.sent(MessageKind::election) == 15u);
    // Everything is delivered: the Coordinator reaches 1..5.
    net.deliver_all();
    BOOST_TEST(*net.agreed_leader() == 6u);
    for (PeerId p = 1; p <= 5; ++p) {
        BOOST_TEST((net.peer(p).role() == Role::follower));
        BOOST_TEST(net.peer(p).epoch() == make_epoch(1, 6));
    }
    // Exactly one peer ever claimed leadership.
    BOOST_TEST(net.events_of(EventKind::became_leader).size() == 1u);
    BOOST_TEST(net.violation().empty());
}

// Issue 18: a leader that finds it may not lead (its replica set no longer holds it) gives the
// lead up; the others elect the next one once its heartbeats stop, and it follows that one.
BOOST_AUTO_TEST_CASE(a_leader_that_may_not_lead_gives_the_lead_up) {
    FakeNetwork net = cluster(4);
    // Step 1: 4 is no candidate any more, and abdicates, keeping its epoch.
    net.peer(4).set_candidate(false);
    net.peer(4).abdicate(net.now());
    BOOST_TEST(!net.peer(4).is_leader());
    BOOST_TEST(net.peer(4).epoch() == make_epoch(1, 4));
    // Step 2: its heartbeats stop; 3 is elected, in a newer epoch, and 4 follows it.
    BOOST_REQUIRE(net.run_until([&] { return net.agreed_leader() == PeerId{3}; }, net.now() + 1s));
    BOOST_TEST(net.peer(3).epoch() > make_epoch(1, 4));
    BOOST_TEST((net.peer(4).leader() == PeerId{3}));
    BOOST_TEST(net.violation().empty());
}

BOOST_AUTO_TEST_CASE(highest_live_id_wins_when_the_highest_is_down) {
    FakeNetwork net(FakeNetwork::range(1, 6), config());
    // 6 never comes up.
    net.crash(6);
    // 1..5 start; 2..5 answer Ok to the peers below them; 6 stays silent.
    net.start_all();
    net.deliver_all();
    BOOST_TEST((net.peer(5).role() == Role::candidate));
    for (PeerId p = 1; p <= 4; ++p) BOOST_TEST((net.peer(p).role() == Role::awaiting));
    // 5's answer timeout passes without an Ok: it declares itself.
    BOOST_TEST((net.advance_to_next_deadline() == 10ms));
    BOOST_TEST(net.peer(5).is_leader());
    // Its Coordinator reaches 1..4.
    net.deliver_all();
    BOOST_TEST(*net.agreed_leader() == 5u);
    BOOST_TEST(net.peer(1).epoch() == make_epoch(1, 5));
}

BOOST_AUTO_TEST_CASE(several_peers_start_elections_at_once_and_one_leader_results) {
    auto net = cluster(6);
    // The leader dies; 2, 3 and 4 notice at the same instant.
    net.crash(6);
    BOOST_TEST(net.suspect(2));
    BOOST_TEST(net.suspect(3));
    BOOST_TEST(net.suspect(4));
    // Their Elections (not to 6, which they suspect) and the answers are delivered; 5 answers
    // and starts its own election, asking 6, which it has no reason to suspect yet.
    net.deliver_all();
    BOOST_TEST((net.peer(5).role() == Role::candidate));
    // 5's answer timeout expires: it leads term 2.
    net.advance_to_next_deadline();
    net.deliver_all();
    BOOST_TEST(*net.agreed_leader() == 5u);
    BOOST_TEST(net.peer(2).epoch() == make_epoch(2, 5));
    // One leader, one claim.
    const auto won = net.events_of(EventKind::became_leader);
    BOOST_REQUIRE(won.size() == 1u);
    BOOST_TEST(won[0].peer == 5u);
}

BOOST_AUTO_TEST_CASE(the_leader_dies_in_the_middle_of_an_election) {
    auto net = cluster(6);
    // 6 dies and 1 notices: Elections go to 2..5, which answer and start their own.
    net.crash(6);
    net.suspect(1);
    net.deliver_all();
    // 5 is about to win (its answer timeout is pending) when it dies too.
    BOOST_TEST((net.peer(5).role() == Role::candidate));
    net.crash(5);
    // 1..4 got their Ok but no Coordinator comes: the coordinator timeout restarts them.
    BOOST_TEST((net.advance_to_next_deadline() == 30ms));
    for (PeerId p = 1; p <= 4; ++p) BOOST_TEST((net.peer(p).role() == Role::candidate));
    // The new round: 1..3 get Oks from above; 4 hears nothing from 5 or 6.
    net.deliver_all();
    BOOST_TEST((net.peer(4).role() == Role::candidate));
    // 4's answer timeout: it declares itself with the next term.
    BOOST_TEST((net.advance_to_next_deadline() == 40ms));
    net.deliver_all();
    BOOST_TEST(*net.agreed_leader() == 4u);
    BOOST_TEST(net.peer(1).epoch() == make_epoch(2, 4));
    BOOST_TEST(net.violation().empty());
}

BOOST_AUTO_TEST_CASE(a_lower_coordinator_is_overridden_by_a_higher_live_peer_under_bully) {
    auto net = cluster(6, RecoveryPolicy::bully);
    // 6 dies; 4 notices first and asks 5, but that Election is lost.
    net.crash(6);
    net.suspect(4);
    BOOST_TEST(net.drop_where([](const InFlight& m) { return m.to == 5; }) == 1u);
    // 4 hears no Ok and declares itself; its Coordinator goes to 1..3 only (the lower peers).
    net.advance_to_next_deadline();
    BOOST_TEST(net.peer(4).is_leader());
    net.deliver_all();
    BOOST_TEST(*net.peer(1).leader() == 4u);
    BOOST_TEST(*net.peer(5).leader() == 6u);
    // 4's first Heartbeat reaches 5 too: a lower leader with a newer epoch. 5 bullies it.
    BOOST_TEST((net.advance_to_next_deadline() == 20ms));
    net.deliver_all();
    BOOST_TEST((net.peer(5).role() == Role::candidate));
    // 5 asks 6 (silent), wins on its answer timeout with a term above 4's, and 4 steps down.
    net.advance_to_next_deadline();
    net.deliver_all();
    BOOST_TEST(*net.agreed_leader() == 5u);
    BOOST_TEST(net.peer(4).epoch() == make_epoch(3, 5));
    BOOST_TEST(make_epoch(3, 5) > make_epoch(2, 4));
}

BOOST_AUTO_TEST_CASE(a_lower_coordinator_is_accepted_by_a_higher_live_peer_under_defer) {
    auto net = cluster(6, RecoveryPolicy::defer);
    // Same start: 6 dies, 4's Election to 5 is lost, 4 declares itself.
    net.crash(6);
    net.suspect(4);
    net.drop_where([](const InFlight& m) { return m.to == 5; });
    net.advance_to_next_deadline();
    net.deliver_all();
    // 4's Heartbeat reaches 5, which defers to the live leader.
    net.advance_to_next_deadline();
    net.deliver_all();
    BOOST_TEST((net.peer(5).role() == Role::follower));
    BOOST_TEST(*net.agreed_leader() == 4u);
    BOOST_TEST(net.peer(5).epoch() == make_epoch(2, 4));
    // And it stays so: heartbeats keep everyone following 4.
    net.run_for(200ms);
    BOOST_TEST(*net.agreed_leader() == 4u);
    BOOST_TEST(net.events_of(EventKind::became_leader).size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_peer_in_an_election_does_not_defer_to_a_lower_leader) {
    // Under defer a settled peer leaves a working lower leader alone, but one that is running
    // an election carries on: the highest live id still wins (TC_05). Over TCP on a loaded
    // machine, an Election later than the answer timeout let 3 declare itself while 4 ran its
    // own election; 4 deferred to it and the market settled on 3 with 4 alive.
    auto net = cluster(5, RecoveryPolicy::defer);
    // 5 dies; 3 notices and asks 4, but that Election is slow.
    net.crash(5);
    const auto t0 = net.now();
    BOOST_TEST(net.suspect(3));
    BOOST_TEST(net.delay_where([](const InFlight& m) { return m.to == 4; }, 12ms) == 1u);
    // No Ok in time: 3 declares itself.
    BOOST_TEST((net.advance_to_next_deadline() == t0 + 10ms));
    BOOST_TEST(net.peer(3).is_leader());
    net.deliver_all();
    // The Election reaches 4 at last: it answers and runs its own election (asking 5).
    net.run_until(t0 + 12ms);
    BOOST_TEST((net.peer(4).role() == Role::candidate));
    // 3's first Heartbeat reaches 4 in the middle of that election: 4 carries on.
    BOOST_TEST((net.advance_to_next_deadline() == t0 + 20ms));
    BOOST_TEST(net.deliver_all() > 0u);
    BOOST_TEST((net.peer(4).role() == Role::candidate));
    // 5 is silent: 4 leads a newer epoch than 3's, and everyone follows it.
    BOOST_TEST((net.advance_to_next_deadline() == t0 + 22ms));
    net.deliver_all();
    BOOST_TEST(*net.agreed_leader() == 4u);
    BOOST_TEST(net.peer(4).epoch() > net.events_of(EventKind::became_leader).front().event.epoch);
    BOOST_TEST(net.peer(3).epoch() == net.peer(4).epoch());
}

BOOST_AUTO_TEST_CASE(a_leader_just_elected_does_not_defer_to_a_lower_claim_that_crossed_its_own) {
    // Found by system-seed-cases over TCP under AddressSanitizer: at start-up every link was
    // slow, 5 claimed a newer term than 6 (it had heard a term-1 claim of a lower peer), and 6,
    // just elected in term 1, deferred to it with its own Coordinator still on the way.
    FakeNetwork net(FakeNetwork::range(1, 4), config());
    const auto t0 = net.now();
    // Step 1: 4 starts and claims term 1 at once; its links are down for now.
    net.start(4);
    BOOST_TEST(net.peer(4).is_leader());
    BOOST_TEST(net.peer(4).epoch() == make_epoch(1, 4));
    net.isolate(4);
    // Step 2: 3 starts with a floor in term 1 (a term-1 claim it heard); no Ok comes from 4, so
    // it claims term 2 when its answer timeout ends, and 1 and 2 follow it.
    net.start(1);
    net.start(2);
    net.start(3, make_epoch(1, 2));
    net.run_until(t0 + 12ms);
    BOOST_TEST(net.peer(3).is_leader());
    BOOST_TEST(net.peer(3).epoch() == make_epoch(2, 3));
    BOOST_TEST(net.peer(4).is_leader());
    // Step 3: 3's Coordinator reaches 4 twelve milliseconds into its reign (the election
    // timeout is 30 ms): 4 does not defer; it claims a term above 3's, and all follow it.
    net.isolate(4, false);
    net.inject(3, 4, Coordinator{3, make_epoch(2, 3)});
    BOOST_REQUIRE(net.run_until([&] { return net.agreed_leader() == std::optional<PeerId>(4); },
                                t0 + 200ms));
    BOOST_TEST(net.peer(4).epoch() == make_epoch(3, 4));
    BOOST_TEST(net.violation().empty());
}

BOOST_AUTO_TEST_CASE(a_leader_that_has_led_a_while_defers_to_a_newer_lower_claim) {
    // The other side of the rule: a leader paused longer than an election timeout (the others
    // elected 3 meanwhile) follows the working lower leader under defer.
    auto net = cluster(4, RecoveryPolicy::defer);
    net.run_for(100ms);
    BOOST_TEST(net.peer(4).is_leader());
    net.inject(3, 4, Coordinator{3, make_epoch(2, 3)});
    net.deliver_one();
    BOOST_TEST((net.peer(4).role() == Role::follower));
    BOOST_TEST(net.peer(4).leader().value_or(0) == 3u);
}

BOOST_AUTO_TEST_CASE(recovery_under_defer_follows_the_live_leader) {
    auto net = cluster(6, RecoveryPolicy::defer);
    // 6 dies; 5 notices first and takes over at once.
    net.crash(6);
    net.suspect(5);
    net.deliver_all();
    BOOST_TEST(*net.agreed_leader() == 5u);
    // 6 comes back with its memory lost and listens.
    net.recover(6);
    BOOST_TEST((net.peer(6).role() == Role::listening));
    BOOST_TEST(!net.peer(6).leader());
    // 5's next Heartbeat reaches it: 6 joins as a follower of 5.
    net.advance_to_next_deadline();
    net.deliver_all();
    BOOST_TEST((net.peer(6).role() == Role::follower));
    BOOST_TEST(*net.agreed_leader() == 5u);
    BOOST_TEST(net.peer(6).epoch() == make_epoch(2, 5));
    // Later on, 5 still leads; no election happened.
    net.run_for(300ms);
    BOOST_TEST(*net.agreed_leader() == 5u);
    BOOST_TEST(net.events_of(EventKind::became_leader).size() == 1u);
}

BOOST_AUTO_TEST_CASE(recovery_under_bully_takes_the_lead_back_with_a_newer_epoch) {
    auto net = cluster(6, RecoveryPolicy::bully);
    net.crash(6);
    net.suspect(5);
    net.deliver_all();
    // 6 comes back and listens.
    net.recover(6);
    // 5's Heartbeat tells 6 the current epoch; 6 has nobody above and declares itself above it.
    net.advance_to_next_deadline();
    net.deliver_all();
    BOOST_TEST(net.peer(6).is_leader());
    BOOST_TEST(*net.agreed_leader() == 6u);
    BOOST_TEST(net.peer(6).epoch() == make_epoch(3, 6));
    BOOST_TEST(net.peer(1).epoch() > make_epoch(2, 5));
    BOOST_TEST(net.violation().empty());
}

BOOST_AUTO_TEST_CASE(a_restarted_peer_that_hears_nothing_elects_after_listening) {
    auto net = cluster(3, RecoveryPolicy::defer);
    // Everyone is down but 1, which restarts.
    net.crash(3);
    net.crash(2);
    net.recover(1);
    // It listens for election_timeout, then asks 2 and 3, then declares itself.
    BOOST_TEST((net.advance_to_next_deadline() == 30ms));
    BOOST_TEST((net.peer(1).role() == Role::candidate));
    BOOST_TEST((net.advance_to_next_deadline() == 40ms));
    BOOST_TEST(net.peer(1).is_leader());
    // The time to a known leader counts from the restart.
    BOOST_TEST((net.peer(1).counters().last_failover == 40ms));
}

BOOST_AUTO_TEST_CASE(stale_epochs_are_ignored) {
    auto net = cluster(6, RecoveryPolicy::defer);
    // 6 is cut off; it still believes it leads term 1.
    net.isolate(6);
    // The others time out on its silence and 5 takes over in term 2.
    net.run_for(60ms);
    BOOST_TEST(net.peer(6).is_leader());
    for (PeerId p = 1; p <= 4; ++p) BOOST_TEST(*net.peer(p).leader() == 5u);
    // The old leader's Coordinator, replayed, is ignored by everyone.
    const auto stale_before = net.peer(3).counters().stale_ignored;
    net.peer(3).on_message(6, Coordinator{6, make_epoch(1, 6)}, net.now());
    BOOST_TEST(*net.peer(3).leader() == 5u);
    BOOST_TEST(net.peer(3).counters().stale_ignored == stale_before + 1);
    // 6 is reconnected; its Heartbeats in term 1 are ignored, and 5's reach it.
    net.isolate(6, false);
    net.run_for(15ms);
    BOOST_TEST(net.peer(1).counters().stale_ignored >= 1u);
    // 6 steps down and follows 5 (defer); nobody ever followed 6 in the old epoch again.
    BOOST_TEST(*net.agreed_leader() == 5u);
    BOOST_TEST(net.peer(6).epoch() == make_epoch(2, 5));
    for (const auto& l : net.events_of(EventKind::leader_known)) BOOST_TEST(l.event.leader != 6u);
}

BOOST_AUTO_TEST_CASE(delayed_heartbeats_of_a_dead_leader_are_ignored_after_the_failover) {
    auto net = cluster(6);
    // 6 sends its heartbeats at 10 ms; the network holds them back for 100 ms; then 6 dies.
    BOOST_TEST((net.advance_to_next_deadline() == 10ms));
    BOOST_TEST(net.delay_where([](const InFlight& m) { return m.from == 6; }, 100ms) == 5u);
    net.crash(6);
    // 5 notices and takes over in term 2.
    net.suspect(5);
    net.deliver_all();
    BOOST_TEST(*net.agreed_leader() == 5u);
    // The old heartbeats land at 110 ms and are ignored as stale by everyone.
    net.run_until(115ms);
    for (PeerId p = 1; p <= 4; ++p) BOOST_TEST(net.peer(p).counters().stale_ignored == 1u);
    BOOST_TEST(*net.agreed_leader() == 5u);
    BOOST_TEST(net.peer(1).epoch() == make_epoch(2, 5));
}

BOOST_AUTO_TEST_CASE(a_stale_leader_that_returns_under_bully_leads_a_newer_epoch) {
    auto net = cluster(6, RecoveryPolicy::bully);
    net.isolate(6);
    net.run_for(60ms);
    BOOST_TEST(*net.peer(1).leader() == 5u);
    // 6 is reconnected: 5's Heartbeat in term 2 reaches it, and it bullies back in term 3.
    net.isolate(6, false);
    net.run_for(40ms);
    BOOST_TEST(*net.agreed_leader() == 6u);
    BOOST_TEST(net.peer(1).epoch() == make_epoch(3, 6));
}

BOOST_AUTO_TEST_CASE(lost_messages_are_carried_through_by_timeouts) {
    auto net = cluster(6);
    // 6 dies and 4 notices; its Election reaches 5, but 5's Ok back is lost.
    net.crash(6);
    net.suspect(4);
    BOOST_TEST(net.deliver_one());
    BOOST_TEST(is(net.next().msg, MessageKind::ok));
    net.drop_next();
    // 5 asked 6 in turn. Both answer timeouts fire: 4 and 5 both win term 2, in distinct epochs.
    net.advance_to_next_deadline();
    BOOST_TEST(net.peer(4).is_leader());
    BOOST_TEST(net.peer(5).is_leader());
    BOOST_TEST(net.peer(4).epoch() != net.peer(5).epoch());
    // Their Coordinators cross: 4 steps down for the higher one, and 1..3 end with 5.
    net.deliver_all();
    BOOST_TEST(*net.agreed_leader() == 5u);
    BOOST_TEST(net.violation().empty());
}

BOOST_AUTO_TEST_CASE(a_lost_coordinator_is_recovered_by_the_coordinator_timeout) {
    auto net = cluster(6);
    auto to_3 = [](const InFlight& m) { return m.to == 3; };
    // 6 dies and 3 notices: it asks 4 and 5, which answer and start their own elections.
    net.crash(6);
    net.suspect(3);
    net.deliver_all();
    BOOST_TEST((net.peer(3).role() == Role::awaiting));
    // 5 wins at 10 ms, but its Coordinator to 3 is lost.
    BOOST_TEST((net.advance_to_next_deadline() == 10ms));
    BOOST_TEST(net.drop_where(to_3) == 1u);
    net.deliver_all();
    // So is its Heartbeat to 3 at 20 ms.
    BOOST_TEST((net.advance_to_next_deadline() == 20ms));
    BOOST_TEST(net.drop_where(to_3) == 1u);
    net.deliver_all();
    BOOST_TEST(!net.peer(3).leader());
    // At 30 ms 3's coordinator timeout restarts its election; 5 answers and re-sends its
    // Coordinator, 4 (disturbed into an election) gets the same, and no new epoch is made.
    BOOST_TEST((net.advance_to_next_deadline() == 30ms));
    BOOST_TEST(net.peer(3).counters().elections_started == 3u);  // start-up, suspicion, restart
    net.deliver_all();
    BOOST_TEST(*net.agreed_leader() == 5u);
    BOOST_TEST(net.peer(3).epoch() == make_epoch(2, 5));
    BOOST_TEST(net.events_of(EventKind::became_leader).size() == 1u);
}

BOOST_AUTO_TEST_CASE(an_awaiting_peer_restarts_and_the_live_leader_reasserts_itself) {
    auto net = cluster(6);
    // 2 spuriously suspects 6 (6 is alive) and asks 3, 4, 5.
    net.suspect(2);
    // They answer and start elections of their own; 6 answers them and re-sends its Coordinator.
    net.deliver_all();
    for (PeerId p = 3; p <= 5; ++p) BOOST_TEST(*net.peer(p).leader() == 6u);
    BOOST_TEST((net.peer(2).role() == Role::awaiting));
    // 2 hears 6's next heartbeat and follows it again; the epoch never changed.
    net.advance_to_next_deadline();
    net.deliver_all();
    BOOST_TEST(*net.agreed_leader() == 6u);
    BOOST_TEST(net.peer(2).epoch() == make_epoch(1, 6));
    BOOST_TEST(net.events_of(EventKind::became_leader).empty());
}

BOOST_AUTO_TEST_CASE(heartbeats_keep_followers_and_silence_makes_them_suspect) {
    auto net = cluster(6);
    // While the leader lives, one Heartbeat per peer per interval and no election.
    const auto hb = net.sent(MessageKind::heartbeat);
    net.run_until(100ms);
    BOOST_TEST(net.sent(MessageKind::heartbeat) - hb == 10u * 5u);
    BOOST_TEST(net.events_of(EventKind::leader_lost).empty());
    // The leader dies right after its heartbeat at 100 ms.
    net.crash(6);
    // Followers suspect it exactly election_timeout after that heartbeat, not before.
    BOOST_TEST((net.advance_to_next_deadline() == 130ms));
    for (PeerId p = 1; p <= 5; ++p) BOOST_TEST(net.peer(p).counters().suspicions == 1u);
    BOOST_TEST(net.events_of(EventKind::leader_lost).size() == 5u);
    // 5 excluded the suspect and leads at once.
    net.deliver_all();
    BOOST_TEST(*net.agreed_leader() == 5u);
}

BOOST_AUTO_TEST_CASE(time_from_suspicion_to_a_known_leader_is_measured) {
    auto net = cluster(4);
    // 1 ms per message from here on.
    net.set_faults(Faults{0.0, 1ms, 1ms});
    net.crash(4);
    const Time t0 = net.now();
    for (PeerId p = 1; p <= 3; ++p) net.suspect(p);
    // 3 leads at once; 1 and 2 learn it one message later.
    BOOST_TEST(net.peer(3).is_leader());
    net.run_until([&] { return net.agreed_leader().has_value(); }, t0 + 1s);
    BOOST_TEST((net.now() == t0 + 1ms));
    BOOST_TEST((net.peer(3).counters().last_failover == 0ms));
    BOOST_TEST((net.peer(1).counters().last_failover == 1ms));
    BOOST_TEST((*net.events_of(EventKind::leader_known).back().event.since_suspicion == 1ms));
    BOOST_TEST(net.peer(1).counters().leaders_learned == 2u);  // start-up and this failover
}

BOOST_AUTO_TEST_CASE(membership_changes) {
    auto net = cluster(3);
    // Removing the leader from a follower's set is a suspicion: 2 now leads alone above 1.
    net.peer(2).remove_peer(3, net.now());
    BOOST_TEST(net.peer(2).is_leader());
    BOOST_TEST(net.peer(2).counters().suspicions == 1u);
    // A leader tells a newcomer at once.
    net.peer(2).clear_outbox();
    net.peer(2).add_peer(9, net.now());
    const auto out = net.peer(2).outbox();
    BOOST_REQUIRE(out.size() == 1u);
    BOOST_TEST(out[0].to == 9u);
    BOOST_TEST(is(out[0].msg, MessageKind::coordinator));
    // Adding self or a known peer is a no-op.
    net.peer(2).add_peer(2, net.now());
    net.peer(2).add_peer(9, net.now());
    BOOST_TEST(net.peer(2).peers().size() == 2u);
}

BOOST_AUTO_TEST_SUITE_END()
