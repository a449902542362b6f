#pragma once

#include <cstddef>
#include <map>
#include <span>
#include <vector>

#include "tp/market/events.hpp"
#include "tp/market/member.hpp"

namespace tp::market {

// Who is in the market: the founding members (from the cluster's config) and the joins and leaves
// since, as the fold of MemberJoined, MemberLeft and VoterChanged. Part of the books, so it is
// journalled, replicated and snapshotted with them, and a new trader inherits it.
class Membership {
public:
    Membership() = default;
    // Founders are the config's members; their hosts stay empty (the config has their addresses).
    explicit Membership(std::span<const Member> founders);

    const std::map<PeerId, Member>& members() const noexcept { return members_; }
    const Member* find(PeerId id) const noexcept;
    bool contains(PeerId id) const noexcept { return members_.contains(id); }
    std::size_t size() const noexcept { return members_.size(); }
    std::size_t voters() const noexcept { return voters_; }
    std::vector<PeerId> ids() const;
    std::vector<PeerId> voter_ids() const;

    // Why the change cannot be applied, or none. A newcomer needs an address (a host and a port);
    // a change that would leave a market that has replicas with none is refused (last_replica).
    MembershipError check(const MemberJoined& e) const;
    MembershipError check(const MemberLeft& e) const;
    MembershipError check(const VoterChanged& e) const;

    // The fold: applies what check() allows and returns none; otherwise changes nothing and
    // returns why.
    MembershipError apply(const MemberJoined& e);
    MembershipError apply(const MemberLeft& e);
    MembershipError apply(const VoterChanged& e);

    friend bool operator==(const Membership&, const Membership&) = default;

private:
    std::map<PeerId, Member> members_;
    std::size_t voters_ = 0;
};

// Whether a member's fields are within bounds: a non-zero id, some role, a host of at most
// max_host_length printable characters.
bool valid_member(const Member& member) noexcept;

}  // namespace tp::market
