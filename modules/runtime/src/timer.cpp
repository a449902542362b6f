#include "tp/runtime/timer.hpp"

#include <algorithm>

namespace tp::runtime {

Timer::Timer(Runtime& runtime) : runtime_(&runtime), id_(runtime.next_timer_id()) {
    if (!runtime.is_virtual()) steady_.emplace(runtime.context());
}

Timer::~Timer() {
    if (waits_.empty()) return;
    if (runtime_->shutting_down()) {
        // The runtime is destroying its parked waits; it must not post to us any more.
        for (auto* w : waits_) w->owner = nullptr;
        waits_.clear();
        return;
    }
    cancel();
}

std::size_t Timer::expires_at(TimePoint t) {
    expiry_ = t;
    if (steady_) {
        return steady_->expires_at(t == never
                                       ? asio::steady_timer::time_point::max()
                                       : runtime_->steady_epoch() + t.time_since_epoch());
    }
    return cancel();
}

std::size_t Timer::cancel() {
    if (steady_) return steady_->cancel();
    std::size_t n = 0;
    while (!waits_.empty()) {
        runtime_->cancel(waits_.back());  // detaches it from waits_
        ++n;
    }
    return n;
}

void Timer::detach(detail::VirtualWait* w) noexcept {
    auto it = std::find(waits_.begin(), waits_.end(), w);
    if (it == waits_.end()) return;
    *it = waits_.back();
    waits_.pop_back();
}

}  // namespace tp::runtime
