#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "tp/market/events.hpp"
#include "tp/market/types.hpp"

namespace tp::market {

// Events as the journal stores them: one Cap'n Proto message (schema books.capnp), unpacked, flat.
// Decoding reads with strict limits (traversal bounded by the input size, shallow nesting) and
// returns an Error naming what is wrong for any malformed or out-of-range input.

std::vector<std::byte> encode(const Event& event);
// Replaces out's contents, reusing its capacity.
void encode(const Event& event, std::vector<std::byte>& out);

Result<Event> decode_event(std::span<const std::byte> bytes);

}  // namespace tp::market
