#pragma once

#include <cstdint>
#include <optional>

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
    // Issue 18: hand up a datagram from an address in no book as a stranger's (Datagram::stranger)
    // rather than drop it, so a newcomer's Join reaches a member; where it came from is
    // stranger_source() until the next receive (TCP: the connecting address, port 0, since a
    // dial leaves from a port of its own). Off by default.
    virtual void accept_strangers(bool /*on*/) noexcept {}
    virtual std::optional<asio::ip::udp::endpoint> stranger_source() const { return std::nullopt; }
};

}  // namespace tp::transport
