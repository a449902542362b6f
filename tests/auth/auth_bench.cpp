// The cost of authentication per datagram: seal (header + MAC) and open (parse, verify, replay
// window), for payload sizes around a trading message's.
#include <benchmark/benchmark.h>

#include <vector>

#include "tp/auth/guard.hpp"

using namespace tp::auth;

namespace {

const std::vector<PeerId> members{1, 2};

void seal(benchmark::State& state) {
    const auto payload = static_cast<std::size_t>(state.range(0));
    Guard a(1, 1, members, Key::derive(1));
    std::vector<std::byte> frame(frame_overhead + payload, std::byte{1});
    for (auto _ : state) benchmark::DoNotOptimize(a.seal(2, frame, payload));
    state.SetBytesProcessed(
        static_cast<std::int64_t>(state.iterations() * (payload + header_size)));
}
BENCHMARK(seal)->Arg(64)->Arg(160)->Arg(512);

void seal_and_open(benchmark::State& state) {
    const auto payload = static_cast<std::size_t>(state.range(0));
    Guard a(1, 1, members, Key::derive(1));
    Guard b(2, 1, members, Key::derive(1));
    std::vector<std::byte> frame(frame_overhead + payload, std::byte{1});
    for (auto _ : state) {
        const auto n = a.seal(2, frame, payload);
        auto out = b.open(std::span(frame).first(n), {});
        benchmark::DoNotOptimize(out);
    }
}
BENCHMARK(seal_and_open)->Arg(64)->Arg(160)->Arg(512);

}  // namespace

BENCHMARK_MAIN();
