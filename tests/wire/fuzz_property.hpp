#pragma once

#include <cstddef>
#include <span>
#include <string>

namespace tp::wire::fuzz {

// The fuzz property, for libFuzzer and for the replay test alike: decode returns a value or an
// error with a message; whatever decodes re-encodes (within limits) to bytes that decode equal and
// re-encode identically. Returns an empty string when it holds, else what broke.
std::string check_decode_property(std::span<const std::byte> bytes);

}  // namespace tp::wire::fuzz
