#pragma once

// For the hostile-input tests: envelopes crafted with the private schema, each ready to break one
// rule, and checks that decode refuses them with the error expected.

#include <boost/test/unit_test.hpp>

#include <capnp/any.h>
#include <capnp/message.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "packed_clock.hpp"
#include "schema.hpp"
#include "tp/wire/codec.hpp"

namespace tp::wire::test {

// Packs `entries` (peer, counter) into the envelope's clock as given: increasing peers, but
// counters unchecked, so a test can write a zero or one beyond the limit.
inline void set_clock(schema::Envelope::Builder root,
                      const std::vector<std::pair<std::uint32_t, std::uint64_t>>& entries) {
    std::vector<tp::clock::Entry> raw;
    for (const auto& [peer, counter] : entries) raw.push_back({peer, counter});
    auto clock = root.initClock(static_cast<unsigned>(packed::size(raw)));
    packed::write(raw, reinterpret_cast<std::byte*>(clock.begin()));
}

// The clock's raw bytes, to write what packed::write never would.
inline void set_clock_bytes(schema::Envelope::Builder root, const std::vector<std::uint8_t>& bytes) {
    auto clock = root.initClock(static_cast<unsigned>(bytes.size()));
    std::copy(bytes.begin(), bytes.end(), clock.begin());
}

// A valid envelope root of this version (sender 1, receiver 2, epoch 3) with a 2-peer clock.
inline schema::Envelope::Builder valid_root(capnp::MessageBuilder& message) {
    auto root = message.initRoot<schema::Envelope>();
    root.setSender(1);
    root.setReceiver(2);
    root.setEpoch(3);
    root.setVersion(protocol_version);
    set_clock(root, {{1, 4}, {2, 5}});
    return root;
}

inline DecodeError expect_error(const std::vector<std::byte>& bytes, DecodeErrc code,
                                const DecodeLimits& limits = {}) {
    auto r = decode(bytes, limits);
    BOOST_TEST_REQUIRE(!r.has_value(), "decoded although it should fail with " << code);
    BOOST_TEST(r.error().code == code, r.error().message());
    BOOST_TEST(r.error().message().find(to_string(code)) == 0u);
    return r.error();
}

// Decodes what must decode.
inline Envelope decoded(const std::vector<std::byte>& bytes) {
    auto r = decode(bytes);
    BOOST_TEST_REQUIRE(r.has_value(), (r ? "" : r.error().message()));
    return std::move(r).value();
}

// The encoder refuses `e`, saying exactly `says`: it never writes what the decoder would refuse.
inline void expect_encode_refused(const Envelope& e, const std::string& says) {
    try {
        (void)encode(e);
        BOOST_ERROR("encoded: " << e);
    } catch (const std::invalid_argument& x) {
        BOOST_TEST(std::string(x.what()) == says);
    }
}

inline bool mentions(const DecodeError& e, const std::string& what) {
    const bool found = e.detail.find(what) != std::string::npos;
    if (!found) BOOST_TEST_MESSAGE("detail was: " << e.detail);
    return found;
}

// Raw access to a struct's sections, to write what the typed API would refuse.
template <typename Builder>
capnp::AnyStruct::Builder any(Builder b) {
    return capnp::AnyStruct::Builder(kj::mv(b));
}

}  // namespace tp::wire::test
