#include "set_split.hpp"

#include <fmt/core.h>

#include <algorithm>

namespace tp::sim {

std::optional<SetSplit> plan_set_split(peer::LocalMarket& market, PeerId last_founder,
                                       std::uint64_t pick) {
    const auto trader = market.trader();
    const peer::Node* serving = trader ? market.node(*trader) : nullptr;
    const auto* replica = serving != nullptr ? serving->core().replica() : nullptr;
    if (replica == nullptr) return std::nullopt;
    const std::vector<PeerId>& set = replica->voters();
    // Both sides a quorum: the leavers' of the set, the trader's of the set less two.
    const std::size_t quorum = set.size() / 2 + 1;
    if (set.size() < 5 || set.size() - quorum < (set.size() - 2) / 2 + 1) return std::nullopt;
    std::vector<PeerId> newcomers, founders;
    for (PeerId id : set) {
        const peer::Node* n = market.node(id);
        if (id == *trader || n == nullptr || n->left() || n->core().joining() ||
            n->core().leaving())
            continue;
        (id > last_founder ? newcomers : founders).push_back(id);
    }
    if (newcomers.size() < 2) return std::nullopt;
    SetSplit split;
    std::rotate(newcomers.begin(),
                newcomers.begin() + static_cast<std::ptrdiff_t>(pick % newcomers.size()),
                newcomers.end());
    split.leavers = {newcomers[0], newcomers[1]};
    std::sort(split.leavers.begin(), split.leavers.end());
    split.side = split.leavers;
    // Old replicas to make the quorum: the other newcomers first, then founders (down or up).
    std::vector<PeerId> others(newcomers.begin() + 2, newcomers.end());
    others.insert(others.end(), founders.begin(), founders.end());
    for (PeerId id : set)
        if (id != *trader && std::find(others.begin(), others.end(), id) == others.end() &&
            std::find(split.side.begin(), split.side.end(), id) == split.side.end())
            others.push_back(id);  // down now: it may be back before the split closes
    for (std::size_t i = 0; split.side.size() < quorum && i < others.size(); ++i)
        split.side.push_back(others[i]);
    if (split.side.size() < quorum) return std::nullopt;
    std::sort(split.side.begin(), split.side.end());
    for (PeerId id : market.peers())
        if (!std::binary_search(split.side.begin(), split.side.end(), id)) split.rest.push_back(id);
    return split;
}

void open_set_split(const SetSplit& split, transport::MemoryNetwork& net) {
    net.heal();
    for (PeerId from : split.rest)
        for (PeerId to : split.side) net.cut(from, to);
}

void close_set_split(const SetSplit& split, transport::MemoryNetwork& net) {
    for (PeerId from : split.side)
        for (PeerId to : split.rest) net.cut(from, to);
}

std::string describe(const SetSplit& split) {
    std::string side;
    for (PeerId p : split.side) side += fmt::format("{}{}", side.empty() ? "" : ",", p);
    return fmt::format("replicas {} and {} leave at once; {{{}}} hears the rest no more",
                       split.leavers[0], split.leavers[1], side);
}

}  // namespace tp::sim
