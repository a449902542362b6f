#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "tp/runtime/clock.hpp"
#include "tp/runtime/random.hpp"
#include "tp/transport/memory_network.hpp"

namespace tp::sim {

using runtime::Duration;

// The kinds of fault a run may inject.
enum class Fault : std::uint16_t {
    drop = 1 << 0,
    duplicate = 1 << 1,
    delay = 1 << 2,
    reorder = 1 << 3,
    partition = 1 << 4,
    crash = 1 << 5,
    pause = 1 << 6,    // a process stops for a while (SIGSTOP), then resumes with its memory
    hostile = 1 << 7,  // a member sends valid but hostile messages (forged with others' ids)
    outsider = 1 << 8,  // one without the key records, replays, damages and forges datagrams
    // A crashed peer comes back without its disk (an empty state directory) or with a stale copy
    // of it; at most a minority of the replicas at once, until each has caught up again.
    disk_loss = 1 << 9,
    // Peers join the running market and members leave it (issue 18): newcomers (buyers or
    // sellers) through a random live member; a leaving seller takes its unsold lots.
    churn = 1 << 10,
    // Aimed, not random, and only by name: when churn makes a promoted newcomer leave, two leave
    // at once, and the trader's side stops reaching theirs (then the split closes both ways), so
    // that they with old replicas are a quorum of the set as it was, the trader with the rest a
    // quorum of the set without them. Catches two changes of the set in flight at once.
    set_split = 1 << 11,
};

// Which kinds a run asks for: a fixed set, or "swarm" (the seed picks the set).
struct FaultSpec {
    bool swarm = true;
    std::uint16_t kinds = 0;  // Fault bits, when not swarm

    // "swarm" (the default), "none", "all" (every kind but set_split), or a comma list of drop,
    // duplicate, delay, reorder, partition, crash, pause, hostile, outsider, disk_loss (which needs
    // crash to act), churn, set_split (which needs churn and promotion to act).
    // Throws std::invalid_argument naming the bad word.
    static FaultSpec parse(std::string_view text);
    std::string to_string() const;
};

// The faults of one run, every rate drawn from the seed: different seeds stress different mixes.
struct FaultPlan {
    std::uint16_t kinds = 0;
    transport::LinkFaults link;   // drop, duplicate, delay, reorder
    Duration partition_every{0};  // mean time between partitions (0: none)
    Duration partition_for{0};    // mean length of one
    Duration crash_every{0};      // mean time between crashes (0: none)
    double crash_trader = 0.0;    // chance a crash hits the trader
    Duration restart_after{0};    // mean time a crashed peer stays down
    Duration pause_every{0};      // mean time between process pauses (0: none)
    Duration pause_for{0};        // mean length of one
    double pause_trader = 0.0;    // chance a pause hits the trader
    Duration hostile_every{0};    // mean time between hostile messages (0: none)
    Duration outsider_every{0};   // mean time between the outsider's strikes (0: none)
    double disk_loss = 0.0;       // chance a crash loses the peer's disk (0: never)
    double stale_copy = 0.0;      // of those, the chance a stale copy comes back, not nothing
    Duration churn_every{0};      // mean time between a join and a leave (0: none)
    double leave_share = 0.0;     // the chance a churn event is a leave (when one can leave)
    Duration split_for{0};        // mean length of a set split (0: none)
    Duration sync_latency{0};     // the modelled fdatasync (not a fault: always on)

    bool has(Fault f) const noexcept { return (kinds & static_cast<std::uint16_t>(f)) != 0; }
    static FaultPlan draw(const FaultSpec& spec, runtime::Rng& rng);
    // One line, e.g. "drop 4.1%, crash every 412 ms (trader 60%), sync 1.2 ms".
    std::string describe() const;
};

std::string format_duration(Duration d);

}  // namespace tp::sim
