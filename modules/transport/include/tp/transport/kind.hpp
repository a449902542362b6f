#pragma once

#include <string_view>
#include <utility>

namespace tp::transport {

enum class TransportKind { udp, memory, tcp };

// Every kind with its name: the one table behind to_string, parse_transport_kind, the peer's
// configuration and the command line.
inline constexpr std::pair<const char*, TransportKind> transport_kind_names[] = {
    {"udp", TransportKind::udp},
    {"memory", TransportKind::memory},
    {"tcp", TransportKind::tcp},
};

const char* to_string(TransportKind kind) noexcept;
// "udp", "memory" or "tcp"; throws std::invalid_argument naming the value otherwise.
TransportKind parse_transport_kind(std::string_view name);

}  // namespace tp::transport
