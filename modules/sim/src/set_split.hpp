#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tp/peer/local_market.hpp"
#include "tp/transport/memory_network.hpp"

namespace tp::sim {

using PeerId = std::uint32_t;

// A change of the replica set meets a partition (Fault::set_split). Two voting newcomers leave at
// once; their side holds, with them, a quorum of the set as the trader's replica knows it, and the
// trader's side (the trader, the other replicas, every customer) a quorum of that set without
// them. A trader that let both changes be in flight at once could commit on the smaller set what
// the larger set's quorum never holds, and that side elects a trader of its own.
struct SetSplit {
    std::vector<PeerId> leavers;  // the two voting newcomers, sorted
    std::vector<PeerId> side;     // the leavers and old replicas: a quorum of the set as it was
    std::vector<PeerId> rest;     // every other peer, the trader among them
};

// The split for the market as it is now, or nothing when the set has no two voting newcomers
// apart from the trader, or no such split exists (a set of even size: its two halves cannot both
// hold a quorum). `pick` chooses among the candidates; `last_founder` tells newcomers apart.
std::optional<SetSplit> plan_set_split(peer::LocalMarket& market, PeerId last_founder,
                                       std::uint64_t pick);

// The trader's side stops reaching the leavers' (whose leaves still go out); `close` stops the
// other way too, once the leaves are in.
void open_set_split(const SetSplit& split, transport::MemoryNetwork& net);
void close_set_split(const SetSplit& split, transport::MemoryNetwork& net);

// "replicas 5 and 6 leave at once; {1,2,5,6} hears the rest no more"
std::string describe(const SetSplit& split);

}  // namespace tp::sim
