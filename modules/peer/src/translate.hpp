#pragma once

// The one edge between the wire's message model and the cores': election messages and market
// refusals translated both ways here, nowhere else.

#include <optional>

#include "tp/election/messages.hpp"
#include "tp/market/types.hpp"
#include "tp/wire/message.hpp"

namespace tp::peer {

// An election message as the wire carries it; its epoch goes in the envelope.
wire::Body to_wire(const election::Message& message, wire::Epoch& epoch);

// The election message an envelope carries, or nothing for any other kind.
std::optional<election::Message> election_message(const wire::Envelope& envelope);

// The wire's refusal for a market refusal.
wire::RefusalReason to_wire(market::RefuseReason reason) noexcept;

}  // namespace tp::peer
