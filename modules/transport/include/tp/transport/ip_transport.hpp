#pragma once

#include <cstdint>

#include "tp/transport/address_book.hpp"
#include "tp/transport/transport.hpp"

namespace tp::transport {

// A Transport over IP sockets (UDP, TCP): peers are addressed through an AddressBook of IP
// endpoints, and the transport listens on a local port of its own.
class IpTransport : public Transport {
public:
    virtual AddressBook& address_book() noexcept = 0;
    // The port bound (the ephemeral one when 0 was asked for).
    virtual std::uint16_t local_port() const = 0;
};

}  // namespace tp::transport
