#include "tp/wire/message.hpp"

#include <ostream>
#include <type_traits>

namespace tp::wire {

const char* to_string(RefusalReason reason) noexcept {
    switch (reason) {
        case RefusalReason::none: return "none";
        case RefusalReason::no_seller: return "no_seller";
        case RefusalReason::insufficient_stock: return "insufficient_stock";
        case RefusalReason::invalid_request: return "invalid_request";
        case RefusalReason::not_trader: return "not_trader";
        case RefusalReason::trader_unavailable: return "trader_unavailable";
        case RefusalReason::amount_overflow: return "amount_overflow";
        case RefusalReason::no_quorum: return "no_quorum";
    }
    return "?";
}

const char* to_string(MembershipRefusal reason) noexcept {
    switch (reason) {
        case MembershipRefusal::none: return "none";
        case MembershipRefusal::id_in_use: return "id_in_use";
        case MembershipRefusal::not_a_member: return "not_a_member";
        case MembershipRefusal::last_replica: return "last_replica";
        case MembershipRefusal::payments_pending: return "payments_pending";
        case MembershipRefusal::invalid_member: return "invalid_member";
        case MembershipRefusal::too_many_members: return "too_many_members";
        case MembershipRefusal::not_trader: return "not_trader";
        case MembershipRefusal::trader_unavailable: return "trader_unavailable";
        case MembershipRefusal::address_mismatch: return "address_mismatch";
    }
    return "?";
}

namespace {

struct KindName {
    const char* operator()(const Deposit&) const noexcept { return "deposit"; }
    const char* operator()(const DepositAck&) const noexcept { return "deposit_ack"; }
    const char* operator()(const Buy&) const noexcept { return "buy"; }
    const char* operator()(const BuyResult&) const noexcept { return "buy_result"; }
    const char* operator()(const Payment&) const noexcept { return "payment"; }
    const char* operator()(const PaymentAck&) const noexcept { return "payment_ack"; }
    const char* operator()(const Election&) const noexcept { return "election"; }
    const char* operator()(const Ok&) const noexcept { return "ok"; }
    const char* operator()(const Coordinator&) const noexcept { return "coordinator"; }
    const char* operator()(const Heartbeat&) const noexcept { return "heartbeat"; }
    // The replication module's names (its kind_name is in its library, which the wire never links).
    const char* operator()(const Append&) const noexcept { return "append"; }
    const char* operator()(const AppendAck&) const noexcept { return "append_ack"; }
    const char* operator()(const StartView&) const noexcept { return "start_view"; }
    const char* operator()(const Recover&) const noexcept { return "recover"; }
    const char* operator()(const LogState&) const noexcept { return "log_state"; }
    const char* operator()(const Fetch&) const noexcept { return "fetch"; }
    const char* operator()(const SnapshotChunk&) const noexcept { return "snapshot_chunk"; }
    const char* operator()(const SnapshotAck&) const noexcept { return "snapshot_ack"; }
    const char* operator()(const Join&) const noexcept { return "join"; }
    const char* operator()(const JoinAnswer&) const noexcept { return "join_answer"; }
    const char* operator()(const Leave&) const noexcept { return "leave"; }
    const char* operator()(const LeaveAnswer&) const noexcept { return "leave_answer"; }
    const char* operator()(const Members&) const noexcept { return "members"; }
    const char* operator()(const Payments&) const noexcept { return "payments"; }
    const char* operator()(const PaymentAcks&) const noexcept { return "payment_acks"; }
};

// The alternative of `Protocol` (a variant of message structs) a body holds, if any.
template <typename Protocol>
std::optional<Protocol> protocol_message(const Body& body) {
    if (body.valueless_by_exception()) return std::nullopt;
    return std::visit(
        [](const auto& m) -> std::optional<Protocol> {
            using T = std::decay_t<decltype(m)>;
            if constexpr (std::is_constructible_v<Protocol, const T&>) {
                return Protocol(m);
            } else {
                return std::nullopt;
            }
        },
        body);
}

}  // namespace

std::optional<tp::election::Message> election_message(const Body& body) {
    return protocol_message<tp::election::Message>(body);
}

Body to_body(const tp::election::Message& message) {
    return std::visit([](const auto& m) { return Body(m); }, message);
}

std::optional<tp::replication::Message> replication_message(const Body& body) {
    return protocol_message<tp::replication::Message>(body);
}

Body to_body(const tp::replication::Message& message) {
    return std::visit([](const auto& m) { return Body(m); }, message);
}

const char* kind_name(const Body& body) noexcept {
    if (body.valueless_by_exception()) return "valueless";
    return std::visit(KindName{}, body);
}

std::ostream& operator<<(std::ostream& out, const Envelope& envelope) {
    return out << kind_name(envelope.body) << ' ' << envelope.sender << "->" << envelope.receiver
               << " epoch " << envelope.epoch << ' ' << envelope.clock;
}

}  // namespace tp::wire
