#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "tp/peer/cluster.hpp"
#include "tp/peer/config.hpp"
#include "tp/runtime/random.hpp"
#include "tp/runtime/runtime.hpp"

namespace tp::peer {

// Peers joining and leaving a running market at the configured rates (issue 18; `run
// --join-rate/--leave-rate`, the config's [churn]). Joins and leaves come as two Poisson
// processes drawn from the seed's "churn" stream. A newcomer joins through a live member, as a
// buyer or a seller at even odds. A leave takes a newcomer that has joined, its unsold lots
// withdrawn: the founders keep the replica set and the run's roles, so churn never costs the
// market its quorum. With no such newcomer, the leave is skipped (and counted).
class Churn {
public:
    Churn(const Config& config, runtime::RandomStreams& streams);

    void plan(runtime::TimePoint started);
    // Joins and leaves that fell due by `now`.
    void step(Cluster& cluster, runtime::TimePoint now);
    std::optional<runtime::TimePoint> next_due() const;

    std::uint64_t joins() const noexcept { return joins_; }
    std::uint64_t leaves() const noexcept { return leaves_; }
    std::uint64_t skipped_leaves() const noexcept { return skipped_leaves_; }
    // e.g. "joins 2/s, leaves 1/s (newcomers only)", or "none".
    std::string describe() const;

    // Newcomers in the market at once, at most: a join beyond it waits for a leave.
    static constexpr std::size_t max_newcomers = 64;

private:
    void join(Cluster& cluster);
    void leave(Cluster& cluster);
    runtime::TimePoint after(runtime::TimePoint t, double rate);

    const Config& config_;
    runtime::Rng rng_;
    std::optional<runtime::TimePoint> next_join_;
    std::optional<runtime::TimePoint> next_leave_;
    std::uint64_t joins_ = 0;
    std::uint64_t leaves_ = 0;
    std::uint64_t skipped_leaves_ = 0;
};

}  // namespace tp::peer
