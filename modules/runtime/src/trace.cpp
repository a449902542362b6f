#include "tp/runtime/trace.hpp"

#include <ostream>

namespace tp::runtime {

std::ostream& operator<<(std::ostream& out, TimePoint t) {
    return out << t.time_since_epoch().count() << "ns";
}

const char* to_string(EventKind kind) noexcept {
    switch (kind) {
        case EventKind::send: return "send";
        case EventKind::deliver: return "deliver";
        case EventKind::drop: return "drop";
        case EventKind::duplicate: return "duplicate";
        case EventKind::timer_fired: return "timer";
        case EventKind::user: return "user";
    }
    return "unknown";
}

void Trace::record(const TraceEvent& e) {
    // Multiply-rotate chaining over the fields: order-sensitive (a reordering of the same events
    // changes the hash) and a few instructions per word, since every message records events.
    auto step = [](std::uint64_t h, std::uint64_t w) {
        return ((h << 23 | h >> 41) ^ w) * 0x9e3779b97f4a7c15ULL;
    };
    std::uint64_t h = hash_;
    h = step(h, static_cast<std::uint64_t>(e.time.time_since_epoch().count()));
    h = step(h, static_cast<std::uint64_t>(e.kind) << 56 ^
                    static_cast<std::uint64_t>(e.from) << 24 ^ e.to);
    h = step(h, e.id);
    h = step(h, e.value);
    hash_ = h;
    ++count_;
    ++per_kind_[static_cast<std::size_t>(e.kind)];
    if (keep_) events_.push_back(e);
}

void Trace::clear() noexcept {
    hash_ = kInitialHash;
    count_ = 0;
    for (auto& c : per_kind_) c = 0;
    events_.clear();
}

void Trace::write_text(std::ostream& out) const {
    for (const auto& e : events_) {
        out << e.time.time_since_epoch().count() << ' ' << to_string(e.kind) << ' ' << e.from << ' '
            << e.to << ' ' << e.id << ' ' << e.value << '\n';
    }
}

}  // namespace tp::runtime
