#pragma once

// The one edge between the wire's message model and the cores': election messages, market
// refusals and the market's answers translated here, nowhere else.

#include <optional>
#include <utility>

#include "tp/election/messages.hpp"
#include "tp/market/events.hpp"
#include "tp/market/types.hpp"
#include "tp/wire/message.hpp"

namespace tp::peer {

// An election message as the wire carries it; its epoch goes in the envelope.
wire::Body to_wire(const election::Message& message, wire::Epoch& epoch);

// The election message an envelope carries, or nothing for any other kind.
std::optional<election::Message> election_message(const wire::Envelope& envelope);

// The wire's refusal for a market refusal.
wire::RefusalReason to_wire(market::RefuseReason reason) noexcept;

// A market answer as the wire carries it, with the peer it goes to. A BuyResult lists the lots
// sold (seller, lot, units, gross amount), the first wire::max_fills of them; its quantity and
// amount are the totals of all.
std::pair<wire::PeerId, wire::Body> to_wire(const market::Output& output);

}  // namespace tp::peer
