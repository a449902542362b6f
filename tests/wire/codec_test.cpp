#include <boost/test/unit_test.hpp>

#include <cstring>
#include <sstream>
#include <stdexcept>
#include <type_traits>

#include "samples.hpp"
#include "tp/wire/codec.hpp"

using namespace tp::wire;

namespace {

Envelope round_trip(const Envelope& in) {
    const auto bytes = encode(in);
    auto r = decode(bytes);
    BOOST_TEST_REQUIRE(r.has_value(), (r ? "" : r.error().message()));
    return std::move(r).value();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(wire_codec)

BOOST_AUTO_TEST_CASE(every_sample_round_trips_and_encoded_size_is_exact) {
    const auto all = samples::all();
    // Every kind of the Body variant appears among the samples.
    std::vector<bool> seen(std::variant_size_v<Body>, false);
    for (const auto& [name, env] : all) {
        BOOST_TEST_CONTEXT(name) {
            seen[env.body.index()] = true;
            const auto bytes = encode(env);
            BOOST_TEST(bytes.size() == encoded_size(env));
            BOOST_TEST(bytes.size() % 8 == 0u);
            BOOST_TEST(bytes.size() <= max_datagram_size);
            const Envelope back = round_trip(env);
            BOOST_TEST((back == env));
            BOOST_TEST(std::string(kind_name(back.body)) == kind_name(env.body));
            // Re-encoding is byte-identical: the encoding is canonical for our encoder.
            BOOST_TEST((encode(back) == bytes));
        }
    }
    for (std::size_t i = 0; i < seen.size(); ++i) BOOST_TEST(seen[i], "kind index " << i);
}

BOOST_AUTO_TEST_CASE(field_values_survive_exactly) {
    auto env = samples::envelope(samples::buy_result_3_fills());
    const Envelope back = round_trip(env);
    const auto& r = std::get<BuyResult>(back.body);
    BOOST_TEST(back.sender == 3u);
    BOOST_TEST(back.receiver == 5u);
    BOOST_TEST(back.epoch == 2u);
    BOOST_TEST(back.clock.get(5) == 6u);
    BOOST_TEST(r.request_id == 42u);
    BOOST_TEST(r.filled);
    BOOST_TEST(r.amount == 13500);
    BOOST_TEST_REQUIRE(r.fills.size() == 3u);
    BOOST_TEST(r.fills[2].seller == 4u);
    BOOST_TEST(r.fills[2].lot_id == 102u);
    BOOST_TEST(r.fills[2].amount == 3000);
}

BOOST_AUTO_TEST_CASE(encode_into_unaligned_and_oversized_buffers) {
    const auto env = samples::envelope(samples::buy());
    const auto expected = encode(env);
    std::vector<std::byte> storage(expected.size() + 64, std::byte{0xAA});
    for (std::size_t offset = 0; offset < 8; ++offset) {
        BOOST_TEST_CONTEXT("offset " << offset) {
            const std::size_t n =
                encode(env, std::span<std::byte>(storage.data() + offset, expected.size() + 32));
            BOOST_TEST(n == expected.size());
            BOOST_TEST(std::memcmp(storage.data() + offset, expected.data(), n) == 0);
            // And decoding from that unaligned place works too.
            auto r = decode(std::span<const std::byte>(storage.data() + offset, n));
            BOOST_TEST_REQUIRE(r.has_value());
            BOOST_TEST((r.value() == env));
        }
    }
}

BOOST_AUTO_TEST_CASE(encode_rejects_a_buffer_too_small) {
    const auto env = samples::envelope(samples::buy());
    std::vector<std::byte> out(encoded_size(env) - 8);
    BOOST_CHECK_THROW(encode(env, out), std::length_error);
}

BOOST_AUTO_TEST_CASE(encode_rejects_what_decode_would_reject) {
    auto too_many = samples::buy_result_3_fills();
    too_many.fills.resize(max_fills + 1);
    BOOST_CHECK_THROW(encode(samples::envelope(too_many)), std::invalid_argument);

    DepositAck bad_reason{1, false, static_cast<RefusalReason>(99)};
    BOOST_CHECK_THROW(encode(samples::envelope(bad_reason)), std::invalid_argument);
}

// The election's messages are carried as they are, with one epoch: the envelope's. What the wire
// could not carry (a second epoch, a heartbeat on another's behalf) is refused, naming the field.
BOOST_AUTO_TEST_CASE(encode_refuses_an_election_message_the_envelope_contradicts) {
    const auto refused = [](const Envelope& e, const std::string& says) {
        try {
            (void)encode(e);
            BOOST_ERROR("encoded: " << e);
        } catch (const std::invalid_argument& x) {
            BOOST_TEST(std::string(x.what()) == says);
        }
    };
    // envelope() defaults: sender 3, receiver 5, epoch 2.
    refused(samples::envelope(Election{7}),
            "wire: encode election.epoch: 7 differs from the envelope's 2");
    refused(samples::envelope(Ok{1}), "wire: encode ok.epoch: 1 differs from the envelope's 2");
    refused(samples::envelope(Coordinator{3, 9}),
            "wire: encode coordinator.epoch: 9 differs from the envelope's 2");
    refused(samples::envelope(Heartbeat{3, 0}),
            "wire: encode heartbeat.epoch: 0 differs from the envelope's 2");
    refused(samples::envelope(Heartbeat{4, 2}),
            "wire: encode heartbeat.leader: 4 is not the sender 3");
    // The same messages in agreement round-trip; decode fills the epoch and the heartbeat's leader
    // from the envelope.
    for (const Body& body :
         {Body{Election{2}}, Body{Ok{2}}, Body{Coordinator{4, 2}}, Body{Heartbeat{3, 2}}}) {
        const auto env = samples::envelope(body);
        BOOST_TEST((round_trip(env) == env), env);
    }
}

BOOST_AUTO_TEST_CASE(the_wire_carries_the_election_s_own_messages) {
    // One definition: the wire's election kinds are the election module's structs.
    static_assert(std::is_same_v<Election, tp::election::Election>);
    static_assert(std::is_same_v<Ok, tp::election::Ok>);
    static_assert(std::is_same_v<Coordinator, tp::election::Coordinator>);
    static_assert(std::is_same_v<Heartbeat, tp::election::Heartbeat>);
    const tp::election::Message messages[] = {tp::election::Election{5}, tp::election::Ok{6},
                                              tp::election::Coordinator{2, 7},
                                              tp::election::Heartbeat{2, 8}};
    for (const auto& m : messages) {
        const Body body = to_body(m);
        BOOST_TEST(body.index() == 6 + m.index());
        const auto back = election_message(body);
        BOOST_TEST_REQUIRE(back.has_value());
        BOOST_TEST((*back == m));
    }
    BOOST_TEST(!election_message(Body{samples::buy()}).has_value());
    BOOST_TEST(!election_message(Body{PaymentAck{1}}).has_value());
}

BOOST_AUTO_TEST_CASE(the_largest_clock_fits_one_datagram) {
    // Packed, max_clock_entries entries at the largest counter take 8 bytes each (a one-byte gap,
    // a seven-byte counter): the entry limit binds before the datagram's size does.
    tp::clock::VectorClock largest;
    for (PeerId p = 1; p <= max_clock_entries; ++p) largest.set(p, max_clock_counter);
    const auto big = samples::envelope(samples::heartbeat(), largest);
    BOOST_TEST(encoded_size(big) <= max_datagram_size);
    BOOST_TEST(encoded_size(big) < 8 * max_clock_entries + 100);
    BOOST_TEST((round_trip(big) == big));

    auto one_more = largest;
    one_more.set(max_clock_entries + 1, 1);
    BOOST_CHECK_THROW(encode(samples::envelope(samples::heartbeat(), one_more)),
                      std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(a_clock_packs_to_its_varints) {
    // Peer gaps and counters as varints: a six-peer clock with small counters is 12 bytes (two
    // words), where version 1's list took 13 words.
    const auto six = samples::envelope(samples::heartbeat(), samples::dense_clock(6));
    const auto empty = samples::envelope(samples::heartbeat(), tp::clock::VectorClock{});
    BOOST_TEST(encoded_size(six) - encoded_size(empty) == 16u);
    // Far-apart peers and large counters take more bytes each, and still round-trip.
    tp::clock::VectorClock wide;
    wide.set(7, 1);
    wide.set(200'000, 300);
    wide.set(0xFFFF'FFFF, max_clock_counter);
    const auto e = samples::envelope(samples::heartbeat(), wide);
    BOOST_TEST((round_trip(e) == e));
    // 1 + 1, 3 + 2, 5 + 7 bytes: 19, in three words.
    BOOST_TEST(encoded_size(e) - encoded_size(empty) == 24u);
}

BOOST_AUTO_TEST_CASE(result_value_on_error_throws_with_the_message) {
    const std::vector<std::byte> nothing;
    auto r = decode(nothing);
    BOOST_TEST(!r);
    BOOST_TEST(r.error().code == DecodeErrc::too_short);
    try {
        (void)r.value();
        BOOST_FAIL("value() on an error must throw");
    } catch (const std::logic_error& e) {
        BOOST_TEST(std::string(e.what()).find("too_short") != std::string::npos);
    }
}

BOOST_AUTO_TEST_CASE(names_for_logs) {
    BOOST_TEST(std::string(kind_name(Body{BuyResult{}})) == "buy_result");
    BOOST_TEST(std::string(kind_name(Body{Heartbeat{}})) == "heartbeat");
    BOOST_TEST(std::string(to_string(RefusalReason::no_seller)) == "no_seller");
    std::ostringstream out;
    out << samples::envelope(samples::buy(), tp::clock::VectorClock{0, 2});
    BOOST_TEST(out.str() == "buy 3->5 epoch 2 {1:2}");
    const DecodeError e{DecodeErrc::list_too_long, "body.buyResult.fills: 300 elements"};
    BOOST_TEST(e.message() == "list_too_long: body.buyResult.fills: 300 elements");
}

BOOST_AUTO_TEST_SUITE_END()
