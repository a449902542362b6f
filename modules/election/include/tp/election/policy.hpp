#pragma once

#include <cstdint>
#include <string_view>
#include <utility>

namespace tp::election {

// What a peer with a higher id does when it finds a live lower leader: when it comes back after a
// crash, or when a lower peer's Coordinator or Heartbeat with a newer epoch reaches it.
enum class RecoveryPolicy : std::uint8_t {
    defer,  // follow the live leader (the seed's behaviour: the old trader rejoins as a trader)
    bully,  // classic bully: start an election, win it, and lead with a newer epoch
};

// Every policy with its name: the one table behind to_string, parse_recovery_policy, the peer's
// configuration and the command line.
inline constexpr std::pair<const char*, RecoveryPolicy> recovery_policy_names[] = {
    {"defer", RecoveryPolicy::defer},
    {"bully", RecoveryPolicy::bully},
};

const char* to_string(RecoveryPolicy policy) noexcept;
// "defer" or "bully"; throws std::invalid_argument naming the value otherwise.
RecoveryPolicy parse_recovery_policy(std::string_view name);

}  // namespace tp::election
