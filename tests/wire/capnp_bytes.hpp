#pragma once

// For tests that craft messages with the private schema: a builder's message as datagram bytes.

#include <capnp/message.h>
#include <capnp/serialize.h>

#include <cstddef>
#include <cstring>
#include <vector>

namespace tp::wire::test {

inline std::vector<std::byte> to_bytes(capnp::MessageBuilder& message) {
    const auto words = capnp::messageToFlatArray(message);
    const auto bytes = words.asBytes();
    std::vector<std::byte> out(bytes.size());
    std::memcpy(out.data(), bytes.begin(), bytes.size());
    return out;
}

}  // namespace tp::wire::test
