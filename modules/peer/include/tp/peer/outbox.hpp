#pragma once

// The vocabulary of the peer's sans-IO cores (Buyer, Seller, Trader, PeerCore): no asio, no
// sockets, no files, no real clock in any of them. They take `now` and messages and hand back
// messages to send and deadlines to wake at; the driver (Node) carries those out.

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include "tp/clock/vector_clock.hpp"
#include "tp/wire/message.hpp"

namespace tp::peer {

using PeerId = clock::PeerId;

// A core's notion of time: the peer's own steady clock, as a duration since its epoch (the same
// unit as election::Time). Never written to disk or sent.
using Time = std::chrono::nanoseconds;

// A message a role core wants sent. PeerCore stamps it (sender, vector clock, epoch) on the way
// out; `epoch` pins a reign (a trader's replies go out in the epoch they were decided in), unset
// means "the epoch the peer is in when it leaves".
struct Outgoing {
    PeerId to = 0;
    wire::Body body;
    std::optional<wire::Epoch> epoch;
};

using Outbox = std::vector<Outgoing>;

// Appends a message. Built in place: a braced Outgoing moved into the vector trips GCC 12's
// -Wmaybe-uninitialized on the variant's other alternatives.
inline void push(Outbox& outbox, PeerId to, wire::Body body,
                 std::optional<wire::Epoch> epoch = std::nullopt) {
    Outgoing& out = outbox.emplace_back();
    out.to = to;
    out.body = std::move(body);
    out.epoch = epoch;
}

// Request and lot ids are (incarnation << 32) | counter: unique across the lives of a peer as
// long as the incarnation only grows (durable peer state). The one place that builds them.
class IdSource {
public:
    explicit IdSource(std::uint32_t incarnation) noexcept : incarnation_(incarnation) {}
    std::uint64_t next() noexcept { return (std::uint64_t{incarnation_} << 32) | ++counter_; }
    std::uint32_t incarnation() const noexcept { return incarnation_; }

private:
    std::uint32_t incarnation_;
    std::uint32_t counter_ = 0;
};

}  // namespace tp::peer
