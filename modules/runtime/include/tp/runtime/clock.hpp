#pragma once

#include <chrono>
#include <cstdint>
#include <iosfwd>

namespace tp::runtime {

// The clock tag of every runtime: time since the runtime started, in nanoseconds, whether that
// time is real (steady) or virtual. It has no static now(): the Runtime that owns a run answers
// that, so sans-IO modules can take plain TimePoint values without knowing which mode they run in.
struct Clock {
    using rep = std::int64_t;
    using period = std::nano;
    using duration = std::chrono::nanoseconds;
    using time_point = std::chrono::time_point<Clock, duration>;
    static constexpr bool is_steady = true;
};

using Duration = Clock::duration;
using TimePoint = Clock::time_point;

// A deadline that never comes: a wait on it ends only when woken or cancelled. Virtual time never
// jumps to it (a run with nothing else to do returns), and real time never overflows on it.
inline constexpr TimePoint never = TimePoint::max();

// Prints nanoseconds since the start of the run, e.g. "1500000ns".
std::ostream& operator<<(std::ostream& out, TimePoint t);

}  // namespace tp::runtime
