#pragma once

#include <array>
#include <asio/co_spawn.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include "tp/runtime/runtime.hpp"
#include "tp/runtime/timer.hpp"
#include "tp/transport/transport.hpp"

namespace tp::test {

inline void rethrow(std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
}

// Spawns a coroutine lambda on the runtime; co_spawn keeps the closure alive while it runs, and
// an exception escaping the coroutine escapes Runtime::run() and fails the test.
template <typename F>
void spawn(runtime::Runtime& rt, F&& coroutine) {
    asio::co_spawn(rt.get_executor(), std::forward<F>(coroutine), rethrow);
}

inline std::span<const std::byte> bytes(std::string_view s) {
    return std::as_bytes(std::span<const char>(s.data(), s.size()));
}

inline std::string_view text(std::span<const std::byte> b) {
    return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// A fixed-width little record: (a, b) as two 32-bit words.
inline std::array<std::byte, 8> pack(std::uint32_t a, std::uint32_t b) {
    std::array<std::byte, 8> out;
    std::memcpy(out.data(), &a, 4);
    std::memcpy(out.data() + 4, &b, 4);
    return out;
}

inline std::pair<std::uint32_t, std::uint32_t> unpack(std::span<const std::byte> in) {
    std::uint32_t a = 0, b = 0;
    if (in.size() >= 8) {
        std::memcpy(&a, in.data(), 4);
        std::memcpy(&b, in.data() + 4, 4);
    }
    return {a, b};
}

// Receives on `t` until one datagram arrives or 5 s pass (then the caller's check fails).
inline asio::awaitable<std::optional<std::string>> receive_bounded(runtime::Runtime& rt,
                                                                   transport::Transport& t,
                                                                   std::span<std::byte> buf) {
    using namespace asio::experimental::awaitable_operators;
    runtime::Timer limit(rt, std::chrono::seconds(5));
    auto r = co_await (t.receive(buf) || limit.async_wait(asio::use_awaitable));
    if (r.index() == 1) co_return std::nullopt;
    auto& d = std::get<0>(r);
    if (!d) co_return std::nullopt;
    co_return std::string(text(buf.first(d->size)));
}

// try_receive without letting the loop run, retried (yielding the thread) until a datagram is
// there or 1000 tries fail: loopback delivers within the send, the retries are for when it does
// not at once.
inline std::optional<std::string> try_receive_bounded(transport::Transport& t,
                                                      std::span<std::byte> buf) {
    for (int i = 0; i < 1000; ++i) {
        if (auto d = t.try_receive(buf)) return std::string(text(buf.first(d->size)));
        std::this_thread::yield();
    }
    return std::nullopt;
}

}  // namespace tp::test
