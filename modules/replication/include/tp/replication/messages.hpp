#pragma once

// The replication protocol's messages: the one definition, which the wire carries as it is (as it
// carries the election's). Sender and receiver travel in the envelope; so does the epoch, which
// must equal the message's own.
//
// Normal operation: the trader of epoch E ships Append (entries after prev, whose epoch must match)
// and each replica answers AppendAck once what it holds is durable. View change: the winner of E
// sends StartView, every replica joins E and answers LogState; the winner pulls the most advanced
// log with Fetch (answered by Append or SnapshotChunk). Catch-up beyond the trader's snapshot:
// SnapshotChunk, one in flight, each acknowledged by SnapshotAck. A replica that lost its disk asks
// Recover and learns the newest epoch a quorum joined from their LogState answers.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <variant>
#include <vector>

#include "tp/election/messages.hpp"

namespace tp::replication {

using PeerId = tp::clock::PeerId;
using Epoch = tp::election::Epoch;
using Time = std::chrono::nanoseconds;
using Duration = std::chrono::nanoseconds;
// A record's place in the replicated log: 1 for the first record ever, one more per record.
using Position = std::uint64_t;

// What a record is to the log. `reign`: the first record of an epoch, which the epoch's trader
// commits before it serves (no payload; nothing for the books). `config`: a record that changes
// the replica set by one member (its payload the application's, read by Options::read_change);
// the set counts from the moment the record is in a log, committed or not.
enum class EntryKind : std::uint8_t { data, reign, config };

struct Entry {
    Epoch epoch = 0;
    EntryKind kind = EntryKind::data;
    std::vector<std::byte> payload;
    // CRC32C of the payload: a replica refuses an entry whose bytes do not match it.
    std::uint32_t crc = 0;

    friend bool operator==(const Entry&, const Entry&) = default;
};

// Bounds on what a message may carry (decode refuses more; the machine never sends more).
inline constexpr std::size_t max_entries_per_append = 1024;
inline constexpr std::size_t max_payload_bytes = 32u << 10;
inline constexpr std::size_t max_chunk_bytes = 32u << 10;

// What an entry adds to an encoded Append, at most: its struct and list pointer (four words) and
// its payload rounded up to a word. The machine fills an Append up to a byte budget counted this
// way, so one Append fits a datagram beside the envelope (docs/bounds.md).
constexpr std::size_t entry_wire_bytes(const Entry& entry) noexcept {
    return 32 + ((entry.payload.size() + 7) & ~std::size_t{7});
}

// Trader -> replica: the entries after `prev` (whose epoch is `prev_epoch`), and how far the log
// is committed. No entries: a heartbeat that carries the commit position. Also a replica's answer
// to Fetch during a view change.
struct Append {
    Epoch epoch = 0;
    Position prev = 0;
    Epoch prev_epoch = 0;
    Position commit = 0;
    std::vector<Entry> entries;

    friend bool operator==(const Append&, const Append&) = default;
};

// Why a replica refused an Append or a chunk.
enum class Refusal : std::uint8_t {
    none,
    stale_epoch,    // the sender's epoch is older than the one this replica joined
    gap,            // prev is beyond this replica's log
    mismatch,       // the entry at prev has another epoch
    bad_crc,        // an entry's bytes do not match its CRC
    out_of_order,   // a snapshot chunk not at the offset expected
    beyond_log,     // names a position beyond anything the receiver holds
    conflict,       // would change a committed entry
    too_large,      // more than the bounds allow
};
inline constexpr Refusal last_refusal = Refusal::too_large;
const char* to_string(Refusal refusal) noexcept;

// Replica -> trader. ok: the replica holds the trader's log up to `match`, durably. Refused:
// `reason`, and `last`, the end of the replica's log (where the trader should look next).
struct AppendAck {
    Epoch epoch = 0;  // the replica's joined epoch (newer than the trader's: it was deposed)
    bool ok = false;
    Refusal reason = Refusal::none;
    Position match = 0;
    Position last = 0;

    friend bool operator==(const AppendAck&, const AppendAck&) = default;
};

// The winner of `epoch` -> every replica: join it and tell me your log.
struct StartView {
    Epoch epoch = 0;

    friend bool operator==(const StartView&, const StartView&) = default;
};

// A replica with no durable state (a lost disk) -> every replica: which epochs have you joined?
// `query` is echoed, so an answer to an earlier query never counts.
struct Recover {
    std::uint64_t query = 0;

    friend bool operator==(const Recover&, const Recover&) = default;
};

// Replica -> the asker: the state of its durable log.
struct LogState {
    Epoch epoch = 0;         // the epoch the replica has joined
    std::uint64_t query = 0;  // Recover's query, or 0 for StartView
    Position last = 0;        // durable end of its log
    Epoch last_epoch = 0;     // the epoch of the entry at `last` (0: empty)
    Position commit = 0;      // what it knows committed
    Position snapshot = 0;    // what its snapshot covers
    // Whether its log is authoritative: false after a lost disk until it has caught up with a
    // trader. A view change counts only seeded replicas towards its quorum.
    bool seeded = false;

    friend bool operator==(const LogState&, const LogState&) = default;
};

// The winner of `epoch` -> the most advanced replica: send me your log after `from - 1`, up to `to`.
struct Fetch {
    Epoch epoch = 0;
    Position from = 0;
    Position to = 0;

    friend bool operator==(const Fetch&, const Fetch&) = default;
};

// A snapshot covering `covered` (whose entry had `covered_epoch`) in pieces, one at a time.
struct SnapshotChunk {
    Epoch epoch = 0;
    Position covered = 0;
    Epoch covered_epoch = 0;
    std::uint64_t offset = 0;
    std::uint64_t total = 0;  // the whole snapshot's size
    std::vector<std::byte> bytes;
    std::uint32_t crc = 0;  // CRC32C of the whole snapshot (checked once it is complete)

    friend bool operator==(const SnapshotChunk&, const SnapshotChunk&) = default;
};

// Receiver of chunks -> sender: the bytes it holds of snapshot `covered` (the next offset it
// expects), or a refusal.
struct SnapshotAck {
    Epoch epoch = 0;
    Position covered = 0;
    std::uint64_t received = 0;
    Refusal reason = Refusal::none;

    friend bool operator==(const SnapshotAck&, const SnapshotAck&) = default;
};

using Message = std::variant<Append, AppendAck, StartView, Recover, LogState, Fetch, SnapshotChunk,
                             SnapshotAck>;

// "append", "append_ack", ...: for logs.
const char* kind_name(const Message& message) noexcept;
// The epoch a message carries (Recover: 0).
Epoch epoch_of(const Message& message) noexcept;

}  // namespace tp::replication
