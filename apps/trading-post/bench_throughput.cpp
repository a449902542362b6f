// trading-post bench throughput: buys per second by concurrent buyers, transport, durability,
// security and replication (the shared journal beside the replicated log, in the same run).
#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "bench_support.hpp"

namespace tp::app::bench {

namespace {

using namespace std::chrono_literals;
using runtime::Duration;
using runtime::TimePoint;

// Runs an endless market and counts the filled buys answered in `w.measure` after a warm-up of
// `w.warm`, both counted from the first filled answer: a replicated trader serves only after its
// view change, and buyers it turned away meanwhile retry on their timeout, so a window counted
// from the start would charge the start-up to throughput. Nothing when no buy was answered within
// 10 s. Throws when the market did not run the replication mode `c` names.
std::optional<std::uint64_t> buys_in_window(const peer::Config& c, Window w) {
    runtime::Runtime rt(runtime::Mode::real_time);
    peer::Config run = c;
    run.duration = 0ns;  // until request_stop()
    // Counted from the buyers' totals: an endless market keeps only each buyer's newest answer.
    run.behaviour.purchase_history = 1;
    peer::LocalMarket m(run, rt);
    m.start();
    if (auto wrong = wrong_mode(m, run)) throw std::logic_error("bench throughput: " + *wrong);
    // The filled answers so far. No peer fails here, so every answer is in a running node.
    const auto filled = [&] {
        std::uint64_t n = 0;
        for (auto id : m.peers()) {
            if (const auto* node = m.node(id)) n += node->buyer().totals.filled;
        }
        return n;
    };
    const bool serving = run_until(rt, 10s, [&] { return filled() > 0; });
    std::uint64_t from = 0, to = 0;
    if (serving) {
        rt.run_for(w.warm);
        from = filled();
        rt.run_for(w.measure);
        to = filled();
    }
    m.request_stop();
    run_to_end(rt, m);
    if (!serving) return std::nullopt;
    return to - from;
}

}  // namespace

int throughput(const Context& ctx) {
    std::vector<std::uint32_t> counts = {1, 2, 4, 8, 16, 32, 64};
    if (ctx.quick) counts = {1, 4, 16};
    const Window w = ctx.quick ? Window{200ms, 500ms} : Window{500ms, 2s};
    // Every transport and policy with authentication on the shared journal; `group` and `every`
    // on the replicated log too (issue 16: its cost beside the shared journal, in the same run);
    // UDP without authentication (the cost of security); and TCP, `none` and `group`.
    using peer::ReplicationMode;
    struct Setup {
        peer::TransportKind transport;
        peer::Durability durability;
        peer::SecurityMode security;
        ReplicationMode replication;
        std::uint32_t max_buyers = 64;  // larger counts are not run
    };
    // Replicated `every` syncs each record on each replica of the set, all on this process's two
    // cores: a few hundred buys/s at 16 buyers; larger counts would only spend the run time.
    constexpr std::uint32_t every_quorum_max_buyers = 16;
    constexpr std::uint32_t tcp_max_buyers = 32;
    std::vector<Setup> setups;
    for (auto t : {peer::TransportKind::memory, peer::TransportKind::udp}) {
        setups.push_back(
            {t, peer::Durability::none, peer::SecurityMode::on, ReplicationMode::shared});
        for (auto d : {peer::Durability::group, peer::Durability::every}) {
            for (auto r : {ReplicationMode::shared, ReplicationMode::quorum}) {
                const bool capped = d == peer::Durability::every && r == ReplicationMode::quorum;
                setups.push_back({t, d, peer::SecurityMode::on, r,
                                  capped ? every_quorum_max_buyers : counts.back()});
            }
        }
    }
    // Without authentication: what a MAC per message costs (issue 17's limit in memory).
    setups.push_back({peer::TransportKind::memory, peer::Durability::none,
                      peer::SecurityMode::off, ReplicationMode::shared, counts.back()});
    setups.push_back({peer::TransportKind::udp, peer::Durability::none, peer::SecurityMode::off,
                      ReplicationMode::shared, counts.back()});
    setups.push_back({peer::TransportKind::udp, peer::Durability::group, peer::SecurityMode::off,
                      ReplicationMode::shared, counts.back()});
    // TCP beside UDP (the original lab's trade-off T1): the same market on streams. Not above 32
    // buyers: at 64 (66 peers in this one process) no buy is answered within 10 s yet, though
    // `run` of the same market trades (an open problem, docs/transports.md).
    for (auto d : {peer::Durability::none, peer::Durability::group})
        setups.push_back({peer::TransportKind::tcp, d, peer::SecurityMode::on,
                          ReplicationMode::shared, tcp_max_buyers});
    const peer::Config sample = endless_market(ctx.base, 1, 2);
    Csv csv(ctx, "throughput",
            "transport,durability,buyers,buys,seconds,buys_per_s,security,replication,"
            "buys_per_s_min,buys_per_s_max,runs",
            {"buys answered (filled) per second of real time, measured after a warm-up of " +
                 peer::format_duration(w.warm) +
                 " from the first filled buy, one product, "
                 "endless stock, 2 sellers; "
                 "replication: shared (one journal in a directory every peer reads) or quorum "
                 "(the replica set keeps the log; a record counts once durable on a majority of it)",
             fmt::format("each cell runs {} time(s): buys_per_s is the median run's (buys its "
                         "count), with the min and max of the runs",
                         ctx.repeat),
             "config (buyers, transport, durability, security and replication vary): " +
                 bench::describe(sample)});
    std::size_t runs = 0;
    for (const auto& setup : setups) {
        runs += ctx.repeat * static_cast<std::size_t>(std::count_if(
                                 counts.begin(), counts.end(),
                                 [&](auto n) { return n <= setup.max_buyers; }));
    }
    Progress progress("throughput", runs);
    if (ctx.repeat > 1) fmt::print("each cell: the median of {} runs\n\n", ctx.repeat);
    fmt::print("| transport | durability | replication | security |");
    for (auto n : counts) fmt::print(" {} |", n);
    fmt::print("\n|---|---|---|---|");
    for (std::size_t i = 0; i < counts.size(); ++i) fmt::print("---:|");
    fmt::print("\n");
    // buys/s by (transport, durability, security, replication, buyers), for the ratios below.
    std::map<std::tuple<peer::TransportKind, peer::Durability, peer::SecurityMode, ReplicationMode,
                        std::uint32_t>,
             double>
        rates;
    std::vector<std::string> problems;  // said after the table, which they would split
    for (const auto& [t, d, sec, rep, max_buyers] : setups) {
        // The row is printed whole, once measured: the bar never splits it.
        std::string row =
            fmt::format("| {} | {} | {} | {} |", peer::to_string(t), peer::to_string(d),
                        peer::to_string(rep), peer::to_string(sec));
        for (auto n : counts) {
            if (n > max_buyers) {
                row += " not run |";
                continue;
            }
            peer::Config c = endless_market(ctx.base, n, 2);
            c.network.transport = t;
            c.storage.durability = d;
            c.security.mode = sec;
            c.replication.mode = rep;
            // The runs of one cell, by buys; a run that answered nothing empties the cell.
            std::vector<std::uint64_t> counted;
            for (std::uint32_t i = 0; i < ctx.repeat; ++i) {
                progress.next(fmt::format("{} {} {} security {} {} buyers, run {} of {}",
                                          peer::to_string(t), peer::to_string(d),
                                          peer::to_string(rep), peer::to_string(sec), n, i + 1,
                                          ctx.repeat));
                const auto got = buys_in_window(c, w);
                if (!got) {
                    counted.clear();
                    break;
                }
                counted.push_back(*got);
            }
            std::sort(counted.begin(), counted.end());
            const std::optional<std::uint64_t> buys =
                counted.empty() ? std::nullopt
                                : std::optional<std::uint64_t>(counted[(counted.size() - 1) / 2]);
            if (!buys) {
                // An empty cell: gnuplot skips it, the table shows '-', the exit status says.
                problems.push_back(fmt::format(
                    "bench throughput: no buy answered within 10 s ({} {} {} security {}, {} "
                    "buyers)",
                    peer::to_string(t), peer::to_string(d), peer::to_string(rep),
                    peer::to_string(sec), n));
                csv.row(peer::to_string(t), peer::to_string(d), n, "", bench::to_s(w.measure), "",
                        peer::to_string(sec), peer::to_string(rep), "", "", ctx.repeat);
                row += " - |";
                continue;
            }
            const auto per_s = [&](std::uint64_t b) {
                return static_cast<double>(b) / bench::to_s(w.measure);
            };
            const double rate = per_s(*buys);
            csv.row(peer::to_string(t), peer::to_string(d), n, *buys, bench::to_s(w.measure),
                    fmt::format("{:.0f}", rate), peer::to_string(sec), peer::to_string(rep),
                    fmt::format("{:.0f}", per_s(counted.front())),
                    fmt::format("{:.0f}", per_s(counted.back())), counted.size());
            row += fmt::format(" {:.0f} |", rate);
            rates[{t, d, sec, rep, n}] = rate;
        }
        progress.print(row);
    }
    const auto ratio = [&](peer::TransportKind t, peer::Durability d, peer::SecurityMode num_sec,
                           ReplicationMode num_rep, peer::SecurityMode den_sec,
                           ReplicationMode den_rep, std::uint32_t n) {
        const auto num = rates.find({t, d, num_sec, num_rep, n});
        const auto den = rates.find({t, d, den_sec, den_rep, n});
        return num != rates.end() && den != rates.end() && den->second > 0
                   ? fmt::format("{:.2f}", num->second / den->second)
                   : std::string("-");
    };
    const std::pair<peer::TransportKind, peer::Durability> with_and_without[] = {
        {peer::TransportKind::memory, peer::Durability::none},
        {peer::TransportKind::udp, peer::Durability::none},
        {peer::TransportKind::udp, peer::Durability::group}};
    for (auto [t, d] : with_and_without) {
        std::string row = fmt::format("| {} | {} | shared | on / off |", peer::to_string(t),
                                      peer::to_string(d));
        for (auto n : counts) {
            row += fmt::format(" {} |", ratio(t, d, peer::SecurityMode::on,
                                              ReplicationMode::shared, peer::SecurityMode::off,
                                              ReplicationMode::shared, n));
        }
        progress.print(row);
    }
    // What replication costs at each buyer count, then issue 16's goal read off at the highest:
    // replicated `group` at least half of the shared journal's.
    for (auto t : {peer::TransportKind::memory, peer::TransportKind::udp}) {
        for (auto d : {peer::Durability::group, peer::Durability::every}) {
            std::string row = fmt::format("| {} | {} | quorum / shared | on |", peer::to_string(t),
                                          peer::to_string(d));
            for (auto n : counts) {
                row += fmt::format(" {} |",
                                   ratio(t, d, peer::SecurityMode::on, ReplicationMode::quorum,
                                         peer::SecurityMode::on, ReplicationMode::shared, n));
            }
            progress.print(row);
        }
    }
    if (counts.back() > every_quorum_max_buyers) {
        progress.print(fmt::format(
            "\nnot run: quorum `every` above {} buyers (each record is one sync on each replica, "
            "and the replicas of this process sync one after another)",
            every_quorum_max_buyers));
    }
    if (counts.back() > tcp_max_buyers) {
        progress.print(fmt::format(
            "not run: tcp above {} buyers (at 64, no buy is answered within 10 s in this "
            "process yet; docs/transports.md)",
            tcp_max_buyers));
    }
    progress.print("");
    for (auto t : {peer::TransportKind::memory, peer::TransportKind::udp}) {
        for (auto d : {peer::Durability::group, peer::Durability::every}) {
            // The highest count both rows ran at.
            std::uint32_t n = counts.front();
            for (const auto& setup : setups) {
                if (setup.transport == t && setup.durability == d &&
                    setup.replication == ReplicationMode::quorum)
                    n = *std::prev(
                        std::upper_bound(counts.begin(), counts.end(), setup.max_buyers));
            }
            progress.print(
                fmt::format("quorum / shared, {} {}, {} buyers: {}{}", peer::to_string(t),
                            peer::to_string(d), n,
                            ratio(t, d, peer::SecurityMode::on, ReplicationMode::quorum,
                                  peer::SecurityMode::on, ReplicationMode::shared, n),
                            d == peer::Durability::group ? " (goal: at least 0.5)" : ""));
        }
    }
    for (const auto& problem : problems) fmt::print(stderr, "{}\n", problem);
    csv.flush();
    bench::plot(ctx, "throughput", csv.path());
    return problems.empty() ? 0 : 1;
}

}  // namespace tp::app::bench
