// Every Append the machine fills travels in one datagram: its byte budget (entry_wire_bytes)
// matches what the wire really encodes, for small and for the largest payloads, beside a clock
// naming a thousand members.
#include <boost/test/unit_test.hpp>

#include "cluster.hpp"
#include "tp/wire/codec.hpp"

using namespace tp::replication;
using namespace tp::replication::test;

namespace {

// The Appends a trader sends when `count` records of `size` bytes are proposed at once.
std::vector<Append> appends_for(std::size_t count, std::size_t size) {
    Cluster c(2);
    c.lead(2, epoch(1, 2));
    c.deliver();
    for (std::size_t i = 0; i < count; ++i) {
        c[2].propose(std::vector<std::byte>(size, std::byte{1}), c.now());
    }
    c[2].flush(c.now());
    std::vector<Append> out;
    for (auto& m : c[2].ready().messages) {
        if (auto* a = std::get_if<Append>(&m.message)) out.push_back(*a);
    }
    return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(append_fits)

BOOST_AUTO_TEST_CASE(every_append_fits_one_datagram) {
    tp::wire::Envelope envelope;
    envelope.sender = 2;
    envelope.receiver = 1;
    envelope.epoch = epoch(1, 2);
    for (tp::clock::PeerId p = 1; p <= 1000; ++p) envelope.clock.tick(p);
    for (const auto& [count, size] : std::vector<std::pair<std::size_t, std::size_t>>{
             {3000, 0}, {3000, 24}, {3000, 100}, {200, 1000}, {5, max_payload_bytes}}) {
        const auto appends = appends_for(count, size);
        BOOST_TEST_INFO(count << " records of " << size << " bytes");
        BOOST_REQUIRE(appends.size() > 1u);  // more than one datagram's worth
        for (const auto& a : appends) {
            envelope.body = a;
            BOOST_TEST(tp::wire::encoded_size(envelope) <= tp::wire::max_datagram_size);
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
