#pragma once

#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <string>
#include <utility>

#include "tp/peer/log.hpp"
#include "tp/sim/simulation.hpp"

namespace tp::sim_test {

// The seeds a suite runs: "FROM..TO" as the test's first argument after "--", or the default.
inline std::pair<std::uint64_t, std::uint64_t> seed_range(std::uint64_t from, std::uint64_t to) {
    auto& suite = boost::unit_test::framework::master_test_suite();
    if (suite.argc > 1) {
        const std::string text = suite.argv[1];
        const auto dots = text.find("..");
        if (dots == std::string::npos) throw std::invalid_argument("seed range: " + text);
        from = std::stoull(text.substr(0, dots));
        to = std::stoull(text.substr(dots + 2));
    }
    return {from, to};
}

// The options every sim test uses: the command's defaults (6 peers, swarm faults).
inline sim::Options options(std::uint64_t seed) {
    sim::Options o;
    o.seed = seed;
    return o;
}

inline void quiet_logs() {
    peer::configure_logging({spdlog::level::off, true});
}

}  // namespace tp::sim_test
