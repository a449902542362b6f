// A datagram of several envelopes back to back (issue 17): each piece's length read off its
// segment table, and nothing read past what the datagram holds.
#include <boost/test/unit_test.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "samples.hpp"
#include "tp/wire/codec.hpp"
#include "tp/wire/datagram.hpp"

using namespace tp::wire;

namespace {

void append(std::vector<std::byte>& out, const Envelope& e) {
    const auto bytes = encode(e);
    out.insert(out.end(), bytes.begin(), bytes.end());
}

void put_le32(std::vector<std::byte>& out, std::size_t at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out[at + i] = static_cast<std::byte>(v >> (8 * i));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(wire_datagram)

BOOST_AUTO_TEST_CASE(envelopes_back_to_back_split_where_each_ends) {
    // Step 1: a Buy, a BuyResult with three fills and a Heartbeat in one payload.
    const std::vector<Envelope> sent{samples::envelope(samples::buy()),
                                     samples::envelope(samples::buy_result_3_fills()),
                                     samples::envelope(samples::heartbeat())};
    std::vector<std::byte> payload;
    for (const auto& e : sent) append(payload, e);
    // Step 2: each piece is as long as its envelope's encoding and decodes to it.
    std::span<const std::byte> rest(payload);
    std::vector<Envelope> got;
    while (!rest.empty()) {
        const std::size_t n = first_message_size(rest);
        BOOST_TEST_REQUIRE(n != 0u);
        BOOST_TEST(n == encoded_size(sent[got.size()]));
        auto one = decode(rest.first(n));
        BOOST_TEST_REQUIRE(one.has_value());
        got.push_back(one.value());
        rest = rest.subspan(n);
    }
    BOOST_TEST(got == sent);
}

BOOST_AUTO_TEST_CASE(a_table_that_claims_more_than_the_datagram_holds_gives_no_length) {
    std::vector<std::byte> payload;
    append(payload, samples::envelope(samples::buy()));
    const std::size_t whole = payload.size();
    BOOST_TEST(first_message_size(payload) == whole);
    // Fewer bytes than a word, and a message cut short: no length.
    BOOST_TEST(first_message_size(std::span(payload).first(7)) == 0u);
    BOOST_TEST(first_message_size(std::span(payload).first(whole - 8)) == 0u);
    // A segment one word longer than what is there.
    auto longer = payload;
    put_le32(longer, 4, static_cast<std::uint32_t>((whole - 8) / 8 + 1));
    BOOST_TEST(first_message_size(longer) == 0u);
    // 2^32 segments: a table far beyond the datagram, read no further than its first word.
    auto many = payload;
    put_le32(many, 0, 0xffffffffu);
    BOOST_TEST(first_message_size(many) == 0u);
    // Segments of the largest size: the sum is checked as it grows, never wraps.
    std::vector<std::byte> huge(4096);
    put_le32(huge, 0, 500);
    for (std::size_t i = 0; i < 501; ++i) put_le32(huge, 4 + 4 * i, 0xffffffffu);
    BOOST_TEST(first_message_size(huge) == 0u);
    // What the table states is all it checks: a table with an empty segment has a length, and
    // decode() refuses the piece.
    auto empty = payload;
    put_le32(empty, 4, 0);
    BOOST_TEST(first_message_size(empty) == 8u);
    BOOST_TEST(!decode(std::span(empty).first(8)).has_value());
}

BOOST_AUTO_TEST_SUITE_END()
