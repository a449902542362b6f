// Decoding hostile or broken bytes: every case asserts the specific error, not just "no crash".
// Messages are crafted with the private Cap'n Proto schema (only this module's tests see it) so
// that each one breaks exactly one rule.
#include <boost/test/unit_test.hpp>

#include <array>
#include <span>

#include <capnp/any.h>
#include <capnp/message.h>
#include <capnp/serialize.h>

#include <cstring>
#include <string>

#include "capnp_bytes.hpp"
#include "crafting.hpp"
#include "samples.hpp"
#include "schema.hpp"
#include "tp/wire/codec.hpp"

using namespace tp::wire;
namespace s = tp::wire::schema;

namespace {

using tp::wire::test::any;
using tp::wire::test::expect_error;
using tp::wire::test::mentions;
using tp::wire::test::set_clock;
using tp::wire::test::set_clock_bytes;
using tp::wire::test::to_bytes;
using tp::wire::test::valid_root;

void put_le32(std::vector<std::byte>& bytes, std::size_t at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) bytes[at + i] = static_cast<std::byte>(v >> (8 * i));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(wire_decode_hostile)

BOOST_AUTO_TEST_CASE(crafted_valid_message_decodes) {
    // The crafting helper itself yields a good message: the failures below come from the one
    // rule each breaks.
    capnp::MallocMessageBuilder m;
    valid_root(m).getBody().initBuy().setQuantity(2);
    auto r = decode(to_bytes(m));
    BOOST_TEST_REQUIRE(r.has_value(), (r ? "" : r.error().message()));
    BOOST_TEST(std::get<Buy>(r.value().body).quantity == 2u);
    BOOST_TEST(r.value().clock.get(2) == 5u);
}

BOOST_AUTO_TEST_CASE(encoder_layout_matches_the_schema) {
    // The encoder packs the clock and writes fills directly into list memory; the generated
    // reader must see exactly the same values.
    const auto env =
        samples::envelope(samples::buy_result_3_fills(), samples::dense_clock(5, 1000));
    const auto bytes = encode(env);
    kj::Array<capnp::word> words = kj::heapArray<capnp::word>(bytes.size() / 8);
    std::memcpy(words.begin(), bytes.data(), bytes.size());
    capnp::FlatArrayMessageReader message(words);
    const auto root = message.getRoot<s::Envelope>();
    BOOST_TEST(!root.hasClockListDeprecated());
    const auto clock = root.getClock();
    std::array<tp::clock::Entry, 8> got{};
    const auto unpacked = packed::read(std::as_bytes(std::span(clock.begin(), clock.size())),
                                       got.size(), max_clock_counter, got.data());
    BOOST_TEST_REQUIRE(!unpacked.fault.has_value());
    BOOST_TEST_REQUIRE(unpacked.count == 5u);
    for (unsigned i = 0; i < 5; ++i) {
        BOOST_TEST(got[i].peer == i);
        BOOST_TEST(got[i].counter == 1000u + i);
    }
    // Two bytes an entry here (a gap of 0, a two-byte counter): a fifth of version 1's list.
    BOOST_TEST(clock.size() == 5u * 3u);
    const auto fills = root.getBody().getBuyResult().getFills();
    const auto& want = std::get<BuyResult>(env.body).fills;
    BOOST_TEST_REQUIRE(fills.size() == want.size());
    for (unsigned i = 0; i < fills.size(); ++i) {
        BOOST_TEST(fills[i].getSeller() == want[i].seller);
        BOOST_TEST(fills[i].getLotId() == want[i].lot_id);
        BOOST_TEST(fills[i].getQuantity() == want[i].quantity);
        BOOST_TEST(fills[i].getAmount() == want[i].amount);
    }
}

BOOST_AUTO_TEST_CASE(fills_from_a_newer_schema_decode) {
    // A future Fill with a pointer field: the decoder falls back to the generated accessors.
    capnp::MallocMessageBuilder m;
    auto r = valid_root(m).getBody().initBuyResult();
    auto fills = any(r).getPointerSection()[0].initAsListOfAnyStruct(3, 1, 2);
    for (unsigned i = 0; i < 2; ++i) {
        auto data = fills[i].getDataSection();
        data[0] = static_cast<kj::byte>(20 + i);  // seller
        data[4] = 3;                              // quantity
        data[8] = 9;                              // lotId
        data[16] = 50;                            // amount
        fills[i].getPointerSection()[0].setAs<capnp::Text>("future");
    }
    auto decoded = decode(to_bytes(m));
    BOOST_TEST_REQUIRE(decoded.has_value(), (decoded ? "" : decoded.error().message()));
    const auto& got = std::get<BuyResult>(decoded.value().body).fills;
    BOOST_TEST_REQUIRE(got.size() == 2u);
    BOOST_TEST((got[1] == Fill{21, 9, 3, 50}));
}

BOOST_AUTO_TEST_CASE(a_version_1_clock_list_is_refused) {
    // Version 2 packs the clock; the retired list in a version-2 envelope is a mistake or a
    // forgery, never read.
    capnp::MallocMessageBuilder m;
    auto root = valid_root(m);
    root.getBody().initOk();
    auto list = root.initClockListDeprecated(1);
    list[0].setPeer(1);
    list[0].setCounter(1);
    BOOST_TEST(mentions(expect_error(to_bytes(m), DecodeErrc::bad_clock), "clockListDeprecated"));
}

BOOST_AUTO_TEST_CASE(too_short) {
    expect_error({}, DecodeErrc::too_short);
    expect_error(std::vector<std::byte>(8), DecodeErrc::too_short);
    expect_error(std::vector<std::byte>(15), DecodeErrc::too_short);
}

BOOST_AUTO_TEST_CASE(too_large) {
    // Even a well-formed message is refused beyond one datagram.
    std::vector<std::byte> big(max_datagram_size + 5);
    put_le32(big, 4, static_cast<std::uint32_t>(big.size() / 8 - 1));
    expect_error(big, DecodeErrc::too_large);
}

BOOST_AUTO_TEST_CASE(size_not_multiple_of_a_word) {
    auto bytes = encode(samples::envelope(samples::buy()));
    bytes.push_back(std::byte{0});
    expect_error(bytes, DecodeErrc::not_word_aligned_size);
}

BOOST_AUTO_TEST_CASE(every_truncation_is_an_error) {
    for (const auto& [name, env] : samples::all()) {
        const auto bytes = encode(env);
        for (std::size_t n = 0; n < bytes.size(); ++n) {
            const std::vector<std::byte> cut(bytes.begin(), bytes.begin() + n);
            auto r = decode(cut);
            BOOST_TEST_REQUIRE(!r.has_value(), name << " truncated to " << n << " decoded");
            const auto want = n < 16       ? DecodeErrc::too_short
                              : n % 8 != 0 ? DecodeErrc::not_word_aligned_size
                                           : DecodeErrc::bad_framing;
            BOOST_TEST(r.error().code == want, name << " at " << n << ": " << r.error().message());
        }
    }
}

BOOST_AUTO_TEST_CASE(segment_table_abuse) {
    const auto good = encode(samples::envelope(samples::buy()));

    auto huge_count = good;
    put_le32(huge_count, 0, 0xFFFFFFFFu);  // 2^32 segments
    BOOST_TEST(mentions(expect_error(huge_count, DecodeErrc::bad_framing), "segments"));

    auto nine = std::vector<std::byte>(good.size() + 64);
    put_le32(nine, 0, 8);  // 9 segments: over max_segments
    expect_error(nine, DecodeErrc::bad_framing);

    auto oversized_segment = good;
    put_le32(oversized_segment, 4, 0x7FFFFFFFu);
    BOOST_TEST(mentions(expect_error(oversized_segment, DecodeErrc::bad_framing), "claims"));

    auto trailing = good;
    trailing.resize(good.size() + 16);
    BOOST_TEST(mentions(expect_error(trailing, DecodeErrc::bad_framing), "trailing"));

    auto empty_segment = good;
    put_le32(empty_segment, 4, 0);
    BOOST_TEST(mentions(expect_error(empty_segment, DecodeErrc::bad_framing), "empty"));
}

BOOST_AUTO_TEST_CASE(multi_segment_message_from_another_writer_decodes) {
    // A writer with tiny segments splits the message and links the parts with far pointers.
    capnp::MallocMessageBuilder m(1, capnp::AllocationStrategy::FIXED_SIZE);
    auto root = valid_root(m);
    auto r = root.getBody().initBuyResult();
    r.setRequestId(9);
    r.initFills(2)[1].setAmount(77);
    r.setDetailDeprecated("split");  // an older writer's text: one more segment, never read
    BOOST_TEST_REQUIRE(m.getSegmentsForOutput().size() > 1u);
    BOOST_TEST_REQUIRE(m.getSegmentsForOutput().size() <= max_segments);
    auto decoded = decode(to_bytes(m));
    BOOST_TEST_REQUIRE(decoded.has_value(), (decoded ? "" : decoded.error().message()));
    const auto& result = std::get<BuyResult>(decoded.value().body);
    BOOST_TEST(result.request_id == 9u);
    BOOST_TEST(result.fills[1].amount == 77);
}

BOOST_AUTO_TEST_CASE(wrong_version) {
    for (std::uint16_t v : {0, 3, 0xFFFF}) {
        capnp::MallocMessageBuilder m;
        valid_root(m).setVersion(v);
        BOOST_TEST(mentions(expect_error(to_bytes(m), DecodeErrc::wrong_version),
                            "version: " + std::to_string(v)));
    }
}

BOOST_AUTO_TEST_CASE(unknown_union_tag) {
    // A newer peer's kind: the discriminant lives in the envelope's data section after version.
    capnp::MallocMessageBuilder m;
    auto root = valid_root(m);
    root.getBody().initHeartbeat();
    auto data = any(root).getDataSection();
    BOOST_TEST_REQUIRE(data[18] == static_cast<kj::byte>(s::Envelope::Body::HEARTBEAT));
    data[18] = 77;
    BOOST_TEST(mentions(expect_error(to_bytes(m), DecodeErrc::unknown_kind), "tag 77"));
}

BOOST_AUTO_TEST_CASE(fills_list_too_long) {
    capnp::MallocMessageBuilder m;
    valid_root(m).getBody().initBuyResult().initFills(max_fills + 1);
    BOOST_TEST(
        mentions(expect_error(to_bytes(m), DecodeErrc::list_too_long), "body.buyResult.fills"));
}

BOOST_AUTO_TEST_CASE(clock_list_too_long_without_sending_the_data) {
    // A list of empty elements costs no bytes however long it claims to be; it still counts
    // (version 1's clock list; version 2's packed clock is bytes that were sent).
    capnp::MallocMessageBuilder m;
    auto root = valid_root(m);
    root.setVersion(1);
    root.disownClock();
    root.getBody().initElection();
    any(root).getPointerSection()[0].initAs<capnp::List<capnp::Void>>(max_clock_entries + 1);
    const auto bytes = to_bytes(m);
    BOOST_TEST(bytes.size() < 100u);
    BOOST_TEST(mentions(expect_error(bytes, DecodeErrc::list_too_long), "clock"));
}

BOOST_AUTO_TEST_CASE(traversal_limit_stops_amplification) {
    // Same trick at a size one datagram could never hold: the reader's traversal limit fires.
    capnp::MallocMessageBuilder m;
    auto root = valid_root(m);
    root.setVersion(1);
    root.disownClock();
    root.getBody().initElection();
    any(root).getPointerSection()[0].initAs<capnp::List<capnp::Void>>(1u << 20);
    BOOST_TEST(mentions(expect_error(to_bytes(m), DecodeErrc::traversal_limit), "clock"));

    // And a tight limit refuses an honest message that reads more than it allows.
    const auto honest = encode(samples::envelope(samples::buy_result_3_fills()));
    expect_error(honest, DecodeErrc::traversal_limit, DecodeLimits{8, 8});
}

BOOST_AUTO_TEST_CASE(nesting_limit) {
    // root -> envelope -> body -> fills -> fill: a limit of 3 is one too few for a BuyResult
    // with fills...
    const auto bytes = encode(samples::envelope(samples::buy_result_3_fills()));
    BOOST_TEST(mentions(expect_error(bytes, DecodeErrc::nesting_limit, DecodeLimits{8192, 3}),
                        "body.buyResult.fills"));
    // ...and 4 is enough.
    BOOST_TEST(decode(bytes, DecodeLimits{8192, 4}).has_value());
}

// BuyResult.detail is retired (detailDeprecated @6): whatever an older or hostile writer puts there
// is never read, and counts only against the datagram's byte budget.
BOOST_AUTO_TEST_CASE(a_retired_detail_is_never_read_but_counts_against_the_budget) {
    capnp::MallocMessageBuilder m;
    auto r = valid_root(m).getBody().initBuyResult();
    r.setRequestId(5);
    r.setDetailDeprecated(std::string(300, 'y'));  // longer than the old 256-byte limit
    const auto bytes = to_bytes(m);
    auto decoded = decode(bytes);
    BOOST_TEST_REQUIRE(decoded.has_value(), (decoded ? "" : decoded.error().message()));
    BOOST_TEST(std::get<BuyResult>(decoded.value().body).request_id == 5u);
    BOOST_TEST(encode(decoded.value()).size() + 304 == bytes.size());  // the text is not kept

    // A market's budget holds the largest message that has no such text, and no more.
    const auto largest = [](bool with_text) {
        capnp::MallocMessageBuilder big;
        auto root = big.initRoot<s::Envelope>();
        root.setSender(1);
        root.setVersion(protocol_version);
        std::vector<std::pair<std::uint32_t, std::uint64_t>> clock;
        for (unsigned i = 0; i < 6; ++i) clock.emplace_back(i + 1, max_clock_counter);
        set_clock(root, clock);
        auto full = root.getBody().initBuyResult();
        full.initFills(max_fills);
        if (with_text) full.setDetailDeprecated("y");
        return to_bytes(big);
    };
    BOOST_TEST(decode(largest(false), limits_for_members(6)).has_value());
    BOOST_TEST(mentions(expect_error(largest(true), DecodeErrc::too_large, limits_for_members(6)),
                        "limit"));
}

BOOST_AUTO_TEST_CASE(a_coordinator_s_epoch_must_be_the_envelope_s) {
    // valid_root's envelope is epoch 3.
    capnp::MallocMessageBuilder m;
    auto c = valid_root(m).getBody().initCoordinator();
    c.setLeader(1);
    c.setEpoch(4);
    BOOST_TEST(mentions(expect_error(to_bytes(m), DecodeErrc::invalid_value),
                        "body.coordinator.epoch: 4 differs from the envelope's epoch 3"));
    c.setEpoch(3);
    auto r = decode(to_bytes(m));
    BOOST_TEST_REQUIRE(r.has_value(), (r ? "" : r.error().message()));
    BOOST_TEST((std::get<Coordinator>(r.value().body) == Coordinator{1, 3}));
}

BOOST_AUTO_TEST_CASE(election_messages_take_their_epoch_from_the_envelope) {
    // Election, Ok and Heartbeat have no epoch field: the envelope's is theirs, and a heartbeat's
    // leader is its sender (valid_root: sender 1, epoch 3).
    capnp::MallocMessageBuilder m;
    auto root = valid_root(m);
    root.getBody().initElection();
    BOOST_TEST((std::get<Election>(decode(to_bytes(m)).value().body) == Election{3}));
    root.getBody().initOk();
    BOOST_TEST((std::get<Ok>(decode(to_bytes(m)).value().body) == Ok{3}));
    root.getBody().initHeartbeat();
    BOOST_TEST((std::get<Heartbeat>(decode(to_bytes(m)).value().body) == Heartbeat{1, 3}));
}

BOOST_AUTO_TEST_CASE(bad_clocks) {
    // The packed form cannot say "unsorted" or "duplicate" (gaps are never negative); what it can
    // get wrong is each varint and each value.
    struct Case {
        const char* name;
        std::vector<std::uint8_t> bytes;
        const char* says;
    };
    const Case cases[] = {
        {"zero counter", {1, 1, 2, 0}, "clock[1]: peer 4 has counter 0"},
        {"cut short in a peer", {1, 1, 0x82}, "clock[1]: bad peer varint at byte 2 of 3"},
        {"cut short in a counter", {1, 1, 2}, "clock[1]: peer 4: bad counter varint at byte 3"},
        {"needless trailing byte", {0x81, 0x00, 1}, "clock[0]: bad peer varint at byte 0"},
        {"peer varint of six bytes", {0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 1},
         "clock[0]: bad peer varint"},
        {"peer beyond 32 bits", {0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 1, 0, 1},
         "clock[1]: peer 4294967296 is beyond 32 bits"},
        {"counter varint longer than the limit needs",
         {1, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}, "clock[0]: peer 1: bad counter"},
    };
    for (const auto& c : cases) {
        BOOST_TEST_CONTEXT(c.name) {
            capnp::MallocMessageBuilder m;
            auto root = valid_root(m);
            root.getBody().initHeartbeat();
            set_clock_bytes(root, c.bytes);
            BOOST_TEST(mentions(expect_error(to_bytes(m), DecodeErrc::bad_clock), c.says));
        }
    }
}

BOOST_AUTO_TEST_CASE(version_1_clock_lists_are_still_checked) {
    // Older builds send the clock as a list: read, and held to the same rules.
    struct Case {
        const char* name;
        std::vector<std::pair<std::uint32_t, std::uint64_t>> entries;
        const char* says;
    };
    const Case cases[] = {
        {"unsorted", {{5, 1}, {2, 1}}, "peer 2 after peer 5"},
        {"duplicate", {{2, 1}, {2, 3}}, "peer 2 after peer 2"},
        {"zero counter", {{1, 1}, {4, 0}}, "clock[1]: peer 4 has counter 0"},
        {"counter beyond the limit", {{1, max_clock_counter + 1}}, "clock[0]: peer 1 has counter"},
    };
    for (const auto& c : cases) {
        BOOST_TEST_CONTEXT(c.name) {
            capnp::MallocMessageBuilder m;
            auto root = valid_root(m);
            root.setVersion(1);
            root.disownClock();
            root.getBody().initHeartbeat();
            auto clock = root.initClockListDeprecated(static_cast<unsigned>(c.entries.size()));
            for (unsigned i = 0; i < c.entries.size(); ++i) {
                clock[i].setPeer(c.entries[i].first);
                clock[i].setCounter(c.entries[i].second);
            }
            BOOST_TEST(mentions(expect_error(to_bytes(m), DecodeErrc::bad_clock), c.says));
        }
    }
    // A well-formed one decodes; a packed clock beside the version 1 list is refused.
    capnp::MallocMessageBuilder m;
    auto root = valid_root(m);
    root.setVersion(1);
    root.disownClock();
    root.getBody().initHeartbeat();
    auto clock = root.initClockListDeprecated(2);
    clock[0].setPeer(3);
    clock[0].setCounter(7);
    clock[1].setPeer(9);
    clock[1].setCounter(1);
    const auto r = decode(to_bytes(m));
    BOOST_TEST_REQUIRE(r.has_value(), (r ? "" : r.error().message()));
    BOOST_TEST(r.value().clock.get(3) == 7u);
    BOOST_TEST(r.value().clock.get(9) == 1u);
    set_clock(root, {{1, 1}});
    BOOST_TEST(mentions(expect_error(to_bytes(m), DecodeErrc::bad_clock),
                        "a packed clock in a version-1 envelope"));
}

// Issue 12: a clock of 1,500 or 4,085 invented peers made every later message larger, then too
// large to encode, and stopped trading. A peer's limits allow members only.
BOOST_AUTO_TEST_CASE(a_clock_larger_than_the_market_is_refused) {
    capnp::MallocMessageBuilder m;
    auto root = valid_root(m);
    std::vector<std::pair<std::uint32_t, std::uint64_t>> clock;
    for (unsigned i = 0; i < 1500; ++i) clock.emplace_back(i + 1, max_clock_counter);
    set_clock(root, clock);
    root.getBody().initHeartbeat();
    const auto bytes = to_bytes(m);
    // Within the schema's own limit it decodes; a six-peer market refuses it by size first ...
    BOOST_TEST(decode(bytes).has_value());
    BOOST_TEST(mentions(expect_error(bytes, DecodeErrc::too_large, limits_for_members(6)),
                        "limit"));
    // ... and by entry count when the budget is lifted.
    DecodeLimits count_only = limits_for_members(6);
    count_only.max_bytes = max_datagram_size;
    BOOST_TEST(mentions(expect_error(bytes, DecodeErrc::list_too_long, count_only),
                        "clock: 12000 bytes, more than 6 entries take"));
    // Few bytes, but one entry too many: refused as the seventh is read.
    capnp::MallocMessageBuilder seven;
    auto small = valid_root(seven);
    set_clock(small, {{1, 1}, {2, 1}, {3, 1}, {4, 1}, {5, 1}, {6, 1}, {7, 1}});
    small.getBody().initHeartbeat();
    BOOST_TEST(mentions(expect_error(to_bytes(seven), DecodeErrc::list_too_long, count_only),
                        "clock: more than 6 entries"));
}

BOOST_AUTO_TEST_CASE(the_budget_admits_the_largest_legal_message) {
    // A BuyResult with every fill, with a full six-peer clock at the largest counter, fits the
    // budget of a six-peer market; one more entry does not fit its count.
    Envelope e;
    e.sender = 1;
    e.receiver = 2;
    for (PeerId p = 1; p <= 6; ++p) e.clock.set(p, max_clock_counter);
    BuyResult r;
    r.fills.assign(max_fills, Fill{1, 2, 3, 4});
    e.body = r;
    const auto bytes = encode(e);
    BOOST_TEST(decode(bytes, limits_for_members(6)).has_value());
    // A seventh entry: over the byte budget with that body, over the entry count with any.
    e.clock.set(7, 1);
    expect_error(encode(e), DecodeErrc::too_large, limits_for_members(6));
    e.body = Heartbeat{1, 0};
    expect_error(encode(e), DecodeErrc::list_too_long, limits_for_members(6));
}

BOOST_AUTO_TEST_CASE(a_clock_counter_beyond_the_limit_is_refused) {
    capnp::MallocMessageBuilder m;
    auto root = valid_root(m);
    set_clock(root, {{1, 4}, {2, max_clock_counter + 1}});
    root.getBody().initHeartbeat();
    BOOST_TEST(mentions(expect_error(to_bytes(m), DecodeErrc::bad_clock), "clock[1]: peer 2"));
    // The encoder refuses to write what the decoder would refuse.
    Envelope e;
    e.clock.set(3, max_clock_counter + 1);
    e.body = Heartbeat{};
    BOOST_CHECK_THROW(encode(e), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(unknown_enum_value) {
    capnp::MallocMessageBuilder m;
    valid_root(m).getBody().initBuyResult().setReason(static_cast<s::RefusalReason>(9));
    BOOST_TEST(
        mentions(expect_error(to_bytes(m), DecodeErrc::invalid_value), "body.buyResult.reason: 9"));

    capnp::MallocMessageBuilder m2;
    // One past the last reason this build knows.
    constexpr auto past_last = static_cast<std::uint16_t>(tp::wire::last_refusal_reason) + 1;
    valid_root(m2).getBody().initDepositAck().setReason(static_cast<s::RefusalReason>(past_last));
    BOOST_TEST(
        mentions(expect_error(to_bytes(m2), DecodeErrc::invalid_value), "body.depositAck.reason"));
}

BOOST_AUTO_TEST_CASE(pointer_out_of_bounds_names_the_field) {
    capnp::MallocMessageBuilder m;
    auto root = valid_root(m);
    root.getBody().initPayment().setAmount(1);
    auto bytes = to_bytes(m);
    // Layout: table (8) + root pointer (8) + data (24) + clock pointer (8) + body pointer (8).
    // Point the body far past the end of the segment.
    put_le32(bytes, 48, 0x00100000u << 2);
    BOOST_TEST(mentions(expect_error(bytes, DecodeErrc::malformed), "body.payment"));
}

BOOST_AUTO_TEST_CASE(pointer_of_the_wrong_kind) {
    // The body slot holds text where a struct is expected.
    capnp::MallocMessageBuilder m;
    auto root = valid_root(m);
    root.getBody().initCoordinator();
    any(root).getPointerSection()[1].setAs<capnp::Text>("not a struct");
    BOOST_TEST(mentions(expect_error(to_bytes(m), DecodeErrc::malformed), "body.coordinator"));
}

BOOST_AUTO_TEST_CASE(a_broken_text_in_the_retired_detail_is_never_read) {
    capnp::MallocMessageBuilder m;
    auto r = valid_root(m).getBody().initBuyResult();
    r.setAmount(12);
    // Data instead of Text: same pointer kind, but no NUL at the end. No field of ours is text,
    // so nothing reads it.
    any(r).getPointerSection()[1].setAs<capnp::Data>(
        kj::arrayPtr(reinterpret_cast<const kj::byte*>("abcdefgh"), 8));
    auto decoded = decode(to_bytes(m));
    BOOST_TEST_REQUIRE(decoded.has_value(), (decoded ? "" : decoded.error().message()));
    BOOST_TEST(std::get<BuyResult>(decoded.value().body).amount == 12);
}

BOOST_AUTO_TEST_CASE(null_root_is_wrong_version_not_a_crash) {
    // All zeros: one segment of one word holding a null root pointer. Reads as defaults.
    std::vector<std::byte> zeros(16);
    put_le32(zeros, 4, 1);
    expect_error(zeros, DecodeErrc::wrong_version);
}

BOOST_AUTO_TEST_SUITE_END()
