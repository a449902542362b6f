#pragma once

// The per-run report of `run --report DIR` and `sim --report DIR`: one folder a person opens in a
// browser (index.html, no network needed) with the summary (text and JSON), the round trip of
// every request over time with failovers marked, its distribution, the messages sent per kind,
// a ShiViz log and a space-time diagram around the first failover.

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tp/peer/local_market.hpp"
#include "tp/sim/export.hpp"
#include "tp/sim/simulation.hpp"

namespace tp::app::report {

// A moment of the run marked on the plots and in the page.
struct Marker {
    enum class Kind { failure, elected, back };
    Kind kind = Kind::failure;
    runtime::Duration at{};  // since the start
    std::string label;       // "peer 6 (the trader) fails"
};

// One answered request of one buyer.
struct Request {
    peer::PeerId buyer = 0;
    runtime::Duration sent{};  // since the start
    runtime::Duration round_trip{};
    std::uint32_t attempts = 0;
    bool filled = false;
};

struct Input {
    std::string command;       // the command line that repeats the run
    std::string summary_text;  // the summary as printed
    peer::Summary summary;
    std::uint32_t peers = 0;
    std::vector<Request> requests;
    std::vector<Marker> markers;
    std::vector<sim::Event> events;  // times since the start
    // More facts for the page and the JSON (the simulation's faults and checks).
    std::vector<std::pair<std::string, std::string>> facts;
    // The diagram's window; unset: around the first failure.
    std::optional<sim::Window> window;
};

// The requests of every buyer, each life of each, with times since `origin`.
std::vector<Request> requests_of(const std::map<peer::PeerId, std::vector<peer::Purchase>>& all,
                                 runtime::TimePoint origin);

// Failures, new traders (after the first) and returns, from a run's summary.
std::vector<Marker> markers_of(const peer::Summary& summary);
// The same from a simulation's recorded events (crashes of any peer, restarts, new traders).
std::vector<Marker> markers_of(const std::vector<sim::Event>& events);

// Writes the folder (created if missing). Returns what it wrote, one line each, and says which
// plots are missing and why (gnuplot absent or failing): the rest is written all the same.
// Throws std::runtime_error when a file cannot be written.
std::vector<std::string> write(const std::filesystem::path& dir, const Input& input);

}  // namespace tp::app::report
