#pragma once

#include <cstdint>
#include <filesystem>
#include <stdexcept>

namespace tp::peer {

// A peer's own durable state, kept in `<state_dir>/peer-<id>.state`, written before the life's
// first send and again before anything is sent in a newer epoch:
// - the incarnation, a counter that grows by one each time the peer starts and never repeats
//   (request and lot ids and the anti-replay windows of its members depend on it). Never the wall
//   clock.
// - the highest epoch the peer has seen (led or followed): the floor its bully machine restarts
//   from, so a peer back from a crash never claims a reign it or another already had.
// - whether its replica of the trader's log is seeded (issue 16): authoritative, because it
//   caught up with a trader. A peer without the flag (a lost disk, a first start) relearns from a
//   quorum which epochs it joined before it acknowledges anything.
//
// File (25 bytes): "TPSTATE3", u32 LE incarnation, u64 LE epoch, u8 flags (bit 0: seeded; the
// other bits are refused), u32 LE CRC32C of the 21 bytes before it. Earlier versions still read,
// unseeded (a peer upgraded from the shared-directory mode has no replica yet): a 24-byte
// "TPSTATE2" (the same without flags) and a 16-byte "TPSTATE1" (incarnation only: epoch 0). The
// next write is always TPSTATE3.
struct PeerStateError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct PeerState {
    std::uint32_t incarnation = 0;  // 0: the peer never started here
    std::uint64_t epoch = 0;        // the highest epoch seen (0: none)
    bool seeded = false;            // its replica of the trader's log is authoritative

    friend bool operator==(const PeerState&, const PeerState&) = default;
};

// Reads the state (all zero when the file does not exist). Throws PeerStateError naming the file
// for damage (wrong size, magic or checksum) and for I/O errors: a peer that cannot be sure of its
// incarnation must not start, or it could reuse ids.
PeerState read_peer_state(const std::filesystem::path& state_dir, std::uint32_t peer);

// Writes `state` durably (temporary file, fdatasync, rename, directory fsync). Throws
// PeerStateError.
void write_peer_state(const std::filesystem::path& state_dir, std::uint32_t peer,
                      const PeerState& state);

// A new life: reads the state, writes it back with the next incarnation, returns it.
PeerState start_life(const std::filesystem::path& state_dir, std::uint32_t peer);

}  // namespace tp::peer
