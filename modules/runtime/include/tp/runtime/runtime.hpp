#pragma once

#include <asio/io_context.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <system_error>
#include <vector>

#include "tp/runtime/clock.hpp"
#include "tp/runtime/trace.hpp"

namespace tp::runtime {

enum class Mode { real_time, virtual_time };

class Timer;
class Runtime;

// Virtual time only: more handlers ran at one instant than Runtime::limit_instant allows. Time
// never moves on in such a run (handlers that keep each other busy at zero delay), so it is
// reported, never run for ever.
class Livelock : public std::runtime_error {
public:
    Livelock(TimePoint at, std::uint64_t handlers);
    TimePoint at() const noexcept { return at_; }

private:
    TimePoint at_;
};

namespace detail {

// A parked virtual-timer wait: the heap entry and the type-erased completion handler.
struct VirtualWait {
    // Completes (invoke = true: posts the handler with ec) or just destroys the handler, then
    // frees the wait.
    using Finish = void (*)(VirtualWait*, std::error_code ec, bool invoke);

    TimePoint deadline{};
    std::uint64_t seq = 0;
    std::size_t heap_index = 0;
    Timer* owner = nullptr;
    Runtime* runtime = nullptr;
    Finish finish = nullptr;
};

}  // namespace detail

// Owns the io_context of one run, its time and its trace.
//
// Real time: run() is io_context::run(); now() is steady time since construction.
// Virtual time: time stands still while anything is runnable. run() polls every ready handler;
// when none is left it pops the earliest timer deadline, sets now to it, and resumes every wait
// due then. It returns when nothing is runnable and no timer is due before `never`. One thread only.
class Runtime {
public:
    using executor_type = asio::io_context::executor_type;

    explicit Runtime(Mode mode = Mode::real_time);
    ~Runtime();
    Runtime(const Runtime&) = delete;
    Runtime& operator=(const Runtime&) = delete;

    Mode mode() const noexcept { return mode_; }
    bool is_virtual() const noexcept { return mode_ == Mode::virtual_time; }

    asio::io_context& context() noexcept { return io_; }
    executor_type get_executor() noexcept { return io_.get_executor(); }

    TimePoint now() const noexcept;

    // Each returns the number of handlers run. run_until/run_for in virtual mode leave now() at
    // the bound if they reach it (time passes even when nothing happens).
    std::size_t run();
    std::size_t run_until(TimePoint deadline);
    std::size_t run_for(Duration d) { return run_until(now() + d); }
    // Makes the current run return soon; the next run() starts afresh.
    void stop();
    // Virtual time: a run throws Livelock once more than `handlers` ran at one instant (0, the
    // default: no bound). The bound costs a look per handler.
    void limit_instant(std::uint64_t handlers) noexcept { instant_limit_ = handlers; }

    Trace& trace() noexcept { return trace_; }
    const Trace& trace() const noexcept { return trace_; }

    // Virtual waits parked in the heap (always 0 in real time).
    std::size_t pending_timers() const noexcept { return heap_.size(); }

    // Used by Timer.
    void schedule(detail::VirtualWait* wait);
    void cancel(detail::VirtualWait* wait);
    std::uint64_t next_timer_id() noexcept { return ++timer_ids_; }
    std::chrono::steady_clock::time_point steady_epoch() const noexcept { return start_; }
    bool shutting_down() const noexcept { return shutting_down_; }

private:
    std::size_t run_virtual(const TimePoint* bound);
    void heap_remove(std::size_t index);
    void sift_up(std::size_t index);
    void sift_down(std::size_t index);
    bool earlier(const detail::VirtualWait* a, const detail::VirtualWait* b) const noexcept {
        return a->deadline < b->deadline || (a->deadline == b->deadline && a->seq < b->seq);
    }

    asio::io_context io_;  // first member: destroyed last, after the heap is emptied
    Mode mode_;
    std::chrono::steady_clock::time_point start_;
    TimePoint virtual_now_{};
    std::vector<detail::VirtualWait*> heap_;
    std::uint64_t next_seq_ = 0;
    std::uint64_t timer_ids_ = 0;
    bool stopped_ = false;
    bool shutting_down_ = false;
    std::uint64_t instant_limit_ = 0;
    std::uint64_t at_instant_ = 0;  // handlers run since virtual_now_ last moved
    Trace trace_;
};

}  // namespace tp::runtime
