// The seller core, stepped by hand: each test is a script of inputs at explicit times, one comment
// per step, and what the core must send, wait for and log after it.
#include <boost/test/unit_test.hpp>

#include <limits>
#include <optional>
#include <vector>

#include "role_script.hpp"
#include "tp/peer/seller.hpp"

using namespace role_script;
using tp::peer::Outbox;
using tp::peer::PeerId;
using tp::peer::Seller;
using tp::peer::SellerOptions;
using tp::peer::Time;
namespace wire = tp::wire;

namespace {

constexpr PeerId self = 2;
constexpr PeerId trader = 6;
constexpr PeerId next_trader = 5;
constexpr std::uint32_t incarnation = 9;
constexpr tp::market::ProductId salt = 0;
constexpr tp::market::ProductId fish = 2;

SellerOptions options() {
    SellerOptions o;
    o.request_timeout = ms(500);
    o.product_names = {"salt", "boar", "fish"};
    return o;
}

struct Fixture {
    CapturedLog log;
    Seller seller{self, incarnation, options(), *log.logger};

    // The deposits the core wants sent now, all of them to `to`.
    std::vector<wire::Deposit> sent_deposits(PeerId to) {
        std::vector<wire::Deposit> result;
        for (const auto& out : seller.take_outbox()) {
            BOOST_TEST(out.to == to);
            const auto* d = std::get_if<wire::Deposit>(&out.body);
            BOOST_TEST_REQUIRE(d != nullptr);
            result.push_back(*d);
        }
        return result;
    }

    void receive(wire::Body body, Time now, PeerId from = trader) {
        seller.on_message(from, from_trader(from, self, std::move(body)), now);
    }
};

wire::Payment payment(wire::PaymentId id, wire::LotId lot, std::uint32_t quantity,
                      tp::market::Money amount) {
    return wire::Payment{id, lot, quantity, amount};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(seller_core)

BOOST_AUTO_TEST_CASE(a_deposit_is_resent_until_acknowledged) {
    Fixture f;
    // Peer 6 is trader; the seller puts 10 salt at 5 on sale at t=0: sent at once.
    f.seller.on_trader(trader, ms(0));
    const auto lot = f.seller.deposit(salt, 10, 5, ms(0));
    BOOST_TEST(lot == ((std::uint64_t{incarnation} << 32) | 1u));
    auto sent = f.sent_deposits(trader);
    BOOST_TEST_REQUIRE(sent.size() == 1u);
    BOOST_TEST((sent[0] == wire::Deposit{lot, salt, 10, 5}));
    BOOST_TEST(f.log.count("info: has 10 salt to sell at 5 each (lot 9.1)") == 1u);
    BOOST_TEST(deadline_ms(f.seller.next_deadline()) == 500);
    // Before the timeout: nothing.
    f.seller.on_tick(ms(499));
    BOOST_TEST(f.seller.take_outbox().empty());
    // No ack by t=500: the same lot again; and again at t=1000.
    f.seller.on_tick(ms(500));
    BOOST_TEST(f.sent_deposits(trader).at(0).lot_id == lot);
    BOOST_TEST(deadline_ms(f.seller.next_deadline()) == 1000);
    f.seller.on_tick(ms(1000));
    BOOST_TEST(f.sent_deposits(trader).size() == 1u);
    // The trader is elected but not serving yet: not an ack, the lot is still resent.
    f.receive(wire::DepositAck{lot, false, wire::RefusalReason::trader_unavailable}, ms(1100));
    BOOST_TEST(!f.seller.state().lots.at(0).acked);
    BOOST_TEST(f.seller.remaining() == 10u);
    f.seller.on_tick(ms(1500));
    BOOST_TEST(f.sent_deposits(trader).size() == 1u);
    // Acknowledged: nothing more to send, nothing to wait for.
    f.receive(wire::DepositAck{lot, true, wire::RefusalReason::none}, ms(1600));
    BOOST_TEST(f.seller.state().lots.at(0).acked);
    BOOST_TEST_REQUIRE(f.seller.lot(lot) != nullptr);
    BOOST_TEST(f.seller.lot(lot)->acked);
    BOOST_TEST(f.seller.lot(lot + 1) == nullptr);
    BOOST_TEST(!f.seller.has_unacked());
    BOOST_TEST(!f.seller.next_deadline());
    f.seller.on_tick(ms(5000));
    BOOST_TEST(f.seller.take_outbox().empty());
    BOOST_TEST(f.seller.remaining(salt) == 10u);
}

BOOST_AUTO_TEST_CASE(only_unacknowledged_lots_are_resent) {
    Fixture f;
    f.seller.on_trader(trader, ms(0));
    // Two lots, salt then fish; the salt is acknowledged, the fish ack is lost.
    const auto salt_lot = f.seller.deposit(salt, 10, 5, ms(0));
    const auto fish_lot = f.seller.deposit(fish, 10, 10, ms(100));
    BOOST_TEST(fish_lot == salt_lot + 1);
    BOOST_TEST(f.sent_deposits(trader).size() == 2u);
    f.receive(wire::DepositAck{salt_lot, true, wire::RefusalReason::none}, ms(200));
    // The timeout (from the first lot, t=500) resends the fish only.
    BOOST_TEST(deadline_ms(f.seller.next_deadline()) == 500);
    f.seller.on_tick(ms(500));
    const auto sent = f.sent_deposits(trader);
    BOOST_TEST_REQUIRE(sent.size() == 1u);
    BOOST_TEST(sent[0].lot_id == fish_lot);
}

BOOST_AUTO_TEST_CASE(a_refused_deposit_takes_the_lot_off_sale) {
    Fixture f;
    f.seller.on_trader(trader, ms(0));
    const auto lot = f.seller.deposit(fish, 10, 10, ms(0));
    f.seller.take_outbox();
    // The trader refuses it.
    f.receive(wire::DepositAck{lot, false, wire::RefusalReason::invalid_request}, ms(50));
    BOOST_TEST(f.log.count("warning: the trader refused lot 9.1: invalid_request") == 1u);
    // Nothing of it is on sale, it is not resent, and the behaviour on top hears a lot closed.
    BOOST_TEST(f.seller.remaining() == 0u);
    BOOST_TEST(f.seller.remaining(fish) == 0u);
    BOOST_TEST(f.seller.sold_out() == 1u);
    BOOST_TEST(!f.seller.next_deadline());
    f.seller.on_tick(ms(1000));
    BOOST_TEST(f.seller.take_outbox().empty());
    // The same refusal again: said once, counted once.
    f.receive(wire::DepositAck{lot, false, wire::RefusalReason::invalid_request}, ms(60));
    BOOST_TEST(f.log.count("the trader refused") == 1u);
    BOOST_TEST(f.seller.sold_out() == 1u);
}

BOOST_AUTO_TEST_CASE(a_payment_is_acknowledged_every_time_but_counted_once) {
    Fixture f;
    f.seller.on_trader(trader, ms(0));
    const auto lot = f.seller.deposit(fish, 10, 10, ms(0));
    f.seller.take_outbox();
    f.receive(wire::DepositAck{lot, true, wire::RefusalReason::none}, ms(10));
    // Paid 27 for 3 fish (after commission): counted, and acknowledged to the trader.
    f.receive(payment(41, lot, 3, 27), ms(100));
    auto out = f.seller.take_outbox();
    BOOST_TEST_REQUIRE(out.size() == 1u);
    BOOST_TEST(out[0].to == trader);
    BOOST_TEST((std::get<wire::PaymentAck>(out[0].body) == wire::PaymentAck{41}));
    BOOST_TEST(f.seller.state().earned == 27);
    BOOST_TEST(f.seller.state().sold == 3u);
    BOOST_TEST(f.seller.remaining(fish) == 7u);
    BOOST_TEST(f.log.count("info: was paid 27 for 3 units of lot 9.1") == 1u);
    // The ack was lost; the trader resends the payment: acknowledged again, not counted again.
    f.receive(payment(41, lot, 3, 27), ms(300));
    out = f.seller.take_outbox();
    BOOST_TEST_REQUIRE(out.size() == 1u);
    BOOST_TEST((std::get<wire::PaymentAck>(out[0].body) == wire::PaymentAck{41}));
    BOOST_TEST(f.seller.state().earned == 27);
    BOOST_TEST(f.seller.state().sold == 3u);
    BOOST_TEST(f.seller.remaining(fish) == 7u);
    BOOST_TEST(f.log.count("was paid") == 1u);
    BOOST_TEST(f.seller.state().payments.size() == 1u);
    // A payment is not a deposit: nothing is waiting to be resent.
    BOOST_TEST(!f.seller.next_deadline());
}

BOOST_AUTO_TEST_CASE(the_last_unit_sold_closes_the_lot) {
    Fixture f;
    f.seller.on_trader(trader, ms(0));
    const auto lot = f.seller.deposit(salt, 3, 5, ms(0));
    f.seller.take_outbox();
    f.receive(wire::DepositAck{lot, true, wire::RefusalReason::none}, ms(10));
    // Two units, then the last one: the lot sells out once.
    f.receive(payment(1, lot, 2, 9), ms(100));
    BOOST_TEST(f.seller.sold_out() == 0u);
    f.receive(payment(2, lot, 1, 4), ms(200));
    BOOST_TEST(f.seller.remaining() == 0u);
    BOOST_TEST(f.seller.sold_out() == 1u);
    BOOST_TEST(f.seller.state().earned == 13);
    // A payment beyond the lot (a confused trader) neither reopens nor recloses it.
    f.receive(payment(3, lot, 1, 4), ms(300));
    BOOST_TEST(f.seller.remaining() == 0u);
    BOOST_TEST(f.seller.sold_out() == 1u);
}

BOOST_AUTO_TEST_CASE(an_earnings_overflow_is_refused_not_wrapped) {
    Fixture f;
    f.seller.on_trader(trader, ms(0));
    const auto lot = f.seller.deposit(salt, 3, 5, ms(0));
    f.seller.take_outbox();
    const auto max = std::numeric_limits<tp::market::Money>::max();
    f.receive(payment(1, lot, 1, max), ms(100));
    f.receive(payment(2, lot, 1, 1), ms(200));
    BOOST_TEST(f.seller.state().earned == max);
    BOOST_TEST(f.log.count("error: payment 2 of 1 would overflow the earnings") == 1u);
    // Still acknowledged, both times.
    BOOST_TEST(f.seller.take_outbox().size() == 2u);
}

BOOST_AUTO_TEST_CASE(deposits_go_to_the_new_trader_after_a_failover) {
    Fixture f;
    // t=0: the lot goes to peer 6, which dies before it acks.
    f.seller.on_trader(trader, ms(0));
    const auto lot = f.seller.deposit(fish, 10, 10, ms(0));
    BOOST_TEST(f.sent_deposits(trader).size() == 1u);
    // t=300: the election is on; no trader, so nothing is sent or timed out.
    f.seller.on_trader(std::nullopt, ms(300));
    BOOST_TEST(!f.seller.next_deadline());
    f.seller.on_tick(ms(500));
    BOOST_TEST(f.seller.take_outbox().empty());
    // t=700: peer 5 is the new coordinator: the lot goes to it at once.
    f.seller.on_trader(next_trader, ms(700));
    const auto sent = f.sent_deposits(next_trader);
    BOOST_TEST_REQUIRE(sent.size() == 1u);
    BOOST_TEST(sent[0].lot_id == lot);
    BOOST_TEST(deadline_ms(f.seller.next_deadline()) == 1200);
    // Peer 5 acks; an acked lot is not sent again on the next failover (the books carry it).
    f.receive(wire::DepositAck{lot, true, wire::RefusalReason::none}, ms(720), next_trader);
    f.seller.on_trader(trader, ms(2000));
    BOOST_TEST(f.seller.take_outbox().empty());
}

BOOST_AUTO_TEST_CASE(nothing_is_sent_without_a_trader) {
    Fixture f;
    // No trader known (or this peer is the trader itself): the lot is held, nothing times out.
    const auto lot = f.seller.deposit(salt, 10, 5, ms(0));
    BOOST_TEST(f.seller.take_outbox().empty());
    BOOST_TEST(!f.seller.next_deadline());
    f.seller.on_tick(ms(10'000));
    BOOST_TEST(f.seller.take_outbox().empty());
    BOOST_TEST(f.seller.has_unacked());
    // A trader at last: the held lot goes out.
    f.seller.on_trader(trader, ms(10'100));
    BOOST_TEST(f.sent_deposits(trader).at(0).lot_id == lot);
}

BOOST_AUTO_TEST_CASE(options_come_from_the_configuration) {
    tp::peer::Config config;
    config.behaviour.request_timeout = ms(250);
    const auto o = SellerOptions::from(config);
    BOOST_TEST(o.request_timeout.count() == ms(250).count());
    BOOST_TEST((o.product_names == std::vector<std::string>{"salt", "boar", "fish"}));
}

BOOST_AUTO_TEST_CASE(the_kept_counts_agree_with_the_lots_through_every_kind_of_change) {
    Fixture f;
    // The truth, from the lots themselves: what remaining() and has_unacked() keep as counts.
    const auto agrees = [&] {
        bool unacked = false;
        for (const auto& l : f.seller.state().lots) unacked = unacked || !l.acked;
        return f.seller.remaining() == f.seller.state().remaining() &&
               f.seller.has_unacked() == unacked;
    };
    f.seller.on_trader(trader, ms(0));
    // Step 1: three lots, none acknowledged yet.
    const auto a = f.seller.deposit(salt, 10, 5, ms(0));
    const auto b = f.seller.deposit(fish, 4, 7, ms(0));
    const auto c = f.seller.deposit(salt, 6, 5, ms(0));
    BOOST_TEST(f.seller.remaining() == 20u);
    BOOST_TEST(agrees());
    // Step 2: a is held, b refused (off sale), c answered "unavailable" (still unacknowledged).
    f.receive(wire::DepositAck{a, true, wire::RefusalReason::none}, ms(10));
    f.receive(wire::DepositAck{b, false, wire::RefusalReason::invalid_request}, ms(10));
    f.receive(wire::DepositAck{c, false, wire::RefusalReason::trader_unavailable}, ms(10));
    BOOST_TEST(f.seller.remaining() == 16u);
    BOOST_TEST(f.seller.has_unacked());
    BOOST_TEST(agrees());
    // Step 3: a duplicate ack, a payment for 3 of a, the same payment again, a payment naming no
    // lot of ours, and more than what is left of a: the counts follow, saturating at 0.
    f.receive(wire::DepositAck{a, true, wire::RefusalReason::none}, ms(20));
    f.receive(payment(1, a, 3, 14), ms(20));
    f.receive(payment(1, a, 3, 14), ms(20));
    f.receive(payment(2, 999, 3, 14), ms(20));
    BOOST_TEST(f.seller.remaining() == 13u);
    BOOST_TEST(agrees());
    f.receive(payment(3, a, 50, 14), ms(30));
    BOOST_TEST(f.seller.remaining() == 6u);
    BOOST_TEST(f.seller.sold_out() == 2u);  // b refused, a sold out
    BOOST_TEST(agrees());
    // Step 4: c acknowledged at last: nothing waits.
    f.receive(wire::DepositAck{c, true, wire::RefusalReason::none}, ms(40));
    BOOST_TEST(!f.seller.has_unacked());
    BOOST_TEST(agrees());
}

BOOST_AUTO_TEST_SUITE_END()
