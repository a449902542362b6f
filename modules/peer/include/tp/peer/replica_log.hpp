#pragma once

// How a peer's replica of the trader's log lands on disk (issue 16), and how the replication
// machine is rebuilt from it at start. The journal keeps the replica's log: one journal record per
// log entry, at the LSN equal to the entry's position; the journal's snapshot holds the books'
// state and the epoch of the entry it covers. Both are Cap'n Proto (schema/replica_log.capnp),
// read with strict limits; anything malformed is an Error naming the position, never a crash.

#include <cstddef>
#include <span>
#include <vector>

#include "tp/journal/log.hpp"
#include "tp/market/types.hpp"
#include "tp/peer/peer_state.hpp"
#include "tp/replication/replica.hpp"

namespace tp::peer {

// One entry as a journal record. Replaces out's contents, reusing its capacity: an entry of up to
// replication::max_payload_bytes is built without touching the heap. Throws
// std::invalid_argument for a larger payload (decode_record would refuse it).
void encode_record(const replication::Entry& entry, std::vector<std::byte>& out);

// The entry a journal record at `where` holds; its crc is recomputed from the payload (the
// journal's frame already checked the bytes). Errors: not a record of the schema, an unknown
// kind, a payload over replication::max_payload_bytes; each names `where`.
market::Result<replication::Entry> decode_record(std::span<const std::byte> bytes,
                                                 replication::Position where);

// What a replica's journal snapshot holds besides the position it covers (the journal's).
struct ReplicaSnapshotBytes {
    replication::Epoch covered_epoch = 0;
    std::vector<std::byte> state;  // the books' snapshot, as the replication machine ships it

    friend bool operator==(const ReplicaSnapshotBytes&, const ReplicaSnapshotBytes&) = default;
};

std::vector<std::byte> encode_snapshot(replication::Epoch covered_epoch,
                                       std::span<const std::byte> state);
market::Result<ReplicaSnapshotBytes> decode_snapshot(std::span<const std::byte> bytes);

// The replication machine's durable state from a replica's journal and the peer's durable state:
// the snapshot (covering the journal snapshot's LSN), every entry after it in order, the joined
// epoch and whether the replica is seeded. Refuses, naming the journal position and what is
// wrong: a record or snapshot that does not decode, LSNs that are not consecutive after the
// snapshot, an entry whose epoch is older than the one before it.
//
// joined: the peer state's epoch, or the newest epoch on the log if that is newer (a replica
// appends an epoch's entries only after joining it, so they prove it joined; a peer state that
// says less is stale, and the machine must not promise that epoch's rivals anything).
market::Result<replication::Restored> restore_replica(const journal::Recovery& recovery,
                                                      const PeerState& state);

}  // namespace tp::peer
