// Encoding of events and snapshots: exact round trips, and clear errors for corrupt bytes.
#include <boost/test/unit_test.hpp>

#include <limits>
#include <random>
#include <string>

#include "market_test_util.hpp"

using namespace market_test;
using tp::clock::VectorClock;

namespace {

std::vector<Event> every_kind() {
    constexpr Money max = std::numeric_limits<Money>::max();
    return {
        Deposited{1, 77, 2, 5, 10},
        Deposited{std::numeric_limits<PeerId>::max(), std::numeric_limits<LotId>::max(),
                  std::numeric_limits<ProductId>::max(), std::numeric_limits<Quantity>::max(), 0},
        BuyQueued{3, 9, 1, 4, true, VectorClock{1, 0, 7, 2}, 1234},
        BuyQueued{4, 1, 0, 1, false, VectorClock{}, 0},
        BuyFilled{3, 9, 1, 4, {Fill{1, 77, 2, 20, 2, 1}, Fill{2, 5, 2, 40, 4, 2}}},
        BuyFilled{5, std::numeric_limits<RequestId>::max(), 2, 1, {Fill{0, 0, 1, max, max, 3}}},
        BuyRefused{3, 10, 2, 1, RefuseReason::no_seller},
        BuyRefused{3, 11, 2, 9, RefuseReason::insufficient_stock},
        BuyRefused{3, 12, 2, 0, RefuseReason::invalid_request},
        BuyRefused{3, 13, 2, 5, RefuseReason::amount_overflow},
        PaymentAcked{42},
        MemberJoined{Member{7, true, true, false, "host.example", 9007}},
        MemberJoined{Member{std::numeric_limits<PeerId>::max(), false, true, true,
                            std::string(max_host_length, 'h'), 65535}},
        MemberJoined{Member{8, true, false, false, {}, 0}},
        MemberLeft{7, true},
        MemberLeft{8, false},
        VoterChanged{7, true},
        VoterChanged{7, false},
    };
}

std::vector<std::byte> snapshot_of_a_busy_market() {
    Config c;
    c.batch_window = std::chrono::milliseconds(10);
    Books books(c);
    (void)books.deposit(1, 1, 0, 5, 10);
    (void)books.deposit(2, 1, 0, 5, 12);
    (void)books.submit_buy(3, 1, 0, 7, false, VectorClock{0, 0, 0, 1}, at_ms(0));
    (void)books.submit_buy(4, 1, 2, 1, false, VectorClock{0, 0, 0, 0, 1}, at_ms(0));
    (void)books.poll(at_ms(10));
    (void)books.ack_payment(1);
    (void)books.submit_buy(3, 2, 0, 1, false, VectorClock{0, 0, 0, 2}, at_ms(20));
    return books.snapshot();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(market_codec)

BOOST_AUTO_TEST_CASE(every_event_kind_round_trips) {
    for (const Event& e : every_kind()) {
        BOOST_TEST_CONTEXT(event_name(e)) {
            // Encode, decode, compare.
            const auto bytes = encode(e);
            BOOST_TEST(bytes.size() % 8 == 0u);
            Result<Event> back = decode_event(bytes);
            BOOST_TEST_REQUIRE(back.ok(), back.error().message);
            BOOST_TEST((*back == e));
            // Encoding into a reused buffer gives the same bytes.
            std::vector<std::byte> reused(3, std::byte{0x55});
            encode(e, reused);
            BOOST_TEST((reused == bytes));
        }
    }
}

BOOST_AUTO_TEST_CASE(unaligned_input_decodes) {
    const Event e = BuyFilled{3, 9, 1, 4, {Fill{1, 77, 2, 20, 2, 1}}};
    const auto bytes = encode(e);
    // The same bytes at an odd address.
    std::vector<std::byte> shifted(bytes.size() + 1);
    std::copy(bytes.begin(), bytes.end(), shifted.begin() + 1);
    Result<Event> back = decode_event(std::span(shifted).subspan(1));
    BOOST_TEST_REQUIRE(back.ok(), back.error().message);
    BOOST_TEST((*back == e));
}

BOOST_AUTO_TEST_CASE(malformed_event_bytes_are_named_errors) {
    const auto bytes = encode(BuyFilled{3, 9, 1, 4, {Fill{1, 77, 2, 20, 2, 1}}});
    // Empty input.
    Result<Event> empty = decode_event({});
    BOOST_TEST_REQUIRE(!empty.ok());
    BOOST_TEST(empty.error().message.find("empty") != std::string::npos);
    // A length that is not whole words.
    Result<Event> odd = decode_event(std::span(bytes).first(bytes.size() - 3));
    BOOST_TEST_REQUIRE(!odd.ok());
    BOOST_TEST(odd.error().code == ErrorCode::malformed);
    BOOST_TEST(odd.error().message.find("8-byte words") != std::string::npos);
    // Every truncation at a word boundary is an error.
    for (std::size_t n = 8; n < bytes.size(); n += 8)
        BOOST_TEST(!decode_event(std::span(bytes).first(n)).ok(), "prefix of " << n << " bytes");
    // Trailing garbage after the message.
    auto longer = bytes;
    longer.resize(bytes.size() + 8, std::byte{0x11});
    Result<Event> trailing = decode_event(longer);
    BOOST_TEST_REQUIRE(!trailing.ok());
    BOOST_TEST(trailing.error().message.find("trailing") != std::string::npos);
    // An unknown union member (the Event's discriminant is its first data word, byte 16).
    auto unknown = encode(PaymentAcked{1});
    unknown[16] = std::byte{9};
    Result<Event> kind = decode_event(unknown);
    BOOST_TEST_REQUIRE(!kind.ok());
    BOOST_TEST(kind.error().message.find("unknown event kind 9") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(out_of_range_enum_is_rejected) {
    // Find the reason's byte by encoding two reasons and comparing, then store a value the schema
    // does not have.
    auto a = encode(BuyRefused{3, 1, 2, 1, RefuseReason::no_seller});
    const auto b = encode(BuyRefused{3, 1, 2, 1, RefuseReason::invalid_request});
    BOOST_TEST_REQUIRE(a.size() == b.size());
    std::size_t at = a.size();
    for (std::size_t i = 0; i < a.size(); ++i)
        if (a[i] != b[i]) at = i;
    BOOST_TEST_REQUIRE(at < a.size());
    a[at] = std::byte{7};
    Result<Event> e = decode_event(a);
    BOOST_TEST_REQUIRE(!e.ok());
    BOOST_TEST(e.error().code == ErrorCode::invalid);
    BOOST_TEST(e.error().message.find("refuse reason 7") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(random_corruption_never_crashes) {
    std::mt19937_64 rng(11);
    for (const Event& e : every_kind()) {
        const auto clean = encode(e);
        // Every single-bit flip: an error, or a well-formed event (the schema has no checksum; the
        // journal's CRC catches those).
        for (std::size_t bit = 0; bit < clean.size() * 8; ++bit) {
            auto bytes = clean;
            bytes[bit / 8] ^= std::byte(1u << (bit % 8));
            Result<Event> r = decode_event(bytes);
            if (!r.ok()) BOOST_TEST(!r.error().message.empty());
        }
        // Random garbage of the same length.
        for (int i = 0; i < 200; ++i) {
            auto bytes = clean;
            for (auto& b : bytes) b = std::byte(rng() & 0xff);
            (void)decode_event(bytes);
        }
    }
}

BOOST_AUTO_TEST_CASE(snapshot_restores_exactly_and_is_deterministic) {
    const auto bytes = snapshot_of_a_busy_market();
    Config c;
    c.batch_window = std::chrono::milliseconds(10);
    Result<Books> books = Books::restore(c, bytes);
    BOOST_TEST_REQUIRE(books.ok(), books.error().message);
    // The restored books hold the queued request, the pending payments and the buyers' sessions.
    BOOST_TEST(books->queued().size() == 1u);
    BOOST_TEST(books->payments().pending_count() == 1u);
    BOOST_TEST(books->sessions_count() == 2u);
    BOOST_TEST(books->result(3, 1));
    BOOST_TEST(books->result(4, 1));
    BOOST_TEST((books->snapshot() == bytes));
    require_sound(*books);
}

BOOST_AUTO_TEST_CASE(corrupt_snapshots_are_rejected) {
    const auto bytes = snapshot_of_a_busy_market();
    // Truncated.
    Result<Books> cut = Books::restore(Config{}, std::span(bytes).first(bytes.size() / 2 / 8 * 8));
    BOOST_TEST_REQUIRE(!cut.ok());
    BOOST_TEST(cut.error().message.find("market snapshot") != std::string::npos);
    // A version this code does not know (the first data field, at byte 16).
    auto version = bytes;
    version[16] = std::byte{0x7f};
    Result<Books> v = Books::restore(Config{}, version);
    BOOST_TEST_REQUIRE(!v.ok());
    BOOST_TEST(v.error().message.find("version") != std::string::npos);
    // Every single-byte change: an error, or books that pass every invariant; and the changes
    // to the numbers are caught as inconsistent.
    int inconsistent = 0;
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        auto bad = bytes;
        bad[i] ^= std::byte{0x01};
        Result<Books> r = Books::restore(Config{}, bad);
        if (r.ok()) {
            require_sound(*r);
        } else if (r.error().code == ErrorCode::inconsistent) {
            ++inconsistent;
        }
    }
    BOOST_TEST(inconsistent > 10);
}

BOOST_AUTO_TEST_CASE(replay_names_the_failing_event) {
    Books books;
    const std::vector<std::vector<std::byte>> journal = {
        encode(Deposited{1, 1, 0, 3, 10}), encode(PaymentAcked{5}),  // never issued
    };
    Result<Books> r = Books::replay(Config{}, {}, journal);
    BOOST_TEST_REQUIRE(!r.ok());
    BOOST_TEST(r.error().message.find("event 1") != std::string::npos);
    BOOST_TEST(r.error().code == ErrorCode::inconsistent);
}

BOOST_AUTO_TEST_SUITE_END()
