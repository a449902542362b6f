// PeerCore stepped directly: whole peers (clock, election, roles) with no runtime, no sockets and
// no files. A fake network moves each Ready's messages by hand; a memory journal is the disk.
#include <boost/test/unit_test.hpp>

#include <optional>
#include <vector>

#include "core_market.hpp"
#include "tp/election/messages.hpp"

namespace election = tp::election;
using namespace core_market;

BOOST_AUTO_TEST_SUITE(peer_core)

BOOST_AUTO_TEST_CASE(the_highest_peer_leads_and_loads_the_books_before_serving) {
    // Step 1: three peers start; the election runs on the fake network.
    CoreMarket m({Role::seller, Role::buyer, Role::buyer});
    m.settle();
    m.advance(ms(200));
    // Peer 3 serves as trader, the others follow it.
    BOOST_TEST(m.peer(3).trader() != nullptr);
    BOOST_TEST(m.peer(1).trading_partner().value_or(0) == 3u);
    BOOST_TEST(m.peer(2).trading_partner().value_or(0) == 3u);
    // Each peer recorded the epoch it serves in before it sent anything in it.
    BOOST_TEST(m.epoch_seen[3] == m.peer(3).election().epoch());
    BOOST_TEST(m.epoch_seen[1] == m.peer(3).election().epoch());
}

BOOST_AUTO_TEST_CASE(a_restarted_peer_starts_above_the_epoch_it_had_seen) {
    // Step 1: peer 3's durable state says it saw term 40 led by itself.
    const wire::Epoch floor = election::make_epoch(40, 3);
    CoreMarket m({Role::seller, Role::buyer, Role::buyer}, floor);
    m.settle();
    m.advance(ms(200));
    // Step 2: it leads again, in a newer reign than any it had.
    BOOST_TEST(m.peer(3).trader() != nullptr);
    BOOST_TEST(m.peer(3).election().epoch() > floor);
    BOOST_TEST(m.epoch_seen[3] > floor);
}

BOOST_AUTO_TEST_CASE(a_seller_deposits_a_buyer_buys_and_the_trader_keeps_its_commission) {
    CoreMarket m({Role::seller, Role::buyer, Role::buyer});
    m.settle();
    m.advance(ms(200));
    // Step 1: seller 1 deposits 10 salt at 5; the trader acknowledges once it is durable.
    const auto lot = m.peer(1).deposit(salt, 10, 5, m.now);
    m.carry_out(1);
    m.settle();
    BOOST_TEST(m.peer(1).seller().lot(lot)->acked);
    // Step 2: buyer 2 buys 4 salt; the trader serves it when its batch window closes.
    const auto request = m.peer(2).buy(salt, 4, m.now);
    m.carry_out(2);
    m.settle();
    m.advance(m.cfg.market.batch_window + ms(1));
    const auto* p = m.peer(2).buyer().purchase(request);
    BOOST_REQUIRE(p != nullptr);
    BOOST_TEST(p->answered);
    BOOST_TEST(p->filled);
    BOOST_TEST(p->amount == 20);
    BOOST_TEST((p->sellers == std::vector<PeerId>{1}));
    // Step 3: the seller is paid the amount less 10% commission, and acknowledges it.
    BOOST_TEST(m.peer(1).seller().state().earned == 18);
    BOOST_TEST(m.peer(3).trader()->books().payments().pending_count() == 0u);
}

// Issue 17: one message per seller per batch, not one per lot sold; one ack for all of them.
BOOST_AUTO_TEST_CASE(a_sale_across_two_lots_pays_the_seller_in_one_message) {
    CoreMarket m({Role::seller, Role::buyer, Role::buyer});
    m.settle();
    m.advance(ms(200));
    // Step 1: seller 1 deposits two lots of one salt each.
    const auto first = m.peer(1).deposit(salt, 1, 5, m.now);
    const auto second = m.peer(1).deposit(salt, 1, 5, m.now);
    m.carry_out(1);
    m.settle();
    // Step 2: buyer 2 buys both; what crosses the network is watched (nothing lost).
    std::vector<wire::Envelope> seen;
    m.lose = [&](const wire::Envelope& e) {
        seen.push_back(e);
        return false;
    };
    const auto request = m.peer(2).buy(salt, 2, m.now);
    m.carry_out(2);
    m.settle();
    m.advance(m.cfg.market.batch_window + ms(1));
    BOOST_TEST(m.peer(2).buyer().purchase(request)->filled);
    // Step 3: one message from the trader paid both lots...
    std::vector<wire::Envelope> paid, acked;
    for (const auto& e : seen) {
        if (e.sender == 3 && e.receiver == 1 &&
            (std::holds_alternative<wire::Payment>(e.body) ||
             std::holds_alternative<wire::Payments>(e.body)))
            paid.push_back(e);
        if (e.sender == 1 && e.receiver == 3 &&
            (std::holds_alternative<wire::PaymentAck>(e.body) ||
             std::holds_alternative<wire::PaymentAcks>(e.body)))
            acked.push_back(e);
    }
    BOOST_REQUIRE(paid.size() == 1u);
    const auto* payments = std::get_if<wire::Payments>(&paid[0].body);
    BOOST_REQUIRE(payments != nullptr);
    BOOST_REQUIRE(payments->items.size() == 2u);
    BOOST_TEST(payments->items[0].lot_id == first);
    BOOST_TEST(payments->items[1].lot_id == second);
    // ... and one message acknowledged both.
    BOOST_REQUIRE(acked.size() == 1u);
    const auto* acks = std::get_if<wire::PaymentAcks>(&acked[0].body);
    BOOST_REQUIRE(acks != nullptr);
    BOOST_TEST((acks->payment_ids == std::vector<wire::PaymentId>{payments->items[0].payment_id,
                                                                   payments->items[1].payment_id}));
    // Step 4: the seller earned both (each 5 less its commission, 0.5 rounded to 1), nothing is
    // left to pay.
    BOOST_TEST(m.peer(1).seller().state().earned == 8);
    BOOST_TEST(m.peer(3).trader()->books().payments().pending_count() == 0u);
    BOOST_TEST(m.peer(3).counters().coalesced == 1u);
    BOOST_TEST(m.peer(1).counters().coalesced == 1u);
}

BOOST_AUTO_TEST_CASE(gathered_payments_from_a_peer_that_is_not_the_trader_are_refused) {
    CoreMarket m({Role::seller, Role::buyer, Role::buyer});
    m.settle();
    m.advance(ms(200));
    // Step 1: peer 2, not the trader, pays seller 1 twice in one Payments.
    const auto before = m.peer(1).counters().wrong_role;
    m.peer(1).on_message(
        wire::Envelope{2, 1, m.peer(1).election().epoch(), {},
                       wire::Body{wire::Payments{{{1, 1, 1, 50}, {2, 1, 1, 50}}}}},
        m.now);
    m.carry_out(1);
    // Refused whole: nothing earned, nothing acknowledged.
    BOOST_TEST(m.peer(1).counters().wrong_role == before + 1);
    BOOST_TEST(m.peer(1).seller().state().earned == 0);
    BOOST_TEST(m.network.empty());
}

BOOST_AUTO_TEST_CASE(only_the_current_traders_answers_count) {
    CoreMarket m({Role::seller, Role::buyer, Role::buyer});
    m.settle();
    m.advance(ms(200));
    const auto request = m.peer(2).buy(salt, 1, m.now);
    m.carry_out(2);
    m.network.clear();  // the Buy is lost
    // Step 1: peer 1, not the trader, answers the request itself: refused, not an answer.
    wire::BuyResult forged;
    forged.request_id = request;
    forged.filled = true;
    forged.quantity = 1;
    forged.amount = 1;
    const auto before = m.peer(2).counters().wrong_role;
    m.peer(2).on_message(
        wire::Envelope{1, 2, m.peer(2).election().epoch(), {}, wire::Body{forged}}, m.now);
    m.carry_out(2);
    BOOST_TEST(m.peer(2).counters().wrong_role == before + 1);
    BOOST_TEST(!m.peer(2).buyer().purchase(request)->answered);
    // Step 2: the buyer's retry reaches the real trader, whose answer counts.
    m.advance(m.cfg.behaviour.request_timeout + m.cfg.market.batch_window + ms(1));
    BOOST_TEST(m.peer(2).buyer().purchase(request)->answered);
    BOOST_TEST(!m.peer(2).buyer().purchase(request)->filled);  // nothing on sale
}

BOOST_AUTO_TEST_CASE(an_elected_peer_that_is_still_loading_answers_unavailable) {
    CoreMarket m({Role::seller, Role::buyer, Role::buyer});
    // Step 1: peer 3 has won, but its books are not loaded: its Ready asks for them.
    tp::peer::PeerCore& trader = m.peer(3);
    m.settle();
    m.advance(ms(200));
    BOOST_REQUIRE(trader.trader() != nullptr);
    // A second core in the same state, before loading: build one that has just won.
    auto o = tp::peer::PeerCoreOptions::from(m.cfg, 3, Role::buyer, {1, 2, 3}, 2);
    PeerCore fresh(std::move(o), *m.log.logger);
    fresh.start(m.now, false);
    for (Time t = m.now; !fresh.loading() && t < m.now + ms(500); t += ms(10)) fresh.on_tick(t);
    BOOST_REQUIRE(fresh.loading());
    fresh.advance();
    // Step 2: a buy reaches it: the answer is trader_unavailable, and nothing ran.
    fresh.on_message(wire::Envelope{2, 3, fresh.election().epoch(), {}, wire::Buy{77, salt, 1}},
                     m.now);
    const auto& out = fresh.ready().messages;
    BOOST_REQUIRE(out.size() == 1u);
    const auto* r = std::get_if<wire::BuyResult>(&out[0].body);
    BOOST_REQUIRE(r != nullptr);
    BOOST_TEST((r->reason == wire::RefusalReason::trader_unavailable));
    BOOST_TEST(fresh.counters().unavailable_answers == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
