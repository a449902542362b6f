// trading-post sim: the whole market of one seed (or of many) in deterministic simulation, with
// faults, the invariant checker, and trace export.
#include <fmt/core.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include "commands.hpp"
#include "report.hpp"
#include "summary_text.hpp"
#include "tp/peer/config.hpp"
#include "tp/peer/log.hpp"
#include "tp/sim/export.hpp"
#include "tp/sim/simulation.hpp"

namespace tp::app {

namespace {

struct SimFlags {
    std::optional<std::uint64_t> seed;
    std::string seeds;
    std::uint32_t peers = 6;
    std::uint32_t replicas = tp::peer::Config::Replication::default_replicas;
    bool promote = false;
    std::uint64_t snapshot_every = tp::peer::Config::Storage::default_snapshot_every;
    std::string duration;
    std::string liveness_bound;
    std::uint64_t instant_limit = sim::Options{}.instant_limit;
    std::string faults = "swarm";
    unsigned jobs = 0;
    bool check_determinism = false;
    std::string shiviz;
    std::string svg;
    std::string window;
    std::string report;
    std::string log_level = "off";
    bool verbose = false;
};

// A bad flag value: reported with exit status 2.
struct UsageError : std::invalid_argument {
    using std::invalid_argument::invalid_argument;
};

std::uint64_t parse_seed(const std::string& text, const std::string& where) {
    std::size_t used = 0;
    std::uint64_t value = 0;
    try {
        if (text.empty() || text[0] == '-' || text[0] == '+') throw std::invalid_argument("sign");
        value = std::stoull(text, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used == 0 || used != text.size()) {
        throw UsageError(fmt::format("{}: '{}' is not a seed (an unsigned integer)", where, text));
    }
    return value;
}

std::pair<std::string, std::string> split_range(const std::string& text, const char* flag,
                                                const char* example) {
    const auto dots = text.find("..");
    if (dots == std::string::npos) {
        throw UsageError(fmt::format("{} '{}': expected FROM..TO, e.g. {}", flag, text, example));
    }
    return {text.substr(0, dots), text.substr(dots + 2)};
}

runtime::Duration parse_duration_flag(const std::string& text, const char* flag) {
    try {
        return peer::parse_duration(text);
    } catch (const std::invalid_argument& e) {
        throw UsageError(fmt::format("{} '{}': {}", flag, text, e.what()));
    }
}

sim::Options make_options(const SimFlags& f) {
    sim::Options o;
    o.peers = f.peers;
    o.replicas = f.replicas;
    o.promote = f.promote;
    o.snapshot_every = f.snapshot_every;
    if (!f.duration.empty()) o.duration = parse_duration_flag(f.duration, "--duration");
    if (o.duration <= runtime::Duration::zero()) throw UsageError("--duration: must be positive");
    if (!f.liveness_bound.empty())
        o.liveness_bound = parse_duration_flag(f.liveness_bound, "--liveness-bound");
    if (o.liveness_bound <= runtime::Duration::zero())
        throw UsageError("--liveness-bound: must be positive");
    o.instant_limit = f.instant_limit;
    try {
        o.faults = sim::FaultSpec::parse(f.faults);
    } catch (const std::invalid_argument& e) {
        throw UsageError(e.what());
    }
    return o;
}

std::string hex(std::uint64_t h) {
    return fmt::format("{:016x}", h);
}

void print_result(const sim::Result& r, bool verbose) {
    const auto& o = r.options;
    fmt::print("seed {}: {} peers, {} of faults then {} calm", o.seed, o.peers,
               peer::format_duration(o.duration), peer::format_duration(o.liveness_bound));
    if (r.quiet > r.started + o.duration) {
        fmt::print(" from {}, when the last crashed peer was back",
                   sim::format_duration(r.quiet - r.started));
    }
    fmt::print("\n");
    fmt::print("  faults      {}\n", r.plan.describe());
    fmt::print(
        "  simulation  {} crashes ({} disks lost), {} partitions, {} pauses, {} hostile "
        "datagrams, {} outsider datagrams, {} outcomes confirmed, {} checks, {} trace events, "
        "ended at {}, trace hash {}\n",
        r.crashes, r.disks_lost, r.partitions, r.pauses, r.hostile, r.outsider, r.confirmed, r.checks,
        r.trace_events, sim::format_duration(r.ended.time_since_epoch()), hex(r.trace_hash));
    if (verbose) tp::app::print(std::cout, r.summary);
    if (r.ok()) {
        fmt::print(
            "  checks      OK: clocks, epochs, books, once, durable, fair, liveness, end of "
            "run\n");
    } else {
        fmt::print("  checks      FAILED ({} violations):\n", r.violations.size());
        const std::size_t shown =
            verbose ? r.violations.size() : std::min<std::size_t>(10, r.violations.size());
        for (std::size_t i = 0; i < shown; ++i) fmt::print("    - {}\n", r.violations[i]);
        if (shown < r.violations.size())
            fmt::print("    ... {} more (--verbose shows all)\n", r.violations.size() - shown);
        fmt::print("  reproduce   {}\n", sim::repro_command(o));
    }
}

// --window, checked before anything runs (a bad range must not cost a whole simulation).
sim::Window parse_window(const SimFlags& f) {
    sim::Window window;
    if (f.window.empty()) return window;
    if (f.shiviz.empty() && f.svg.empty() && f.report.empty())
        throw UsageError("--window applies only to an export: add --shiviz, --svg or --report");
    auto [from, to] = split_range(f.window, "--window", "1s..1.2s");
    window.from = sim::TimePoint(parse_duration_flag(from, "--window"));
    window.to = sim::TimePoint(parse_duration_flag(to, "--window"));
    if (window.to < window.from)
        throw UsageError(fmt::format("--window '{}': FROM is after TO", f.window));
    return window;
}

// The per-run report of one simulation (--report DIR).
void write_sim_report(const SimFlags& f, const sim::Result& r, const sim::Window& window) {
    report::Input in;
    in.command = sim::repro_command(r.options);
    in.summary = r.summary;
    std::ostringstream text;
    tp::app::print(text, r.summary);
    in.summary_text = text.str();
    in.peers = r.options.peers;
    in.requests = report::requests_of(r.purchases, r.started);
    in.events = r.events;
    for (auto& e : in.events) e.time = sim::TimePoint(e.time - r.started);
    in.markers = report::markers_of(in.events);
    in.facts = {
        {"faults", r.plan.describe()},
        {"simulation", fmt::format("{} crashes, {} partitions, {} pauses, {} hostile datagrams, "
                                   "trace hash {}",
                                   r.crashes, r.partitions, r.pauses, r.hostile,
                                   hex(r.trace_hash))},
        {"checker", r.ok() ? std::string("OK: clocks, epochs, books, once, durable, fair, "
                                         "liveness, end of run")
                           : fmt::format("FAILED, {} violations; the first: {}",
                                         r.violations.size(), r.violations.front())},
    };
    if (!f.window.empty()) in.window = window;
    for (const auto& line : report::write(f.report, in)) fmt::print("{}\n", line);
}

// One seed, maybe twice (determinism), maybe exported. Returns the exit status.
int run_one(const SimFlags& f, sim::Options o, const sim::Window& window) {
    const bool exporting = !f.shiviz.empty() || !f.svg.empty() || !f.report.empty();
    o.record = exporting;
    const sim::Result r = sim::run(o);
    print_result(r, f.verbose);
    int status = r.ok() ? 0 : 1;
    if (f.check_determinism) {
        const sim::Result again = sim::run(o);
        if (again.trace_hash == r.trace_hash) {
            fmt::print("  determinism OK: the same trace hash {} twice\n", hex(r.trace_hash));
        } else {
            fmt::print("  determinism FAILED: trace hash {} then {}\n", hex(r.trace_hash),
                       hex(again.trace_hash));
            status = 1;
        }
    }
    if (!f.report.empty()) write_sim_report(f, r, window);
    if (exporting) {
        if (!f.shiviz.empty()) {
            std::ofstream out(f.shiviz);
            if (!out) throw std::runtime_error("cannot write " + f.shiviz);
            sim::write_shiviz(out, r.events, window);
            fmt::print("  shiviz      {}\n", f.shiviz);
        }
        if (!f.svg.empty()) {
            std::ofstream out(f.svg);
            if (!out) throw std::runtime_error("cannot write " + f.svg);
            sim::write_svg(out, r.events, o.peers, window,
                           fmt::format("{}: {}", sim::repro_command(o), r.plan.describe()));
            fmt::print("  diagram     {}\n", f.svg);
        }
    }
    return status;
}

struct Child {
    pid_t pid = -1;
    int fd = -1;
    std::uint64_t seed = 0;
};

// Many seeds, each in a forked process (a crash of one is a failure of that seed, not of the
// sweep), `jobs` at a time. Prints the failing seeds with their reproducing commands.
int run_many(const SimFlags& f, const sim::Options& base, std::uint64_t first, std::uint64_t last) {
    unsigned jobs = f.jobs != 0 ? f.jobs : std::max(1u, std::thread::hardware_concurrency());
    const std::uint64_t total = last - first + 1;
    const bool bar = ::isatty(STDERR_FILENO) != 0;
    const auto started = std::chrono::steady_clock::now();
    std::vector<Child> running;
    std::vector<std::pair<std::uint64_t, std::string>> failures;
    std::uint64_t next = first, done = 0;
    std::fflush(stdout);

    auto progress = [&] {
        if (!bar) return;
        const double secs =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        const int width = 30;
        const int filled =
            static_cast<int>(static_cast<double>(done) / static_cast<double>(total) * width);
        fmt::print(stderr, "\r[{}{}] {}/{} seeds, {} failed, {:.1f} seeds/s ",
                   std::string(static_cast<std::size_t>(filled), '#'),
                   std::string(static_cast<std::size_t>(width - filled), '.'), done, total,
                   failures.size(), secs > 0 ? static_cast<double>(done) / secs : 0.0);
    };
    progress();
    while (next <= last || !running.empty()) {
        while (next <= last && running.size() < jobs) {
            int fds[2];
            if (::pipe(fds) != 0) throw std::runtime_error("pipe failed");
            const std::uint64_t seed = next++;
            const pid_t pid = ::fork();
            if (pid < 0) throw std::runtime_error("fork failed");
            if (pid == 0) {
                ::close(fds[0]);
                sim::Options o = base;
                o.seed = seed;
                std::string line;
                int status = 0;
                try {
                    const sim::Result r = sim::run(o);
                    if (!r.ok()) {
                        line = r.violations.front();
                        status = 1;
                    } else if (f.check_determinism && sim::run(o).trace_hash != r.trace_hash) {
                        line = "determinism: the trace hash differs between two runs";
                        status = 1;
                    }
                } catch (const std::exception& e) {
                    line = std::string("exception: ") + e.what();
                    status = 1;
                }
                if (line.size() > 400) line = line.substr(0, 400) + "...";
                if (!line.empty() && ::write(fds[1], line.data(), line.size()) < 0) status = 3;
                ::_exit(status);
            }
            ::close(fds[1]);
            running.push_back(Child{pid, fds[0], seed});
        }
        int status = 0;
        const pid_t pid = ::wait(&status);
        if (pid < 0) break;
        for (auto it = running.begin(); it != running.end(); ++it) {
            if (it->pid != pid) continue;
            std::string text;
            char buffer[512];
            for (ssize_t n; (n = ::read(it->fd, buffer, sizeof buffer)) > 0;)
                text.append(buffer, static_cast<std::size_t>(n));
            ::close(it->fd);
            const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
            if (!ok) {
                if (text.empty()) {
                    text = WIFSIGNALED(status)
                               ? fmt::format("killed by signal {}", WTERMSIG(status))
                               : fmt::format("exit status {}", WEXITSTATUS(status));
                }
                failures.emplace_back(it->seed, text);
            }
            running.erase(it);
            ++done;
            break;
        }
        progress();
    }
    if (bar) fmt::print(stderr, "\n");
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::sort(failures.begin(), failures.end());
    fmt::print("{} seeds ({}..{}), {} failed, {:.1f} s ({:.1f} seeds/s on {} jobs), faults {}\n",
               total, first, last, failures.size(), secs, static_cast<double>(total) / secs, jobs,
               base.faults.to_string());
    for (const auto& [seed, text] : failures) {
        sim::Options o = base;
        o.seed = seed;
        fmt::print("  seed {}: {}\n    reproduce: {}{}\n", seed, text, sim::repro_command(o),
                   f.check_determinism ? " --check-determinism" : "");
    }
    return failures.empty() ? 0 : 1;
}

}  // namespace

Runner add_sim_command(CLI::App& app) {
    auto flags = std::make_shared<SimFlags>();
    auto* cmd = app.add_subcommand(
        "sim",
        "Deterministic simulation of the whole market with faults and the invariant checker");
    auto* seed = cmd->add_option("--seed", flags->seed, "The seed of one run");
    auto* seeds = cmd->add_option("--seeds", flags->seeds,
                                  "Many runs, seeds FROM..TO (inclusive), in parallel processes");
    seed->excludes(seeds);
    cmd->add_option("--peers", flags->peers, "Number of peers")->check(CLI::Range(2, 64));
    cmd->add_option("--replicas", flags->replicas,
                    "How many peers keep a replica of the trader's log: the highest ids (default "
                    "7; every peer when there are fewer); the others are customers")
        ->check(CLI::Range(1u, tp::peer::Config::Replication::max_replicas));
    cmd->add_flag("--promote", flags->promote,
                  "The trader keeps the replica set at --replicas, adding customers (newcomers, "
                  "with --faults churn) once their copies of the log have caught up");
    cmd->add_option("--snapshot-every", flags->snapshot_every,
                    "Records between snapshots of the books (default 10000; small values make "
                    "every run compact its logs and install snapshots)")
        ->check(CLI::Range(std::uint64_t{1}, tp::peer::Config::Storage::max_snapshot_every));
    cmd->add_option("--duration", flags->duration, "How long faults are injected (default 2s)");
    cmd->add_option("--liveness-bound", flags->liveness_bound,
                    "After the faults stop, every request is answered within this (default 3s)");
    cmd->add_option("--instant-limit", flags->instant_limit,
                    "Handlers at one virtual instant beyond which the run fails as a livelock "
                    "(default 2000000; 0: no bound)")
        ->check(CLI::NonNegativeNumber);
    cmd->add_option("--faults", flags->faults,
                    "swarm (the seed picks), none, all, or a list: "
                    "drop,duplicate,delay,reorder,partition,crash,pause,hostile,outsider,disk_loss,churn,set_split");
    cmd->add_option("--jobs,-j", flags->jobs, "Processes at a time for --seeds (default: cores)");
    cmd->add_flag("--check-determinism", flags->check_determinism,
                  "Run each seed twice and compare the trace hashes");
    cmd->add_option("--shiviz", flags->shiviz, "Write a ShiViz log of the run to this file");
    cmd->add_option("--svg", flags->svg,
                    "Write a space-time diagram (SVG) of the run to this file");
    cmd->add_option("--window", flags->window,
                    "Export only this window of virtual time, FROM..TO (e.g. 1s..1.2s); with "
                    "--report, the diagram's window (default: around the first failure)");
    cmd->add_option("--report", flags->report,
                    "Write a report of the run to this folder: index.html (open it in a "
                    "browser), the summary as text and JSON, plots, the messages per kind, a "
                    "ShiViz log and a space-time diagram around the first failure");
    cmd->add_option("--log-level", flags->log_level, "The peers' log: trace ... off (default off)")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
    cmd->add_flag("--verbose,-v", flags->verbose, "The market summary and every violation");

    return [flags] {
        const SimFlags& f = *flags;
        try {
            sim::Options base = make_options(f);
            const sim::Window window = parse_window(f);
            if (f.jobs != 0 && f.seeds.empty())
                throw UsageError("--jobs applies only to many runs: add --seeds FROM..TO");
            peer::configure_logging({peer::parse_log_level(f.log_level), false});
            if (!f.seeds.empty()) {
                if (!f.shiviz.empty() || !f.svg.empty() || !f.report.empty())
                    throw UsageError("--shiviz, --svg and --report export one run: use --seed");
                auto [a, b] = split_range(f.seeds, "--seeds", "1..1000");
                const std::uint64_t first = parse_seed(a, "--seeds (FROM)");
                const std::uint64_t last = parse_seed(b, "--seeds (TO)");
                if (first > last)
                    throw UsageError(
                        fmt::format("--seeds '{}': FROM {} is after TO {}", f.seeds, first, last));
                return run_many(f, base, first, last);
            }
            base.seed = f.seed.value_or(1);
            return run_one(f, base, window);
        } catch (const UsageError& e) {
            fmt::print(stderr, "trading-post sim: {}\n", e.what());
            return 2;
        }
    };
}

}  // namespace tp::app
