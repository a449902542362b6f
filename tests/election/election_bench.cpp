// Cost of one bully election on the fake network in virtual time (fixed 100 us per message).
//
// bm_election/{best,worst}/n: peers 1..n led by n; n crashes and either n-1 (best) or 1 (worst)
// alone suspects it. Counters per election: msgs (Election + Ok + Coordinator), the textbook
// figures next to it (n_minus_2, quadratic = n(n-1)), the exact worst-case formula
// formula = (n-2)(n+1), and virtual_ms: suspicion to every live peer knowing the new leader.
// The wall time is what simulating one election costs on this machine.
//
// bm_failover/n: the heartbeat detector at heartbeat 10 ms, election timeout 30 ms, latency
// uniform in [0.1, 1] ms: 100 crashes of the leader at a random phase of its heartbeat, nobody
// told; p50/p99/max of the virtual time from the crash to every live peer knowing the new leader.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <random>

#include "fake_network.hpp"

using namespace tp::election;
using namespace tp::election::test;

namespace {

constexpr Duration latency = 100us;

FakeNetwork elected_cluster(PeerId n) {
    FakeNetwork net(FakeNetwork::range(1, n), Config{});
    net.set_faults(Faults{0.0, latency, latency});
    net.start_all();
    // Settle: every start-up message delivered, so none is counted or delivered later.
    if (!net.run_until([&] { return net.agreed_leader() == n && net.in_flight() == 0; },
                       net.now() + 1s))
        throw std::logic_error("initial election failed");
    net.clear_log();
    return net;
}

void bm_election(benchmark::State& state, bool worst) {
    const auto n = static_cast<PeerId>(state.range(0));
    const FakeNetwork base = elected_cluster(n);
    std::uint64_t msgs = 0;
    Duration virtual_time{};
    for (auto _ : state) {
        state.PauseTiming();
        FakeNetwork net = base;
        const auto before = net.election_messages();
        state.ResumeTiming();
        net.crash(n);
        const Time t0 = net.now();
        net.suspect(worst ? 1 : n - 1);
        if (!net.run_until([&] { return net.agreed_leader() == n - 1; }, t0 + 1s))
            state.SkipWithError("no leader");
        state.PauseTiming();
        msgs = net.election_messages() - before;
        virtual_time = net.now() - t0;
        state.ResumeTiming();
    }
    const double nn = n;
    state.counters["msgs"] = static_cast<double>(msgs);
    state.counters["n_minus_2"] = nn - 2;
    state.counters["formula"] = (nn - 2) * (nn + 1);
    state.counters["quadratic"] = nn * (nn - 1);
    state.counters["virtual_ms"] = std::chrono::duration<double, std::milli>(virtual_time).count();
}

void bm_failover(benchmark::State& state) {
    const auto n = static_cast<PeerId>(state.range(0));
    std::vector<double> samples;
    for (auto _ : state) {
        samples.clear();
        std::mt19937_64 rng(42);
        FakeNetwork net(FakeNetwork::range(1, n), Config{}, 42);
        net.set_faults(Faults{0.0, 100us, 1ms});
        net.start_all();
        for (int crash = 0; crash < 100; ++crash) {
            // Settle, then run to a random phase of the leader's heartbeat.
            net.run_until([&] { return net.agreed_leader().has_value(); }, net.now() + 1s);
            net.run_for(Duration(std::chrono::microseconds(50'000 + rng() % 10'000)));
            const auto leader = net.agreed_leader();
            if (!leader) {
                state.SkipWithError("no agreed leader before a crash");
                return;
            }
            net.crash(*leader);
            const Time t0 = net.now();
            if (!net.run_until([&] { return net.agreed_leader().has_value(); }, t0 + 1s)) {
                state.SkipWithError("no leader after a crash");
                return;
            }
            samples.push_back(std::chrono::duration<double, std::milli>(net.now() - t0).count());
            // The old leader comes back (defer: it follows), so the cluster keeps its size.
            net.recover(*leader);
        }
    }
    std::sort(samples.begin(), samples.end());
    auto pct = [&](double p) {
        return samples[std::min(samples.size() - 1,
                                static_cast<std::size_t>(p * static_cast<double>(samples.size())))];
    };
    state.counters["p50_ms"] = pct(0.50);
    state.counters["p99_ms"] = pct(0.99);
    state.counters["max_ms"] = samples.back();
}

}  // namespace

BENCHMARK_CAPTURE(bm_election, best, false)
    ->Arg(6)
    ->Arg(32)
    ->Arg(128)
    ->Arg(1024)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(bm_election, worst, true)
    ->Arg(6)
    ->Arg(32)
    ->Arg(128)
    ->Arg(1024)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(bm_failover)->Arg(6)->Arg(32)->Unit(benchmark::kMillisecond)->Iterations(1);

BENCHMARK_MAIN();
