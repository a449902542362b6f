// Decoding the replication protocol's messages from hostile bytes: every bound the decoder holds
// them to, each broken alone with the private schema, refused with its error and field.
#include <boost/test/unit_test.hpp>

#include <capnp/message.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "capnp_bytes.hpp"
#include "crafting.hpp"
#include "samples.hpp"
#include "schema.hpp"
#include "tp/wire/codec.hpp"

using namespace tp::wire;
namespace s = tp::wire::schema;
namespace replica = tp::replication;

namespace {

using tp::wire::test::any;
using tp::wire::test::expect_error;
using tp::wire::test::mentions;
using tp::wire::test::set_clock;
using tp::wire::test::to_bytes;
using tp::wire::test::valid_root;

Envelope decoded(const std::vector<std::byte>& bytes, const DecodeLimits& limits = {}) {
    auto r = decode(bytes, limits);
    BOOST_TEST_REQUIRE(r.has_value(), (r ? "" : r.error().message()));
    return std::move(r).value();
}

std::vector<std::byte> snapshot_chunk(std::uint64_t offset, std::size_t size, std::uint64_t total) {
    capnp::MallocMessageBuilder m;
    auto c = valid_root(m).getBody().initSnapshotChunk();
    c.setOffset(offset);
    c.setTotal(total);
    if (size != 0) c.initBytes(static_cast<unsigned>(size));
    return to_bytes(m);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(wire_replication_decode)

BOOST_AUTO_TEST_CASE(replication_messages_take_their_epoch_from_the_envelope) {
    // The schema's structs have no epoch field: the envelope's (valid_root: 3) is the message's.
    capnp::MallocMessageBuilder m;
    auto root = valid_root(m);
    root.getBody().initAppend().setCommit(1);
    BOOST_TEST((std::get<Append>(decoded(to_bytes(m)).body) == Append{3, 0, 0, 1, {}}));
    root.getBody().initAppendAck().setOk(true);
    BOOST_TEST((std::get<AppendAck>(decoded(to_bytes(m)).body) ==
                AppendAck{3, true, replica::Refusal::none, 0, 0}));
    root.getBody().initStartView();
    BOOST_TEST((std::get<StartView>(decoded(to_bytes(m)).body) == StartView{3}));
    root.getBody().initLogState().setSeeded(true);
    BOOST_TEST((std::get<LogState>(decoded(to_bytes(m)).body) == LogState{3, 0, 0, 0, 0, 0, true}));
    root.getBody().initFetch().setTo(6);
    BOOST_TEST((std::get<Fetch>(decoded(to_bytes(m)).body) == Fetch{3, 0, 6}));
    root.getBody().initSnapshotChunk();
    BOOST_TEST((std::get<SnapshotChunk>(decoded(to_bytes(m)).body) ==
                SnapshotChunk{3, 0, 0, 0, 0, {}, 0}));
    root.getBody().initSnapshotAck().setReceived(8);
    BOOST_TEST((std::get<SnapshotAck>(decoded(to_bytes(m)).body) ==
                SnapshotAck{3, 0, 8, replica::Refusal::none}));
    // Recover has none; the envelope keeps its own.
    root.getBody().initRecover().setQuery(5);
    const Envelope recover = decoded(to_bytes(m));
    BOOST_TEST((std::get<Recover>(recover.body) == Recover{5}));
    BOOST_TEST(recover.epoch == 3u);
}

BOOST_AUTO_TEST_CASE(too_many_entries) {
    // Empty entries cost 3 words each: one over the limit still fits a datagram.
    capnp::MallocMessageBuilder m;
    auto append = valid_root(m).getBody().initAppend();
    append.initEntries(max_entries + 1);
    BOOST_TEST(mentions(expect_error(to_bytes(m), DecodeErrc::list_too_long),
                        "body.append.entries: 1025 entries, limit 1024"));
    // The limit itself decodes.
    append.initEntries(max_entries);
    BOOST_TEST(std::get<Append>(decoded(to_bytes(m)).body).entries.size() == max_entries);
}

BOOST_AUTO_TEST_CASE(a_payload_too_long) {
    // The second of two entries, one byte over; then the limit itself.
    const auto append = [](std::size_t second) {
        capnp::MallocMessageBuilder m;
        auto entries = valid_root(m).getBody().initAppend().initEntries(2);
        entries[0].initPayload(4);
        entries[1].initPayload(static_cast<unsigned>(second));
        return to_bytes(m);
    };
    BOOST_TEST(mentions(expect_error(append(max_payload_bytes + 1), DecodeErrc::list_too_long),
                        "body.append.entries[1].payload: 32769 bytes, limit 32768"));
    BOOST_TEST(
        std::get<Append>(decoded(append(max_payload_bytes)).body).entries[1].payload.size() ==
        max_payload_bytes);
}

BOOST_AUTO_TEST_CASE(an_entry_kind_this_build_does_not_know) {
    capnp::MallocMessageBuilder m;
    auto entries = valid_root(m).getBody().initAppend().initEntries(2);
    entries[1].setKind(static_cast<s::EntryKind>(3));
    BOOST_TEST(mentions(expect_error(to_bytes(m), DecodeErrc::invalid_value),
                        "body.append.entries[1].kind: 3 is not an EntryKind"));
    entries[1].setKind(s::EntryKind::REIGN);
    BOOST_TEST(
        (std::get<Append>(decoded(to_bytes(m)).body).entries[1].kind == replica::EntryKind::reign));
}

BOOST_AUTO_TEST_CASE(a_refusal_this_build_does_not_know) {
    constexpr auto past_last = static_cast<std::uint16_t>(replica::last_refusal) + 1;
    capnp::MallocMessageBuilder m;
    auto root = valid_root(m);
    root.getBody().initAppendAck().setReason(static_cast<s::ReplicationRefusal>(past_last));
    BOOST_TEST(mentions(expect_error(to_bytes(m), DecodeErrc::invalid_value),
                        "body.appendAck.reason: 9 is not a replication Refusal"));
    root.getBody().initSnapshotAck().setReason(static_cast<s::ReplicationRefusal>(past_last));
    BOOST_TEST(mentions(expect_error(to_bytes(m), DecodeErrc::invalid_value),
                        "body.snapshotAck.reason: 9 is not a replication Refusal"));
}

BOOST_AUTO_TEST_CASE(a_chunk_too_long) {
    // Beyond a chunk's limit, although the snapshot it claims to be part of has room for it.
    BOOST_TEST(mentions(
        expect_error(snapshot_chunk(0, max_chunk_bytes + 1, 1u << 20), DecodeErrc::list_too_long),
        "body.snapshotChunk.bytes: 32769 bytes, limit 32768"));
    BOOST_TEST(std::get<SnapshotChunk>(decoded(snapshot_chunk(0, max_chunk_bytes, 1u << 20)).body)
                   .bytes.size() == max_chunk_bytes);
}

BOOST_AUTO_TEST_CASE(a_chunk_beyond_its_snapshot) {
    // Past the total by one byte.
    BOOST_TEST(mentions(expect_error(snapshot_chunk(69, 32, 100), DecodeErrc::invalid_value),
                        "body.snapshotChunk: 32 bytes at offset 69 exceed the total 100"));
    // An offset past the total, even with no bytes.
    BOOST_TEST(mentions(expect_error(snapshot_chunk(101, 0, 100), DecodeErrc::invalid_value),
                        "at offset 101 exceed the total 100"));
    // An offset where offset + size wraps around: still refused.
    constexpr auto u64max = std::numeric_limits<std::uint64_t>::max();
    BOOST_TEST(mentions(expect_error(snapshot_chunk(u64max - 3, 8, 100), DecodeErrc::invalid_value),
                        "exceed the total 100"));
    // Ending exactly at the total decodes.
    BOOST_TEST(std::get<SnapshotChunk>(decoded(snapshot_chunk(68, 32, 100)).body).offset == 68u);
}

BOOST_AUTO_TEST_CASE(a_snapshot_larger_than_any_accepted) {
    BOOST_TEST(mentions(
        expect_error(snapshot_chunk(0, 8, max_snapshot_bytes + 1), DecodeErrc::invalid_value),
        "body.snapshotChunk.total: 1073741825 bytes, limit 1073741824"));
    BOOST_TEST(
        std::get<SnapshotChunk>(decoded(snapshot_chunk(0, 8, max_snapshot_bytes)).body).total ==
        max_snapshot_bytes);
}

// A market holds trading and election messages to the largest it can legally send (about 6.6 KB
// for six peers), but the replication machine fills datagrams with the log's bytes.
BOOST_AUTO_TEST_CASE(replication_messages_have_their_own_byte_budget) {
    const DecodeLimits market = limits_for_members(6);
    // An Append of 20 KB decodes under the market's limits...
    const auto append = encode(samples::envelope(Append{
        2, 0, 0, 0, {replica::Entry{2, replica::EntryKind::data, samples::bytes(20'000), 0}}}));
    BOOST_TEST_REQUIRE(append.size() > market.max_bytes);
    BOOST_TEST(decode(append, market).has_value());
    // ... a BuyResult as large (its retired text never counts as legal) does not...
    capnp::MallocMessageBuilder m;
    valid_root(m).getBody().initBuyResult().setDetailDeprecated(std::string(20'000, 'y'));
    BOOST_TEST(mentions(expect_error(to_bytes(m), DecodeErrc::too_large, market),
                        "limit " + std::to_string(market.max_bytes)));
    // ... nor does the Append under a replication budget lowered below its size.
    DecodeLimits tight = market;
    tight.max_replication_bytes = 16'384;
    BOOST_TEST(mentions(expect_error(append, DecodeErrc::too_large, tight), "limit 16384"));
    // Beyond one datagram nothing decodes, whatever the budgets say.
    std::vector<std::byte> big(max_datagram_size + 5);
    expect_error(big, DecodeErrc::too_large, market);
}

// Found while adding the replication kinds (and true of a BuyResult's fills before them): entries
// sent as a list of Void cost the sender 8 bytes, but each takes 3 words once decoded. Beside a
// large clock, that decoded to a message no peer could send on (the fuzz property's "whatever
// decodes re-encodes"). It is refused as too large.
BOOST_AUTO_TEST_CASE(elements_sent_without_their_data_cannot_make_a_message_too_large) {
    // The clock as large as the packed form gets: every entry ten bytes (a three-byte gap, a
    // seven-byte counter), `clock_entries` of them, beside a list of `n` elements of no bytes.
    const auto crafted = [](unsigned clock_entries, bool fills) {
        capnp::MallocMessageBuilder m;
        auto root = valid_root(m);
        std::vector<std::pair<std::uint32_t, std::uint64_t>> clock;
        std::uint32_t peer = 0;
        for (unsigned i = 0; i < clock_entries; ++i) {
            clock.emplace_back(peer, max_clock_counter);
            peer += (1u << 20) - 2;
        }
        set_clock(root, clock);
        auto list = fills ? any(root.getBody().initBuyResult()).getPointerSection()[0]
                          : any(root.getBody().initAppend()).getPointerSection()[0];
        list.initAs<capnp::List<capnp::Void>>(fills ? max_fills : max_entries);
        return to_bytes(m);
    };
    // 4,096 clock entries (40,960 bytes) and 1,024 entries of no bytes: over 64 KB once
    // re-encoded.
    const auto append = crafted(4096, false);
    BOOST_TEST_REQUIRE(append.size() < max_datagram_size);
    BOOST_TEST(mentions(expect_error(append, DecodeErrc::too_large), "once encoded"));
    // 256 fills of no bytes take 6 KB once decoded: beside the largest packed clock that still
    // fits a datagram (version 1's 16-byte entries let 3,800 of them overflow it).
    const auto result = crafted(4096, true);
    BOOST_TEST_REQUIRE(result.size() < max_datagram_size);
    const auto r = decode(result);
    BOOST_TEST_REQUIRE(r.has_value(), (r ? "" : r.error().message()));
    BOOST_TEST(encoded_size(r.value()) <= max_datagram_size);
    // With a clock that leaves room, the same entries decode (as empty entries).
    BOOST_TEST(std::get<Append>(decoded(crafted(6, false)).body).entries.size() == max_entries);
}

BOOST_AUTO_TEST_CASE(nesting_limit_of_an_append) {
    // As deep as a BuyResult's fills (root -> envelope -> body -> entries -> entry; a payload's
    // bytes hold no pointers, so they are no level): 3 is one too few, 4 is enough.
    const auto bytes = encode(samples::envelope(samples::append()));
    BOOST_TEST(mentions(expect_error(bytes, DecodeErrc::nesting_limit, DecodeLimits{8192, 3}),
                        "body.append.entries"));
    BOOST_TEST(decode(bytes, DecodeLimits{8192, 4}).has_value());
}

BOOST_AUTO_TEST_CASE(entries_from_a_newer_schema_decode) {
    // A future Entry with an extra data word and a second pointer: same first fields.
    capnp::MallocMessageBuilder m;
    auto append = valid_root(m).getBody().initAppend();
    auto entries = any(append).getPointerSection()[0].initAsListOfAnyStruct(3, 2, 2);
    for (unsigned i = 0; i < 2; ++i) {
        auto data = entries[i].getDataSection();
        data[0] = static_cast<kj::byte>(7 + i);  // epoch
        data[8] = 1;                             // kind: reign
        data[12] = 0x5A;                         // crc
        data[16] = 0xEE;                         // the unknown new field
        entries[i].getPointerSection()[0].setAs<capnp::Data>(
            kj::arrayPtr(reinterpret_cast<const kj::byte*>("abc"), 3));
        entries[i].getPointerSection()[1].setAs<capnp::Text>("future");
    }
    const auto got = std::get<Append>(decoded(to_bytes(m)).body).entries;
    BOOST_TEST_REQUIRE(got.size() == 2u);
    BOOST_TEST((got[1] == replica::Entry{8,
                                         replica::EntryKind::reign,
                                         {std::byte{'a'}, std::byte{'b'}, std::byte{'c'}},
                                         0x5A}));
}

BOOST_AUTO_TEST_SUITE_END()
