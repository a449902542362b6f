#include "tp/peer/books.hpp"

#include <algorithm>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace tp::peer {

market::Config market_config(const Config& config) {
    market::Config m;
    m.commission_ppm = config.market.commission_ppm;
    m.allow_partial_fills = config.market.partial_fills;
    m.batch_window = config.market.batch_window;
    // The founders: the cluster file's peers, else peers 1..N. Roles drawn from the seed are not
    // the config's to know: such a founder is listed as doing both. In quorum mode the highest
    // ids keep the replicas.
    std::vector<std::pair<market::PeerId, std::optional<Role>>> founders;
    if (!config.cluster.empty()) {
        for (const auto& p : config.cluster) founders.emplace_back(p.id, p.role);
    } else {
        for (std::uint32_t id = 1; id <= config.peers; ++id) {
            founders.emplace_back(id, config.roles.size() >= id
                                          ? std::optional(config.roles[id - 1])
                                          : std::nullopt);
        }
    }
    std::sort(founders.begin(), founders.end());
    const bool quorum = config.replication.mode == ReplicationMode::quorum;
    const std::size_t replicas = config.replication.replicas;
    m.founders.reserve(founders.size());
    for (std::size_t i = 0; i < founders.size(); ++i) {
        const auto& [id, role] = founders[i];
        market::Member member;
        member.id = id;
        member.buys = !role || *role != Role::seller;
        member.sells = !role || *role != Role::buyer;
        member.voter = quorum && i + replicas >= founders.size();
        m.founders.push_back(std::move(member));
    }
    return m;
}

market::Result<market::Books> replay_books(const journal::Recovery& recovery,
                                           const market::Config& config) {
    std::vector<std::span<const std::byte>> events;
    events.reserve(recovery.records.size());
    for (const auto& r : recovery.records) events.emplace_back(r.bytes);
    std::span<const std::byte> snapshot;
    if (recovery.snapshot) snapshot = recovery.snapshot->bytes;
    return market::Books::replay(config, snapshot, events);
}

market::Result<market::Books> replica_books(const replication::Restored& log,
                                            const market::Config& config) {
    std::vector<std::span<const std::byte>> events;
    events.reserve(log.entries.size());
    for (const auto& e : log.entries) {
        if (e.kind != replication::EntryKind::reign) events.emplace_back(e.payload);
    }
    std::span<const std::byte> snapshot;
    if (log.snapshot) snapshot = log.snapshot->bytes;
    return market::Books::replay(config, snapshot, events);
}

std::pair<replication::Epoch, replication::Position> log_end(const replication::Restored& log) {
    const replication::Position base = log.snapshot ? log.snapshot->covered : 0;
    const replication::Epoch epoch = !log.entries.empty() ? log.entries.back().epoch
                                     : log.snapshot       ? log.snapshot->covered_epoch
                                                          : 0;
    return {epoch, base + log.entries.size()};
}

const replication::Restored* most_advanced(std::span<const replication::Restored> logs) {
    const replication::Restored* best = nullptr;
    for (const auto& log : logs) {
        if (best == nullptr || log_end(log) > log_end(*best)) best = &log;
    }
    return best;
}

std::string describe(const journal::TornTail& tail) {
    return "torn tail of " + std::to_string(tail.dropped_bytes) + " bytes in " + tail.file +
           " from byte offset " + std::to_string(tail.offset) +
           (tail.cut ? " (cut off)"
                     : " (left in place: the next trader's open cuts it; beside a running "
                       "trader it may be a write in progress)");
}

}  // namespace tp::peer
