#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "tp/peer/config.hpp"
#include "tp/peer/node.hpp"
#include "tp/runtime/runtime.hpp"

namespace tp::peer {

class Cluster;
class FailureInjection;

// What a whole run did, and whether its books balance. Built from the durable books (what a new
// trader would inherit) and from what every peer saw, across all its lives.
struct Summary {
    std::uint64_t seed = 0;
    std::uint32_t peers = 0;
    std::string transport;
    runtime::Duration elapsed{};
    std::string ended;  // why the run ended, e.g. "every buyer made its 10 requests"
    // The journal's policy: under `none` nothing was synced, and the summary says so.
    Durability durability = Durability::group;
    // Where the books live: every peer's replica (a record counts once on a majority), or the
    // original lab's shared journal.
    ReplicationMode replication = ReplicationMode::quorum;
    std::uint32_t replicas = 0;  // quorum mode: the founding replica set's size
    // Quorum mode: the replica set the durable books name at the end, when it is not the founding
    // one (replicas left, customers were promoted: issue 18). Empty otherwise.
    std::vector<PeerId> replica_set_at_end;

    std::uint32_t buyers = 0;    // peers that buy (buyer or both)
    std::uint64_t requests = 0;  // answered
    std::uint64_t filled = 0;
    std::uint64_t refused = 0;
    std::uint64_t units = 0;
    Money spent = 0;
    std::uint64_t crashes = 0;
    std::uint64_t reigns = 0;  // peers that became trader, the first included
    std::vector<std::pair<PeerId, wire::Epoch>> traders;  // in order
    std::vector<runtime::Duration> elected_at;            // of each trader, since the start
    std::string failure_schedule;  // how failures were injected, e.g. "once, after 20 requests"
    // Issue 18: peers that joined and left the running market (Churn), and at what rates.
    std::string churn;  // empty: none configured
    std::uint64_t joins = 0;
    std::uint64_t leaves = 0;
    std::uint64_t skipped_leaves = 0;  // due with no newcomer to leave

    // Every injected failure, and every return of a failed peer with what it did in that life.
    struct FailureLine {
        PeerId peer = 0;
        runtime::Duration at{};  // since the start
        bool was_trader = false;
    };
    std::vector<FailureLine> failures;
    struct ReturnLine {
        PeerId peer = 0;
        Role role = Role::buyer;
        runtime::Duration at{};
        std::uint64_t requests = 0;  // answered in this life
        std::uint64_t filled = 0;
        std::uint64_t deposits = 0;  // lots the trader acknowledged in this life
        std::uint64_t sold = 0;      // units of them sold
        Money earned = 0;
        bool traded() const noexcept { return requests > 0 || deposits > 0; }
    };
    std::vector<ReturnLine> returns;

    Money commission = 0;
    struct SellerLine {
        PeerId seller = 0;
        std::uint64_t sold = 0;
        Money earned = 0;    // per the books, net of commission
        Money received = 0;  // payments the seller acknowledged having
        Money pending = 0;   // payments still to be acknowledged
    };
    std::vector<SellerLine> sellers;

    runtime::Duration rtt_p50{};
    runtime::Duration rtt_p99{};
    runtime::Duration rtt_max{};

    // Every broken invariant, described: empty when goods and money are conserved, nothing
    // confirmed was lost and nothing executed twice.
    std::vector<std::string> violations;
    bool ok() const noexcept { return violations.empty(); }
};

// What the durable books of `cluster` (its shared journal, or in quorum mode the log its replicas
// would adopt) had already settled with each seller (earned and acknowledged), before a run on a
// state directory used before: that run's sellers are paid the rest. Empty when there is no
// journal yet; unreadable books are left to the summary to report. Before the peers start.
std::map<PeerId, Money> settled_before(const Config& config, const Cluster& cluster);

// Reads the durable books and puts the run's figures and checks together (Audit): what every
// peer of `cluster` saw, across all its lives, between `started` and `ended`. The app prints it.
Summary summarize(const Config& config, const Cluster& cluster, const FailureInjection& failures,
                  runtime::TimePoint started, runtime::TimePoint ended, std::string ended_why,
                  const std::map<PeerId, Money>& settled_before = {});

}  // namespace tp::peer
