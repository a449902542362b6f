// compare and merge at 6, 64 and 1024 peers: the cost a message pays for carrying its clock.
#include <benchmark/benchmark.h>

#include <random>

#include "tp/clock/vector_clock.hpp"

using tp::clock::VectorClock;

namespace {

VectorClock dense(std::mt19937_64& rng, std::int64_t peers) {
    VectorClock v;
    v.reserve(static_cast<std::size_t>(peers));
    for (std::int64_t p = 0; p < peers; ++p)
        v.set(static_cast<tp::clock::PeerId>(p), 1 + rng() % 100);
    return v;
}

// The worst case: b is a's successor, so compare must read every entry to say "before".
void bm_compare(benchmark::State& state) {
    std::mt19937_64 rng(1);
    const auto a = dense(rng, state.range(0));
    auto b = a;
    b.tick(static_cast<tp::clock::PeerId>(state.range(0) - 1));
    for (auto _ : state) benchmark::DoNotOptimize(tp::clock::compare(a, b));
}

void bm_merge(benchmark::State& state) {
    std::mt19937_64 rng(2);
    auto a = dense(rng, state.range(0));
    const auto b = dense(rng, state.range(0));
    for (auto _ : state) {
        a.merge(b);
        benchmark::DoNotOptimize(a);
    }
}

// The message path: a receive (merge + tick) from a peer that knows one peer we have not seen.
void bm_receive_new_peer(benchmark::State& state) {
    std::mt19937_64 rng(3);
    const auto base = dense(rng, state.range(0));
    auto other = base;
    other.set(static_cast<tp::clock::PeerId>(state.range(0)), 1);
    for (auto _ : state) {
        auto a = base;
        a.receive(0, other);
        benchmark::DoNotOptimize(a);
    }
}

}  // namespace

BENCHMARK(bm_compare)->Arg(6)->Arg(64)->Arg(1024);
BENCHMARK(bm_merge)->Arg(6)->Arg(64)->Arg(1024);
BENCHMARK(bm_receive_new_peer)->Arg(6)->Arg(64)->Arg(1024);
BENCHMARK_MAIN();
