#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tp/clock/vector_clock.hpp"
#include "tp/peer/local_market.hpp"
#include "tp/runtime/clock.hpp"
#include "tp/sim/faults.hpp"

namespace tp::sim {

using clock::PeerId;
using runtime::TimePoint;

struct Options {
    std::uint64_t seed = 1;
    std::uint32_t peers = 6;
    // The replica set's size (replication.replicas): the highest ids keep the log, the others
    // are customers.
    std::uint32_t replicas = peer::Config::Replication::default_replicas;
    // replication.promote: the trader adds customers to the set, keeping it at `replicas`.
    bool promote = false;
    // Records between snapshots (storage.snapshot_every): small values make every run compact,
    // install snapshots and write them while the log keeps growing.
    std::uint64_t snapshot_every = peer::Config::Storage::default_snapshot_every;
    Duration duration = std::chrono::seconds(2);        // faults are injected this long
    Duration liveness_bound = std::chrono::seconds(3);  // then every request answered within
    FaultSpec faults;
    // How often the whole-market sweep of the checker runs, in virtual time.
    Duration sweep_every = std::chrono::milliseconds(1);
    // Each life of each peer has its own steady clock, up to this far from the others (separate
    // processes started at different times): no clock value may leak between them.
    Duration clock_spread = std::chrono::hours(24 * 30);
    bool record = false;  // keep every event, for the ShiViz log and the diagram
    // More handlers than this at one virtual instant is a livelock: the run fails and says so.
    std::uint64_t instant_limit = 2'000'000;
};

// One recorded event of a run (Options::record).
struct Event {
    enum class Kind : std::uint8_t {
        send,
        receive,
        crash,
        restart,
        trader,
        partition,
        heal,
        pause,
        resume,
        hostile,
        outsider,
        join,
        leave,
    };
    TimePoint time{};
    Kind kind = Kind::send;
    PeerId peer = 0;
    PeerId other = 0;           // send: receiver; receive: sender
    std::string what;           // message kind and details
    clock::VectorClock clock;   // the peer's own vector clock (send, receive)
    std::uint64_t message = 0;  // send and receive of one message share this (0: unmatched)
};

struct Result {
    Options options;
    FaultPlan plan;
    std::uint64_t trace_hash = 0;  // the network, timers and checker outcome: equal for equal runs
    std::uint64_t trace_events = 0;
    std::vector<std::string> violations;
    bool ok() const noexcept { return violations.empty(); }
    std::uint64_t checks = 0;
    std::uint64_t crashes = 0;
    std::uint64_t disks_lost = 0;  // crashes that also lost the disk (quorum mode)
    std::uint64_t partitions = 0;
    std::uint64_t pauses = 0;
    std::uint64_t hostile = 0;  // hostile datagrams sent
    std::uint64_t outsider = 0;  // datagrams the outsider sent (replayed, damaged or forged)
    std::uint64_t joins = 0;     // newcomers that asked to join (churn)
    std::uint64_t leaves = 0;    // members asked to leave (churn)
    std::uint64_t confirmed = 0;
    // When the liveness bound started: the faults' end, or later, once the last peer that
    // crashed was back.
    TimePoint quiet{};
    TimePoint ended{};
    peer::Summary summary;
    std::vector<Event> events;  // when recorded
    // When recorded: every buyer's answered requests, and when the market started (the origin
    // of the per-run report's times).
    std::map<PeerId, std::vector<peer::Purchase>> purchases;
    TimePoint started{};
};

// Runs the whole market of one seed on the in-memory network in virtual time, one thread:
// faults for options.duration, then none while the liveness bound runs, then the end-of-run
// checks. The same options give the same result and trace hash.
Result run(const Options& options);

// The exact command line that repeats a run: "trading-post sim --seed S ...".
std::string repro_command(const Options& options);

}  // namespace tp::sim
