// Encode, decode and round trip of a Buy and of a BuyResult with 3 fills, each with a 6-peer clock.
// Design target: an encode + decode round trip under 300 ns.
#include <benchmark/benchmark.h>

#include <array>

#include "samples.hpp"
#include "tp/wire/codec.hpp"

namespace {

using namespace tp::wire;

Envelope sample(bool result) {
    return result ? samples::envelope(samples::buy_result_3_fills())
                  : samples::envelope(samples::buy());
}

void bm_encode(benchmark::State& state) {
    const Envelope env = sample(state.range(0) != 0);
    alignas(8) std::array<std::byte, 1024> buf;
    for (auto _ : state) {
        benchmark::DoNotOptimize(encode(env, buf));
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * encoded_size(env)));
}

void bm_decode(benchmark::State& state) {
    const auto bytes = encode(sample(state.range(0) != 0));
    for (auto _ : state) {
        auto r = decode(bytes);
        benchmark::DoNotOptimize(r);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes.size()));
}

void bm_round_trip(benchmark::State& state) {
    const Envelope env = sample(state.range(0) != 0);
    alignas(8) std::array<std::byte, 1024> buf;
    for (auto _ : state) {
        const std::size_t n = encode(env, buf);
        auto r = decode(std::span<const std::byte>(buf.data(), n));
        benchmark::DoNotOptimize(r);
    }
}

void bm_encoded_size(benchmark::State& state) {
    const Envelope env = sample(state.range(0) != 0);
    for (auto _ : state) benchmark::DoNotOptimize(encoded_size(env));
}

}  // namespace

// Arg 0: Buy; arg 1: BuyResult with 3 fills.
BENCHMARK(bm_encode)->ArgName("buy_result")->Arg(0)->Arg(1);
BENCHMARK(bm_decode)->ArgName("buy_result")->Arg(0)->Arg(1);
BENCHMARK(bm_round_trip)->ArgName("buy_result")->Arg(0)->Arg(1);
BENCHMARK(bm_encoded_size)->ArgName("buy_result")->Arg(0)->Arg(1);

BENCHMARK_MAIN();
