#include "tp/runtime/runtime.hpp"

#include <asio/error.hpp>
#include <asio/post.hpp>
#include <algorithm>
#include <string>

#include "tp/runtime/timer.hpp"

namespace tp::runtime {

// Virtual time runs on one thread by definition, so the io_context may skip its locks.
namespace {

std::string to_ms(TimePoint at) {
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(at.time_since_epoch());
    std::string frac = std::to_string(us.count() % 1000);
    return std::to_string(us.count() / 1000) + "." + std::string(3 - frac.size(), '0') + frac +
           " ms";
}

}  // namespace

Livelock::Livelock(TimePoint at, std::uint64_t handlers)
    : std::runtime_error("livelock: more than " + std::to_string(handlers) +
                         " handlers ran at virtual time " + to_ms(at) +
                         " and time never moved on"),
      at_(at) {}

Runtime::Runtime(Mode mode)
    : io_(mode == Mode::virtual_time ? ASIO_CONCURRENCY_HINT_UNSAFE : 1),
      mode_(mode),
      start_(std::chrono::steady_clock::now()) {}

Runtime::~Runtime() {
    shutting_down_ = true;
    // Destroying a parked handler may destroy the coroutine frame that owns another timer; that
    // timer then finds its waits already detached (or detaches them itself) and touches no heap.
    std::vector<detail::VirtualWait*> parked;
    parked.swap(heap_);
    for (auto* w : parked) {
        if (w->owner) w->owner->detach(w);
        w->owner = nullptr;
        w->finish(w, {}, false);
    }
}

TimePoint Runtime::now() const noexcept {
    if (is_virtual()) return virtual_now_;
    return TimePoint(
        std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - start_));
}

std::size_t Runtime::run() {
    stopped_ = false;
    if (!is_virtual()) {
        io_.restart();
        return io_.run();
    }
    return run_virtual(nullptr);
}

std::size_t Runtime::run_until(TimePoint deadline) {
    stopped_ = false;
    if (!is_virtual()) {
        io_.restart();
        const auto left = deadline - now();
        return left > Duration::zero() ? io_.run_for(left) : io_.poll();
    }
    return run_virtual(&deadline);
}

void Runtime::stop() {
    stopped_ = true;
    io_.stop();
}

std::size_t Runtime::run_virtual(const TimePoint* bound) {
    std::size_t handlers = 0, fires = 0;
    at_instant_ = 0;  // a livelock never returns from one run, so one run's count is enough
    for (;;) {
        io_.restart();
        if (instant_limit_ == 0) {
            handlers += io_.poll();
        } else {
            while (io_.poll_one() != 0) {
                ++handlers;
                if (++at_instant_ > instant_limit_) throw Livelock(virtual_now_, instant_limit_);
            }
        }
        if (stopped_) return handlers - std::min(fires, handlers);
        // Waits on `never` only end when woken: they are not something to run.
        if (heap_.empty() || heap_.front()->deadline == never) break;
        if (bound && heap_.front()->deadline > *bound) break;
        // Nothing runnable: jump to the earliest deadline and resume every wait due then, from
        // inside the io_context (the next poll), where Asio recycles the memory a completion
        // takes and gives back: from outside, each wait's block and posted handler went to the
        // heap and back.
        if (heap_.front()->deadline != virtual_now_) at_instant_ = 0;
        virtual_now_ = heap_.front()->deadline;
        asio::post(io_, [this] {
            while (!heap_.empty() && heap_.front()->deadline == virtual_now_) {
                detail::VirtualWait* w = heap_.front();
                heap_remove(0);
                Timer* owner = w->owner;
                trace_.record(virtual_now_, EventKind::timer_fired, 0, 0,
                              owner ? owner->id() : 0, w->seq);
                if (owner) owner->detach(w);
                w->finish(w, {}, true);
            }
        });
        ++fires;  // not one of the caller's handlers
    }
    if (bound && *bound > virtual_now_) {
        virtual_now_ = *bound;
        at_instant_ = 0;
    }
    return handlers - std::min(fires, handlers);
}

void Runtime::schedule(detail::VirtualWait* w) {
    w->seq = next_seq_++;
    w->heap_index = heap_.size();
    heap_.push_back(w);
    sift_up(w->heap_index);
}

void Runtime::cancel(detail::VirtualWait* w) {
    heap_remove(w->heap_index);
    if (w->owner) w->owner->detach(w);
    w->finish(w, asio::error::operation_aborted, true);
}

void Runtime::heap_remove(std::size_t index) {
    const std::size_t last = heap_.size() - 1;
    if (index != last) {
        heap_[index] = heap_[last];
        heap_[index]->heap_index = index;
        heap_.pop_back();
        if (index > 0 && earlier(heap_[index], heap_[(index - 1) / 2]))
            sift_up(index);
        else
            sift_down(index);
    } else {
        heap_.pop_back();
    }
}

void Runtime::sift_up(std::size_t i) {
    detail::VirtualWait* w = heap_[i];
    while (i > 0) {
        const std::size_t parent = (i - 1) / 2;
        if (!earlier(w, heap_[parent])) break;
        heap_[i] = heap_[parent];
        heap_[i]->heap_index = i;
        i = parent;
    }
    heap_[i] = w;
    w->heap_index = i;
}

void Runtime::sift_down(std::size_t i) {
    const std::size_t n = heap_.size();
    detail::VirtualWait* w = heap_[i];
    for (;;) {
        std::size_t child = 2 * i + 1;
        if (child >= n) break;
        if (child + 1 < n && earlier(heap_[child + 1], heap_[child])) ++child;
        if (!earlier(heap_[child], w)) break;
        heap_[i] = heap_[child];
        heap_[i]->heap_index = i;
        i = child;
    }
    heap_[i] = w;
    w->heap_index = i;
}

}  // namespace tp::runtime
