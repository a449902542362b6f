#include <boost/test/unit_test.hpp>
#include <string>

#include "tp/transport/factory.hpp"

using namespace tp::transport;
using tp::runtime::Mode;
using tp::runtime::Runtime;

BOOST_AUTO_TEST_SUITE(factory)

BOOST_AUTO_TEST_CASE(kind_is_parsed_from_its_name_and_bad_names_are_named) {
    BOOST_TEST((parse_transport_kind("udp") == TransportKind::udp));
    BOOST_TEST((parse_transport_kind("memory") == TransportKind::memory));
    BOOST_TEST((parse_transport_kind("tcp") == TransportKind::tcp));
    BOOST_TEST(std::string(to_string(TransportKind::udp)) == "udp");
    BOOST_TEST(std::string(to_string(TransportKind::tcp)) == "tcp");
    try {
        parse_transport_kind("quic");
        BOOST_FAIL("quic accepted");
    } catch (const std::invalid_argument& e) {
        BOOST_TEST(std::string(e.what()).find("'quic'") != std::string::npos);
    }
}

BOOST_AUTO_TEST_CASE(builds_the_configured_transport) {
    Runtime real(Mode::real_time);
    TransportConfig udp;
    udp.kind = TransportKind::udp;
    auto u = make_transport(udp, 3, real);
    BOOST_TEST(dynamic_cast<UdpTransport*>(u.get()) != nullptr);
    BOOST_TEST(u->self() == 3u);
    BOOST_TEST(static_cast<UdpTransport&>(*u).local_endpoint().port() != 0);
    TransportConfig tcp;
    tcp.kind = TransportKind::tcp;
    auto t = make_transport(tcp, 5, real);
    BOOST_TEST(dynamic_cast<TcpTransport*>(t.get()) != nullptr);
    BOOST_TEST(static_cast<TcpTransport&>(*t).local_port() != 0);
    t->close();

    Runtime virt(Mode::virtual_time);
    MemoryNetwork net(virt, tp::runtime::Rng(1));
    auto m = make_transport(TransportConfig{}, 4, virt, &net);
    BOOST_TEST(dynamic_cast<MemoryEndpoint*>(m.get()) != nullptr);
    BOOST_TEST(m->self() == 4u);
}

BOOST_AUTO_TEST_CASE(inconsistent_configurations_are_refused) {
    Runtime virt(Mode::virtual_time);
    TransportConfig memory;  // memory is the default kind
    BOOST_CHECK_THROW(make_transport(memory, 1, virt), std::invalid_argument);
    TransportConfig udp;
    udp.kind = TransportKind::udp;
    BOOST_CHECK_THROW(make_transport(udp, 1, virt), std::invalid_argument);
    TransportConfig tcp;
    tcp.kind = TransportKind::tcp;
    BOOST_CHECK_THROW(make_transport(tcp, 1, virt), std::invalid_argument);
    Runtime real(Mode::real_time);
    TransportConfig bad = udp;
    bad.udp.host = "not-an-address";
    try {
        make_transport(bad, 1, real);
        BOOST_FAIL("bad host accepted");
    } catch (const std::invalid_argument& e) {
        BOOST_TEST(std::string(e.what()).find("not-an-address") != std::string::npos);
    }
}

BOOST_AUTO_TEST_SUITE_END()
