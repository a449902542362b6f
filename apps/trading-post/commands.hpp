#pragma once

#include <CLI/CLI.hpp>

#include <functional>

namespace tp::app {

// A subcommand of trading-post, defined in its own file: registered on the app before parsing,
// then run (returning the exit status) if it was the one chosen.
using Runner = std::function<int()>;

// `trading-post bench <experiment>`: the experiments and benchmarks (bench.cpp).
Runner add_bench_command(CLI::App& app);
// `trading-post sim`: deterministic simulation with faults and the invariant checker (sim.cpp).
Runner add_sim_command(CLI::App& app);

}  // namespace tp::app
