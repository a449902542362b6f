#include "tp/transport/kind.hpp"

#include <stdexcept>
#include <string>

namespace tp::transport {

const char* to_string(TransportKind kind) noexcept {
    for (const auto& [name, value] : transport_kind_names) {
        if (value == kind) return name;
    }
    return "?";
}

TransportKind parse_transport_kind(std::string_view name) {
    for (const auto& [text, value] : transport_kind_names) {
        if (name == text) return value;
    }
    throw std::invalid_argument("transport: unknown kind '" + std::string(name) +
                                "' (expected \"udp\", \"memory\" or \"tcp\")");
}

}  // namespace tp::transport
