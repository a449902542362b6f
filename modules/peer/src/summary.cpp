#include "tp/peer/summary.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <optional>

#include "tp/journal/log.hpp"
#include "tp/peer/journal.hpp"
#include "tp/market/books.hpp"
#include "tp/peer/audit.hpp"
#include "tp/peer/books.hpp"
#include "tp/peer/cluster.hpp"
#include "tp/peer/failure_injection.hpp"
#include "tp/peer/ids.hpp"
#include "tp/peer/peer_core.hpp"
#include "tp/peer/replica_log.hpp"

namespace tp::peer {

namespace {

runtime::Duration percentile(std::vector<runtime::Duration> sorted, double p) {
    if (sorted.empty()) return {};
    std::sort(sorted.begin(), sorted.end());
    // Nearest rank.
    auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(sorted.size())));
    rank = std::clamp<std::size_t>(rank, 1, sorted.size());
    return sorted[rank - 1];
}

// What the buyers saw, across every life: counts, money spent and round trips.
void add_purchases(const Cluster& cluster, Summary& s) {
    std::vector<runtime::Duration> rtts;
    bool spent_overflow = false;
    for (const auto& [peer, a] : cluster.archives()) {
        // Counted from the totals: the buyers may keep only their newest purchases.
        s.requests += a.totals.filled + a.totals.refused;
        s.filled += a.totals.filled;
        s.refused += a.totals.refused;
        s.units += a.totals.quantity;
        const auto sum = market::checked_add(s.spent, a.totals.spent);
        if (sum) s.spent = *sum;
        if ((a.spent_overflow || !sum) && !spent_overflow) {
            spent_overflow = true;  // checked: a wrapped total would look plausible
            s.violations.push_back("the buyers' purchases add up past the range of Money");
        }
        for (const auto& p : a.purchases) rtts.push_back(p.answered_at - p.sent);
    }
    s.rtt_p50 = percentile(rtts, 0.50);
    s.rtt_p99 = percentile(rtts, 0.99);
    s.rtt_max = rtts.empty() ? runtime::Duration{} : *std::max_element(rtts.begin(), rtts.end());
}

// Quorum mode: the books of the log a view change over the whole replica set would adopt, the most
// advanced one (by the epoch of its last record, then its length); nothing when no replica holds a
// record. Throws for a store that cannot be opened or a log that does not restore.
std::optional<market::Books> adopted_books(const Config& config, const Cluster& cluster) {
    std::vector<replication::Restored> logs;
    for (PeerId id : replica_set(cluster.founders(), config.replication.replicas)) {
        JournalStore* store = cluster.context().replica_store(id);
        auto opened = store->open();
        auto restored = restore_replica(opened.recovery, PeerState{});
        if (!restored) {
            throw std::runtime_error(fmt::format("peer {}'s replica in {}: {}", id, store->where(),
                                                 restored.error().message));
        }
        logs.push_back(std::move(restored.value()));
    }
    const replication::Restored* best = most_advanced(logs);
    if (best == nullptr || log_end(*best).second == 0) return std::nullopt;
    auto books = replica_books(*best, market_config(config));
    if (!books) throw std::runtime_error("the adopted log does not replay: " + books.error().message);
    return std::move(books.value());
}

// The durable books: what the next trader would inherit.
std::optional<market::Books> durable_books(const Config& config, const Cluster& cluster,
                                           Summary& s) {
    if (config.replication.mode == ReplicationMode::quorum) {
        try {
            if (auto books = adopted_books(config, cluster)) return books;
            return market::Books(market_config(config));
        } catch (const std::exception& e) {
            s.violations.push_back(std::string("cannot read the replicated books: ") + e.what());
        }
        return std::nullopt;
    }
    try {
        // The peers' own journal store (the simulator's is in memory), else the directory.
        std::unique_ptr<JournalStore> file_store;
        JournalStore* store = cluster.context().journal_store;
        if (store == nullptr) {
            journal::Options options;
            options.create_if_missing = true;
            file_store = make_file_journal_store(cluster.journal_dir(), options);
            store = file_store.get();
        }
        auto opened = store->open();
        auto replayed = replay_books(opened.recovery, market_config(config));
        if (replayed) return std::move(replayed.value());
        s.violations.push_back("the durable books do not replay: " + replayed.error().message);
    } catch (const std::exception& e) {
        s.violations.push_back(std::string("cannot read the durable books: ") + e.what());
    }
    return std::nullopt;
}

// The Audit of the durable books against what the peers were told.
void audit(const market::Books& books, const Cluster& cluster,
           const std::map<PeerId, Money>& settled_before, Summary& s) {
    const Audit audit(books);
    for (auto& v : audit.invariants()) s.violations.push_back("books: " + v);
    s.commission = books.commission_total();

    // Nothing confirmed to a buyer is missing from the books, or different there.
    for (const auto& [peer, a] : cluster.archives()) {
        if (auto wrong = audit.totals(peer, a.totals)) {
            s.violations.push_back(fmt::format("peer {} was answered {}", peer, *wrong));
        }
        for (const auto& p : a.purchases) {
            const auto wrong = audit.answer({peer, p.request, p.filled, p.bought, p.amount});
            if (!wrong) continue;
            s.violations.push_back(fmt::format(
                "peer {}'s {} was answered with {} for {} but the "
                "books have {}",
                peer, request_text(p.request), plural(p.bought, "unit"), p.amount, *wrong));
        }
    }
    // Every seller was paid what the books say, no more; unacknowledged payments are pending.
    for (const auto& [seller, ledger] : books.sellers()) {
        Summary::SellerLine line{seller, ledger.sold, ledger.earned, 0, ledger.pending};
        std::optional<Money> received = Money{0};
        if (auto it = cluster.archives().find(seller); it != cluster.archives().end()) {
            received = Audit::total(it->second.payments, [](const auto& p) { return p.second; });
        }
        if (!received) {
            s.violations.push_back(fmt::format(
                "seller {} received payments adding up past the range of Money", seller));
        } else {
            line.received = *received;
            const auto before = settled_before.find(seller);
            if (auto wrong = audit.payments(seller, received, true,
                                            before == settled_before.end() ? 0 : before->second)) {
                s.violations.push_back(
                    fmt::format("seller {} received {} but {}", seller, *received, *wrong));
            }
        }
        s.sellers.push_back(line);
    }
}

}  // namespace

std::map<PeerId, Money> settled_before(const Config& config, const Cluster& cluster) {
    std::map<PeerId, Money> settled;
    try {
        std::optional<market::Books> books;
        if (config.replication.mode == ReplicationMode::quorum) {
            books = adopted_books(config, cluster);
        } else {
            std::error_code ec;
            if (!std::filesystem::exists(cluster.journal_dir(), ec)) return settled;
            auto replayed =
                replay_books(journal::Log::read(cluster.journal_dir()), market_config(config));
            if (replayed) books = std::move(replayed.value());
        }
        if (!books) return settled;
        for (const auto& [seller, ledger] : books->sellers())
            settled[seller] = ledger.earned - ledger.pending;
    } catch (const std::exception&) {
        // The trader that opens the journal, and the summary, say what is wrong with it.
    }
    return settled;
}

Summary summarize(const Config& config, const Cluster& cluster, const FailureInjection& failures,
                  runtime::TimePoint started, runtime::TimePoint ended, std::string ended_why,
                  const std::map<PeerId, Money>& settled_before) {
    Summary s;
    s.seed = config.seed;
    s.peers = config.peers;
    for (PeerId id : cluster.peers()) {
        if (cluster.role(id) != Role::seller) ++s.buyers;
    }
    s.transport = to_string(config.network.transport);
    s.durability = config.storage.durability;
    s.replication = config.replication.mode;
    s.replicas = static_cast<std::uint32_t>(
        replica_set(cluster.founders(), config.replication.replicas).size());
    s.elapsed = ended - started;
    s.ended = ended_why.empty() ? std::string("it was stopped") : std::move(ended_why);
    s.crashes = cluster.failures().size();
    for (const auto& r : cluster.traders()) {
        s.traders.emplace_back(r.peer, r.epoch);
        s.elected_at.push_back(r.at - started);
    }
    s.reigns = cluster.traders().size();
    s.failure_schedule = failures.describe();
    for (const auto& f : cluster.failures())
        s.failures.push_back({f.peer, f.at - started, f.was_trader});
    for (const auto& r : cluster.returns()) {
        Summary::ReturnLine line;
        if (auto it = cluster.lives().find({r.peer, r.life}); it != cluster.lives().end()) {
            const auto& life = it->second;
            line.requests = life.requests;
            line.filled = life.filled;
            line.deposits = life.deposits;
            line.sold = life.sold;
            line.earned = life.earned;
        }
        line.peer = r.peer;
        line.role = cluster.role(r.peer);
        line.at = r.at - started;
        s.returns.push_back(line);
    }
    add_purchases(cluster, s);
    for (const auto& [peer, a] : cluster.archives()) {
        for (const auto& why : a.failures)
            s.violations.push_back(fmt::format("peer {} stopped: {}", peer, why));
    }
    if (auto books = durable_books(config, cluster, s)) {
        if (config.replication.mode == ReplicationMode::quorum) {
            auto voters = books->membership().voter_ids();
            if (voters != replica_set(cluster.founders(), config.replication.replicas))
                s.replica_set_at_end = std::move(voters);
        }
        audit(*books, cluster, settled_before, s);
    }
    return s;
}

}  // namespace tp::peer
