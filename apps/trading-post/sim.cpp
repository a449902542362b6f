// trading-post sim: placeholder until its issue lands.
#include <fmt/core.h>

#include "commands.hpp"

namespace tp::app {

Runner add_sim_command(CLI::App& app) {
    auto* cmd = app.add_subcommand("sim", "(not built yet)");
    (void)cmd;
    return [] {
        fmt::print(stderr, "trading-post: 'sim' is not built yet\n");
        return 2;
    };
}

}  // namespace tp::app
