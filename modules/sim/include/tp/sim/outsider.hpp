#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "tp/auth/frame.hpp"
#include "tp/peer/local_market.hpp"
#include "tp/runtime/random.hpp"
#include "tp/transport/memory_network.hpp"

namespace tp::sim {

using clock::PeerId;

// An attacker outside the market (the simulator's `outsider` fault): it does NOT hold the members'
// key, but it hears every datagram on the wire (the network's tap) and can send datagrams with
// any source address. It keeps a reservoir sample of what it heard, so frames from before
// crashes and restarts stay in it, and on each strike does one of:
//   replay         a captured frame, again, to its receiver
//   redirect       a captured frame to another member, under the same claimed sender
//   bit flip       a captured frame with one random bit flipped, to its receiver
//   forged payment a Payment of up to 555,555,555 "from the current trader" to a seller
//   forged result  a free BuyResult "from the current trader" for a buyer's outstanding request
//   forged claim   a Coordinator "from the current trader" naming another member leader of a
//                  later term
// A forged envelope gets the newest header heard on that link with the sequence moved on, and a
// MAC made with a wrong key (another seed's) or random bytes. The members' guards must refuse
// every one of them: none may change what the market does.
class Outsider {
public:
    static constexpr std::size_t sample_size = 256;

    // `wrong_key_seed` seeds the key it forges with; it must not be the members' key's.
    Outsider(transport::MemoryNetwork& network, runtime::Rng rng, runtime::Rng capture_rng,
             std::uint64_t wrong_key_seed);
    Outsider(const Outsider&) = delete;
    Outsider& operator=(const Outsider&) = delete;

    // The tap: hears one datagram a member sent.
    void capture(PeerId from, PeerId to, std::span<const std::byte> frame);

    // Strikes once now, choices drawn from its own stream; returns what it sent, or empty when
    // the chosen kind had nothing to work on (nothing heard yet, no trader, no buyer waiting).
    std::string strike(peer::LocalMarket& market);

    std::uint64_t sent() const noexcept { return sent_; }
    std::uint64_t heard() const noexcept { return heard_; }
    std::size_t sampled() const noexcept { return sample_.size(); }

private:
    struct Captured {
        PeerId from = 0;
        PeerId to = 0;
        std::vector<std::byte> bytes;
    };
    // Seals `body` in a frame that claims `from` -> `to` and injects it; returns how it was
    // sealed ("a wrong key" or "a random MAC").
    std::string forge(PeerId from, PeerId to, wire::Epoch epoch, wire::Body body);
    const Captured* pick_captured();

    transport::MemoryNetwork& network_;
    runtime::Rng rng_;
    runtime::Rng capture_rng_;  // the reservoir's draws, apart so traffic does not shift strikes
    auth::Mac wrong_mac_;
    std::vector<Captured> sample_;
    std::map<std::pair<PeerId, PeerId>, auth::Header> latest_;  // newest data header per link
    std::uint64_t heard_ = 0;
    std::uint64_t sent_ = 0;
    std::uint64_t next_id_ = 0;
};

}  // namespace tp::sim
