#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "helpers.hpp"
#include "tp/runtime/timer.hpp"
#include "tp/transport/tcp_transport.hpp"

using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
using namespace tp::transport;
using asio::ip::tcp;
using tp::runtime::Mode;
using tp::runtime::Runtime;
using tp::runtime::Timer;
using tp::test::bytes;
using tp::test::receive_bounded;
using tp::test::try_receive_bounded;
using tp::test::spawn;
using tp::test::text;

namespace {

template <typename F>
TcpConfig config(F set) {
    TcpConfig c;
    set(c);
    return c;
}

// Peers 1..n on one runtime, every one in every other's address book.
struct Net {
    Runtime rt{Mode::real_time};
    std::vector<std::unique_ptr<TcpTransport>> peers;
    explicit Net(int n, TcpConfig config = {}) {
        for (int i = 1; i <= n; ++i)
            peers.push_back(std::make_unique<TcpTransport>(rt.get_executor(), i, config));
        for (auto& a : peers)
            for (auto& b : peers) a->address_book().add(b->self(), config.host, b->local_port());
    }
    TcpTransport& operator[](PeerId id) { return *peers.at(id - 1); }
    // The listeners keep the runtime busy: a scenario ends by closing every transport.
    void close() {
        for (auto& p : peers)
            if (p) p->close();
    }
};

// Waits until `done()` holds, checking every millisecond, for at most 5 s.
asio::awaitable<bool> eventually(Runtime& rt, std::function<bool()> done) {
    for (int i = 0; i < 5000; ++i) {
        if (done()) co_return true;
        Timer tick(rt, 1ms);
        co_await tick.async_wait(asio::use_awaitable);
    }
    co_return done();
}

// Appended rather than `"m" + to_string(i)`: g++ 12 at -O3 warns falsely on the latter (-Wrestrict).
std::string word(int i) {
    std::string w = "m";
    w += std::to_string(i);
    return w;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(tcp_transport)

BOOST_AUTO_TEST_CASE(frames_arrive_in_order_over_one_connection_on_v4_and_v6) {
    for (const char* host : {"127.0.0.1", "::1"}) {
        Net net(2, config([&](auto& c) { c.host = host; }));
        std::vector<std::string> got;
        std::optional<std::string> reply;
        spawn(net.rt, [&]() -> asio::awaitable<void> {
            std::array<std::byte, 64> buf;
            // Step 1: 100 frames from 1 to 2 (the first dials), received in order.
            for (int i = 0; i < 100; ++i) co_await net[1].send(2, bytes(word(i)));
            while (got.size() < 100) {
                auto one = co_await receive_bounded(net.rt, net[2], buf);
                if (!one) break;
                got.push_back(*one);
            }
            // Step 2: 2 answers on the connection 1 dialed.
            co_await net[2].send(1, bytes("back"));
            reply = co_await receive_bounded(net.rt, net[1], buf);
            net.close();
        });
        net.rt.run_for(20s);
        std::vector<std::string> want;
        for (int i = 0; i < 100; ++i) want.push_back(word(i));
        BOOST_TEST(got == want);
        BOOST_TEST(reply.value_or("<none>") == "back");
        BOOST_TEST(net[1].stats().connects == 1u);
        BOOST_TEST(net[2].stats().connects == 0u);
        BOOST_TEST(net[2].stats().accepted == 1u);
        BOOST_TEST(net[2].stats().received == 100u);
    }
}

// Peers on their own addresses (as on separate hosts): a dial leaves from the dialer's own
// address, where the acceptor's book has it, so it is accepted.
BOOST_AUTO_TEST_CASE(a_dial_comes_from_the_dialers_own_address) {
    Runtime rt{Mode::real_time};
    TcpTransport a(rt.get_executor(), 1, config([](auto& c) { c.host = "127.0.0.2"; }));
    TcpTransport b(rt.get_executor(), 2, config([](auto& c) { c.host = "127.0.0.3"; }));
    a.address_book().add(2, "127.0.0.3", b.local_port());
    b.address_book().add(1, "127.0.0.2", a.local_port());
    std::optional<std::string> got;
    spawn(rt, [&]() -> asio::awaitable<void> {
        std::array<std::byte, 64> buf;
        co_await a.send(2, bytes("from .2"));
        got = co_await receive_bounded(rt, b, buf);
        a.close();
        b.close();
    });
    rt.run_for(10s);
    BOOST_TEST(got.value_or("<none>") == "from .2");
    BOOST_TEST(b.stats().rejected == 0u);
}

// Both dial at once: each sends on the connection the lower id dialed, the other is retired
// after what was written on it is read: every frame arrives, in order.
BOOST_AUTO_TEST_CASE(dialing_each_other_at_once_leaves_one_connection_and_loses_nothing) {
    Net net(2);
    std::vector<std::string> at1, at2;
    std::size_t open1 = 0, open2 = 0;
    spawn(net.rt, [&]() -> asio::awaitable<void> {
        // Step 1: before either has a connection, each queues 50 frames for the other.
        for (int i = 0; i < 50; ++i) {
            co_await net[1].send(2, bytes(word(i)));
            co_await net[2].send(1, bytes(word(i)));
        }
        // Step 2: each receives all 50.
        std::array<std::byte, 64> buf;
        while (at1.size() < 50 || at2.size() < 50) {
            auto& t = at1.size() < 50 ? net[1] : net[2];
            auto one = co_await receive_bounded(net.rt, t, buf);
            if (!one) break;
            (&t == &net[1] ? at1 : at2).push_back(*one);
        }
        // Step 3: one connection each way is left, the one 1 dialed: 2 took it and sends on it.
        open1 = net[1].connections();
        open2 = net[2].connections();
        net.close();
    });
    net.rt.run_for(20s);
    std::vector<std::string> want;
    for (int i = 0; i < 50; ++i) want.push_back(word(i));
    BOOST_TEST(at1 == want);
    BOOST_TEST(at2 == want);
    BOOST_TEST(open1 == 1u);
    BOOST_TEST(open2 == 1u);
    BOOST_TEST(net[2].stats().accepted == 1u);
    BOOST_TEST(net[1].stats().superseded + net[2].stats().superseded >= 1u);
}

// Every peer of a market sends to every other at once (a bully election's start): each pair
// settles on one connection, and nothing sent during the settling is lost.
BOOST_AUTO_TEST_CASE(a_whole_mesh_dialing_at_once_loses_nothing) {
    constexpr int n = 34;
    Net net(n);
    std::vector<std::vector<int>> got(n + 1);
    std::vector<std::size_t> open(n + 1);
    int done = 0;
    spawn(net.rt, [&]() -> asio::awaitable<void> {
        // Step 1: each sends its id to every other peer, three times, before anything connects.
        for (int round = 0; round < 3; ++round)
            for (int a = 1; a <= n; ++a)
                for (int b = 1; b <= n; ++b)
                    if (a != b) co_await net[a].send(b, bytes(std::to_string(a)));
        // Step 2: each receives 3 (n - 1) frames.
        for (int b = 1; b <= n; ++b) {
            spawn(net.rt, [&, b]() -> asio::awaitable<void> {
                std::array<std::byte, 64> buf;
                while (got[b].size() < 3 * (n - 1)) {
                    auto one = co_await receive_bounded(net.rt, net[b], buf);
                    if (!one) break;
                    got[b].push_back(std::stoi(*one));
                }
                if (++done < n) co_return;
                for (int p = 1; p <= n; ++p) open[p] = net[p].connections();
                net.close();
            });
        }
    });
    net.rt.run_for(30s);
    for (int b = 1; b <= n; ++b) {
        BOOST_TEST(got[b].size() == std::size_t{3 * (n - 1)}, "peer " << b);
        BOOST_TEST(open[b] == std::size_t{n - 1}, "peer " << b);
    }
}

// Every socket goes with its transports and runtime: a process that runs market after market
// (the benchmarks) must not run out of descriptors.
BOOST_AUTO_TEST_CASE(closed_transports_release_every_socket) {
    const auto open_descriptors = [] {
        return std::distance(std::filesystem::directory_iterator("/proc/self/fd"),
                             std::filesystem::directory_iterator{});
    };
    const auto before = open_descriptors();
    for (int market = 0; market < 3; ++market) {
        Net net(8);
        int done = 0;
        spawn(net.rt, [&]() -> asio::awaitable<void> {
            // Every pair connects (both ways at once, so some connections are retired).
            for (int a = 1; a <= 8; ++a)
                for (int b = 1; b <= 8; ++b)
                    if (a != b) co_await net[a].send(b, bytes("x"));
            for (int b = 1; b <= 8; ++b) {
                spawn(net.rt, [&, b]() -> asio::awaitable<void> {
                    std::array<std::byte, 8> buf;
                    for (int i = 0; i < 7; ++i) co_await receive_bounded(net.rt, net[b], buf);
                    if (++done == 8) net.close();
                });
            }
        });
        net.rt.run_for(10s);
        BOOST_TEST(done == 8);
    }
    BOOST_TEST(open_descriptors() == before);
}

// A peer that fails is redialed: a broken connection and refused dials back off (sends meanwhile
// are dropped and counted), and a peer back on its port gets what is sent after.
BOOST_AUTO_TEST_CASE(a_restarted_peer_is_redialed_after_backoff) {
    const auto cfg = config([](auto& c) {
        c.backoff_min = 50ms;
        c.backoff_max = 100ms;
    });
    Net net(2, cfg);
    const std::uint16_t port2 = net[2].local_port();
    std::optional<std::string> before, after;
    bool failed = false;
    std::uint64_t unreachable = 0;
    // Sends `what` to 2 from 1 until `done()`, for at most 5 s.
    auto send_until = [&](const char* what, std::function<bool()> done) {
        return eventually(net.rt, [&net, what, done] {
            if (done()) return true;
            asio::co_spawn(net.rt.get_executor(), net[1].send(2, bytes(what)), asio::detached);
            return false;
        });
    };
    spawn(net.rt, [&]() -> asio::awaitable<void> {
        std::array<std::byte, 64> buf;
        // Step 1: 1 reaches 2.
        co_await net[1].send(2, bytes("before"));
        before = co_await receive_bounded(net.rt, net[2], buf);
        // Step 2: 2 goes (its listener and connection close); 1 sees the connection end.
        net.peers[1].reset();
        BOOST_REQUIRE(co_await eventually(net.rt, [&] { return net[1].connections() == 0; }));
        // Step 3: a send at once is within the backoff: dropped.
        co_await net[1].send(2, bytes("dropped"));
        unreachable = net[1].stats().unreachable;
        // Step 4: a send after the backoff dials and is refused.
        failed = co_await send_until("lost", [&] { return net[1].stats().connect_failures > 0; });
        // Step 5: 2 is back on its port; 1 sends until it hears.
        net.peers[1] = std::make_unique<TcpTransport>(net.rt.get_executor(), 2,
                                                      config([&](auto& c) { c.port = port2; }));
        net[2].address_book().add(1, "127.0.0.1", net[1].local_port());
        spawn(net.rt, [&]() -> asio::awaitable<void> {
            std::array<std::byte, 64> in;
            after = co_await receive_bounded(net.rt, net[2], in);
        });
        co_await send_until("after", [&] { return after.has_value(); });
        net.close();
    });
    net.rt.run_for(20s);
    BOOST_TEST(before.value_or("<none>") == "before");
    BOOST_TEST(unreachable == 1u);
    BOOST_TEST(failed);
    BOOST_TEST(after.value_or("<none>") == "after");
    BOOST_TEST(net[1].stats().disconnects == 1u);
    BOOST_TEST(net[1].stats().connects == 2u);
}

// A connection must say who it is in time, as a peer in the book at the address it comes
// from, and then send sane frame lengths; anything else is refused or closed, and counted.
BOOST_AUTO_TEST_CASE(bad_hellos_and_bad_frames_are_refused_and_counted) {
    Net net(2, config([](auto& c) {
        c.max_datagram = 100;
        c.hello_timeout = 100ms;
    }));
    TcpTransport& b = net[2];
    // Peer 3 is said to live at 127.0.0.2: a connection from 127.0.0.1 claiming it is refused.
    b.address_book().add(3, "127.0.0.2", 9);
    auto hello = [](const char* magic, std::uint32_t id) {
        std::string h(magic, 4);
        for (int i = 0; i < 4; ++i) h.push_back(static_cast<char>(id >> (8 * i)));
        return h;
    };
    auto frame_header = [](std::uint32_t length) {
        std::string h;
        for (int i = 0; i < 4; ++i) h.push_back(static_cast<char>(length >> (8 * i)));
        return h;
    };
    const tcp::endpoint to(asio::ip::address_v4::loopback(), b.local_port());
    std::vector<std::unique_ptr<tcp::socket>> raw;
    auto connect = [&](const std::string& first) {
        raw.push_back(std::make_unique<tcp::socket>(net.rt.context()));
        raw.back()->connect(to);
        if (!first.empty()) asio::write(*raw.back(), asio::buffer(first));
    };
    std::optional<std::string> good;
    bool refused = false, closed = false;
    spawn(net.rt, [&]() -> asio::awaitable<void> {
        // Step 1: a wrong magic, an id not in the book, an id at another address, and silence
        // past the hello timeout: four refusals.
        connect(hello("HTTP", 1));
        connect(hello("TPt1", 9));
        connect(hello("TPt1", 3));
        connect("");
        refused = co_await eventually(net.rt, [&] { return b.stats().rejected == 4; });
        // Step 2: a right hello from peer 1, then a frame of length 0, and on another one a
        // frame over max_datagram: both connections closed as malformed.
        connect(hello("TPt1", 1) + frame_header(0));
        connect(hello("TPt1", 1) + frame_header(101) + std::string(101, 'x'));
        closed = co_await eventually(net.rt, [&] { return b.stats().malformed == 2; });
        // Step 3: the real peer 1 still gets through.
        std::array<std::byte, 128> buf;
        co_await net[1].send(2, bytes("good"));
        good = co_await receive_bounded(net.rt, b, buf);
        net.close();
    });
    net.rt.run_for(20s);
    BOOST_TEST(refused);
    BOOST_TEST(closed);
    BOOST_TEST(good.value_or("<none>") == "good");
    BOOST_TEST(b.stats().received == 1u);
    BOOST_TEST(b.stats().accepted == 3u);  // two bad connections as peer 1, then the real one
}

BOOST_AUTO_TEST_CASE(handshakes_beyond_the_limit_are_refused_at_once) {
    Net net(2, config([](auto& c) {
        c.max_handshakes = 2;
        c.hello_timeout = 5s;
    }));
    std::vector<std::unique_ptr<tcp::socket>> silent;
    bool refused = false;
    spawn(net.rt, [&]() -> asio::awaitable<void> {
        // Three silent connections: the third is over the limit of two.
        for (int i = 0; i < 3; ++i) {
            silent.push_back(std::make_unique<tcp::socket>(net.rt.context()));
            silent.back()->connect(tcp::endpoint(asio::ip::address_v4::loopback(),
                                                 net[2].local_port()));
        }
        refused = co_await eventually(net.rt, [&] { return net[2].stats().rejected == 1; });
        net.close();
    });
    net.rt.run_for(20s);
    BOOST_TEST(refused);
}

// Issue 18: a newcomer's Join over TCP. Its id is in no book of the member it dials; told to
// accept strangers, the member hands its frames up as a stranger's, and answers on the same
// connection once its book has the newcomer.
BOOST_AUTO_TEST_CASE(a_stranger_is_handed_up_only_when_accepted_and_answered_on_its_connection) {
    Runtime rt{Mode::real_time};
    TcpTransport member(rt.get_executor(), 1, {});
    TcpTransport early(rt.get_executor(), 6, {});
    TcpTransport newcomer(rt.get_executor(), 7, {});
    early.address_book().add(1, "127.0.0.1", member.local_port());
    newcomer.address_book().add(1, "127.0.0.1", member.local_port());
    std::array<std::byte, 64> buf;
    std::optional<std::string> first_try, joined, answer, then;
    std::optional<Datagram> stranger, known;
    std::optional<asio::ip::udp::endpoint> source;
    spawn(rt, [&]() -> asio::awaitable<void> {
        // Step 1: strangers not accepted: a stranger's connection is refused, nothing is
        // handed up.
        co_await early.send(1, bytes("join?"));
        co_await eventually(rt, [&] { return member.stats().rejected == 1; });
        first_try = member.try_receive(buf).has_value() ? "received" : "nothing";
        // Step 2: accepted now. Another newcomer's frame comes up as a stranger's, from its
        // connecting address.
        member.accept_strangers(true);
        co_await newcomer.send(1, bytes("join"));
        using namespace asio::experimental::awaitable_operators;
        Timer limit(rt, 5s);
        auto r = co_await (member.receive(buf) || limit.async_wait(asio::use_awaitable));
        if (r.index() == 0 && std::get<0>(r)) {
            stranger = *std::get<0>(r);
            joined = std::string(text(std::span(buf).first(stranger->size)));
            source = member.stranger_source();
        }
        // Step 3: the member learns where the newcomer listens and answers: on the newcomer's
        // own connection (the member dials nobody).
        member.address_book().add(7, "127.0.0.1", newcomer.local_port());
        co_await member.send(7, bytes("welcome"));
        answer = co_await receive_bounded(rt, newcomer, buf);
        // Step 4: the newcomer is in the book: its next frame is its own.
        co_await newcomer.send(1, bytes("thanks"));
        Timer limit2(rt, 5s);
        auto r2 = co_await (member.receive(buf) || limit2.async_wait(asio::use_awaitable));
        if (r2.index() == 0 && std::get<0>(r2)) {
            known = *std::get<0>(r2);
            then = std::string(text(std::span(buf).first(known->size)));
        }
        member.close();
        early.close();
        newcomer.close();
    });
    rt.run_for(20s);
    BOOST_TEST(member.stats().rejected == 1u);
    BOOST_TEST(first_try.value_or("<none>") == "nothing");
    BOOST_REQUIRE(stranger.has_value());
    BOOST_TEST(stranger->stranger);
    BOOST_TEST(stranger->from == 0u);
    BOOST_TEST(joined.value_or("<none>") == "join");
    BOOST_REQUIRE(source.has_value());
    BOOST_TEST(source->address().to_string() == "127.0.0.1");
    BOOST_TEST(source->port() == 0u);
    BOOST_TEST(answer.value_or("<none>") == "welcome");
    BOOST_TEST(member.stats().connects == 0u);
    BOOST_REQUIRE(known.has_value());
    BOOST_TEST(!known->stranger);
    BOOST_TEST(known->from == 7u);
    BOOST_TEST(then.value_or("<none>") == "thanks");
    BOOST_TEST(member.stats().strangers == 1u);
}

// Anyone may claim an id no book holds. Once the book has that id at another address, the
// claimant's connection is closed and the frames go to the book's address.
BOOST_AUTO_TEST_CASE(a_stranger_connection_from_another_address_never_gets_the_ids_frames) {
    Runtime rt{Mode::real_time};
    TcpTransport member(rt.get_executor(), 1, {});
    TcpTransport real(rt.get_executor(), 7, config([](auto& c) { c.host = "127.0.0.2"; }));
    real.address_book().add(1, "127.0.0.1", member.local_port());
    member.accept_strangers(true);
    tcp::socket impostor(rt.context());
    std::optional<std::string> got;
    spawn(rt, [&]() -> asio::awaitable<void> {
        // Step 1: an impostor at 127.0.0.1 says it is peer 7.
        impostor.connect(tcp::endpoint(asio::ip::address_v4::loopback(), member.local_port()));
        asio::write(impostor, asio::buffer(std::string("TPt1\x07\0\0\0", 8)));
        co_await eventually(rt, [&] { return member.stats().accepted == 1; });
        // Step 2: the member learns that 7 listens at 127.0.0.2 and sends to it: the impostor's
        // connection is closed, and 7 gets the frame on a connection the member dials.
        member.address_book().add(7, "127.0.0.2", real.local_port());
        co_await member.send(7, bytes("for 7"));
        std::array<std::byte, 64> buf;
        got = co_await receive_bounded(rt, real, buf);
        member.close();
        real.close();
    });
    rt.run_for(20s);
    BOOST_TEST(got.value_or("<none>") == "for 7");
    BOOST_TEST(member.stats().strangers_evicted == 1u);
    BOOST_TEST(member.stats().connects == 1u);
}

// Idle strangers cannot keep newcomers out: beyond max_strangers the oldest is closed.
BOOST_AUTO_TEST_CASE(a_stranger_beyond_the_limit_closes_the_oldest) {
    Runtime rt{Mode::real_time};
    TcpTransport member(rt.get_executor(), 1, config([](auto& c) { c.max_strangers = 2; }));
    member.accept_strangers(true);
    const tcp::endpoint to(asio::ip::address_v4::loopback(), member.local_port());
    std::vector<std::unique_ptr<tcp::socket>> raw;
    bool evicted = false, oldest_closed = false;
    spawn(rt, [&]() -> asio::awaitable<void> {
        // Step 1: strangers 8, 9 and 10 say hello and nothing more; the third closes 8's.
        for (std::uint32_t id : {8u, 9u, 10u}) {
            raw.push_back(std::make_unique<tcp::socket>(rt.context()));
            raw.back()->connect(to);
            std::string hello = "TPt1";
            for (int i = 0; i < 4; ++i) hello.push_back(static_cast<char>(id >> (8 * i)));
            asio::write(*raw.back(), asio::buffer(hello));
            co_await eventually(rt, [&] { return member.stats().accepted == id - 7; });
        }
        evicted = co_await eventually(rt, [&] { return member.stats().strangers_evicted == 1; });
        // Step 2: 8's socket reads the end of the stream.
        std::array<char, 1> one;
        auto [ec, n] = co_await raw.front()->async_read_some(
            asio::buffer(one), asio::experimental::as_tuple(asio::use_awaitable));
        oldest_closed = ec == asio::error::eof && n == 0;
        member.close();
    });
    rt.run_for(20s);
    BOOST_TEST(evicted);
    BOOST_TEST(oldest_closed);
    BOOST_TEST(member.stats().strangers_evicted == 1u);
}

BOOST_AUTO_TEST_CASE(truncated_frames_are_counted_and_the_next_one_arrives) {
    Net net(2);
    std::optional<std::string> got;
    spawn(net.rt, [&]() -> asio::awaitable<void> {
        co_await net[1].send(2, bytes(std::string(50, 'y')));
        co_await net[1].send(2, bytes("second"));
        std::array<std::byte, 32> buf;
        got = co_await receive_bounded(net.rt, net[2], buf);
        net.close();
    });
    net.rt.run_for(20s);
    BOOST_TEST(got.value_or("<none>") == "second");
    BOOST_TEST(net[2].stats().truncated == 1u);
    BOOST_TEST(net[2].stats().received == 1u);
}

BOOST_AUTO_TEST_CASE(sending_to_an_unknown_peer_or_too_much_is_a_caller_error) {
    Net net(2, config([](auto& c) { c.max_datagram = 16; }));
    int errors = 0;
    spawn(net.rt, [&]() -> asio::awaitable<void> {
        try {
            co_await net[1].send(99, bytes("x"));
        } catch (const std::invalid_argument& e) {
            errors += std::string(e.what()).find("peer 99") != std::string::npos;
        }
        try {
            const std::vector<Outgoing> batch{{2, bytes("fine")},
                                              {2, bytes("this is more than sixteen bytes")}};
            co_await net[1].send_all(batch);
        } catch (const std::invalid_argument&) {
            ++errors;
        }
        net.close();
    });
    net.rt.run_for(10s);
    BOOST_TEST(errors == 2);
    BOOST_TEST(net[1].stats().sent == 0u);  // nothing of the refused batch was queued
}

BOOST_AUTO_TEST_CASE(close_ends_a_pending_receive) {
    Net net(2);
    bool closed_seen = false;
    spawn(net.rt, [&]() -> asio::awaitable<void> {
        std::array<std::byte, 32> buf;
        auto d = co_await net[2].receive(buf);
        closed_seen = !d.has_value();
    });
    spawn(net.rt, [&]() -> asio::awaitable<void> {
        co_await asio::post(net.rt.get_executor(), asio::use_awaitable);
        net.close();
        co_await net[2].send(1, bytes("ignored"));  // sending on a closed transport does nothing
    });
    net.rt.run_for(10s);
    BOOST_TEST(closed_seen);
    BOOST_TEST(!net[2].is_open());
    BOOST_TEST(net[2].stats().sent == 0u);
}

// A receive that loses a race to a timer takes nothing with it: the next receive gets the
// next frame.
BOOST_AUTO_TEST_CASE(a_cancelled_receive_leaves_the_next_frame_for_the_next_receive) {
    Net net(2);
    bool timed_out = false;
    std::optional<std::string> got;
    spawn(net.rt, [&]() -> asio::awaitable<void> {
        std::array<std::byte, 32> buf;
        Timer short_wait(net.rt, 20ms);
        auto r = co_await (net[2].receive(buf) || short_wait.async_wait(asio::use_awaitable));
        timed_out = r.index() == 1;
        co_await net[1].send(2, bytes("next"));
        got = co_await receive_bounded(net.rt, net[2], buf);
        net.close();
    });
    net.rt.run_for(10s);
    BOOST_TEST(timed_out);
    BOOST_TEST(got.value_or("<none>") == "next");
}

// try_receive takes what waits in the socket even before the connection's reader has run: a
// driver judging silence at a deadline after a stall of its loop must see what was said before.
BOOST_AUTO_TEST_CASE(try_receive_reads_the_socket_before_the_reader_runs) {
    Net net(2);
    std::optional<std::string> taken;
    bool empty_at_first = false;
    spawn(net.rt, [&]() -> asio::awaitable<void> {
        std::array<std::byte, 32> buf;
        // Step 1: connect (one frame each way).
        co_await net[1].send(2, bytes("hi"));
        co_await receive_bounded(net.rt, net[2], buf);
        empty_at_first = !net[2].try_receive(buf);
        // Step 2: without letting the loop run, 1 writes a frame and 2 asks for what waits
        // (loopback delivers within the write; bounded retries in case it does not).
        co_await net[1].send(2, bytes("waiting"));
        taken = try_receive_bounded(net[2], buf);
        net.close();
    });
    net.rt.run_for(10s);
    BOOST_TEST(empty_at_first);
    BOOST_TEST(taken.value_or("<none>") == "waiting");
}

// try_receive_at_hand takes what the readers have read and never reads a socket itself: a
// driver draining a burst after each receive does not pay a read per connection.
BOOST_AUTO_TEST_CASE(try_receive_at_hand_takes_only_what_the_readers_have_read) {
    Net net(2);
    bool empty_at_hand = false;
    std::optional<std::string> first;
    std::optional<std::string> at_hand;
    std::optional<std::string> polled;
    spawn(net.rt, [&]() -> asio::awaitable<void> {
        std::array<std::byte, 32> buf;
        // Step 1: connect (one frame each way).
        co_await net[1].send(2, bytes("hi"));
        co_await receive_bounded(net.rt, net[2], buf);
        // Step 2: two frames in one write; the first receive's reader reads both, so the second
        // is at hand.
        std::vector<Outgoing> batch{{2, bytes("one")}, {2, bytes("two")}};
        co_await net[1].send_all(batch);
        first = co_await receive_bounded(net.rt, net[2], buf);
        if (auto d = net[2].try_receive_at_hand(buf))
            at_hand.emplace(text(std::span(buf).first(d->size)));
        // Step 3: without letting the loop run, 1 writes a frame: it is in 2's socket, not at
        // hand; try_receive reads it (bounded retries in case loopback has not delivered).
        co_await net[1].send(2, bytes("three"));
        empty_at_hand = !net[2].try_receive_at_hand(buf);
        polled = try_receive_bounded(net[2], buf);
        net.close();
    });
    net.rt.run_for(10s);
    BOOST_TEST(first.value_or("<none>") == "one");
    BOOST_TEST(at_hand.value_or("<none>") == "two");
    BOOST_TEST(empty_at_hand);
    BOOST_TEST(polled.value_or("<none>") == "three");
}

// Once connected, a batch to two peers leaves in one write per peer.
BOOST_AUTO_TEST_CASE(send_all_writes_each_peer_s_frames_in_one_call) {
    Net net(3);
    std::uint64_t calls = 0;
    int received = 0;
    spawn(net.rt, [&]() -> asio::awaitable<void> {
        std::array<std::byte, 32> buf;
        // Step 1: connect 1 to 2 and 3.
        co_await net[1].send(2, bytes("hi"));
        co_await net[1].send(3, bytes("hi"));
        co_await receive_bounded(net.rt, net[2], buf);
        co_await receive_bounded(net.rt, net[3], buf);
        // Step 2: ten frames for each, interleaved, in one batch: two writes.
        std::vector<Outgoing> batch;
        for (int i = 0; i < 20; ++i) batch.push_back({static_cast<PeerId>(2 + i % 2), bytes("x")});
        const std::uint64_t before = net[1].stats().send_calls;
        co_await net[1].send_all(batch);
        calls = net[1].stats().send_calls - before;
        for (TcpTransport* t : {&net[2], &net[3]})
            for (int i = 0; i < 10; ++i) received += (co_await receive_bounded(net.rt, *t, buf)).has_value();
        net.close();
    });
    net.rt.run_for(10s);
    BOOST_TEST(calls == 2u);
    BOOST_TEST(received == 20);
}

// A receiver that does not read fills its buffer and then the sender's socket: the frames wait
// (TCP's flow control) rather than drop, and all arrive once it reads.
BOOST_AUTO_TEST_CASE(a_slow_receiver_holds_its_sender_back_and_loses_nothing) {
    Net net(2);
    constexpr int frames = 40;
    std::vector<int> got;
    spawn(net.rt, [&]() -> asio::awaitable<void> {
        // Step 1: 40 frames of 60000 bytes (2.4 MB), more than b's buffer and the sockets'.
        for (int i = 0; i < frames; ++i)
            co_await net[1].send(2, bytes(std::string(60000, static_cast<char>('a' + i % 26))));
        // Step 2: after a while, b reads them all, in order.
        Timer later(net.rt, 50ms);
        co_await later.async_wait(asio::use_awaitable);
        std::vector<std::byte> buf(65536);
        while (got.size() < frames) {
            auto one = co_await receive_bounded(net.rt, net[2], buf);
            if (!one || one->size() != 60000) break;
            got.push_back((*one)[0] - 'a');
        }
        net.close();
    });
    net.rt.run_for(20s);
    BOOST_REQUIRE(got.size() == std::size_t{frames});
    for (int i = 0; i < frames; ++i) BOOST_TEST(got[i] == i % 26);
    BOOST_TEST(net[1].stats().queue_full == 0u);
}

// Frames queued beyond queue_bytes are dropped and counted (here while the dial is pending).
BOOST_AUTO_TEST_CASE(frames_beyond_the_queue_bound_are_dropped_and_counted) {
    Net net(2, config([](auto& c) { c.queue_bytes = 1000; }));
    int received = 0;
    spawn(net.rt, [&]() -> asio::awaitable<void> {
        // 20 frames of 100 bytes (104 with the header) before the dial completes: 9 fit.
        for (int i = 0; i < 20; ++i) co_await net[1].send(2, bytes(std::string(100, 'q')));
        std::array<std::byte, 128> buf;
        for (int i = 0; i < 9; ++i) received += (co_await receive_bounded(net.rt, net[2], buf)).has_value();
        net.close();
    });
    net.rt.run_for(10s);
    BOOST_TEST(received == 9);
    BOOST_TEST(net[1].stats().queue_full == 11u);
}

BOOST_AUTO_TEST_CASE(bad_host_and_busy_port_are_clear_errors) {
    Runtime rt;
    BOOST_CHECK_THROW(
        TcpTransport(rt.get_executor(), 1, config([](auto& c) { c.host = "300.1.1.1"; })),
        std::invalid_argument);
    TcpTransport first(rt.get_executor(), 1, TcpConfig{});
    try {
        TcpTransport second(rt.get_executor(), 2,
                            config([&](auto& c) { c.port = first.local_port(); }));
        BOOST_FAIL("listened on a busy port");
    } catch (const std::system_error& e) {
        BOOST_TEST(std::string(e.what()).find(std::to_string(first.local_port())) !=
                   std::string::npos);
    }
    first.close();
}

BOOST_AUTO_TEST_SUITE_END()
