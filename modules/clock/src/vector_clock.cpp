#include "tp/clock/vector_clock.hpp"

#include <algorithm>
#include <ostream>
#include <stdexcept>

namespace tp::clock {

const char* to_string(Order order) noexcept {
    switch (order) {
        case Order::before: return "before";
        case Order::after: return "after";
        case Order::equal: return "equal";
        case Order::concurrent: return "concurrent";
    }
    return "?";
}

namespace {

Entry* lower_bound(detail::ClockEntries& entries, PeerId peer) {
    return std::lower_bound(entries.begin(), entries.end(), peer,
                            [](const Entry& e, PeerId p) { return e.peer < p; });
}

}  // namespace

VectorClock::VectorClock(std::initializer_list<Counter> counters) {
    PeerId peer = 0;
    for (Counter c : counters) {
        if (c != 0) entries_.push_back({peer, c});
        ++peer;
    }
}

VectorClock VectorClock::from_entries(std::span<const Entry> entries) {
    VectorClock clock;
    clock.entries_.reserve(entries.size());
    for (const Entry& e : entries) {
        if (e.counter != 0) clock.entries_.push_back(e);
    }
    const auto by_peer = [](const Entry& x, const Entry& y) { return x.peer < y.peer; };
    // Decoded clocks come sorted: check in one pass rather than sort again.
    if (!std::is_sorted(clock.entries_.begin(), clock.entries_.end(), by_peer)) {
        std::sort(clock.entries_.begin(), clock.entries_.end(), by_peer);
    }
    auto dup = std::adjacent_find(clock.entries_.begin(), clock.entries_.end(),
                                  [](const Entry& x, const Entry& y) { return x.peer == y.peer; });
    if (dup != clock.entries_.end()) {
        throw std::invalid_argument("vector clock: peer " + std::to_string(dup->peer) +
                                    " appears twice");
    }
    return clock;
}

Counter VectorClock::get(PeerId peer) const noexcept {
    auto it = std::lower_bound(entries_.begin(), entries_.end(), peer,
                               [](const Entry& e, PeerId p) { return e.peer < p; });
    return it != entries_.end() && it->peer == peer ? it->counter : 0;
}

void VectorClock::set(PeerId peer, Counter counter) {
    auto it = lower_bound(entries_, peer);
    if (it != entries_.end() && it->peer == peer) {
        if (counter == 0) {
            entries_.erase(it);
        } else {
            it->counter = counter;
        }
    } else if (counter != 0) {
        entries_.insert(it, {peer, counter});
    }
}

void VectorClock::tick(PeerId self) {
    auto it = lower_bound(entries_, self);
    if (it != entries_.end() && it->peer == self) {
        if (it->counter < max_counter) ++it->counter;
    } else {
        entries_.insert(it, {self, 1});
    }
}

void VectorClock::merge(const VectorClock& other) {
    const auto& theirs = other.entries_;
    // Fast path: every peer of theirs is already known here, so merge in place with no allocation.
    auto mine = entries_.begin();
    bool subset = true;
    for (const Entry& t : theirs) {
        while (mine != entries_.end() && mine->peer < t.peer) ++mine;
        if (mine == entries_.end() || mine->peer != t.peer) {
            subset = false;
            break;
        }
        if (t.counter > mine->counter) mine->counter = t.counter;
        ++mine;
    }
    if (subset) return;

    // The union's size first: a clock that fits inline stays there.
    std::size_t united = 0;
    for (const Entry *a = entries_.begin(), *b = theirs.begin(); a != entries_.end() || b != theirs.end();
         ++united) {
        if (b == theirs.end() || (a != entries_.end() && a->peer < b->peer)) {
            ++a;
        } else if (a == entries_.end() || b->peer < a->peer) {
            ++b;
        } else {
            ++a;
            ++b;
        }
    }
    detail::ClockEntries merged;
    merged.reserve(united);
    auto a = entries_.begin();
    auto b = theirs.begin();
    while (a != entries_.end() || b != theirs.end()) {
        if (b == theirs.end() || (a != entries_.end() && a->peer < b->peer)) {
            merged.push_back(*a++);
        } else if (a == entries_.end() || b->peer < a->peer) {
            merged.push_back(*b++);
        } else {
            merged.push_back({a->peer, std::max(a->counter, b->counter)});
            ++a;
            ++b;
        }
    }
    entries_ = std::move(merged);
}

void VectorClock::receive(PeerId self, const VectorClock& other) {
    merge(other);
    tick(self);
}

std::size_t VectorClock::merge(const VectorClock& other, std::span<const PeerId> members) {
    // Merge-join their entries against the members; the common case ignores none.
    std::size_t foreign = 0;
    auto m = members.begin();
    for (const Entry& t : other.entries_) {
        while (m != members.end() && *m < t.peer) ++m;
        if (m == members.end() || *m != t.peer) ++foreign;
    }
    if (foreign == 0) {
        merge(other);
        return 0;
    }
    VectorClock known;
    known.entries_.reserve(other.entries_.size() - foreign);
    m = members.begin();
    for (const Entry& t : other.entries_) {
        while (m != members.end() && *m < t.peer) ++m;
        if (m != members.end() && *m == t.peer) known.entries_.push_back(t);
    }
    merge(known);
    return foreign;
}

std::size_t VectorClock::receive(PeerId self, const VectorClock& other,
                                 std::span<const PeerId> members) {
    const std::size_t foreign = merge(other, members);
    tick(self);
    return foreign;
}

std::size_t VectorClock::retain(std::span<const PeerId> members) {
    std::size_t forgotten = 0;
    for (Entry* e = entries_.end(); e != entries_.begin();) {
        --e;
        if (!std::binary_search(members.begin(), members.end(), e->peer)) {
            entries_.erase(e);
            ++forgotten;
        }
    }
    return forgotten;
}

Counter VectorClock::sum() const noexcept {
    Counter total = 0;
    for (const Entry& e : entries_) total += e.counter;
    return total;
}

std::string VectorClock::to_string() const {
    std::string out = "{";
    for (std::size_t i = 0; i < entries_.size(); ++i) {
        if (i != 0) out += ", ";
        out += std::to_string(entries_[i].peer);
        out += ':';
        out += std::to_string(entries_[i].counter);
    }
    out += '}';
    return out;
}

namespace {

// Once peers have talked for a while their clocks name the same peers: compare entry by entry,
// without the merge-join's branches. Returns false if the peer sets differ.
bool compare_same_peers(std::span<const Entry> x, std::span<const Entry> y, bool& less,
                        bool& greater) noexcept {
    if (x.size() != y.size()) return false;
    bool same = true;
    for (std::size_t i = 0; i < x.size(); ++i) {
        same &= x[i].peer == y[i].peer;
        less |= x[i].counter < y[i].counter;
        greater |= x[i].counter > y[i].counter;
    }
    return same;
}

}  // namespace

Order compare(const VectorClock& x, const VectorClock& y) noexcept {
    // less: some entry of x is below y's; greater: some entry of x is above y's.
    bool less = false;
    bool greater = false;
    if (compare_same_peers(x.entries(), y.entries(), less, greater)) {
        if (less && greater) return Order::concurrent;
        if (less) return Order::before;
        if (greater) return Order::after;
        return Order::equal;
    }
    less = greater = false;
    auto a = x.entries().begin();
    auto a_end = x.entries().end();
    auto b = y.entries().begin();
    auto b_end = y.entries().end();
    while (a != a_end || b != b_end) {
        if (b == b_end || (a != a_end && a->peer < b->peer)) {
            greater = true;  // y reads zero here, x does not
            ++a;
        } else if (a == a_end || b->peer < a->peer) {
            less = true;
            ++b;
        } else {
            if (a->counter < b->counter) less = true;
            if (a->counter > b->counter) greater = true;
            ++a;
            ++b;
        }
        if (less && greater) return Order::concurrent;
    }
    if (less) return Order::before;
    if (greater) return Order::after;
    return Order::equal;
}

std::ostream& operator<<(std::ostream& out, Order order) {
    return out << to_string(order);
}

std::ostream& operator<<(std::ostream& out, const VectorClock& clock) {
    return out << clock.to_string();
}

std::strong_ordering total_order(const VectorClock& a, PeerId a_origin, const VectorClock& b,
                                 PeerId b_origin) noexcept {
    if (auto c = a.sum() <=> b.sum(); c != 0) return c;
    if (auto c = a_origin <=> b_origin; c != 0) return c;
    auto ea = a.entries();
    auto eb = b.entries();
    return std::lexicographical_compare_three_way(ea.begin(), ea.end(), eb.begin(), eb.end(),
                                                  [](const Entry& x, const Entry& y) {
                                                      if (auto c = x.peer <=> y.peer; c != 0)
                                                          return c;
                                                      return x.counter <=> y.counter;
                                                  });
}

}  // namespace tp::clock
