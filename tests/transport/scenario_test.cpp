// One request/reply scenario, written once, run on every transport: UDP over IPv4 and IPv6
// loopback, and the in-memory network in virtual and real time, with and without faults.
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/use_awaitable.hpp>
#include <boost/test/data/monomorphic.hpp>
#include "data_test_case.hpp"
#include <boost/test/unit_test.hpp>
#include <memory>
#include <string>
#include <vector>

#include "helpers.hpp"
#include "tp/runtime/timer.hpp"
#include "tp/transport/factory.hpp"

using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
using namespace tp::transport;
using tp::runtime::Mode;
using tp::runtime::Runtime;
using tp::runtime::Timer;
using tp::test::pack;
using tp::test::spawn;
using tp::test::unpack;

// Named, not anonymous: the data test case's closures capture these types.
namespace scenario_support {

struct Network {
    std::unique_ptr<Runtime> rt;
    std::unique_ptr<MemoryNetwork> memory;
    std::vector<std::unique_ptr<Transport>> peers;
};

// Builds `n` peers (ids 0..n-1) on the transport named by `setup`, through the factory.
Network make_network(const std::string& setup, int n) {
    Network net;
    const bool ip = !setup.starts_with("memory");
    net.rt = std::make_unique<Runtime>(setup == "memory-real" || ip ? Mode::real_time
                                                                    : Mode::virtual_time);
    TransportConfig config;
    config.kind = parse_transport_kind(ip ? setup.substr(0, 3) : "memory");
    config.udp.host = config.tcp.host = setup.ends_with("6") ? "::1" : "127.0.0.1";
    if (!ip) {
        net.memory = std::make_unique<MemoryNetwork>(*net.rt, tp::runtime::Rng(7));
        if (setup == "memory-faulty") {
            LinkFaults f;
            f.drop = 0.1;
            f.duplicate = 0.1;
            f.reorder = 0.1;
            f.delay = Delay{1ms, 2ms, Delay::Jitter::exponential};
            net.memory->set_faults(f);
        }
    }
    for (int i = 0; i < n; ++i)
        net.peers.push_back(
            make_transport(config, static_cast<PeerId>(i), *net.rt, net.memory.get()));
    if (ip) {
        // Ephemeral ports are known only after binding: every peer learns every other's.
        for (auto& a : net.peers)
            for (auto& b : net.peers)
                static_cast<IpTransport&>(*a).address_book().add(
                    b->self(), config.udp.host, static_cast<IpTransport&>(*b).local_port());
    }
    return net;
}

// Replies to every request (client, seq) with (client, seq + 1'000'000) until closed.
asio::awaitable<void> server(Transport& t, int& served) {
    std::array<std::byte, 64> buffer;
    while (auto d = co_await t.receive(buffer)) {
        auto [client, seq] = unpack(std::span(buffer).first(d->size));
        BOOST_REQUIRE(client == d->from);
        co_await t.send(d->from, pack(client, seq + 1'000'000));
        ++served;
    }
}

// Sends `count` requests one after another, resending after a timeout, and checks each reply.
asio::awaitable<void> client(Runtime& rt, Transport& t, int count, int& answered) {
    std::array<std::byte, 64> buffer;
    for (std::uint32_t seq = 0; seq < static_cast<std::uint32_t>(count); ++seq) {
        for (bool done = false; !done;) {
            co_await t.send(0, pack(t.self(), seq));
            Timer timeout(rt, 200ms);
            // Wait for this request's reply; stale or duplicated replies are skipped.
            while (!done) {
                auto r = co_await (t.receive(buffer) || timeout.async_wait(asio::use_awaitable));
                if (r.index() == 1) break;  // timed out: resend
                auto& d = std::get<0>(r);
                BOOST_REQUIRE(d.has_value());
                auto [who, answer] = unpack(std::span(buffer).first(d->size));
                BOOST_REQUIRE(d->from == 0u);
                BOOST_REQUIRE(who == t.self());
                done = answer == seq + 1'000'000;
            }
        }
        ++answered;
    }
}

const char* setups[] = {"udp4", "udp6", "tcp4", "tcp6", "memory-virtual", "memory-real",
                        "memory-faulty"};

}  // namespace scenario_support

using namespace scenario_support;

BOOST_AUTO_TEST_SUITE(scenario)

BOOST_DATA_TEST_CASE(request_reply_with_many_concurrent_clients,
                     boost::unit_test::data::make(setups), setup) {
    constexpr int clients = 8, requests = 100;
    auto net = make_network(setup, clients + 1);
    Runtime& rt = *net.rt;
    int served = 0, finished = 0;
    std::vector<int> answered(clients + 1, 0);
    // Step 1: peer 0 serves; peers 1..8 each send 100 requests concurrently.
    spawn(rt, [&]() { return server(*net.peers[0], served); });
    for (int c = 1; c <= clients; ++c) {
        spawn(rt, [&, c]() -> asio::awaitable<void> {
            co_await client(rt, *net.peers[c], requests, answered[c]);
            // Step 2: when the last client is done, close every transport; the server stops.
            if (++finished == clients)
                for (auto& p : net.peers) p->close();
        });
    }
    // Bounded: a lost wake-up fails the test instead of hanging it.
    rt.run_for(60s);
    BOOST_TEST(finished == clients);
    for (int c = 1; c <= clients; ++c) BOOST_TEST(answered[c] == requests, "client " << c);
    BOOST_TEST(served >= clients * requests);
    if (setup == std::string("memory-faulty")) {
        const auto totals = net.memory->totals();
        BOOST_TEST(totals.dropped > 0u);
        BOOST_TEST(totals.duplicated > 0u);
    }
}

BOOST_AUTO_TEST_SUITE_END()
