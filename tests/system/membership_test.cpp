// Peers join and leave a running market (issue 18), on the in-memory network and on UDP and TCP
// loopback (over TCP a member keeps a newcomer's connection as a stranger's, and answers on it).
#define BOOST_TEST_MODULE trading_post
#include <boost/test/unit_test.hpp>

#include <algorithm>

#include "market_fixture.hpp"
#include "tp/transport/ip_transport.hpp"

using namespace tp::system_test;

namespace {

// Runs until `peer` has joined, and every live member lists it.
bool joined(Market& m, PeerId peer) {
    return m.run_until([&] {
        const auto* n = m->node(peer);
        if (n == nullptr || n->core().joining()) return false;
        for (PeerId id : m->peers()) {
            const auto* other = m->node(id);
            if (other == nullptr || other->left()) continue;
            const auto members = other->members();
            if (!std::binary_search(members.begin(), members.end(), peer)) return false;
        }
        return true;
    });
}

// Runs until `peer` has left, and no live member lists it any more.
bool gone(Market& m, PeerId peer) {
    return m.run_until([&] {
        if (m->node(peer) != nullptr) return false;
        for (PeerId id : m->peers()) {
            const auto* other = m->node(id);
            if (other == nullptr) continue;
            const auto members = other->members();
            if (std::binary_search(members.begin(), members.end(), peer)) return false;
        }
        return true;
    });
}

// Runs until `peer` holds a replica in the set, caught up with the commit of `trader`'s.
bool promoted(Market& m, PeerId peer, PeerId trader) {
    return m.run_until([&] {
        const auto* replica = m.node(peer).core().replica();
        return replica != nullptr && replica->voter() &&
               replica->commit() == m.node(trader).core().replica()->commit();
    });
}

}  // namespace

BOOST_AUTO_TEST_SUITE(membership)

TP_ON_EVERY_TRANSPORT(a_newcomer_joins_and_buys) {
    Market m(kind, {Role::seller, Role::buyer, Role::buyer});
    BOOST_REQUIRE(m.settle_on(3));
    m.deposit(1, salt, 5, 10);
    // Step 1: peer 4 joins through peer 1, which is not the trader: it is pointed there.
    const PeerId newcomer = m->join(Role::buyer, 1);
    BOOST_TEST(newcomer == 4u);
    BOOST_REQUIRE(joined(m, newcomer));
    // The join is a record in the trader's books, a customer's (not a voter).
    const auto* member = m.books().membership().find(newcomer);
    BOOST_REQUIRE(member != nullptr);
    BOOST_TEST(member->buys);
    BOOST_TEST(!member->voter);
    // Step 2: it buys, and the sale is the seller's like any other.
    const auto bought = m.buy(newcomer, salt, 2);
    BOOST_TEST(bought.filled);
    BOOST_TEST(m.books().product(salt)->sold == 2u);
    // The newcomer never leads: it is not a candidate.
    BOOST_TEST(m.node(newcomer).leader().value_or(0) == 3u);
}

TP_ON_EVERY_TRANSPORT(a_seller_joins_and_is_paid) {
    Market m(kind, {Role::buyer, Role::buyer, Role::buyer});
    BOOST_REQUIRE(m.settle_on(3));
    // Step 1: a seller joins through the trader itself.
    const PeerId newcomer = m->join(Role::seller, 3);
    BOOST_REQUIRE(joined(m, newcomer));
    // Step 2: it deposits, a founder buys, and the newcomer is paid (price less commission).
    m.deposit(newcomer, fish, 4, 10);
    BOOST_TEST(m.buy(1, fish, 3).filled);
    BOOST_REQUIRE(m.run_until([&] { return m.node(newcomer).seller().earned > 0; }));
    BOOST_TEST(m.node(newcomer).seller().sold == 3u);
}

TP_ON_EVERY_TRANSPORT(a_seller_leaves_with_its_unsold_lots) {
    Market m(kind, {Role::buyer, Role::buyer, Role::buyer});
    BOOST_REQUIRE(m.settle_on(3));
    const PeerId seller = m->join(Role::seller, 2);
    BOOST_REQUIRE(joined(m, seller));
    m.deposit(seller, boar, 5, 20);
    BOOST_TEST(m.buy(1, boar, 2).filled);
    // Step 1: it leaves, taking its lots: once paid for what sold, the trader lets it go.
    m->leave(seller, true);
    BOOST_REQUIRE(gone(m, seller));
    BOOST_TEST(m->node(seller) == nullptr);
    BOOST_TEST(m.books().membership().find(seller) == nullptr);
    // Its three unsold units left with it: the goods still add up, and nobody can buy them.
    const auto* product = m.books().product(boar);
    BOOST_TEST(product->withdrawn == 3u);
    BOOST_TEST(product->sold == 2u);
    const auto refused = m.buy(1, boar, 1);
    BOOST_TEST(!refused.filled);
    BOOST_TEST(refused.reason == tp::wire::RefusalReason::no_seller);
    BOOST_TEST(m.books().payments().pending_count() == 0u);
}

// Found by `trading-post run --join-rate 5 --leave-rate 2`: once the market had grown past its
// founders and a few newcomers, a newcomer could never join. Its decoder bounded clocks by the
// members it knew (the founders, and a few more), and every answer to its Join carried a clock
// naming the market's current members: dropped as malformed, for ever. A peer takes clocks up to
// the wire's own cap.
TP_ON_EVERY_TRANSPORT(a_newcomer_joins_a_market_grown_past_its_founders) {
    Market m(kind, {Role::seller, Role::buyer, Role::buyer});
    BOOST_REQUIRE(m.settle_on(3));
    m.deposit(1, salt, 20, 10);
    // Twelve newcomers join one after another and each buys, so that the members' clocks name
    // it: fifteen members, more than a newcomer's bound from the founders (3, and 8 more).
    for (int i = 0; i < 12; ++i) {
        const PeerId newcomer = m->join(Role::buyer, 1);
        BOOST_REQUIRE_MESSAGE(joined(m, newcomer), "newcomer " << newcomer << " did not join");
        BOOST_TEST(m.buy(newcomer, salt, 1).filled);
    }
}

// The same bound on a member: its decoder took clocks naming the members it knew, and eight
// more. One cut off while more than eight joined dropped every datagram naming them once healed,
// the trader's Members update and answers included, for ever. A member takes clocks up to the
// wire's cap too; its merge keeps the members' entries only. And the updates it missed are sent
// once: it asks the trader once the trader's clocks name peers it does not list.
BOOST_AUTO_TEST_CASE(a_member_cut_off_while_many_joined_learns_them_once_healed) {
    Market m(TransportKind::memory, {Role::seller, Role::buyer, Role::buyer, Role::buyer});
    BOOST_REQUIRE(m.settle_on(4));
    m.deposit(1, salt, 20, 10);
    auto* net = m->memory_network();
    // Step 1: buyer 5 joins (a newcomer is no candidate, so it never claims the lead while cut
    // off), and buys.
    const PeerId lagging = m->join(Role::buyer, 1);
    BOOST_REQUIRE(joined(m, lagging));
    BOOST_TEST(m.buy(lagging, salt, 1).filled);
    // Step 2: 5 hears nobody, and nobody hears it, while ten newcomers join and buy (so that the
    // trader's clock names each): fifteen members, where 5 knows five.
    for (PeerId other = 1; other < 16; ++other)
        if (other != lagging) net->partition({{lagging}, {other}});
    for (int i = 0; i < 10; ++i) {
        const PeerId newcomer = m->join(Role::buyer, 1);
        BOOST_REQUIRE(newcomer < 16u);  // cut off from 5 above
        BOOST_REQUIRE(m.run_until([&] { return !m.node(newcomer).core().joining(); }));
        BOOST_TEST(m.buy(newcomer, salt, 1).filled);
    }
    BOOST_TEST(m.node(lagging).members().size() == 5u);
    // Step 3: healed, 5 buys: the trader's answer names all fifteen (before, 5 dropped it as
    // malformed, and every retry's).
    net->heal();
    BOOST_TEST(m.buy(lagging, salt, 1).filled);
    BOOST_TEST(m.node(lagging).core().counters().malformed == 0u);
    // Step 4: the trader's clocks name ten peers 5 does not list: it asks the trader, and lists
    // all fifteen (the updates it missed are not sent again).
    BOOST_REQUIRE(m.run_until([&] { return m.node(lagging).members().size() == 15u; }));
    BOOST_TEST(m.books().product(salt)->sold == 12u);
}

// Issue 18: a replica is added, then the trader is killed, and the new replica's log counts in
// the next quorum. With replication.promote the trader keeps the set at its size: a replica that
// leaves is replaced by a customer once that customer's copy of the log has caught up.
TP_ON_EVERY_TRANSPORT(a_replica_is_added_and_its_log_counts_once_the_trader_fails) {
    Market m(kind, {Role::seller, Role::buyer, Role::buyer}, [](tp::peer::Config& c) {
        c.replication.replicas = 3;
        c.replication.promote = true;
    });
    BOOST_REQUIRE(m.settle_on(3));
    // Step 1: buyer 4 joins. The set {1, 2, 3} is full: 4 is a customer and keeps no log.
    const PeerId newcomer = m->join(Role::buyer, 1);
    BOOST_REQUIRE(joined(m, newcomer));
    BOOST_TEST(m.node(newcomer).core().replica() == nullptr);
    // Step 2: replica 2 leaves. The trader ships its log to 4 and, once it has caught up, adds
    // it to the set through the log.
    m->leave(2, false);
    BOOST_REQUIRE(gone(m, 2));
    BOOST_REQUIRE(promoted(m, newcomer, 3));
    BOOST_TEST(m.books().membership().find(newcomer)->voter);
    BOOST_TEST((m.node(3).core().replica()->voters() == std::vector<PeerId>{1, 3, newcomer}));
    // Step 3: seller 1 deposits and the newcomer buys, each confirmed by a quorum of the new set.
    m.deposit(1, salt, 10, 10);
    BOOST_TEST(m.buy(newcomer, salt, 2).filled);
    // Step 4: the trader is killed. A quorum of {1, 3, 4} is 4 and 1: 4, the highest replica
    // left, takes over from their logs, with the sale in its books, and serves peer 1 (a deposit
    // confirmed by the same quorum).
    m->crash(3);
    BOOST_REQUIRE(m.settle_on(newcomer));
    BOOST_TEST(m.books().product(salt)->sold == 2u);
    m.deposit(1, fish, 4, 7);
    BOOST_TEST(m.books().product(fish)->in_stock == 4u);
    BOOST_TEST(m.books().check_invariants().empty());
}

// sim --peers 4 --promote --faults crash,churn seed 510: promoted newcomers back from crashes
// asked to join again and opened no replica until admitted; the next trader, short of their logs
// for a quorum, could never serve, so never admitted them. A peer that kept a replica opens it at
// start (its peer state says so), and the view change counts it.
BOOST_AUTO_TEST_CASE(a_promoted_newcomer_back_from_a_crash_brings_its_replica) {
    Market m(TransportKind::memory, {Role::seller, Role::buyer, Role::buyer},
             [](tp::peer::Config& c) {
                 c.replication.replicas = 3;
                 c.replication.promote = true;
             });
    BOOST_REQUIRE(m.settle_on(3));
    // Step 1: buyer 4 joins and replaces replica 2, which leaves: the set is {1, 3, 4}.
    const PeerId newcomer = m->join(Role::buyer, 1);
    BOOST_REQUIRE(joined(m, newcomer));
    m->leave(2, false);
    BOOST_REQUIRE(gone(m, 2));
    BOOST_REQUIRE(promoted(m, newcomer, 3));
    m.deposit(1, salt, 10, 10);
    BOOST_TEST(m.buy(newcomer, salt, 2).filled);
    // Step 2: 4 fails, and the trader too; 4 comes back, asking to join again, with its replica
    // open from the start.
    m->crash(newcomer, 200ms);
    m->crash(3, std::nullopt);
    BOOST_REQUIRE(m.run_until([&] {
        const auto* n = m->node(newcomer);
        return n != nullptr && n->incarnation() > 1;
    }));
    BOOST_TEST(m.node(newcomer).core().replica() != nullptr);
    // Step 3: 1 and 4 are a quorum of {1, 3, 4}: 1 takes over with the sale in its books, and
    // admits 4 again.
    BOOST_REQUIRE(m.settle_on(1));
    BOOST_TEST(m.books().product(salt)->sold == 2u);
    BOOST_REQUIRE(m.run_until([&] { return !m.node(newcomer).core().joining(); }));
    // Step 4: 4 buys again, confirmed by the quorum {1, 4}.
    BOOST_TEST(m.buy(newcomer, salt, 3).filled);
    BOOST_TEST(m.books().product(salt)->sold == 5u);
}

// Issue 18: the trader itself leaves gracefully (SIGTERM on its process, or a command): its own
// books record the leave, it answers itself once that is committed, and the others elect the
// next trader, which trades on without it.
TP_ON_EVERY_TRANSPORT(the_trader_leaves_and_the_next_one_serves) {
    Market m(kind, {Role::seller, Role::buyer, Role::buyer});
    BOOST_REQUIRE(m.settle_on(3));
    m.deposit(1, salt, 5, 10);
    BOOST_TEST(m.buy(2, salt, 2).filled);
    // Step 1: trader 3 leaves.
    m->leave(3, false);
    BOOST_REQUIRE(gone(m, 3));
    // Step 2: 2 is elected, its books without 3 and with the sale, and it serves 1's deposit.
    BOOST_REQUIRE(m.settle_on(2));
    BOOST_TEST(m.books().membership().find(3) == nullptr);
    BOOST_TEST(m.books().product(salt)->sold == 2u);
    m.deposit(1, fish, 4, 7);
    BOOST_TEST(m.books().check_invariants().empty());
}

// A market that peers join and leave for hours keeps sessions and addresses for its members
// only: one that left is forgotten, after any retry of its leave could still come.
TP_ON_EVERY_TRANSPORT(a_peer_that_left_is_forgotten) {
    Market m(kind, {Role::buyer, Role::buyer, Role::buyer});
    BOOST_REQUIRE(m.settle_on(3));
    const PeerId newcomer = m->join(Role::buyer, 2);
    BOOST_REQUIRE(joined(m, newcomer));
    m->leave(newcomer, false);
    BOOST_REQUIRE(gone(m, newcomer));
    // Step 1: gone from the membership, still known: an answer to its retry may be due.
    for (PeerId id : {1u, 2u, 3u}) {
        BOOST_REQUIRE(m.node(id).guard() != nullptr);
        BOOST_TEST(m.node(id).guard()->is_member(newcomer), "peer " << id);
    }
    // Step 2: later than its last retry, every member drops its session and its address.
    const auto forgotten = [&](PeerId id) {
        auto& node = m.node(id);
        auto* ip = dynamic_cast<tp::transport::IpTransport*>(&node.transport());
        return !node.guard()->is_member(newcomer) &&
               (ip == nullptr || ip->address_book().find(newcomer) == nullptr);
    };
    BOOST_REQUIRE(m.run_until([&] { return forgotten(1) && forgotten(2) && forgotten(3); }, 10s));
    for (PeerId id : {1u, 2u, 3u}) {
        BOOST_TEST(m.node(id).guard()->forgotten() == 1u, "peer " << id);
        BOOST_TEST(m.node(id).core().counters().peers_forgotten == 1u, "peer " << id);
    }
}

// sim --seed 225 --promote --faults all: a leave committed, its answer was lost, and the trader
// failed; the next trader had never heard of the leaver (it came back from a crash after the
// leave), so it refused the leaver's datagrams as a stranger's ("a leave from an unknown
// address") and the leaver never learned it had left. A Leave names where its sender listens and
// is taken from a stranger like a Join: the new trader answers that it is no member.
BOOST_AUTO_TEST_CASE(a_leaver_the_new_trader_never_knew_learns_it_left) {
    Market m(TransportKind::memory, {Role::seller, Role::buyer, Role::buyer});
    BOOST_REQUIRE(m.settle_on(3));
    auto* net = m->memory_network();
    const PeerId leaver = m->join(Role::buyer, 1);
    BOOST_REQUIRE(joined(m, leaver));
    // Step 1: nothing from the trader reaches the leaver any more; it leaves, and the trader
    // records it.
    net->cut(3, leaver);
    m->leave(leaver, false);
    BOOST_REQUIRE(m.run_until([&] { return m.books().membership().find(leaver) == nullptr; }));
    BOOST_REQUIRE(m.node(leaver).core().leaving());
    // Step 2: peer 2 fails and comes back; it hears the members from the trader: no leaver.
    m->crash(2, 100ms);
    BOOST_REQUIRE(m.run_until([&] {
        const auto* n = m->node(2);
        return n != nullptr && n->incarnation() > 1 && !n->core().asking_members() &&
               n->leader() == 3u;
    }));
    BOOST_REQUIRE(!m.node(2).guard()->is_member(leaver));
    // Its replica holds the leave committed: the view change that makes it the trader applies
    // nothing new, so it has no leave of its own to tell anyone of.
    BOOST_REQUIRE(m.run_until([&] {
        return m.node(2).core().replica()->commit() == m.node(3).core().replica()->commit();
    }));
    // Step 3: the trader fails; 2 takes over. Asked by the leaver, it says it is no member:
    // the leaver is done, with no failure.
    m->crash(3, std::nullopt);
    BOOST_REQUIRE(m.settle_on(2));
    BOOST_REQUIRE(gone(m, leaver));
    const auto archive = m->archives().find(leaver);
    BOOST_REQUIRE((archive != m->archives().end()));
    BOOST_TEST(archive->second.failures.empty());  // not "the trader did not answer its leave"
    BOOST_TEST(m.node(2).core().counters().strangers_refused == 0u);
}

TP_ON_EVERY_TRANSPORT(a_join_during_an_election) {
    Market m(kind, {Role::seller, Role::buyer, Role::buyer, Role::buyer});
    BOOST_REQUIRE(m.settle_on(4));
    m.deposit(1, salt, 5, 10);
    // Step 1: the trader fails, and at once a newcomer asks to join through peer 1.
    m->crash(4, std::nullopt);
    const PeerId newcomer = m->join(Role::buyer, 1);
    // Step 2: it is told to wait while nobody serves, then joins under the new trader.
    BOOST_REQUIRE(m.settle_on(3));
    BOOST_REQUIRE(joined(m, newcomer));
    BOOST_TEST(m.books().membership().find(newcomer) != nullptr);
    BOOST_TEST(m.buy(newcomer, salt, 1).filled);
}

// `run --join-rate 5 --leave-rate 3` on its own (not scripted): newcomers join and leave while
// the buyers trade and the trader fails once, and every check of the summary holds.
TP_ON_EVERY_TRANSPORT(a_market_under_churn_keeps_its_books) {
    tp::peer::Config c;
    c.seed = 11;
    c.network.transport = kind;
    c.behaviour.max_transactions = 1'000'000;  // trades until stopped
    c.churn.join_rate = 5;
    c.churn.leave_rate = 3;
    if (kind == TransportKind::memory) c.storage.durability = tp::peer::Durability::none;
    tp::peer::configure_logging({spdlog::level::err, true});
    tp::runtime::Runtime rt(kind == TransportKind::memory ? tp::runtime::Mode::virtual_time
                                                          : tp::runtime::Mode::real_time);
    tp::peer::LocalMarket market(c, rt);
    market.start();
    // Step 1: four seconds of trading with churn (and the story's one failure of the trader).
    rt.run_for(4s);
    const auto& churn = market.churn();
    BOOST_TEST(churn.joins() >= 8u);  // about 20 expected
    BOOST_TEST(churn.leaves() >= 2u);  // about 12 due, fewer while no newcomer had joined
    BOOST_TEST(market.peers().size() == c.peers + churn.joins());
    // Step 2: the trader's membership lists every newcomer that joined and none that left.
    const auto serving = [&]() -> const tp::market::Books* {
        const auto t = market.trader();
        const auto* n = t ? market.node(*t) : nullptr;
        return n ? n->books() : nullptr;
    };
    for (const auto by = rt.now() + 10s; !serving() && rt.now() < by;) rt.run_for(10ms);
    const auto* books = serving();
    BOOST_REQUIRE(books != nullptr);
    std::size_t left = 0;
    for (PeerId id : market.peers()) {
        if (id <= c.peers) continue;  // a founder: the churn never takes one
        const auto* n = market.node(id);
        BOOST_TEST_CONTEXT("newcomer " << id) {
            if (n == nullptr || n->left()) {
                ++left;
                BOOST_TEST(books->membership().find(id) == nullptr);
            } else if (!n->core().joining() && !n->core().leaving()) {
                BOOST_TEST(books->membership().find(id) != nullptr);
            }
        }
    }
    BOOST_TEST(left <= churn.leaves());  // a leave asked for last may still be under way
    BOOST_TEST(left + 2 >= churn.leaves());
    // Step 3: stopped, every check of the summary holds.
    market.request_stop();
    while (!market.done()) rt.run_for(50ms);
    const auto s = market.summary();
    for (const auto& v : s.violations) BOOST_ERROR(v);
    BOOST_TEST(s.ok());
    BOOST_TEST(s.joins == churn.joins());
    BOOST_TEST(s.churn.find("joins 5/s") != std::string::npos);
    BOOST_TEST(s.requests > 10u);
}

BOOST_AUTO_TEST_SUITE_END()
