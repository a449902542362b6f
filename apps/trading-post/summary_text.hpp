#pragma once

#include <iosfwd>

#include "tp/peer/summary.hpp"

namespace tp::app {

// The run's summary as the program prints it after `run` and `sim --verbose`: figures, failovers,
// returns, sellers, round trips, and the checks (OK, or every violation).
void print(std::ostream& out, const peer::Summary& summary);

}  // namespace tp::app
