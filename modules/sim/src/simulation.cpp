#include "tp/sim/simulation.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <tuple>

#include "tp/election/messages.hpp"
#include "tp/runtime/random.hpp"
#include "tp/runtime/runtime.hpp"
#include "tp/sim/attacker.hpp"
#include "tp/sim/checker.hpp"
#include "tp/sim/outsider.hpp"
#include "tp/sim/recorder.hpp"
#include "set_split.hpp"
#include "tp/wire/message.hpp"

namespace tp::sim {

namespace {

using namespace std::chrono_literals;

constexpr TimePoint never = TimePoint::max();
// Codes of the simulator's own trace events (runtime::EventKind::user).
enum : std::uint64_t {
    trace_crash = 1,
    trace_restart = 2,
    trace_partition = 3,
    trace_heal = 4,
    trace_pause = 5,
    trace_resume = 6,
    trace_hostile = 7,
    trace_outsider = 8,
    trace_disk_loss = 9,
    trace_join = 10,
    trace_leave = 11,
    trace_set_split = 12,
};
// At most this many newcomers at once (churn): the market stays near its configured size.
constexpr std::size_t max_newcomers = 4;

peer::Config market_config(const Options& o, runtime::Rng& rng) {
    peer::Config c;
    c.seed = o.seed;
    c.peers = o.peers;
    c.replication.replicas = o.replicas;
    c.replication.promote = o.promote;
    c.storage.snapshot_every = o.snapshot_every;
    c.network.transport = peer::TransportKind::memory;
    // Durability is modelled by the memory journal: syncs take sync_latency of virtual time and
    // make the log durable to that point; a trader crash loses the rest. (The policy names what
    // a file journal would do; the simulator never touches one.)
    c.storage.durability = peer::Durability::none;
    c.failure.probability = 0;  // the simulator injects every failure itself
    // Every peer keeps its own replica of the trader's log, on a disk of its own.
    c.replication.mode = peer::ReplicationMode::quorum;
    c.behaviour.think_time = 20ms;             // the original lab's pace (the default is slower)
    c.behaviour.max_transactions = 1'000'000;  // runs end by time, not by buyers finishing
    // The seed also picks the recovered trader's policy and the fair-ordering window.
    c.failure.policy =
        rng.bernoulli(0.5) ? peer::RecoveryPolicy::bully : peer::RecoveryPolicy::defer;
    c.market.batch_window =
        rng.bernoulli(0.25) ? Duration(0) : Duration(rng.uniform_int(1, 5) * 1ms);
    return c;
}

Duration exponential(runtime::Rng& rng, Duration mean) {
    const double ns = rng.exponential(static_cast<double>(mean.count()));
    return std::max<Duration>(Duration(static_cast<Duration::rep>(ns)), 1ms);
}

}  // namespace

Result run(const Options& o) {
    Result res;
    res.options = o;
    runtime::RandomStreams streams(o.seed);
    runtime::Rng plan_rng = streams.stream("sim-plan");
    runtime::Rng rng = streams.stream("sim-schedule");
    res.plan = FaultPlan::draw(o.faults, plan_rng);
    const peer::Config config = market_config(o, plan_rng);

    runtime::Runtime rt(runtime::Mode::virtual_time);
    Checker checker(rt);
    Recorder recorder(rt, &checker, o.record ? &res.events : nullptr);
    // Outlive the market: its peers' journals point into them.
    std::map<PeerId, std::unique_ptr<peer::MemoryJournalStore>> replicas;
    {
        peer::LocalMarket market(config, rt);
        market.keep_running();
        market.vary_clock_bases(o.clock_spread);
        market.context().observer = &recorder;
        peer::MemoryJournalStore journal(res.plan.sync_latency);
        market.context().journal_store = &journal;
        // Quorum mode: each peer's replica on a disk of its own, which a disk-loss fault may take.
        market.context().replica_store = [&replicas, &res](PeerId id) -> peer::JournalStore* {
            auto& store = replicas[id];
            if (!store) store = std::make_unique<peer::MemoryJournalStore>(res.plan.sync_latency);
            return store.get();
        };
        transport::MemoryNetwork& net = *market.memory_network();
        net.set_faults(res.plan.link);
        market.start();
        // A run caught in a livelock (time never moves on) is a failed run, not a hung one.
        rt.limit_instant(o.instant_limit);
        std::string livelock;
        try {
            std::map<PeerId, bool> up;
            for (PeerId id : market.peers()) up[id] = true;
            const std::vector<PeerId> founders = market.peers();  // newcomers join after them
            // Runs until `until`, sweeping the checker every sweep_every.
            auto advance = [&](TimePoint until) {
                while (rt.now() < until && !market.done()) {
                    rt.run_until(std::min(until, rt.now() + o.sweep_every));
                    checker.sweep(market);
                    for (auto& [id, is_up] : up) {
                        if (!is_up && market.node(id) != nullptr) {
                            is_up = true;
                            rt.trace().record(rt.now(), runtime::EventKind::user, id, 0, trace_restart,
                                              0);
                            recorder.note(Event::Kind::restart, id, "restarts");
                        }
                    }
                }
            };

            const TimePoint start = rt.now();
            res.started = start;
            const TimePoint faults_end = start + o.duration;
            // When the last crashed peer is back on schedule: the market is whole again.
            TimePoint back_by = faults_end;
            TimePoint next_partition = res.plan.partition_every.count() > 0
                                           ? start + exponential(rng, res.plan.partition_every)
                                           : never;
            TimePoint heal_at = never;
            TimePoint next_crash = res.plan.crash_every.count() > 0
                                       ? start + exponential(rng, res.plan.crash_every)
                                       : never;
            // Pauses and the hostile member draw from streams of their own, so they leave the
            // schedule of the older faults of every seed as it was.
            runtime::Rng pause_rng = streams.stream("sim-pause");
            runtime::Rng hostile_pick = streams.stream("sim-hostile-member");
            Attacker attacker(net, streams.stream("sim-hostile"),
                              market.peers()[hostile_pick.uniform_int(0, market.peers().size() - 1)]);
            TimePoint next_pause = res.plan.pause_every.count() > 0
                                       ? start + exponential(pause_rng, res.plan.pause_every)
                                       : never;
            TimePoint resume_at = never;
            std::optional<PeerId> paused;
            // Disk loss draws from a stream of its own; `lost`: peers whose disk was lost and that
            // have not caught up since.
            runtime::Rng disk_rng = streams.stream("sim-disk");
            std::set<PeerId> lost;
            runtime::Rng hostile_rng = streams.stream("sim-hostile-time");
            TimePoint next_hostile = res.plan.hostile_every.count() > 0
                                         ? start + exponential(hostile_rng, res.plan.hostile_every)
                                         : never;
            // The outsider too: its strikes, choices and sample have streams of their own. It hears
            // the wire only when the plan has it, so other runs pay nothing for it.
            Outsider outsider(net, streams.stream("sim-outsider"),
                              streams.stream("sim-outsider-capture"),
                              streams.stream_seed("sim-outsider-key"));
            if (res.plan.has(Fault::outsider)) {
                net.set_tap([&outsider](PeerId from, PeerId to, std::span<const std::byte> frame) {
                    outsider.capture(from, to, frame);
                });
            }
            runtime::Rng outsider_rng = streams.stream("sim-outsider-time");
            TimePoint next_outsider = res.plan.outsider_every.count() > 0
                                          ? start + exponential(outsider_rng, res.plan.outsider_every)
                                          : never;
            // Churn (issue 18) draws from a stream of its own too.
            runtime::Rng churn_rng = streams.stream("sim-churn");
            TimePoint next_churn = res.plan.churn_every.count() > 0
                                       ? start + exponential(churn_rng, res.plan.churn_every)
                                       : never;
            // Set splits (aimed at changes of the replica set): two replicas leave, and the
            // trader's side stops reaching theirs at once; theirs stops reaching the trader's
            // 20 ms later, once the leaves are in.
            TimePoint split_closes_at = never;
            SetSplit split_now;
            auto set_split = [&](const SetSplit& split, bool withdraw) {
                for (PeerId who : split.leavers) {
                    market.leave(who, withdraw);
                    ++res.leaves;
                    rt.trace().record(rt.now(), runtime::EventKind::user, who, 0, trace_leave,
                                      withdraw ? 1 : 0);
                }
                open_set_split(split, net);
                split_now = split;
                split_closes_at = rt.now() + 20ms;
                heal_at = split_closes_at + exponential(churn_rng, res.plan.split_for);
                ++res.partitions;
                rt.trace().record(rt.now(), runtime::EventKind::user, 0, 0, trace_set_split,
                                  split.side.size());
                recorder.note(Event::Kind::partition, 0, describe(split));
            };
            auto close_split = [&] {
                close_set_split(split_now, net);
                split_closes_at = never;
                recorder.note(Event::Kind::partition, 0, "the split closes both ways");
            };
            // A newcomer joins through a live member, or a newcomer that joined leaves.
            auto churn = [&] {
                next_churn = rt.now() + exponential(churn_rng, res.plan.churn_every);
                const bool leave = churn_rng.bernoulli(res.plan.leave_share);
                const bool seller = churn_rng.bernoulli(0.5);
                const std::uint64_t pick = churn_rng.uniform_int(0, 1u << 20);
                std::vector<PeerId> joined, live;
                std::size_t newcomers = 0;
                for (PeerId id : market.peers()) {
                    const peer::Node* n = market.node(id);
                    if (n == nullptr || n->left()) continue;
                    const bool newcomer = id > founders.back();
                    newcomers += newcomer ? 1 : 0;
                    if (n->core().joining()) continue;
                    live.push_back(id);
                    if (newcomer && !n->core().leaving()) joined.push_back(id);
                }
                if (!joined.empty() && (leave || newcomers >= max_newcomers) &&
                    res.plan.has(Fault::set_split) && split_closes_at == never) {
                    if (auto split = plan_set_split(market, founders.back(), pick)) {
                        set_split(*split, (pick >> 10) & 1u);
                        return;
                    }
                }
                if (!joined.empty() && (leave || newcomers >= max_newcomers)) {
                    const PeerId who = joined[pick % joined.size()];
                    // Half the sellers take their unsold lots; half keep them on sale, and what
                    // they earn waits for them (a bit of the same draw: the schedule stays).
                    const bool withdraw = ((pick >> 10) & 1u) == 0;
                    market.leave(who, withdraw);
                    ++res.leaves;
                    rt.trace().record(rt.now(), runtime::EventKind::user, who, 0, trace_leave,
                                      withdraw ? 1 : 0);
                    recorder.note(Event::Kind::leave, who,
                                  withdraw ? "leaves with its lots" : "leaves, its lots kept");
                } else if (newcomers < max_newcomers && !live.empty()) {
                    const PeerId contact = live[pick % live.size()];
                    const PeerId who =
                        market.join(seller ? peer::Role::seller : peer::Role::buyer, contact);
                    up[who] = true;
                    ++res.joins;
                    rt.trace().record(rt.now(), runtime::EventKind::user, who, contact, trace_join, 0);
                    recorder.note(Event::Kind::join, who,
                                  fmt::format("joins through peer {} as a {}", contact,
                                              seller ? "seller" : "buyer"));
                }
            };
            auto resume = [&] {
                if (paused) {
                    if (net.is_paused(*paused)) {
                        net.resume(*paused);
                        rt.trace().record(rt.now(), runtime::EventKind::user, *paused, 0, trace_resume,
                                          0);
                        recorder.note(Event::Kind::resume, *paused, "resumes");
                    }
                    checker.paused(*paused, false);
                }
                paused.reset();
                resume_at = never;
            };
            // Pauses a peer now: the trader with the plan's chance unless `spare_trader`.
            auto pause = [&](bool spare_trader) {
                const auto trader = market.trader();
                std::optional<PeerId> victim;
                const bool at_trader = pause_rng.bernoulli(res.plan.pause_trader);
                const std::uint64_t pick = pause_rng.uniform_int(0, market.peers().size() - 1);
                const Duration length = exponential(pause_rng, res.plan.pause_for);
                if (at_trader && !spare_trader) victim = trader;
                if (!victim) victim = market.peers()[pick];
                if (spare_trader && victim == trader) return;
                if (market.node(*victim) == nullptr) return;  // down
                net.pause(*victim);
                checker.paused(*victim, true);
                paused = victim;
                resume_at = rt.now() + length;
                ++res.pauses;
                rt.trace().record(rt.now(), runtime::EventKind::user, *victim, 0, trace_pause,
                                  static_cast<std::uint64_t>(length.count()));
                recorder.note(Event::Kind::pause, *victim,
                              fmt::format("pauses for {}", format_duration(length)));
            };
            auto strike = [&] {
                std::string what = attacker.strike(market);
                rt.trace().record(rt.now(), runtime::EventKind::user, 0, 0, trace_hostile,
                                  attacker.sent());
                if (!what.empty()) recorder.note(Event::Kind::hostile, 0, std::move(what));
                next_hostile = rt.now() + exponential(hostile_rng, res.plan.hostile_every);
            };
            auto outsider_strike = [&] {
                std::string what = outsider.strike(market);
                rt.trace().record(rt.now(), runtime::EventKind::user, 0, 0, trace_outsider,
                                  outsider.sent());
                if (!what.empty()) recorder.note(Event::Kind::outsider, 0, std::move(what));
                next_outsider = rt.now() + exponential(outsider_rng, res.plan.outsider_every);
            };

            // What is due of the pauses, the hostile member and the outsider at `now`.
            auto pauses_and_strikes = [&](TimePoint now, bool spare_trader) {
                if (paused && market.node(*paused) == nullptr) resume();  // crashed meanwhile
                if (now >= resume_at) {
                    resume();
                    next_pause = now + exponential(pause_rng, res.plan.pause_every);
                }
                if (now >= next_pause && !paused) {
                    pause(spare_trader);
                    next_pause = paused ? never : now + exponential(pause_rng, res.plan.pause_every);
                }
                if (now >= next_hostile) strike();
                if (now >= next_outsider) outsider_strike();
            };

            while (rt.now() < faults_end && !market.done()) {
                advance(std::min({faults_end, next_partition, heal_at, next_crash, next_pause,
                                  resume_at, next_hostile, next_outsider, next_churn,
                                  split_closes_at}));
                const TimePoint now = rt.now();
                if (now >= faults_end) break;
                pauses_and_strikes(now, false);
                if (now >= split_closes_at) close_split();
                if (now >= next_churn) churn();
                if (now >= heal_at) {
                    net.heal();
                    heal_at = never;
                    split_closes_at = never;
                    rt.trace().record(now, runtime::EventKind::user, 0, 0, trace_heal, 0);
                    recorder.note(Event::Kind::heal, 0, "heal");
                }
                if (now >= next_partition) {
                    // Two sides, both non-empty, drawn from the seed.
                    std::vector<PeerId> ids = market.peers();
                    for (std::size_t i = ids.size() - 1; i > 0; --i) {
                        std::swap(ids[i], ids[rng.uniform_int(0, i)]);
                    }
                    const std::size_t cut = rng.uniform_int(1, ids.size() - 1);
                    std::vector<std::vector<PeerId>> groups{
                        {ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(cut)},
                        {ids.begin() + static_cast<std::ptrdiff_t>(cut), ids.end()}};
                    std::sort(groups[0].begin(), groups[0].end());
                    std::sort(groups[1].begin(), groups[1].end());
                    net.heal();
                    net.partition(groups);
                    split_closes_at = never;  // a set split in progress ends here
                    ++res.partitions;
                    std::string side;
                    for (PeerId p : groups[0]) side += fmt::format("{}{}", side.empty() ? "" : ",", p);
                    rt.trace().record(now, runtime::EventKind::user, 0, 0, trace_partition, cut);
                    recorder.note(Event::Kind::partition, 0, "partition {" + side + "} | rest");
                    heal_at = now + exponential(rng, res.plan.partition_for);
                    next_partition = heal_at + exponential(rng, res.plan.partition_every);
                }
                if (now >= next_crash) {
                    next_crash = now + exponential(rng, res.plan.crash_every);
                    std::optional<PeerId> victim;
                    const bool at_trader = rng.bernoulli(res.plan.crash_trader);
                    const std::uint64_t pick = rng.uniform_int(0, market.peers().size() - 1);
                    const Duration down = exponential(rng, res.plan.restart_after);
                    if (at_trader) victim = market.trader();
                    if (!victim) victim = market.peers()[pick];
                    if (market.node(*victim) == nullptr) continue;  // already down
                    // A crashed trader loses its journal's unsynced tail (the memory journal's
                    // power-loss model).
                    const auto durable = checker.durable_of(*victim);
                    const bool lose = disk_rng.bernoulli(res.plan.disk_loss);
                    const bool stale = disk_rng.bernoulli(res.plan.stale_copy);
                    const double kept = disk_rng.uniform_real(0.0, 1.0);
                    market.crash(*victim, down);
                    back_by = std::max(back_by, now + down);
                    // At most a minority of the replica set without their disk at once (until each
                    // has caught up again): the market's promise holds only so far.
                    std::erase_if(lost, [&](PeerId p) {
                        const peer::Node* n = market.node(p);
                        return n != nullptr && n->core().replica() != nullptr &&
                               n->core().replica()->seeded();
                    });
                    // A customer's disk holds no replica: losing it threatens nothing committed.
                    // The set as the newest seeded replica up knows it: with promotion it names
                    // newcomers, and founders that left are no longer in it.
                    auto set = peer::replica_set(founders, config.replication.replicas);
                    wire::Epoch newest = 0;
                    for (PeerId p : market.peers()) {
                        const peer::Node* n = market.node(p);
                        const auto* r = n != nullptr ? n->core().replica() : nullptr;
                        if (r == nullptr || !r->seeded() || r->joined() < newest) continue;
                        newest = r->joined();
                        set = r->voters();
                    }
                    const bool replica_disk = std::binary_search(set.begin(), set.end(), *victim);
                    const std::size_t minority = (set.size() - 1) / 2;
                    if (lose && config.replication.mode == peer::ReplicationMode::quorum &&
                        (!replica_disk || lost.contains(*victim) || lost.size() < minority)) {
                        if (replica_disk) lost.insert(*victim);
                        std::optional<std::uint64_t> keep;
                        if (stale && replicas[*victim]) {
                            keep = static_cast<std::uint64_t>(
                                kept * static_cast<double>(replicas[*victim]->durable()));
                        }
                        market.lose_disk(*victim, keep);
                        ++res.disks_lost;
                        rt.trace().record(now, runtime::EventKind::user, *victim, 0, trace_disk_loss,
                                          keep.value_or(0));
                        recorder.note(Event::Kind::crash, *victim,
                                      keep ? fmt::format("loses its disk: a stale copy to record {} "
                                                         "comes back",
                                                         *keep)
                                           : std::string("loses its disk"));
                    }
                    checker.crashed(*victim, durable);
                    up[*victim] = false;
                    ++res.crashes;
                    rt.trace().record(now, runtime::EventKind::user, *victim, 0, trace_crash,
                                      durable.value_or(0));
                    recorder.note(Event::Kind::crash, *victim,
                                  durable
                                      ? fmt::format("crashes (trader; journal durable to {})", *durable)
                                      : std::string("crashes"));
                }
            }

            // The faults stop: links heal and lose nothing; crashed peers come back on schedule. The
            // hostile member and the outsider go on, and other peers than the trader may still pause:
            // none of it may keep a buyer that runs from an answer.
            transport::LinkFaults calm;
            calm.delay.fixed = res.plan.link.delay.fixed;
            net.set_faults(calm);
            net.heal();
            if (heal_at != never) recorder.note(Event::Kind::heal, 0, "heal");
            resume();
            next_pause = res.plan.pause_every.count() > 0
                             ? rt.now() + exponential(pause_rng, res.plan.pause_every)
                             : never;
            // The bound counts once every crashed peer is back: a replica still down can be the
            // one a quorum needs, when others lost their disks (sim --promote --faults all
            // seeds 643 and 1435: two disks lost and a third replica down 2.6 s past the end).
            // A restart waits for the previous life's end, so it is watched, not computed; one
            // not back a second after its schedule is waited for no longer.
            TimePoint calm_end = never;  // set once the bound starts
            while (rt.now() < calm_end && !market.done()) {
                const bool counting = calm_end != never;
                if (!counting && (rt.now() >= back_by + 1s ||
                                  std::all_of(up.begin(), up.end(),
                                              [](const auto& peer) { return peer.second; }))) {
                    res.quiet = rt.now();
                    checker.start_liveness(res.quiet, o.liveness_bound);
                    calm_end = res.quiet + o.liveness_bound + 100ms;
                }
                const TimePoint until = calm_end != never
                                            ? calm_end
                                            : std::max(back_by, rt.now() + o.sweep_every);
                advance(std::min({until, next_pause, resume_at, next_hostile, next_outsider}));
                const TimePoint now = rt.now();
                if (now >= calm_end) break;
                pauses_and_strikes(now, true);
            }
            resume();
            res.hostile = attacker.sent();
            res.outsider = outsider.sent();
            net.set_tap({});  // the outsider goes before the network

        } catch (const runtime::Livelock& e) {
            livelock = e.what();
            net.set_tap({});  // the outsider it names is gone with the try block
        }

        market.request_stop();
        try {
            for (int i = 0; i < 100'000 && !market.done(); ++i) rt.run_until(rt.now() + 10ms);
        } catch (const runtime::Livelock& e) {
            if (livelock.empty()) livelock = e.what();
        }
        if (!livelock.empty()) {
            peer::Summary stuck;
            stuck.violations.push_back(livelock);
            checker.finish(stuck);
        } else if (!market.done()) {
            peer::Summary stuck;
            stuck.violations.push_back("the market did not shut down");
            checker.finish(stuck);
        }
        res.ended = rt.now();
        res.summary = market.summary();
        if (o.record) res.purchases = market.purchases();
        checker.finish(res.summary);
    }
    res.violations = checker.violations();
    res.checks = checker.checks();
    res.confirmed = checker.confirmed();
    res.trace_events = rt.trace().count();
    // The network's and timers' history, then the outcome.
    std::uint64_t h = rt.trace().hash();
    for (std::uint64_t v :
         {std::uint64_t{res.violations.size()}, res.summary.requests, res.summary.filled,
          res.summary.units, static_cast<std::uint64_t>(res.summary.spent), res.checks}) {
        h = runtime::mix64(h ^ v);
    }
    res.trace_hash = h;
    return res;
}

std::string repro_command(const Options& o) {
    std::string cmd = fmt::format("trading-post sim --seed {}", o.seed);
    const Options defaults;
    if (o.peers != defaults.peers) cmd += fmt::format(" --peers {}", o.peers);
    if (o.replicas != defaults.replicas) cmd += fmt::format(" --replicas {}", o.replicas);
    if (o.promote) cmd += " --promote";
    if (o.snapshot_every != defaults.snapshot_every)
        cmd += fmt::format(" --snapshot-every {}", o.snapshot_every);
    if (o.duration != defaults.duration) cmd += " --duration " + peer::format_duration(o.duration);
    if (o.liveness_bound != defaults.liveness_bound)
        cmd += " --liveness-bound " + peer::format_duration(o.liveness_bound);
    if (o.instant_limit != defaults.instant_limit)
        cmd += fmt::format(" --instant-limit {}", o.instant_limit);
    if (!o.faults.swarm) cmd += " --faults " + o.faults.to_string();
    return cmd;
}

}  // namespace tp::sim
