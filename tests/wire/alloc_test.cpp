// encode() into a caller's buffer must not touch the heap. Counts this thread's calls to the
// global operator new, replaced for this test program only.
#include <boost/test/unit_test.hpp>

#include <array>

#include "counting_new.hpp"
#include "samples.hpp"
#include "tp/wire/codec.hpp"

using tp::test::allocations;

BOOST_AUTO_TEST_SUITE(wire_alloc)

BOOST_AUTO_TEST_CASE(encode_into_a_buffer_allocates_nothing) {
    using namespace tp::wire;
    const Envelope buy = samples::envelope(samples::buy());
    const Envelope result = samples::envelope(samples::buy_result_3_fills());
    // Replication kinds carry bytes (payloads, a snapshot's piece): still written in place.
    const Envelope append = samples::envelope(samples::append());
    const Envelope chunk = samples::envelope(samples::snapshot_chunk());
    alignas(8) std::array<std::byte, 2048> buf;

    // Aligned and unaligned destinations, both kinds; warm up the per-thread scratch first.
    encode(result, std::span(buf).subspan(1));
    const std::size_t before = allocations();
    std::size_t total = 0;
    for (std::size_t offset : {0, 1, 3}) {
        total += encode(buy, std::span(buf).subspan(offset));
        total += encode(result, std::span(buf).subspan(offset));
        total += encode(append, std::span(buf).subspan(offset));
        total += encode(chunk, std::span(buf).subspan(offset));
    }
    BOOST_TEST(allocations() - before == 0u);
    BOOST_TEST(total > 0u);

    // The counter does see allocations: decode builds a fills vector.
    const auto bytes = encode(result);
    const std::size_t before_decode = allocations();
    BOOST_TEST(decode(bytes).has_value());
    BOOST_TEST(allocations() - before_decode > 0u);
}

BOOST_AUTO_TEST_SUITE_END()
