// trading-post: runs the market (all peers in one process, or one peer per process).
#include <fmt/core.h>
#include <CLI/CLI.hpp>
#include <asio/signal_set.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "commands.hpp"
#include "peer_process.hpp"
#include "report.hpp"
#include "summary_text.hpp"
#include "tp/auth/key.hpp"
#include "tp/journal/log.hpp"
#include "tp/market/books.hpp"
#include "tp/peer/books.hpp"
#include "tp/peer/config.hpp"
#include "tp/peer/local_market.hpp"
#include "tp/peer/log.hpp"
#include "tp/peer/node.hpp"
#include "tp/peer/peer_state.hpp"
#include "tp/runtime/runtime.hpp"
#include "tp/runtime/timer.hpp"
#include "tp/sim/recorder.hpp"
#include "tp/sim/simulation.hpp"
#include "tp/transport/udp_transport.hpp"

namespace {

constexpr const char* version = TP_VERSION;

// Flags shared by the subcommands that run peers; each overrides the config file's key.
struct Overrides {
    std::string config;
    std::optional<std::uint32_t> peers;
    std::optional<std::string> transport;
    std::optional<std::string> duration;
    std::optional<std::uint64_t> seed;
    std::optional<std::string> state_dir;
    std::optional<std::string> durability;
    std::optional<std::string> replication;
    std::optional<std::uint32_t> replicas;
    bool promote = false;
    std::optional<std::string> policy;
    std::optional<double> failure_probability;
    std::optional<double> join_rate;
    std::optional<double> leave_rate;
    std::optional<std::uint32_t> max_transactions;
    std::optional<std::string> security;
    std::optional<std::string> key_file;
    std::string log_level = "info";
    bool quiet = false;
    std::string report;  // run only: the per-run report's folder
    // run only, virtual time: handlers at one instant beyond which the run stops as a livelock.
    std::uint64_t instant_limit = tp::sim::Options{}.instant_limit;
};

// The names an option accepts, from the owning module's one table of them.
template <typename E, std::size_t N>
std::vector<std::string> names_of(const std::pair<const char*, E> (&table)[N]) {
    std::vector<std::string> names;
    for (const auto& entry : table) names.emplace_back(entry.first);
    return names;
}

void add_run_flags(CLI::App* cmd, Overrides& o) {
    cmd->add_option("--config", o.config, "TOML configuration file (docs/config.example.toml)")
        ->check(CLI::ExistingFile);
    cmd->add_option("--peers", o.peers, "Number of peers")->check(CLI::Range(2, 1024));
    cmd->add_option("--transport", o.transport,
                    "udp or tcp (real time: a run cannot be repeated exactly), or memory "
                    "(virtual time: the same --seed gives the same run)")
        ->check(CLI::IsMember(names_of(tp::transport::transport_kind_names)));
    cmd->add_option("--duration", o.duration,
                    "Stop after this long (\"30s\"); default: when every buyer is done");
    cmd->add_option("--seed", o.seed, "Seed of every random choice (0: pick one and print it)");
    cmd->add_option("--state-dir", o.state_dir,
                    "Durable state: each peer's own directory under it in quorum mode (or a "
                    "template naming {id}), the trader's shared journal in shared mode");
    cmd->add_option("--durability", o.durability,
                    "every, group or none (none: the journal is written but never synced, so "
                    "confirmed sales are not durable: a power failure or OS crash can lose them)")
        ->check(CLI::IsMember(names_of(tp::journal::durability_names)));
    cmd->add_option("--replication", o.replication,
                    "quorum (each peer of the replica set, see --replicas, keeps a replica of the "
                    "trader's log; a record is confirmed once a majority of them holds it, so "
                    "the trader's disk may be lost) or "
                    "shared (the original lab's design: the peers share the trader's journal in "
                    "--state-dir)")
        ->check(CLI::IsMember({"quorum", "shared"}));
    cmd->add_option("--replicas", o.replicas,
                    "Quorum mode: how many peers keep a replica of the trader's log, the highest "
                    "ids (default 7; every peer when there are fewer); the others are customers "
                    "that trade but never lead")
        ->check(CLI::Range(1u, tp::peer::Config::Replication::max_replicas));
    cmd->add_flag("--promote", o.promote,
                  "Quorum mode: the trader keeps the replica set at --replicas as peers come and "
                  "go, adding the highest customer once its copy of the log has caught up");
    cmd->add_option("--policy", o.policy, "Recovered trader: defer or bully")
        ->check(CLI::IsMember(names_of(tp::election::recovery_policy_names)));
    cmd->add_option("--failure-probability", o.failure_probability,
                    "The original lab's failure schedule: the trader fails in each time quantum "
                    "with this chance (0: never). Default: the story schedule, the first trader "
                    "fails once, after a third of the buyers' requests, and comes back after the "
                    "recovery delay as a buyer or seller")
        ->check(CLI::Range(0.0, 1.0));
    cmd->add_option("--max-transactions", o.max_transactions, "Requests per buyer");
    cmd->add_option("--join-rate", o.join_rate,
                    "run: newcomers per second joining the running market (a Poisson process; "
                    "each joins through a live member as a buyer or a seller)")
        ->check(CLI::Range(0.0, tp::peer::Config::Churn::max_rate));
    cmd->add_option("--leave-rate", o.leave_rate,
                    "run: graceful leaves per second, each of a newcomer that joined (the "
                    "founders stay: they hold the replica set), its unsold lots withdrawn")
        ->check(CLI::Range(0.0, tp::peer::Config::Churn::max_rate));
    cmd->add_option("--security", o.security,
                    "on (every datagram authenticated with the members' key) or off (the "
                    "original lab's plain UDP: anyone who can reach the ports can act as any peer)")
        ->check(CLI::IsMember({"on", "off"}));
    cmd->add_option("--key-file", o.key_file,
                    "The members' shared key (make one with `trading-post keygen FILE`); `run` "
                    "makes one for the run when none is given");
    cmd->add_option("--log-level", o.log_level, "trace, debug, info, warn, error or off")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
    cmd->add_flag("--quiet,-q", o.quiet, "Only warnings, errors and the summary");
}

tp::peer::Config make_config(const Overrides& o) {
    using namespace tp::peer;
    Config c = o.config.empty() ? Config{} : load_config(o.config);
    if (o.peers) {
        c.peers = *o.peers;
        if (c.roles.size() != c.peers) c.roles.clear();
    }
    if (o.transport) c.network.transport = parse_transport_kind(*o.transport);
    if (o.duration) {
        try {
            c.duration = parse_duration(*o.duration);
        } catch (const std::invalid_argument& e) {
            throw ConfigError(std::string("--duration: ") + e.what());
        }
    }
    if (o.seed) c.seed = *o.seed;
    if (o.state_dir) c.storage.state_dir = *o.state_dir;
    if (o.durability) c.storage.durability = parse_durability(*o.durability);
    if (o.replication) {
        c.replication.mode =
            *o.replication == "quorum" ? ReplicationMode::quorum : ReplicationMode::shared;
    }
    if (o.replicas) c.replication.replicas = *o.replicas;
    if (o.promote) c.replication.promote = true;
    if (o.policy) c.failure.policy = parse_recovery_policy(*o.policy);
    if (o.failure_probability) c.failure.probability = *o.failure_probability;
    if (o.max_transactions) c.behaviour.max_transactions = *o.max_transactions;
    if (o.join_rate) c.churn.join_rate = *o.join_rate;
    if (o.leave_rate) c.churn.leave_rate = *o.leave_rate;
    if (o.security) c.security.mode = *o.security == "on" ? SecurityMode::on : SecurityMode::off;
    if (o.key_file) c.security.key_file = *o.key_file;
    if (c.seed == 0) c.seed = std::random_device{}() | 1u;
    validate(c, o.config.empty() ? "command line" : o.config);
    return c;
}

// Said once at start, on stderr, whatever the log level.
void warn_if_unauthenticated(const tp::peer::Config& config) {
    if (config.security.mode == tp::peer::SecurityMode::on) return;
    fmt::print(stderr,
               "trading-post: warning: security.mode is off: datagrams are not authenticated, so "
               "anyone who can send UDP to these ports can act as any peer, trader included "
               "(meant for the original lab's plain experiments only)\n");
}

// "trading-post run --seed S ...": the flags that repeat this run (a --config file aside).
std::string run_command(const Overrides& o, const tp::peer::Config& c) {
    std::string cmd = fmt::format("trading-post run --seed {} --transport {}", c.seed,
                                  tp::peer::to_string(c.network.transport));
    if (!o.config.empty()) cmd += " --config " + o.config;
    if (o.peers) cmd += fmt::format(" --peers {}", c.peers);
    if (o.max_transactions) cmd += fmt::format(" --max-transactions {}", *o.max_transactions);
    if (o.failure_probability)
        cmd += fmt::format(" --failure-probability {}", *o.failure_probability);
    if (o.policy) cmd += " --policy " + *o.policy;
    if (o.durability) cmd += " --durability " + *o.durability;
    if (o.replication) cmd += " --replication " + *o.replication;
    if (o.replicas) cmd += fmt::format(" --replicas {}", *o.replicas);
    if (o.promote) cmd += " --promote";
    if (o.duration) cmd += " --duration " + *o.duration;
    if (o.join_rate) cmd += fmt::format(" --join-rate {}", *o.join_rate);
    if (o.leave_rate) cmd += fmt::format(" --leave-rate {}", *o.leave_rate);
    if (o.security) cmd += " --security " + *o.security;
    return cmd;
}

// The per-run report of a finished market (--report DIR).
void write_run_report(const Overrides& o, const tp::peer::Config& config,
                      tp::peer::LocalMarket& market, const tp::peer::Summary& summary,
                      const std::string& summary_text, std::vector<tp::sim::Event> events) {
    namespace report = tp::app::report;
    report::Input in;
    in.command = run_command(o, config);
    in.summary = summary;
    in.summary_text = summary_text;
    in.peers = config.peers;
    in.requests = report::requests_of(market.purchases(), market.started());
    in.markers = report::markers_of(summary);
    // Failures and returns happen in the supervisor, not at a peer: added to the events here.
    for (const auto& f : summary.failures) {
        events.push_back({tp::sim::TimePoint(f.at),
                          tp::sim::Event::Kind::crash,
                          f.peer,
                          0,
                          f.was_trader ? "fails (it was the trader)" : "fails",
                          {},
                          0});
    }
    for (const auto& r : summary.returns) {
        events.push_back({tp::sim::TimePoint(r.at),
                          tp::sim::Event::Kind::restart,
                          r.peer,
                          0,
                          fmt::format("comes back as a {}", tp::peer::to_string(r.role)),
                          {},
                          0});
    }
    std::stable_sort(events.begin(), events.end(),
                     [](const auto& a, const auto& b) { return a.time < b.time; });
    in.events = std::move(events);
    for (const auto& line : report::write(o.report, in)) fmt::print("{}\n", line);
}

int run_market(const Overrides& o) {
    const tp::peer::Config config = make_config(o);
    tp::peer::configure_logging({tp::peer::parse_log_level(o.log_level), o.quiet});
    warn_if_unauthenticated(config);
    fmt::print("Trading Post {}: {} peers on {}, seed {} (repeat with --seed {})\n", version,
               config.peers, tp::peer::to_string(config.network.transport), config.seed,
               config.seed);
    std::fflush(stdout);

    // In memory the market runs on virtual time: one thread, every choice from the seed, so the
    // same --seed gives the same run. Over UDP the kernel and real time take part: no such promise.
    tp::runtime::Runtime runtime(config.network.transport == tp::peer::TransportKind::memory
                                     ? tp::runtime::Mode::virtual_time
                                     : tp::runtime::Mode::real_time);
    tp::peer::LocalMarket market(config, runtime);
    // For the report: every message, with times since the start.
    std::vector<tp::sim::Event> events;
    std::optional<tp::sim::Recorder> recorder;
    if (!o.report.empty()) {
        recorder.emplace(runtime, nullptr, &events, runtime.now());
        market.context().observer = &*recorder;
    }
    asio::signal_set signals(runtime.context(), SIGINT, SIGTERM);
    signals.async_wait([&](const std::error_code& ec, int) {
        if (!ec) market.request_stop();
    });
    // The market says when it is done; nothing polls for it.
    market.on_done([&] {
        signals.cancel();
        runtime.stop();
    });
    // Virtual time moves on only when every peer waits on a timer: a buyer without think time on
    // a network without latency never does. Such a run is refused, never run for ever (the
    // simulator's bound, sim --instant-limit).
    if (runtime.mode() == tp::runtime::Mode::virtual_time) runtime.limit_instant(o.instant_limit);
    market.start();
    try {
        runtime.run();
    } catch (const tp::runtime::Livelock& e) {
        fmt::print(stderr,
                   "trading-post: run: {}: on the memory transport the market runs on virtual "
                   "time, which moves on only while every peer waits on a timer (a buyer with "
                   "think_time 0 never does); give the buyers a think_time, or run over udp\n",
                   e.what());
        market.request_stop();
        try {
            for (int i = 0; i < 1000 && !market.done(); ++i)
                runtime.run_until(runtime.now() + std::chrono::milliseconds(10));
        } catch (const tp::runtime::Livelock&) {
        }
        return tp::app::exit_failed;
    }
    const auto summary = market.summary();
    std::ostringstream text;
    tp::app::print(text, summary);
    std::cout << '\n' << text.str();
    std::cout.flush();
    if (!o.report.empty())
        write_run_report(o, config, market, summary, text.str(), std::move(events));
    return summary.ok() ? 0 : 1;
}

// One peer of a cluster, in this process (`trading-post peer --id N --config cluster.toml`).
// `--join HOST:PORT` and `--listen HOST:PORT` (issue 18): a newcomer, not in the cluster file.
struct JoinFlags {
    std::string join;
    std::string listen;
    std::string role = "both";
};

// "HOST:PORT" (an IPv6 host in brackets) as a parsed address and a port; throws ConfigError naming
// the flag.
std::pair<std::string, std::uint16_t> host_port(const std::string& flag, const std::string& text) {
    const auto colon = text.rfind(':');
    std::string host = colon == std::string::npos ? "" : text.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    unsigned long port = 0;
    try {
        if (colon != std::string::npos) port = std::stoul(text.substr(colon + 1));
    } catch (const std::exception&) {
    }
    if (host.empty() || port == 0 || port > 65535)
        throw tp::peer::ConfigError(fmt::format("peer: {} {}: expected HOST:PORT", flag, text));
    try {
        (void)tp::transport::parse_host(host);
    } catch (const std::invalid_argument& e) {
        throw tp::peer::ConfigError(fmt::format("peer: {} {}: {}", flag, text, e.what()));
    }
    return {host, static_cast<std::uint16_t>(port)};
}

int run_peer(const Overrides& o, std::uint32_t id, const JoinFlags& j) {
    using namespace tp;
    if (o.config.empty())
        throw peer::ConfigError("peer: --config with [[peer]] tables is required");
    const peer::Config config = make_config(o);
    peer::configure_logging({peer::parse_log_level(o.log_level), o.quiet});
    auto self = std::find_if(config.cluster.begin(), config.cluster.end(),
                             [&](const peer::PeerSpec& p) { return p.id == id; });
    std::optional<peer::PeerCoreOptions::Joining> join;
    peer::PeerSpec newcomer;
    if (!j.join.empty()) {
        if (self != config.cluster.end()) {
            throw peer::ConfigError(fmt::format(
                "peer: --join: peer {} is in {} (a founder): start it without --join", id,
                o.config));
        }
        const auto [host, port] = host_port("--join", j.join);
        const auto contact = std::find_if(
            config.cluster.begin(), config.cluster.end(), [&](const peer::PeerSpec& p) {
                return p.port == port && transport::parse_host(p.host) == transport::parse_host(host);
            });
        if (contact == config.cluster.end()) {
            throw peer::ConfigError(fmt::format(
                "peer: --join {}: no [[peer]] of {} listens there", j.join, o.config));
        }
        if (j.listen.empty() && config.network.base_port == 0) {
            throw peer::ConfigError(
                "peer: --join needs --listen HOST:PORT (network.base_port is 0, so there is no "
                "default port for peer " + std::to_string(id) + ")");
        }
        newcomer.id = id;
        std::tie(newcomer.host, newcomer.port) =
            j.listen.empty()
                ? std::pair{config.network.host,
                            static_cast<std::uint16_t>(config.network.base_port + id)}
                : host_port("--listen", j.listen);
        newcomer.role = j.role == "buyer"    ? peer::Role::buyer
                        : j.role == "seller" ? peer::Role::seller
                                             : peer::Role::both;
        join = peer::PeerCoreOptions::Joining{contact->id, newcomer.host, newcomer.port};
        self = config.cluster.end();
    } else if (self == config.cluster.end()) {
        throw peer::ConfigError(o.config + ": no [[peer]] with id " + std::to_string(id) +
                                " (a newcomer joins with --join HOST:PORT)");
    }
    if (config.network.transport == peer::TransportKind::memory) {
        throw peer::ConfigError(o.config +
                                ": transport = \"memory\" does not apply to a peer process (the "
                                "in-memory network lives inside one process): use \"udp\" or "
                                "\"tcp\"");
    }
    if (config.storage.state_dir.empty()) {
        throw peer::ConfigError(
            o.config + (config.replication.mode == peer::ReplicationMode::quorum
                            ? ": 'storage.state_dir' is required: each peer keeps its replica of "
                              "the trader's log there (a template such as \"state/peer-{id}\" "
                              "gives each its own)"
                            : ": 'storage.state_dir' is required: the peers share the trader's "
                              "journal there"));
    }
    std::optional<auth::Key> key;
    if (config.security.mode == peer::SecurityMode::on) {
        if (config.security.key_file.empty()) {
            throw peer::ConfigError(o.config +
                                    ": 'security.key_file' is required (every peer of the cluster "
                                    "reads the same key; make one with `trading-post keygen "
                                    "FILE`), or set security.mode = \"off\"");
        }
        key = auth::load_key(config.security.key_file);
    }
    warn_if_unauthenticated(config);
    return app::run_peer_process(config, join ? newcomer : *self, key ? &*key : nullptr, join);
}

// `peer` shares `run`'s flags, but some of them mean nothing to one process of a cluster.
void refuse_flags_peer_ignores(const CLI::App& cmd) {
    struct Ignored {
        const char* flag;
        const char* why;
    };
    for (const auto& [flag, why] : {
             Ignored{"--peers", "the cluster file's [[peer]] tables say how many peers there are"},
             Ignored{"--failure-probability",
                     "failures are injected by `run` only; stop a peer process to fail it"},
             Ignored{"--join-rate",
                     "churn is `run`'s; start a peer process with --join to add one"},
             Ignored{"--leave-rate", "churn is `run`'s; send a peer process SIGTERM to leave"},
         }) {
        if (cmd.count(flag) > 0)
            throw tp::peer::ConfigError(fmt::format("peer: {} does not apply: {}", flag, why));
    }
    if (cmd.count("--transport") > 0 &&
        cmd.get_option("--transport")->as<std::string>() == "memory")
        throw tp::peer::ConfigError(
            "peer: --transport memory does not apply: the in-memory network lives inside one "
            "process; a peer process talks udp or tcp to the addresses in the cluster file");
}

// Replays the durable books of a state directory and checks them. Read-only (journal::Log::read):
// no lock, no file created, cut or removed, so it may run beside a trader; a lost or damaged
// journal file ends it with one line and status 1.
}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"Trading Post: a peer-to-peer market with vector clocks and bully elections"};
    app.name("trading-post");
    app.set_version_flag("--version", fmt::format("trading-post {}", version));
    app.require_subcommand(1);

    Overrides run_flags;
    auto* run = app.add_subcommand("run", "Run a whole market in one process");
    add_run_flags(run, run_flags);
    run->add_option("--report", run_flags.report,
                    "Write a report of the run to this folder: index.html (open it in a browser), "
                    "the summary as text and JSON, plots, the messages per kind, a ShiViz log and "
                    "a space-time diagram around the first failover");
    run->add_option("--instant-limit", run_flags.instant_limit,
                    "On the memory transport (virtual time): handlers at one virtual instant "
                    "beyond which the run stops as a livelock (default 2000000; 0: no bound)")
        ->check(CLI::NonNegativeNumber);

    Overrides peer_flags;
    std::uint32_t peer_id = 0;
    auto* peer_cmd = app.add_subcommand(
        "peer", "Run one peer of a cluster in this process (the cluster file lists every peer)");
    add_run_flags(peer_cmd, peer_flags);
    // What a peer process takes from its cluster file, or never does (failures are injected by
    // `run` only): hidden from its --help, refused with a reason if given.
    for (const char* flag : {"--peers", "--failure-probability", "--join-rate", "--leave-rate"})
        peer_cmd->get_option(flag)->group("");
    peer_cmd->add_option("--id", peer_id, "This peer's id in the cluster file")->required();
    JoinFlags join_flags;
    peer_cmd->add_option("--join", join_flags.join,
                         "Join the running market through the member listening at HOST:PORT; "
                         "this peer is not in the cluster file (SIGTERM then leaves the market)");
    peer_cmd->add_option("--listen", join_flags.listen,
                         "With --join: where this peer listens, HOST:PORT (default: network.host "
                         "and network.base_port + id)");
    peer_cmd->add_option("--role", join_flags.role, "With --join: buyer, seller or both")
        ->check(CLI::IsMember({"buyer", "seller", "both"}));

    auto books = tp::app::add_books_command(app);

    std::string keygen_file;
    auto* keygen_cmd = app.add_subcommand(
        "keygen", "Make a new shared key for a cluster's members (security.key_file), mode 0600");
    keygen_cmd->add_option("FILE", keygen_file, "Where to write it (never overwritten)")
        ->required();

    const tp::app::Runner bench = tp::app::add_bench_command(app);
    const tp::app::Runner sim = tp::app::add_sim_command(app);

    // The same footer on every command's --help: the exit-status policy.
    app.footer(tp::app::exit_status_help);
    for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; }))
        sub->footer(tp::app::exit_status_help);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        // --help and --version are "errors" of status 0; CLI11's own codes (105-109 ...) for a
        // bad flag or value all mean bad input here.
        return app.exit(e) == 0 ? tp::app::exit_ok : tp::app::exit_bad_input;
    }

    try {
        if (peer_cmd->parsed()) refuse_flags_peer_ignores(*peer_cmd);
        if (run->parsed()) return run_market(run_flags);
        if (peer_cmd->parsed()) return run_peer(peer_flags, peer_id, join_flags);
        if (app.got_subcommand("books")) return books();
        if (keygen_cmd->parsed()) {
            tp::auth::save_key(keygen_file, tp::auth::Key::generate());
            fmt::print(
                "wrote a new key to {} (mode 0600): give every member of the cluster a "
                "copy, over a channel you trust\n",
                keygen_file);
            return tp::app::exit_ok;
        }
        if (app.got_subcommand("bench")) return bench();
        if (app.got_subcommand("sim")) return sim();
    } catch (const tp::peer::ConfigError& e) {
        fmt::print(stderr, "trading-post: {}\n", e.what());
        return tp::app::exit_bad_input;
    } catch (const tp::auth::KeyFileError& e) {
        fmt::print(stderr, "trading-post: {}\n", e.what());
        return tp::app::exit_bad_input;
    } catch (const std::exception& e) {
        fmt::print(stderr, "trading-post: {}\n", e.what());
        return tp::app::exit_failed;
    }
    return tp::app::exit_ok;
}
