#pragma once

#include <cstdint>
#include <string>

#include "tp/peer/local_market.hpp"
#include "tp/runtime/random.hpp"
#include "tp/transport/memory_network.hpp"

namespace tp::sim {

using clock::PeerId;

// A member gone bad (the simulator's `hostile` fault): one member, drawn per run, that besides
// running its own node sends datagrams that decode and pass the envelope checks but are hostile
// (it holds the members' key and seals with its own node's guard, so it sends as itself; one
// without the key is the `outsider` fault, outsider.hpp). While it is not the receiver's trader
// it sends:
//   maximal election   an Election carrying the last term there is
//   maximal claim      a Coordinator claiming the last term for its sender
//   far claim          a Heartbeat claiming a term far beyond the current one
//   inflated clock     a message whose clock names thousands of invented peers
//   foreign clock      a message whose clock names a few peers that are not members
//   forged payment     a Payment from a member that is not the trader
//   forged result      a BuyResult for a buyer's outstanding request, from a non-trader
//   forged ack         a PaymentAck for a pending payment, from a member that is not its payee
// None of it may change what the market does beyond costing an election.
class Attacker {
public:
    Attacker(transport::MemoryNetwork& network, runtime::Rng rng, PeerId self)
        : network_(network), rng_(rng), self_(self) {}
    PeerId self() const noexcept { return self_; }

    // Sends one hostile datagram now, chosen from the seed; returns what it sent, or empty when
    // the chosen kind had no target (no trader, no buyer waiting, no payment pending).
    std::string strike(peer::LocalMarket& market);
    std::uint64_t sent() const noexcept { return sent_; }

private:
    void send(PeerId from, PeerId to, wire::Epoch epoch, wire::Body body,
              clock::VectorClock clock = {});
    PeerId pick(const std::vector<PeerId>& ids);

    transport::MemoryNetwork& network_;
    auth::Guard* guard_ = nullptr;  // the attacker's node's, during strike()
    runtime::Rng rng_;
    PeerId self_;
    std::uint64_t sent_ = 0;
    std::uint64_t next_id_ = 0;
};

}  // namespace tp::sim
