// Checked money: a sale that would push any running total out of Money is refused with
// amount_overflow and moves nothing; replayed events and snapshots that would overflow are errors
// naming the total; the invariant check sums exactly and never wraps into agreement.
#include <boost/test/unit_test.hpp>

#include <capnp/message.h>
#include <capnp/serialize.h>

#include <limits>
#include <map>
#include <vector>

#include "books.capnp.h"
#include "market_test_util.hpp"

using namespace market_test;
namespace schema = tp::market::schema;

namespace {

constexpr Money max = std::numeric_limits<Money>::max();
constexpr ProductId salt = 0;

Config with_commission(std::uint32_t ppm) {
    Config c;
    c.commission_ppm = ppm;
    return c;
}

std::string joined_or_none(const std::vector<std::string>& v) {
    return v.empty() ? std::string("none") : joined(v);
}

// Buyer `buyer` asks for one unit; the answer must be an amount_overflow refusal that moved no
// goods and no money: only the refusal itself is recorded (so a retry gets the same answer).
void expect_overflow_refusal(Books& books, PeerId buyer, RequestId request) {
    const Books before = books;
    const Step step = books.submit_buy(buyer, request, salt, 1, false, {}, at_ms(0));
    const BuyResult r = only_result(step);
    BOOST_TEST(r.status == BuyStatus::refused);
    BOOST_TEST(r.reason == RefuseReason::amount_overflow);
    BOOST_TEST(r.amount == 0);
    BOOST_TEST(outputs_of<Payment>(step).empty());
    BOOST_TEST_REQUIRE(step.events.size() == 1u);
    const auto refused = events_of<BuyRefused>(step);
    BOOST_TEST_REQUIRE(refused.size() == 1u);
    BOOST_TEST(refused[0].reason == RefuseReason::amount_overflow);
    // Goods, ledgers, commission and payments exactly as before.
    BOOST_TEST((books.products() == before.products()));
    BOOST_TEST((books.sellers() == before.sellers()));
    BOOST_TEST(books.commission_total() == before.commission_total());
    BOOST_TEST((books.payments() == before.payments()));
    // The buyer's totals gained one refusal and nothing else.
    auto buyers = before.buyers();
    ++buyers[buyer].refused;
    BOOST_TEST((books.buyers() == buyers));
    require_sound(books);
    // The retry gets the same answer; the refusal also replays from its event.
    BOOST_TEST((only_result(books.submit_buy(buyer, request, salt, 1, false, {}, at_ms(1))) == r));
    Books follower = before;
    BOOST_TEST_REQUIRE(follower.apply(step.events[0]).ok());
    BOOST_TEST((follower == books));
}

// The Snapshot of a market with one product whose lots are all sold, one seller and the given
// buyers' answers; the caller adjusts the rest.
struct SnapshotBuilder {
    capnp::MallocMessageBuilder message;
    schema::Snapshot::Builder root = message.initRoot<schema::Snapshot>();

    SnapshotBuilder() { root.setVersion(1); }

    std::vector<std::byte> bytes() {
        const auto words = capnp::messageToFlatArray(message);
        const auto b = words.asBytes();
        std::vector<std::byte> out(b.size());
        for (std::size_t i = 0; i < b.size(); ++i) out[i] = std::byte{b[i]};
        return out;
    }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(market_money)

BOOST_AUTO_TEST_CASE(checked_add_sub_mul_never_wrap) {
    BOOST_TEST((checked_add(max - 1, 1) == max));
    BOOST_TEST(!checked_add(max, 1));
    BOOST_TEST(!checked_add(std::numeric_limits<Money>::min(), -1));
    BOOST_TEST((checked_sub(0, max) == -max));
    BOOST_TEST(!checked_sub(-2, max));
    BOOST_TEST((checked_mul(max / 2, 2) == max - 1));
    BOOST_TEST(!checked_mul(max / 2 + 1, 2));
}

// A single sale whose amount does not fit: each lot fits alone, the two together do not.
BOOST_AUTO_TEST_CASE(sale_total_overflow_is_refused) {
    Books books;
    (void)books.deposit(1, 1, salt, 1, max / 2 + 1);
    (void)books.deposit(1, 2, salt, 1, max / 2 + 1);
    const Books before = books;
    const BuyResult r = only_result(books.submit_buy(3, 1, salt, 2, false, {}, at_ms(0)));
    BOOST_TEST(r.reason == RefuseReason::amount_overflow);
    BOOST_TEST((books.products() == before.products()));
    BOOST_TEST((books.sellers() == before.sellers()));
    require_sound(books);
}

BOOST_AUTO_TEST_CASE(seller_earned_overflow_is_refused) {
    // No commission: the seller earns every coin. Its first sale brings it to the maximum.
    Books books(with_commission(0));
    (void)books.deposit(1, 1, salt, 1, max);
    (void)books.deposit(1, 2, salt, 1, 1);
    BOOST_TEST(only_result(books.submit_buy(2, 1, salt, 1, false, {}, at_ms(0))).filled());
    BOOST_TEST(books.seller(1).earned == max);
    // Another buyer's sale of 1 from the same seller would make earned (and pending) wrap.
    expect_overflow_refusal(books, 3, 1);
    // Once the seller's pending payment is acknowledged, earned still may not grow.
    (void)books.ack_payment(books.payments().pending().at(0).id);
    BOOST_TEST(books.seller(1).pending == 0);
    expect_overflow_refusal(books, 3, 2);
}

BOOST_AUTO_TEST_CASE(seller_commission_overflow_is_refused) {
    // 100% commission: the trader keeps everything, the seller's commission grows.
    Books books(with_commission(1'000'000));
    (void)books.deposit(1, 1, salt, 1, max);
    (void)books.deposit(1, 2, salt, 1, 1);
    BOOST_TEST(only_result(books.submit_buy(2, 1, salt, 1, false, {}, at_ms(0))).filled());
    BOOST_TEST(books.seller(1).commission == max);
    BOOST_TEST(books.seller(1).earned == 0);
    expect_overflow_refusal(books, 3, 1);
}

BOOST_AUTO_TEST_CASE(commission_total_overflow_is_refused) {
    // Two sellers, each well inside the range; the trader's total over both is not.
    Books books(with_commission(1'000'000));
    (void)books.deposit(1, 1, salt, 1, max / 2 + 1);
    (void)books.deposit(2, 1, salt, 1, max / 2 + 1);
    BOOST_TEST(only_result(books.submit_buy(3, 1, salt, 1, false, {}, at_ms(0))).filled());
    BOOST_TEST(books.commission_total() == max / 2 + 1);
    // Seller 2's commission would be max / 2 + 1 (fits), the total would not.
    expect_overflow_refusal(books, 4, 1);
}

BOOST_AUTO_TEST_CASE(buyer_spent_overflow_is_refused) {
    // One buyer buys from two sellers: each seller's ledger fits, the buyer's spending does not.
    Books books(with_commission(0));
    (void)books.deposit(1, 1, salt, 1, max);
    (void)books.deposit(2, 1, salt, 1, 1);
    BOOST_TEST(only_result(books.submit_buy(3, 1, salt, 1, false, {}, at_ms(0))).filled());
    BOOST_TEST(books.buyer(3).spent == max);
    expect_overflow_refusal(books, 3, 2);
    // Another buyer may still buy that lot.
    BOOST_TEST(only_result(books.submit_buy(4, 1, salt, 1, false, {}, at_ms(0))).filled());
    require_sound(books);
}

BOOST_AUTO_TEST_CASE(replayed_event_that_would_overflow_is_an_error_naming_the_total) {
    Books books(with_commission(0));
    std::vector<std::vector<std::byte>> journal;
    const auto record = [&](const Step& step) {
        for (const Event& e : step.events) journal.push_back(encode(e));
    };
    record(books.deposit(1, 1, salt, 1, max));
    record(books.deposit(1, 2, salt, 1, 1));
    record(books.submit_buy(2, 1, salt, 1, false, {}, at_ms(0)));
    // A corrupt or forged journal record: the sale a correct trader refused.
    const PaymentId next = books.payments().next_id();
    journal.push_back(encode(BuyFilled{3, 1, salt, 1, {Fill{1, 2, 1, 1, 0, next}}}));
    Result<Books> r = Books::replay(with_commission(0), {}, journal);
    BOOST_TEST_REQUIRE(!r.ok());
    BOOST_TEST(r.error().message.find("event 3") != std::string::npos, r.error().message);
    BOOST_TEST(r.error().message.find("seller 1's earned") != std::string::npos, r.error().message);
    BOOST_TEST(r.error().message.find("overflow") != std::string::npos, r.error().message);
    // Applied directly, it is refused and changes nothing.
    const Books before = books;
    BOOST_TEST(!books.apply(BuyFilled{3, 1, salt, 1, {Fill{1, 2, 1, 1, 0, next}}}).ok());
    BOOST_TEST((books == before));
}

// Three sales of max, max and 2 add up to 2^64, which a 64-bit sum wraps to 0: books whose
// buyer claims 0 spent agreed with it, and the check said "invariants OK".
BOOST_AUTO_TEST_CASE(invariants_report_results_that_add_up_out_of_range) {
    SnapshotBuilder s;
    s.root.setNextPayment(1);
    s.root.setExecutions(3);
    auto product = s.root.initProducts(1)[0];
    product.setProduct(salt);
    product.setDeposited(3);
    product.setSold(3);
    auto lot = s.root.initLotsSeen(1)[0];
    lot.setSeller(1);
    lot.setLot(1);
    lot.setProduct(salt);
    lot.setQuantity(3);
    lot.setUnitPrice(1);
    auto seller = s.root.initSellers(1)[0];
    seller.setSeller(1);
    seller.setSold(3);
    auto buyer = s.root.initBuyers(1)[0];
    buyer.setBuyer(7);
    buyer.setFilled(3);
    buyer.setQuantity(3);
    buyer.setSpent(0);  // max + max + 2, wrapped
    auto results = s.root.initResultsDeprecated(3);  // a version 1 snapshot: every answer
    const Money amounts[] = {max, max, 2};
    for (unsigned i = 0; i < 3; ++i) {
        results[i].setBuyer(7);
        results[i].setRequest(i + 1);
        results[i].setProduct(salt);
        results[i].setStatus(schema::BuyStatus::FILLED);
        results[i].setRequested(1);
        results[i].setQuantity(1);
        results[i].setAmount(amounts[i]);
        results[i].initSellers(1).set(0, 1);
    }
    Result<Books> r = Books::restore(Config{}, s.bytes());
    BOOST_TEST_REQUIRE(!r.ok(), "restored; violations: none");
    BOOST_TEST(r.error().code == ErrorCode::inconsistent);
    BOOST_TEST(r.error().message.find("buyer 7") != std::string::npos, r.error().message);
    BOOST_TEST(r.error().message.find("18446744073709551616") != std::string::npos,
               r.error().message);
}

// Pending payments of max, max and 2 likewise wrap to a ledger's pending 0.
BOOST_AUTO_TEST_CASE(invariants_report_pending_payments_that_add_up_out_of_range) {
    SnapshotBuilder s;
    s.root.setNextPayment(4);
    auto seller = s.root.initSellers(1)[0];
    seller.setSeller(1);
    seller.setPending(0);  // max + max + 2, wrapped
    seller.setPendingCount(3);
    auto payments = s.root.initPayments(3);
    const Money amounts[] = {max, max, 2};
    for (unsigned i = 0; i < 3; ++i) {
        payments[i].setId(i + 1);
        payments[i].setSeller(1);
        payments[i].setLot(1);
        payments[i].setQuantity(1);
        payments[i].setAmount(amounts[i]);
    }
    Result<Books> r = Books::restore(Config{}, s.bytes());
    BOOST_TEST_REQUIRE(!r.ok(), "restored; violations: none");
    BOOST_TEST(r.error().message.find("seller 1: pending 0 in 3 payments, list has "
                                      "18446744073709551616 in 3") != std::string::npos,
               r.error().message);
}

// A lot on record whose value does not fit in Money (its deposit would have been rejected).
BOOST_AUTO_TEST_CASE(snapshot_with_a_deposit_out_of_range_is_rejected) {
    SnapshotBuilder s;
    s.root.setNextPayment(1);
    auto product = s.root.initProducts(1)[0];
    product.setProduct(salt);
    product.setDeposited(2);
    auto in_stock = product.initLots(1)[0];
    in_stock.setSeller(1);
    in_stock.setLot(1);
    in_stock.setRemaining(2);
    in_stock.setUnitPrice(max);
    auto lot = s.root.initLotsSeen(1)[0];
    lot.setSeller(1);
    lot.setLot(1);
    lot.setProduct(salt);
    lot.setQuantity(2);
    lot.setUnitPrice(max);
    s.root.initSellers(1)[0].setSeller(1);
    Result<Books> r = Books::restore(Config{}, s.bytes());
    BOOST_TEST_REQUIRE(!r.ok(), "restored");
    BOOST_TEST(r.error().message.find("lot (1, 1): deposit out of range") != std::string::npos,
               r.error().message);
}

// Totals at the edge of the range that do add up are sound: the exact check has no false alarm.
BOOST_AUTO_TEST_CASE(totals_at_the_maximum_are_sound) {
    Books books(with_commission(500'000));
    (void)books.deposit(1, 1, salt, 1, max);
    BOOST_TEST(only_result(books.submit_buy(2, 1, salt, 1, false, {}, at_ms(0))).amount == max);
    BOOST_TEST(books.buyer(2).spent == max);
    BOOST_TEST(books.seller(1).earned + books.seller(1).commission == max);
    const auto violations = books.check_invariants();
    BOOST_TEST(violations.empty(), joined_or_none(violations));
    Result<Books> restored = Books::restore(books.config(), books.snapshot());
    BOOST_TEST_REQUIRE(restored.ok(), restored.error().message);
    BOOST_TEST((*restored == books));
}

BOOST_AUTO_TEST_SUITE_END()
