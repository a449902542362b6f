// trading-post bench: placeholder until its issue lands.
#include <fmt/core.h>

#include "commands.hpp"

namespace tp::app {

Runner add_bench_command(CLI::App& app) {
    auto* cmd = app.add_subcommand("bench", "(not built yet)");
    (void)cmd;
    return [] {
        fmt::print(stderr, "trading-post: 'bench' is not built yet\n");
        return 2;
    };
}

}  // namespace tp::app
