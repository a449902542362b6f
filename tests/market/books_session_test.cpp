// The de-duplication table as client sessions: one per buyer, holding what a retry can still ask
// for, durable through snapshot and replay.
#include <boost/test/unit_test.hpp>

#include <capnp/message.h>
#include <capnp/serialize.h>

#include <algorithm>
#include <cstring>
#include <tuple>
#include <vector>

#include "books.capnp.h"
#include "market_test_util.hpp"

using namespace market_test;
using tp::clock::VectorClock;

namespace {

constexpr ProductId salt = 0;
constexpr PeerId seller = 1;

// A buyer's request ids as a peer makes them: (incarnation << 32) | counter.
RequestId request_id(std::uint32_t incarnation, std::uint32_t counter) {
    return (RequestId{incarnation} << 32) | counter;
}

Config windowed(int ms) {
    Config c;
    c.batch_window = std::chrono::milliseconds(ms);
    return c;
}

// The market as a trader keeps it: every step's events in a journal, every answer it sent.
struct Trader {
    Books books;
    std::vector<std::vector<std::byte>> journal;
    std::vector<BuyResult> answers;

    explicit Trader(Config config = {}) : books(config) {}

    Step record(Step step) {
        for (const Event& e : step.events) journal.push_back(encode(e));
        for (const auto& r : outputs_of<BuyResult>(step)) answers.push_back(r);
        return step;
    }
    Step deposit(LotId lot, Quantity quantity) {
        return record(books.deposit(seller, lot, salt, quantity, 10));
    }
    Step buy(PeerId buyer, RequestId request, Quantity quantity = 1, int ms = 0) {
        // The buyer's clock has ticked once per request of this life.
        const std::vector<tp::clock::Entry> clock{{buyer, request & 0xffffffff}};
        return record(books.submit_buy(buyer, request, salt, quantity, false,
                                       VectorClock::from_entries(clock), at_ms(ms)));
    }
};

std::vector<std::byte> to_bytes(capnp::MessageBuilder& message) {
    const auto words = capnp::messageToFlatArray(message);
    const auto b = words.asBytes();
    std::vector<std::byte> out(b.size());
    std::memcpy(out.data(), b.begin(), b.size());
    return out;
}

// The snapshot the code before sessions wrote of the same books: version 1, every answer ever
// given in `results` (now resultsDeprecated), sorted by (buyer, request), and no sessions. The
// answers' lots (`fills`, newer than version 1) only `with_lots`, so that the books compare equal;
// without them it is the answer as the code before the lots wrote it.
std::vector<std::byte> version_1_snapshot(const Books& books, std::vector<BuyResult> every,
                                          bool with_lots = true) {
    const auto now = books.snapshot();
    std::vector<capnp::word> words(now.size() / sizeof(capnp::word));
    std::memcpy(words.data(), now.data(), now.size());
    capnp::FlatArrayMessageReader reader(kj::arrayPtr(words.data(), words.size()));
    capnp::MallocMessageBuilder message;
    message.setRoot(reader.getRoot<tp::market::schema::Snapshot>());
    auto root = message.getRoot<tp::market::schema::Snapshot>();
    root.setVersion(1);
    root.disownSessions();
    std::sort(every.begin(), every.end(), [](const BuyResult& a, const BuyResult& b) {
        return std::tie(a.buyer, a.request) < std::tie(b.buyer, b.request);
    });
    auto results = root.initResultsDeprecated(static_cast<unsigned>(every.size()));
    for (unsigned i = 0; i < every.size(); ++i) {
        const BuyResult& r = every[i];
        auto b = results[i];
        b.setBuyer(r.buyer);
        b.setRequest(r.request);
        b.setProduct(r.product);
        b.setStatus(r.status == BuyStatus::refused   ? tp::market::schema::BuyStatus::REFUSED
                    : r.status == BuyStatus::partial ? tp::market::schema::BuyStatus::PARTIAL
                                                     : tp::market::schema::BuyStatus::FILLED);
        using SR = tp::market::schema::RefuseReason;
        const SR reasons[] = {SR::NO_SELLER, SR::INSUFFICIENT_STOCK, SR::INVALID_REQUEST,
                              SR::AMOUNT_OVERFLOW};
        b.setReason(reasons[static_cast<unsigned>(r.reason)]);
        b.setRequested(r.requested);
        b.setQuantity(r.quantity);
        b.setAmount(r.amount);
        auto sellers = b.initSellers(static_cast<unsigned>(r.sellers.size()));
        for (unsigned k = 0; k < r.sellers.size(); ++k) sellers.set(k, r.sellers[k]);
        if (!with_lots) continue;
        auto fills = b.initFills(static_cast<unsigned>(r.fills.size()));
        for (unsigned k = 0; k < r.fills.size(); ++k) {
            const tp::market::Fill& f = r.fills[k];
            fills[k].setSeller(f.seller);
            fills[k].setLot(f.lot);
            fills[k].setQuantity(f.quantity);
            fills[k].setAmount(f.amount);
            fills[k].setCommission(f.commission);
            fills[k].setPayment(f.payment);
        }
    }
    return to_bytes(message);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(market_sessions)

BOOST_AUTO_TEST_CASE(a_retry_of_the_latest_request_gets_the_same_answer) {
    Trader t;
    // Seller 1 deposits 5 units of salt.
    t.deposit(1, 5);
    // Buyer 7 buys 2: filled, one payment out.
    const BuyResult first = only_result(t.buy(7, request_id(1, 1), 2));
    BOOST_TEST(first.status == BuyStatus::filled);
    // The answer was lost; the buyer retries: the same answer, byte for byte, and nothing runs.
    const Step retry = t.buy(7, request_id(1, 1), 2);
    BOOST_TEST(retry.events.empty());
    BOOST_TEST(outputs_of<Payment>(retry).empty());
    BOOST_TEST((only_result(retry) == first));
    // The books sold 2 units once.
    BOOST_TEST(t.books.in_stock(salt) == 3u);
    BOOST_TEST(t.books.buyer(7).filled == 1u);
    require_sound(t.books);
}

BOOST_AUTO_TEST_CASE(an_older_request_never_executes_again) {
    Trader t;
    // Seller 1 deposits 10 units of salt.
    t.deposit(1, 10);
    // Buyer 7 buys 1 with request 1, then 1 with request 2: both filled.
    BOOST_TEST(only_result(t.buy(7, request_id(1, 1))).filled());
    BOOST_TEST(only_result(t.buy(7, request_id(1, 2))).filled());
    // The session now holds request 2's answer only.
    BOOST_TEST_REQUIRE(t.books.session(7));
    BOOST_TEST(t.books.session(7)->answers.size() == 1u);
    BOOST_TEST(t.books.session(7)->latest() == request_id(1, 2));
    BOOST_TEST(!t.books.result(7, request_id(1, 1)));
    // A delayed duplicate of request 1 arrives: refused, no event, nothing sold.
    const Step late = t.buy(7, request_id(1, 1));
    BOOST_TEST(late.events.empty());
    const BuyResult refusal = only_result(late);
    BOOST_TEST(refusal.status == BuyStatus::refused);
    BOOST_TEST(refusal.reason == RefuseReason::invalid_request);
    BOOST_TEST(refusal.request == request_id(1, 1));
    BOOST_TEST(t.books.in_stock(salt) == 8u);
    BOOST_TEST(t.books.buyer(7).filled == 2u);
    BOOST_TEST(t.books.buyer(7).refused == 0u);
    // So does a request of an earlier life of the buyer (a lower incarnation).
    BOOST_TEST(only_result(t.buy(7, request_id(0, 9))).reason == RefuseReason::invalid_request);
    // The latest request still gets its recorded answer; a newer one runs.
    BOOST_TEST(only_result(t.buy(7, request_id(1, 2))).filled());
    BOOST_TEST(only_result(t.buy(7, request_id(2, 1))).filled());
    BOOST_TEST(t.books.in_stock(salt) == 7u);
    require_sound(t.books);
}

BOOST_AUTO_TEST_CASE(a_journal_that_executes_an_older_request_again_is_rejected) {
    Trader t;
    // Seller 1 deposits 10 units; buyer 7 buys with requests 1 and 2.
    t.deposit(1, 10);
    t.buy(7, request_id(1, 1));
    const Step second = t.buy(7, request_id(1, 2));
    // A forged or corrupt record: request 1 executed a second time.
    BuyFilled again = std::get<BuyFilled>(second.events.front());
    again.request = request_id(1, 1);
    for (Fill& f : again.fills) f.payment = t.books.payments().next_id();
    const Books before = t.books;
    const Status s = t.books.apply(again);
    BOOST_TEST_REQUIRE(!s.ok());
    BOOST_TEST(s.error().code == ErrorCode::inconsistent);
    BOOST_TEST(s.error().message.find("older than the buyer's latest answered request") !=
                   std::string::npos,
               s.error().message);
    BOOST_TEST((t.books == before));
}

BOOST_AUTO_TEST_CASE(a_request_waiting_in_a_batch_is_a_duplicate_until_answered) {
    Trader t(windowed(10));
    // Seller 1 deposits 10 units.
    t.deposit(1, 10);
    // Buyer 7's request 1 joins a batch; its retry changes nothing.
    BOOST_TEST(t.buy(7, request_id(1, 1), 1, 0).outputs.empty());
    const Step retry = t.buy(7, request_id(1, 1), 1, 5);
    BOOST_TEST(retry.events.empty());
    BOOST_TEST(retry.outputs.empty());
    BOOST_TEST(t.books.queued().size() == 1u);
    // A client with two outstanding requests: request 2 joins the next batch as well.
    t.buy(7, request_id(1, 2), 1, 20);
    BOOST_TEST(t.books.queued().size() == 2u);
    // The batches close: both are served, in order, and the session holds the latest.
    const Step served = t.record(t.books.poll(at_ms(40)));
    BOOST_TEST(outputs_of<BuyResult>(served).size() == 2u);
    BOOST_TEST(t.books.queued().empty());
    BOOST_TEST(t.books.session(7)->latest() == request_id(1, 2));
    BOOST_TEST(t.books.in_stock(salt) == 8u);
    require_sound(t.books);
}

BOOST_AUTO_TEST_CASE(answers_newer_than_a_queued_request_are_kept_until_it_is_answered) {
    Trader t(windowed(10));
    t.deposit(1, 10);
    // A client with several requests outstanding: 2 and 3 join a batch that closes at 10 ms.
    t.buy(7, request_id(1, 2), 1, 0);
    t.buy(7, request_id(1, 3), 1, 1);
    // Request 1 arrives late and opens the next batch, which closes at 25 ms.
    t.buy(7, request_id(1, 1), 1, 15);
    // The first batch is served: 2 and 3 answered while 1 still waits.
    BOOST_TEST(outputs_of<BuyResult>(t.record(t.books.poll(at_ms(15)))).size() == 2u);
    // The session keeps both answers: a retry of 2 still gets its answer, and runs nothing.
    BOOST_TEST(t.books.session(7)->answers.size() == 2u);
    const Step retry = t.buy(7, request_id(1, 2), 1, 16);
    BOOST_TEST(retry.events.empty());
    BOOST_TEST((only_result(retry) == *t.books.result(7, request_id(1, 2))));
    // Request 1 is served: now only the latest answer, 3's, is kept.
    BOOST_TEST(only_result(t.record(t.books.poll(at_ms(25)))).filled());
    BOOST_TEST(t.books.session(7)->answers.size() == 1u);
    BOOST_TEST(t.books.session(7)->latest() == request_id(1, 3));
    BOOST_TEST(t.books.in_stock(salt) == 7u);
    require_sound(t.books);
}

BOOST_AUTO_TEST_CASE(the_table_keeps_one_session_per_buyer_after_thousands_of_requests) {
    Trader t;
    constexpr PeerId first_buyer = 10;
    constexpr PeerId buyers = 4;
    constexpr std::uint32_t per_buyer = 2500;
    // Plenty of stock: every request is filled.
    t.deposit(1, buyers * per_buyer);
    // Each buyer sends its requests one at a time, each retried once (a lost answer), and the
    // seller acknowledges every payment.
    for (std::uint32_t n = 1; n <= per_buyer; ++n) {
        for (PeerId b = first_buyer; b < first_buyer + buyers; ++b) {
            const Step step = t.buy(b, request_id(1, n));
            const BuyResult answer = only_result(step);
            BOOST_TEST_REQUIRE((only_result(t.buy(b, request_id(1, n))) == answer));
            // The seller acknowledges its payment.
            for (const Payment& p : outputs_of<Payment>(step)) t.record(t.books.ack_payment(p.id));
        }
    }
    // 10 000 requests answered, each once; the table holds one session of one answer per buyer.
    BOOST_TEST(t.books.answered_count() == std::uint64_t{buyers} * per_buyer);
    BOOST_TEST(t.books.sessions_count() == std::size_t{buyers});
    for (const auto& [buyer, session] : t.books.sessions()) {
        BOOST_TEST(session.answers.size() == 1u);
        BOOST_TEST(session.latest() == request_id(1, per_buyer));
    }
    // The snapshot stays the size of a few sessions, not of 10 000 answers.
    BOOST_TEST(t.books.snapshot().size() < 2048u);
    require_sound(t.books);
}

BOOST_AUTO_TEST_CASE(sessions_survive_snapshot_and_replay_across_a_failover) {
    Trader old;
    // Seller 1 deposits; buyers 7 and 8 buy; the old trader snapshots.
    old.deposit(1, 10);
    old.buy(7, request_id(1, 1));
    old.buy(8, request_id(1, 1));
    const auto snapshot = old.books.snapshot();
    old.journal.clear();
    // After the snapshot buyer 7 buys again; the answer is lost with the old trader.
    const BuyResult lost = only_result(old.buy(7, request_id(1, 2), 3));
    // A new trader recovers the books from the snapshot and the journal since.
    Result<Books> heir = Books::replay(Config{}, snapshot, old.journal);
    BOOST_TEST_REQUIRE(heir.ok(), heir.error().message);
    BOOST_TEST((*heir == old.books));
    // Buyer 7 retries with the new trader: the recorded answer, nothing runs again.
    const Step retry = heir->submit_buy(7, request_id(1, 2), salt, 3, false, {}, at_ms(0));
    BOOST_TEST(retry.events.empty());
    BOOST_TEST((only_result(retry) == lost));
    // Buyer 8's delayed duplicate of its answered request is the recorded answer too.
    BOOST_TEST(
        only_result(heir->submit_buy(8, request_id(1, 1), salt, 1, false, {}, at_ms(0))).filled());
    BOOST_TEST(heir->in_stock(salt) == 5u);
    // From the snapshot alone (the journal lost), the session is the one before the sale.
    Result<Books> from_snapshot = Books::restore(Config{}, snapshot);
    BOOST_TEST_REQUIRE(from_snapshot.ok(), from_snapshot.error().message);
    BOOST_TEST(from_snapshot->session(7)->latest() == request_id(1, 1));
    require_sound(*heir);
}

BOOST_AUTO_TEST_CASE(a_version_1_snapshot_with_every_answer_restores_the_sessions) {
    Trader t(windowed(10));
    t.deposit(1, 20);
    // Buyers 7 and 8 each make several requests; one of buyer 8's stays queued.
    for (std::uint32_t n = 1; n <= 4; ++n) {
        t.buy(7, request_id(1, n), 1, static_cast<int>(n) * 20);
        t.buy(8, request_id(1, n), 1, static_cast<int>(n) * 20);
        t.record(t.books.poll(at_ms(static_cast<int>(n) * 20 + 10)));
    }
    t.buy(8, request_id(1, 5), 1, 200);
    BOOST_TEST(t.answers.size() == 8u);
    // The same books as the code before sessions saved them: every answer, version 1.
    const auto old_format = version_1_snapshot(t.books, t.answers);
    Result<Books> restored = Books::restore(windowed(10), old_format);
    BOOST_TEST_REQUIRE(restored.ok(), restored.error().message);
    // The latest answer per buyer is kept, the rest dropped: the same books as the live ones.
    BOOST_TEST(restored->sessions_count() == 2u);
    BOOST_TEST(restored->session(7)->answers.size() == 1u);
    BOOST_TEST(restored->session(7)->latest() == request_id(1, 4));
    BOOST_TEST(restored->session(8)->latest() == request_id(1, 4));
    BOOST_TEST((*restored == t.books));
    BOOST_TEST(restored->queued().size() == 1u);
    // A retry of the latest still gets its answer; an older request never runs again.
    const BuyResult* latest = t.books.result(7, request_id(1, 4));
    BOOST_TEST_REQUIRE(latest);
    BOOST_TEST((only_result(restored->submit_buy(7, request_id(1, 4), salt, 1, false, {},
                                                 at_ms(300))) == *latest));
    const Step older = restored->submit_buy(7, request_id(1, 2), salt, 1, false, {}, at_ms(300));
    BOOST_TEST(older.events.empty());
    BOOST_TEST(only_result(older).reason == RefuseReason::invalid_request);
    // Saved again, it is the new format, which restores to the same books.
    Result<Books> again = Books::restore(windowed(10), restored->snapshot());
    BOOST_TEST_REQUIRE(again.ok(), again.error().message);
    BOOST_TEST((*again == t.books));
}

// An answer recorded before answers kept their lots restores with its sellers and totals and no
// lots (the trader then names the sellers alone), and the books are otherwise the live ones.
BOOST_AUTO_TEST_CASE(an_answer_recorded_without_its_lots_restores_without_them) {
    Trader t;
    t.deposit(1, 2);
    t.deposit(2, 3);
    t.buy(7, request_id(1, 1), 4);
    BOOST_TEST_REQUIRE(t.answers.size() == 1u);
    const BuyResult& live = t.answers[0];
    BOOST_TEST_REQUIRE(live.fills.size() == 2u);
    Result<Books> restored = Books::restore(Config{}, version_1_snapshot(t.books, t.answers, false));
    BOOST_TEST_REQUIRE(restored.ok(), restored.error().message);
    const BuyResult* old = restored->result(7, request_id(1, 1));
    BOOST_TEST_REQUIRE(old);
    BOOST_TEST(old->fills.empty());
    BuyResult without_lots = live;
    without_lots.fills.clear();
    BOOST_TEST((*old == without_lots));
    BOOST_TEST(restored->in_stock(salt) == t.books.in_stock(salt));
}

BOOST_AUTO_TEST_CASE(a_snapshot_whose_sessions_contradict_the_books_is_rejected) {
    Trader t;
    t.deposit(1, 10);
    t.buy(7, request_id(1, 1), 2);
    const auto good = t.books.snapshot();
    // Edits one field of the snapshot's first session and restores the result.
    const auto restore_edited = [&](auto edit) {
        std::vector<capnp::word> words(good.size() / sizeof(capnp::word));
        std::memcpy(words.data(), good.data(), good.size());
        capnp::FlatArrayMessageReader reader(kj::arrayPtr(words.data(), words.size()));
        capnp::MallocMessageBuilder message;
        message.setRoot(reader.getRoot<tp::market::schema::Snapshot>());
        edit(message.getRoot<tp::market::schema::Snapshot>().getSessions()[0]);
        return Books::restore(Config{}, to_bytes(message));
    };
    // The answer claims more than the buyer ever spent.
    Result<Books> more =
        restore_edited([](auto session) { session.getAnswers()[0].setAmount(99); });
    BOOST_TEST_REQUIRE(!more.ok());
    BOOST_TEST(more.error().code == ErrorCode::inconsistent);
    BOOST_TEST(more.error().message.find("buyer 7") != std::string::npos, more.error().message);
    // The session is filed under another buyer than its answer's.
    Result<Books> moved = restore_edited([](auto session) { session.setBuyer(8); });
    BOOST_TEST_REQUIRE(!moved.ok());
    BOOST_TEST(moved.error().message.find("session of buyer 8") != std::string::npos,
               moved.error().message);
    // A session without an answer.
    Result<Books> empty = restore_edited([](auto session) { session.initAnswers(0); });
    BOOST_TEST_REQUIRE(!empty.ok());
    BOOST_TEST(empty.error().message.find("without an answer") != std::string::npos,
               empty.error().message);
}

BOOST_AUTO_TEST_SUITE_END()
