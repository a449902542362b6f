// trading-post bench <experiment>: the seed's evaluation (E1, E2) and the measurements of the
// market against its limits. Each experiment writes <out>/<name>.csv (the configuration stated in
// its first lines), prints a table, and draws <out>/<name>.png with tools/plot/<name>.gp.
#include <fmt/core.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <type_traits>
#include <variant>

#include "bench_support.hpp"
#include "commands.hpp"
#include "data_dir.hpp"
#include "tp/auth/guard.hpp"
#include "tp/journal/log.hpp"
#include "tp/peer/books.hpp"
#include "tp/peer/local_market.hpp"
#include "tp/peer/log.hpp"
#include "tp/runtime/runtime.hpp"
#include "tp/wire/message.hpp"

namespace tp::app {

namespace {

using namespace std::chrono_literals;
using bench::all_follow_the_trader;
using bench::Answered;
using bench::answered;
using bench::Context;
using bench::Csv;
using bench::endless_market;
using bench::mode_for;
using bench::ms;
using bench::Progress;
using bench::run_to_end;
using bench::run_until;
using bench::Window;
using runtime::Duration;
using runtime::TimePoint;

// ---- e1: average round trip with and without elections --------------------------------------

int e1(const Context& ctx) {
    std::vector<std::uint32_t> sizes = {10, 20, 100, 1000};
    if (ctx.quick) sizes = {10, 20};
    peer::Config base = ctx.base;
    base.peers = 6;
    base.roles.clear();
    base.duration = 0ns;
    base.failure.time_quantum = 250ms;
    Csv csv(ctx, "e1",
            "max_transactions,elections,requests,mean_rtt_ms,p50_rtt_ms,p99_rtt_ms,"
            "traders_elected,failures,mean_rtt_ms_min,mean_rtt_ms_max,runs",
            {"E1 of the seed: each buyer makes max_transactions sequential requests; "
             "'elections' runs fail the trader with probability 1 every time_quantum",
             fmt::format("each cell runs {} time(s): the mean, p50 and p99 are the median of the "
                         "runs', with the min and max of the mean; requests, traders and "
                         "failures are the median run's (by mean)",
                         ctx.repeat),
             "config (max_transactions and failure probability vary): " + bench::describe(base)});
    Progress progress("e1", sizes.size() * 2 * ctx.repeat);
    if (ctx.repeat > 1) fmt::print("each cell: the median of {} runs\n\n", ctx.repeat);
    fmt::print(
        "| max_transactions | elections | requests | mean RTT | p50 | p99 | traders | "
        "failures | mean min - max |\n|---:|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for (auto mt : sizes) {
        for (bool elections : {false, true}) {
            struct Run {
                std::size_t requests;
                double mean, p50, p99;
                std::size_t traders, failures;
            };
            std::vector<Run> done;
            for (std::uint32_t i = 0; i < ctx.repeat; ++i) {
                progress.next(fmt::format("{} requests{}, run {} of {}", mt,
                                          elections ? ", elections" : "", i + 1, ctx.repeat));
                peer::Config c = base;
                c.behaviour.max_transactions = mt;
                c.failure.probability = elections ? 1.0 : 0.0;
                runtime::Runtime rt(mode_for(c, false));
                peer::LocalMarket m(c, rt);
                m.start();
                run_to_end(rt, m);
                std::vector<double> rtts;
                for (auto& a : answered(m))
                    rtts.push_back(bench::to_ms(a.p.answered_at - a.p.sent));
                done.push_back({rtts.size(), bench::mean(rtts), bench::percentile(rtts, 0.5),
                                bench::percentile(rtts, 0.99), m.traders().size(),
                                m.failures().size()});
            }
            std::vector<double> means, p50s, p99s;
            for (const auto& r : done) {
                means.push_back(r.mean);
                p50s.push_back(r.p50);
                p99s.push_back(r.p99);
            }
            const auto mean = bench::spread(means), p50 = bench::spread(p50s),
                       p99 = bench::spread(p99s);
            const Run& shown = done[bench::median_run(means)];
            csv.row(mt, elections ? "yes" : "no", shown.requests, ms(mean.median), ms(p50.median),
                    ms(p99.median), shown.traders, shown.failures, ms(mean.min), ms(mean.max),
                    mean.runs);
            progress.print(fmt::format(
                "| {} | {} | {} | {:.2f} ms | {:.2f} ms | {:.2f} ms | {} | {} | {:.2f} - {:.2f} ms "
                "|",
                mt, elections ? "yes" : "no", shown.requests, mean.median, p50.median, p99.median,
                shown.traders, shown.failures, mean.min, mean.max));
        }
    }
    csv.flush();
    bench::plot(ctx, "e1", csv.path());
    return 0;
}

// ---- e2: every request's response time over time, with failovers -----------------------------

int e2(const Context& ctx) {
    peer::Config c = ctx.base;
    c.peers = 6;
    c.roles.clear();
    c.duration = 0ns;
    c.behaviour.max_transactions = ctx.quick ? 30 : 200;
    c.failure.probability = 1;
    c.failure.time_quantum = 1s;
    // One run's timeline: every answered request, and the failures and reigns.
    struct Timeline {
        struct Request {
            peer::PeerId buyer;
            std::uint32_t index;  // the buyer's n-th answered request
            double sent_s, rtt_ms;
            std::uint32_t attempts;
            peer::PeerId trader;
            std::string outcome;
        };
        std::vector<Request> requests;
        std::vector<std::tuple<double, peer::PeerId, std::string>> events;
        std::vector<double> rtts;
        std::size_t failures = 0;
        std::size_t buyer_count = 0;
        std::string buyers;  // "1 2 4", for the plot
    };
    Progress progress("e2", ctx.repeat);
    std::vector<Timeline> runs;
    for (std::uint32_t run = 0; run < ctx.repeat; ++run) {
        progress.next(fmt::format("{} requests per buyer, run {} of {}",
                                  c.behaviour.max_transactions, run + 1, ctx.repeat));
        runtime::Runtime rt(mode_for(c, false));
        const TimePoint t0 = rt.now();
        peer::LocalMarket m(c, rt);
        m.start();
        run_to_end(rt, m);
        auto all = answered(m);
        std::sort(all.begin(), all.end(),
                  [](const Answered& a, const Answered& b) { return a.p.sent < b.p.sent; });
        Timeline t;
        std::map<peer::PeerId, std::uint32_t> index;
        for (const auto& a : all) {
            const auto i = ++index[a.buyer];
            if (i == 1) t.buyers += (t.buyers.empty() ? "" : " ") + std::to_string(a.buyer);
            const double rtt = bench::to_ms(a.p.answered_at - a.p.sent);
            t.requests.push_back({a.buyer, i, bench::to_s(a.p.sent - t0), rtt, a.p.attempts,
                                  a.p.trader, a.p.filled ? "filled" : wire::to_string(a.p.reason)});
            t.rtts.push_back(rtt);
        }
        for (const auto& f : m.failures()) {
            t.events.emplace_back(bench::to_s(f.at - t0), f.peer,
                                  f.was_trader ? "trader failed" : "peer failed");
        }
        for (const auto& r : m.traders())
            t.events.emplace_back(bench::to_s(r.at - t0), r.peer, "new trader");
        t.failures = m.failures().size();
        t.buyer_count = index.size();
        runs.push_back(std::move(t));
    }
    std::vector<double> p50s, p99s, maxes;
    for (const auto& t : runs) {
        p50s.push_back(bench::percentile(t.rtts, 0.5));
        p99s.push_back(bench::percentile(t.rtts, 0.99));
        maxes.push_back(bench::percentile(t.rtts, 1.0));
    }
    // The timeline drawn is the median run's by p99 (the figure failovers drive).
    const Timeline& shown = runs[bench::median_run(p99s)];
    Csv csv(ctx, "e2", "buyer,request,sent_s,rtt_ms,attempts,trader,outcome",
            {"E2 of the seed: the response time of every request of every buyer, over the run; "
             "the trader fails every time_quantum (e2-failures.csv)",
             fmt::format("the run shown is the median by p99 of {} run(s); the table gives the "
                         "median p50, p99 and max of the runs with their min and max",
                         ctx.repeat),
             "config: " + bench::describe(c)});
    for (const auto& r : shown.requests) {
        csv.row(r.buyer, r.index, fmt::format("{:.4f}", r.sent_s), ms(r.rtt_ms), r.attempts,
                r.trader, r.outcome);
    }
    csv.flush();
    Csv failures(ctx, "e2-failures", "time_s,peer,event", {"companion of e2.csv"});
    for (const auto& [at, peer, event] : shown.events)
        failures.row(fmt::format("{:.4f}", at), peer, event);
    failures.flush();
    const auto p50 = bench::spread(p50s), p99 = bench::spread(p99s), max = bench::spread(maxes);
    progress.print(
        "| buyers | requests | failovers | p50 | p99 | max | p99 min - max |\n"
        "|---:|---:|---:|---:|---:|---:|---:|");
    progress.print(
        fmt::format("| {} | {} | {} | {:.2f} ms | {:.2f} ms | {:.2f} ms | {:.2f} - {:.2f} ms |",
                    shown.buyer_count, shown.requests.size(), shown.failures, p50.median,
                    p99.median, max.median, p99.min, p99.max));
    bench::plot(ctx, "e2", csv.path(),
                fmt::format("failures='{}'; buyers='{}'", failures.path().string(), shown.buyers));
    return 0;
}

// ---- latency: one sequential buyer next to raw UDP ping-pong ---------------------------------

int bound_udp_socket(sockaddr_in& addr) {
    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) throw std::runtime_error("socket failed");
    addr = {};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd);
        throw std::runtime_error("bind to 127.0.0.1 failed");
    }
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    return fd;
}

// Round trips of a 176-byte datagram (a Buy's size) between two blocking sockets on two threads:
// the least a request and its answer can cost on this machine's loopback.
std::vector<double> raw_udp_ping_pong_us(int n) {
    constexpr std::size_t size = 176;
    constexpr int warmup = 1000;
    sockaddr_in a{}, b{};
    const int fa = bound_udp_socket(a), fb = bound_udp_socket(b);
    std::thread echo([&] {
        char buf[size];
        sockaddr_in from{};
        for (int i = 0; i < n + warmup; ++i) {
            socklen_t len = sizeof from;
            const auto got =
                ::recvfrom(fb, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
            if (got < 0) break;
            ::sendto(fb, buf, static_cast<std::size_t>(got), 0, reinterpret_cast<sockaddr*>(&from),
                     len);
        }
    });
    char buf[size] = {};
    std::vector<double> us;
    us.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n + warmup; ++i) {
        const auto start = std::chrono::steady_clock::now();
        ::sendto(fa, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&b), sizeof b);
        if (::recv(fa, buf, sizeof buf, 0) < 0) break;
        if (i >= warmup) {
            us.push_back(
                std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
                    .count());
        }
    }
    echo.join();
    ::close(fa);
    ::close(fb);
    return us;
}

// Appends of 176 bytes (a Buy's size), each followed by fdatasync, to a file where a run keeps
// its state (the temporary directory): what one durable record costs on this disk at least.
std::vector<double> fdatasync_us(int n) {
    std::string path = (std::filesystem::temp_directory_path() / "trading-post-sync-XXXXXX").string();
    const int fd = ::mkstemp(path.data());
    if (fd < 0) throw std::runtime_error("fdatasync baseline: cannot create a file in " + path);
    const std::array<char, 176> record{};
    std::vector<double> us;
    us.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
        const auto start = std::chrono::steady_clock::now();
        if (::write(fd, record.data(), record.size()) != static_cast<ssize_t>(record.size()) ||
            ::fdatasync(fd) != 0) {
            ::close(fd);
            ::unlink(path.c_str());
            throw std::runtime_error("fdatasync baseline: write or fdatasync failed on " + path);
        }
        us.push_back(
            std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
                .count());
    }
    ::close(fd);
    ::unlink(path.c_str());
    return us;
}

// What authentication adds to one message: a sender's seal and a receiver's open of a
// 176-byte envelope (a Buy's size), in ns, averaged over n.
double auth_cost_ns(int n) {
    const std::vector<auth::PeerId> members{1, 2};
    const auth::Key key = auth::Key::generate();
    auth::Guard a(1, 1, members, key), b(2, 1, members, key);
    std::vector<std::byte> frame(auth::frame_overhead + 176, std::byte{1});
    std::size_t opened = 0;
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) {
        const auto size = a.seal(2, frame, 176);
        opened += b.open(std::span(frame).first(size), {}).opened.has_value() ? 1 : 0;
    }
    const auto elapsed = std::chrono::steady_clock::now() - start;
    if (opened != static_cast<std::size_t>(n)) throw std::logic_error("auth_cost_ns: refused");
    return std::chrono::duration<double, std::nano>(elapsed).count() / n;
}

int latency(const Context& ctx) {
    const Window w = ctx.quick ? Window{200ms, 500ms} : Window{500ms, 3s};
    // Every series runs ctx.repeat times, the raw ping-pong too: each run's round trips apart.
    struct Series {
        std::string name;
        std::vector<std::vector<double>> runs;
    };
    std::vector<Series> series;
    // Shared: the answer waits for the trader's journal only; quorum: for a majority of the
    // replicas too (an Append and its ack more on the critical path, two round trips in all).
    using peer::ReplicationMode;
    struct Run {
        peer::TransportKind transport;
        peer::Durability durability;
        ReplicationMode replication;
        peer::SecurityMode security = peer::SecurityMode::on;
    };
    const std::vector<Run> runs = {
        {peer::TransportKind::udp, peer::Durability::none, ReplicationMode::shared},
        {peer::TransportKind::udp, peer::Durability::none, ReplicationMode::shared,
         peer::SecurityMode::off},
        {peer::TransportKind::udp, peer::Durability::none, ReplicationMode::quorum},
        {peer::TransportKind::udp, peer::Durability::group, ReplicationMode::shared},
        {peer::TransportKind::udp, peer::Durability::group, ReplicationMode::quorum},
        {peer::TransportKind::udp, peer::Durability::every, ReplicationMode::shared},
        {peer::TransportKind::tcp, peer::Durability::none, ReplicationMode::shared},
        {peer::TransportKind::tcp, peer::Durability::group, ReplicationMode::shared},
        {peer::TransportKind::memory, peer::Durability::none, ReplicationMode::shared},
        {peer::TransportKind::memory, peer::Durability::none, ReplicationMode::quorum},
    };
    const peer::Config sample = endless_market(ctx.base, 1, 2);
    Progress progress("latency", (runs.size() + 2) * ctx.repeat);
    if (ctx.repeat > 1) fmt::print("each series: the median of {} runs\n\n", ctx.repeat);
    series.push_back({"raw-udp-ping-pong", {}});
    for (std::uint32_t i = 0; i < ctx.repeat; ++i) {
        progress.next(fmt::format("raw UDP ping-pong, run {} of {}", i + 1, ctx.repeat));
        series.back().runs.push_back(raw_udp_ping_pong_us(ctx.quick ? 5000 : 50000));
    }
    series.push_back({"fdatasync", {}});
    for (std::uint32_t i = 0; i < ctx.repeat; ++i) {
        progress.next(fmt::format("fdatasync of a 176-byte append, run {} of {}", i + 1, ctx.repeat));
        series.back().runs.push_back(fdatasync_us(ctx.quick ? 200 : 1000));
    }
    for (auto [t, d, rep, sec] : runs) {
        series.push_back({fmt::format("buyer-{}-{}-{}{}", peer::to_string(t), peer::to_string(d),
                                      peer::to_string(rep),
                                      sec == peer::SecurityMode::off ? "-noauth" : ""),
                          {}});
        for (std::uint32_t i = 0; i < ctx.repeat; ++i) {
            progress.next(fmt::format("{} {} {}{}, run {} of {}", peer::to_string(t),
                                      peer::to_string(d), peer::to_string(rep),
                                      sec == peer::SecurityMode::off ? " noauth" : "", i + 1,
                                      ctx.repeat));
            peer::Config c = endless_market(ctx.base, 1, 2);
            c.network.transport = t;
            c.storage.durability = d;
            c.replication.mode = rep;
            c.security.mode = sec;
            c.duration = w.warm + w.measure;
            runtime::Runtime rt(runtime::Mode::real_time);
            const TimePoint from = rt.now() + w.warm;
            peer::LocalMarket m(c, rt);
            m.start();
            run_to_end(rt, m);
            std::vector<double> us;
            for (const auto& a : answered(m)) {
                if (a.p.sent >= from) us.push_back(bench::to_us(a.p.answered_at - a.p.sent));
            }
            series.back().runs.push_back(std::move(us));
        }
    }
    Csv csv(ctx, "latency",
            "series,samples,p50_us,p99_us,p999_us,mean_us,x_raw_p50,p50_us_min,p50_us_max,"
            "p99_us_min,p99_us_max,runs",
            {"one buyer, one request at a time, against the raw UDP ping-pong of a 176-byte "
             "datagram (blocking sockets, 2 threads) measured in the same run",
             fmt::format("each series runs {} time(s): p50, p99, p99.9 and the mean are the "
                         "median of the runs' (samples: the median run's by p50), with the min "
                         "and max of p50 and p99; latency-cdf.csv is the median run's",
                         ctx.repeat),
             "config (transport, durability, replication and security vary as each series name "
             "says; fdatasync: 176-byte appends to a file in the temporary directory): " +
                 bench::describe(sample)});
    Csv cdf(ctx, "latency-cdf", "series,fraction,rtt_us", {"companion of latency.csv"});
    // A figure of every run of one series.
    const auto per_run = [](const Series& s, auto figure) {
        std::vector<double> v;
        for (const auto& run : s.runs) v.push_back(figure(run));
        return v;
    };
    const auto p = [](double q) {
        return [q](const std::vector<double>& us) { return bench::percentile(us, q); };
    };
    const auto median_p50 = [&](const Series& s) {
        return bench::spread(per_run(s, p(0.5))).median;
    };
    const double raw_p50 = median_p50(series.front());
    progress.print(
        "| series | samples | p50 | p99 | p99.9 | p50 / raw p50 | p50 min - max |\n"
        "|---|---:|---:|---:|---:|---:|---:|");
    std::string names;
    for (auto& s : series) {
        const auto p50 = bench::spread(per_run(s, p(0.5))),
                   p99 = bench::spread(per_run(s, p(0.99))),
                   p999 = bench::spread(per_run(s, p(0.999))),
                   mean = bench::spread(per_run(s, [](const auto&us) { return bench::mean(us); }));
        std::vector<double>& shown = s.runs[bench::median_run(per_run(s, p(0.5)))];
        const double x = raw_p50 > 0 ? p50.median / raw_p50 : 0;
        csv.row(s.name, shown.size(), fmt::format("{:.1f}", p50.median),
                fmt::format("{:.1f}", p99.median), fmt::format("{:.1f}", p999.median),
                fmt::format("{:.1f}", mean.median), fmt::format("{:.2f}", x),
                fmt::format("{:.1f}", p50.min), fmt::format("{:.1f}", p50.max),
                fmt::format("{:.1f}", p99.min), fmt::format("{:.1f}", p99.max), p50.runs);
        progress.print(fmt::format(
            "| {} | {} | {:.1f} µs | {:.1f} µs | {:.1f} µs | {:.2f}x | {:.1f} - {:.1f} µs |",
            s.name, shown.size(), p50.median, p99.median, p999.median, x, p50.min, p50.max));
        std::sort(shown.begin(), shown.end());
        constexpr int points = 200;
        for (int i = 0; i <= points && !shown.empty(); ++i) {
            const double f = static_cast<double>(i) / points;
            const auto k = std::min(
                shown.size() - 1, static_cast<std::size_t>(f * static_cast<double>(shown.size())));
            cdf.row(s.name, fmt::format("{:.4f}", f), fmt::format("{:.2f}", shown[k]));
        }
        names += (names.empty() ? "" : " ") + s.name;
    }
    csv.flush();
    cdf.flush();
    const double seal_open_ns = auth_cost_ns(ctx.quick ? 20'000 : 200'000);
    const auto p50_of = [&](std::string_view name) {
        const auto it = std::find_if(series.begin(), series.end(),
                                     [&](const Series& s) { return s.name == name; });
        return it == series.end() ? 0.0 : median_p50(*it);
    };
    const auto ratio = [](double a, double b) { return b > 0 ? a / b : 0.0; };
    const double with_auth = p50_of("buyer-udp-none-shared"),
                 without = p50_of("buyer-udp-none-shared-noauth"),
                 sync_p50 = p50_of("fdatasync");
    progress.print(fmt::format(
        "buyer-udp-none-shared p50 / raw UDP ping-pong p50: {:.2f}x (goal: at most 1.2x)\n"
        "buyer-udp-none-quorum p50 / two raw UDP ping-pongs: {:.2f}x (an Append and its ack "
        "are a second round trip)\n"
        "buyer-udp-group-shared p50 / fdatasync p50: {:.2f}x (goal: at most 2x)\n"
        "buyer-udp-group-quorum p50 / fdatasync p50: {:.2f}x",
        ratio(with_auth, raw_p50), ratio(p50_of("buyer-udp-none-quorum"), 2 * raw_p50),
        ratio(p50_of("buyer-udp-group-shared"), sync_p50),
        ratio(p50_of("buyer-udp-group-quorum"), sync_p50)));
    progress.print(fmt::format(
        "authentication: {:.0f} ns per message (seal + open of a 176-byte envelope, measured "
        "here); buyer-udp-none-shared p50 with it / without it (-noauth): {:.2f}x",
        seal_open_ns, without > 0 ? with_auth / without : 0.0));
    bench::plot(ctx, "latency", cdf.path(), fmt::format("series='{}'", names));
    return 0;
}

// ---- election-scaling: messages and virtual time per election as the market grows ------------

int election_scaling(const Context& ctx) {
    std::vector<std::uint32_t> sizes = {6, 16, 64, 256, 1024};
    if (ctx.quick) sizes = {6, 16, 64};
    // Three crashes per size, one from 256 peers up (an election there is ~10^5..10^6 messages).
    const auto rounds_for = [&](std::uint32_t n) { return ctx.quick || n >= 256 ? 1 : 3; };
    peer::Config base = ctx.base;
    base.network.transport = peer::TransportKind::memory;
    base.storage.durability = peer::Durability::none;
    base.failure.probability = 0;
    base.duration = 0ns;
    // Every peer is a buyer (no trading: buyers find nothing to buy), as each row runs.
    const auto sized = [&](std::uint32_t n) {
        peer::Config c = base;
        c.peers = n;
        c.roles.assign(n, peer::Role::buyer);
        return c;
    };
    Csv csv(ctx, "election-scaling",
            "peers,round,elections,oks,coordinators,messages,n_minus_2,n_times_n_minus_1,"
            "virtual_ms",
            {"the whole market (no trading) on the in-memory network in virtual time, 100 us "
             "per message; the trader crashes and the heartbeat detector finds it; messages are "
             "those the live peers sent from the crash until all of them know the new trader",
             "config (peers vary): " + bench::describe(sized(sizes.front()))});
    std::size_t runs = 0;
    for (auto n : sizes) runs += static_cast<std::size_t>(rounds_for(n));
    Progress progress("election-scaling", runs);
    fmt::print(
        "| peers | Election | Ok | Coordinator | messages | n-2 | n(n-1) | virtual time "
        "|\n|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    constexpr auto k_election = 6, k_ok = 7, k_coordinator = 8;
    static_assert(
        std::is_same_v<std::variant_alternative_t<k_election, wire::Body>, wire::Election>);
    static_assert(std::is_same_v<std::variant_alternative_t<k_ok, wire::Body>, wire::Ok>);
    static_assert(
        std::is_same_v<std::variant_alternative_t<k_coordinator, wire::Body>, wire::Coordinator>);
    bool ok = true;
    for (auto n : sizes) {
        const peer::Config c = sized(n);
        runtime::Runtime rt(runtime::Mode::virtual_time);
        peer::LocalMarket m(c, rt, true);
        m.memory_network()->set_faults([] {
            transport::LinkFaults f;
            f.delay.fixed = 100us;
            return f;
        }());
        m.start();
        // Every live peer knows the trader (the crashed one is down until the next round).
        auto settled = [&] { return all_follow_the_trader(m, false); };
        auto sent = [&](int kind, std::optional<peer::PeerId> except) {
            std::uint64_t total = 0;
            for (auto id : m.peers()) {
                auto* node = m.node(id);
                if (node && id != except) total += node->counters().sent_by_kind[kind];
            }
            return total;
        };
        for (int round = 0; round < rounds_for(n); ++round) {
            progress.next(fmt::format("{} peers, round {}", n, round + 1));
            if (!run_until(rt, 60s, settled)) {
                fmt::print(stderr, "election-scaling: {} peers did not settle\n", n);
                ok = false;
                break;
            }
            rt.run_for(Duration(
                std::chrono::microseconds(17'000 * static_cast<std::int64_t>(round + 1) % 50'000)));
            const auto old = *m.trader();
            const auto e0 = sent(k_election, old), o0 = sent(k_ok, old),
                       c0 = sent(k_coordinator, old);
            const TimePoint at = rt.now();
            m.crash(old, 10s);
            if (!run_until(rt, 60s,
                           [&] { return m.trader() && *m.trader() != old && settled(); })) {
                fmt::print(stderr, "election-scaling: no new trader with {} peers\n", n);
                ok = false;
                break;
            }
            const double vt = bench::to_ms(rt.now() - at);
            const auto e = sent(k_election, old) - e0, o = sent(k_ok, old) - o0,
                       co = sent(k_coordinator, old) - c0;
            const std::uint64_t nn = n;
            csv.row(n, round + 1, e, o, co, e + o + co, nn - 2, nn * (nn - 1), ms(vt));
            progress.print(fmt::format("| {} | {} | {} | {} | {} | {} | {} | {:.1f} ms |", n, e, o,
                                       co, e + o + co, nn - 2, nn * (nn - 1), vt));
            // The old trader comes back (defer: it follows) before the next round.
            m.restart(old);
        }
        m.request_stop();
        run_to_end(rt, m);
    }
    csv.flush();
    bench::plot(ctx, "election-scaling", csv.path());
    return ok ? 0 : 1;
}

// ---- The command -----------------------------------------------------------------------------

struct Experiment {
    const char* name;
    const char* what;
    int (*run)(const Context&);
};

constexpr Experiment experiments[] = {
    {"e1", "the seed's E1: average buyer round trip with and without elections", e1},
    {"e2", "the seed's E2: every request's response time over time, with failovers", e2},
    {"throughput",
     "buys/s with 1..64 concurrent buyers, udp and memory, every durability, shared and quorum",
     bench::throughput},
    {"latency", "round trip p50/p99/p99.9 of one buyer next to raw UDP ping-pong", latency},
    {"failover",
     "unavailability per trader crash, shared and quorum (disk kept or lost), and lost or "
     "duplicated transactions",
     bench::failover},
    {"election-scaling", "messages and virtual time per election for 6..1024 peers",
     election_scaling},
    {"churn", "round trip p50/p99 while 0, 1 and 10 peers join and as many leave per second",
     bench::churn},
};

struct BenchFlags {
    std::vector<std::string> names;
    std::string out = "bench-results";
    std::string config;
    std::uint64_t seed = 1;
    std::string plots;
    bool quick = false;
    std::uint32_t repeat = 0;  // 0: 3, or 1 with --quick
    bool no_plot = false;
    bool list = false;
};

}  // namespace

std::string default_plots_dir() {
    const auto dir = find_plot_dir();
    return dir.empty() ? std::string("tools/plot") : dir.string();
}

Runner add_bench_command(CLI::App& app) {
    auto flags = std::make_shared<BenchFlags>();
    auto* cmd = app.add_subcommand(
        "bench", "Run experiments: e1, e2, throughput, latency, failover, election-scaling, churn, all");
    std::vector<std::string> names = {"all"};
    for (const auto& e : experiments) names.emplace_back(e.name);
    cmd->add_option("experiment", flags->names, "Which experiments (all: every one)")
        ->check(CLI::IsMember(names));
    cmd->add_option("--out", flags->out, "Directory for the CSV files and plots")
        ->capture_default_str();
    cmd->add_option("--config", flags->config, "Base configuration (TOML); experiments vary it")
        ->check(CLI::ExistingFile);
    cmd->add_option("--seed", flags->seed, "Seed of every random choice")->capture_default_str();
    cmd->add_option("--plots", flags->plots,
                    "Directory of the gnuplot scripts (default: " + default_plots_dir() + ")");
    cmd->add_flag("--quick", flags->quick, "Fewer, shorter runs (a smoke test, not a measurement)");
    cmd->add_option("--repeat", flags->repeat,
                    "Runs of each real-time measurement (e1, e2, latency, throughput, failover "
                    "over UDP): the median run is reported, with min and max (default 3; 1 "
                    "with --quick)")
        ->check(CLI::Range(1, 100));
    cmd->add_flag("--no-plot", flags->no_plot, "Write the CSV files only");
    cmd->add_flag("--list", flags->list, "List the experiments");
    return [flags]() -> int {
        if (flags->list || flags->names.empty()) {
            if (!flags->list) fmt::print(stderr, "trading-post bench: name an experiment:\n");
            for (const auto& e : experiments)
                fmt::print(flags->list ? stdout : stderr, "  {:<17} {}\n", e.name, e.what);
            return flags->list ? exit_ok : exit_bad_input;
        }
        if (flags->no_plot && !flags->plots.empty()) {
            fmt::print(stderr, "trading-post bench: --plots does not apply with --no-plot\n");
            return exit_bad_input;
        }
        Context ctx;
        ctx.base = flags->config.empty() ? peer::Config{} : peer::load_config(flags->config);
        // The experiments keep the original lab's pace between a buyer's requests (the default
        // is slower, for the story of `run`), unless a configuration file says otherwise.
        if (flags->config.empty()) ctx.base.behaviour.think_time = std::chrono::milliseconds(20);
        ctx.base.seed = flags->seed;
        ctx.base.storage.state_dir.clear();  // a fresh directory per run
        ctx.out = flags->out;
        ctx.plots = flags->plots.empty() ? default_plots_dir() : flags->plots;
        ctx.quick = flags->quick;
        ctx.repeat = flags->repeat != 0 ? flags->repeat : (flags->quick ? 1 : 3);
        ctx.plot = !flags->no_plot;
        ctx.command = "trading-post bench";
        for (const auto& n : flags->names) ctx.command += " " + n;
        ctx.command += " --seed " + std::to_string(flags->seed);
        if (!flags->config.empty()) ctx.command += " --config " + flags->config;
        if (flags->quick) ctx.command += " --quick";
        if (flags->repeat != 0) ctx.command += " --repeat " + std::to_string(flags->repeat);
        std::filesystem::create_directories(ctx.out);
        peer::configure_logging({spdlog::level::err, true});

        fmt::print("trading-post bench, {}\nmachine: {}\n", ctx.command, bench::describe_machine());
        int status = 0;
        const bool all =
            std::find(flags->names.begin(), flags->names.end(), "all") != flags->names.end();
        for (const auto& e : experiments) {
            if (!all &&
                std::find(flags->names.begin(), flags->names.end(), e.name) == flags->names.end())
                continue;
            fmt::print("\n## {}: {}\n\n", e.name, e.what);
            std::fflush(stdout);
            const auto start = std::chrono::steady_clock::now();
            const int s = e.run(ctx);
            fmt::print(
                "\n{} took {:.1f} s; results in {}\n", e.name,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
                (ctx.out / (std::string(e.name) + ".csv")).string());
            status = std::max(status, s);
        }
        return status;
    };
}

}  // namespace tp::app
