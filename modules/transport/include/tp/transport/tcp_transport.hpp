#pragma once

#include <asio/any_io_executor.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "tp/transport/address_book.hpp"
#include "tp/transport/ip_transport.hpp"

namespace tp::transport {

struct TcpConfig {
    std::string host = "127.0.0.1";  // or "::1", "0.0.0.0", "localhost"
    std::uint16_t port = 0;          // 0: an ephemeral port, see local_port()
    std::size_t max_datagram = 65507;  // the largest frame sent or accepted (as UDP's, by default)
    std::size_t queue_bytes = 4 << 20;  // per peer, waiting for its socket: frames beyond it drop
    std::chrono::milliseconds connect_timeout{1000};
    std::chrono::milliseconds backoff_min{10};  // first wait before redialing a peer that failed
    std::chrono::milliseconds backoff_max{1000};
    std::chrono::milliseconds hello_timeout{2000};  // for an accepted connection to say who it is
    std::size_t max_handshakes = 1024;  // accepted connections not yet identified, at most (a
                                        // market's peers, all dialing the highest at once)
    // Connections from peers in no book kept at once (accept_strangers: newcomers asking to
    // join); a new one beyond it closes the oldest, so idle ones cannot keep newcomers out.
    std::size_t max_strangers = 64;
};

struct TcpStats {
    std::uint64_t sent = 0;          // frames queued on a connection
    std::uint64_t send_calls = 0;    // write system calls: fewer than `sent` when batched
    std::uint64_t unreachable = 0;   // frames dropped: no connection, the redial backing off
    std::uint64_t queue_full = 0;    // frames dropped: the peer's queue over queue_bytes
    std::uint64_t received = 0;
    std::uint64_t truncated = 0;     // frames larger than the caller's buffer
    std::uint64_t malformed = 0;     // connections closed for a frame length of 0 or over the max
    std::uint64_t connects = 0;      // dials that succeeded
    std::uint64_t connect_failures = 0;
    std::uint64_t accepted = 0;      // inbound connections identified and kept
    std::uint64_t rejected = 0;      // inbound ones refused: bad or late hello, unknown peer,
                                     // address not the peer's, too many handshakes
    std::uint64_t superseded = 0;    // connections retired: the second of a pair, or replaced
                                     // by a newer one from the same peer
    std::uint64_t disconnects = 0;   // established connections that broke
    std::uint64_t strangers = 0;     // frames handed up as strangers' (accept_strangers)
    std::uint64_t strangers_evicted = 0;  // stranger connections closed: for a newer one, or
                                          // from an address not the book's for their id
};

// Datagrams over TCP: one connection per pair of peers, each datagram a frame (a 32-bit
// little-endian length, then the bytes). When it starts receiving, a peer dials every peer of
// its book with a higher id; it also dials on a send to a peer it has no connection with. It
// says who it is in an 8-byte hello ("TPt1", then its id, little-endian);
// the acceptor checks the id is in its address book at the connecting address, or, told to
// accept strangers (issue 18), keeps a connection from an id in no book too: its frames are handed
// up as a stranger's (stranger_source() is the connecting address, port 0: a dial leaves from an
// ephemeral port) until the book has that id, and a send to it then goes back on the same
// connection (a newcomer's Join, and the answer to it). When two peers
// dial each other at once, both send on the connection dialed by the lower id; the other one is
// retired: what was queued on it is written, and it is read until both sides shut it, so the
// switch loses nothing. A newer connection from a peer (a restarted one) retires the older the
// same way. A failed dial is
// retried on a later send after a backoff that doubles from backoff_min to backoff_max; frames
// sent meanwhile are dropped (and counted), as a datagram transport may. Sends never wait:
// frames queue per peer (bounded by queue_bytes) and leave in one write per peer per send_all.
// Received frames wait in the connection's buffer until receive() copies them out; a full
// buffer stops reading that connection, so a slow receiver slows its senders (TCP's flow
// control) instead of dropping.
//
// Real time only. Internal coroutines keep the state alive, so the transport may be destroyed
// while they are pending; close() ends them.
class TcpTransport final : public IpTransport {
public:
    // Listens on host:port; throws std::invalid_argument for a bad host, std::system_error when
    // the bind fails (the message names the endpoint).
    TcpTransport(const asio::any_io_executor& executor, PeerId self, const TcpConfig& config,
                 AddressBook book = {});
    ~TcpTransport() override;
    TcpTransport(const TcpTransport&) = delete;
    TcpTransport& operator=(const TcpTransport&) = delete;

    PeerId self() const noexcept override;
    std::size_t max_datagram() const noexcept override;
    asio::awaitable<void> send(PeerId to, std::span<const std::byte> data) override;
    asio::awaitable<void> send_all(std::span<const Outgoing> batch) override;
    std::size_t try_send_all(std::span<const Outgoing> batch) override;
    asio::awaitable<std::optional<Datagram>> receive(std::span<std::byte> buffer) override;
    std::optional<Datagram> try_receive(std::span<std::byte> buffer) override;
    std::optional<Datagram> try_receive_at_hand(std::span<std::byte> buffer) override;
    void close() override;
    bool is_open() const noexcept override;

    std::uint16_t local_port() const override;
    AddressBook& address_book() noexcept override;
    void accept_strangers(bool on) noexcept override;
    std::optional<asio::ip::udp::endpoint> stranger_source() const override;
    const TcpStats& stats() const noexcept;
    // Connections established (dialed or accepted) and open now.
    std::size_t connections() const noexcept;

    struct Impl;

private:
    std::shared_ptr<Impl> impl_;
};

}  // namespace tp::transport
