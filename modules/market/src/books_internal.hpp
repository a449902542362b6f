#pragma once

// Helpers shared by the books' commands and fold (books.cpp) and their invariants
// (invariants.cpp).

#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>

#include "tp/market/events.hpp"
#include "tp/market/types.hpp"
#include "wide.hpp"

namespace tp::market::detail {

inline constexpr Money money_max = std::numeric_limits<Money>::max();

inline Error inconsistent(std::string message) {
    return Error{ErrorCode::inconsistent, std::move(message)};
}
inline Error invalid(std::string message) {
    return Error{ErrorCode::invalid, std::move(message)};
}

// An event the books themselves built failed to apply: a bug, never bad input.
[[noreturn]] inline void internal_error(const Error& e) {
    throw std::logic_error("tp::market: own event rejected: " + e.message);
}

inline std::string key_text(const char* what, PeerId peer, std::uint64_t id) {
    return std::string(what) + " (" + std::to_string(peer) + ", " + std::to_string(id) + ")";
}

inline DepositError validate_deposit(const Deposited& d) noexcept {
    if (d.quantity == 0) return DepositError::zero_quantity;
    if (d.unit_price < 0) return DepositError::negative_price;
    // Every sale of this lot, whole or in part, then fits in Money.
    if (static_cast<Int128>(d.quantity) * d.unit_price > money_max) return DepositError::too_large;
    return DepositError::none;
}

}  // namespace tp::market::detail
