// A replica's log on disk (issue 16): entries and snapshots round trip as journal records, bad
// bytes are errors naming their position, and the replication machine is rebuilt from a real
// journal after a restart.
#include <boost/test/unit_test.hpp>

#include <capnp/message.h>
#include <capnp/serialize.h>

#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "replica_log.capnp.h"
#include "temp_dir.hpp"
#include "tp/election/messages.hpp"
#include "tp/journal/crc32c.hpp"
#include "tp/journal/log.hpp"
#include "tp/peer/journal.hpp"
#include "tp/peer/replica_log.hpp"
#include "tp/replication/replica.hpp"

namespace rep = tp::replication;
using tp::journal::Log;
using tp::peer::decode_record;
using tp::peer::decode_snapshot;
using tp::peer::encode_record;
using tp::peer::encode_snapshot;
using tp::peer::PeerState;
using tp::peer::restore_replica;
using tp::peer::test::TempDir;

namespace {

constexpr rep::Epoch e1 = tp::election::make_epoch(1, 3);
constexpr rep::Epoch e2 = tp::election::make_epoch(2, 5);

std::vector<std::byte> bytes_of(std::string_view s) {
    const auto* p = reinterpret_cast<const std::byte*>(s.data());
    return {p, p + s.size()};
}

// `n` bytes that are not all alike.
std::vector<std::byte> pattern(std::size_t n) {
    std::vector<std::byte> b(n);
    for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::byte>(i % 251);
    return b;
}

rep::Entry data(rep::Epoch epoch, std::vector<std::byte> payload) {
    const std::uint32_t crc = tp::journal::crc32c(payload);
    return rep::Entry{epoch, rep::EntryKind::data, std::move(payload), crc};
}

rep::Entry reign(rep::Epoch epoch) {
    return rep::Entry{epoch, rep::EntryKind::reign, {}, tp::journal::crc32c({})};
}

std::vector<std::byte> encoded(const rep::Entry& entry) {
    std::vector<std::byte> out;
    encode_record(entry, out);
    return out;
}

// A record made with the schema itself, to say what encode_record never would.
std::vector<std::byte> crafted(rep::Epoch epoch, std::uint16_t kind, std::size_t payload_bytes) {
    capnp::MallocMessageBuilder message;
    auto root = message.initRoot<tp::peer::schema::ReplicaRecord>();
    root.setEpoch(epoch);
    root.setKind(static_cast<tp::peer::schema::EntryKind>(kind));
    root.initPayload(static_cast<unsigned>(payload_bytes));
    const auto words = capnp::messageToFlatArray(message);
    const auto bytes = words.asBytes();
    return {reinterpret_cast<const std::byte*>(bytes.begin()),
            reinterpret_cast<const std::byte*>(bytes.end())};
}

bool contains(const std::string& text, std::string_view what) {
    return text.find(what) != std::string::npos;
}

// The entries a journal would hold, appended at LSN 1, 2, ...: two reigns and their records.
std::vector<rep::Entry> sample_log() {
    return {reign(e1), data(e1, bytes_of("deposit")), data(e1, bytes_of("buy")),
            reign(e2), data(e2, bytes_of("payment")), data(e2, {})};
}

// Appends `entries` to a fresh journal in `dir` as a replica does, each at the next LSN.
void append_all(Log& log, const std::vector<rep::Entry>& entries) {
    std::vector<std::byte> buffer;
    for (const rep::Entry& e : entries) {
        encode_record(e, buffer);
        log.append(buffer);
    }
}

// What a store holds, read back as a restart would (a peer state of epoch e2, seeded).
rep::Restored restored_from(tp::peer::JournalStore& store) {
    auto opened = store.open();
    auto restored = restore_replica(opened.recovery, PeerState{1, e2, true});
    BOOST_TEST_REQUIRE(restored.ok(), restored.error().message);
    return std::move(restored).value();
}

// A Recovery as a journal would report it (tests of what no real journal produces).
tp::journal::Recovery recovery_of(std::vector<std::pair<tp::journal::Lsn, rep::Entry>> records) {
    tp::journal::Recovery r;
    for (auto& [lsn, entry] : records) r.records.push_back({lsn, encoded(entry)});
    return r;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(replica_log)

BOOST_AUTO_TEST_CASE(entries_round_trip_through_one_reused_buffer) {
    // Data, reign and config entries, an empty payload, the largest payload an entry may carry.
    rep::Entry config = data(e2, bytes_of("voter 9"));
    config.kind = rep::EntryKind::config;
    const std::vector<rep::Entry> entries{data(e1, bytes_of("deposit 7 salt")), reign(e2),
                                          data(e2, {}), data(e2, pattern(rep::max_payload_bytes)),
                                          data(e2, pattern(1)), config};
    std::vector<std::byte> buffer;
    for (std::size_t i = 0; i < entries.size(); ++i) {
        // Encoded into the same buffer every time: whole words, Cap'n Proto's framing.
        encode_record(entries[i], buffer);
        BOOST_TEST(buffer.size() % 8 == 0u);
        // Decoded at its position: the same entry, its CRC recomputed from the payload.
        const auto decoded = decode_record(buffer, i + 1);
        BOOST_TEST_REQUIRE(decoded.ok(), decoded.error().message);
        BOOST_TEST((*decoded == entries[i]));
    }
    // Bytes that do not start on a word boundary decode too (read from a copy).
    const std::vector<std::byte> record = encoded(entries[0]);
    std::vector<std::byte> shifted(record.size() + 1);
    std::copy(record.begin(), record.end(), shifted.begin() + 1);
    const auto unaligned = decode_record(std::span(shifted).subspan(1), 1);
    BOOST_TEST_REQUIRE(unaligned.ok(), unaligned.error().message);
    BOOST_TEST((*unaligned == entries[0]));
}

BOOST_AUTO_TEST_CASE(a_payload_over_the_bound_is_refused_both_ways) {
    // Encoding refuses what decoding would refuse: nothing is written that cannot be read back.
    std::vector<std::byte> buffer;
    BOOST_CHECK_THROW(encode_record(data(e1, pattern(rep::max_payload_bytes + 1)), buffer),
                      std::invalid_argument);
    // A record made by hand with one byte too many: an error naming the position and the size.
    const auto decoded = decode_record(crafted(e1, 0, rep::max_payload_bytes + 1), 9);
    BOOST_TEST_REQUIRE(!decoded.ok());
    BOOST_TEST(contains(decoded.error().message, "replica log record at position 9"));
    BOOST_TEST(contains(decoded.error().message, "32769 bytes"));
    // The same record at the bound is accepted: the craft itself is sound.
    BOOST_TEST(decode_record(crafted(e1, 0, rep::max_payload_bytes), 9).ok());
}

BOOST_AUTO_TEST_CASE(an_unknown_kind_is_an_error_naming_the_position) {
    // Kind 1 (reign) made by hand reads as a reign entry...
    const auto known = decode_record(crafted(e2, 1, 0), 12);
    BOOST_TEST_REQUIRE(known.ok(), known.error().message);
    BOOST_TEST((*known == reign(e2)));
    // ...kind 7 is no kind this build knows.
    const auto unknown = decode_record(crafted(e2, 7, 3), 12);
    BOOST_TEST_REQUIRE(!unknown.ok());
    BOOST_TEST(contains(unknown.error().message, "replica log record at position 12"));
    BOOST_TEST(contains(unknown.error().message, "unknown entry kind 7"));
}

BOOST_AUTO_TEST_CASE(garbage_and_truncated_bytes_are_errors_naming_the_position) {
    const auto refused = [](std::span<const std::byte> bytes) {
        const auto decoded = decode_record(bytes, 21);
        return !decoded.ok() && contains(decoded.error().message, "position 21");
    };
    // Nothing, and less than a word.
    BOOST_TEST(refused({}));
    BOOST_TEST(refused(bytes_of("1234567")));
    // Every cut of a real record short of its end.
    const std::vector<std::byte> record = encoded(data(e1, pattern(100)));
    for (std::size_t size = 0; size < record.size(); ++size) {
        BOOST_TEST(refused(std::span(record).first(size)), "cut at " << size);
    }
    // A real record followed by a word it does not account for.
    std::vector<std::byte> longer = record;
    longer.resize(record.size() + 8);
    BOOST_TEST(refused(longer));
    BOOST_TEST(contains(decode_record(longer, 21).error().message, "trailing"));
    // Random bytes, whole words and not (fixed seed: the same inputs every run).
    std::mt19937 random(16);
    for (std::size_t size = 1; size <= 400; ++size) {
        std::vector<std::byte> junk(size);
        for (auto& b : junk) b = static_cast<std::byte>(random());
        BOOST_TEST(refused(junk), "junk of " << size << " bytes");
    }
}

BOOST_AUTO_TEST_CASE(snapshots_round_trip_and_garbage_is_an_error) {
    // A state and its covered epoch; an empty state.
    for (const auto& state : {pattern(5000), std::vector<std::byte>{}}) {
        const auto decoded = decode_snapshot(encode_snapshot(e2, state));
        BOOST_TEST_REQUIRE(decoded.ok(), decoded.error().message);
        BOOST_TEST(decoded->covered_epoch == e2);
        BOOST_TEST((decoded->state == state));
    }
    // Garbage and a cut snapshot: errors that say what they are about.
    const auto junk = decode_snapshot(bytes_of("not a snapshot!!"));
    BOOST_TEST_REQUIRE(!junk.ok());
    BOOST_TEST(contains(junk.error().message, "replica snapshot"));
    const std::vector<std::byte> whole = encode_snapshot(e1, pattern(64));
    BOOST_TEST(!decode_snapshot(std::span(whole).first(whole.size() - 8)).ok());
}

BOOST_AUTO_TEST_CASE(the_replica_is_restored_from_a_real_journal) {
    TempDir dir("tp-replica-log");
    const auto path = dir.path / "replica";
    const std::vector<rep::Entry> log = sample_log();
    const std::vector<std::byte> state = bytes_of("the books up to position 3");
    // A replica's life: six entries, a snapshot after the third, synced; then the process ends.
    {
        auto opened = Log::open(path);
        append_all(*opened.log, log);
        opened.log->write_snapshot(3, encode_snapshot(e1, state));
        opened.log->sync();
    }
    // The restart: the journal reopened, the machine's state rebuilt from it.
    auto reopened = Log::open(path);
    auto restored = restore_replica(reopened.recovery, PeerState{4, e2, true});
    BOOST_TEST_REQUIRE(restored.ok(), restored.error().message);
    // The snapshot covers the journal snapshot's LSN, with the epoch stored beside the state.
    BOOST_TEST_REQUIRE(restored->snapshot.has_value());
    BOOST_TEST(restored->snapshot->covered == 3u);
    BOOST_TEST(restored->snapshot->covered_epoch == e1);
    BOOST_TEST((restored->snapshot->bytes == state));
    // The entries after it, in order, and the peer state's epoch and flag.
    BOOST_TEST((restored->entries == std::vector<rep::Entry>(log.begin() + 3, log.end())));
    BOOST_TEST(restored->joined == e2);
    BOOST_TEST(restored->seeded);
    // The machine takes it as its own log: it ends where the journal does.
    rep::Replica replica(rep::Options{.self = 1, .replicas = {1, 2, 3}}, std::move(*restored));
    BOOST_TEST(replica.first() == 4u);
    BOOST_TEST(replica.last() == 6u);
    BOOST_TEST(replica.durable() == 6u);
    BOOST_TEST(replica.epoch_at(3) == e1);
    BOOST_TEST(replica.epoch_at(6) == e2);
    BOOST_TEST((*replica.entry(5) == log[4]));
    BOOST_TEST(replica.joined() == e2);
    BOOST_TEST(replica.seeded());
}

BOOST_AUTO_TEST_CASE(a_journal_without_a_snapshot_restores_from_position_1) {
    TempDir dir("tp-replica-log");
    const auto path = dir.path / "replica";
    const std::vector<rep::Entry> log = sample_log();
    // An empty journal: nothing to restore but the peer state.
    {
        auto opened = Log::open(path);
        auto empty = restore_replica(opened.recovery, PeerState{1, 0, false});
        BOOST_TEST_REQUIRE(empty.ok(), empty.error().message);
        BOOST_TEST(!empty->snapshot.has_value());
        BOOST_TEST(empty->entries.empty());
        BOOST_TEST(empty->joined == 0u);
        BOOST_TEST(!empty->seeded);
        append_all(*opened.log, log);
        opened.log->sync();
    }
    // Every entry comes back from position 1. The peer state lost its epoch (say, a state file
    // from before the last reign): the log proves e2 was joined, so the machine joins it.
    auto reopened = Log::open(path);
    auto restored = restore_replica(reopened.recovery, PeerState{2, e1, false});
    BOOST_TEST_REQUIRE(restored.ok(), restored.error().message);
    BOOST_TEST(!restored->snapshot.has_value());
    BOOST_TEST((restored->entries == log));
    BOOST_TEST(restored->joined == e2);
    BOOST_TEST(!restored->seeded);
}

// The replica's two cuts, carried out through the peer's Journal seam as the driver will, on files
// and in the simulator's memory: what a restart restores is the log after them.
BOOST_AUTO_TEST_CASE(cuts_through_either_journal_store_restore_as_cut) {
    TempDir dir("tp-replica-log");
    const auto file = tp::peer::make_file_journal_store(dir.path / "replica", {});
    tp::peer::MemoryJournalStore memory;
    const std::vector<rep::Entry> log = sample_log();
    const rep::Entry rewritten = data(e2, bytes_of("the new trader's record"));
    for (tp::peer::JournalStore* store :
         std::vector<tp::peer::JournalStore*>{file.get(), &memory}) {
        BOOST_TEST_CONTEXT(store->where()) {
            // Six entries, synced; then a divergent suffix cut after 4 and a new fifth entry.
            {
                auto opened = store->open();
                std::vector<std::byte> buffer;
                for (const rep::Entry& e : log) {
                    encode_record(e, buffer);
                    opened.journal->append(buffer);
                }
                opened.journal->sync();
                opened.journal->truncate_after(4);
                encode_record(rewritten, buffer);
                BOOST_TEST(opened.journal->append(buffer) == 5u);
                opened.journal->sync();
            }
            // The restart restores entries 1..4 and the new fifth.
            std::vector<rep::Entry> expected(log.begin(), log.begin() + 4);
            expected.push_back(rewritten);
            rep::Restored restored = restored_from(*store);
            BOOST_TEST(!restored.snapshot.has_value());
            BOOST_TEST((restored.entries == expected));
            // A snapshot received from the trader replaces the whole log, beyond its end.
            const std::vector<std::byte> state = bytes_of("the books up to position 9");
            {
                auto opened = store->open();
                opened.journal->install_snapshot(9, encode_snapshot(e2, state));
                std::vector<std::byte> buffer;
                encode_record(reign(e2), buffer);
                BOOST_TEST(opened.journal->append(buffer) == 10u);
                opened.journal->sync();
            }
            // The restart restores the snapshot and the one entry after it.
            restored = restored_from(*store);
            BOOST_TEST_REQUIRE(restored.snapshot.has_value());
            BOOST_TEST(restored.snapshot->covered == 9u);
            BOOST_TEST(restored.snapshot->covered_epoch == e2);
            BOOST_TEST((restored.snapshot->bytes == state));
            BOOST_TEST((restored.entries == std::vector<rep::Entry>{reign(e2)}));
        }
    }
}

BOOST_AUTO_TEST_CASE(restore_refuses_a_record_that_does_not_decode_naming_its_lsn) {
    TempDir dir("tp-replica-log");
    // A journal whose third record is not a replica record, one whose second has an unknown
    // kind, and one whose snapshot is not a replica snapshot.
    const auto garbage = dir.path / "garbage";
    const auto unknown = dir.path / "unknown";
    const auto bad_snapshot = dir.path / "bad-snapshot";
    {
        auto opened = Log::open(garbage);
        append_all(*opened.log, {reign(e1), data(e1, bytes_of("a"))});
        opened.log->append(bytes_of("not a replica record"));
        append_all(*opened.log, {data(e1, bytes_of("b"))});
        opened.log->sync();
    }
    {
        auto opened = Log::open(unknown);
        append_all(*opened.log, {reign(e1)});
        opened.log->append(crafted(e1, 9, 4));
        opened.log->sync();
    }
    {
        auto opened = Log::open(bad_snapshot);
        append_all(*opened.log, {reign(e1), data(e1, bytes_of("a"))});
        opened.log->write_snapshot(2, bytes_of("the books, but no epoch"));
    }
    // Each restore is refused, naming where and what.
    const auto error_of = [](const std::filesystem::path& path) {
        auto opened = Log::open(path);
        const auto r = restore_replica(opened.recovery, PeerState{1, e1, true});
        return r.ok() ? std::string() : r.error().message;
    };
    const std::string g = error_of(garbage);
    BOOST_TEST(contains(g, "restoring the replica from its journal"));
    BOOST_TEST(contains(g, "position 3"));
    const std::string u = error_of(unknown);
    BOOST_TEST(contains(u, "position 2"));
    BOOST_TEST(contains(u, "unknown entry kind 9"));
    const std::string s = error_of(bad_snapshot);
    BOOST_TEST(contains(s, "replica snapshot covering position 2"));
}

BOOST_AUTO_TEST_CASE(restore_refuses_gaps_and_epochs_that_go_back) {
    const PeerState state{1, e2, true};
    // A gap: LSN 4 after 2.
    auto r = restore_replica(recovery_of({{1, reign(e1)}, {2, reign(e1)}, {4, reign(e1)}}), state);
    BOOST_TEST_REQUIRE(!r.ok());
    BOOST_TEST(contains(r.error().message, "LSN 4"));
    BOOST_TEST(contains(r.error().message, "expected LSN 3"));
    // Without a snapshot the log starts at 1.
    r = restore_replica(recovery_of({{2, reign(e1)}}), state);
    BOOST_TEST_REQUIRE(!r.ok());
    BOOST_TEST(contains(r.error().message, "LSN 2"));
    // After a snapshot covering 3 it starts at 4.
    auto after = recovery_of({{5, reign(e2)}});
    after.snapshot = tp::journal::Snapshot{3, encode_snapshot(e1, {})};
    r = restore_replica(after, state);
    BOOST_TEST_REQUIRE(!r.ok());
    BOOST_TEST(contains(r.error().message, "LSN 5"));
    // An epoch older than the entry before it.
    r = restore_replica(recovery_of({{1, reign(e2)}, {2, data(e1, {})}}), state);
    BOOST_TEST_REQUIRE(!r.ok());
    BOOST_TEST(contains(r.error().message, "position 2"));
    BOOST_TEST(contains(r.error().message, tp::election::epoch_text(e1)));
    // An epoch older than the snapshot's.
    auto older = recovery_of({{4, data(e1, {})}});
    older.snapshot = tp::journal::Snapshot{3, encode_snapshot(e2, {})};
    r = restore_replica(older, state);
    BOOST_TEST_REQUIRE(!r.ok());
    BOOST_TEST(contains(r.error().message, "position 4"));
    // The same shapes in order restore.
    auto good = recovery_of({{4, data(e2, {})}, {5, reign(e2)}});
    good.snapshot = tp::journal::Snapshot{3, encode_snapshot(e1, {})};
    BOOST_TEST(restore_replica(good, state).ok());
}

BOOST_AUTO_TEST_SUITE_END()
