// No process-relative time in the durable books: a queued buy recovered by a new trader is served
// within one batch window of the new trader's clock, wherever the two processes' clocks started.
#include <boost/test/unit_test.hpp>

#include <capnp/message.h>
#include <capnp/serialize.h>

#include <chrono>
#include <cstdint>
#include <vector>

#include "books.capnp.h"
#include "market_test_util.hpp"

using namespace market_test;
using tp::clock::VectorClock;

namespace {

constexpr ProductId salt = 0;
constexpr auto window = std::chrono::milliseconds(100);

Config windowed() {
    Config c;
    c.batch_window = window;
    return c;
}

TimePoint at_ns(std::int64_t ns) {
    return TimePoint(Duration(ns));
}

// The old trader, whose steady clock has run for 1000 s: a deposit and one buy left queued.
struct OldTrader {
    Books books{windowed()};
    std::vector<std::vector<std::byte>> journal;

    OldTrader() {
        record(books.deposit(1, 1, salt, 5, 10));
        record(
            books.submit_buy(2, 1, salt, 1, false, VectorClock{0, 0, 1}, at_ns(1'000'000'000'000)));
    }
    void record(const Step& step) {
        for (const Event& e : step.events) journal.push_back(encode(e));
    }
};

std::vector<std::byte> to_bytes(capnp::MessageBuilder& message) {
    const auto words = capnp::messageToFlatArray(message);
    const auto bytes = words.asBytes();
    std::vector<std::byte> out(bytes.size());
    for (std::size_t i = 0; i < bytes.size(); ++i) out[i] = std::byte{bytes[i]};
    return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(market_recovery_time)

// The defect: the queued event carried the old trader's deadline (10^12 ns + window), and a new
// trader whose clock reads 5 ns waited about 1000 s before serving the request.
BOOST_AUTO_TEST_CASE(recovered_queued_buy_is_served_within_one_window_of_the_new_clock) {
    OldTrader old;
    BOOST_TEST_REQUIRE(old.books.queued().size() == 1u);
    for (const bool from_snapshot : {false, true}) {
        BOOST_TEST_CONTEXT((from_snapshot ? "snapshot" : "journal")) {
            Result<Books> heir = from_snapshot ? Books::restore(windowed(), old.books.snapshot())
                                               : Books::replay(windowed(), {}, old.journal);
            BOOST_TEST_REQUIRE(heir.ok(), heir.error().message);
            BOOST_TEST_REQUIRE(heir->queued().size() == 1u);
            // Recovered: no deadline of its own yet; due for the new trader to give it one.
            BOOST_TEST(!heir->batch_deadline(heir->queued()[0].batch));
            BOOST_TEST((heir->next_deadline() == TimePoint::min()));
            // The new trader's clock reads 5 ns: one fresh window from there.
            heir->resume(at_ns(5));
            BOOST_TEST((heir->next_deadline() == at_ns(5) + window));
            BOOST_TEST(heir->poll(at_ns(5) + window - Duration(1)).empty());
            const auto served = outputs_of<BuyResult>(heir->poll(at_ns(5) + window));
            BOOST_TEST_REQUIRE(served.size() == 1u);
            BOOST_TEST(served[0].buyer == 2u);
            BOOST_TEST(served[0].filled());
            BOOST_TEST(heir->queued().empty());
            BOOST_TEST(!heir->next_deadline());
            require_sound(*heir);
        }
    }
}

BOOST_AUTO_TEST_CASE(resume_is_idempotent_and_keeps_the_traders_own_deadlines) {
    OldTrader old;
    Result<Books> heir = Books::replay(windowed(), {}, old.journal);
    BOOST_TEST_REQUIRE(heir.ok(), heir.error().message);
    heir->resume(at_ns(5));
    // A second resume (a later clock) does not push the deadline out.
    heir->resume(at_ns(5) + window / 2);
    BOOST_TEST((heir->next_deadline() == at_ns(5) + window));
}

BOOST_AUTO_TEST_CASE(with_a_zero_window_recovered_requests_are_served_at_once) {
    OldTrader old;
    Result<Books> heir = Books::replay(Config{}, {}, old.journal);
    BOOST_TEST_REQUIRE(heir.ok(), heir.error().message);
    heir->resume(at_ns(5));
    BOOST_TEST((heir->next_deadline() == at_ns(5)));
    BOOST_TEST(outputs_of<BuyResult>(heir->poll(at_ns(5))).size() == 1u);
    require_sound(*heir);
}

// A driver that never calls resume() is late by one window at most, never stalled: the first
// poll gives the recovered batch its window.
BOOST_AUTO_TEST_CASE(without_resume_the_first_poll_starts_the_fresh_window) {
    OldTrader old;
    Result<Books> heir = Books::replay(windowed(), {}, old.journal);
    BOOST_TEST_REQUIRE(heir.ok(), heir.error().message);
    BOOST_TEST(heir->poll(at_ns(5)).empty());
    BOOST_TEST((heir->next_deadline() == at_ns(5) + window));
    BOOST_TEST(outputs_of<BuyResult>(heir->poll(at_ns(5) + window)).size() == 1u);
}

// Why a fresh window rather than at once: a concurrent request retried to the new trader joins
// the recovered batch and is ordered with it by logical time, not by which trader heard it.
BOOST_AUTO_TEST_CASE(new_requests_join_the_recovered_batch_in_logical_order) {
    OldTrader old;  // buyer 2's request {0, 0, 1} is queued; stock 5
    Result<Books> heir = Books::replay(windowed(), {}, old.journal);
    BOOST_TEST_REQUIRE(heir.ok(), heir.error().message);
    heir->resume(at_ns(5));
    // Buyer 3's request, which happened before buyer 2's, reaches the new trader inside the window.
    (void)heir->submit_buy(3, 1, salt, 1, false, VectorClock{0, 0, 0}, at_ns(5) + window / 2);
    BOOST_TEST_REQUIRE(heir->queued().size() == 2u);
    BOOST_TEST(heir->queued()[0].batch == heir->queued()[1].batch);
    const auto served = outputs_of<BuyResult>(heir->poll(at_ns(5) + window));
    BOOST_TEST_REQUIRE(served.size() == 2u);
    BOOST_TEST(served[0].buyer == 3u);
    BOOST_TEST(served[1].buyer == 2u);
    // After the window, a new request opens a new batch with a later number.
    (void)heir->submit_buy(3, 2, salt, 1, false, VectorClock{0, 0, 1, 1}, at_ns(5) + window * 2);
    BOOST_TEST_REQUIRE(heir->queued().size() == 1u);
    BOOST_TEST(heir->queued()[0].batch > old.books.queued()[0].batch);
    BOOST_TEST((heir->next_deadline() == at_ns(5) + window * 3));
}

// The durable bytes (events and snapshots) are the same whatever the trader's clock reads.
BOOST_AUTO_TEST_CASE(durable_bytes_do_not_depend_on_the_clock) {
    const auto run = [](TimePoint origin, std::vector<std::vector<std::byte>>& journal) {
        Books books(windowed());
        const auto record = [&](const Step& step) {
            for (const Event& e : step.events) journal.push_back(encode(e));
        };
        record(books.deposit(1, 1, salt, 5, 10));
        record(books.submit_buy(2, 1, salt, 1, false, VectorClock{0, 0, 1}, origin));
        record(
            books.submit_buy(3, 1, salt, 1, false, VectorClock{0, 0, 0, 1}, origin + window / 2));
        record(books.poll(origin + window));
        record(books.submit_buy(2, 2, salt, 1, false, VectorClock{0, 0, 2}, origin + window * 2));
        return books.snapshot();
    };
    std::vector<std::vector<std::byte>> early, late;
    const auto a = run(at_ns(0), early);
    const auto b = run(at_ns(1'000'000'000'000), late);
    BOOST_TEST((a == b));
    BOOST_TEST_REQUIRE(early.size() == late.size());
    for (std::size_t i = 0; i < early.size(); ++i) BOOST_TEST((early[i] == late[i]), "event " << i);
}

// A journal written before the field was retired: its BuyQueued carries batchCloseNsDeprecated
// (the dead process's clock) and no batch number. It replays, and the value is ignored.
BOOST_AUTO_TEST_CASE(old_format_queued_event_with_the_deprecated_deadline_still_replays) {
    capnp::MallocMessageBuilder message;
    auto q = message.initRoot<tp::market::schema::Event>().initBuyQueued();
    q.setBuyer(2);
    q.setRequest(1);
    q.setProduct(salt);
    q.setQuantity(1);
    auto clock = q.initClock(1);
    clock[0].setPeer(2);
    clock[0].setCounter(1);
    q.setBatchCloseNsDeprecated(1'000'000'000'000 + 100'000'000);
    const auto old_event = to_bytes(message);

    Result<Event> decoded = decode_event(old_event);
    BOOST_TEST_REQUIRE(decoded.ok(), decoded.error().message);
    const auto* queued = std::get_if<BuyQueued>(&*decoded);
    BOOST_TEST_REQUIRE(queued);
    BOOST_TEST(queued->batch == 0u);
    BOOST_TEST(queued->batch_close_ns_deprecated == 0);  // not read: it is another process's time

    const std::vector<std::vector<std::byte>> journal = {encode(Deposited{1, 1, salt, 5, 10}),
                                                         old_event};
    Result<Books> heir = Books::replay(windowed(), {}, journal);
    BOOST_TEST_REQUIRE(heir.ok(), heir.error().message);
    BOOST_TEST_REQUIRE(heir->queued().size() == 1u);
    heir->resume(at_ns(5));
    BOOST_TEST((heir->next_deadline() == at_ns(5) + window));
    BOOST_TEST(outputs_of<BuyResult>(heir->poll(at_ns(5) + window)).size() == 1u);
    // New batches are numbered above the old journal's batch 0.
    (void)heir->submit_buy(3, 1, salt, 1, false, VectorClock{0, 0, 0, 1}, at_ns(5) + window * 2);
    BOOST_TEST_REQUIRE(heir->queued().size() == 1u);
    BOOST_TEST(heir->queued()[0].batch > 0u);
    require_sound(*heir);
}

BOOST_AUTO_TEST_CASE(snapshot_batch_numbers_are_checked) {
    OldTrader old;
    auto snapshot = old.books.snapshot();
    // A snapshot whose next batch number is not above a queued request's batch is refused.
    capnp::ReaderOptions options;
    std::vector<capnp::word> words(snapshot.size() / sizeof(capnp::word));
    std::memcpy(words.data(), snapshot.data(), snapshot.size());
    capnp::FlatArrayMessageReader reader(kj::arrayPtr(words.data(), words.size()), options);
    capnp::MallocMessageBuilder copy;
    copy.setRoot(reader.getRoot<tp::market::schema::Snapshot>());
    auto root = copy.getRoot<tp::market::schema::Snapshot>();
    BOOST_TEST_REQUIRE(root.getQueued().size() == 1u);
    root.setNextBatch(root.getQueued()[0].getBatch());
    Result<Books> bad = Books::restore(windowed(), to_bytes(copy));
    BOOST_TEST_REQUIRE(!bad.ok());
    BOOST_TEST(bad.error().message.find("next batch") != std::string::npos, bad.error().message);
    // An old snapshot without the field (0) restores, numbering batches above the queued ones.
    root.setNextBatch(0);
    Result<Books> legacy = Books::restore(windowed(), to_bytes(copy));
    BOOST_TEST_REQUIRE(legacy.ok(), legacy.error().message);
    BOOST_TEST((*legacy == old.books));
}

BOOST_AUTO_TEST_SUITE_END()
