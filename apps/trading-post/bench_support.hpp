#pragma once

// What every experiment of `trading-post bench` shares: where results go, the statement of a
// run's configuration, the progress bar, percentiles, and plotting through gnuplot.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "tp/peer/config.hpp"
#include "tp/runtime/clock.hpp"

namespace tp::app::bench {

// Everything a run needs to be repeated exactly and to write its results.
struct Context {
    peer::Config base;            // --config and --seed applied; each experiment varies it
    std::filesystem::path out;    // results directory
    std::filesystem::path plots;  // directory of the gnuplot scripts (tools/plot)
    bool quick = false;           // fewer and shorter runs (smoke tests)
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

// Nearest-rank percentile (p in [0, 1]) of unsorted samples; 0 for none.
double percentile(std::vector<double> samples, double p);
double mean(const std::vector<double>& samples);

double to_ms(runtime::Duration d);
double to_us(runtime::Duration d);
double to_s(runtime::Duration d);

// Runs tools/plot/<script>.gp with gnuplot: `data` and `out` (the PNG) set, plus `extra` gnuplot
// assignments. Returns the PNG's path, or an empty path (and says why) when it could not plot.
std::filesystem::path plot(const Context& ctx, std::string_view script,
                           const std::filesystem::path& data, std::string_view extra = {});

}  // namespace tp::app::bench
