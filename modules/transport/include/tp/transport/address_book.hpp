#pragma once

#include <asio/ip/udp.hpp>
#include <cstdint>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tp/transport/transport.hpp"

namespace tp::transport {

struct EndpointHash {
    std::size_t operator()(const asio::ip::udp::endpoint& ep) const noexcept;
};

// PeerId <-> UDP endpoint, both ways: send looks up the destination, receive maps the source
// endpoint back to the sender's id.
class AddressBook {
public:
    // Adds or replaces a peer's endpoint.
    void add(PeerId peer, const asio::ip::udp::endpoint& endpoint);
    // host is a numeric IPv4/IPv6 address or "localhost"; throws std::invalid_argument naming the
    // peer and the host when it is neither.
    void add(PeerId peer, std::string_view host, std::uint16_t port);
    void remove(PeerId peer);

    const asio::ip::udp::endpoint* find(PeerId peer) const noexcept;
    std::optional<PeerId> find(const asio::ip::udp::endpoint& endpoint) const noexcept;
    std::size_t size() const noexcept { return by_peer_.size(); }
    // Every peer in the book, in ascending order.
    std::vector<PeerId> peers() const;

private:
    std::unordered_map<PeerId, asio::ip::udp::endpoint> by_peer_;
    std::unordered_map<asio::ip::udp::endpoint, PeerId, EndpointHash> by_endpoint_;
};

// Parses a numeric address or "localhost" (127.0.0.1); throws std::invalid_argument naming it.
asio::ip::address parse_host(std::string_view host);

}  // namespace tp::transport
