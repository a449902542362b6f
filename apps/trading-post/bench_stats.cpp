#include "bench_stats.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

namespace tp::app::bench {

double percentile(std::vector<double> samples, double p) {
    if (samples.empty()) return 0;
    auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(samples.size())));
    rank = std::clamp<std::size_t>(rank, 1, samples.size());
    std::nth_element(samples.begin(), samples.begin() + static_cast<std::ptrdiff_t>(rank - 1),
                     samples.end());
    return samples[rank - 1];
}

double mean(const std::vector<double>& samples) {
    if (samples.empty()) return 0;
    return std::accumulate(samples.begin(), samples.end(), 0.0) /
           static_cast<double>(samples.size());
}

Spread spread(std::vector<double> per_run) {
    if (per_run.empty()) return {};
    std::sort(per_run.begin(), per_run.end());
    return {per_run[(per_run.size() - 1) / 2], per_run.front(), per_run.back(), per_run.size()};
}

std::size_t median_run(const std::vector<double>& per_run) {
    if (per_run.empty()) return 0;
    std::vector<std::size_t> order(per_run.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    // Stable: of equal values, the earlier run.
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return per_run[a] < per_run[b]; });
    return order[(order.size() - 1) / 2];
}

std::optional<Line> fit_line(std::span<const double> x, std::span<const double> y) {
    if (x.size() != y.size()) throw std::invalid_argument("fit_line: x and y differ in length");
    if (x.size() < 2) return std::nullopt;
    const double n = static_cast<double>(x.size());
    const double mx = std::accumulate(x.begin(), x.end(), 0.0) / n;
    const double my = std::accumulate(y.begin(), y.end(), 0.0) / n;
    double sxx = 0, sxy = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
        sxx += (x[i] - mx) * (x[i] - mx);
        sxy += (x[i] - mx) * (y[i] - my);
    }
    if (sxx == 0) return std::nullopt;
    const double slope = sxy / sxx;
    return Line{slope, my - slope * mx};
}

}  // namespace tp::app::bench
