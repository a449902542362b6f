// The replication protocol's messages on the wire, as the encoder sees them: carried as the
// replication module defines them, one epoch per message (the envelope's), and never emitted
// beyond a bound the decoder enforces.
#include <boost/test/unit_test.hpp>

#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "samples.hpp"
#include "tp/replication/messages.hpp"
#include "tp/wire/codec.hpp"

using namespace tp::wire;
namespace replica = tp::replication;

namespace {

Envelope round_trip(const Envelope& in) {
    const auto bytes = encode(in);
    auto r = decode(bytes);
    BOOST_TEST_REQUIRE(r.has_value(), (r ? "" : r.error().message()));
    return std::move(r).value();
}

// Encoding `e` throws std::invalid_argument saying exactly `says`.
void refused(const Envelope& e, const std::string& says) {
    try {
        (void)encode(e);
        BOOST_ERROR("encoded: " << e);
    } catch (const std::invalid_argument& x) {
        BOOST_TEST(std::string(x.what()) == says);
    }
}

// One message of every kind that has an epoch, in `epoch`, with the field name encode reports.
std::vector<std::pair<std::string, replica::Message>> with_epoch(Epoch epoch) {
    auto chunk = samples::snapshot_chunk();
    chunk.epoch = epoch;
    auto append = samples::append();
    append.epoch = epoch;
    return {
        {"append", append},
        {"appendAck", replica::AppendAck{epoch, true, replica::Refusal::none, 4, 4}},
        {"startView", replica::StartView{epoch}},
        {"logState", replica::LogState{epoch, 0, 4, 1, 3, 0, true}},
        {"fetch", replica::Fetch{epoch, 2, 4}},
        {"snapshotChunk", chunk},
        {"snapshotAck", replica::SnapshotAck{epoch, 40, 64, replica::Refusal::none}},
    };
}

Append entries_of(std::size_t count, std::size_t payload_bytes) {
    Append m{2, 0, 0, 0, {}};
    for (std::size_t i = 0; i < count; ++i) {
        m.entries.push_back({2, replica::EntryKind::data, samples::bytes(payload_bytes), 0});
    }
    return m;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(wire_replication_codec)

BOOST_AUTO_TEST_CASE(the_wire_carries_the_replication_s_own_messages) {
    // One definition: the wire's replication kinds are the replication module's structs.
    static_assert(std::is_same_v<Append, replica::Append>);
    static_assert(std::is_same_v<AppendAck, replica::AppendAck>);
    static_assert(std::is_same_v<StartView, replica::StartView>);
    static_assert(std::is_same_v<Recover, replica::Recover>);
    static_assert(std::is_same_v<LogState, replica::LogState>);
    static_assert(std::is_same_v<Fetch, replica::Fetch>);
    static_assert(std::is_same_v<SnapshotChunk, replica::SnapshotChunk>);
    static_assert(std::is_same_v<SnapshotAck, replica::SnapshotAck>);
    auto messages = with_epoch(5);
    messages.emplace_back("recover", replica::Recover{9});
    std::vector<bool> seen(std::variant_size_v<replica::Message>, false);
    for (const auto& [field, m] : messages) {
        BOOST_TEST_CONTEXT(field) {
            seen[m.index()] = true;
            // Each kind is a new alternative after the election's, in the replication's order.
            const Body body = to_body(m);
            BOOST_TEST(body.index() == 10 + m.index());
            const auto back = replication_message(body);
            BOOST_TEST_REQUIRE(back.has_value());
            BOOST_TEST((*back == m));
            BOOST_TEST(!election_message(body).has_value());
            // Logs name it as the replication module does.
            BOOST_TEST(std::string(kind_name(body)) == replica::kind_name(m));
        }
    }
    for (std::size_t i = 0; i < seen.size(); ++i) BOOST_TEST(seen[i], "kind index " << i);
    // Other kinds are not replication messages.
    BOOST_TEST(!replication_message(Body{samples::buy()}).has_value());
    BOOST_TEST(!replication_message(Body{Election{2}}).has_value());
    BOOST_TEST(!replication_message(Body{samples::heartbeat()}).has_value());
}

// Every replication message but Recover has one epoch, the envelope's: what the wire could not
// carry (a second epoch, newer or older) is refused, naming the field.
BOOST_AUTO_TEST_CASE(encode_refuses_a_replication_message_the_envelope_contradicts) {
    // envelope() defaults to epoch 2: one message newer, one older than it.
    for (const Epoch epoch : {Epoch{7}, Epoch{1}}) {
        for (const auto& [field, m] : with_epoch(epoch)) {
            refused(samples::envelope(to_body(m)), "wire: encode " + field +
                                                       ".epoch: " + std::to_string(epoch) +
                                                       " differs from the envelope's 2");
        }
    }
    // The same messages in agreement round-trip: decode gives them the envelope's epoch.
    for (const auto& [field, m] : with_epoch(2)) {
        const auto env = samples::envelope(to_body(m));
        BOOST_TEST((round_trip(env) == env), field);
    }
    // Recover has no epoch: any envelope's carries it, and arrives as it was sent.
    for (const Epoch epoch : {Epoch{0}, Epoch{2}, std::numeric_limits<Epoch>::max()}) {
        const auto env = samples::envelope(Recover{4}, samples::dense_clock(3), 4, 1, epoch);
        const Envelope back = round_trip(env);
        BOOST_TEST((back == env));
        BOOST_TEST(back.epoch == epoch);
    }
}

BOOST_AUTO_TEST_CASE(encode_refuses_an_append_beyond_its_bounds) {
    // One entry too many.
    refused(samples::envelope(entries_of(max_entries + 1, 0)),
            "wire: encode append.entries: 1025 entries, limit 1024");
    // A payload one byte too long, in the second entry.
    auto long_payload = entries_of(2, 1);
    long_payload.entries[1].payload = samples::bytes(max_payload_bytes + 1);
    refused(samples::envelope(long_payload),
            "wire: encode append.entries[1].payload: 32769 bytes, limit 32768");
    // An entry kind this build does not know.
    auto bad_kind = entries_of(2, 1);
    bad_kind.entries[1].kind = static_cast<replica::EntryKind>(3);
    refused(samples::envelope(bad_kind),
            "wire: encode append.entries[1].kind: 3 is not an EntryKind");
    // At the bounds it encodes and comes back whole.
    for (auto ok : {entries_of(max_entries, 0), entries_of(1, max_payload_bytes)}) {
        const auto env = samples::envelope(std::move(ok));
        BOOST_TEST((round_trip(env) == env));
    }
}

BOOST_AUTO_TEST_CASE(encode_refuses_a_refusal_it_does_not_know) {
    const auto past_last =
        static_cast<replica::Refusal>(static_cast<unsigned>(replica::last_refusal) + 1);
    refused(samples::envelope(AppendAck{2, false, past_last, 0, 0}),
            "wire: encode appendAck.reason: 9 is not a replication Refusal");
    refused(samples::envelope(SnapshotAck{2, 1, 0, past_last}),
            "wire: encode snapshotAck.reason: 9 is not a replication Refusal");
    // The last one it knows is carried.
    const auto env = samples::envelope(SnapshotAck{2, 1, 0, replica::last_refusal});
    BOOST_TEST((round_trip(env) == env));
}

BOOST_AUTO_TEST_CASE(encode_refuses_a_snapshot_chunk_beyond_its_bounds) {
    auto chunk = [](std::uint64_t offset, std::size_t size, std::uint64_t total) {
        return samples::envelope(SnapshotChunk{2, 40, 1, offset, total, samples::bytes(size), 0});
    };
    // Bytes beyond a chunk's limit, even in a snapshot that has room for them.
    refused(chunk(0, max_chunk_bytes + 1, 1u << 20),
            "wire: encode snapshotChunk.bytes: 32769 bytes, limit 32768");
    // A snapshot larger than any a peer accepts.
    refused(chunk(0, 1, max_snapshot_bytes + 1),
            "wire: encode snapshotChunk.total: 1073741825 bytes, limit 1073741824");
    // A piece that ends beyond the total: past it, and so far past it that offset + size wraps.
    refused(chunk(90, 32, 100),
            "wire: encode snapshotChunk: 32 bytes at offset 90 exceed the total 100");
    refused(
        chunk(std::numeric_limits<std::uint64_t>::max(), 1, 100),
        "wire: encode snapshotChunk: 1 bytes at offset 18446744073709551615 exceed the total 100");
    // At the bounds: the largest piece, ending exactly at the largest total.
    const auto last =
        chunk(max_snapshot_bytes - max_chunk_bytes, max_chunk_bytes, max_snapshot_bytes);
    BOOST_TEST((round_trip(last) == last));
    const auto at_end = chunk(100, 0, 100);
    BOOST_TEST((round_trip(at_end) == at_end));
}

// What one datagram holds. Words of 8 bytes: the segment table (1), the root pointer (1), the
// envelope (6), a six-peer clock packed (12 bytes: 2) and the Append (4) make 14, and its entry
// list's tag (1) 15 once there is an entry; each entry takes 3 more plus its payload rounded up to
// whole words. A datagram holds 8,188 words, so 1,024 entries fit with payloads of at most 32
// bytes, and one entry fits with the largest payload (32 KiB: 4,114 words) but two do not
// (8,213): an Append
// of max_entries x max_payload_bytes can never be sent, so the replication machine bounds a batch
// by its bytes, and decode refuses an oversized datagram as it always has.
BOOST_AUTO_TEST_CASE(what_one_datagram_holds) {
    const std::size_t datagram_words = max_datagram_size / 8;
    // No entries: a heartbeat carrying the commit position.
    const auto none = samples::envelope(entries_of(0, 0));
    BOOST_TEST((round_trip(none) == none));
    const std::size_t fixed_words = encoded_size(none) / 8;
    const std::size_t entry_words =
        encoded_size(samples::envelope(entries_of(1, 0))) / 8 - fixed_words - 1;
    BOOST_TEST(fixed_words == 14u);
    BOOST_TEST(entry_words == 3u);

    // The most entries, with the largest payload each that still fits.
    const std::size_t payload_words =
        (datagram_words - fixed_words - 1) / max_entries - entry_words;
    const auto full = samples::envelope(entries_of(max_entries, payload_words * 8));
    BOOST_TEST(payload_words * 8 == 32u);
    BOOST_TEST(encoded_size(full) <= max_datagram_size);
    BOOST_TEST((round_trip(full) == full));
    // One byte more in each takes a word more each: beyond one datagram.
    const auto over = samples::envelope(entries_of(max_entries, payload_words * 8 + 1));
    BOOST_CHECK_THROW(encode(over), std::length_error);

    // One entry with the largest payload fits; two do not.
    const auto one_max = samples::envelope(entries_of(1, max_payload_bytes));
    BOOST_TEST(encoded_size(one_max) <= max_datagram_size);
    BOOST_TEST((round_trip(one_max) == one_max));
    const auto two_max = samples::envelope(entries_of(2, max_payload_bytes));
    BOOST_TEST(encoded_size(two_max) > max_datagram_size);
    BOOST_CHECK_THROW(encode(two_max), std::length_error);

    // The largest snapshot chunk fits too.
    const auto chunk = samples::envelope(
        SnapshotChunk{2, 40, 1, 0, max_chunk_bytes, samples::bytes(max_chunk_bytes), 0});
    BOOST_TEST(encoded_size(chunk) <= max_datagram_size);
    BOOST_TEST((round_trip(chunk) == chunk));
}

BOOST_AUTO_TEST_CASE(field_values_survive_exactly) {
    const Envelope back = round_trip(samples::envelope(samples::append()));
    const auto& m = std::get<Append>(back.body);
    BOOST_TEST(m.epoch == 2u);
    BOOST_TEST(m.prev == 10u);
    BOOST_TEST(m.prev_epoch == 1u);
    BOOST_TEST(m.commit == 8u);
    BOOST_TEST_REQUIRE(m.entries.size() == 2u);
    BOOST_TEST((m.entries[0].payload == samples::bytes(13, 0x40)));
    BOOST_TEST(m.entries[0].crc == 0xC0FFEE01u);
    BOOST_TEST((m.entries[1].kind == replica::EntryKind::reign));
    BOOST_TEST(m.entries[1].payload.empty());
}

// A change of the replica set travels as its own kind (issue 18).
BOOST_AUTO_TEST_CASE(a_config_entry_keeps_its_kind) {
    Append a = samples::append();
    a.entries[0].kind = replica::EntryKind::config;
    const Envelope envelope = round_trip(samples::envelope(a));
    const auto& back = std::get<Append>(envelope.body);
    BOOST_TEST((back.entries[0].kind == replica::EntryKind::config));
    BOOST_TEST((back.entries[0].payload == a.entries[0].payload));
}

BOOST_AUTO_TEST_SUITE_END()
