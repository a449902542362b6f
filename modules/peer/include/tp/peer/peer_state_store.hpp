#pragma once

#include <filesystem>
#include <map>
#include <memory>

#include "tp/clock/vector_clock.hpp"
#include "tp/peer/peer_state.hpp"
#include "tp/wire/message.hpp"

namespace tp::peer {

// Where the peers of one process keep their durable state (peer_state.hpp) across lives: files
// under a state directory for a real run, so that a second run on the same directory goes on
// counting incarnations (its request and lot ids never meet the first run's in the books), or
// memory for the simulator and throw-away directories (nothing outlives the process there, and a
// simulated run must not pay for fsyncs).
class PeerStateStore {
public:
    virtual ~PeerStateStore() = default;

    // A new life of `peer`: its incarnation, one above every earlier one, durable on return, the
    // highest epoch its earlier lives saw, and whether its replica of the trader's log is seeded.
    virtual PeerState start_life(clock::PeerId peer) = 0;
    // `peer` has seen `epoch`: durable on return if it is a new high, before the peer sends
    // anything in it.
    virtual void note_epoch(clock::PeerId peer, wire::Epoch epoch) = 0;
    // `peer`'s replica of the trader's log caught up with a trader (replication::Ready::seeded):
    // durable on return. Nothing clears it but the loss of the state itself.
    virtual void note_seeded(clock::PeerId peer) = 0;
    // `peer`'s disk was lost (a fault the simulator and tools inject): the epoch seen and the
    // seeded flag are gone, the incarnation counter is kept (a lost peer cannot learn it back
    // yet; docs/replication.md). Durable on return.
    virtual void lose(clock::PeerId peer) = 0;

    // In `<state_dir>/peer-<id>.state`; throws PeerStateError naming the file.
    static std::unique_ptr<PeerStateStore> in_files(std::filesystem::path state_dir);
    static std::unique_ptr<PeerStateStore> in_memory();
};

}  // namespace tp::peer
