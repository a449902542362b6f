// trading-post bench churn (issue 18): what a customer's round trip costs while peers join and
// leave the running market, at 0, 1 and 10 joins and as many leaves per second.
#include <fmt/core.h>

#include <vector>

#include "bench_stats.hpp"
#include "bench_support.hpp"
#include "tp/peer/local_market.hpp"
#include "tp/runtime/runtime.hpp"

namespace tp::app::bench {

namespace {

using namespace std::chrono_literals;

struct Measured {
    std::vector<double> us;  // the founders' buyers' round trips, after the warm-up
    std::uint64_t joins = 0;
    std::uint64_t leaves = 0;
    std::size_t newcomers_at_end = 0;
    bool checks_hold = false;  // the summary's: goods and money conserved, nothing twice, ...
};

Measured measure(const Context& ctx, double rate, const Window& w) {
    // Two founding buyers measure; newcomers trade like them (a joining seller deposits, a
    // joining buyer buys), so churn brings its own load with it, as in a real market.
    peer::Config c = endless_market(ctx.base, 2, 4);
    c.network.transport = peer::TransportKind::udp;
    c.churn.join_rate = rate;
    c.churn.leave_rate = rate;
    c.duration = w.warm + w.measure;
    runtime::Runtime rt(runtime::Mode::real_time);
    const runtime::TimePoint from = rt.now() + w.warm;
    peer::LocalMarket m(c, rt);
    m.start();
    run_to_end(rt, m);
    Measured out;
    for (const auto& a : answered(m)) {
        if (a.buyer <= 2 && a.p.sent >= from) out.us.push_back(to_us(a.p.answered_at - a.p.sent));
    }
    out.joins = m.churn().joins();
    out.leaves = m.churn().leaves();
    out.newcomers_at_end = out.joins - out.leaves;
    const auto summary = m.summary();
    out.checks_hold = summary.ok();
    for (const auto& v : summary.violations) fmt::print(stderr, "churn: {}/s: {}\n", rate, v);
    return out;
}

}  // namespace

int churn(const Context& ctx) {
    const Window w = ctx.quick ? Window{300ms, 700ms} : Window{1s, 5s};
    const std::vector<double> rates = ctx.quick ? std::vector<double>{0, 10}
                                                : std::vector<double>{0, 1, 10};
    Progress progress("churn", rates.size() * ctx.repeat);
    const peer::Config sample = endless_market(ctx.base, 2, 4);
    Csv csv(ctx, "churn",
            "joins_per_s,leaves_per_s,runs,samples,p50_us,p99_us,p50_us_min,p50_us_max,"
            "p99_us_min,p99_us_max,x_p50,x_p99,joins,leaves,newcomers_at_end",
            {"two founding buyers' round trips (one request at a time) while newcomers join at "
             "the rate and newcomers leave at the same rate (trading-post run --join-rate R "
             "--leave-rate R); newcomers trade like the founders, so churn brings load too",
             fmt::format("each rate runs {} time(s): p50 and p99 are the median of the runs', "
                         "with their min and max; x_p50 and x_p99: against the 0/s row of the "
                         "same run of the experiment; joins, leaves: the median run's",
                         ctx.repeat),
             "config: " + describe(sample)});
    progress.print(
        "| joins/s = leaves/s | samples | p50 | p99 | p50 / none | p99 / none | joined, left |\n"
        "|---:|---:|---:|---:|---:|---:|---:|");
    double base_p50 = 0, base_p99 = 0;
    bool ok = true;
    for (double rate : rates) {
        std::vector<Measured> runs;
        std::vector<double> p50s, p99s;
        for (std::uint32_t i = 0; i < ctx.repeat; ++i) {
            progress.next(fmt::format("{}/s, run {} of {}", rate, i + 1, ctx.repeat));
            runs.push_back(measure(ctx, rate, w));
            p50s.push_back(percentile(runs.back().us, 0.5));
            p99s.push_back(percentile(runs.back().us, 0.99));
        }
        const Spread p50 = spread(p50s), p99 = spread(p99s);
        const Measured& shown = runs[median_run(p50s)];
        if (rate == 0) {
            base_p50 = p50.median;
            base_p99 = p99.median;
        }
        const double x50 = base_p50 > 0 ? p50.median / base_p50 : 0;
        const double x99 = base_p99 > 0 ? p99.median / base_p99 : 0;
        for (const Measured& r : runs) {
            if (r.us.empty() || !r.checks_hold || (rate > 0 && r.joins == 0)) ok = false;
        }
        csv.row(rate, rate, ctx.repeat, shown.us.size(), fmt::format("{:.1f}", p50.median),
                fmt::format("{:.1f}", p99.median), fmt::format("{:.1f}", p50.min),
                fmt::format("{:.1f}", p50.max), fmt::format("{:.1f}", p99.min),
                fmt::format("{:.1f}", p99.max), fmt::format("{:.2f}", x50),
                fmt::format("{:.2f}", x99), shown.joins, shown.leaves, shown.newcomers_at_end);
        progress.print(fmt::format("| {} | {} | {:.0f} µs | {:.0f} µs | {:.2f}x | {:.2f}x | {}, {} |",
                                   rate, shown.us.size(), p50.median, p99.median, x50, x99,
                                   shown.joins, shown.leaves));
    }
    csv.flush();
    plot(ctx, "churn", csv.path());
    return ok ? 0 : 1;
}

}  // namespace tp::app::bench
