// Step-by-step scenarios of the trader's books: the seed's cases as assertions.
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <limits>
#include <random>

#include "market_test_util.hpp"

using namespace market_test;
using tp::clock::VectorClock;

namespace {

constexpr ProductId salt = 0;
constexpr ProductId boar = 1;
constexpr ProductId fish = 2;

Config windowed(int ms) {
    Config c;
    c.batch_window = std::chrono::milliseconds(ms);
    return c;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(market_scenarios)

BOOST_AUTO_TEST_CASE(sale_of_10_at_10_percent_gives_trader_1_and_seller_9) {
    Books books;
    // Seller 1 deposits one unit of salt at 10.
    Step dep = books.deposit(1, 100, salt, 1, 10);
    BOOST_TEST(dep.events.size() == 1u);
    BOOST_TEST_REQUIRE(outputs_of<DepositAck>(dep).size() == 1u);
    BOOST_TEST(outputs_of<DepositAck>(dep)[0].status == DepositStatus::accepted);
    // Buyer 2 buys it.
    Step buy = books.submit_buy(2, 7, salt, 1, false, VectorClock{0, 0, 1}, at_ms(0));
    const BuyResult r = only_result(buy);
    BOOST_TEST(r.status == BuyStatus::filled);
    BOOST_TEST(r.quantity == 1u);
    BOOST_TEST(r.amount == 10);
    BOOST_TEST((r.sellers == std::vector<PeerId>{1}));
    // The trader keeps 1, the seller is owed 9 by a pending payment.
    BOOST_TEST(books.commission_total() == 1);
    const auto payments = outputs_of<Payment>(buy);
    BOOST_TEST_REQUIRE(payments.size() == 1u);
    BOOST_TEST(payments[0].seller == 1u);
    BOOST_TEST(payments[0].lot == 100u);
    BOOST_TEST(payments[0].quantity == 1u);
    BOOST_TEST(payments[0].amount == 9);
    BOOST_TEST(books.seller(1).earned == 9);
    BOOST_TEST(books.seller(1).pending == 9);
    BOOST_TEST(books.buyer(2).spent == 10);
    require_sound(books);
    // The seller acknowledges: nothing is pending any more, the earnings stay.
    Step ack = books.ack_payment(payments[0].id);
    BOOST_TEST(ack.events.size() == 1u);
    BOOST_TEST(books.seller(1).pending == 0);
    BOOST_TEST(books.seller(1).earned == 9);
    BOOST_TEST(books.payments().pending_count() == 0u);
    // A second acknowledgement changes nothing.
    BOOST_TEST(books.ack_payment(payments[0].id).empty());
    require_sound(books);
}

BOOST_AUTO_TEST_CASE(buy_3_of_5_leaves_2) {
    Books books;
    // Seller 1 deposits 5 boar.
    (void)books.deposit(1, 1, boar, 5, 20);
    // Buyer 3 buys 3.
    const BuyResult r = only_result(books.submit_buy(3, 1, boar, 3, false, {}, at_ms(0)));
    BOOST_TEST(r.status == BuyStatus::filled);
    BOOST_TEST(r.amount == 60);
    // Two are left, in the same lot.
    BOOST_TEST(books.in_stock(boar) == 2u);
    BOOST_TEST_REQUIRE(books.product(boar)->lots.size() == 1u);
    BOOST_TEST(books.product(boar)->lots.front().remaining == 2u);
    BOOST_TEST(books.product(boar)->sold == 3u);
    require_sound(books);
}

BOOST_AUTO_TEST_CASE(refusals_carry_a_reason) {
    Books books;
    (void)books.deposit(1, 1, salt, 2, 5);
    // Fish was never deposited: no seller.
    Step none = books.submit_buy(2, 1, fish, 1, false, {}, at_ms(0));
    BOOST_TEST(only_result(none).status == BuyStatus::refused);
    BOOST_TEST(only_result(none).reason == RefuseReason::no_seller);
    BOOST_TEST(events_of<BuyRefused>(none).size() == 1u);
    // More salt than there is, without partial fill: insufficient stock, nothing sold.
    Step few = books.submit_buy(2, 2, salt, 3, false, {}, at_ms(0));
    BOOST_TEST(only_result(few).reason == RefuseReason::insufficient_stock);
    BOOST_TEST(books.in_stock(salt) == 2u);
    // Zero units: an invalid request.
    BOOST_TEST(only_result(books.submit_buy(2, 3, salt, 0, false, {}, at_ms(0))).reason ==
               RefuseReason::invalid_request);
    // Once sold out, salt has no seller either.
    (void)books.submit_buy(2, 4, salt, 2, false, {}, at_ms(0));
    BOOST_TEST(only_result(books.submit_buy(2, 5, salt, 1, false, {}, at_ms(0))).reason ==
               RefuseReason::no_seller);
    BOOST_TEST(books.buyer(2).refused == 4u);
    BOOST_TEST(books.buyer(2).filled == 1u);
    require_sound(books);
}

BOOST_AUTO_TEST_CASE(partial_fill_when_asked_or_configured) {
    Books books;
    (void)books.deposit(1, 1, fish, 3, 4);
    // The buyer asks for 5 and accepts part: gets 3.
    const BuyResult r = only_result(books.submit_buy(2, 1, fish, 5, true, {}, at_ms(0)));
    BOOST_TEST(r.status == BuyStatus::partial);
    BOOST_TEST(r.quantity == 3u);
    BOOST_TEST(r.requested == 5u);
    BOOST_TEST(r.amount == 12);
    // With partial fills configured for everyone, a plain buy is partial too.
    Config c;
    c.allow_partial_fills = true;
    Books all(c);
    (void)all.deposit(1, 1, fish, 3, 4);
    BOOST_TEST(only_result(all.submit_buy(2, 1, fish, 5, false, {}, at_ms(0))).quantity == 3u);
    require_sound(books);
    require_sound(all);
}

BOOST_AUTO_TEST_CASE(buy_spanning_two_sellers_pays_both_oldest_first) {
    Books books;
    // Seller 1 deposits 2 salt at 10, then seller 2 deposits 3 salt at 20.
    (void)books.deposit(1, 1, salt, 2, 10);
    (void)books.deposit(2, 1, salt, 3, 20);
    // Buyer 3 buys 4: both of seller 1's, then 2 of seller 2's.
    Step buy = books.submit_buy(3, 1, salt, 4, false, {}, at_ms(0));
    const BuyResult r = only_result(buy);
    BOOST_TEST(r.amount == 2 * 10 + 2 * 20);
    BOOST_TEST((r.sellers == std::vector<PeerId>{1, 2}));
    // Each seller is paid its lot's amount less its lot's commission.
    const auto payments = outputs_of<Payment>(buy);
    BOOST_TEST_REQUIRE(payments.size() == 2u);
    BOOST_TEST(payments[0].seller == 1u);
    BOOST_TEST(payments[0].quantity == 2u);
    BOOST_TEST(payments[0].amount == 18);
    BOOST_TEST(payments[1].seller == 2u);
    BOOST_TEST(payments[1].quantity == 2u);
    BOOST_TEST(payments[1].amount == 36);
    BOOST_TEST(books.commission_total() == 6);
    // Seller 2's lot keeps 1 unit.
    BOOST_TEST(books.in_stock(salt) == 1u);
    BOOST_TEST(books.product(salt)->lots.front().seller == 2u);
    require_sound(books);
}

BOOST_AUTO_TEST_CASE(commission_rounds_half_up_per_lot) {
    // The arithmetic: 10% of 5 is 0.5 -> 1, of 15 is 1.5 -> 2, of 14 is 1.4 -> 1, of 4 is 0.4 -> 0.
    BOOST_TEST(commission_for(5, 100'000) == 1);
    BOOST_TEST(commission_for(15, 100'000) == 2);
    BOOST_TEST(commission_for(14, 100'000) == 1);
    BOOST_TEST(commission_for(4, 100'000) == 0);
    // 12.5% of 4 is exactly 0.5 -> 1; 0% and 100% are exact.
    BOOST_TEST(commission_for(4, 125'000) == 1);
    BOOST_TEST(commission_for(123, 0) == 0);
    BOOST_TEST(commission_for(123, 1'000'000) == 123);
    // Amounts whose product with the rate overflows 64 bits are still exact.
    constexpr Money max = std::numeric_limits<Money>::max();
    BOOST_TEST(commission_for(max, 1'000'000) == max);
    BOOST_TEST(commission_for(max, 500'000) == max / 2 + 1);  // odd: x.5 rounds up
    // In the books: two sellers' lots of amount 5 each; each pays 1, so 2 in total.
    Books books;
    (void)books.deposit(1, 1, salt, 1, 5);
    (void)books.deposit(2, 1, salt, 1, 5);
    Step buy = books.submit_buy(3, 1, salt, 2, false, {}, at_ms(0));
    BOOST_TEST(only_result(buy).amount == 10);
    BOOST_TEST(books.commission_total() == 2);
    BOOST_TEST(books.seller(1).earned == 4);
    BOOST_TEST(books.seller(2).earned == 4);
    require_sound(books);
}

BOOST_AUTO_TEST_CASE(commission_matches_a_128_bit_reference_everywhere) {
    // Amounts around the 64-bit fast path's limit and across the whole range, at several rates.
    __extension__ typedef __int128 Wide;
    const auto reference = [](Money amount, std::uint32_t ppm) {
        return static_cast<Money>((static_cast<Wide>(amount) * ppm + 500'000) / 1'000'000);
    };
    std::mt19937_64 rng(5);
    const Money limit = static_cast<Money>(UINT64_MAX / 2 / 1'000'000);
    for (std::uint32_t ppm : {0u, 1u, 99'999u, 100'000u, 125'000u, 999'999u, 1'000'000u}) {
        for (Money d = -3; d <= 3; ++d)
            BOOST_TEST(commission_for(limit + d, ppm) == reference(limit + d, ppm));
        for (int i = 0; i < 1000; ++i) {
            const Money amount = static_cast<Money>(rng() >> (1 + rng() % 63));
            BOOST_TEST_REQUIRE(commission_for(amount, ppm) == reference(amount, ppm),
                               "amount " << amount << " ppm " << ppm);
        }
    }
}

BOOST_AUTO_TEST_CASE(deposits_are_validated_and_idempotent) {
    Books books;
    auto ack_of = [](const Step& s) { return outputs_of<DepositAck>(s).at(0); };
    // Zero quantity and negative price are rejected with their reason and change nothing.
    Step zero = books.deposit(1, 1, salt, 0, 10);
    BOOST_TEST(zero.events.empty());
    BOOST_TEST(ack_of(zero).error == DepositError::zero_quantity);
    BOOST_TEST(ack_of(books.deposit(1, 2, salt, 1, -1)).error == DepositError::negative_price);
    // A lot whose value does not fit in Money is rejected.
    BOOST_TEST(ack_of(books.deposit(1, 3, salt, 4, std::numeric_limits<Money>::max() / 2)).error ==
               DepositError::too_large);
    BOOST_TEST(books.products().empty());
    // A good deposit, then its retry: acknowledged as a duplicate, stock counted once.
    BOOST_TEST(ack_of(books.deposit(1, 4, salt, 5, 10)).status == DepositStatus::accepted);
    Step again = books.deposit(1, 4, salt, 5, 10);
    BOOST_TEST(again.events.empty());
    BOOST_TEST(ack_of(again).status == DepositStatus::duplicate);
    BOOST_TEST(books.in_stock(salt) == 5u);
    // The same lot id with other contents is a conflict; another seller may use that id.
    BOOST_TEST(ack_of(books.deposit(1, 4, salt, 6, 10)).error ==
               DepositError::conflicting_duplicate);
    BOOST_TEST(ack_of(books.deposit(2, 4, salt, 6, 10)).status == DepositStatus::accepted);
    BOOST_TEST(books.in_stock(salt) == 11u);
    require_sound(books);
}

BOOST_AUTO_TEST_CASE(concurrent_requests_are_queued_then_served_in_logical_order) {
    Books books(windowed(100));
    (void)books.deposit(1, 1, salt, 10, 1);
    // Buyer 3's request arrives first, stamped after buyer 2's (it saw it: {2:1} -> {2:1,3:1}).
    Step first = books.submit_buy(3, 1, salt, 1, false, VectorClock{0, 0, 1, 1}, at_ms(0));
    BOOST_TEST(first.outputs.empty());
    BOOST_TEST(events_of<BuyQueued>(first).size() == 1u);
    BOOST_TEST((books.next_deadline() == at_ms(100)));
    // Buyer 2's earlier request arrives second, in the same batch.
    (void)books.submit_buy(2, 1, salt, 1, false, VectorClock{0, 0, 1}, at_ms(10));
    BOOST_TEST(books.queued().size() == 2u);
    // Before the batch closes, polling does nothing.
    BOOST_TEST(books.poll(at_ms(99)).empty());
    // At the close both are served, buyer 2 first: happened-before wins over arrival.
    Step served = books.poll(at_ms(100));
    const auto results = outputs_of<BuyResult>(served);
    BOOST_TEST_REQUIRE(results.size() == 2u);
    BOOST_TEST(results[0].buyer == 2u);
    BOOST_TEST(results[1].buyer == 3u);
    const auto fills = events_of<BuyFilled>(served);
    BOOST_TEST_REQUIRE(fills.size() == 2u);
    BOOST_TEST(fills[0].buyer == 2u);
    BOOST_TEST(books.queued().empty());
    BOOST_TEST(!books.next_deadline());
    require_sound(books);
}

BOOST_AUTO_TEST_CASE(two_concurrent_buyers_for_the_last_unit_decided_by_logical_time) {
    Books books(windowed(50));
    (void)books.deposit(1, 1, boar, 1, 30);
    // Buyer 5 arrives first with concurrent clock {5:3} (sum 3).
    (void)books.submit_buy(5, 1, boar, 1, false, VectorClock{0, 0, 0, 0, 0, 3}, at_ms(0));
    // Buyer 4 arrives later with concurrent clock {4:2} (sum 2): logically earlier.
    (void)books.submit_buy(4, 1, boar, 1, false, VectorClock{0, 0, 0, 0, 2}, at_ms(20));
    BOOST_TEST(tp::clock::concurrent(VectorClock{0, 0, 0, 0, 0, 3}, VectorClock{0, 0, 0, 0, 2}));
    // The batch closes: buyer 4 gets the last unit, buyer 5 is refused.
    Step served = books.poll(at_ms(50));
    const auto results = outputs_of<BuyResult>(served);
    BOOST_TEST_REQUIRE(results.size() == 2u);
    BOOST_TEST(results[0].buyer == 4u);
    BOOST_TEST(results[0].status == BuyStatus::filled);
    BOOST_TEST(results[1].buyer == 5u);
    BOOST_TEST(results[1].status == BuyStatus::refused);
    // With equal clock sums, the lower buyer id wins, whatever the arrival order.
    Books tie(windowed(50));
    (void)tie.deposit(1, 1, boar, 1, 30);
    (void)tie.submit_buy(5, 1, boar, 1, false, VectorClock{0, 0, 0, 0, 0, 2}, at_ms(0));
    (void)tie.submit_buy(4, 1, boar, 1, false, VectorClock{0, 0, 0, 0, 2}, at_ms(1));
    const auto tied = outputs_of<BuyResult>(tie.poll(at_ms(60)));
    BOOST_TEST_REQUIRE(tied.size() == 2u);
    BOOST_TEST(tied[0].buyer == 4u);
    BOOST_TEST(tied[0].filled());
    require_sound(books);
    require_sound(tie);
}

BOOST_AUTO_TEST_CASE(later_batches_open_after_the_window_closes) {
    Books books(windowed(100));
    (void)books.deposit(1, 1, fish, 5, 2);
    // A request at 0 opens the batch closing at 100; one at 150 opens a new batch closing at 250.
    (void)books.submit_buy(2, 1, fish, 1, false, VectorClock{0, 0, 5}, at_ms(0));
    (void)books.submit_buy(3, 1, fish, 1, false, VectorClock{0, 0, 0, 1}, at_ms(150));
    BOOST_TEST_REQUIRE(books.queued().size() == 2u);
    BOOST_TEST(books.queued()[0].batch < books.queued()[1].batch);
    BOOST_TEST((books.batch_deadline(books.queued()[0].batch) == at_ms(100)));
    BOOST_TEST((books.batch_deadline(books.queued()[1].batch) == at_ms(250)));
    // Polling at 200 serves only the first batch, though the second has the smaller clock.
    const auto first = outputs_of<BuyResult>(books.poll(at_ms(200)));
    BOOST_TEST_REQUIRE(first.size() == 1u);
    BOOST_TEST(first[0].buyer == 2u);
    BOOST_TEST((books.next_deadline() == at_ms(250)));
    // The second batch at its close.
    BOOST_TEST(outputs_of<BuyResult>(books.poll(at_ms(250))).size() == 1u);
    require_sound(books);
}

BOOST_AUTO_TEST_CASE(retried_request_gets_the_same_answer_and_executes_once) {
    Books books;
    (void)books.deposit(1, 1, salt, 5, 10);
    // The first attempt buys 2.
    const BuyResult first = only_result(books.submit_buy(2, 9, salt, 2, false, {}, at_ms(0)));
    // The retry returns the same answer, with no event and no payment: stock stays at 3.
    Step retry = books.submit_buy(2, 9, salt, 2, false, {}, at_ms(5));
    BOOST_TEST(retry.events.empty());
    BOOST_TEST(outputs_of<Payment>(retry).empty());
    BOOST_TEST((only_result(retry) == first));
    BOOST_TEST(books.in_stock(salt) == 3u);
    // Another buyer may use the same request id: it is a different request.
    BOOST_TEST(only_result(books.submit_buy(3, 9, salt, 1, false, {}, at_ms(6))).buyer == 3u);
    // After snapshot and restore (a new trader), the retry still gets the same answer once.
    Result<Books> restored = Books::restore(books.config(), books.snapshot());
    BOOST_TEST_REQUIRE(restored.ok(), restored.error().message);
    BOOST_TEST((*restored == books));
    Step late = restored->submit_buy(2, 9, salt, 2, false, {}, at_ms(100));
    BOOST_TEST(late.events.empty());
    BOOST_TEST((only_result(late) == first));
    BOOST_TEST(restored->in_stock(salt) == 2u);
    BOOST_TEST(restored->buyer(2).filled == 1u);
    require_sound(*restored);
}

BOOST_AUTO_TEST_CASE(queued_request_is_not_queued_twice_and_is_inherited) {
    Books books(windowed(100));
    (void)books.deposit(1, 1, salt, 5, 10);
    // Queued once; its retry inside the window adds nothing.
    BOOST_TEST(
        books.submit_buy(2, 1, salt, 1, false, VectorClock{0, 0, 1}, at_ms(0)).events.size() == 1u);
    BOOST_TEST(books.submit_buy(2, 1, salt, 1, false, VectorClock{0, 0, 1}, at_ms(10)).empty());
    BOOST_TEST(books.queued().size() == 1u);
    // The trader fails; a new one restores the snapshot and inherits the queued request.
    Result<Books> heir = Books::restore(books.config(), books.snapshot());
    BOOST_TEST_REQUIRE(heir.ok(), heir.error().message);
    BOOST_TEST(heir->queued().size() == 1u);
    // The old deadline was on the old trader's clock and is not inherited: the new trader's clock
    // says 50 when it resumes the books, so the batch gets one fresh window, closing at 150.
    heir->resume(at_ms(50));
    BOOST_TEST((heir->next_deadline() == at_ms(150)));
    BOOST_TEST(heir->poll(at_ms(149)).empty());
    // It serves it at the close, exactly once.
    BOOST_TEST(outputs_of<BuyResult>(heir->poll(at_ms(150))).size() == 1u);
    BOOST_TEST(heir->poll(at_ms(200)).empty());
    BOOST_TEST(heir->in_stock(salt) == 4u);
    // A new trader configured with no window serves inherited requests before a new one.
    Books batching(windowed(100));
    (void)batching.deposit(1, 1, salt, 1, 10);
    (void)batching.submit_buy(3, 1, salt, 1, false, VectorClock{0, 0, 0, 2}, at_ms(0));
    Result<Books> instant = Books::restore(Config{}, batching.snapshot());
    BOOST_TEST_REQUIRE(instant.ok(), instant.error().message);
    const auto served =
        outputs_of<BuyResult>(instant->submit_buy(2, 1, salt, 1, false, {}, at_ms(100)));
    BOOST_TEST_REQUIRE(served.size() == 2u);
    BOOST_TEST(served[0].buyer == 3u);
    BOOST_TEST(served[0].filled());
    BOOST_TEST(served[1].reason == RefuseReason::no_seller);
    require_sound(*heir);
    require_sound(*instant);
}

BOOST_AUTO_TEST_CASE(pending_payments_survive_restore_until_acknowledged) {
    Books books;
    (void)books.deposit(1, 1, fish, 4, 10);
    (void)books.deposit(2, 1, fish, 4, 10);
    // Three sales make three payments: 1 to seller 1, 2 spanning both sellers.
    (void)books.submit_buy(3, 1, fish, 2, false, {}, at_ms(0));
    (void)books.submit_buy(3, 2, fish, 4, false, {}, at_ms(0));
    BOOST_TEST_REQUIRE(books.payments().pending_count() == 3u);
    // Seller 1 acknowledges the second payment only.
    const auto pending = books.payments().pending();
    (void)books.ack_payment(pending[1].id);
    // A new trader sees exactly the two unacknowledged payments, to resend.
    Result<Books> heir = Books::restore(books.config(), books.snapshot());
    BOOST_TEST_REQUIRE(heir.ok(), heir.error().message);
    const auto inherited = heir->payments().pending();
    BOOST_TEST_REQUIRE(inherited.size() == 2u);
    BOOST_TEST((inherited[0] == pending[0]));
    BOOST_TEST((inherited[1] == pending[2]));
    // New payments continue the id sequence.
    (void)heir->deposit(1, 2, fish, 1, 10);
    (void)heir->submit_buy(3, 3, fish, 1, false, {}, at_ms(0));
    BOOST_TEST(heir->payments().pending().back().id == pending[2].id + 1);
    require_sound(*heir);
}

BOOST_AUTO_TEST_CASE(apply_rejects_events_that_contradict_the_books) {
    Books books;
    (void)books.deposit(1, 1, salt, 2, 10);
    (void)books.deposit(2, 1, salt, 2, 10);
    const Books before = books;
    // A fill that skips the oldest lot.
    BuyFilled skip{3, 1, salt, 1, {Fill{2, 1, 1, 10, 1, books.payments().next_id()}}};
    Status s = books.apply(skip);
    BOOST_TEST(!s.ok());
    BOOST_TEST(s.error().code == ErrorCode::inconsistent);
    BOOST_TEST(s.error().message.find("not the oldest") != std::string::npos);
    // A fill whose amount is not quantity x price.
    BuyFilled wrong{3, 1, salt, 1, {Fill{1, 1, 1, 11, 1, books.payments().next_id()}}};
    BOOST_TEST(!books.apply(wrong).ok());
    // Acknowledging a payment never issued, depositing a lot twice.
    BOOST_TEST(!books.apply(PaymentAcked{42}).ok());
    BOOST_TEST(!books.apply(Deposited{1, 1, salt, 2, 10}).ok());
    // None of them changed anything.
    BOOST_TEST((books == before));
    require_sound(books);
}

BOOST_AUTO_TEST_CASE(bad_config_is_rejected) {
    Config c;
    c.commission_ppm = 1'000'001;
    BOOST_CHECK_THROW(Books{c}, std::invalid_argument);
    Config w;
    w.batch_window = std::chrono::milliseconds(-1);
    BOOST_CHECK_THROW(Books{w}, std::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()
