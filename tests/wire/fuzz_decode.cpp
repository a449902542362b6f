// libFuzzer target for the wire decoder (wire-fuzz, built with -Dfuzzing=true and clang), also
// linked into the wire test suite, whose replay test runs the same property over the corpus.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>

#include "fuzz_property.hpp"
#include "tp/wire/codec.hpp"

namespace tp::wire::fuzz {

std::string check_decode_property(std::span<const std::byte> bytes) {
    const DecodeResult first = decode(bytes);
    if (!first) {
        if (first.error().detail.empty()) return "error without detail: " + first.error().message();
        return {};
    }
    std::vector<std::byte> again;
    try {
        again = encode(first.value());
    } catch (const std::exception& e) {
        return std::string("decoded envelope does not re-encode: ") + e.what();
    }
    const DecodeResult second = decode(again);
    if (!second) return "re-encoded bytes do not decode: " + second.error().message();
    if (!(second.value() == first.value())) return "re-encoded envelope decodes different";
    if (encode(second.value()) != again) return "encoding is not stable";
    return {};
}

}  // namespace tp::wire::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto failure = tp::wire::fuzz::check_decode_property(
        std::span<const std::byte>(reinterpret_cast<const std::byte*>(data), size));
    if (!failure.empty()) {
        std::fprintf(stderr, "wire fuzz property violated: %s\n", failure.c_str());
        std::abort();
    }
    return 0;
}
