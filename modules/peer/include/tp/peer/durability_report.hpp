#pragma once

// What the driver has told the core of how far its replica is durable (quorum mode). The core
// acknowledges that position to the trader, so a report must follow every change the disk saw:
// after a cut (a divergent suffix truncated, a snapshot installed) the old report says nothing
// about the records now at those positions, so the next durable position is due even when it
// equals the one reported before the cut; and a sync that was in flight across a cut proves
// nothing about what replaced the records it covered.

#include <cstdint>
#include <optional>

#include "tp/peer/journal.hpp"

namespace tp::peer {

class DurabilityReport {
public:
    // A journal opened at `durable`: what the core was restored from, nothing to report yet.
    void opened(Position durable) noexcept { reported_ = durable; }
    // The journal's log was cut or replaced.
    void cut() noexcept {
        ++cuts_;
        reported_.reset();
    }
    // Taken before a sync; `stale(token)` after it says a cut came in between.
    std::uint64_t sync_started() const noexcept { return cuts_; }
    bool stale(std::uint64_t token) const noexcept { return token != cuts_; }
    // Whether `durable` is news to the core.
    bool due(Position durable) const noexcept { return reported_ != durable; }
    void reported(Position durable) noexcept { reported_ = durable; }

private:
    std::optional<Position> reported_;
    std::uint64_t cuts_ = 0;
};

}  // namespace tp::peer
