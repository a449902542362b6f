#pragma once

#include <cstddef>
#include <span>

namespace tp::wire {

// A datagram's payload is one envelope or several back to back, each a whole Cap'n Proto message
// whose segment table states its length: envelopes a Ready sends to one peer share a datagram,
// its MAC and its receive (issue 17). A receiver reads at most this many from one datagram, and
// a sender never puts more in one.
inline constexpr std::size_t max_envelopes_per_datagram = 64;

// The length of the message at the front of `bytes` as its segment table states it; 0 when the
// table cannot be read or claims more than `bytes` holds (decode() of the rest says why). It
// checks the framing only: each piece still goes through decode().
std::size_t first_message_size(std::span<const std::byte> bytes) noexcept;

}  // namespace tp::wire
