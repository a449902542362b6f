#pragma once

#include <compare>
#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <span>
#include <string>
#include <vector>

namespace tp::clock {

using PeerId = std::uint32_t;
using Counter = std::uint64_t;

// The largest counter an entry reaches: 2^48 ticks (nine years at a million a second). tick()
// stops there rather than go on, so a clock inflated by a hostile message can never grow past
// what the wire accepts, and the sum of even a 4096-entry clock stays far inside 64 bits.
inline constexpr Counter max_counter = Counter{1} << 48;

struct Entry {
    PeerId peer;
    Counter counter;

    friend bool operator==(const Entry&, const Entry&) = default;
};

// How two vector clocks relate under happened-before.
enum class Order { before, after, equal, concurrent };

const char* to_string(Order order) noexcept;

// A sparse vector clock: only peers that have ticked appear, so peers may join at any time and a
// missing entry reads as zero. Entries are kept sorted by peer id with no zero counters, which
// makes the representation canonical (equal clocks compare equal entry by entry) and lets compare
// and merge run as one linear merge-join.
class VectorClock {
public:
    VectorClock() = default;

    // Dense form, as in the textbook: counters[i] is peer i's entry.
    VectorClock(std::initializer_list<Counter> counters);

    // Sparse form; entries may come in any order, zeros are dropped, duplicates are an error.
    static VectorClock from_entries(std::span<const Entry> entries);

    Counter get(PeerId peer) const noexcept;
    void set(PeerId peer, Counter counter);

    // A local event or a send at `self`. Saturates at max_counter.
    void tick(PeerId self);
    // Element-wise maximum.
    void merge(const VectorClock& other);
    // A receive at `self`: merge, then tick.
    void receive(PeerId self, const VectorClock& other);

    // Bounded forms for clocks from the network: entries of peers outside `members` (sorted,
    // unique; self included) are ignored, so a peer can never make another's clock name peers
    // that do not exist. Each returns how many entries it ignored. Allocates only when it ignores
    // some, or when a member appears for the first time.
    std::size_t merge(const VectorClock& other, std::span<const PeerId> members);
    std::size_t receive(PeerId self, const VectorClock& other, std::span<const PeerId> members);

    // Sum of all counters: strictly grows along happened-before, so it seeds the total order.
    Counter sum() const noexcept;

    std::span<const Entry> entries() const noexcept { return entries_; }
    std::size_t size() const noexcept { return entries_.size(); }
    bool empty() const noexcept { return entries_.empty(); }
    void reserve(std::size_t n) { entries_.reserve(n); }
    void clear() noexcept { entries_.clear(); }

    // Canonical text, e.g. "{0:1, 2:5}".
    std::string to_string() const;

    friend bool operator==(const VectorClock&, const VectorClock&) = default;

private:
    std::vector<Entry> entries_;
};

Order compare(const VectorClock& a, const VectorClock& b) noexcept;

inline bool happened_before(const VectorClock& a, const VectorClock& b) noexcept {
    return compare(a, b) == Order::before;
}

inline bool concurrent(const VectorClock& a, const VectorClock& b) noexcept {
    return compare(a, b) == Order::concurrent;
}

std::ostream& operator<<(std::ostream& out, Order order);
std::ostream& operator<<(std::ostream& out, const VectorClock& clock);

// A strict total order on (clock, origin) pairs that extends happened-before: by clock sum, then by
// the origin peer id, then by the entries themselves (so distinct stamps never tie). If a happened
// before b, then a < b.
std::strong_ordering total_order(const VectorClock& a, PeerId a_origin, const VectorClock& b,
                                 PeerId b_origin) noexcept;

// A Lamport clock with the same discipline: tick on local events and sends, merge on receive.
class LamportClock {
public:
    LamportClock() = default;
    explicit LamportClock(Counter value) : value_(value) {}

    Counter tick() noexcept { return ++value_; }
    void merge(Counter other) noexcept { value_ = other > value_ ? other : value_; }
    // A receive: merge, then tick.
    Counter receive(Counter other) noexcept {
        merge(other);
        return tick();
    }
    Counter value() const noexcept { return value_; }

    friend auto operator<=>(const LamportClock&, const LamportClock&) = default;

private:
    Counter value_ = 0;
};

}  // namespace tp::clock
