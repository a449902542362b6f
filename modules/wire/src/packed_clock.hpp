#pragma once

// The vector clock's packed form on the wire (protocol version 2; envelope.capnp, `clock`): per
// entry, in increasing peer order, two unsigned LEB128 varints, the peer's gap from the previous
// entry and the counter. Sorted and unique by construction; decode checks the rest.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "tp/clock/vector_clock.hpp"

namespace tp::wire::packed {

// The most bytes one entry takes: a 32-bit gap (5 bytes) and a counter up to 2^48 (7 bytes).
inline constexpr std::size_t max_entry_bytes = 12;

std::size_t size(std::span<const tp::clock::Entry> entries) noexcept;

// Writes size(entries) bytes at `out`. The entries are a VectorClock's: sorted, unique.
void write(std::span<const tp::clock::Entry> entries, std::byte* out) noexcept;

// What is wrong with packed bytes, and where (for DecodeError's detail).
struct Fault {
    enum class Kind : std::uint8_t { too_many, malformed } kind;
    std::string detail;
};

// Reads at most `limit` entries into `out` (room for `limit`), each counter in 1..max_counter;
// returns the count, or the fault.
struct Unpacked {
    std::size_t count = 0;
    std::optional<Fault> fault;
};
Unpacked read(std::span<const std::byte> bytes, std::size_t limit, std::uint64_t max_counter,
              tp::clock::Entry* out);

}  // namespace tp::wire::packed
