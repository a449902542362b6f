#pragma once

// What the driver's files (node, node_reign, behaviour) share: how a loop notices a stop, and one
// reign's hold on the trader's journal.

#include <asio/awaitable.hpp>
#include <asio/cancellation_state.hpp>
#include <asio/error.hpp>
#include <functional>
#include <memory>
#include <system_error>
#include <vector>

#include "tp/peer/journal.hpp"
#include "tp/peer/node.hpp"
#include "tp/runtime/timer.hpp"

namespace tp::peer {

// After each wait, a loop under run() asks whether stop() cancelled it (Asio 1.22 has no
// this_coro::throw_if_cancelled): `throw_if_cancelled(co_await this_coro::cancellation_state)`.
inline void throw_if_cancelled(const asio::cancellation_state& state) {
    if (state.cancelled() != asio::cancellation_type::none) {
        throw std::system_error(asio::error::operation_aborted);
    }
}

// One of `pool`'s recycled objects, or a new one.
template <typename T>
T take_pooled(std::vector<T>& pool) {
    if (pool.empty()) return T{};
    T taken = std::move(pool.back());
    pool.pop_back();
    return taken;
}

// Disk work (a sync, a snapshot) on the pool's thread. The work is a parameter, so the
// coroutine's frame holds it (a lambda's capture would die with the lambda before the coroutine
// runs).
inline asio::awaitable<void> run_on_pool(std::function<void()> work) {
    work();
    co_return;
}

// One reign as trader: the journal that makes the core's books durable. Shared with serve(), so
// it lives until that ends (an fdatasync in flight holds the journal open).
struct Node::Reign {
    explicit Reign(runtime::Runtime& rt) : wake(rt) {}

    wire::Epoch epoch = 0;
    std::shared_ptr<Journal> journal;  // set once open
    runtime::Timer wake;               // serve()'s: a record to sync, a release, the end
    bool served = false;               // the reign loop has taken it
    bool active = true;                // false once stepped down
};

}  // namespace tp::peer
