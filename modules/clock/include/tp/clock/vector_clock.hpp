#pragma once

#include <algorithm>
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

namespace detail {

// A clock's entries: inline up to inline_capacity, on the heap beyond. Every message carries a
// clock, so a market of up to that many peers stamps, copies and decodes clocks without touching
// the heap; a larger one spills and works as a std::vector would.
class ClockEntries {
public:
    static constexpr std::size_t inline_capacity = 8;

    ClockEntries() noexcept = default;
    ClockEntries(const ClockEntries& other) { assign(other.begin(), other.end()); }
    ClockEntries(ClockEntries&& other) noexcept { take(other); }
    ClockEntries& operator=(const ClockEntries& other) {
        if (this != &other) assign(other.begin(), other.end());
        return *this;
    }
    ClockEntries& operator=(ClockEntries&& other) noexcept {
        if (this != &other) take(other);
        return *this;
    }
    ~ClockEntries() = default;

    Entry* data() noexcept { return on_heap_ ? heap_.data() : inline_; }
    const Entry* data() const noexcept { return on_heap_ ? heap_.data() : inline_; }
    std::size_t size() const noexcept { return on_heap_ ? heap_.size() : size_; }
    bool empty() const noexcept { return size() == 0; }
    Entry& operator[](std::size_t i) noexcept { return data()[i]; }
    const Entry& operator[](std::size_t i) const noexcept { return data()[i]; }
    Entry* begin() noexcept { return data(); }
    Entry* end() noexcept { return data() + size(); }
    const Entry* begin() const noexcept { return data(); }
    const Entry* end() const noexcept { return data() + size(); }

    void reserve(std::size_t n) {
        if (n > inline_capacity && !on_heap_) spill(n);
        if (on_heap_) heap_.reserve(n);
    }
    void clear() noexcept {
        heap_.clear();
        size_ = 0;
    }
    void push_back(const Entry& e) {
        if (!on_heap_ && size_ < inline_capacity) {
            inline_[size_++] = e;
            return;
        }
        if (!on_heap_) spill(size_ + 1);
        heap_.push_back(e);
    }
    Entry* insert(Entry* at, const Entry& e) {
        const auto i = static_cast<std::size_t>(at - data());
        if (!on_heap_ && size_ < inline_capacity) {
            for (std::size_t k = size_; k > i; --k) inline_[k] = inline_[k - 1];
            inline_[i] = e;
            ++size_;
            return inline_ + i;
        }
        if (!on_heap_) spill(size_ + 1);
        return &*heap_.insert(heap_.begin() + static_cast<std::ptrdiff_t>(i), e);
    }
    void erase(Entry* at) {
        const auto i = static_cast<std::size_t>(at - data());
        if (on_heap_) {
            heap_.erase(heap_.begin() + static_cast<std::ptrdiff_t>(i));
            return;
        }
        for (std::size_t k = i + 1; k < size_; ++k) inline_[k - 1] = inline_[k];
        --size_;
    }

    friend bool operator==(const ClockEntries& a, const ClockEntries& b) noexcept {
        return std::equal(a.begin(), a.end(), b.begin(), b.end());
    }

private:
    void assign(const Entry* first, const Entry* last) {
        const auto n = static_cast<std::size_t>(last - first);
        if (on_heap_ || n > inline_capacity) {
            if (!on_heap_) spill(n);
            heap_.assign(first, last);
            return;
        }
        // Bounded for the optimizer too (g++ 12 at -O3 cannot see n <= inline_capacity here).
        std::copy_n(first, std::min(n, inline_capacity), inline_);
        size_ = static_cast<std::uint32_t>(n);
    }
    void take(ClockEntries& other) noexcept {
        if (other.on_heap_) {
            heap_ = std::move(other.heap_);
            on_heap_ = true;
            size_ = 0;
            other.heap_.clear();
            other.on_heap_ = false;
        } else {
            heap_.clear();
            on_heap_ = false;
            const std::size_t n = std::min<std::size_t>(other.size_, inline_capacity);
            std::copy_n(other.inline_, n, inline_);
            size_ = static_cast<std::uint32_t>(n);
        }
        other.size_ = 0;
    }
    void spill(std::size_t capacity) {
        heap_.reserve(capacity > 2 * inline_capacity ? capacity : 2 * inline_capacity);
        heap_.assign(inline_, inline_ + std::min<std::size_t>(size_, inline_capacity));
        size_ = 0;
        on_heap_ = true;
    }

    Entry inline_[inline_capacity]{};
    std::vector<Entry> heap_;  // every entry once spilled (on_heap_)
    std::uint32_t size_ = 0;   // inline entries, while !on_heap_
    bool on_heap_ = false;
};

}  // namespace detail

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
    // Forgets the entries of peers outside `members` (sorted, unique): a peer that left the
    // market is no longer counted, so clocks stay as small as the membership. Returns how many.
    std::size_t retain(std::span<const PeerId> members);

    // Sum of all counters: strictly grows along happened-before, so it seeds the total order.
    Counter sum() const noexcept;

    std::span<const Entry> entries() const noexcept { return {entries_.data(), entries_.size()}; }
    std::size_t size() const noexcept { return entries_.size(); }
    bool empty() const noexcept { return entries_.empty(); }
    void reserve(std::size_t n) { entries_.reserve(n); }
    void clear() noexcept { entries_.clear(); }

    // Canonical text, e.g. "{0:1, 2:5}".
    std::string to_string() const;

    friend bool operator==(const VectorClock&, const VectorClock&) = default;

private:
    detail::ClockEntries entries_;
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
