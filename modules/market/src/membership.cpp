#include "tp/market/membership.hpp"

#include <ostream>

namespace tp::market {

const char* to_string(MembershipError error) noexcept {
    switch (error) {
        case MembershipError::none: return "none";
        case MembershipError::id_in_use: return "id in use";
        case MembershipError::not_a_member: return "not a member";
        case MembershipError::last_replica: return "last replica";
        case MembershipError::payments_pending: return "payments pending";
        case MembershipError::invalid_member: return "invalid member";
        case MembershipError::too_many_members: return "too many members";
        case MembershipError::unchanged: return "unchanged";
    }
    return "unknown membership error";
}

const char* to_string(LotsOnLeave lots) noexcept {
    switch (lots) {
        case LotsOnLeave::keep: return "keep";
        case LotsOnLeave::withdraw: return "withdraw";
    }
    return "unknown";
}

std::ostream& operator<<(std::ostream& out, MembershipError error) {
    return out << to_string(error);
}

bool valid_member(const Member& m) noexcept {
    if (m.id == 0 || !(m.buys || m.sells) || m.host.size() > max_host_length) return false;
    for (const char c : m.host) {
        if (c <= ' ' || c == 0x7f) return false;  // no spaces or control characters (logs, URLs)
    }
    return true;
}

Membership::Membership(std::span<const Member> founders) {
    for (const Member& m : founders) {
        if (members_.insert_or_assign(m.id, m).second && m.voter) ++voters_;
    }
}

const Member* Membership::find(PeerId id) const noexcept {
    const auto it = members_.find(id);
    return it == members_.end() ? nullptr : &it->second;
}

std::vector<PeerId> Membership::ids() const {
    std::vector<PeerId> out;
    out.reserve(members_.size());
    for (const auto& [id, m] : members_) out.push_back(id);
    return out;
}

std::vector<PeerId> Membership::voter_ids() const {
    std::vector<PeerId> out;
    out.reserve(voters_);
    for (const auto& [id, m] : members_)
        if (m.voter) out.push_back(id);
    return out;
}

MembershipError Membership::check(const MemberJoined& e) const {
    // A founder's address is in the config; a newcomer's is only here.
    if (!valid_member(e.member) || e.member.host.empty() || e.member.port == 0)
        return MembershipError::invalid_member;
    if (members_.contains(e.member.id)) return MembershipError::id_in_use;
    if (members_.size() >= max_members) return MembershipError::too_many_members;
    return MembershipError::none;
}

MembershipError Membership::check(const MemberLeft& e) const {
    const Member* m = find(e.id);
    if (m == nullptr) return MembershipError::not_a_member;
    if (m->voter && voters_ == 1) return MembershipError::last_replica;
    return MembershipError::none;
}

MembershipError Membership::check(const VoterChanged& e) const {
    const Member* m = find(e.id);
    if (m == nullptr) return MembershipError::not_a_member;
    if (m->voter == e.voter) return MembershipError::unchanged;
    if (!e.voter && voters_ == 1) return MembershipError::last_replica;
    return MembershipError::none;
}

MembershipError Membership::apply(const MemberJoined& e) {
    if (const auto error = check(e); error != MembershipError::none) return error;
    members_.emplace(e.member.id, e.member);
    if (e.member.voter) ++voters_;
    return MembershipError::none;
}

MembershipError Membership::apply(const MemberLeft& e) {
    if (const auto error = check(e); error != MembershipError::none) return error;
    const auto it = members_.find(e.id);
    if (it->second.voter) --voters_;
    members_.erase(it);
    return MembershipError::none;
}

MembershipError Membership::apply(const VoterChanged& e) {
    if (const auto error = check(e); error != MembershipError::none) return error;
    members_.find(e.id)->second.voter = e.voter;
    if (e.voter)
        ++voters_;
    else
        --voters_;
    return MembershipError::none;
}

}  // namespace tp::market
