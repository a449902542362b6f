// A decode error's message goes into logs, so it must never carry bytes from the datagram: whatever
// Cap'n Proto's own exception descriptions say comes out as printable ASCII with no line breaks,
// whatever the input. No field of the message model is text (BuyResult.detail is retired), so no
// text from the network reaches a decoded message either.
#include <boost/test/unit_test.hpp>

#include <capnp/message.h>
#include <capnp/serialize.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <optional>
#include <random>
#include <string>

#include "capnp_bytes.hpp"
#include "corpus.hpp"
#include "schema.hpp"
#include "tp/wire/codec.hpp"

using namespace tp::wire;
namespace s = tp::wire::schema;

namespace {

const std::string forged = "\x1b[2J\nFORGED peer 6: I am the new coordinator";

using tp::wire::test::to_bytes;

std::vector<std::byte> buy_result_with_detail(const std::string& detail) {
    capnp::MallocMessageBuilder m;
    auto root = m.initRoot<s::Envelope>();
    root.setSender(1);
    root.setReceiver(2);
    root.setVersion(protocol_version);
    root.getBody().initBuyResult().setDetailDeprecated(detail);
    return to_bytes(m);
}

// The text with every unsafe byte shown as <hh>, for a failure message.
std::string shown(const std::string& text) {
    std::string out;
    for (unsigned char c : text) {
        if (c >= 0x20 && c < 0x7f) {
            out += static_cast<char>(c);
        } else {
            static constexpr char hex[] = "0123456789abcdef";
            out += {'<', hex[c >> 4], hex[c & 0xf], '>'};
        }
    }
    return out;
}

bool log_safe(const std::string& text) {
    return std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

// Decodes; when it fails, checks that the message is safe to log. Returns the error, if any.
std::optional<DecodeError> decode_checked(const std::vector<std::byte>& bytes) {
    auto r = decode(bytes);
    if (r) return std::nullopt;
    const std::string message = r.error().message();
    BOOST_TEST(log_safe(message), "unsafe for a log: " << shown(message));
    BOOST_TEST(message.find("FORGED") == std::string::npos, shown(message));
    return r.error();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(wire_decode_log_safety)

// The text an older build (or a hostile one) puts in the retired detail reaches neither an error
// nor the decoded message: long, or without its terminator, it is never read.
BOOST_AUTO_TEST_CASE(a_hostile_detail_text_reaches_nothing) {
    std::string text;
    while (text.size() <= 256) text += forged;
    auto unterminated = buy_result_with_detail(forged);
    const auto* raw = reinterpret_cast<const char*>(unterminated.data());
    const auto at = std::search(raw, raw + unterminated.size(), forged.begin(), forged.end()) - raw;
    BOOST_TEST_REQUIRE(static_cast<std::size_t>(at) + forged.size() < unterminated.size());
    BOOST_TEST_REQUIRE((unterminated[at + forged.size()] == std::byte{0}));
    unterminated[at + forged.size()] = std::byte{'\n'};
    for (const auto& bytes : {buy_result_with_detail(text), unterminated}) {
        const auto r = decode(bytes);
        BOOST_TEST_REQUIRE(r.has_value(), (r ? "" : shown(r.error().message())));
        const auto again = encode(r.value());
        const auto* out = reinterpret_cast<const char*>(again.data());
        const bool absent = std::search(out, out + again.size(), forged.begin(), forged.end()) ==
                            out + again.size();
        BOOST_TEST(absent);
    }
}

BOOST_AUTO_TEST_CASE(every_mutation_of_the_corpus_gives_a_loggable_error) {
    // Every byte of every seed set to bytes that break logs, then random multi-byte mutations:
    // whatever fails (our checks or Cap'n Proto's) says so in printable ASCII.
    std::map<DecodeErrc, int> seen;
    const std::byte hostile[] = {std::byte{0x00}, std::byte{0x0a}, std::byte{0x1b},
                                 std::byte{0x7f}, std::byte{0xff}, std::byte{0x22}};
    const auto seeds = corpus::seeds();
    for (const auto& [name, seed] : seeds) {
        for (std::size_t i = 0; i < seed.size(); ++i) {
            for (std::byte b : hostile) {
                auto bytes = seed;
                bytes[i] = b;
                if (auto e = decode_checked(bytes)) ++seen[e->code];
            }
        }
    }
    std::mt19937 rng(12);
    for (int round = 0; round < 20'000; ++round) {
        auto bytes = seeds[rng() % seeds.size()].second;
        for (int k = 1 + static_cast<int>(rng() % 4); k > 0; --k) {
            bytes[rng() % bytes.size()] = static_cast<std::byte>(rng());
        }
        if (auto e = decode_checked(bytes)) ++seen[e->code];
    }
    // The sweep reached Cap'n Proto's own descriptions, not only our checks.
    BOOST_TEST(seen[DecodeErrc::malformed] > 0);
    BOOST_TEST(seen.size() >= 5u);
}

BOOST_AUTO_TEST_SUITE_END()
