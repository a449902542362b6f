#pragma once

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "tp/clock/vector_clock.hpp"
#include "tp/market/member.hpp"

namespace tp::market {

using PeerId = clock::PeerId;
using ProductId = std::uint16_t;
using Money = std::int64_t;  // integer minor units
using Quantity = std::uint32_t;
using LotId = std::uint64_t;
using RequestId = std::uint64_t;
using PaymentId = std::uint64_t;

// The market's notion of time: a time_point of its own clock tag, with no now(), so the module can
// never read a real clock. The driver converts its steady or virtual time by time_since_epoch().
struct MarketClock {
    using rep = std::int64_t;
    using period = std::nano;
    using duration = std::chrono::nanoseconds;
    using time_point = std::chrono::time_point<MarketClock>;
    static constexpr bool is_steady = true;
};
using Duration = MarketClock::duration;
using TimePoint = MarketClock::time_point;

inline constexpr std::uint32_t ppm_one = 1'000'000;

struct Config {
    // Commission in parts per million of the amount: 100'000 is 10%.
    std::uint32_t commission_ppm = 100'000;
    // When true every buy may be partially filled; otherwise only buys that ask for it.
    bool allow_partial_fills = false;
    // How long buy requests are collected before a batch is ordered and processed; 0 processes
    // each request on arrival.
    Duration batch_window{0};
    // The market's members when it starts (the cluster's config); joins and leaves follow as
    // events. Empty: a market without a registry (the books alone, as in their unit tests).
    std::vector<Member> founders;

    friend bool operator==(const Config&, const Config&) = default;
};

// round(amount * ppm / 1e6), half up, exact for every non-negative int64 amount and ppm <= 1e6.
Money commission_for(Money amount, std::uint32_t commission_ppm) noexcept;

// Money arithmetic that never wraps: nullopt when the exact result does not fit in Money. Every
// running total (the books', a summary's, a checker's) adds through these.
inline std::optional<Money> checked_add(Money a, Money b) noexcept {
    Money sum = 0;
    if (__builtin_add_overflow(a, b, &sum)) return std::nullopt;
    return sum;
}
inline std::optional<Money> checked_sub(Money a, Money b) noexcept {
    Money difference = 0;
    if (__builtin_sub_overflow(a, b, &difference)) return std::nullopt;
    return difference;
}
inline std::optional<Money> checked_mul(Money a, Money b) noexcept {
    Money product = 0;
    if (__builtin_mul_overflow(a, b, &product)) return std::nullopt;
    return product;
}

enum class RefuseReason : std::uint8_t {
    no_seller,           // nothing of that product in stock from any seller
    insufficient_stock,  // some stock, less than asked, and no partial fill allowed
    invalid_request,     // zero quantity
    amount_overflow,     // the sale, or a running total it adds to, would not fit in Money
};

enum class BuyStatus : std::uint8_t { filled, partial, refused };

enum class DepositStatus : std::uint8_t {
    accepted,   // a new lot
    duplicate,  // the same lot again (a retry): nothing changed
    rejected,
};

enum class DepositError : std::uint8_t {
    none,
    zero_quantity,
    negative_price,
    too_large,              // quantity x unit price does not fit in Money
    conflicting_duplicate,  // the seller reused a lot id with different contents
};

const char* to_string(RefuseReason reason) noexcept;
const char* to_string(BuyStatus status) noexcept;
const char* to_string(DepositStatus status) noexcept;
const char* to_string(DepositError error) noexcept;

std::ostream& operator<<(std::ostream& out, RefuseReason reason);
std::ostream& operator<<(std::ostream& out, BuyStatus status);
std::ostream& operator<<(std::ostream& out, DepositStatus status);
std::ostream& operator<<(std::ostream& out, DepositError error);

enum class ErrorCode : std::uint8_t {
    malformed,     // bytes that are not a valid message of the schema
    invalid,       // a well-formed message with a value out of range
    inconsistent,  // an event or snapshot that contradicts the books it is applied to
};

const char* to_string(ErrorCode code) noexcept;
std::ostream& operator<<(std::ostream& out, ErrorCode code);

struct Error {
    ErrorCode code;
    std::string message;  // names what is wrong and where
};

// A value or an Error, for decoding and replaying bytes that may be corrupt.
template <class T>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::move(value)) {}
    Result(Error error) : v_(std::move(error)) {}

    bool ok() const noexcept { return v_.index() == 0; }
    explicit operator bool() const noexcept { return ok(); }
    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    // On a success, a placeholder (so a diagnostic that mentions it is always safe).
    const Error& error() const noexcept {
        static const Error none{ErrorCode::invalid, "no error"};
        return ok() ? none : *std::get_if<1>(&v_);
    }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

private:
    std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Error error) : error_(std::move(error)), ok_(false) {}

    bool ok() const noexcept { return ok_; }
    explicit operator bool() const noexcept { return ok_; }
    const Error& error() const { return error_; }

private:
    Error error_{ErrorCode::invalid, {}};
    bool ok_ = true;
};

using Status = Result<void>;

}  // namespace tp::market
