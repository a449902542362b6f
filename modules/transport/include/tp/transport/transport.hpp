#pragma once

#include <asio/awaitable.hpp>
#include <cstddef>
#include <optional>
#include <span>

#include "tp/clock/vector_clock.hpp"

namespace tp::transport {

using PeerId = tp::clock::PeerId;

// A datagram to send: to whom, and its bytes (the caller's, until the send returns).
struct Outgoing {
    PeerId to = 0;
    std::span<const std::byte> data;
};

// A received datagram: who sent it and how many bytes of the caller's buffer it filled.
struct Datagram {
    PeerId from = 0;
    std::size_t size = 0;
    // From an address in no book (issue 18: a newcomer's Join), handed up only by a transport
    // told to accept strangers; `from` is 0 and the sender is whoever the bytes claim.
    bool stranger = false;
};

// Unreliable datagrams between peers, for coroutines. One coroutine at a time may receive.
//
// send: fire and forget; a datagram may be lost, duplicated or reordered. Sending to a peer the
// transport cannot address, or more than max_datagram() bytes, is a caller error
// (std::invalid_argument). Sending on a closed transport does nothing.
// send_all: send() for each datagram of a batch, in order, in as few system calls as the
// transport can (UDP on Linux: sendmmsg); caller errors are thrown before any datagram leaves.
// try_send_all: send_all without waiting: the batch's datagrams in order until one would have
// to wait for room (a full socket buffer); returns how many were handed on (sent, dropped as a
// send may drop, or counted as failed), and the rest stays the caller's, for send_all. Caller
// errors as send_all. A driver sends from a plain function this way, with no coroutine frame
// per message, and suspends only when the transport holds it up. The default hands on none.
// receive: waits for the next datagram and copies it into `buffer` (no allocation); datagrams
// that do not fit, or from unknown senders, are counted and dropped. Returns std::nullopt once the
// transport is closed (also a receive pending at the time). Cancellable (e.g. `recv || timer`).
// try_receive: the next datagram already here, without waiting (std::nullopt when none is, or
// the transport is closed); drops like receive. Safe while a receive is pending: that receive
// goes on waiting for the datagram after. A driver judging silence at a deadline calls it first,
// since what waits unread was said before the deadline (after a stall of the event loop the
// timers and the datagrams are ready together).
// try_receive_at_hand: try_receive without looking further than one cheap look: what the
// transport holds already (TCP: frames its readers have read, no poll of every connection).
// A driver that drains a burst after each receive calls it. The default is try_receive.
class Transport {
public:
    virtual ~Transport() = default;

    virtual PeerId self() const noexcept = 0;
    virtual std::size_t max_datagram() const noexcept = 0;
    virtual asio::awaitable<void> send(PeerId to, std::span<const std::byte> data) = 0;
    virtual asio::awaitable<void> send_all(std::span<const Outgoing> batch) {
        for (const Outgoing& o : batch) co_await send(o.to, o.data);
    }
    virtual std::size_t try_send_all(std::span<const Outgoing> batch) {
        (void)batch;
        return 0;
    }
    virtual asio::awaitable<std::optional<Datagram>> receive(std::span<std::byte> buffer) = 0;
    virtual std::optional<Datagram> try_receive(std::span<std::byte> buffer) = 0;
    virtual std::optional<Datagram> try_receive_at_hand(std::span<std::byte> buffer) {
        return try_receive(buffer);
    }
    virtual void close() = 0;
    virtual bool is_open() const noexcept = 0;
};

}  // namespace tp::transport
