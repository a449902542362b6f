// A replica's log on disk (schema/replica_log.capnp). The generated header is private to this file.
#include "tp/peer/replica_log.hpp"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>

#include <fmt/core.h>

#include "replica_log.capnp.h"
#include "tp/election/messages.hpp"
#include "tp/journal/crc32c.hpp"

namespace tp::peer {

namespace s = schema;
using market::Error;
using market::ErrorCode;
using market::Result;

namespace {

constexpr std::size_t word_bytes = sizeof(capnp::word);

constexpr std::size_t words_for(std::size_t bytes) noexcept {
    return (bytes + word_bytes - 1) / word_bytes;
}

// What a message of each root needs, in words: the root pointer, the struct (ReplicaRecord: two
// data words, epoch and kind, and one pointer; ReplicaSnapshot: one and one), the bytes.
constexpr std::size_t record_words(std::size_t payload) noexcept {
    return 1 + 3 + words_for(payload);
}
constexpr std::size_t snapshot_words(std::size_t state) noexcept {
    return 1 + 2 + words_for(state);
}

// Builds a one-segment message in place in `out`, framed as Cap'n Proto's stream format: u32 LE
// segment count minus one (0), u32 LE segment size in words, the segment. The layout is fixed, so
// `words` is known before building: FlatMessageBuilder (meant for callers that know the size, as
// we do) gets exactly that space and throws rather than write past it, and nothing is copied or
// allocated beyond out's own capacity. `out.data()` comes from operator new, aligned for words.
template <class Root, class Fill>
void build_in_place(std::size_t words, std::vector<std::byte>& out, Fill&& fill) {
    out.assign((1 + words) * word_bytes, std::byte{0});  // the builder expects zeroed space
    auto* segment = reinterpret_cast<capnp::word*>(out.data() + word_bytes);
    std::size_t used = 0;
    {
        capnp::FlatMessageBuilder message(kj::arrayPtr(segment, words));
        fill(message.initRoot<Root>());
        used = message.getSegmentsForOutput()[0].size();
    }
    for (std::size_t i = 0; i < 4; ++i) {
        out[4 + i] = static_cast<std::byte>(static_cast<std::uint32_t>(used) >> (8 * i));
    }
    out.resize((1 + used) * word_bytes);
}

kj::ArrayPtr<const kj::byte> bytes_of(std::span<const std::byte> bytes) {
    return kj::arrayPtr(reinterpret_cast<const kj::byte*>(bytes.data()), bytes.size());
}

std::vector<std::byte> copy_of(capnp::Data::Reader data) {
    const auto* p = reinterpret_cast<const std::byte*>(data.begin());
    return std::vector<std::byte>(p, p + data.size());
}

// Runs `body` (which returns a Result) on a strict reader over `bytes`; any failure becomes an
// Error that starts with `what` (which names the position).
template <class Root, class F>
auto with_reader(const std::string& what, std::span<const std::byte> bytes, F&& body)
    -> decltype(body(std::declval<typename Root::Reader>())) {
    const auto fail = [&](ErrorCode code, const std::string& msg) {
        return Error{code, fmt::format("{}: {}", what, msg)};
    };
    if (bytes.empty()) return fail(ErrorCode::malformed, "no bytes");
    if (bytes.size() % word_bytes != 0) {
        return fail(ErrorCode::malformed,
                    fmt::format("{} bytes is not a whole number of 8-byte words", bytes.size()));
    }
    const std::size_t words = bytes.size() / word_bytes;
    // Cap'n Proto reads words in place: copy input that is not word-aligned.
    std::vector<capnp::word> aligned;
    const auto* data = reinterpret_cast<const capnp::word*>(bytes.data());
    if (reinterpret_cast<std::uintptr_t>(bytes.data()) % alignof(capnp::word) != 0) {
        aligned.resize(words);
        std::memcpy(aligned.data(), bytes.data(), bytes.size());
        data = aligned.data();
    }
    capnp::ReaderOptions options;
    // Strict: no amplification beyond the input (a little slack for the header), shallow nesting.
    options.traversalLimitInWords = words * 2 + 16;
    options.nestingLimit = 4;
    try {
        capnp::FlatArrayMessageReader reader(kj::arrayPtr(data, words), options);
        if (reader.getEnd() != data + words) {
            return fail(ErrorCode::malformed,
                        fmt::format("{} trailing bytes after the message",
                                    (data + words - reader.getEnd()) * word_bytes));
        }
        return body(reader.getRoot<Root>());
    } catch (const kj::Exception& e) {
        return fail(ErrorCode::malformed, e.getDescription().cStr());
    }
}

Result<ReplicaSnapshotBytes> decode_snapshot_as(const std::string& what,
                                                std::span<const std::byte> bytes) {
    return with_reader<s::ReplicaSnapshot>(
        what, bytes, [](s::ReplicaSnapshot::Reader r) -> Result<ReplicaSnapshotBytes> {
            return ReplicaSnapshotBytes{r.getCoveredEpoch(), copy_of(r.getState())};
        });
}

}  // namespace

void encode_record(const replication::Entry& entry, std::vector<std::byte>& out) {
    if (entry.payload.size() > replication::max_payload_bytes) {
        throw std::invalid_argument(
            fmt::format("replica log record: a payload of {} bytes, more than the {} an entry may "
                        "carry",
                        entry.payload.size(), replication::max_payload_bytes));
    }
    build_in_place<s::ReplicaRecord>(
        record_words(entry.payload.size()), out, [&](s::ReplicaRecord::Builder b) {
            b.setEpoch(entry.epoch);
            b.setKind(entry.kind == replication::EntryKind::reign    ? s::EntryKind::REIGN
                      : entry.kind == replication::EntryKind::config ? s::EntryKind::CONFIG
                                                                     : s::EntryKind::DATA);
            // An empty payload stays a null pointer, which reads as empty.
            if (!entry.payload.empty()) b.setPayload(bytes_of(entry.payload));
        });
}

Result<replication::Entry> decode_record(std::span<const std::byte> bytes,
                                         replication::Position where) {
    const std::string what = fmt::format("replica log record at position {}", where);
    return with_reader<s::ReplicaRecord>(
        what, bytes, [&](s::ReplicaRecord::Reader r) -> Result<replication::Entry> {
            replication::Entry entry;
            entry.epoch = r.getEpoch();
            switch (r.getKind()) {
                case s::EntryKind::DATA: entry.kind = replication::EntryKind::data; break;
                case s::EntryKind::REIGN: entry.kind = replication::EntryKind::reign; break;
                case s::EntryKind::CONFIG: entry.kind = replication::EntryKind::config; break;
                default:
                    return Error{ErrorCode::invalid,
                                 fmt::format("{}: unknown entry kind {}", what,
                                             static_cast<unsigned>(r.getKind()))};
            }
            // The size is known before anything is copied: a record cannot make us hold more.
            const auto payload = r.getPayload();
            if (payload.size() > replication::max_payload_bytes) {
                return Error{ErrorCode::invalid,
                             fmt::format("{}: a payload of {} bytes, more than the {} an entry "
                                         "may carry",
                                         what, payload.size(), replication::max_payload_bytes)};
            }
            entry.payload = copy_of(payload);
            entry.crc = journal::crc32c(entry.payload);
            return entry;
        });
}

std::vector<std::byte> encode_snapshot(replication::Epoch covered_epoch,
                                       std::span<const std::byte> state) {
    std::vector<std::byte> out;
    build_in_place<s::ReplicaSnapshot>(snapshot_words(state.size()), out,
                                       [&](s::ReplicaSnapshot::Builder b) {
                                           b.setCoveredEpoch(covered_epoch);
                                           if (!state.empty()) b.setState(bytes_of(state));
                                       });
    return out;
}

Result<ReplicaSnapshotBytes> decode_snapshot(std::span<const std::byte> bytes) {
    return decode_snapshot_as("replica snapshot", bytes);
}

Result<replication::Restored> restore_replica(const journal::Recovery& recovery,
                                              const PeerState& state) {
    const auto fail = [](const std::string& msg) {
        return Error{ErrorCode::inconsistent,
                     fmt::format("restoring the replica from its journal: {}", msg)};
    };
    const auto because = [](const Error& e) {
        return Error{e.code, fmt::format("restoring the replica from its journal: {}", e.message)};
    };
    replication::Restored restored;
    restored.joined = state.epoch;
    restored.seeded = state.seeded;
    replication::Position last = 0;  // the position before the next record
    replication::Epoch last_epoch = 0;
    if (recovery.snapshot) {
        const journal::Snapshot& snap = *recovery.snapshot;
        auto decoded = decode_snapshot_as(
            fmt::format("replica snapshot covering position {}", snap.covered), snap.bytes);
        if (!decoded) return because(decoded.error());
        last = snap.covered;
        last_epoch = decoded->covered_epoch;
        restored.snapshot =
            replication::Snapshot{snap.covered, decoded->covered_epoch, std::move(decoded->state)};
    }
    restored.entries.reserve(recovery.records.size());
    for (const journal::Record& record : recovery.records) {
        // Journal LSN == log position: a gap or a repeat would shift every entry after it.
        if (record.lsn != last + 1) {
            return fail(fmt::format("the record at LSN {} follows position {} (expected LSN {})",
                                    record.lsn, last, last + 1));
        }
        auto entry = decode_record(record.bytes, record.lsn);
        if (!entry) return because(entry.error());
        // A log's epochs never go back: an older one after a newer is damage, not history.
        if (entry->epoch < last_epoch) {
            return fail(fmt::format(
                "the entry at position {} has epoch {}, older than epoch {} before it", record.lsn,
                election::epoch_text(entry->epoch), election::epoch_text(last_epoch)));
        }
        last = record.lsn;
        last_epoch = entry->epoch;
        restored.entries.push_back(std::move(entry).value());
    }
    // The log proves the epochs it holds were joined (see the header).
    if (last_epoch > restored.joined) restored.joined = last_epoch;
    return restored;
}

}  // namespace tp::peer
