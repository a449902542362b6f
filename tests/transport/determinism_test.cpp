// With the in-memory network, one thread and virtual time, a seed determines the whole run.
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/use_awaitable.hpp>
#include <boost/test/unit_test.hpp>
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
using tp::runtime::RandomStreams;
using tp::runtime::Runtime;
using tp::runtime::Timer;
using tp::test::pack;
using tp::test::spawn;

namespace {

struct RunResult {
    std::uint64_t hash;
    std::uint64_t events;
    LinkCounters totals;
};

// Six peers gossip for a virtual minute: each sends to random peers after random pauses drawn
// from its own stream, and answers every datagram it receives; the network drops, duplicates,
// delays and reorders from its stream.
RunResult run(std::uint64_t seed) {
    constexpr int peers = 6;
    const RandomStreams streams(seed);
    Runtime rt(Mode::virtual_time);
    MemoryNetwork net(rt, streams.stream("network"));
    LinkFaults faults;
    faults.drop = 0.1;
    faults.duplicate = 0.05;
    faults.reorder = 0.05;
    faults.reorder_delay = 3ms;
    faults.delay = Delay{1ms, 2ms, Delay::Jitter::exponential};
    net.set_faults(faults);
    std::vector<std::unique_ptr<MemoryEndpoint>> ep;
    for (int p = 0; p < peers; ++p) ep.push_back(net.attach(static_cast<PeerId>(p)));
    for (int p = 0; p < peers; ++p) {
        // Sender: random destination, random pause, for one virtual minute.
        spawn(rt, [&, p, rng = streams.stream("peer", p)]() mutable -> asio::awaitable<void> {
            Timer t(rt);
            std::uint32_t seq = 0;
            while (rt.now() < tp::runtime::TimePoint(60s)) {
                auto to = static_cast<PeerId>(rng.uniform_int(0, peers - 2));
                if (to >= static_cast<PeerId>(p)) ++to;
                co_await ep[p]->send(to, pack(p, seq++));
                t.expires_after(std::chrono::microseconds(rng.uniform_int(100, 50'000)));
                co_await t.async_wait(asio::use_awaitable);
            }
        });
        // Receiver: answers each datagram, waits at most 2 s between datagrams.
        spawn(rt, [&, p]() -> asio::awaitable<void> {
            std::array<std::byte, 64> buf;
            Timer idle(rt);
            for (;;) {
                idle.expires_after(2s);
                auto r = co_await (ep[p]->receive(buf) || idle.async_wait(asio::use_awaitable));
                if (r.index() == 1 || !std::get<0>(r)) co_return;
                const auto from = std::get<0>(r)->from;
                if (buf[4] != std::byte{0xff}) co_await ep[p]->send(from, pack(p, 0xffffffffu));
            }
        });
    }
    rt.run();
    return {rt.trace().hash(), rt.trace().count(), net.totals()};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(determinism)

BOOST_AUTO_TEST_CASE(same_seed_same_trace_different_seed_different_trace) {
    const auto a = run(42);
    const auto b = run(42);
    const auto c = run(43);
    // The run is not trivial: every fault kind happened.
    BOOST_TEST(a.events > 10'000u);
    BOOST_TEST(a.totals.dropped > 0u);
    BOOST_TEST(a.totals.duplicated > 0u);
    BOOST_TEST(a.totals.reordered > 0u);
    BOOST_TEST(a.hash == b.hash);
    BOOST_TEST(a.events == b.events);
    BOOST_TEST((a.totals == b.totals));
    BOOST_TEST(a.hash != c.hash);
}

BOOST_AUTO_TEST_SUITE_END()
