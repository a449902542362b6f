#include <asio/experimental/awaitable_operators.hpp>
#include <asio/use_awaitable.hpp>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <map>
#include <memory>
#include <vector>

#include "helpers.hpp"
#include "tp/runtime/timer.hpp"
#include "tp/transport/memory_network.hpp"

using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
using namespace tp::transport;
using tp::runtime::EventKind;
using tp::runtime::Mode;
using tp::runtime::Rng;
using tp::runtime::Runtime;
using tp::runtime::TimePoint;
using tp::runtime::Timer;
using tp::test::pack;
using tp::test::spawn;
using tp::test::unpack;

namespace {

constexpr int N = 10'000;

// |observed - n p| within k standard deviations of a binomial(n, p) count.
bool within_sigma(double observed, double n, double p, double k = 5) {
    return std::abs(observed - n * p) <= k * std::sqrt(n * p * (1 - p));
}

template <typename F>
LinkFaults faults(F set) {
    LinkFaults f;
    set(f);
    return f;
}

struct Arrival {
    std::uint32_t seq;
    TimePoint at;
};

// A virtual-time network with peers 0..n-1 attached.
struct Fixture {
    Runtime rt{Mode::virtual_time};
    MemoryNetwork net{rt, Rng(2026)};
    std::vector<std::unique_ptr<MemoryEndpoint>> peers;
    explicit Fixture(int n = 2) {
        for (int i = 0; i < n; ++i) peers.push_back(net.attach(static_cast<PeerId>(i)));
    }
    // Peer `to` records every arrival until closed.
    void collect(PeerId to, std::vector<Arrival>& out) {
        spawn(rt, [this, to, &out]() -> asio::awaitable<void> {
            std::array<std::byte, 64> buf;
            while (auto d = co_await peers[to]->receive(buf))
                out.push_back({unpack(std::span(buf).first(d->size)).second, rt.now()});
        });
    }
    // Peer `from` sends `count` numbered datagrams to `to` at once.
    void burst(PeerId from, PeerId to, int count) {
        spawn(rt, [this, from, to, count]() -> asio::awaitable<void> {
            for (int i = 0; i < count; ++i)
                co_await peers[from]->send(to, pack(from, static_cast<std::uint32_t>(i)));
        });
    }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(memory_network)

BOOST_AUTO_TEST_CASE(delivers_in_order_without_faults_and_counts) {
    Fixture f;
    std::vector<Arrival> got;
    f.collect(1, got);
    f.burst(0, 1, 100);
    f.rt.run();
    BOOST_REQUIRE(got.size() == 100u);
    for (std::uint32_t i = 0; i < 100; ++i) BOOST_TEST(got[i].seq == i);
    const auto c = f.net.counters(0, 1);
    BOOST_TEST(c.sent == 100u);
    BOOST_TEST(c.delivered == 100u);
    BOOST_TEST(c.dropped == 0u);
    BOOST_TEST(f.rt.trace().count(EventKind::send) == 100u);
    BOOST_TEST(f.rt.trace().count(EventKind::deliver) == 100u);
}

// The outsider's tap: every datagram a peer sends, in order, even one the link then loses, and a
// paused peer's when they leave; never an injected one.
BOOST_AUTO_TEST_CASE(the_tap_hears_what_peers_send_but_not_injections) {
    Fixture f(3);
    f.net.set_faults(faults([](LinkFaults& l) { l.drop = 1.0; }));
    std::vector<std::pair<PeerId, std::uint32_t>> heard;
    f.net.set_tap([&](PeerId from, PeerId to, std::span<const std::byte> data) {
        BOOST_TEST(to == (from + 1) % 3);
        heard.emplace_back(from, unpack(data).second);
    });
    f.burst(0, 1, 3);
    f.rt.run();
    f.net.inject(2, 1, pack(2, 99));
    f.net.pause(1);
    f.burst(1, 2, 2);
    f.rt.run();
    BOOST_TEST(heard.size() == 3u);  // the paused peer's datagrams have not left
    f.net.resume(1);
    f.net.set_tap({});
    f.burst(2, 0, 1);  // no tap: unheard
    f.rt.run();
    const std::vector<std::pair<PeerId, std::uint32_t>> expected{
        {0, 0}, {0, 1}, {0, 2}, {1, 0}, {1, 1}};
    BOOST_TEST((heard == expected));
    BOOST_TEST(f.net.counters(0, 1).dropped == 3u);
}

BOOST_AUTO_TEST_CASE(drop_happens_at_its_rate) {
    Fixture f;
    f.net.set_faults(faults([](auto& f) { f.drop = 0.2; }));
    std::vector<Arrival> got;
    f.collect(1, got);
    f.burst(0, 1, N);
    f.rt.run();
    const auto c = f.net.counters(0, 1);
    BOOST_TEST(c.sent == static_cast<std::uint64_t>(N));
    BOOST_TEST(within_sigma(static_cast<double>(c.dropped), N, 0.2));
    BOOST_TEST(c.delivered + c.dropped == c.sent);
    BOOST_TEST(got.size() == c.delivered);
    BOOST_TEST(f.rt.trace().count(EventKind::drop) == c.dropped);
}

BOOST_AUTO_TEST_CASE(duplicate_happens_at_its_rate) {
    Fixture f;
    f.net.set_faults(faults([](auto& f) { f.duplicate = 0.1; }));
    std::vector<Arrival> got;
    f.collect(1, got);
    f.burst(0, 1, N);
    f.rt.run();
    const auto c = f.net.counters(0, 1);
    BOOST_TEST(within_sigma(static_cast<double>(c.duplicated), N, 0.1));
    BOOST_TEST(c.delivered == N + c.duplicated);
    BOOST_TEST(got.size() == c.delivered);
    // Every sequence number arrives at least once, the duplicated ones exactly twice.
    std::map<std::uint32_t, int> seen;
    for (auto& a : got) ++seen[a.seq];
    BOOST_TEST(seen.size() == static_cast<std::size_t>(N));
    std::uint64_t twice = 0;
    for (auto& [seq, n] : seen) twice += n == 2;
    BOOST_TEST(twice == c.duplicated);
}

BOOST_AUTO_TEST_CASE(uniform_delay_stays_in_its_range_with_the_right_mean) {
    Fixture f;
    f.net.set_faults(faults([](auto& f) { f.delay = Delay{5ms, 10ms, Delay::Jitter::uniform}; }));
    std::vector<Arrival> got;
    f.collect(1, got);
    f.burst(0, 1, N);
    f.rt.run();
    BOOST_REQUIRE(got.size() == static_cast<std::size_t>(N));
    double sum = 0;
    for (auto& a : got) {
        BOOST_REQUIRE(a.at >= TimePoint(5ms));
        BOOST_REQUIRE(a.at <= TimePoint(15ms));
        sum += std::chrono::duration<double, std::milli>(a.at.time_since_epoch()).count();
    }
    // Mean 10 ms, standard deviation 10/sqrt(12) ms per sample.
    BOOST_TEST(std::abs(sum / N - 10.0) < 5 * (10.0 / std::sqrt(12.0)) / std::sqrt(N));
    // Delays differ, so arrivals are out of send order.
    bool reordered = false;
    for (std::size_t i = 1; i < got.size(); ++i) reordered |= got[i].seq < got[i - 1].seq;
    BOOST_TEST(reordered);
}

BOOST_AUTO_TEST_CASE(exponential_delay_has_the_right_mean) {
    Fixture f;
    f.net.set_faults(faults([](auto& f) {
        f.delay = Delay{1ms, 4ms, Delay::Jitter::exponential};
    }));
    std::vector<Arrival> got;
    f.collect(1, got);
    f.burst(0, 1, N);
    f.rt.run();
    BOOST_REQUIRE(got.size() == static_cast<std::size_t>(N));
    double sum = 0;
    for (auto& a : got) {
        BOOST_REQUIRE(a.at >= TimePoint(1ms));
        sum += std::chrono::duration<double, std::milli>(a.at.time_since_epoch()).count();
    }
    // Exponential jitter: mean 4 ms and standard deviation 4 ms.
    BOOST_TEST(std::abs(sum / N - 5.0) < 5 * 4.0 / std::sqrt(N));
}

BOOST_AUTO_TEST_CASE(reorder_holds_back_at_its_rate_and_later_datagrams_overtake) {
    Fixture f;
    f.net.set_faults(faults([](auto& f) {
        f.reorder = 0.1;
        f.reorder_delay = 1ms;
    }));
    std::vector<Arrival> got;
    f.collect(1, got);
    f.burst(0, 1, N);
    f.rt.run();
    const auto c = f.net.counters(0, 1);
    BOOST_TEST(within_sigma(static_cast<double>(c.reordered), N, 0.1));
    BOOST_REQUIRE(got.size() == static_cast<std::size_t>(N));
    // Held-back datagrams arrive 1 ms late, after the ones sent after them.
    std::uint64_t late = 0;
    std::uint32_t highest = 0;
    for (auto& a : got) {
        if (a.seq < highest) ++late;
        highest = std::max(highest, a.seq);
        if (a.at == TimePoint(1ms)) BOOST_TEST(a.seq <= highest);
    }
    BOOST_TEST(late <= c.reordered);
    BOOST_TEST(late + 50 >= c.reordered);  // only held-back ones at the very end stay in order
}

BOOST_AUTO_TEST_CASE(per_link_faults_override_the_global_ones) {
    Fixture f(3);
    f.net.set_link_faults(0, 2, faults([](auto& f) { f.drop = 1.0; }));
    std::vector<Arrival> at1, at2;
    f.collect(1, at1);
    f.collect(2, at2);
    f.burst(0, 1, 100);
    f.burst(0, 2, 100);
    f.rt.run();
    BOOST_TEST(at1.size() == 100u);
    BOOST_TEST(at2.empty());
    BOOST_TEST(f.net.counters(0, 2).dropped == 100u);
    // Clearing the override restores the global (fault-free) setting while running.
    f.net.clear_link_faults(0, 2);
    f.burst(0, 2, 10);
    f.rt.run();
    BOOST_TEST(at2.size() == 10u);
}

BOOST_AUTO_TEST_CASE(partitions_cut_exactly_the_links_they_name) {
    constexpr int n = 4;
    Fixture f(n);
    std::vector<std::vector<Arrival>> got(n);
    for (int p = 0; p < n; ++p) f.collect(p, got[p]);
    // Sends one datagram on every link and reports which links delivered it, from the
    // per-link counters.
    auto deliveries = [&]() {
        std::vector<std::vector<std::uint64_t>> d(n, std::vector<std::uint64_t>(n, 0));
        for (int a = 0; a < n; ++a)
            for (int b = 0; b < n; ++b) d[a][b] = f.net.counters(a, b).delivered;
        return d;
    };
    auto delivered_now = [&]() {
        const auto before = deliveries();
        for (int a = 0; a < n; ++a)
            for (int b = 0; b < n; ++b)
                if (a != b) f.burst(a, b, 1);
        f.rt.run();
        const auto after = deliveries();
        std::vector<std::vector<bool>> up(n, std::vector<bool>(n, false));
        for (int a = 0; a < n; ++a)
            for (int b = 0; b < n; ++b) up[a][b] = after[a][b] > before[a][b];
        return up;
    };
    // Step 1: a one-way cut 1 -> 2; 2 -> 1 and every other link stay up.
    f.net.cut(1, 2);
    auto up = delivered_now();
    for (int a = 0; a < n; ++a)
        for (int b = 0; b < n; ++b)
            if (a != b) BOOST_TEST(up[a][b] == !(a == 1 && b == 2), a << "->" << b);
    BOOST_TEST(f.net.is_cut(1, 2));
    BOOST_TEST(!f.net.is_cut(2, 1));
    // Step 2: a partition {0,1} | {2,3} cuts exactly the links across the groups, both ways.
    f.net.heal();
    f.net.partition({{0, 1}, {2, 3}});
    up = delivered_now();
    for (int a = 0; a < n; ++a)
        for (int b = 0; b < n; ++b)
            if (a != b) BOOST_TEST(up[a][b] == ((a < 2) == (b < 2)), a << "->" << b);
    // Step 3: healing brings every link back.
    f.net.heal();
    up = delivered_now();
    for (int a = 0; a < n; ++a)
        for (int b = 0; b < n; ++b)
            if (a != b) BOOST_TEST(up[a][b], a << "->" << b);
    BOOST_TEST(f.rt.trace().count(EventKind::drop) == 1u + 8u);
}

BOOST_AUTO_TEST_CASE(crash_closes_the_endpoint_and_drops_traffic_until_recovery) {
    Fixture f(3);
    bool closed_seen = false;
    // Step 1: peer 2 waits for a datagram; the crash ends that wait with "closed".
    spawn(f.rt, [&]() -> asio::awaitable<void> {
        std::array<std::byte, 64> buf;
        auto d = co_await f.peers[2]->receive(buf);
        closed_seen = !d.has_value();
    });
    f.rt.run();
    f.net.crash(2);
    f.rt.run();
    BOOST_TEST(closed_seen);
    BOOST_TEST(!f.peers[2]->is_open());
    // Step 2: traffic to and from the crashed peer is dropped; 0 -> 1 is unaffected.
    std::vector<Arrival> at1;
    f.collect(1, at1);
    f.burst(0, 2, 5);
    f.burst(2, 1, 5);
    f.burst(0, 1, 5);
    f.rt.run();
    BOOST_TEST(f.net.counters(0, 2).dropped == 5u);
    BOOST_TEST(f.net.counters(2, 1).dropped == 5u);
    BOOST_TEST(at1.size() == 5u);
    BOOST_CHECK_THROW(f.net.attach(2), std::logic_error);
    // Step 3: after recovery the peer attaches a fresh endpoint and traffic flows again.
    f.peers[2].reset();
    f.net.recover(2);
    f.peers[2] = f.net.attach(2);
    std::vector<Arrival> at2;
    f.collect(2, at2);
    f.burst(0, 2, 5);
    f.rt.run();
    BOOST_TEST(at2.size() == 5u);
}

BOOST_AUTO_TEST_CASE(cancelled_receive_loses_nothing) {
    Fixture f;
    std::vector<int> outcomes;
    spawn(f.rt, [&]() -> asio::awaitable<void> {
        std::array<std::byte, 64> buf;
        Timer timeout(f.rt, 1s);
        // Step 1: nothing arrives within 1 s: the timer wins and the receive is cancelled.
        auto r = co_await (f.peers[1]->receive(buf) || timeout.async_wait(asio::use_awaitable));
        outcomes.push_back(static_cast<int>(r.index()));
        // Step 2: a datagram sent at 2 s is received by a fresh receive.
        timeout.expires_after(5s);
        auto r2 = co_await (f.peers[1]->receive(buf) || timeout.async_wait(asio::use_awaitable));
        outcomes.push_back(static_cast<int>(r2.index()));
    });
    spawn(f.rt, [&]() -> asio::awaitable<void> {
        Timer t(f.rt, 2s);
        co_await t.async_wait(asio::use_awaitable);
        co_await f.peers[0]->send(1, pack(0, 9));
    });
    f.rt.run();
    BOOST_TEST(outcomes == (std::vector<int>{1, 0}));
    BOOST_TEST(f.rt.now() == TimePoint(2s));
}

// try_receive takes a datagram that waits, though a receive is pending (a driver drains before
// it judges silence); the pending receive goes on waiting and gets the next one.
BOOST_AUTO_TEST_CASE(try_receive_takes_what_waits_beside_a_pending_receive) {
    Fixture f;
    std::vector<Arrival> received;
    f.collect(1, received);
    std::vector<std::uint32_t> taken;
    bool empty_at_first = false;
    spawn(f.rt, [&]() -> asio::awaitable<void> {
        std::array<std::byte, 64> buf;
        // Step 1: nothing waits: nothing, at once.
        empty_at_first = !f.peers[1]->try_receive(buf);
        // Step 2: two datagrams arrive (no delay) before the pending receive runs: taken here.
        co_await f.peers[0]->send(1, pack(0, 7));
        co_await f.peers[0]->send(1, pack(0, 8));
        while (auto d = f.peers[1]->try_receive(buf))
            taken.push_back(unpack(std::span(buf).first(d->size)).second);
        // Step 3: the next one goes to the pending receive.
        Timer t(f.rt, 1s);
        co_await t.async_wait(asio::use_awaitable);
        co_await f.peers[0]->send(1, pack(0, 9));
        co_await t.async_wait(asio::use_awaitable);
        f.peers[1]->close();
    });
    f.rt.run();
    BOOST_TEST(empty_at_first);
    BOOST_TEST(taken == (std::vector<std::uint32_t>{7, 8}));
    BOOST_REQUIRE(received.size() == 1u);
    BOOST_TEST(received[0].seq == 9u);
}

BOOST_AUTO_TEST_CASE(too_small_buffer_drops_the_datagram_and_counts_it) {
    Fixture f;
    std::vector<std::size_t> sizes;
    spawn(f.rt, [&]() -> asio::awaitable<void> {
        std::array<std::byte, 8> buf;
        while (auto d = co_await f.peers[1]->receive(buf)) sizes.push_back(d->size);
    });
    spawn(f.rt, [&]() -> asio::awaitable<void> {
        std::array<std::byte, 20> big{};
        co_await f.peers[0]->send(1, big);
        co_await f.peers[0]->send(1, pack(1, 2));
    });
    f.rt.run();
    BOOST_TEST(sizes == (std::vector<std::size_t>{8}));
    BOOST_TEST(f.peers[1]->truncated() == 1u);
    // Oversized sends and a second endpoint for one peer are caller errors.
    std::vector<std::byte> huge(f.net.config().max_datagram + 1);
    bool threw = false;
    spawn(f.rt, [&]() -> asio::awaitable<void> {
        try {
            co_await f.peers[0]->send(1, huge);
        } catch (const std::invalid_argument&) {
            threw = true;
        }
    });
    f.rt.run();
    BOOST_TEST(threw);
    BOOST_CHECK_THROW(f.net.attach(0), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(settings_change_while_running) {
    Fixture f;
    std::vector<Arrival> got;
    f.collect(1, got);
    // Step 1: 1 datagram per virtual second for 10 s; at 5 s the link starts losing everything.
    spawn(f.rt, [&]() -> asio::awaitable<void> {
        Timer t(f.rt);
        for (std::uint32_t i = 0; i < 10; ++i) {
            if (i == 5) f.net.set_faults(faults([](auto& f) { f.drop = 1.0; }));
            co_await f.peers[0]->send(1, pack(0, i));
            t.expires_after(1s);
            co_await t.async_wait(asio::use_awaitable);
        }
    });
    f.rt.run();
    BOOST_REQUIRE(got.size() == 5u);
    BOOST_TEST(got.back().seq == 4u);
    BOOST_TEST(f.net.counters(0, 1).dropped == 5u);
}

BOOST_AUTO_TEST_SUITE_END()
