#pragma once

// The statistics of `trading-post bench`: percentiles of one run's samples, and what repeated runs
// of one measurement say together (the median run with the least and the most, --repeat), and a
// least-squares line (does failover cost grow with the crash count?). No I/O: tests/peer reads it.

#include <cstddef>
#include <optional>
#include <span>
#include <vector>

namespace tp::app::bench {

// Nearest-rank percentile (p in [0, 1]) of unsorted samples; 0 for none.
double percentile(std::vector<double> samples, double p);
double mean(const std::vector<double>& samples);

// One figure over the runs of a measurement: the median run's, the least and the most. The
// median of an even count is the lower middle, a value some run really gave.
struct Spread {
    double median = 0;
    double min = 0;
    double max = 0;
    std::size_t runs = 0;  // 0: no run gave a value (every field 0)
};
Spread spread(std::vector<double> per_run);

// Which run is the median one by `per_run` (the lower middle), so that its other figures (a
// distribution to plot) can be shown beside the spread. 0 for none.
std::size_t median_run(const std::vector<double>& per_run);

// y = intercept + slope * x, fitted by least squares; nothing with fewer than two distinct x.
struct Line {
    double slope = 0;
    double intercept = 0;
};
std::optional<Line> fit_line(std::span<const double> x, std::span<const double> y);

}  // namespace tp::app::bench
