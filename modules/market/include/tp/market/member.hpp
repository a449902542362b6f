#pragma once

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <string>

#include "tp/clock/vector_clock.hpp"

namespace tp::market {

using PeerId = clock::PeerId;

// A member of the market (issue 18). Membership is part of the trader's replicated state: a join,
// a leave and a change of the replica set are events like any other, committed before they take
// effect.
struct Member {
    PeerId id = 0;
    bool buys = false;
    bool sells = false;
    bool voter = false;  // keeps a replica of the trader's log and counts in its quorum
    // Where it listens. Empty for a founding member, whose address the cluster's config holds.
    std::string host;
    std::uint16_t port = 0;

    friend bool operator==(const Member&, const Member&) = default;
};

// Bounds: a join comes from the network.
inline constexpr std::size_t max_host_length = 253;  // a DNS name's limit
inline constexpr std::size_t max_members = 1024;

// What a seller's unsold lots become when it leaves.
enum class LotsOnLeave : std::uint8_t {
    keep,      // stay on sale; what they earn waits in the ledger until the seller is back
    withdraw,  // leave the market with their seller
};

// Why a change of membership was refused. Nothing was applied.
enum class MembershipError : std::uint8_t {
    none,
    id_in_use,         // a join naming a current member's id
    not_a_member,      // a leave or replica change for an id that is not a member
    last_replica,      // it would leave the market with no replica of the trader's log
    payments_pending,  // a seller leaves only once its payments are acknowledged
    invalid_member,    // id 0, a host too long or with a control character, no role
    too_many_members,  // max_members reached
    unchanged,         // a replica change to what the member already is
};

const char* to_string(MembershipError error) noexcept;
const char* to_string(LotsOnLeave lots) noexcept;
std::ostream& operator<<(std::ostream& out, MembershipError error);

}  // namespace tp::market
