#include "translate.hpp"

#include "tp/wire/codec.hpp"

namespace tp::peer {

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

wire::MembershipRefusal to_wire(market::MembershipError error) noexcept {
    using E = market::MembershipError;
    using R = wire::MembershipRefusal;
    switch (error) {
        case E::none: return R::none;
        case E::id_in_use: return R::id_in_use;
        case E::not_a_member: return R::not_a_member;
        case E::last_replica: return R::last_replica;
        case E::payments_pending: return R::payments_pending;
        case E::invalid_member: return R::invalid_member;
        case E::too_many_members: return R::too_many_members;
        case E::unchanged: return R::invalid_member;
    }
    return R::invalid_member;
}

wire::MemberInfo to_wire(const market::Member& m) {
    return wire::MemberInfo{m.id, m.buys, m.sells, m.voter, m.host, m.port};
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
