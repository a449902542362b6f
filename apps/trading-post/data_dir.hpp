#pragma once

#include <filesystem>

namespace tp::app {

// The directory of the gnuplot scripts: where `meson install` put them (found from the running
// program, so a relocated or DESTDIR install works too), else the configured install location,
// else the source tree this program was built from. Empty when none of them holds the scripts.
std::filesystem::path find_plot_dir();

}  // namespace tp::app
