#include "translate.hpp"

#include "tp/wire/codec.hpp"

#include <type_traits>

namespace tp::peer {

wire::Body to_wire(const election::Message& message, wire::Epoch& epoch) {
    return std::visit(
        [&](const auto& x) -> wire::Body {
            using T = std::decay_t<decltype(x)>;
            epoch = x.epoch;
            if constexpr (std::is_same_v<T, election::Election>) {
                return wire::Election{};
            } else if constexpr (std::is_same_v<T, election::Ok>) {
                return wire::Ok{};
            } else if constexpr (std::is_same_v<T, election::Coordinator>) {
                return wire::Coordinator{x.leader, x.epoch};
            } else {
                return wire::Heartbeat{};
            }
        },
        message);
}

std::optional<election::Message> election_message(const wire::Envelope& envelope) {
    if (std::holds_alternative<wire::Election>(envelope.body)) {
        return election::Election{envelope.epoch};
    }
    if (std::holds_alternative<wire::Ok>(envelope.body)) return election::Ok{envelope.epoch};
    if (const auto* c = std::get_if<wire::Coordinator>(&envelope.body)) {
        return election::Coordinator{c->leader, c->epoch};
    }
    if (std::holds_alternative<wire::Heartbeat>(envelope.body)) {
        return election::Heartbeat{envelope.sender, envelope.epoch};
    }
    return std::nullopt;
}

wire::RefusalReason to_wire(market::RefuseReason reason) noexcept {
    switch (reason) {
        case market::RefuseReason::no_seller: return wire::RefusalReason::no_seller;
        case market::RefuseReason::insufficient_stock:
            return wire::RefusalReason::insufficient_stock;
        case market::RefuseReason::invalid_request: return wire::RefusalReason::invalid_request;
        case market::RefuseReason::amount_overflow: return wire::RefusalReason::amount_overflow;
    }
    return wire::RefusalReason::invalid_request;
}

std::pair<wire::PeerId, wire::Body> to_wire(const market::Output& output) {
    if (const auto* ack = std::get_if<market::DepositAck>(&output)) {
        const bool accepted = ack->status != market::DepositStatus::rejected;
        return {ack->seller, wire::DepositAck{ack->lot, accepted,
                                              accepted ? wire::RefusalReason::none
                                                       : wire::RefusalReason::invalid_request}};
    }
    if (const auto* r = std::get_if<market::BuyResult>(&output)) {
        wire::BuyResult result;
        result.request_id = r->request;
        result.filled = r->filled();
        result.reason = r->filled() ? wire::RefusalReason::none : to_wire(r->reason);
        result.quantity = r->quantity;
        result.amount = r->amount;
        for (const market::Fill& f : r->fills) {
            if (result.fills.size() == wire::max_fills) break;
            result.fills.push_back(wire::Fill{f.seller, f.lot, f.quantity, f.amount});
        }
        // A record from before the books kept the lots names only the sellers.
        if (r->fills.empty()) {
            for (market::PeerId seller : r->sellers) {
                if (result.fills.size() == wire::max_fills) break;
                result.fills.push_back(wire::Fill{seller, 0, 0, 0});
            }
        }
        return {r->buyer, std::move(result)};
    }
    const auto& p = std::get<market::Payment>(output);
    return {p.seller, wire::Payment{p.id, p.lot, p.quantity, p.amount}};
}

}  // namespace tp::peer
