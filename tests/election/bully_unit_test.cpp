// One machine on its own: configuration, bad input, the outbox and deadline contract.
#include <boost/test/unit_test.hpp>

#include <stdexcept>
#include <string>

#include "tp/election/bully.hpp"

using namespace tp::election;
using namespace std::chrono_literals;

namespace {

Config config(PeerId self, std::vector<PeerId> peers) {
    Config c;
    c.self = self;
    c.peers = std::move(peers);
    return c;
}

std::string error_of(const Config& c) {
    try {
        validate(c);
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return {};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(bully_unit)

BOOST_AUTO_TEST_CASE(epochs_pack_term_and_leader_in_order) {
    BOOST_TEST(epoch_term(make_epoch(7, 3)) == 7u);
    BOOST_TEST(epoch_leader(make_epoch(7, 3)) == 3u);
    // The term decides; the leader breaks ties between two winners of one term.
    BOOST_TEST(make_epoch(2, 1) > make_epoch(1, max_peer_id));
    BOOST_TEST(epoch_term(make_epoch(max_term, max_peer_id)) == max_term);
    BOOST_TEST(epoch_leader(make_epoch(max_term, max_peer_id)) == max_peer_id);
    BOOST_TEST(make_epoch(2, 5) > make_epoch(2, 4));
    BOOST_TEST(make_epoch(1, 0) > no_epoch);
}

BOOST_AUTO_TEST_CASE(bad_configuration_is_refused_with_the_field_named) {
    auto c = config(1, {2});
    c.heartbeat_interval = 0ms;
    BOOST_TEST(error_of(c).find("heartbeat_interval") != std::string::npos);
    c = config(1, {2});
    c.answer_timeout = -1ms;
    BOOST_TEST(error_of(c).find("answer_timeout") != std::string::npos);
    c = config(1, {2});
    c.coordinator_timeout = 0ms;
    BOOST_TEST(error_of(c).find("coordinator_timeout") != std::string::npos);
    c = config(1, {2});
    c.election_timeout = c.heartbeat_interval;
    BOOST_TEST(error_of(c).find("election_timeout") != std::string::npos);
    BOOST_CHECK_THROW(Bully{c}, std::invalid_argument);
    BOOST_TEST(error_of(config(1, {2})).empty());
}

BOOST_AUTO_TEST_CASE(peers_are_normalised) {
    // Sparse ids, self listed, duplicates: the set is sorted, without self, each once.
    Bully b(config(40, {900, 7, 40, 7, 12}));
    const std::vector<PeerId> want{7, 12, 900};
    BOOST_TEST(std::vector<PeerId>(b.peers().begin(), b.peers().end()) == want);
}

BOOST_AUTO_TEST_CASE(a_lone_peer_leads_at_once) {
    Bully b(config(3, {}));
    b.start(5ms);
    BOOST_TEST(b.is_leader());
    BOOST_TEST(b.epoch() == make_epoch(1, 3));
    BOOST_TEST(b.outbox().empty());
    BOOST_TEST((*b.next_deadline() == 15ms));
    const auto events = b.take_events();
    BOOST_REQUIRE(events.size() == 1u);
    BOOST_TEST((events[0].kind == EventKind::became_leader));
    BOOST_TEST((*events[0].since_suspicion == 0ms));
}

BOOST_AUTO_TEST_CASE(a_floor_epoch_puts_the_first_term_above_it) {
    Bully b(config(3, {1}));
    b.start(0ms, make_epoch(41, 9));
    BOOST_TEST(b.epoch() == make_epoch(42, 3));
    BOOST_CHECK_THROW(b.restart(0ms, make_epoch(max_term + 1, 1)), std::invalid_argument);
    // At the last valid term the next claim stays there instead of wrapping to an old epoch.
    Bully c(config(3, {}));
    c.start(0ms, make_epoch(max_term, 9));
    BOOST_TEST(c.epoch() == make_epoch(max_term, 3));
}

BOOST_AUTO_TEST_CASE(an_idle_peer_joins_an_election_it_is_asked_into) {
    Bully b(config(5, {2, 7}));
    // Not started, but asked by 2: it answers and runs its own election.
    b.on_message(2, Election{}, 3ms);
    const auto out = b.take_outbox();
    BOOST_REQUIRE(out.size() == 2u);
    BOOST_TEST((kind_of(out[0].msg) == MessageKind::ok));
    BOOST_TEST(out[1].to == 7u);
    BOOST_TEST((b.role() == Role::candidate));
    BOOST_TEST((*b.next_deadline() == 13ms));
}

BOOST_AUTO_TEST_CASE(candidate_asks_higher_peers_and_answers_lower_ones) {
    Bully b(config(5, {2, 7, 9}));
    b.start(0ms);
    // Elections go to 7 and 9 only.
    auto out = b.take_outbox();
    BOOST_REQUIRE(out.size() == 2u);
    BOOST_TEST(out[0].to == 7u);
    BOOST_TEST(out[1].to == 9u);
    BOOST_TEST((kind_of(out[0].msg) == MessageKind::election));
    BOOST_TEST((*b.next_deadline() == 10ms));
    // 2 asks 5: it answers Ok and carries on with its own election.
    b.on_message(2, Election{make_epoch(4, 9)}, 1ms);
    out = b.take_outbox();
    BOOST_REQUIRE(out.size() == 1u);
    BOOST_TEST(out[0].to == 2u);
    BOOST_TEST(std::get<Ok>(out[0].msg).epoch == make_epoch(4, 9));
    BOOST_TEST((b.role() == Role::candidate));
    // 9 answers: wait for its Coordinator.
    b.on_message(9, Ok{}, 2ms);
    BOOST_TEST((b.role() == Role::awaiting));
    BOOST_TEST((*b.next_deadline() == 32ms));
    // An early tick does nothing.
    b.on_tick(20ms);
    BOOST_TEST((b.role() == Role::awaiting));
    BOOST_TEST(b.outbox().empty());
    // Silence: the election starts over.
    b.on_tick(32ms);
    BOOST_TEST((b.role() == Role::candidate));
    BOOST_TEST(b.counters().elections_started == 2u);
    // This time nobody answers: 5 leads above the epoch 2 told it of.
    b.clear_outbox();
    b.on_tick(42ms);
    BOOST_TEST(b.is_leader());
    BOOST_TEST(b.epoch() == make_epoch(5, 5));
    // Coordinator to the lower peer only.
    out = b.take_outbox();
    BOOST_REQUIRE(out.size() == 1u);
    BOOST_TEST(out[0].to == 2u);
    BOOST_TEST((kind_of(out[0].msg) == MessageKind::coordinator));
}

BOOST_AUTO_TEST_CASE(malformed_and_misdirected_messages_are_ignored) {
    Bully b(config(5, {2, 7}));
    b.start(0ms);
    b.on_message(7, Coordinator{7, make_epoch(1, 7)}, 0ms);
    BOOST_REQUIRE(*b.leader() == 7u);
    b.clear_outbox();
    b.clear_events();
    const auto check_ignored = [&](PeerId from, const Message& m, std::uint64_t count) {
        b.on_message(from, m, 1ms);
        BOOST_TEST(b.counters().invalid_ignored == count);
        BOOST_TEST(*b.leader() == 7u);
        BOOST_TEST(b.epoch() == make_epoch(1, 7));
        BOOST_TEST(b.outbox().empty());
    };
    // From an unknown peer, and from self.
    check_ignored(8, Coordinator{8, make_epoch(9, 8)}, 1);
    check_ignored(5, Election{}, 2);
    // A claim for someone else than the sender, and an epoch whose leader part disagrees.
    check_ignored(2, Coordinator{7, make_epoch(9, 7)}, 3);
    check_ignored(2, Heartbeat{2, make_epoch(9, 7)}, 4);
    // Term 0 is no reign, and the reserved last term is never valid.
    check_ignored(7, Heartbeat{7, make_epoch(0, 7)}, 5);
    check_ignored(7, Heartbeat{7, make_epoch(max_term + 1, 7)}, 6);
    check_ignored(2, Election{make_epoch(max_term + 1, 7)}, 7);
    // Election from above and Ok from below are wrong directions.
    check_ignored(7, Election{}, 8);
    check_ignored(2, Ok{}, 9);
    BOOST_TEST(b.events().empty());
}

BOOST_AUTO_TEST_CASE(late_ok_with_a_newer_epoch_unseats_a_leader) {
    Bully b(config(5, {2, 7}));
    b.start(0ms);
    b.on_tick(10ms);  // no answer from 7: lead in term 1
    BOOST_REQUIRE(b.is_leader());
    b.clear_outbox();
    // A delayed Ok tells of term 3: leading term 1 would be leading a superseded reign.
    b.on_message(7, Ok{make_epoch(3, 7)}, 11ms);
    BOOST_TEST((b.role() == Role::candidate));
    b.on_tick(21ms);
    BOOST_TEST(b.epoch() == make_epoch(4, 5));
}

BOOST_AUTO_TEST_CASE(a_leader_superseded_by_the_replicas_follows_that_reign) {
    Bully b(config(5, {2, 7}));
    b.start(0ms);
    b.on_tick(10ms);  // no answer from 7: lead in term 1
    BOOST_REQUIRE(b.epoch() == make_epoch(1, 5));
    b.clear_outbox();
    // The replicas joined 1:7, whose Coordinator never came: leading 1:5, which they refuse,
    // would stall the market. 5 follows 7 in 1:7, as its Coordinator would have made it.
    BOOST_TEST(!b.superseded(make_epoch(1, 7), 11ms));
    BOOST_TEST((b.role() == Role::follower));
    BOOST_TEST((b.leader() == PeerId{7}));
    BOOST_TEST(b.epoch() == make_epoch(1, 7));
    // 7 had failed: its silence makes 5 suspect it and lead a term above it.
    b.on_tick(11ms + b.config().election_timeout);
    b.on_tick(11ms + b.config().election_timeout + b.config().answer_timeout);
    BOOST_TEST(b.is_leader());
    BOOST_TEST(b.epoch() == make_epoch(2, 5));
    // An epoch it leads, an older one, or one beyond belief changes nothing.
    BOOST_TEST(!b.superseded(make_epoch(2, 5), 100ms));
    BOOST_TEST(!b.superseded(make_epoch(1, 7), 100ms));
    BOOST_TEST(!b.superseded(make_epoch(5000, 7), 100ms));
    BOOST_TEST(b.is_leader());
    BOOST_TEST(b.max_epoch() == make_epoch(2, 5));
}

BOOST_AUTO_TEST_CASE(a_superseded_leader_takes_over_a_lower_one_only_under_the_bully_policy) {
    // Defer: 5 follows 2, whose reign the replicas joined.
    Bully deferring(config(5, {2}));
    deferring.start(0ms);
    BOOST_REQUIRE(deferring.is_leader());
    BOOST_TEST(!deferring.superseded(make_epoch(2, 2), 1ms));
    BOOST_TEST((deferring.leader() == PeerId{2}));
    // Bully: 5 wins a term above it.
    Config c = config(5, {2});
    c.policy = RecoveryPolicy::bully;
    Bully bullying(c);
    bullying.start(0ms);
    BOOST_REQUIRE(bullying.is_leader());
    BOOST_TEST(bullying.superseded(make_epoch(2, 2), 1ms));
    BOOST_TEST(bullying.is_leader());
    BOOST_TEST(bullying.epoch() == make_epoch(3, 5));
}

BOOST_AUTO_TEST_CASE(a_follower_learns_a_superseding_epoch_for_its_next_reign) {
    Bully b(config(5, {2, 7}));
    b.start(0ms);
    b.on_message(7, Coordinator{7, make_epoch(1, 7)}, 1ms);
    // A follower only notes it: its next election goes above it.
    BOOST_TEST(!b.superseded(make_epoch(2, 7), 2ms));
    BOOST_TEST((b.leader() == PeerId{7}));
    BOOST_TEST(b.suspect_leader(3ms));
    BOOST_TEST(b.epoch() == make_epoch(3, 5));
}

BOOST_AUTO_TEST_CASE(a_peer_that_is_no_candidate_never_leads_nor_holds_one_back) {
    // 5 keeps no replica of the log (a customer): it may ask, but never lead.
    Config c = config(5, {2, 7});
    c.candidate = false;
    c.policy = RecoveryPolicy::bully;
    Bully b(c);
    b.start(0ms);
    // It asks the higher peer, like a candidate.
    auto out = b.take_outbox();
    BOOST_REQUIRE(out.size() == 1u);
    BOOST_TEST(out[0].to == 7u);
    BOOST_TEST((kind_of(out[0].msg) == MessageKind::election));
    // 2 asks 5: no Ok, so 2 is not held back waiting for a Coordinator 5 would never send.
    b.on_message(2, Election{}, 1ms);
    BOOST_TEST(b.outbox().empty());
    // Nobody answers: it does not claim an epoch, it waits for one and asks again.
    b.on_tick(10ms);
    BOOST_TEST(!b.is_leader());
    BOOST_TEST(b.outbox().empty());
    BOOST_TEST(b.take_events().empty());
    BOOST_TEST((*b.next_deadline() == 40ms));
    b.on_tick(40ms);
    out = b.take_outbox();
    BOOST_REQUIRE(out.size() == 1u);
    BOOST_TEST(out[0].to == 7u);
    // A lower leader's claim is followed, bully policy or not: it could not take over.
    b.on_message(2, Coordinator{2, make_epoch(1, 2)}, 41ms);
    BOOST_TEST((b.leader() == PeerId{2}));
    BOOST_TEST((b.role() == Role::follower));
    // Its leader gone and nobody higher to ask: it stays without one rather than lead.
    b.clear_outbox();
    BOOST_TEST(b.suspect_leader(42ms));
    BOOST_TEST(!b.is_leader());
    BOOST_TEST(!b.leader().has_value());
}

BOOST_AUTO_TEST_CASE(held_claims_keep_the_election_but_wait_to_claim) {
    // 5 lost its durable state: it may not claim before it knows which epochs it joined.
    Bully b(config(5, {2, 7}));
    b.hold_claims(true);
    b.start(0ms);
    b.clear_outbox();
    // It still answers a lower candidate, which then waits for it rather than claim itself.
    b.on_message(2, Election{}, 1ms);
    auto out = b.take_outbox();
    BOOST_REQUIRE(!out.empty());
    BOOST_TEST((kind_of(out[0].msg) == MessageKind::ok));
    // Nobody higher answers: no claim, a retry after coordinator_timeout.
    b.on_tick(10ms);
    BOOST_TEST(!b.is_leader());
    BOOST_TEST((*b.next_deadline() == 40ms));
    // Released (it learnt its epochs), the next round claims above them.
    b.hold_claims(false);
    b.on_tick(40ms);
    b.on_tick(50ms);
    BOOST_TEST(b.is_leader());
}

BOOST_AUTO_TEST_CASE(suspect_leader_only_acts_for_a_follower) {
    Bully b(config(5, {2, 7}));
    BOOST_TEST(!b.suspect_leader(0ms));  // idle
    b.start(0ms);
    BOOST_TEST(!b.suspect_leader(0ms));  // candidate
    b.on_message(7, Coordinator{7, make_epoch(1, 7)}, 1ms);
    b.clear_outbox();
    BOOST_TEST(b.suspect_leader(2ms));
    // 7 is the suspect and the only higher peer: 5 leads at once.
    BOOST_TEST(b.is_leader());
    const auto events = b.take_events();
    BOOST_REQUIRE(events.size() >= 2u);
    BOOST_TEST((events[events.size() - 2].kind == EventKind::leader_lost));
    BOOST_TEST(events[events.size() - 2].leader == 7u);
    BOOST_TEST((events.back().kind == EventKind::became_leader));
}

// A peer whose loop did not run (a stall) cannot judge the silence that spanned it: on resume a
// follower gives its leader a fresh election_timeout; a deadline already passed no longer counts.
BOOST_AUTO_TEST_CASE(a_resumed_follower_gives_its_leader_a_fresh_timeout) {
    Config c = config(5, {2, 7});
    c.election_timeout = 50ms;
    Bully b(c);
    b.start(0ms);
    b.on_message(7, Coordinator{7, make_epoch(1, 7)}, 1ms);
    // Step 1: the follower would suspect 7 at 51 ms; its loop stalls until 300 ms.
    BOOST_TEST(b.next_deadline().value() == 51ms);
    b.resume(300ms);
    // Step 2: the tick right after the stall suspects nobody; the deadline is 350 ms.
    b.on_tick(300ms);
    BOOST_TEST((b.role() == Role::follower));
    BOOST_TEST(b.counters().suspicions == 0u);
    BOOST_TEST(b.next_deadline().value() == 350ms);
    // Step 3: a heartbeat keeps it; real silence after the stall is still a failure.
    b.on_message(7, Heartbeat{7, make_epoch(1, 7)}, 320ms);
    b.on_tick(400ms);
    BOOST_TEST(b.counters().suspicions == 1u);
    // A leader's cadence is not its to move.
    Bully leader(config(9, {2, 7}));
    leader.start(0ms);
    leader.on_tick(100ms);  // no higher peer: leads
    BOOST_REQUIRE(leader.is_leader());
    const auto before = leader.next_deadline();
    leader.resume(1000ms);
    BOOST_TEST((leader.next_deadline() == before));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(recovery_policy)

// The one table names every policy once, and to_string and parse agree with it both ways.
BOOST_AUTO_TEST_CASE(policy_names_round_trip_and_bad_names_are_named) {
    BOOST_TEST(std::size(tp::election::recovery_policy_names) == 2u);
    for (const auto p : {RecoveryPolicy::defer, RecoveryPolicy::bully}) {
        BOOST_TEST((parse_recovery_policy(to_string(p)) == p));
    }
    BOOST_TEST(std::string(to_string(RecoveryPolicy::bully)) == "bully");
    try {
        parse_recovery_policy("Bully");
        BOOST_FAIL("Bully accepted");
    } catch (const std::invalid_argument& e) {
        BOOST_TEST(std::string(e.what()).find("'Bully'") != std::string::npos);
    }
}

BOOST_AUTO_TEST_SUITE_END()
