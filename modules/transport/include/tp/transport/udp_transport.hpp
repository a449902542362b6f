#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/ip/udp.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tp/transport/address_book.hpp"
#include "tp/transport/ip_transport.hpp"

namespace tp::transport {

struct UdpConfig {
    std::string host = "127.0.0.1";  // or "::1", "0.0.0.0", "localhost"
    std::uint16_t port = 0;          // 0: an ephemeral port, see local_endpoint()
    std::size_t max_datagram = 65507;
    int socket_buffer_bytes = 4 << 20;  // asked for; the kernel may cap it (net.core.rmem_max)
    // Datagrams one system call may read (recvmmsg on Linux), 1 to max_receive_batch; each
    // costs max_datagram bytes of buffer, reserved at the first receive. 1: one recvfrom each.
    std::size_t receive_batch = 8;
    static constexpr std::size_t max_receive_batch = 64;
};

struct UdpStats {
    std::uint64_t sent = 0;
    std::uint64_t send_calls = 0;  // system calls that sent: fewer than `sent` when batched
    std::uint64_t send_errors = 0;
    std::uint64_t received = 0;
    std::uint64_t unknown_sender = 0;  // dropped: strangers not accepted
    std::uint64_t strangers = 0;       // handed up as strangers' (accept_strangers)
    std::uint64_t oversized = 0;  // larger than max_datagram
    std::uint64_t truncated = 0;  // larger than the caller's buffer
    std::uint64_t receive_errors = 0;
    std::uint64_t receive_calls = 0;  // system calls that read datagrams: fewer when batched
};

// A Transport over one UDP socket. Receives try a non-blocking read first and wait for
// readiness only when the socket is empty, so a burst is drained without a reactor round trip
// per datagram; a read takes up to `receive_batch` datagrams at once (recvmmsg), and the next
// receives hand them on without a system call.
class UdpTransport final : public IpTransport {
public:
    // Binds host:port; throws std::invalid_argument for a bad host, std::system_error when the
    // bind fails (the message names the endpoint).
    UdpTransport(const asio::any_io_executor& executor, PeerId self, const UdpConfig& config,
                 AddressBook book = {});

    PeerId self() const noexcept override { return self_; }
    std::size_t max_datagram() const noexcept override { return max_datagram_; }
    asio::awaitable<void> send(PeerId to, std::span<const std::byte> data) override;
    asio::awaitable<void> send_all(std::span<const Outgoing> batch) override;
    std::size_t try_send_all(std::span<const Outgoing> batch) override;
    asio::awaitable<std::optional<Datagram>> receive(std::span<std::byte> buffer) override;
    std::optional<Datagram> try_receive(std::span<std::byte> buffer) override;
    void close() override;
    bool is_open() const noexcept override { return open_; }

    asio::ip::udp::endpoint local_endpoint() const { return local_; }
    std::uint16_t local_port() const override { return local_.port(); }
    AddressBook& address_book() noexcept override { return book_; }
    void accept_strangers(bool on) noexcept override { accept_strangers_ = on; }
    std::optional<asio::ip::udp::endpoint> stranger_source() const override { return sender_; }
    const UdpStats& stats() const noexcept { return stats_; }
    // The kernel's receive buffer size after the request in UdpConfig.
    int receive_buffer_bytes() const;

private:
    // Throws std::invalid_argument for a peer not in the book or a datagram over max_datagram.
    const asio::ip::udp::endpoint& destination(PeerId to, std::size_t size) const;
    // One sendmmsg of the first datagrams of `batch` (at most 64, every peer in the book): how
    // many left, 0 when the first would block or failed.
    std::size_t send_some(std::span<const Outgoing> batch);
    // Reads what waits on the socket into the slots: false when nothing does (or closed).
    bool read_some();
    std::byte* slot(std::size_t i) noexcept { return slots_.get() + i * max_datagram_; }

    PeerId self_;
    std::size_t max_datagram_;
    AddressBook book_;
    asio::ip::udp::socket socket_;
    asio::ip::udp::endpoint local_;
    asio::ip::udp::endpoint sender_;
    bool open_ = true;
    bool accept_strangers_ = false;
    UdpStats stats_;
    // Datagrams read and not yet handed on: slots [held_next_, held_count_) of receive_batch_,
    // each with its length (the datagram's own, also when it did not fit) and its source.
    std::size_t receive_batch_;
    std::unique_ptr<std::byte[]> slots_;  // uninitialised: pages are touched as datagrams fill them
    std::vector<std::size_t> lengths_;
    std::vector<asio::ip::udp::endpoint> sources_;
    std::size_t held_next_ = 0, held_count_ = 0;
};

}  // namespace tp::transport
