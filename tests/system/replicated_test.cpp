// Quorum mode (issue 16), the whole market: every peer keeps its own replica of the trader's log,
// so the trader's disk can be lost with the trader and nothing confirmed is lost; a paused trader
// stalls nobody. On the in-memory network and on UDP loopback with real files.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <map>

#include "market_fixture.hpp"
#include "tp/peer/audit.hpp"

using namespace tp::system_test;
namespace peer = tp::peer;

namespace {

// Whether `books` record every purchase buyer `buyer` was told of, as it was told.
bool records_every_purchase(const tp::market::Books& books, const peer::Node& buyer) {
    const peer::Audit audit(books);
    return std::all_of(buyer.buyer().purchases.begin(), buyer.buyer().purchases.end(),
                       [&](const peer::Purchase& p) {
                           return !audit.answer({buyer.id(), p.request, p.filled, p.bought,
                                                 p.amount});
                       });
}

}  // namespace

BOOST_AUTO_TEST_SUITE(replicated)

TP_ON_EVERY_TRANSPORT(the_traders_lost_disk_loses_nothing_confirmed) {
    Market m(kind, {Role::seller, Role::buyer, Role::buyer, Role::buyer, Role::seller}, quorum);
    // Step 1: peer 5 leads; a lot is deposited and three buys are confirmed.
    BOOST_REQUIRE(m.settle_on(5));
    m.deposit(1, salt, 10, 10);
    BOOST_TEST(m.buy(2, salt, 2).filled);
    BOOST_TEST(m.buy(3, salt, 1).filled);
    BOOST_TEST(m.buy(4, salt, 3).filled);
    // Step 2: the trader crashes, and its disk is lost with it.
    m->lose_disk(5);
    m->crash(5, 300ms);
    // Step 3: peer 4 serves from a quorum's logs; every confirmed buy is in its books.
    BOOST_REQUIRE(m.settle_on(4));
    for (PeerId buyer : {2u, 3u}) BOOST_TEST(records_every_purchase(m.books(), m.node(buyer)));
    BOOST_TEST(m.books().sellers().at(1).sold == 6u);
    // Step 4: the old trader comes back empty, catches up, and holds what the others hold.
    BOOST_REQUIRE(m.run_until([&] {
        const peer::Node* back = m->node(5);
        return back != nullptr && back->core().replica()->seeded() &&
               back->core().applied() == m.node(4).core().replica()->commit();
    }));
    BOOST_TEST(m.node(5).core().replica_books()->sellers().at(1).sold == 6u);
    // Step 5: it trades again (as a seller, whose lot the others buy).
    m.deposit(5, fish, 4, 7);
    BOOST_TEST(m.buy(2, fish, 4).filled);
    BOOST_TEST(m.books().check_invariants().empty());
}

// A paused trader once stalled the shared-journal market until it let go; with replicas the
// successor serves from a quorum's logs at once, and the old trader, back, commits nothing.
BOOST_AUTO_TEST_CASE(a_paused_trader_stalls_nobody) {
    Market m(TransportKind::memory, {Role::seller, Role::buyer, Role::buyer, Role::buyer},
             quorum);
    BOOST_REQUIRE(m.settle_on(4));
    m.deposit(1, salt, 10, 10);
    // Step 1: the trader stops (SIGSTOP): it hears and says nothing.
    auto* net = m->memory_network();
    net->pause(4);
    // Step 2: peer 3 is elected and serves a buy while peer 4 is still paused.
    BOOST_REQUIRE(m.run_until([&] { return m.node(2).leader() == PeerId{3}; }));
    BOOST_REQUIRE_MESSAGE(m.run_until([&] { return m.node(3).is_trader(); }),
                          "peer 3's replica is "
                              << tp::replication::to_string(m.node(3).core().replica()->phase()));
    const auto p = m.buy(2, salt, 1);
    BOOST_TEST(p.filled);
    BOOST_TEST(p.trader == 3u);
    BOOST_TEST(net->is_paused(4));
    // Step 3: the paused trader runs again, learns of the newer reign, and steps down.
    net->resume(4);
    BOOST_REQUIRE(m.run_until([&] { return !m.node(4).is_trader(); }));
    BOOST_TEST(m.buy(2, salt, 1).filled);
    BOOST_TEST(m.node(4).core().replica()->joined() == m.node(3).core().replica()->reign());
    BOOST_TEST(m.books().check_invariants().empty());
}

BOOST_AUTO_TEST_SUITE_END()
