#include "summary_text.hpp"

#include <fmt/core.h>
#include <fmt/format.h>
#include <fmt/ostream.h>

#include <ostream>
#include <string>

#include "tp/election/messages.hpp"
#include "tp/journal/durability.hpp"
#include "tp/peer/ids.hpp"

namespace tp::app {

namespace {

double seconds(runtime::Duration d) {
    return static_cast<double>(d.count()) / 1e9;
}

std::string format_ms(runtime::Duration d) {
    return fmt::format("{:.3f} ms", static_cast<double>(d.count()) / 1e6);
}

}  // namespace

void print(std::ostream& out, const peer::Summary& s) {
    fmt::print(out, "Trading Post: {} peers on {}, seed {}, {:.2f} s\n", s.peers, s.transport,
               s.seed, static_cast<double>(s.elapsed.count()) / 1e9);
    if (!s.ended.empty()) fmt::print(out, "  ended       {}\n", s.ended);
    if (s.replication == peer::ReplicationMode::quorum) {
        // Under churn the set is the founders' (newcomers join as customers).
        const char* peers = s.churn.empty() ? "peer" : "founder";
        const std::string who = s.replicas >= s.peers
                                    ? fmt::format("every {}'s", peers)
                                    : fmt::format("the {} highest {}s'", s.replicas, peers);
        fmt::print(out,
                   "  storage     {} replica of the trader's log; a record counts once on {} of {} "
                   "(durability {})\n",
                   who, s.replicas / 2 + 1, s.replicas, tp::journal::to_string(s.durability));
        if (!s.replica_set_at_end.empty()) {
            // The counts above are the founding set's: peers left it and customers joined it.
            fmt::print(out, "              the replica set at the end: peers {} (a quorum is {})\n",
                       fmt::join(s.replica_set_at_end, ", "), s.replica_set_at_end.size() / 2 + 1);
        }
    } else {
        fmt::print(out, "  storage     the trader's journal, shared by the peers (durability {})\n",
                   tp::journal::to_string(s.durability));
    }
    fmt::print(out, "  requests    {} answered: {} filled, {} refused ({} for {})\n",
               peer::plural(s.requests, "request"), s.filled, s.refused,
               peer::plural(s.units, "unit"), s.spent);
    std::string traders;
    for (const auto& [peer, epoch] : s.traders) {
        traders += fmt::format("{}{} (epoch {})", traders.empty() ? "" : ", ", peer,
                               election::epoch_text(epoch));
    }
    fmt::print(out, "  traders     {}\n", traders.empty() ? "none" : traders);
    fmt::print(out, "  elections   {} elected, {} injected\n", peer::plural(s.reigns, "trader"),
               peer::plural(s.crashes, "failure"));
    if (!s.failure_schedule.empty()) fmt::print(out, "  schedule    {}\n", s.failure_schedule);
    if (!s.churn.empty()) {
        fmt::print(out, "  churn       {}: {} joined, {} left{}\n", s.churn,
                   peer::plural(s.joins, "peer"), s.leaves,
                   s.skipped_leaves == 0
                       ? std::string()
                       : fmt::format(" ({} skipped: no newcomer to leave)",
                                     peer::plural(s.skipped_leaves, "leave")));
    }
    // Each failure of a trader, and who took over how soon.
    for (const auto& f : s.failures) {
        std::string next;
        for (std::size_t i = 0; i < s.traders.size() && i < s.elected_at.size(); ++i) {
            if (s.elected_at[i] < f.at || s.traders[i].first == f.peer) continue;
            next = fmt::format("; peer {} elected {:.2f} s later", s.traders[i].first,
                               seconds(s.elected_at[i] - f.at));
            break;
        }
        fmt::print(out, "  failover    peer {}{} failed at {:.2f} s{}\n", f.peer,
                   f.was_trader ? " (the trader)" : "", seconds(f.at), next);
    }
    for (const auto& r : s.returns) {
        std::string did;
        if (r.role != peer::Role::seller)
            did = fmt::format("{} answered ({} filled)", peer::plural(r.requests, "request"),
                              r.filled);
        if (r.role != peer::Role::buyer) {
            did += fmt::format("{}{} deposited, {} sold, earned {}", did.empty() ? "" : "; ",
                               peer::plural(r.deposits, "lot"), peer::plural(r.sold, "unit"),
                               r.earned);
        }
        fmt::print(out, "  return      peer {} came back at {:.2f} s as a {}: {}\n", r.peer,
                   seconds(r.at), peer::to_string(r.role), did);
    }
    fmt::print(out, "  commission  {}\n", s.commission);
    for (const auto& l : s.sellers) {
        fmt::print(out, "  seller {:<4} sold {}, earned {} (received {}, pending {})\n", l.seller,
                   peer::plural(l.sold, "unit"), l.earned, l.received, l.pending);
    }
    fmt::print(out, "  round trip  p50 {}, p99 {}, max {} (retries and elections included)\n",
               format_ms(s.rtt_p50), format_ms(s.rtt_p99), format_ms(s.rtt_max));
    // The books were read back from the journal's files; only a sync makes that durable.
    const bool synced = s.durability != peer::Durability::none;
    if (!synced) {
        fmt::print(out,
                   "  durability  none: the journal was written but never synced, so a power "
                   "failure or OS crash could lose confirmed sales\n");
    }
    if (s.ok()) {
        fmt::print(
            out,
            "  checks      OK: goods conserved, money conserved, no request executed "
            "twice, {}, every seller paid\n",
            synced ? "every confirmed sale durable" : "confirmed sales in the log (not synced)");
    } else {
        fmt::print(out, "  checks      FAILED:\n");
        for (const auto& v : s.violations) fmt::print(out, "    - {}\n", v);
    }
}

}  // namespace tp::app
