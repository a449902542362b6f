// Peers join and leave a running market, as cores on a fake network (issue 18): a newcomer asks
// any member, is sent on to the trader, is admitted once its record is durable, and trades; the
// others learn it from the trader; a newcomer never leads; a leave is a record too.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <vector>

#include "core_market.hpp"

using namespace core_market;

namespace {

std::vector<PeerId> ids(std::span<const PeerId> members) {
    return {members.begin(), members.end()};
}

// Peers 1 (seller), 2 and 3 (buyers), peer 3 the trader.
CoreMarket running() {
    CoreMarket m({Role::seller, Role::buyer, Role::buyer});
    m.settle();
    m.advance(ms(200));
    BOOST_REQUIRE(m.peer(3).trader() != nullptr);
    return m;
}

// Buyer 9 joins through the trader, and hears its heartbeats.
PeerCore& joined_buyer(CoreMarket& m) {
    PeerCore& newcomer = m.join(9, Role::buyer, 3);
    m.settle();
    m.advance(ms(200));
    BOOST_REQUIRE(!newcomer.joining());
    return newcomer;
}

// Seller 1 deposits and `buyer` asks for one unit (the trader's clock then names the buyer).
void deposit_and_buy_one(CoreMarket& m, PeerCore& buyer) {
    m.peer(1).deposit(salt, 5, 10, m.now);
    m.carry_out(1);
    m.settle();
    buyer.buy(salt, 1, m.now);
    m.carry_out(buyer.id());
    m.settle();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(peer_core_membership)

BOOST_AUTO_TEST_CASE(a_newcomer_joins_through_a_member_and_buys) {
    CoreMarket m = running();
    // Step 1: peer 9 asks peer 1, which is not the trader: 1 keeps where to answer it and sends
    // it on to 3; 3 records the join, syncs, and admits it.
    PeerCore& newcomer = m.join(9, Role::buyer, 1);
    BOOST_TEST(newcomer.joining());
    m.settle();
    BOOST_REQUIRE(m.guests[1].size() == 1u);
    BOOST_TEST(m.guests[1][0].host == "10.0.0.9");
    BOOST_TEST(m.guests[1][0].port == 9009);
    BOOST_TEST(!newcomer.joining());
    BOOST_TEST(m.peer(3).trader()->books().membership().contains(9));
    // Step 2: everyone's membership has 9; the driver of each is told, with 9's address.
    for (PeerId p : {1u, 2u, 3u, 9u}) {
        BOOST_TEST((ids(m.peer(p).members()) == std::vector<PeerId>{1, 2, 3, 9}), "peer " << p);
        BOOST_REQUIRE(m.members[p].size() == 4u);
        BOOST_TEST(m.members[p].back().host == "10.0.0.9");
    }
    // Step 3: the trader's heartbeats reach 9, which follows 3 (it never runs an election).
    m.advance(ms(200));
    BOOST_TEST(newcomer.trading_partner().value_or(0) == 3u);
    // Step 4: seller 1 deposits, 9 buys: filled.
    m.peer(1).deposit(salt, 5, 10, m.now);
    m.carry_out(1);
    m.settle();
    const auto request = newcomer.buy(salt, 2, m.now);
    m.carry_out(9);
    m.settle();
    m.advance(m.cfg.market.batch_window + ms(1));
    const auto* purchase = newcomer.buyer().purchase(request);
    BOOST_REQUIRE(purchase != nullptr);
    BOOST_TEST(purchase->filled);
    BOOST_TEST(purchase->bought == 2u);
    BOOST_TEST((purchase->sellers == std::vector<PeerId>{1}));
}

BOOST_AUTO_TEST_CASE(a_second_peer_claiming_a_member_s_id_is_refused_and_stops) {
    CoreMarket m = running();
    m.join(9, Role::buyer, 3);
    m.settle();
    // Another process starts as 9, elsewhere, and asks the trader: refused (id in use), and it
    // stops with a reason; the membership is unchanged. (From 9's own address it would be 9
    // again, restarted: trader_membership's retried join.)
    PeerCore& impostor = m.join(9, Role::seller, 3, "10.0.0.99");
    m.settle();
    BOOST_TEST(m.failures[9].find("id_in_use") != std::string::npos);
    BOOST_TEST(!impostor.joining());
    BOOST_TEST(m.peer(3).trader()->books().membership().size() == 4u);
}

BOOST_AUTO_TEST_CASE(a_newcomer_with_the_highest_id_never_leads) {
    CoreMarket m = running();
    PeerCore& newcomer = joined_buyer(m);
    // The trader fails: 1 and 2 elect 2; 9, the highest id, follows it.
    m.peers.erase(3);
    m.journal.reset();  // its journal closes with it
    m.advance(ms(2000));
    BOOST_TEST(newcomer.trader() == nullptr);
    BOOST_TEST(!newcomer.election().is_leader());
    BOOST_TEST(m.peer(2).election().is_leader());
    BOOST_TEST(newcomer.trading_partner().value_or(0) == 2u);
}

BOOST_AUTO_TEST_CASE(a_member_leaves_and_the_others_forget_it) {
    CoreMarket m = running();
    PeerCore& newcomer = joined_buyer(m);
    // 9 leaves: the trader records it, answers once durable, and tells 1 and 2.
    newcomer.leave(false, m.now);
    m.carry_out(9);
    m.settle();
    BOOST_TEST(newcomer.left());
    BOOST_TEST(!m.peer(3).trader()->books().membership().contains(9));
    for (PeerId p : {1u, 2u, 3u}) {
        BOOST_TEST((ids(m.peer(p).members()) == std::vector<PeerId>{1, 2, 3}), "peer " << p);
        // Its clock entry goes too: clocks once named every peer that ever was, until a
        // newcomer's decode bound refused a member's messages (sim --faults churn).
        BOOST_TEST(m.peer(p).clock().get(9) == 0u, "peer " << p);
    }
}

BOOST_AUTO_TEST_CASE(a_leaver_whose_answer_was_lost_learns_it_left_when_it_asks_again) {
    CoreMarket m = running();
    PeerCore& newcomer = joined_buyer(m);
    // Step 1: 9 leaves; the trader records it, and its answer is lost.
    newcomer.leave(false, m.now);
    m.carry_out(9);
    for (int n = 0; n < 10 && !m.network.empty(); ++n) {
        std::erase_if(m.network, [](const wire::Envelope& e) {
            return std::holds_alternative<wire::LeaveAnswer>(e.body);
        });
        wire::Envelope e = std::move(m.network.front());
        m.network.pop_front();
        m.peer(e.receiver).on_message(e, m.now);
        m.carry_out(e.receiver);
    }
    m.network.clear();
    BOOST_REQUIRE(!m.peer(3).trader()->books().membership().contains(9));
    BOOST_REQUIRE(newcomer.leaving());
    // Step 2: it asks again; the trader answers that it is not a member: it is out.
    m.advance(ms(2000));
    BOOST_TEST(newcomer.left());
    BOOST_TEST(!newcomer.leaving());
}

// A market that peers join and leave for hours must not keep a session and an address for every
// peer that ever was: one that left is forgotten, but only once no retry of its leave can still
// need an answer.
BOOST_AUTO_TEST_CASE(a_peer_that_left_is_forgotten_once_no_retry_of_its_leave_can_come) {
    CoreMarket m = running();
    const Time interval = m.cfg.election.election_timeout;  // a leave's retry interval
    PeerCore& newcomer = joined_buyer(m);
    // Step 1: 9 leaves; everyone learns it; nobody forgets it yet.
    newcomer.leave(false, m.now);
    m.carry_out(9);
    m.settle();
    BOOST_REQUIRE(newcomer.left());
    m.advance(interval * static_cast<int>(PeerCore::max_leave_attempts));
    BOOST_TEST(m.forgotten.empty());
    // Step 2: later than its last retry could come, each member forgets it, once.
    m.advance(interval * 3);
    for (PeerId p : {1u, 2u, 3u}) {
        BOOST_TEST((m.forgotten[p] == std::vector<PeerId>{9}), "peer " << p);
    }
}

BOOST_AUTO_TEST_CASE(a_peer_that_joins_again_before_it_is_forgotten_is_kept) {
    CoreMarket m = running();
    const Time interval = m.cfg.election.election_timeout;
    PeerCore& first = joined_buyer(m);
    first.leave(false, m.now);
    m.carry_out(9);
    m.settle();
    BOOST_REQUIRE(first.left());
    // 9 comes back (a later process, the same address) before anyone forgot it.
    m.advance(interval * 10);
    PeerCore& again = m.join(9, Role::buyer, 3);
    m.settle();
    BOOST_REQUIRE(!again.joining());
    m.advance(interval * static_cast<int>(PeerCore::max_leave_attempts + 10));
    for (PeerId p : {1u, 2u, 3u}) {
        BOOST_TEST(m.forgotten[p].empty(), "peer " << p);
        BOOST_TEST((ids(m.peer(p).members()) == std::vector<PeerId>{1, 2, 3, 9}), "peer " << p);
    }
}

BOOST_AUTO_TEST_CASE(a_leave_never_answered_gives_up_with_a_reason) {
    CoreMarket m = running();
    const Time interval = m.cfg.election.election_timeout;
    PeerCore& newcomer = joined_buyer(m);
    // Every Leave is lost: 9 asks max_leave_attempts times, then stops with a reason (the
    // members would forget it soon after, and refuse whatever it asked then).
    m.lose = [](const wire::Envelope& e) { return std::holds_alternative<wire::Leave>(e.body); };
    newcomer.leave(false, m.now);
    m.carry_out(9);
    m.advance(interval * static_cast<int>(PeerCore::max_leave_attempts + 2));
    BOOST_TEST(!newcomer.leaving());
    BOOST_TEST(!newcomer.left());
    BOOST_TEST(m.failures[9].find("did not answer this peer's leave") != std::string::npos);
}

// sim --seeds 1346 --faults churn,crash: a leave committed, its answer was lost, and the trader
// failed; the next one did not tell the leaver (it knew the leave before its reign began). No
// longer a member, the leaver heard nothing more and asked the dead trader for ever. With no
// trader known it asks the members in turn; one that is not the trader names the one it follows.
BOOST_AUTO_TEST_CASE(a_leaver_whose_trader_failed_finds_the_next_one_through_the_members) {
    CoreMarket m = running();
    PeerCore& leaver = joined_buyer(m);
    // Step 1: 9 leaves; the trader records it, and its answer is lost.
    m.lose = [](const wire::Envelope& e) {
        return std::holds_alternative<wire::LeaveAnswer>(e.body);
    };
    leaver.leave(false, m.now);
    m.carry_out(9);
    m.settle();
    BOOST_REQUIRE(!m.peer(3).trader()->books().membership().contains(9));
    BOOST_REQUIRE(leaver.leaving());
    m.lose = nullptr;
    // Step 2: the trader fails; 2 takes over the books, where 9 is no member: 9 hears nothing.
    m.peers.erase(3);
    m.journal.reset();
    m.advance(ms(2000));
    BOOST_REQUIRE(m.peer(2).trader() != nullptr);
    // Step 3: 9 asked the members in turn, was sent on to 2, and 2 says it left.
    BOOST_TEST(leaver.left());
    BOOST_TEST(!leaver.leaving());
    BOOST_TEST(m.failures[9].empty());
}

// The cluster run found a newcomer that kept a replica of the trader's log: the replica set was
// counted with it, the highest id. A newcomer is a customer; the founders' set is unchanged.
BOOST_AUTO_TEST_CASE(a_newcomer_keeps_no_replica) {
    CoreMarket m = running();
    tp::peer::Config cfg = m.cfg;
    cfg.replication.mode = tp::peer::ReplicationMode::quorum;
    cfg.replication.replicas = 3;
    auto joining = tp::peer::PeerCoreOptions::from(cfg, 9, Role::buyer, {1, 2, 3}, 1);
    joining.join = tp::peer::PeerCoreOptions::Joining{1, "10.0.0.9", 9009};
    const PeerCore newcomer(std::move(joining), *m.log.logger);
    BOOST_TEST(!newcomer.founding_replica());
    BOOST_TEST(newcomer.replica() == nullptr);
    const PeerCore founder(tp::peer::PeerCoreOptions::from(cfg, 1, Role::seller, {1, 2, 3}, 1),
                           *m.log.logger);
    BOOST_TEST(founder.founding_replica());
}

// Churning runs logged "a membership update not from the trader" at start-up: a new trader's
// Members overtook its Coordinator and was dropped, and it may be the only update naming a leave
// the new reign's view change applied. It is kept, and taken once the peer follows that reign.
BOOST_AUTO_TEST_CASE(a_new_trader_s_update_ahead_of_its_coordinator_is_taken_once_it_follows) {
    CoreMarket m = running();
    const auto now_epoch = m.peer(1).election().epoch();
    const auto next = tp::election::make_epoch(tp::election::epoch_term(now_epoch) + 1, 3);
    std::vector<wire::MemberInfo> with_9{{1, false, true, false, {}, 0},
                                         {2, true, false, false, {}, 0},
                                         {3, true, false, true, {}, 0},
                                         {9, true, false, false, "10.0.0.9", 9009}};
    // Step 1: 3's update for its next reign comes first: not taken, and not counted as a fault.
    const auto before = m.peer(1).counters().wrong_role;
    m.peer(1).on_message(wire::Envelope{3, 1, next, {}, wire::Members{99, with_9}}, m.now);
    m.carry_out(1);
    BOOST_TEST((ids(m.peer(1).members()) == std::vector<PeerId>{1, 2, 3}));
    BOOST_TEST(m.peer(1).counters().wrong_role == before);
    // Step 2: its Coordinator follows: peer 1 follows that reign, and takes the update.
    m.peer(1).on_message(wire::Envelope{3, 1, next, {}, wire::Coordinator{3, next}}, m.now);
    m.carry_out(1);
    BOOST_REQUIRE(m.peer(1).election().epoch() == next);
    BOOST_TEST((ids(m.peer(1).members()) == std::vector<PeerId>{1, 2, 3, 9}));
}

// A leave answer from the trader of a newer reign counts (it took the leave over from a failed
// trader), but only for a reign the leaver could believe: a member that holds the key must not
// end another's leave with an epoch from nowhere.
BOOST_AUTO_TEST_CASE(a_leave_answer_from_an_implausible_reign_is_dropped) {
    CoreMarket m = running();
    PeerCore& leaver = joined_buyer(m);
    m.lose = [](const wire::Envelope& e) { return std::holds_alternative<wire::Leave>(e.body); };
    leaver.leave(false, m.now);
    m.carry_out(9);
    const auto term = tp::election::epoch_term(leaver.election().epoch());
    // Step 1: peer 2 answers for a reign 5,000 terms ahead: dropped, still leaving.
    const auto before = leaver.counters().wrong_role;
    const auto far = tp::election::make_epoch(term + 5000, 2);
    leaver.on_message(wire::Envelope{2, 9, far, {}, wire::LeaveAnswer{}}, m.now);
    m.carry_out(9);
    BOOST_TEST(leaver.leaving());
    BOOST_TEST(leaver.counters().wrong_role == before + 1);
    // Step 2: the answer of the next reign's trader is taken.
    const auto next = tp::election::make_epoch(term + 1, 2);
    leaver.on_message(wire::Envelope{2, 9, next, {}, wire::LeaveAnswer{}}, m.now);
    m.carry_out(9);
    BOOST_TEST(leaver.left());
}

// sim --seed 225 --promote --faults all: a leaver whose leave had committed asked a trader that
// never listed it, and heard nothing. A Leave names where its sender listens: a member that does
// not list the sender answers it there, as it would a newcomer.
BOOST_AUTO_TEST_CASE(a_leave_from_a_peer_nobody_lists_is_answered_where_it_listens) {
    CoreMarket m = running();
    const wire::Leave leave{false, "10.0.0.9", 9009};
    const wire::MemberInfo where{9, false, false, false, "10.0.0.9", 9009};
    // Step 1: the trader has no member 9: it says so, to 9's address.
    m.peer(3).on_message(wire::Envelope{9, 3, m.peer(3).election().epoch(), {}, leave}, m.now);
    m.carry_out(3);
    BOOST_TEST((m.guests[3] == std::vector<wire::MemberInfo>{where}));
    const auto answers = std::count_if(m.network.begin(), m.network.end(), [](const auto& e) {
        const auto* a = std::get_if<wire::LeaveAnswer>(&e.body);
        return e.receiver == 9 && a && a->reason == wire::MembershipRefusal::not_a_member;
    });
    BOOST_TEST(answers == 1);
    m.network.clear();
    // Step 2: member 1, not the trader, names the trader it follows, to 9's address too.
    m.peer(1).on_message(wire::Envelope{9, 1, m.peer(1).election().epoch(), {}, leave}, m.now);
    m.carry_out(1);
    BOOST_TEST((m.guests[1] == std::vector<wire::MemberInfo>{where}));
    BOOST_REQUIRE(m.network.size() == 1u);
    const auto* named = std::get_if<wire::LeaveAnswer>(&m.network.front().body);
    BOOST_REQUIRE(named != nullptr);
    BOOST_TEST(m.network.front().receiver == 9u);
    BOOST_TEST((named->reason == wire::MembershipRefusal::not_trader));
    BOOST_TEST(named->trader == 3u);
    // Neither recorded anything, nor lists 9.
    for (PeerId p : {1u, 3u}) {
        BOOST_TEST((ids(m.peer(p).members()) == std::vector<PeerId>{1, 2, 3}), "peer " << p);
    }
}

// A leaver sent on to a trader it does not list (a newcomer promoted since it last heard) asks it
// at the address the member's answer gives; its Leave names its own address.
BOOST_AUTO_TEST_CASE(a_leaver_sent_on_to_a_trader_it_does_not_list_asks_it_there) {
    CoreMarket m = running();
    PeerCore& leaver = joined_buyer(m);
    m.lose = [](const wire::Envelope& e) { return std::holds_alternative<wire::Leave>(e.body); };
    leaver.leave(false, m.now);
    m.carry_out(9);
    m.settle();
    m.lose = nullptr;
    const wire::MemberInfo trader{12, true, false, true, "10.0.0.12", 9012};
    // Step 1: member 1 says peer 12 is the trader, and where it listens.
    leaver.on_message(wire::Envelope{1, 9, leaver.election().epoch(), {},
                                     wire::LeaveAnswer{wire::MembershipRefusal::not_trader, 12,
                                                       {trader}}},
                      m.now);
    m.carry_out(9);
    // Step 2: 9 learns where 12 is, and asks it, naming its own address.
    BOOST_TEST((m.guests[9] == std::vector<wire::MemberInfo>{trader}));
    const auto asked = std::find_if(m.network.begin(), m.network.end(),
                                    [](const auto& e) { return e.receiver == 12u; });
    BOOST_REQUIRE((asked != m.network.end()));
    const auto* leave = std::get_if<wire::Leave>(&asked->body);
    BOOST_REQUIRE(leave != nullptr);
    BOOST_TEST(leave->host == "10.0.0.9");
    BOOST_TEST(leave->port == 9009u);
    // An answer naming a trader it does not list, with no address, sends it nowhere.
    m.network.clear();
    leaver.on_message(wire::Envelope{1, 9, leaver.election().epoch(), {},
                                     wire::LeaveAnswer{wire::MembershipRefusal::not_trader, 13, {}}},
                      m.now);
    m.carry_out(9);
    BOOST_TEST(m.network.empty());
}

BOOST_AUTO_TEST_CASE(a_membership_update_from_a_peer_that_is_not_the_trader_is_dropped) {
    CoreMarket m = running();
    // Peer 2 claims a membership without 1: peer 1 keeps its own, and counts the drop.
    const auto before = m.peer(1).counters().wrong_role;
    wire::Envelope forged{2, 1, m.peer(1).election().epoch(), {}, wire::Members{99, {}}};
    m.peer(1).on_message(forged, m.now);
    m.carry_out(1);
    BOOST_TEST(m.peer(1).counters().wrong_role == before + 1);
    BOOST_TEST((ids(m.peer(1).members()) == std::vector<PeerId>{1, 2, 3}));
}

// The trader's Members update goes out once: a member that missed it (cut off while peers
// joined) listed too few members until the next change. The trader's clock names every member
// that sent it something, so a member whose trader's clocks name a peer it does not list asks the
// trader, once that has lasted a retry interval (an update may be on its way).
BOOST_AUTO_TEST_CASE(a_member_that_missed_an_update_asks_once_the_trader_s_clocks_name_strangers) {
    CoreMarket m = running();
    // Step 1: 9 joins; the update telling buyer 2 of it is lost.
    m.lose = [](const wire::Envelope& e) {
        return e.receiver == 2 && std::holds_alternative<wire::Members>(e.body);
    };
    PeerCore& newcomer = joined_buyer(m);
    BOOST_TEST((ids(m.peer(2).members()) == std::vector<PeerId>{1, 2, 3}));
    // Step 2: 9 buys, so the trader's clock names it: its heartbeats to 2 now do too.
    deposit_and_buy_one(m, newcomer);
    m.advance(m.cfg.market.batch_window + ms(1));
    m.advance(ms(200));
    BOOST_TEST(m.peer(2).counters().foreign_clock_entries > 0u);
    // Step 3: a retry interval on, 2 asks the trader, and lists 9 (with its address).
    m.advance(m.cfg.election.election_timeout + ms(200));
    BOOST_TEST((ids(m.peer(2).members()) == std::vector<PeerId>{1, 2, 3, 9}));
    BOOST_REQUIRE(!m.members[2].empty());
    BOOST_TEST(m.members[2].back().host == "10.0.0.9");
    BOOST_TEST(!m.peer(2).asking_members());
}

// A member that asked learns the membership as of the answer's log position: an update older
// than that (delayed in the network) changes nothing. It used to take any update after an
// answer, and listed the members of before.
BOOST_AUTO_TEST_CASE(an_update_older_than_the_answer_a_member_asked_for_changes_nothing) {
    CoreMarket m = running();
    // Step 1: 9 and then 8 join; the updates to buyer 2 are held back (the first kept).
    std::vector<wire::Envelope> held;
    m.lose = [&](const wire::Envelope& e) {
        if (e.receiver != 2 || !std::holds_alternative<wire::Members>(e.body)) return false;
        held.push_back(e);
        return true;
    };
    PeerCore& newcomer = joined_buyer(m);
    m.join(8, Role::buyer, 3);
    m.settle();
    m.advance(ms(200));
    BOOST_REQUIRE(held.size() == 2u);
    // Step 2: 9 buys, so the trader's clocks name it; a retry interval on, 2 asks, and lists
    // both newcomers.
    deposit_and_buy_one(m, newcomer);
    m.advance(m.cfg.election.election_timeout * 2 + ms(400));
    BOOST_REQUIRE((ids(m.peer(2).members()) == std::vector<PeerId>{1, 2, 3, 8, 9}));
    // Step 3: the first update, without 8, arrives at last: older than the answer, ignored.
    m.lose = nullptr;
    m.peer(2).on_message(held.front(), m.now);
    m.carry_out(2);
    m.settle();
    BOOST_TEST((ids(m.peer(2).members()) == std::vector<PeerId>{1, 2, 3, 8, 9}));
}

BOOST_AUTO_TEST_SUITE_END()
