// The buyer core, stepped by hand: each test is a script of inputs at explicit times, one comment
// per step, and what the core must send, wait for and log after it.
#include <boost/test/unit_test.hpp>

#include <limits>
#include <optional>
#include <vector>

#include "role_script.hpp"
#include "tp/peer/buyer.hpp"

using namespace role_script;
using tp::peer::Buyer;
using tp::peer::BuyerOptions;
using tp::peer::Outbox;
using tp::peer::PeerId;
using tp::peer::Purchase;
using tp::peer::Time;
namespace wire = tp::wire;

namespace {

constexpr PeerId self = 3;
constexpr PeerId trader = 6;
constexpr PeerId next_trader = 5;
constexpr std::uint32_t incarnation = 7;
constexpr tp::market::ProductId salt = 0;
constexpr tp::market::ProductId fish = 2;

BuyerOptions options() {
    BuyerOptions o;
    o.request_timeout = ms(500);
    o.product_names = {"salt", "boar", "fish"};
    return o;
}

struct Fixture {
    CapturedLog log;
    Buyer buyer;

    explicit Fixture(Buyer::SellsOwn sells_own = {}, BuyerOptions o = options())
        : buyer(self, incarnation, std::move(o), *log.logger, std::move(sells_own)) {}

    // The one Buy the core wants sent now, and to whom; fails the test if there is not exactly one.
    std::optional<std::pair<PeerId, wire::Buy>> sent_buy() {
        Outbox out = buyer.take_outbox();
        BOOST_TEST_REQUIRE(out.size() == 1u);
        const auto* buy = std::get_if<wire::Buy>(&out.front().body);
        BOOST_TEST_REQUIRE(buy != nullptr);
        return std::pair{out.front().to, *buy};
    }

    void answer(wire::BuyResult result, Time now, PeerId from = trader, wire::Epoch epoch = 1) {
        buyer.on_message(from, from_trader(from, self, std::move(result), epoch), now);
    }
};

wire::BuyResult filled(wire::RequestId id, std::uint32_t quantity, tp::market::Money amount,
                       std::vector<PeerId> sellers) {
    wire::BuyResult r;
    r.request_id = id;
    r.filled = true;
    r.quantity = quantity;
    r.amount = amount;
    for (auto s : sellers) r.fills.push_back(wire::Fill{s, 1, 1, 1});
    return r;
}

wire::BuyResult refused(wire::RequestId id, wire::RefusalReason reason) {
    wire::BuyResult r;
    r.request_id = id;
    r.reason = reason;
    return r;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(buyer_core)

BOOST_AUTO_TEST_CASE(the_first_attempt_goes_to_the_trader_at_once) {
    Fixture f;
    // Peer 6 is trader; the buyer asks for 3 fish at t=0.
    f.buyer.on_trader(trader, ms(0));
    const auto id = f.buyer.buy(fish, 3, ms(0));
    // The Buy leaves at once, to the trader, with the first id of incarnation 7.
    BOOST_TEST(id == ((std::uint64_t{incarnation} << 32) | 1u));
    const auto [to, buy] = *f.sent_buy();
    BOOST_TEST(to == trader);
    BOOST_TEST(buy.request_id == id);
    BOOST_TEST(buy.product == fish);
    BOOST_TEST(buy.quantity == 3u);
    BOOST_TEST(!buy.allow_partial);
    // It waits one request timeout for the answer.
    BOOST_TEST(deadline_ms(f.buyer.next_deadline()) == 500);
    BOOST_TEST(f.buyer.state().issued == 1u);
    BOOST_TEST(f.buyer.state().outstanding->attempts == 1u);
    BOOST_TEST(f.buyer.state().outstanding->sent == tp::runtime::TimePoint(ms(0)));
}

BOOST_AUTO_TEST_CASE(an_unanswered_request_is_retried_with_the_same_id_on_timeout) {
    Fixture f;
    f.buyer.on_trader(trader, ms(0));
    const auto id = f.buyer.buy(fish, 1, ms(0));
    f.sent_buy();
    // Just before the timeout: nothing to resend.
    f.buyer.on_tick(ms(499));
    BOOST_TEST(f.buyer.take_outbox().empty());
    // At the timeout: the same request id again, to the same trader.
    f.buyer.on_tick(ms(500));
    const auto [to, buy] = *f.sent_buy();
    BOOST_TEST(to == trader);
    BOOST_TEST(buy.request_id == id);
    BOOST_TEST(deadline_ms(f.buyer.next_deadline()) == 1000);
    BOOST_TEST(f.buyer.state().outstanding->attempts == 2u);
    // Still one request issued: a retry is not a new request.
    BOOST_TEST(f.buyer.state().issued == 1u);
}

BOOST_AUTO_TEST_CASE(nothing_is_sent_without_a_trader) {
    Fixture f;
    // No trader known: the request waits, with nothing to time out.
    const auto id = f.buyer.buy(salt, 2, ms(0));
    BOOST_TEST(f.buyer.take_outbox().empty());
    BOOST_TEST(!f.buyer.next_deadline());
    f.buyer.on_tick(ms(10'000));
    BOOST_TEST(f.buyer.take_outbox().empty());
    // A trader is elected at t=10.1 s: the request goes to it at once.
    f.buyer.on_trader(trader, ms(10'100));
    const auto [to, buy] = *f.sent_buy();
    BOOST_TEST(to == trader);
    BOOST_TEST(buy.request_id == id);
    BOOST_TEST(deadline_ms(f.buyer.next_deadline()) == 10'600);
    // The purchase still dates from when it was asked for.
    BOOST_TEST(f.buyer.state().outstanding->sent == tp::runtime::TimePoint(ms(0)));
}

BOOST_AUTO_TEST_CASE(a_new_trader_gets_the_request_at_once) {
    Fixture f;
    f.buyer.on_trader(trader, ms(0));
    const auto id = f.buyer.buy(fish, 1, ms(0));
    f.sent_buy();
    // The trader fails; the election is on and no one is trader: nothing to send or time out.
    f.buyer.on_trader(std::nullopt, ms(100));
    BOOST_TEST(f.buyer.take_outbox().empty());
    BOOST_TEST(!f.buyer.next_deadline());
    f.buyer.on_tick(ms(500));
    BOOST_TEST(f.buyer.take_outbox().empty());
    // Peer 5 wins at t=200, before the old timeout would have passed: the same id goes to it now.
    f.buyer.on_trader(next_trader, ms(200));
    const auto [to, buy] = *f.sent_buy();
    BOOST_TEST(to == next_trader);
    BOOST_TEST(buy.request_id == id);
    BOOST_TEST(deadline_ms(f.buyer.next_deadline()) == 700);
    // Told the same trader again: nothing changes, nothing is resent.
    f.buyer.on_trader(next_trader, ms(300));
    BOOST_TEST(f.buyer.take_outbox().empty());
}

BOOST_AUTO_TEST_CASE(trader_unavailable_is_not_an_answer) {
    Fixture f;
    f.buyer.on_trader(trader, ms(0));
    const auto id = f.buyer.buy(fish, 1, ms(0));
    f.sent_buy();
    // The trader is elected but its books are not loaded: it says so.
    f.answer(refused(id, wire::RefusalReason::trader_unavailable), ms(100));
    // Not an answer: still outstanding, nothing completed, and no early resend.
    BOOST_TEST(f.buyer.state().outstanding.has_value());
    BOOST_TEST(f.buyer.answered_count() == 0u);
    BOOST_TEST(f.buyer.take_outbox().empty());
    BOOST_TEST(f.log.count("warning: waiting: the trader, peer 6, cannot serve yet") == 1u);
    BOOST_TEST(f.log.count("req 7.1 will be retried") == 1u);
    // Retried on the timeout, with the same id.
    f.buyer.on_tick(ms(500));
    BOOST_TEST(f.sent_buy()->second.request_id == id);
    // Told again: still one warning for the spell.
    f.answer(refused(id, wire::RefusalReason::trader_unavailable), ms(600));
    BOOST_TEST(f.log.count("waiting: the trader") == 1u);
    // The books are loaded; the next retry is answered, and the wait is reported once.
    f.buyer.on_tick(ms(1000));
    f.sent_buy();
    f.answer(filled(id, 1, 10, {2}), ms(1100));
    BOOST_TEST(f.log.count("info: the trader answers again after 1000 ms") == 1u);
    BOOST_TEST(f.buyer.answered_count() == 1u);
    BOOST_TEST(f.buyer.state().purchases.at(0).attempts == 3u);
}

BOOST_AUTO_TEST_CASE(an_answer_completes_the_purchase_with_sellers_and_amount) {
    Fixture f;
    f.buyer.on_trader(trader, ms(0));
    const auto id = f.buyer.buy(fish, 3, ms(0));
    f.sent_buy();
    // Peer 6 answers in epoch 4: 3 fish from sellers 2 and 5 for 27.
    f.answer(filled(id, 3, 27, {2, 5}), ms(40), trader, 4);
    BOOST_TEST(!f.buyer.state().outstanding);
    BOOST_TEST(!f.buyer.next_deadline());
    BOOST_TEST_REQUIRE(f.buyer.answered_count() == 1u);
    const Purchase* found = f.buyer.purchase(id);
    BOOST_TEST_REQUIRE(found != nullptr);
    const Purchase& p = *found;
    BOOST_TEST(p.request == id);
    BOOST_TEST(p.answered);
    BOOST_TEST(p.filled);
    BOOST_TEST(p.bought == 3u);
    BOOST_TEST(p.amount == 27);
    BOOST_TEST((p.sellers == std::vector<PeerId>{2, 5}));
    BOOST_TEST(p.trader == trader);
    BOOST_TEST(p.epoch == 4u);
    BOOST_TEST(p.answered_at == tp::runtime::TimePoint(ms(40)));
    // The seed's required line, word for word.
    BOOST_TEST(f.log.count("info: bought 3 fish from 2 and 5 for 27") == 1u);
    // Kept in the state, once.
    BOOST_TEST(f.buyer.state().purchases.size() == 1u);
    BOOST_TEST(f.buyer.answered_count() == 1u);
}

// The trader lists each lot a buy drew on (wire::Fill: seller, lot, units, gross amount); the
// buyer read only the seller of each, so the rest crossed the network for nothing.
BOOST_AUTO_TEST_CASE(a_purchase_keeps_the_lots_it_came_from) {
    Fixture f;
    f.buyer.on_trader(trader, ms(0));
    const auto id = f.buyer.buy(fish, 4, ms(0));
    f.sent_buy();
    // 3 fish from seller 2's lot 21 for 27, then 1 from seller 5's lot 50 for 10.
    wire::BuyResult r = filled(id, 4, 37, {});
    r.fills = {wire::Fill{2, 21, 3, 27}, wire::Fill{5, 50, 1, 10}};
    f.answer(r, ms(40));
    const Purchase* p = f.buyer.purchase(id);
    BOOST_TEST_REQUIRE(p != nullptr);
    BOOST_TEST((p->fills == std::vector<wire::Fill>{{2, 21, 3, 27}, {5, 50, 1, 10}}));
    BOOST_TEST((p->sellers == std::vector<PeerId>{2, 5}));
}

BOOST_AUTO_TEST_CASE(a_refusal_completes_the_purchase_with_its_reason) {
    Fixture f;
    f.buyer.on_trader(trader, ms(0));
    const auto id = f.buyer.buy(salt, 4, ms(0));
    f.sent_buy();
    // No one sells salt.
    f.answer(refused(id, wire::RefusalReason::no_seller), ms(30));
    const auto& p = f.buyer.state().purchases.at(0);
    BOOST_TEST(p.answered);
    BOOST_TEST(!p.filled);
    BOOST_TEST((p.reason == wire::RefusalReason::no_seller));
    BOOST_TEST(f.log.count("info: could not buy 4 salt: no_seller") == 1u);
}

BOOST_AUTO_TEST_CASE(a_late_duplicate_answer_is_ignored) {
    Fixture f;
    f.buyer.on_trader(trader, ms(0));
    const auto id = f.buyer.buy(fish, 1, ms(0));
    f.sent_buy();
    // The first attempt's answer is slow; the retry goes out.
    f.buyer.on_tick(ms(500));
    f.sent_buy();
    // Both answers arrive: the first completes the purchase, the second changes nothing.
    f.answer(filled(id, 1, 10, {2}), ms(510));
    f.answer(filled(id, 1, 10, {2}), ms(520));
    BOOST_TEST(f.buyer.answered_count() == 1u);
    BOOST_TEST(f.buyer.state().purchases.size() == 1u);
    BOOST_TEST(f.buyer.state().purchases.at(0).answered_at == tp::runtime::TimePoint(ms(510)));
    BOOST_TEST(f.log.count("bought 1 fish") == 1u);
    // An answer to a request that was never made is ignored too.
    f.answer(filled(id + 100, 1, 10, {2}), ms(530));
    BOOST_TEST(f.buyer.answered_count() == 1u);
}

BOOST_AUTO_TEST_CASE(a_queued_second_request_goes_after_the_first) {
    Fixture f;
    f.buyer.on_trader(trader, ms(0));
    // Two requests at once: only the first goes out.
    const auto first = f.buyer.buy(fish, 1, ms(0));
    const auto second = f.buyer.buy(salt, 2, ms(0));
    BOOST_TEST(second == first + 1);
    BOOST_TEST(f.sent_buy()->second.request_id == first);
    BOOST_TEST(f.buyer.queued() == 1u);
    BOOST_TEST(f.buyer.purchase(second) != nullptr);
    BOOST_TEST(f.buyer.purchase(second)->attempts == 0u);
    BOOST_TEST(f.buyer.purchase(first)->attempts == 1u);
    BOOST_TEST(f.buyer.purchase(second + 1) == nullptr);
    // The first one's timeout resends the first, never the second.
    f.buyer.on_tick(ms(500));
    BOOST_TEST(f.sent_buy()->second.request_id == first);
    // The first is answered at t=600: the second goes out at once, with its own timeout.
    f.answer(filled(first, 1, 10, {2}), ms(600));
    const auto [to, buy] = *f.sent_buy();
    BOOST_TEST(to == trader);
    BOOST_TEST(buy.request_id == second);
    BOOST_TEST(buy.product == salt);
    BOOST_TEST(deadline_ms(f.buyer.next_deadline()) == 1100);
    BOOST_TEST(f.buyer.state().outstanding->sent == tp::runtime::TimePoint(ms(600)));
    BOOST_TEST(f.buyer.queued() == 0u);
    // Answered: both purchases in order, and the buyer is idle.
    f.answer(filled(second, 2, 10, {4}), ms(650));
    BOOST_TEST(f.buyer.idle());
    BOOST_TEST(f.buyer.state().purchases.size() == 2u);
    BOOST_TEST(f.buyer.state().purchases.at(0).request == first);
    BOOST_TEST(f.buyer.state().purchases.at(1).request == second);
    BOOST_TEST(f.buyer.purchase(first)->answered);
    BOOST_TEST(f.buyer.purchase(second)->bought == 2u);
    BOOST_TEST(f.buyer.state().issued == 2u);
}

BOOST_AUTO_TEST_CASE(the_purchase_keeps_the_first_attempts_clock) {
    Fixture f;
    f.buyer.on_trader(trader, ms(0));
    const auto id = f.buyer.buy(fish, 1, ms(0));
    // PeerCore stamps the first attempt with {3:4} and hands the envelope back.
    Outbox out = f.buyer.take_outbox();
    wire::Envelope first{self, trader, 1, {}, out.at(0).body};
    first.clock.set(self, 4);
    f.buyer.on_sent(first);
    // The retry carries a later clock, {3:9}: the purchase keeps the first one.
    f.buyer.on_tick(ms(500));
    out = f.buyer.take_outbox();
    wire::Envelope retry{self, trader, 1, {}, out.at(0).body};
    retry.clock.set(self, 9);
    f.buyer.on_sent(retry);
    f.answer(filled(id, 1, 10, {2}), ms(600));
    BOOST_TEST(f.buyer.state().purchases.at(0).stamp == first.clock);
}

BOOST_AUTO_TEST_CASE(a_buyer_never_buys_its_own_lot) {
    // This peer also sells fish.
    Fixture f([](tp::market::ProductId p) { return p == fish; });
    f.buyer.on_trader(trader, ms(0));
    // Asked for fish: refused here, without asking the trader.
    const auto own = f.buyer.buy(fish, 1, ms(0));
    BOOST_TEST(f.buyer.take_outbox().empty());
    const auto& p = f.buyer.state().purchases.at(0);
    BOOST_TEST(p.request == own);
    BOOST_TEST(p.answered);
    BOOST_TEST((p.reason == wire::RefusalReason::invalid_request));
    BOOST_TEST(p.attempts == 0u);
    BOOST_TEST(f.log.count("warning: will not buy fish it is selling itself") == 1u);
    BOOST_TEST(f.buyer.state().issued == 0u);
    // Salt is someone else's: it goes to the trader.
    const auto other = f.buyer.buy(salt, 1, ms(10));
    BOOST_TEST(f.sent_buy()->second.request_id == other);
    BOOST_TEST(f.buyer.answered_count() == 1u);
}

// The seed's failover case, from the buyer's side: the trader dies with a request in flight, the
// buyer waits through the election and buys from the new trader with the same request id.
BOOST_AUTO_TEST_CASE(a_request_survives_a_failover) {
    Fixture f;
    // t=0: peer 6 is trader; the buyer asks for 2 boar.
    f.buyer.on_trader(trader, ms(0));
    const auto id = f.buyer.buy(1, 2, ms(0));
    f.sent_buy();
    // t=500: no answer (peer 6 has died): retried with peer 6.
    f.buyer.on_tick(ms(500));
    BOOST_TEST(f.sent_buy()->first == trader);
    // t=800: the election starts; no trader, so the buyer waits without resending.
    f.buyer.on_trader(std::nullopt, ms(800));
    f.buyer.on_tick(ms(1000));
    BOOST_TEST(f.buyer.take_outbox().empty());
    // t=1200: peer 5 is the new coordinator: the same request goes to it at once.
    f.buyer.on_trader(next_trader, ms(1200));
    const auto [to, buy] = *f.sent_buy();
    BOOST_TEST(to == next_trader);
    BOOST_TEST(buy.request_id == id);
    // A stale answer from peer 6's reign, were it to arrive, is PeerCore's to drop; peer 5 answers.
    f.answer(filled(id, 2, 40, {2}), ms(1230), next_trader, 2);
    const auto& p = f.buyer.state().purchases.at(0);
    BOOST_TEST(p.trader == next_trader);
    BOOST_TEST(p.attempts == 3u);
    BOOST_TEST(f.log.count("info: bought 2 boar from 2 for 40") == 1u);
}

BOOST_AUTO_TEST_CASE(options_come_from_the_configuration) {
    tp::peer::Config config;
    config.behaviour.request_timeout = ms(250);
    config.market.partial_fills = true;
    const auto o = BuyerOptions::from(config);
    BOOST_TEST(o.request_timeout.count() == ms(250).count());
    BOOST_TEST(o.partial_fills);
    BOOST_TEST((o.product_names == std::vector<std::string>{"salt", "boar", "fish"}));
}

BOOST_AUTO_TEST_CASE(a_bounded_history_keeps_the_newest_answers_and_counts_every_one) {
    // An endless market's buyer keeps its two newest answers; peer 6 is trader.
    BuyerOptions o = options();
    o.history = 2;
    Fixture f({}, o);
    f.buyer.on_trader(trader, ms(0));
    // Four requests, answered in turn: 1 fish for 10, refused, 2 fish for 20, 3 fish for 30.
    std::vector<wire::RequestId> ids;
    for (int i = 0; i < 4; ++i) ids.push_back(f.buyer.buy(fish, 1, ms(0)));
    f.sent_buy();
    f.answer(filled(ids[0], 1, 10, {2}), ms(10));
    f.sent_buy();
    f.answer(refused(ids[1], wire::RefusalReason::insufficient_stock), ms(20));
    f.sent_buy();
    f.answer(filled(ids[2], 2, 20, {2}), ms(30));
    f.sent_buy();
    f.answer(filled(ids[3], 3, 30, {2}), ms(40));
    // Only the two newest are kept, oldest first; the older ones are gone.
    const auto& kept = f.buyer.state().purchases;
    BOOST_TEST_REQUIRE(kept.size() == 2u);
    BOOST_TEST(kept.at(0).request == ids[2]);
    BOOST_TEST(kept.at(1).request == ids[3]);
    BOOST_TEST(f.buyer.purchase(ids[0]) == nullptr);
    BOOST_TEST(f.buyer.purchase(ids[3])->bought == 3u);
    // The totals count all four: three filled (6 units for 60) and one refused.
    const auto& t = f.buyer.state().totals;
    BOOST_TEST(t.filled == 3u);
    BOOST_TEST(t.refused == 1u);
    BOOST_TEST(t.quantity == 6u);
    BOOST_TEST(t.spent == 60);
    BOOST_TEST(f.buyer.answered_count() == 4u);
    BOOST_TEST(!f.buyer.state().spent_overflow);
}

BOOST_AUTO_TEST_CASE(a_history_of_nothing_still_keeps_the_newest_answer_for_its_waiter) {
    // A history of 0 is taken as 1: Node::purchase() waits for the answer by its id.
    BuyerOptions o = options();
    o.history = 0;
    Fixture f({}, o);
    f.buyer.on_trader(trader, ms(0));
    const auto first_id = f.buyer.buy(fish, 1, ms(0));
    f.sent_buy();
    f.answer(filled(first_id, 1, 10, {2}), ms(10));
    BOOST_TEST(f.buyer.purchase(first_id)->answered);
    // The next answer replaces it.
    const auto second_id = f.buyer.buy(fish, 1, ms(20));
    f.sent_buy();
    f.answer(filled(second_id, 1, 10, {2}), ms(30));
    BOOST_TEST(f.buyer.state().purchases.size() == 1u);
    BOOST_TEST(f.buyer.purchase(first_id) == nullptr);
    BOOST_TEST(f.buyer.purchase(second_id)->answered);
    BOOST_TEST(f.buyer.state().totals.filled == 2u);
}

BOOST_AUTO_TEST_CASE(money_spent_past_the_range_is_flagged_not_wrapped) {
    // Two answers whose amounts add past the largest Money.
    Fixture f;
    f.buyer.on_trader(trader, ms(0));
    const auto a = f.buyer.buy(fish, 1, ms(0));
    const auto b = f.buyer.buy(fish, 1, ms(0));
    f.sent_buy();
    constexpr auto big = std::numeric_limits<tp::market::Money>::max() - 5;
    f.answer(filled(a, 1, big, {2}), ms(10));
    f.sent_buy();
    f.answer(filled(b, 1, 10, {2}), ms(20));
    // spent stays at the last sum that fits, and the overflow is said.
    BOOST_TEST(f.buyer.state().totals.spent == big);
    BOOST_TEST(f.buyer.state().spent_overflow);
    BOOST_TEST(f.buyer.state().totals.filled == 2u);
}

BOOST_AUTO_TEST_SUITE_END()
