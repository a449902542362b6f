#pragma once

// What every experiment of `trading-post bench` shares: where results go, the statement of a
// run's configuration, the progress bar, the statistics (bench_stats.hpp), plotting through
// gnuplot, and running a market to measure it.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bench_stats.hpp"
#include "tp/peer/config.hpp"
#include "tp/peer/local_market.hpp"
#include "tp/runtime/clock.hpp"
#include "tp/runtime/runtime.hpp"

namespace tp::app::bench {

// Everything a run needs to be repeated exactly and to write its results.
struct Context {
    peer::Config base;            // --config and --seed applied; each experiment varies it
    std::filesystem::path out;    // results directory
    std::filesystem::path plots;  // directory of the gnuplot scripts (tools/plot)
    bool quick = false;           // fewer and shorter runs (smoke tests)
    std::uint32_t repeat = 1;     // runs of each real-time measurement (median, min, max)
    bool plot = true;             // draw PNGs when gnuplot is there
    std::string command;          // the command line that produced the run
};

// A progress bar on standard error, drawn only when it is a terminal; one step per run.
class Progress {
public:
    Progress(std::string title, std::size_t total);
    ~Progress();
    Progress(const Progress&) = delete;
    Progress& operator=(const Progress&) = delete;
    // Shows that the next run, described by `label`, has started.
    void next(std::string_view label);
    // Prints a whole line of results to stdout, with the bar out of its way: on a terminal the
    // bar's line is cleared first and drawn again at the next run, so the two never share a line.
    void print(std::string_view line) const;

private:
    void draw(std::string_view label) const;
    std::string title_;
    std::string label_;  // the run in progress
    std::size_t total_;
    std::size_t done_ = 0;
    bool tty_;
};

// A CSV file whose first lines (starting with '#') state the experiment, the command, the
// machine and the configuration, so that the file alone tells how to repeat it.
class Csv {
public:
    Csv(const Context& ctx, std::string_view name, std::string_view header,
        const std::vector<std::string>& notes);
    std::filesystem::path path() const { return path_; }
    template <class... Ts>
    void row(const Ts&... fields) {
        std::size_t i = 0;
        ((out_ << (i++ ? "," : "") << fields), ...);
        out_ << '\n';
    }
    void flush() { out_.flush(); }

private:
    std::filesystem::path path_;
    std::ofstream out_;
};

// "debian 12, 2 cores (model), kernel ..." for the record.
std::string describe_machine();
// The keys an experiment may vary, on one line: "peers=6 transport=udp durability=group
// replication=quorum ...".
std::string describe(const peer::Config& config);

double to_ms(runtime::Duration d);
double to_us(runtime::Duration d);
double to_s(runtime::Duration d);

// Runs tools/plot/<script>.gp with gnuplot: `data` and `out` (the PNG) set, plus `extra` gnuplot
// assignments. Returns the PNG's path, or an empty path (and says why) when it could not plot.
std::filesystem::path plot(const Context& ctx, std::string_view script,
                           const std::filesystem::path& data, std::string_view extra = {});

// ---- Running a market ----------------------------------------------------------------------

// Virtual time for the in-memory network when `virtual_memory`; real time otherwise.
runtime::Mode mode_for(const peer::Config& c, bool virtual_memory);

// Steps the runtime until `done()` or `limit` of its time has passed; false on the limit.
template <class Pred>
bool run_until(runtime::Runtime& rt, runtime::Duration limit, Pred done) {
    const runtime::TimePoint end = rt.now() + limit;
    while (!done()) {
        if (rt.now() >= end) return false;
        rt.run_for(rt.is_virtual() ? runtime::Duration(std::chrono::microseconds(100))
                                   : runtime::Duration(std::chrono::milliseconds(1)));
    }
    return true;
}

void run_to_end(runtime::Runtime& rt, peer::LocalMarket& m);

// A market in which trading never runs out: one product, sellers with endless stock, buyers that
// ask for one unit at a time with no pause. Peers 1..buyers buy; the rest sell (the highest is
// the first trader).
peer::Config endless_market(const peer::Config& base, std::uint32_t buyers, std::uint32_t sellers);

// A trader serves and every peer knows it; `all_up`: every peer is up, too.
bool all_follow_the_trader(peer::LocalMarket& m, bool all_up);

// Whether every peer of `m` runs the replication mode `c` asks for (quorum: each keeps a replica),
// so that a change of the default can never turn a row silently into another mode's; the reason
// when not.
std::optional<std::string> wrong_mode(peer::LocalMarket& m, const peer::Config& c);

// Every answered purchase of a run, flattened, with its buyer.
struct Answered {
    peer::PeerId buyer;
    peer::Purchase p;
};
std::vector<Answered> answered(const peer::LocalMarket& m);

// Milliseconds with three decimals, for the CSV files.
std::string ms(double v);

// A measured run: a warm-up, then the part that counts.
struct Window {
    runtime::Duration warm;
    runtime::Duration measure;
};

// ---- Experiments of their own files ----------------------------------------------------------

// bench_throughput.cpp: buys/s by concurrent buyers, transport, durability and replication.
int throughput(const Context& ctx);
// bench_failover.cpp: unavailability per trader crash, shared and quorum, and nothing lost.
int failover(const Context& ctx);
// bench_churn.cpp: a customer's round trip while peers join and leave.
int churn(const Context& ctx);

}  // namespace tp::app::bench
