#pragma once

#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include "tp/sim/simulation.hpp"

namespace tp::sim {

// A window of virtual time; events at `from` <= t <= `to` are shown.
struct Window {
    TimePoint from{};
    TimePoint to = TimePoint::max();
    bool contains(TimePoint t) const noexcept { return from <= t && t <= to; }
};

// The regex ShiViz parses our log with.
inline constexpr const char* shiviz_regex = R"((?<host>\S*) (?<clock>{.*})\n(?<event>.*))";

// A ShiViz log (https://bestchai.bitbucket.io/shiviz/), ready for its file loader: the parser
// regex (shiviz_regex) on the first line, an empty delimiter line (one execution), then for each
// event a line "<host> <clock>" with the clock as JSON and a line describing the event.
// The clocks are recomputed over the window (one host per peer, ticking on every event and
// merging on every receive), so they are consistent even across crashes, which restart a
// peer's own clock; the peer's real vector clock is part of each event's text.
void write_shiviz(std::ostream& out, const std::vector<Event>& events, const Window& window);

// Text made safe inside XML or HTML markup and attribute values (&, <, >, ").
std::string xml_escape(std::string_view text);

// A self-contained SVG space-time diagram: one horizontal line per peer, time left to right,
// every message an arrow from its send to its delivery (hover for details), lost messages as
// red stubs, crashes (red cross), restarts (green circle), new traders (gold diamond) and
// partitions (dashed band) marked.
void write_svg(std::ostream& out, const std::vector<Event>& events, std::uint32_t peers,
               const Window& window, const std::string& title);

}  // namespace tp::sim
