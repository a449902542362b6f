#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "tp/auth/key.hpp"

namespace tp::auth {

using PeerId = std::uint32_t;

// An authenticated datagram:
//
//   offset  size  field
//        0     1  version (1)
//        1     1  kind (FrameKind)
//        2     2  reserved, zero
//        4     4  sender (peer id)
//        8     4  receiver (peer id)
//       12     4  sender's incarnation (its life: grows across its restarts)
//       16     4  receiver's incarnation, as the sender knows it (0: not known yet)
//       20     8  sequence: per (sender incarnation, receiver), from 1
//       28     n  payload (a Cap'n Proto envelope; in a hello, empty or 8 bytes: the highest
//                  sequence the sender accepted from the receiver's life it names)
//     28+n    32  MAC: keyed BLAKE2b-256 over bytes [0, 28+n)
//
// Integers are little-endian. The MAC covers the header, so a datagram names who sent it to
// whom, in which lives, and where it stands in the sender's stream: none of it can be changed or
// moved to another receiver without the key. docs/security.md has the protocol and its limits.
enum class FrameKind : std::uint8_t {
    data = 0,   // carries an envelope
    hello = 1,  // tells the receiver the sender's incarnation (and asks for its), and how far
                // the sender has heard the receiver's life
};

inline constexpr std::uint8_t frame_version = 1;
inline constexpr std::size_t header_size = 28;
inline constexpr std::size_t mac_size = 32;
inline constexpr std::size_t frame_overhead = header_size + mac_size;
inline constexpr std::size_t hello_payload = 8;
inline constexpr std::size_t hello_size = frame_overhead + hello_payload;

struct Header {
    FrameKind kind = FrameKind::data;
    PeerId sender = 0;
    PeerId receiver = 0;
    std::uint32_t sender_incarnation = 0;
    std::uint32_t receiver_incarnation = 0;
    std::uint64_t sequence = 0;

    friend bool operator==(const Header&, const Header&) = default;
};

void write_header(const Header& header, std::span<std::byte, header_size> out) noexcept;

enum class ParseErrc : std::uint8_t {
    ok,
    too_short,    // fewer bytes than a header and a MAC
    bad_version,  // not version 1 (or not an authenticated datagram at all)
    bad_kind,
    bad_reserved,
};
// Reads the header of `frame` (whole datagram). Checks only its shape, not the MAC.
ParseErrc parse_header(std::span<const std::byte> frame, Header& out) noexcept;

// The MAC: BLAKE2b-256 keyed with the members' key (libsodium's crypto_generichash, RFC 7693's
// keyed mode, a PRF and so a MAC), with the key's block absorbed once, up front: a datagram costs
// the hash of its own bytes only. Chosen over HMAC-SHA-512-256 (crypto_auth) for speed:
// docs/security.md has the measurement. Same key size, same 32-byte tag, no nonce to misuse.
class Mac {
public:
    explicit Mac(const Key& key) noexcept;
    ~Mac();
    Mac(const Mac&) noexcept = default;
    Mac& operator=(const Mac&) noexcept = default;

    void compute(std::span<const std::byte> bytes,
                 std::span<std::byte, mac_size> out) const noexcept;
    // Constant time.
    bool verify(std::span<const std::byte> bytes,
                std::span<const std::byte, mac_size> mac) const noexcept;

private:
    // libsodium's crypto_generichash_blake2b_state after init (384 bytes, 64-aligned).
    alignas(64) std::array<std::byte, 416> state_{};
};

}  // namespace tp::auth
