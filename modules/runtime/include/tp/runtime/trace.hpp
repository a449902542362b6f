#pragma once

#include <cstdint>
#include <iosfwd>
#include <vector>

#include "tp/runtime/clock.hpp"

namespace tp::runtime {

enum class EventKind : std::uint8_t { send, deliver, drop, duplicate, timer_fired, user };

const char* to_string(EventKind kind) noexcept;

// One line of a run's history. Meaning of the fields by kind:
//   send, deliver, drop, duplicate: from -> to, id = message id, value = size (drop: reason code)
//   timer_fired: id = timer id, value = wait sequence number
//   user: the caller's own code in value, with from/to/id as it likes
struct TraceEvent {
    TimePoint time{};
    EventKind kind = EventKind::user;
    std::uint32_t from = 0;
    std::uint32_t to = 0;
    std::uint64_t id = 0;
    std::uint64_t value = 0;

    friend bool operator==(const TraceEvent&, const TraceEvent&) = default;
};

// The history of a run: an incremental 64-bit hash that identifies it (two runs with the same
// events in the same order have the same hash), and optionally every event kept for export.
class Trace {
public:
    void record(const TraceEvent& event);
    void record(TimePoint time, EventKind kind, std::uint32_t from, std::uint32_t to,
                std::uint64_t id, std::uint64_t value) {
        record(TraceEvent{time, kind, from, to, id, value});
    }

    std::uint64_t hash() const noexcept { return hash_; }
    std::uint64_t count() const noexcept { return count_; }
    // Number of events of one kind since the last clear().
    std::uint64_t count(EventKind kind) const noexcept {
        return per_kind_[static_cast<std::size_t>(kind)];
    }

    // Keep every event in memory (off by default: only the hash and counts are kept).
    void keep_events(bool keep) noexcept { keep_ = keep; }
    bool keeps_events() const noexcept { return keep_; }
    const std::vector<TraceEvent>& events() const noexcept { return events_; }

    void clear() noexcept;

    // One event per line: "<ns> <kind> <from> <to> <id> <value>".
    void write_text(std::ostream& out) const;

private:
    std::uint64_t hash_ = kInitialHash;
    std::uint64_t count_ = 0;
    std::uint64_t per_kind_[6] = {};
    bool keep_ = false;
    std::vector<TraceEvent> events_;

    static constexpr std::uint64_t kInitialHash = 0x6a09e667f3bcc908ULL;
};

}  // namespace tp::runtime
