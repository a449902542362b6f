#include "bench_support.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <cstdio>
#include <stdexcept>
#include <thread>

#include <spawn.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace tp::app::bench {

using namespace std::chrono_literals;

Progress::Progress(std::string title, std::size_t total)
    : title_(std::move(title)), total_(total), tty_(::isatty(STDERR_FILENO) == 1) {}

Progress::~Progress() {
    if (!tty_) return;
    done_ = total_;
    draw("done");
    std::fputc('\n', stderr);
}

void Progress::next(std::string_view label) {
    label_ = label;
    draw(label);
    ++done_;
}

void Progress::print(std::string_view line) const {
    if (tty_) fmt::print(stderr, "\r\033[K");
    std::fflush(stderr);
    fmt::print("{}\n", line);
    std::fflush(stdout);
    if (tty_ && done_ < total_) draw(label_);
}

void Progress::draw(std::string_view label) const {
    if (!tty_) return;
    constexpr std::size_t width = 30;
    const std::size_t filled = total_ == 0 ? width : width * done_ / total_;
    // \r and clear-to-end-of-line: the bar redraws itself in place.
    fmt::print(stderr, "\r\033[K{} [{}{}] {}/{} {}", title_, std::string(filled, '#'),
               std::string(width - filled, '.'), done_, total_, label);
    std::fflush(stderr);
}

Csv::Csv(const Context& ctx, std::string_view name, std::string_view header,
         const std::vector<std::string>& notes)
    : path_(ctx.out / (std::string(name) + ".csv")), out_(path_) {
    if (!out_) throw std::runtime_error("cannot write " + path_.string());
    out_ << "# trading-post bench: " << name << '\n';
    out_ << "# command: " << ctx.command << '\n';
    out_ << "# machine: " << describe_machine() << '\n';
    for (const auto& note : notes) out_ << "# " << note << '\n';
    out_ << header << '\n';
}

std::string describe_machine() {
    std::string model = "unknown CPU";
    if (std::ifstream cpuinfo("/proc/cpuinfo"); cpuinfo) {
        for (std::string line; std::getline(cpuinfo, line);) {
            if (line.starts_with("model name")) {
                model = line.substr(line.find(':') + 2);
                break;
            }
        }
    }
    utsname u{};
    ::uname(&u);
    return fmt::format("{} {} {}, {} cores ({})", u.sysname, u.release, u.machine,
                       std::thread::hardware_concurrency(), model);
}

std::string describe(const peer::Config& c) {
    using peer::format_duration;
    // The roles as run: drawn from the seed when the config names none.
    std::string roles = "from-seed";
    if (!c.roles.empty()) {
        const auto count = [&](peer::Role r) {
            return std::count(c.roles.begin(), c.roles.end(), r);
        };
        roles = fmt::format("{}-buyers/{}-sellers/{}-both", count(peer::Role::buyer),
                            count(peer::Role::seller), count(peer::Role::both));
    }
    return fmt::format(
        "seed={} peers={} roles={} transport={} durability={} replication={} replicas={} "
        "security={} batch_window={} think_time={} buy_probability={} max_transactions={} "
        "request_timeout={} heartbeat={} election_timeout={} answer_timeout={} "
        "failure.probability={} time_quantum={} recovery_delay={} policy={} duration={}",
        c.seed, c.peers, roles, peer::to_string(c.network.transport),
        peer::to_string(c.storage.durability), peer::to_string(c.replication.mode),
        c.replication.replicas, peer::to_string(c.security.mode),
        format_duration(c.market.batch_window), format_duration(c.behaviour.think_time),
        c.behaviour.buy_probability, c.behaviour.max_transactions,
        format_duration(c.behaviour.request_timeout),
        format_duration(c.election.heartbeat_interval),
        format_duration(c.election.election_timeout), format_duration(c.election.answer_timeout),
        c.failure.probability ? fmt::format("{}", *c.failure.probability) : std::string("once"),
        format_duration(c.failure.time_quantum), format_duration(c.failure.recovery_delay),
        peer::to_string(c.failure.policy), format_duration(c.duration));
}

double to_ms(runtime::Duration d) {
    return static_cast<double>(d.count()) / 1e6;
}
double to_us(runtime::Duration d) {
    return static_cast<double>(d.count()) / 1e3;
}
double to_s(runtime::Duration d) {
    return static_cast<double>(d.count()) / 1e9;
}

namespace {

// A gnuplot string literal: single quotes, with embedded ones doubled.
std::string quoted(const std::string& s) {
    std::string q = "'";
    for (char c : s) {
        q += c;
        if (c == '\'') q += '\'';
    }
    return q + "'";
}

}  // namespace

std::filesystem::path plot(const Context& ctx, std::string_view script,
                           const std::filesystem::path& data, std::string_view extra) {
    if (!ctx.plot) return {};
    const auto gp = ctx.plots / (std::string(script) + ".gp");
    if (!std::filesystem::exists(gp)) {
        fmt::print(stderr, "bench: no plot: {} not found (--plots DIR names the scripts)\n",
                   gp.string());
        return {};
    }
    auto png = data;
    png.replace_extension(".png");
    std::string vars = fmt::format("data={}; out={}; dir={}", quoted(data.string()),
                                   quoted(png.string()), quoted(ctx.plots.string() + "/"));
    if (!extra.empty()) vars += fmt::format("; {}", extra);
    std::string gp_path = gp.string();
    std::string gnuplot = "gnuplot", e = "-e";
    char* argv[] = {gnuplot.data(), e.data(), vars.data(), gp_path.data(), nullptr};
    pid_t pid = 0;
    if (::posix_spawnp(&pid, "gnuplot", nullptr, nullptr, argv, environ) != 0) {
        fmt::print(stderr, "bench: no plot: gnuplot is not installed (tools/setup installs it)\n");
        return {};
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fmt::print(stderr, "bench: gnuplot failed on {} with {}\n", gp.string(), data.string());
        return {};
    }
    return png;
}

// ---- Running a market ------------------------------------------------------------------------

runtime::Mode mode_for(const peer::Config& c, bool virtual_memory) {
    return virtual_memory && c.network.transport == peer::TransportKind::memory
               ? runtime::Mode::virtual_time
               : runtime::Mode::real_time;
}

void run_to_end(runtime::Runtime& rt, peer::LocalMarket& m) {
    while (!m.done())
        rt.run_for(rt.is_virtual() ? runtime::Duration(10ms) : runtime::Duration(50ms));
}

peer::Config endless_market(const peer::Config& base, std::uint32_t buyers, std::uint32_t sellers) {
    peer::Config c = base;
    c.peers = buyers + sellers;
    c.roles.assign(buyers, peer::Role::buyer);
    c.roles.resize(c.peers, peer::Role::seller);
    c.market.products = {{"salt", 5}};
    c.market.seller_stock = 1'000'000'000;
    c.market.batch_window = 0ns;
    c.behaviour.buy_probability = 1;
    c.behaviour.think_time = 0ns;
    c.behaviour.max_buy_quantity = 1;
    c.behaviour.max_transactions = 4'000'000'000u;
    c.failure.probability = 0;
    return c;
}

bool all_follow_the_trader(peer::LocalMarket& m, bool all_up) {
    const auto t = m.trader();
    if (!t) return false;
    for (auto id : m.peers()) {
        auto* n = m.node(id);
        if (n == nullptr ? all_up : n->leader() != t) return false;
    }
    return true;
}

std::vector<Answered> answered(const peer::LocalMarket& m) {
    std::vector<Answered> all;
    for (auto& [buyer, list] : m.purchases()) {
        for (auto& p : list) {
            if (p.attempts > 0) all.push_back({buyer, p});  // not refused locally (own lot)
        }
    }
    return all;
}

std::string ms(double v) {
    return fmt::format("{:.3f}", v);
}

std::optional<std::string> wrong_mode(peer::LocalMarket& m, const peer::Config& c) {
    const bool quorum = c.replication.mode == peer::ReplicationMode::quorum;
    for (auto id : m.peers()) {
        const auto* n = m.node(id);
        // Quorum mode: the replica set keeps replicas, customers none.
        const bool keeps = quorum && peer::keeps_replica(m.peers(), c.replication.replicas, id);
        if (n != nullptr && (n->core().replica() != nullptr) != keeps) {
            return fmt::format(
                "peer {} {} a replica, the run asked for {} replication{}", id,
                keeps ? "keeps no" : "keeps", peer::to_string(c.replication.mode),
                quorum ? fmt::format(" with {} replicas", c.replication.replicas) : std::string());
        }
    }
    return std::nullopt;
}

}  // namespace tp::app::bench
