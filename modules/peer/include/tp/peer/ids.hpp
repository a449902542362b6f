#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <string>

namespace tp::peer {

// Lot and request ids are `(incarnation << 32) | counter`: unique across a peer's lives, but
// unreadable as one number. Logs show them as "incarnation.counter", e.g. "6.3".
inline std::string short_id(std::uint64_t id) {
    return fmt::format("{}.{}", id >> 32, id & 0xffff'ffffu);
}

// "lot 6.3" and "req 2.17", the way every log line names them.
inline std::string lot_text(std::uint64_t id) {
    return "lot " + short_id(id);
}
inline std::string request_text(std::uint64_t id) {
    return "req " + short_id(id);
}

// "1 unit", "2 units", "0 units": a count with its noun, singular only for exactly one.
// Nouns here take a plain "s" (unit, trader, failure, request, event, payment, byte).
inline std::string plural(std::uint64_t n, const char* noun) {
    return fmt::format("{} {}{}", n, noun, n == 1 ? "" : "s");
}

}  // namespace tp::peer
