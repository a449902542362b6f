#include "tp/journal/durability.hpp"

#include <stdexcept>
#include <string>

namespace tp::journal {

const char* to_string(Durability durability) noexcept {
    for (const auto& [name, value] : durability_names) {
        if (value == durability) return name;
    }
    return "?";
}

Durability parse_durability(std::string_view name) {
    for (const auto& [text, value] : durability_names) {
        if (name == text) return value;
    }
    throw std::invalid_argument("durability: unknown level '" + std::string(name) +
                                "' (expected \"every\", \"group\" or \"none\")");
}

}  // namespace tp::journal
