#include <asio/experimental/awaitable_operators.hpp>
#include <asio/use_awaitable.hpp>
#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

#include "helpers.hpp"
#include "tp/runtime/timer.hpp"
#include "tp/transport/udp_transport.hpp"

using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
using namespace tp::transport;
using asio::ip::udp;
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
UdpConfig config(F set) {
    UdpConfig c;
    set(c);
    return c;
}

struct Pair {
    Runtime rt{Mode::real_time};
    UdpTransport a, b;
    explicit Pair(const std::string& host, UdpConfig config = {})
        : a(rt.get_executor(), 1, with_host(config, host)),
          b(rt.get_executor(), 2, with_host(config, host)) {
        a.address_book().add(2, b.local_endpoint());
        b.address_book().add(1, a.local_endpoint());
    }
    static UdpConfig with_host(UdpConfig c, const std::string& host) {
        c.host = host;
        return c;
    }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(udp_transport)

BOOST_AUTO_TEST_CASE(port_zero_binds_distinct_ephemeral_ports_on_v4_and_v6) {
    for (const char* host : {"127.0.0.1", "::1"}) {
        Pair p(host);
        BOOST_TEST(p.a.local_endpoint().port() != 0);
        BOOST_TEST(p.a.local_endpoint().port() != p.b.local_endpoint().port());
        BOOST_TEST(p.a.local_endpoint().address().is_v6() == (std::string(host) == "::1"));
        std::optional<std::string> got;
        spawn(p.rt, [&]() -> asio::awaitable<void> {
            std::array<std::byte, 64> buf;
            co_await p.a.send(2, bytes("hello"));
            got = co_await receive_bounded(p.rt, p.b, buf);
        });
        p.rt.run_for(10s);
        BOOST_TEST(got.value_or("<none>") == "hello");
        BOOST_TEST(p.a.stats().sent == 1u);
        BOOST_TEST(p.b.stats().received == 1u);
    }
}

BOOST_AUTO_TEST_CASE(unknown_oversized_and_truncated_datagrams_are_counted_and_dropped) {
    Pair p("127.0.0.1", config([](auto& c) { c.max_datagram = 100; }));
    // A raw socket that is not (yet) in b's address book.
    udp::socket stranger(p.rt.context(), udp::endpoint(asio::ip::address_v4::loopback(), 0));
    std::optional<std::string> first, second;
    spawn(p.rt, [&]() -> asio::awaitable<void> {
        std::array<std::byte, 32> buf;
        // Step 1: a datagram from an unknown source, then one from a: only a's is received.
        stranger.send_to(asio::buffer("who am I", 8), p.b.local_endpoint());
        co_await p.a.send(2, bytes("first"));
        first = co_await receive_bounded(p.rt, p.b, buf);
        // Step 2: the stranger becomes peer 3 and sends 200 bytes (> max_datagram 100), then
        // 50 bytes (> the 32-byte buffer); then a sends a good one.
        p.b.address_book().add(3, stranger.local_endpoint());
        const std::string big(200, 'x'), medium(50, 'y');
        stranger.send_to(asio::buffer(big), p.b.local_endpoint());
        stranger.send_to(asio::buffer(medium), p.b.local_endpoint());
        co_await p.a.send(2, bytes("second"));
        second = co_await receive_bounded(p.rt, p.b, buf);
    });
    p.rt.run_for(10s);
    BOOST_TEST(first.value_or("<none>") == "first");
    BOOST_TEST(second.value_or("<none>") == "second");
    BOOST_TEST(p.b.stats().unknown_sender == 1u);
    BOOST_TEST(p.b.stats().oversized == 1u);
    BOOST_TEST(p.b.stats().truncated == 1u);
    BOOST_TEST(p.b.stats().received == 2u);
}

BOOST_AUTO_TEST_CASE(close_ends_a_pending_receive) {
    Pair p("127.0.0.1");
    bool closed_seen = false;
    spawn(p.rt, [&]() -> asio::awaitable<void> {
        std::array<std::byte, 32> buf;
        auto d = co_await p.b.receive(buf);
        closed_seen = !d.has_value();
    });
    spawn(p.rt, [&]() -> asio::awaitable<void> {
        co_await asio::post(p.rt.get_executor(), asio::use_awaitable);
        p.b.close();
        co_await p.b.send(1, bytes("ignored"));  // sending on a closed transport does nothing
    });
    p.rt.run_for(10s);
    BOOST_TEST(closed_seen);
    BOOST_TEST(!p.b.is_open());
    BOOST_TEST(p.b.stats().sent == 0u);
}

BOOST_AUTO_TEST_CASE(sending_to_an_unknown_peer_or_too_much_is_a_caller_error) {
    Pair p("127.0.0.1", config([](auto& c) { c.max_datagram = 16; }));
    int errors = 0;
    spawn(p.rt, [&]() -> asio::awaitable<void> {
        try {
            co_await p.a.send(99, bytes("x"));
        } catch (const std::invalid_argument& e) {
            errors += std::string(e.what()).find("peer 99") != std::string::npos;
        }
        try {
            co_await p.a.send(2, bytes("this is more than sixteen bytes"));
        } catch (const std::invalid_argument&) {
            ++errors;
        }
    });
    p.rt.run_for(10s);
    BOOST_TEST(errors == 2);
}

// try_receive reads what waits in the socket without waiting, dropping (and counting) what
// receive drops, while a receive is pending; that receive gets the datagram after.
// Issue 18: a newcomer's first datagram comes from an address in no book. Dropped by default;
// handed up as a stranger's, with where it came from, once strangers are accepted.
BOOST_AUTO_TEST_CASE(a_stranger_is_handed_up_only_when_accepted) {
    Pair p("127.0.0.1");
    udp::socket stranger(p.rt.context(), udp::endpoint(asio::ip::address_v4::loopback(), 0));
    std::array<std::byte, 32> buf;
    // Step 1: not accepted: dropped and counted.
    stranger.send_to(asio::buffer("hello", 5), p.b.local_endpoint());
    BOOST_TEST(!try_receive_bounded(p.b, buf));
    BOOST_TEST(p.b.stats().unknown_sender == 1u);
    // Step 2: accepted: handed up as a stranger's, from the address it came from.
    p.b.accept_strangers(true);
    stranger.send_to(asio::buffer("join!", 5), p.b.local_endpoint());
    std::optional<Datagram> got;
    for (int i = 0; i < 1000 && !got; ++i) got = p.b.try_receive(buf);
    BOOST_REQUIRE(got.has_value());
    BOOST_TEST(got->stranger);
    BOOST_TEST(got->from == 0u);
    BOOST_TEST(got->size == 5u);
    BOOST_TEST((p.b.stranger_source() == stranger.local_endpoint()));
    BOOST_TEST(p.b.stats().strangers == 1u);
    // Step 3: a known peer's datagram is no stranger's.
    spawn(p.rt, [&]() -> asio::awaitable<void> { co_await p.a.send(2, bytes("known")); });
    p.rt.run_for(1s);
    got.reset();
    for (int i = 0; i < 1000 && !got; ++i) got = p.b.try_receive(buf);
    BOOST_REQUIRE(got.has_value());
    BOOST_TEST(!got->stranger);
    BOOST_TEST(got->from == 1u);
}

BOOST_AUTO_TEST_CASE(try_receive_takes_what_waits_beside_a_pending_receive) {
    Pair p("127.0.0.1");
    udp::socket stranger(p.rt.context(), udp::endpoint(asio::ip::address_v4::loopback(), 0));
    std::optional<std::string> pending;
    spawn(p.rt, [&]() -> asio::awaitable<void> {
        std::array<std::byte, 32> buf;
        pending = co_await receive_bounded(p.rt, p.b, buf);
    });
    std::vector<std::string> taken;
    bool empty_at_first = false;
    spawn(p.rt, [&]() -> asio::awaitable<void> {
        co_await asio::post(p.rt.get_executor(), asio::use_awaitable);  // the receive waits
        std::array<std::byte, 32> buf;
        // Step 1: nothing waits: nothing, at once.
        empty_at_first = !p.b.try_receive(buf);
        // Step 2: a stranger's datagram, then a's: try_receive drops the first and takes the
        // second (loopback delivers within the send; bounded retries in case it does not).
        stranger.send_to(asio::buffer("who am I", 8), p.b.local_endpoint());
        co_await p.a.send(2, bytes("waiting"));
        if (auto got = try_receive_bounded(p.b, buf)) taken.push_back(*got);
        BOOST_TEST(!p.b.try_receive(buf));
        // Step 3: the pending receive gets the next one.
        co_await p.a.send(2, bytes("next"));
    });
    p.rt.run_for(10s);
    BOOST_TEST(empty_at_first);
    BOOST_TEST(taken == (std::vector<std::string>{"waiting"}));
    BOOST_TEST(pending.value_or("<none>") == "next");
    BOOST_TEST(p.b.stats().unknown_sender == 1u);
    BOOST_TEST(p.b.stats().received == 2u);
}

// A batch leaves in one system call (sendmmsg) and arrives in order; a batch with a caller error
// in it throws before any of it leaves.
BOOST_AUTO_TEST_CASE(send_all_sends_a_batch_in_one_call) {
    Pair p("127.0.0.1");
    const std::vector<std::string> words{"a", "bb", "ccc", "dddd", "eeeee", "ffffff"};
    std::vector<std::string> got;
    int refused = 0;
    spawn(p.rt, [&]() -> asio::awaitable<void> {
        // Step 1: six datagrams for b, one batch.
        std::vector<Outgoing> batch;
        for (const auto& w : words) batch.push_back({2, bytes(w)});
        co_await p.a.send_all(batch);
        std::array<std::byte, 32> buf;
        while (got.size() < words.size()) {
            auto one = co_await receive_bounded(p.rt, p.b, buf);
            if (!one) break;
            got.push_back(*one);
        }
        // Step 2: a batch naming an unknown peer in its middle: nothing leaves.
        batch = {{2, bytes("x")}, {99, bytes("y")}, {2, bytes("z")}};
        try {
            co_await p.a.send_all(batch);
        } catch (const std::invalid_argument&) {
            ++refused;
        }
    });
    p.rt.run_for(10s);
    BOOST_TEST(got == words);
    BOOST_TEST(refused == 1);
    BOOST_TEST(p.a.stats().sent == words.size());
#if defined(__linux__)
    BOOST_TEST(p.a.stats().send_calls == 1u);
#endif
}

BOOST_AUTO_TEST_CASE(try_send_all_hands_on_a_batch_also_after_a_send_to_a_closed_port) {
    Pair p("127.0.0.1");
    // Peer 3's port has no socket any more: a datagram to it earns an ICMP error (which Linux
    // reports on a connected socket only; send errors are counted and that datagram alone lost).
    udp::endpoint gone;
    {
        udp::socket s(p.rt.get_executor(), udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
        gone = s.local_endpoint();
    }
    p.a.address_book().add(3, gone);
    std::vector<std::string> got;
    std::size_t taken_first = 0, taken_batch = 0;
    spawn(p.rt, [&]() -> asio::awaitable<void> {
        // Step 1: to the closed port; taken (UDP does not know yet that nobody listens).
        const std::vector<Outgoing> lost{{3, bytes("nobody")}};
        taken_first = p.a.try_send_all(lost);
        // Step 2: a batch to b, without waiting: both of its datagrams leave.
        const std::vector<Outgoing> batch{{2, bytes("one")}, {2, bytes("two")}};
        taken_batch = p.a.try_send_all(batch);
        std::array<std::byte, 32> buf;
        while (got.size() < 2) {
            auto one = co_await receive_bounded(p.rt, p.b, buf);
            if (!one) break;
            got.push_back(*one);
        }
    });
    p.rt.run_for(10s);
    BOOST_TEST(taken_first == 1u);
    BOOST_TEST(taken_batch == 2u);
    BOOST_TEST(got == (std::vector<std::string>{"one", "two"}), boost::test_tools::per_element());
    BOOST_TEST(p.a.stats().sent == 3u);
}

BOOST_AUTO_TEST_CASE(a_burst_is_drained_completely) {
    Pair p("127.0.0.1");
    constexpr int burst = 500;
    int received = 0;
    spawn(p.rt, [&]() -> asio::awaitable<void> {
        std::array<std::byte, 64> buf;
        // 500 datagrams back to back before the receiver runs: they sit in the socket buffer
        // (well within even a default 208 KiB receive buffer).
        for (int i = 0; i < burst; ++i) co_await p.a.send(2, bytes("0123456789abcdef"));
        while (received < burst && co_await receive_bounded(p.rt, p.b, buf)) ++received;
    });
    p.rt.run_for(20s);
    BOOST_TEST(p.b.receive_buffer_bytes() > 0);
    BOOST_TEST(received == burst);
}

// A burst waiting on the socket is read up to receive_batch datagrams a system call (recvmmsg),
// handed on one by one, in order, each checked as a datagram read alone would be.
BOOST_AUTO_TEST_CASE(a_burst_is_read_several_datagrams_a_system_call) {
    for (const std::size_t batch : {std::size_t{1}, std::size_t{8}}) {
        Pair p("127.0.0.1", config([&](auto& c) { c.receive_batch = batch; }));
        udp::socket stranger(p.rt.context(), udp::endpoint(asio::ip::address_v4::loopback(), 0));
        std::vector<std::string> sent, got;
        spawn(p.rt, [&]() -> asio::awaitable<void> {
            // Step 1: 20 datagrams in one sendmmsg, with a stranger's between the 5th and 6th.
            std::vector<Outgoing> first, second;
            for (int i = 0; i < 20; ++i) sent.push_back("datagram " + std::to_string(i));
            for (int i = 0; i < 20; ++i) (i < 5 ? first : second).push_back({2, bytes(sent[i])});
            co_await p.a.send_all(first);
            stranger.send_to(asio::buffer("who am I", 8), p.b.local_endpoint());
            co_await p.a.send_all(second);
            // Step 2: b takes them all without waiting.
            std::array<std::byte, 64> buf;
            while (got.size() < sent.size()) {
                auto one = try_receive_bounded(p.b, buf);
                if (!one) break;
                got.push_back(*one);
            }
            BOOST_TEST(!p.b.try_receive(buf));
        });
        p.rt.run_for(10s);
        BOOST_TEST(got == sent, boost::test_tools::per_element());
        BOOST_TEST(p.b.stats().received == 20u);
        BOOST_TEST(p.b.stats().unknown_sender == 1u);
        const auto calls = p.b.stats().receive_calls;
        BOOST_TEST_MESSAGE("receive_batch " << batch << ": " << calls << " calls for 21 datagrams");
#if defined(__linux__)
        if (batch == 1) {
            BOOST_TEST(calls == 21u);
        } else {
            // At most 8 a call; fewer calls than datagrams unless loopback delivered each alone.
            BOOST_TEST(calls >= 3u);
            BOOST_TEST(calls < 21u);
        }
#endif
    }
}

BOOST_AUTO_TEST_CASE(a_receive_batch_out_of_range_is_a_clear_error) {
    Runtime rt;
    for (const std::size_t batch : {std::size_t{0}, UdpConfig::max_receive_batch + 1}) {
        try {
            UdpTransport t(rt.get_executor(), 1, config([&](auto& c) { c.receive_batch = batch; }));
            BOOST_FAIL("accepted receive_batch " << batch);
        } catch (const std::invalid_argument& e) {
            BOOST_TEST(std::string(e.what()).find("receive_batch " + std::to_string(batch)) !=
                       std::string::npos);
        }
    }
}

BOOST_AUTO_TEST_CASE(bad_host_and_busy_port_are_clear_errors) {
    Runtime rt;
    BOOST_CHECK_THROW(
        UdpTransport(rt.get_executor(), 1, config([](auto& c) { c.host = "300.1.1.1"; })),
        std::invalid_argument);
    UdpTransport first(rt.get_executor(), 1, UdpConfig{});
    try {
        UdpTransport second(rt.get_executor(), 2,
                            config([&](auto& c) { c.port = first.local_endpoint().port(); }));
        BOOST_FAIL("bound a busy port");
    } catch (const std::system_error& e) {
        BOOST_TEST(std::string(e.what()).find(std::to_string(first.local_endpoint().port())) !=
                   std::string::npos);
    }
    AddressBook book;
    BOOST_CHECK_THROW(book.add(5, "nonsense", 1), std::invalid_argument);
    book.add(5, "::1", 7);
    BOOST_TEST(book.find(5)->port() == 7);
    BOOST_TEST(book.find(udp::endpoint(asio::ip::make_address("::1"), 7)).value_or(0) == 5u);
    book.remove(5);
    BOOST_TEST(book.find(5) == nullptr);
}

BOOST_AUTO_TEST_SUITE_END()
