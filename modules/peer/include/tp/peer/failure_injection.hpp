#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "tp/peer/cluster.hpp"
#include "tp/peer/config.hpp"
#include "tp/runtime/random.hpp"
#include "tp/runtime/runtime.hpp"

namespace tp::peer {

// When the trader fails, on one of two schedules:
// - the original lab's: every time quantum it fails with the configured probability (from the
//   seed's "failures" stream);
// - the story (no probability configured, a run that ends with its buyers): it fails once, after
//   a third of the requests the first trader's customers will make have been answered.
// A failed trader comes back after the recovery delay.
class FailureInjection {
public:
    FailureInjection(const Config& config, runtime::RandomStreams& streams);

    // Plans the schedule at the start of the run (roles settled). `story`: the run ends when its
    // buyers are done.
    void plan(const Cluster& cluster, runtime::TimePoint started, bool story);
    // Injects what is due at `now`.
    void step(Cluster& cluster, runtime::TimePoint now);
    // When step() must run next by the clock (the story schedule waits on answers instead).
    std::optional<runtime::TimePoint> next_due() const;
    // The original lab's schedule: failures keep coming, so the run does not wait for returns.
    bool recurring() const noexcept { return config_.failure.probability.has_value(); }
    // The story schedule has yet to fail the trader: answers matter to it.
    bool waits_on_answers() const noexcept { return story_after_ > 0 && !story_failed_; }
    // How failures were injected, e.g. "the trader fails once, after 4 answered requests".
    std::string describe() const;

private:
    const Config& config_;
    runtime::Rng rng_;
    runtime::TimePoint next_failure_{};
    std::uint64_t story_after_ = 0;  // answered requests before the failure; 0: no story
    bool story_failed_ = false;
};

}  // namespace tp::peer
