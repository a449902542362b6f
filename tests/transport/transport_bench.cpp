// Transport and runtime figures, side by side in one run (a plain program printing a table):
//   raw UDP ping-pong with blocking sockets on two threads (the limit), the same through
//   UdpTransport (two coroutines on one io_context, and two threads with one io_context each),
//   a MemoryNetwork hop, UDP loss under a burst, and a timer-heavy scenario in virtual vs real
//   time. Usage: transport-bench [round_trips]   (default 50000)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <asio/experimental/awaitable_operators.hpp>
#include <asio/use_awaitable.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "helpers.hpp"
#include "tp/runtime/timer.hpp"
#include "tp/transport/memory_network.hpp"
#include "tp/transport/udp_transport.hpp"

using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
using namespace tp::transport;
using tp::runtime::Duration;
using tp::runtime::Mode;
using tp::runtime::Runtime;
using tp::runtime::TimePoint;
using tp::runtime::Timer;
using tp::test::spawn;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::size_t kPayload = 64;

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

void row(const char* name, double value, const char* unit, const std::string& note = "") {
    std::printf("| %-44s | %12.3f | %-6s | %s\n", name, value, unit, note.c_str());
}

// ---- raw blocking sockets: the limit ----

int bound_socket(sockaddr_in& addr) {
    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) throw std::runtime_error("socket");
    addr = {};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
        throw std::runtime_error("bind");
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    return fd;
}

double raw_round_trip_us(int n) {
    sockaddr_in a{}, b{};
    const int fa = bound_socket(a), fb = bound_socket(b);
    std::thread echo([&] {
        char buf[kPayload];
        sockaddr_in from{};
        for (int i = 0; i < n + 1000; ++i) {
            socklen_t len = sizeof from;
            const auto got =
                ::recvfrom(fb, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
            ::sendto(fb, buf, static_cast<std::size_t>(got), 0, reinterpret_cast<sockaddr*>(&from),
                     len);
        }
    });
    char buf[kPayload] = {};
    Clock::time_point start;
    for (int i = 0; i < n + 1000; ++i) {
        if (i == 1000) start = Clock::now();  // after warm-up
        ::sendto(fa, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&b), sizeof b);
        ::recv(fa, buf, sizeof buf, 0);
    }
    const double us = seconds_since(start) * 1e6 / n;
    echo.join();
    ::close(fa);
    ::close(fb);
    return us;
}

// ---- UdpTransport ----

asio::awaitable<void> echo_server(Transport& t, int count) {
    std::array<std::byte, kPayload> buf;
    for (int i = 0; i < count; ++i) {
        auto d = co_await t.receive(buf);
        if (!d) co_return;
        co_await t.send(d->from, std::span(buf).first(d->size));
    }
}

asio::awaitable<void> ping_client(Transport& t, PeerId server, int warmup, int n, double& us) {
    std::array<std::byte, kPayload> buf{};
    Clock::time_point start;
    for (int i = 0; i < warmup + n; ++i) {
        if (i == warmup) start = Clock::now();
        co_await t.send(server, buf);
        if (!co_await t.receive(buf)) co_return;
    }
    us = seconds_since(start) * 1e6 / n;
}

double udp_one_context_us(int n) {
    Runtime rt;
    UdpTransport a(rt.get_executor(), 1, UdpConfig{}), b(rt.get_executor(), 2, UdpConfig{});
    a.address_book().add(2, b.local_endpoint());
    b.address_book().add(1, a.local_endpoint());
    double us = 0;
    spawn(rt, [&]() { return echo_server(b, n + 1000); });
    spawn(rt, [&]() { return ping_client(a, 2, 1000, n, us); });
    rt.run();
    return us;
}

double udp_two_threads_us(int n) {
    Runtime rt_a, rt_b;
    UdpTransport a(rt_a.get_executor(), 1, UdpConfig{}), b(rt_b.get_executor(), 2, UdpConfig{});
    a.address_book().add(2, b.local_endpoint());
    b.address_book().add(1, a.local_endpoint());
    double us = 0;
    spawn(rt_b, [&]() { return echo_server(b, n + 1000); });
    spawn(rt_a, [&]() { return ping_client(a, 2, 1000, n, us); });
    std::thread server([&] { rt_b.run(); });
    rt_a.run();
    server.join();
    return us;
}

// A sender thread blasts `n` datagrams with a raw socket; UdpTransport receives until 200 ms of
// silence. Returns the fraction received.
double udp_burst_received(int n, double& rate_per_s) {
    Runtime rt;
    UdpTransport rx(rt.get_executor(), 2, UdpConfig{});
    sockaddr_in src{};
    const int fd = bound_socket(src);
    rx.address_book().add(
        1, asio::ip::udp::endpoint(asio::ip::address_v4::loopback(), ntohs(src.sin_port)));
    sockaddr_in dst{};
    dst.sin_family = AF_INET;
    dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    dst.sin_port = htons(rx.local_endpoint().port());
    int received = 0;
    Clock::time_point first, last;
    // The receiver loops on receive alone; a watchdog closes it after 200 ms without progress
    // (a `receive || timer` per datagram would measure the awaitable operators instead).
    spawn(rt, [&]() -> asio::awaitable<void> {
        std::array<std::byte, kPayload> buf;
        while (co_await rx.receive(buf)) {
            if (received++ == 0) first = Clock::now();
            last = Clock::now();
        }
    });
    spawn(rt, [&]() -> asio::awaitable<void> {
        Timer tick(rt);
        for (int seen = -1; seen != received;) {
            seen = received;
            tick.expires_after(200ms);
            co_await tick.async_wait(asio::use_awaitable);
        }
        rx.close();
    });
    std::thread blaster([&] {
        char buf[kPayload] = {};
        for (int i = 0; i < n; ++i)
            ::sendto(fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&dst), sizeof dst);
    });
    rt.run();
    blaster.join();
    ::close(fd);
    rate_per_s = received / std::chrono::duration<double>(last - first).count();
    return static_cast<double>(received) / n;
}

// ---- MemoryNetwork ----

double memory_hop_ns(int n) {
    Runtime rt(Mode::virtual_time);
    MemoryNetwork net(rt, tp::runtime::Rng(1));
    auto a = net.attach(1), b = net.attach(2);
    double us = 0;
    spawn(rt, [&]() { return echo_server(*b, n + 1000); });
    spawn(rt, [&]() { return ping_client(*a, 2, 1000, n, us); });
    rt.run();
    return us * 1000 / 2;  // a round trip is two hops
}

// ---- timers: virtual vs real ----

// `tasks` coroutines each wake every `period` until `span` has passed. Returns wall seconds.
double timer_scenario(Mode mode, int tasks, Duration period, Duration span, long& wakes) {
    Runtime rt(mode);
    wakes = 0;
    for (int i = 0; i < tasks; ++i) {
        spawn(rt, [&, i]() -> asio::awaitable<void> {
            Timer t(rt);
            // Staggered start so wakes do not all coincide.
            TimePoint next = TimePoint(period * i / tasks);
            while (next < TimePoint(span)) {
                t.expires_at(next);
                co_await t.async_wait(asio::use_awaitable);
                ++wakes;
                next += period;
            }
        });
    }
    const auto start = Clock::now();
    rt.run();
    return seconds_since(start);
}

}  // namespace

int main(int argc, char** argv) {
    const int n = argc > 1 ? std::atoi(argv[1]) : 50'000;
    // Optional section: udp, memory or timers (for profiling one part under callgrind).
    const std::string only = argc > 2 ? argv[2] : "";
    const auto want = [&](const char* section) { return only.empty() || only == section; };
    std::printf("round trips: %d, payload %zu bytes, loopback\n\n", n, kPayload);
    std::printf("| %-44s | %12s | %-6s | %s\n", "measurement", "value", "unit", "note");
    std::printf("|%s|%s|%s|%s\n", std::string(46, '-').c_str(), std::string(14, '-').c_str(),
                std::string(8, '-').c_str(), "---");

    if (want("udp")) {
        const double raw = raw_round_trip_us(n);
        row("raw UDP round trip (blocking, 2 threads)", raw, "us", "the limit");
        const double one = udp_one_context_us(n);
        row("UdpTransport round trip (1 io_context)", one, "us",
            "x" + std::to_string(one / raw).substr(0, 4) + " of raw");
        const double two = udp_two_threads_us(n);
        row("UdpTransport round trip (2 threads)", two, "us",
            "x" + std::to_string(two / raw).substr(0, 4) + " of raw");
    }
    if (want("memory")) {
        const double hop = memory_hop_ns(n * 10);
        row("MemoryNetwork hop (send + receive)", hop, "ns", "target < 500 ns");
    }
    if (want("udp")) {
        double rate = 0;
        const int burst = 200'000;
        const double got = udp_burst_received(burst, rate);
        row("UDP burst: received of 200k sent", got * 100, "%",
            "loss " + std::to_string((1 - got) * 100).substr(0, 5) + "%");
        row("UDP burst: receive rate", rate / 1e3, "k/s");
    }
    if (want("timers")) {
        // Speed-up = simulated seconds per wall second, so it depends on how many wakes a
        // simulated second holds: shown at 10k wakes/s (100 tasks, 10 ms period) and at 1k
        // wakes/s (100 peers with 100 ms heartbeats).
        long real_wakes = 0, dense_wakes = 0, sparse_wakes = 0;
        const double real_wall = timer_scenario(Mode::real_time, 100, 10ms, 1s, real_wakes);
        const double dense_wall = timer_scenario(Mode::virtual_time, 100, 10ms, 100s, dense_wakes);
        const double sparse_wall =
            timer_scenario(Mode::virtual_time, 100, 100ms, 1000s, sparse_wakes);
        const double real_speed = 1.0 / real_wall;
        row("timers, real time, 10k wakes/s: speed", real_speed, "x",
            std::to_string(real_wakes) + " wakes in " + std::to_string(real_wall).substr(0, 5) +
                " s");
        row("timers, virtual, 10k wakes/s: speed", 100.0 / dense_wall, "x",
            std::to_string(dense_wakes) + " wakes in " + std::to_string(dense_wall).substr(0, 5) +
                " s");
        row("timers, virtual, 1k wakes/s: speed", 1000.0 / sparse_wall, "x",
            std::to_string(sparse_wakes) + " wakes in " + std::to_string(sparse_wall).substr(0, 5) +
                " s");
        row("virtual time per wake", dense_wall * 1e9 / static_cast<double>(dense_wakes), "ns");
        row("virtual vs real, 10k wakes/s", 100.0 / dense_wall / real_speed, "x",
            "target >= 1000x");
        row("virtual vs real, 1k wakes/s", 1000.0 / sparse_wall / real_speed, "x",
            "target >= 1000x");
    }
    return 0;
}
