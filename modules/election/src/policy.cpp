#include "tp/election/policy.hpp"

#include <stdexcept>
#include <string>

namespace tp::election {

const char* to_string(RecoveryPolicy policy) noexcept {
    for (const auto& [name, value] : recovery_policy_names) {
        if (value == policy) return name;
    }
    return "?";
}

RecoveryPolicy parse_recovery_policy(std::string_view name) {
    for (const auto& [text, value] : recovery_policy_names) {
        if (name == text) return value;
    }
    throw std::invalid_argument("policy: unknown recovery policy '" + std::string(name) +
                                "' (expected \"defer\" or \"bully\")");
}

}  // namespace tp::election
