#pragma once

// The configuration's rules, shared by parse_config (which adds file:line:column) and validate.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tp/peer/config.hpp"

namespace tp::peer::detail {

inline constexpr std::string_view money_limit = "so that no sum of money can overflow";

// One broken rule. `keys` are where it is reported, best first: parse_config names the first one
// the file has (or, failing all, the nearest table around the first) with its position.
struct Finding {
    std::vector<std::string> keys;
    std::string what;
};

// Every rule of the configuration, in the order a reader would fix them: the first broken one.
std::optional<Finding> check(const Config& config);

}  // namespace tp::peer::detail
