#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>

namespace tp::app {

// One exit-status policy for every subcommand (also in each --help and the README).
inline constexpr int exit_ok = 0;
inline constexpr int exit_failed = 1;     // a check failed, or the run itself failed
inline constexpr int exit_bad_input = 2;  // a bad flag, value, range or file: nothing ran
inline constexpr const char* exit_status_help =
    "Exit status: 0 ok; 1 a check failed (or the run failed: a peer or journal error); 2 bad "
    "input (an unknown or inapplicable flag, a bad value or range, a bad config file or path), "
    "nothing was run.";

// A subcommand of trading-post, defined in its own file: registered on the app before parsing,
// then run (returning the exit status) if it was the one chosen.
using Runner = std::function<int()>;

// `trading-post bench <experiment>`: the experiments and benchmarks (bench.cpp).
Runner add_bench_command(CLI::App& app);
// Where the gnuplot scripts are (bench.cpp): every plot of every subcommand finds them here.
std::string default_plots_dir();

// `trading-post sim`: deterministic simulation with faults and the invariant checker (sim.cpp).
Runner add_sim_command(CLI::App& app);

// `trading-post books`: the durable books of a state directory, replayed and checked, read-only
// (books_command.cpp).
Runner add_books_command(CLI::App& app);

}  // namespace tp::app
