#include "tp/peer/churn.hpp"

#include <fmt/core.h>

#include <vector>

#include "tp/peer/ids.hpp"

namespace tp::peer {

Churn::Churn(const Config& config, runtime::RandomStreams& streams)
    : config_(config), rng_(streams.stream("churn")) {}

runtime::TimePoint Churn::after(runtime::TimePoint t, double rate) {
    const double mean_ns = 1e9 / rate;
    return t + std::chrono::duration_cast<runtime::Duration>(
                   std::chrono::nanoseconds(static_cast<std::int64_t>(rng_.exponential(mean_ns))));
}

void Churn::plan(runtime::TimePoint started) {
    if (config_.churn.join_rate > 0) next_join_ = after(started, config_.churn.join_rate);
    if (config_.churn.leave_rate > 0) next_leave_ = after(started, config_.churn.leave_rate);
}

void Churn::step(Cluster& cluster, runtime::TimePoint now) {
    // In the order they fell due, as events at their own times would have come.
    for (;;) {
        const bool join_due = next_join_ && *next_join_ <= now;
        const bool leave_due = next_leave_ && *next_leave_ <= now;
        if (!join_due && !leave_due) return;
        if (join_due && (!leave_due || *next_join_ <= *next_leave_)) {
            next_join_ = after(*next_join_, config_.churn.join_rate);
            join(cluster);
        } else {
            next_leave_ = after(*next_leave_, config_.churn.leave_rate);
            leave(cluster);
        }
    }
}

void Churn::join(Cluster& cluster) {
    const bool seller = rng_.bernoulli(0.5);
    const std::uint64_t pick = rng_.uniform_int(0, 1u << 20);
    std::vector<PeerId> live;
    std::size_t newcomers = 0;
    for (PeerId id : cluster.peers()) {
        const Node* n = cluster.node(id);
        if (n == nullptr || n->left()) continue;
        if (cluster.is_newcomer(id)) ++newcomers;
        if (!n->core().joining()) live.push_back(id);
    }
    if (live.empty() || newcomers >= max_newcomers) return;
    cluster.join(seller ? Role::seller : Role::buyer, live[pick % live.size()]);
    ++joins_;
}

void Churn::leave(Cluster& cluster) {
    const std::uint64_t pick = rng_.uniform_int(0, 1u << 20);
    std::vector<PeerId> joined;
    for (PeerId id : cluster.peers()) {
        const Node* n = cluster.node(id);
        if (n == nullptr || n->left() || !cluster.is_newcomer(id)) continue;
        if (n->core().joining() || n->core().leaving() || cluster.trader() == id) continue;
        joined.push_back(id);
    }
    if (joined.empty()) {
        ++skipped_leaves_;
        return;
    }
    cluster.leave(joined[pick % joined.size()], true);
    ++leaves_;
}

std::optional<runtime::TimePoint> Churn::next_due() const {
    if (next_join_ && next_leave_) return std::min(*next_join_, *next_leave_);
    return next_join_ ? next_join_ : next_leave_;
}

std::string Churn::describe() const {
    const auto& c = config_.churn;
    if (c.join_rate <= 0 && c.leave_rate <= 0) return "none";
    return fmt::format("joins {}/s, leaves {}/s (newcomers only)", c.join_rate, c.leave_rate);
}

}  // namespace tp::peer
