#include "tp/market/types.hpp"

#include <ostream>

#include "tp/market/events.hpp"
#include "wide.hpp"

namespace tp::market {

Money commission_for(Money amount, std::uint32_t commission_ppm) noexcept {
    // Fast path: amount x ppm fits in 64 bits, and a division by a constant is a multiply.
    constexpr Money fast_limit = static_cast<Money>(UINT64_MAX / 2 / ppm_one);
    if (amount >= 0 && amount <= fast_limit && commission_ppm <= ppm_one)
        return static_cast<Money>(
            (static_cast<std::uint64_t>(amount) * commission_ppm + ppm_one / 2) / ppm_one);
    // 128-bit intermediate: amount x ppm overflows 64 bits for amounts above ~9.2e12.
    const detail::Int128 scaled = static_cast<detail::Int128>(amount) * commission_ppm;
    const detail::Int128 half = ppm_one / 2;
    const detail::Int128 q =
        scaled >= 0 ? (scaled + half) / ppm_one : -((-scaled + half - 1) / ppm_one);
    return static_cast<Money>(q);
}

const char* to_string(RefuseReason reason) noexcept {
    switch (reason) {
        case RefuseReason::no_seller: return "no seller";
        case RefuseReason::insufficient_stock: return "insufficient stock";
        case RefuseReason::invalid_request: return "invalid request";
        case RefuseReason::amount_overflow: return "amount overflow";
    }
    return "unknown reason";
}

const char* to_string(BuyStatus status) noexcept {
    switch (status) {
        case BuyStatus::filled: return "filled";
        case BuyStatus::partial: return "partial";
        case BuyStatus::refused: return "refused";
    }
    return "unknown status";
}

const char* to_string(DepositStatus status) noexcept {
    switch (status) {
        case DepositStatus::accepted: return "accepted";
        case DepositStatus::duplicate: return "duplicate";
        case DepositStatus::rejected: return "rejected";
    }
    return "unknown status";
}

const char* to_string(DepositError error) noexcept {
    switch (error) {
        case DepositError::none: return "none";
        case DepositError::zero_quantity: return "zero quantity";
        case DepositError::negative_price: return "negative price";
        case DepositError::too_large: return "quantity x unit price too large";
        case DepositError::conflicting_duplicate: return "lot id reused with different contents";
    }
    return "unknown error";
}

const char* to_string(ErrorCode code) noexcept {
    switch (code) {
        case ErrorCode::malformed: return "malformed";
        case ErrorCode::invalid: return "invalid";
        case ErrorCode::inconsistent: return "inconsistent";
    }
    return "unknown error";
}

std::ostream& operator<<(std::ostream& out, RefuseReason v) {
    return out << to_string(v);
}
std::ostream& operator<<(std::ostream& out, BuyStatus v) {
    return out << to_string(v);
}
std::ostream& operator<<(std::ostream& out, DepositStatus v) {
    return out << to_string(v);
}
std::ostream& operator<<(std::ostream& out, DepositError v) {
    return out << to_string(v);
}
std::ostream& operator<<(std::ostream& out, ErrorCode v) {
    return out << to_string(v);
}

const char* event_name(const Event& event) noexcept {
    static constexpr const char* names[] = {"Deposited",    "BuyQueued",   "BuyFilled",
                                            "BuyRefused",   "PaymentAcked", "MemberJoined",
                                            "MemberLeft",   "VoterChanged"};
    static_assert(std::size(names) == std::variant_size_v<Event>);
    return names[event.index()];
}

}  // namespace tp::market
