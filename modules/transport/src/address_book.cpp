#include "tp/transport/address_book.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

#include "tp/runtime/random.hpp"

namespace tp::transport {

std::size_t EndpointHash::operator()(const asio::ip::udp::endpoint& ep) const noexcept {
    std::uint64_t h = ep.port();
    const auto address = ep.address();
    if (address.is_v4()) {
        h ^= static_cast<std::uint64_t>(address.to_v4().to_uint()) << 16;
    } else {
        const auto bytes = address.to_v6().to_bytes();
        std::uint64_t hi = 0, lo = 0;
        std::memcpy(&hi, bytes.data(), 8);
        std::memcpy(&lo, bytes.data() + 8, 8);
        h = runtime::mix64(h ^ hi) ^ lo;
    }
    return static_cast<std::size_t>(runtime::mix64(h));
}

asio::ip::address parse_host(std::string_view host) {
    if (host == "localhost") return asio::ip::address_v4::loopback();
    asio::error_code ec;
    auto address = asio::ip::make_address(std::string(host), ec);
    if (ec)
        throw std::invalid_argument("invalid host '" + std::string(host) +
                                    "': expected a numeric IPv4/IPv6 address or localhost");
    return address;
}

std::vector<PeerId> AddressBook::peers() const {
    std::vector<PeerId> out;
    out.reserve(by_peer_.size());
    for (const auto& [peer, endpoint] : by_peer_) out.push_back(peer);
    std::sort(out.begin(), out.end());
    return out;
}

void AddressBook::add(PeerId peer, const asio::ip::udp::endpoint& endpoint) {
    remove(peer);
    by_peer_.emplace(peer, endpoint);
    by_endpoint_[endpoint] = peer;
}

void AddressBook::add(PeerId peer, std::string_view host, std::uint16_t port) {
    try {
        add(peer, asio::ip::udp::endpoint(parse_host(host), port));
    } catch (const std::invalid_argument& e) {
        throw std::invalid_argument("address book, peer " + std::to_string(peer) + ": " + e.what());
    }
}

void AddressBook::remove(PeerId peer) {
    auto it = by_peer_.find(peer);
    if (it == by_peer_.end()) return;
    auto back = by_endpoint_.find(it->second);
    if (back != by_endpoint_.end() && back->second == peer) by_endpoint_.erase(back);
    by_peer_.erase(it);
}

const asio::ip::udp::endpoint* AddressBook::find(PeerId peer) const noexcept {
    auto it = by_peer_.find(peer);
    return it == by_peer_.end() ? nullptr : &it->second;
}

std::optional<PeerId> AddressBook::find(const asio::ip::udp::endpoint& endpoint) const noexcept {
    auto it = by_endpoint_.find(endpoint);
    if (it == by_endpoint_.end()) return std::nullopt;
    return it->second;
}

}  // namespace tp::transport
