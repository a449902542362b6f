#pragma once

#include <memory>
#include <string_view>

#include "tp/runtime/runtime.hpp"
#include "tp/transport/address_book.hpp"
#include "tp/transport/kind.hpp"
#include "tp/transport/memory_network.hpp"
#include "tp/transport/tcp_transport.hpp"
#include "tp/transport/udp_transport.hpp"

namespace tp::transport {

struct TransportConfig {
    TransportKind kind = TransportKind::memory;
    UdpConfig udp;  // used when kind == udp
    TcpConfig tcp;  // used when kind == tcp
};

// The transport named by the configuration. memory needs `network` (it attaches `self` to it);
// udp and tcp need a real-time runtime and use `book`. Throws std::invalid_argument otherwise.
std::unique_ptr<Transport> make_transport(const TransportConfig& config, PeerId self,
                                          runtime::Runtime& runtime,
                                          MemoryNetwork* network = nullptr, AddressBook book = {});

}  // namespace tp::transport
