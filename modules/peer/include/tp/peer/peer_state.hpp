#pragma once

#include <cstdint>
#include <filesystem>
#include <stdexcept>

namespace tp::peer {

// A peer's own durable state, kept in `<state_dir>/peer-<id>.state` and written before the
// life's first send: the incarnation, a counter that grows by one each time the peer starts and
// never repeats (request and lot ids and the anti-replay windows of its members depend on it).
// Never the wall clock. (Issue 15 adds the highest epoch seen.)
//
// File: "TPSTATE1", u32 LE incarnation, u32 LE CRC32C of the 12 bytes before it.
struct PeerStateError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Reads the last incarnation (0 when the file does not exist), writes the next one durably
// (temporary file, fdatasync, rename, directory fsync) and returns it. Throws PeerStateError
// naming the file for damage (wrong size, magic or checksum) and for I/O errors: a peer that
// cannot be sure of its incarnation must not start, or it could reuse ids.
std::uint32_t next_incarnation(const std::filesystem::path& state_dir, std::uint32_t peer);

}  // namespace tp::peer
