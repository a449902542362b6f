#pragma once

// The one edge between the wire's message model and the market's: refusals and the market's
// answers translated here, nowhere else. (The election's messages need no translating: the wire
// carries them as they are.)

#include <utility>

#include "tp/market/events.hpp"
#include "tp/market/types.hpp"
#include "tp/wire/message.hpp"

namespace tp::peer {

// The wire's refusal for a market refusal.
wire::RefusalReason to_wire(market::RefuseReason reason) noexcept;

// The wire's refusal for a membership refusal, and a member as the wire lists it.
wire::MembershipRefusal to_wire(market::MembershipError error) noexcept;
wire::MemberInfo to_wire(const market::Member& member);

// A market answer as the wire carries it, with the peer it goes to. A BuyResult lists the lots
// sold (seller, lot, units, gross amount), the first wire::max_fills of them; its quantity and
// amount are the totals of all.
// A MembershipAnswer is not one of them: its answer lists the membership (Trader::announce).
std::pair<wire::PeerId, wire::Body> to_wire(const market::Output& output);

}  // namespace tp::peer
