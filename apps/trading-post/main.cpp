// trading-post: runs the market (all peers in one process, or one peer per process).
#include <CLI/CLI.hpp>
#include <asio/signal_set.hpp>
#include <fmt/core.h>

#include <cstdio>
#include <iostream>
#include <random>

#include "tp/peer/config.hpp"
#include "tp/peer/local_market.hpp"
#include "tp/peer/log.hpp"
#include "tp/runtime/runtime.hpp"

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
    std::optional<std::string> policy;
    std::optional<double> failure_probability;
    std::optional<std::uint32_t> max_transactions;
    std::string log_level = "info";
    bool quiet = false;
};

void add_run_flags(CLI::App* cmd, Overrides& o) {
    cmd->add_option("--config", o.config, "TOML configuration file (docs/config.example.toml)")
        ->check(CLI::ExistingFile);
    cmd->add_option("--peers", o.peers, "Number of peers")->check(CLI::Range(2, 1024));
    cmd->add_option("--transport", o.transport, "udp or memory")
        ->check(CLI::IsMember({"udp", "memory"}));
    cmd->add_option("--duration", o.duration,
                    "Stop after this long (\"30s\"); default: when every buyer is done");
    cmd->add_option("--seed", o.seed, "Seed of every random choice (0: pick one and print it)");
    cmd->add_option("--state-dir", o.state_dir, "Directory of the trader's journal");
    cmd->add_option("--durability", o.durability, "every, group or none")
        ->check(CLI::IsMember({"every", "group", "none"}));
    cmd->add_option("--policy", o.policy, "Recovered trader: defer or bully")
        ->check(CLI::IsMember({"defer", "bully"}));
    cmd->add_option("--failure-probability", o.failure_probability,
                    "Chance the trader fails in each time quantum")
        ->check(CLI::Range(0.0, 1.0));
    cmd->add_option("--max-transactions", o.max_transactions, "Requests per buyer");
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
    if (o.transport) c.network.transport = *o.transport == "udp" ? TransportKind::udp
                                                                  : TransportKind::memory;
    if (o.duration) {
        try {
            c.duration = parse_duration(*o.duration);
        } catch (const std::invalid_argument& e) {
            throw ConfigError(std::string("--duration: ") + e.what());
        }
    }
    if (o.seed) c.seed = *o.seed;
    if (o.state_dir) c.storage.state_dir = *o.state_dir;
    if (o.durability) {
        c.storage.durability = *o.durability == "every"   ? Durability::every
                               : *o.durability == "group" ? Durability::group
                                                          : Durability::none;
    }
    if (o.policy) c.failure.policy = *o.policy == "bully" ? RecoveryPolicy::bully
                                                          : RecoveryPolicy::defer;
    if (o.failure_probability) c.failure.probability = *o.failure_probability;
    if (o.max_transactions) c.behaviour.max_transactions = *o.max_transactions;
    if (c.seed == 0) c.seed = std::random_device{}() | 1u;
    validate(c, o.config.empty() ? "command line" : o.config);
    return c;
}

int run_market(const Overrides& o) {
    const tp::peer::Config config = make_config(o);
    tp::peer::configure_logging({tp::peer::parse_log_level(o.log_level), o.quiet});
    fmt::print("Trading Post {}: {} peers on {}, seed {} (repeat with --seed {})\n", version,
               config.peers, tp::peer::to_string(config.network.transport), config.seed,
               config.seed);
    std::fflush(stdout);

    tp::runtime::Runtime runtime(tp::runtime::Mode::real_time);
    tp::peer::LocalMarket market(config, runtime);
    asio::signal_set signals(runtime.context(), SIGINT, SIGTERM);
    signals.async_wait([&](const std::error_code& ec, int) {
        if (!ec) market.request_stop();
    });
    market.start();
    while (!market.done()) {
        runtime.run_for(std::chrono::milliseconds(100));
        if (market.done()) break;
    }
    signals.cancel();
    const auto summary = market.summary();
    std::cout << '\n';
    tp::peer::print(std::cout, summary);
    return summary.ok() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"Trading Post: a peer-to-peer market with vector clocks and bully elections"};
    app.name("trading-post");
    app.set_version_flag("--version", fmt::format("trading-post {}", version));
    app.require_subcommand(1);

    Overrides run_flags;
    auto* run = app.add_subcommand("run", "Run a whole market in one process");
    add_run_flags(run, run_flags);

    CLI11_PARSE(app, argc, argv);

    try {
        if (run->parsed()) return run_market(run_flags);
    } catch (const tp::peer::ConfigError& e) {
        fmt::print(stderr, "trading-post: {}\n", e.what());
        return 2;
    } catch (const std::exception& e) {
        fmt::print(stderr, "trading-post: {}\n", e.what());
        return 1;
    }
    return 0;
}
