#pragma once

#include <asio/associated_allocator.hpp>
#include <asio/associated_cancellation_slot.hpp>
#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/cancellation_type.hpp>
#include <asio/error.hpp>
#include <asio/post.hpp>
#include <asio/recycling_allocator.hpp>
#include <asio/steady_timer.hpp>
#include <memory>
#include <optional>
#include <system_error>
#include <utility>
#include <vector>

#include "tp/runtime/runtime.hpp"

namespace tp::runtime {

// The one timer type: asio::steady_timer underneath in real time, the runtime's heap in virtual
// time. Like asio's timers: setting the expiry cancels pending waits, a wait completes with
// operation_aborted when cancelled (cancel(), expiry change, destruction, or per-operation
// cancellation through the handler's cancellation slot, as `co_await (a || timer.async_wait())`
// does to the loser), and with no error when the expiry is reached.
class Timer {
public:
    explicit Timer(Runtime& runtime);
    Timer(Runtime& runtime, Duration after) : Timer(runtime) { expires_after(after); }
    ~Timer();
    Timer(const Timer&) = delete;
    Timer& operator=(const Timer&) = delete;

    Runtime& runtime() const noexcept { return *runtime_; }
    std::uint64_t id() const noexcept { return id_; }
    TimePoint expiry() const noexcept { return expiry_; }

    // Each cancels pending waits and returns how many.
    std::size_t expires_at(TimePoint t);
    std::size_t expires_after(Duration d) { return expires_at(runtime_->now() + d); }
    std::size_t cancel();

    // Completion signature void(std::error_code).
    template <typename Token>
    auto async_wait(Token&& token) {
        return asio::async_initiate<Token, void(std::error_code)>(
            [this](auto handler) { initiate(std::move(handler)); }, token);
    }

private:
    template <typename Handler>
    struct Wait;
    template <typename Handler>
    friend struct Wait;
    friend class Runtime;

    template <typename Handler>
    void initiate(Handler handler);
    void detach(detail::VirtualWait* wait) noexcept;

    Runtime* runtime_;
    std::uint64_t id_;
    TimePoint expiry_{};
    std::optional<asio::steady_timer> steady_;
    std::vector<detail::VirtualWait*> waits_;  // pending virtual waits on this timer
};

template <typename Handler>
struct Timer::Wait : detail::VirtualWait {
    using allocator_type = typename std::allocator_traits<asio::associated_allocator_t<
        Handler, asio::recycling_allocator<void>>>::template rebind_alloc<Wait>;

    explicit Wait(Handler&& h) : handler(std::move(h)) {}
    Handler handler;

    static void finish_fn(detail::VirtualWait* base, std::error_code ec, bool invoke) {
        auto* self = static_cast<Wait*>(base);
        auto slot = asio::get_associated_cancellation_slot(self->handler);
        if (slot.is_connected()) slot.clear();
        allocator_type alloc(
            asio::get_associated_allocator(self->handler, asio::recycling_allocator<void>()));
        Handler h(std::move(self->handler));
        Runtime* rt = self->runtime;
        std::allocator_traits<allocator_type>::destroy(alloc, self);
        std::allocator_traits<allocator_type>::deallocate(alloc, self, 1);
        if (!invoke || rt == nullptr) return;
        auto ex = asio::get_associated_executor(h, rt->get_executor());
        asio::post(ex, [h = std::move(h), ec]() mutable { std::move(h)(ec); });
    }
};

template <typename Handler>
void Timer::initiate(Handler handler) {
    if (steady_) {
        steady_->async_wait(std::move(handler));
        return;
    }
    using W = Wait<Handler>;
    typename W::allocator_type alloc(
        asio::get_associated_allocator(handler, asio::recycling_allocator<void>()));
    W* w = std::allocator_traits<typename W::allocator_type>::allocate(alloc, 1);
    std::allocator_traits<typename W::allocator_type>::construct(alloc, w, std::move(handler));
    w->deadline = expiry_;
    w->owner = this;
    w->runtime = runtime_;
    w->finish = &W::finish_fn;
    auto slot = asio::get_associated_cancellation_slot(w->handler);
    if (slot.is_connected()) {
        slot.assign([w, rt = runtime_](asio::cancellation_type type) {
            if ((type & (asio::cancellation_type::terminal | asio::cancellation_type::partial |
                         asio::cancellation_type::total)) != asio::cancellation_type::none)
                rt->cancel(w);
        });
    }
    waits_.push_back(w);
    runtime_->schedule(w);
}

}  // namespace tp::runtime
