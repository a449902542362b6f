#include <boost/test/unit_test.hpp>

#include <sodium.h>

#include <vector>

#include "tp/auth/frame.hpp"
#include "tp/auth/guard.hpp"

using namespace tp::auth;

namespace {

std::vector<std::byte> payload_of(std::size_t n) {
    std::vector<std::byte> p(n);
    for (std::size_t i = 0; i < n; ++i) p[i] = static_cast<std::byte>(i * 7 + 1);
    return p;
}

// A frame from peer 1 (incarnation 1) to peer 2 with `payload`.
std::vector<std::byte> sealed(Guard& sender, PeerId to, const std::vector<std::byte>& payload) {
    std::vector<std::byte> frame(frame_overhead + payload.size());
    std::copy(payload.begin(), payload.end(), frame.begin() + header_size);
    frame.resize(sender.seal(to, frame, payload.size()));
    return frame;
}

const std::vector<PeerId> members{1, 2, 3};

}  // namespace

BOOST_AUTO_TEST_SUITE(frame)

BOOST_AUTO_TEST_CASE(header_round_trips) {
    const Header h{FrameKind::hello, 0xfffff, 7, 0xdeadbeef, 3, 0x0102030405060708ull};
    std::vector<std::byte> frame(frame_overhead);
    write_header(h, std::span(frame).first<header_size>());
    Header back;
    BOOST_REQUIRE(parse_header(frame, back) == ParseErrc::ok);
    BOOST_TEST((back == h));
}

BOOST_AUTO_TEST_CASE(header_shape_errors) {
    Header h;
    std::vector<std::byte> frame(frame_overhead - 1);
    BOOST_TEST((parse_header(frame, h) == ParseErrc::too_short));
    frame.assign(frame_overhead, std::byte{0});
    BOOST_TEST((parse_header(frame, h) == ParseErrc::bad_version));
    frame[0] = std::byte{frame_version};
    frame[1] = std::byte{9};
    BOOST_TEST((parse_header(frame, h) == ParseErrc::bad_kind));
    frame[1] = std::byte{0};
    frame[3] = std::byte{1};
    BOOST_TEST((parse_header(frame, h) == ParseErrc::bad_reserved));
}

BOOST_AUTO_TEST_CASE(a_sealed_frame_opens_with_its_payload) {
    const Key key = Key::derive(1);
    Guard alice(1, 1, members, key);
    Guard bob(2, 1, members, key);
    const auto payload = payload_of(100);
    const auto frame = sealed(alice, 2, payload);
    BOOST_TEST(frame.size() == payload.size() + frame_overhead);
    const auto out = bob.open(frame, {});
    BOOST_REQUIRE(out.opened.has_value());
    BOOST_TEST(out.opened->from == 1u);
    BOOST_TEST((out.opened->kind == FrameKind::data));
    BOOST_TEST(std::equal(out.opened->payload.begin(), out.opened->payload.end(), payload.begin(),
                          payload.end()));
}

// Every single bit of the frame, flipped alone, makes it refused: header fields (sender,
// receiver, lives, sequence), payload and MAC are all covered.
BOOST_AUTO_TEST_CASE(any_flipped_bit_is_refused) {
    const Key key = Key::derive(2);
    Guard alice(1, 1, members, key);
    const auto frame = sealed(alice, 2, payload_of(40));
    for (std::size_t byte = 0; byte < frame.size(); ++byte) {
        for (int bit = 0; bit < 8; ++bit) {
            Guard bob(2, 1, members, key);  // fresh each time: a refusal is not a replay
            auto damaged = frame;
            damaged[byte] ^= static_cast<std::byte>(1 << bit);
            const auto out = bob.open(damaged, {});
            BOOST_REQUIRE_MESSAGE(!out.opened, "byte " << byte << " bit " << bit << " accepted");
        }
    }
}

BOOST_AUTO_TEST_CASE(another_key_is_refused_as_bad_mac) {
    Guard alice(1, 1, members, Key::derive(3));
    Guard bob(2, 1, members, Key::derive(4));
    const auto out = bob.open(sealed(alice, 2, payload_of(10)), {});
    BOOST_TEST(!out.opened);
    BOOST_TEST((out.refusal == Refusal::bad_mac));
    BOOST_TEST(bob.refused()[static_cast<std::size_t>(Refusal::bad_mac)] == 1u);
}

BOOST_AUTO_TEST_CASE(mac_is_libsodium_keyed_blake2b) {
    // The precomputed-state MAC is plain keyed BLAKE2b-256: the same bytes as a one-shot call.
    const Key key = Key::derive(5);
    const Mac mac(key);
    const auto bytes = payload_of(300);
    std::array<std::byte, mac_size> a{}, b{};
    mac.compute(bytes, a);
    BOOST_REQUIRE(sodium_init() >= 0);
    crypto_generichash_blake2b(reinterpret_cast<unsigned char*>(b.data()), b.size(),
                               reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                               reinterpret_cast<const unsigned char*>(key.bytes().data()),
                               Key::size);
    BOOST_TEST((a == b));
    BOOST_TEST(mac.verify(bytes, a));
    a[0] ^= std::byte{1};
    BOOST_TEST(!mac.verify(bytes, a));
}

BOOST_AUTO_TEST_SUITE_END()
