// The books' membership commands and their fold (issue 18): joins, leaves and replica-set
// changes are events like any other, so they are durable, replicated and committed before they
// take effect.
#include <algorithm>
#include <string>
#include <type_traits>

#include "books_internal.hpp"
#include "tp/market/books.hpp"

namespace tp::market {

using detail::inconsistent;
using detail::internal_error;

namespace {

// The answer goes out either way; the event only when the change is allowed.
template <class E>
MembershipError change(Books& books, const E& event, MembershipError error, PeerId peer,
                       MembershipChange kind, Step& out) {
    if (error == MembershipError::none) {
        if (Status s = books.apply(out.events.emplace_back(event)); !s) internal_error(s.error());
    }
    out.outputs.emplace_back(MembershipAnswer{peer, kind, error});
    return error;
}

}  // namespace

MembershipError Books::join(const Member& member, Step& out) {
    const MemberJoined event{member};
    return change(*this, event, membership_.check(event), member.id, MembershipChange::join,
                  out);
}

MembershipError Books::leave(PeerId id, LotsOnLeave lots, Step& out) {
    const MemberLeft event{id, lots == LotsOnLeave::withdraw};
    auto error = membership_.check(event);
    // Settled first: a payment to a peer that left could never be acknowledged.
    if (const auto it = sellers_.find(id);
        error == MembershipError::none && it != sellers_.end() && it->second.pending_count > 0)
        error = MembershipError::payments_pending;
    return change(*this, event, error, id, MembershipChange::leave, out);
}

MembershipError Books::set_voter(PeerId id, bool voter, Step& out) {
    const VoterChanged event{id, voter};
    return change(*this, event, membership_.check(event), id, MembershipChange::voter, out);
}

template <class E>
Status Books::apply_membership(const E& e) {
    if (const auto error = membership_.check(e); error != MembershipError::none) {
        std::string what;
        if constexpr (std::is_same_v<E, MemberJoined>)
            what = "MemberJoined " + std::to_string(e.member.id);
        else if constexpr (std::is_same_v<E, MemberLeft>)
            what = "MemberLeft " + std::to_string(e.id);
        else
            what = "VoterChanged " + std::to_string(e.id);
        return inconsistent(what + ": " + to_string(error));
    }
    if constexpr (std::is_same_v<E, MemberLeft>) {
        // Checked before anything changes, so a rejected event leaves the books as they were.
        if (const auto it = sellers_.find(e.id); it != sellers_.end() && it->second.pending_count)
            return inconsistent("MemberLeft " + std::to_string(e.id) + ": " +
                                std::to_string(it->second.pending_count) + " payments pending");
        if (e.withdraw_lots) withdraw_lots(e.id);
    }
    membership_.apply(e);
    return {};
}

template Status Books::apply_membership(const MemberJoined&);
template Status Books::apply_membership(const MemberLeft&);
template Status Books::apply_membership(const VoterChanged&);

void Books::withdraw_lots(PeerId seller) {
    for (auto& [product, book] : products_) {
        std::erase_if(book.lots, [&](const Lot& lot) {
            if (lot.seller != seller) return false;
            book.in_stock -= lot.remaining;
            book.withdrawn += lot.remaining;
            return true;
        });
    }
}

}  // namespace tp::market
