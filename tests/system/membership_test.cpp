// Peers join and leave a running market (issue 18), on the in-memory network and on UDP loopback
// (TCP has no path for a newcomer's first datagram: its connections are to members only).
#define BOOST_TEST_MODULE trading_post
#include <boost/test/unit_test.hpp>

#include <algorithm>

#include "market_fixture.hpp"

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

}  // namespace

BOOST_AUTO_TEST_SUITE(membership)

TP_ON_MEMORY_AND_UDP(a_newcomer_joins_and_buys) {
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

TP_ON_MEMORY_AND_UDP(a_seller_joins_and_is_paid) {
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

TP_ON_MEMORY_AND_UDP(a_seller_leaves_with_its_unsold_lots) {
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

TP_ON_MEMORY_AND_UDP(a_join_during_an_election) {
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

BOOST_AUTO_TEST_SUITE_END()
