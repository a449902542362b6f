// trading-post: the command-line program. Subcommands grow with the modules behind them.
#include <fmt/core.h>
#include <CLI/CLI.hpp>

#include <cstdio>

namespace {

constexpr const char* version = TP_VERSION;

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"Trading Post: a peer-to-peer market with vector clocks and bully elections"};
    app.name("trading-post");
    app.set_version_flag("--version", fmt::format("trading-post {}", version));
    app.require_subcommand(1);

    int peers = 6;
    auto* run = app.add_subcommand("run", "Run a whole market in one process");
    run->add_option("--peers", peers, "Number of peers")->check(CLI::Range(2, 1024));
    run->allow_extras();

    CLI11_PARSE(app, argc, argv);

    if (run->parsed()) {
        fmt::print(stderr,
                   "trading-post run: the market is not built yet (this release has the clock and "
                   "wire modules); see README.md for the roadmap\n");
        return 0;
    }
    return 0;
}
