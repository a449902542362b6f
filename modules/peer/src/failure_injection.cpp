#include "tp/peer/failure_injection.hpp"

#include <fmt/core.h>

#include <algorithm>

#include "tp/peer/ids.hpp"

namespace tp::peer {

FailureInjection::FailureInjection(const Config& config, runtime::RandomStreams& streams)
    : config_(config), rng_(streams.stream("failures")) {}

void FailureInjection::plan(const Cluster& cluster, runtime::TimePoint started, bool story) {
    next_failure_ = started + config_.failure.time_quantum;
    if (!story || recurring() || config_.behaviour.max_transactions == 0) return;
    const auto& ids = cluster.peers();
    std::uint64_t buyers = 0;
    for (std::size_t i = 0; i + 1 < ids.size(); ++i)
        buyers += cluster.role(ids[i]) != Role::seller ? 1 : 0;
    story_after_ = std::max<std::uint64_t>(1, buyers * config_.behaviour.max_transactions / 3);
}

void FailureInjection::step(Cluster& cluster, runtime::TimePoint now) {
    if (!recurring()) {
        if (!waits_on_answers() || cluster.answered() < story_after_) return;
        if (auto t = cluster.trader()) {
            story_failed_ = true;
            cluster.crash(*t, config_.failure.recovery_delay);
        }
        return;
    }
    // One draw per quantum that has passed, as a tick every quantum would make.
    while (now >= next_failure_) {
        next_failure_ += config_.failure.time_quantum;
        if (auto t = cluster.trader(); t && rng_.bernoulli(*config_.failure.probability)) {
            cluster.crash(*t, config_.failure.recovery_delay);
        }
    }
}

std::optional<runtime::TimePoint> FailureInjection::next_due() const {
    if (!recurring()) return std::nullopt;
    return next_failure_;
}

std::string FailureInjection::describe() const {
    if (recurring()) {
        return fmt::format("the trader fails with probability {} every {}",
                           *config_.failure.probability,
                           format_duration(config_.failure.time_quantum));
    }
    if (story_after_ > 0) {
        return fmt::format("the trader fails once, after {} answered",
                           plural(story_after_, "request"));
    }
    return "none";
}

}  // namespace tp::peer
