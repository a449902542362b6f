#include "data_dir.hpp"

#include <array>
#include <system_error>

namespace tp::app {

namespace {

bool holds_plot_scripts(const std::filesystem::path& dir) {
    std::error_code ec;
    return std::filesystem::is_regular_file(dir / "common.gp", ec);
}

}  // namespace

std::filesystem::path find_plot_dir() {
    std::error_code ec;
    // bindir/../share/trading-post/plot, relative to the program itself.
    const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        const auto beside = (self.parent_path() / TP_PLOT_DIR_FROM_BINDIR).lexically_normal();
        if (holds_plot_scripts(beside)) return beside;
    }
    const std::array<std::filesystem::path, 2> fallbacks = {
        std::filesystem::path(TP_PLOT_DIR_INSTALLED),
        std::filesystem::path(TP_SOURCE_ROOT) / "tools" / "plot",
    };
    for (const auto& dir : fallbacks) {
        if (holds_plot_scripts(dir)) return dir;
    }
    return {};
}

}  // namespace tp::app
