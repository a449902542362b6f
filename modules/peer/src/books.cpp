#include "tp/peer/books.hpp"

#include <span>
#include <string>
#include <vector>

namespace tp::peer {

market::Config market_config(const Config& config) {
    market::Config m;
    m.commission_ppm = config.market.commission_ppm;
    m.allow_partial_fills = config.market.partial_fills;
    m.batch_window = config.market.batch_window;
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
        if (e.kind == replication::EntryKind::data) events.emplace_back(e.payload);
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
