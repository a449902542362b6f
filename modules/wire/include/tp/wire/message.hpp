#pragma once

// The messages peers exchange, as plain C++ values. The Cap'n Proto schema that carries them
// (modules/wire/schema/envelope.capnp) stays private to the wire module.

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "tp/clock/vector_clock.hpp"
#include "tp/election/messages.hpp"
#include "tp/replication/messages.hpp"

namespace tp::wire {

using PeerId = tp::clock::PeerId;
using ProductId = std::uint16_t;
using Money = std::int64_t;  // integer minor units, never floating point
using LotId = std::uint64_t;
using RequestId = std::uint64_t;
using PaymentId = std::uint64_t;
using Epoch = tp::election::Epoch;

// The protocol version every encoded envelope carries. Version 2 packs the vector clock
// (envelope.capnp, `clock`); decode still reads version 1 (older builds' clock list) and refuses
// any other.
inline constexpr std::uint16_t protocol_version = 2;

enum class RefusalReason : std::uint16_t {
    none,
    no_seller,
    insufficient_stock,
    invalid_request,
    not_trader,
    trader_unavailable,  // elected, but cannot serve yet
    amount_overflow,     // a total would leave the range of Money
    no_quorum,           // the trader cannot reach enough replicas to commit
};

// The last RefusalReason: decode refuses any value above it.
inline constexpr RefusalReason last_refusal_reason = RefusalReason::no_quorum;

const char* to_string(RefusalReason reason) noexcept;

// Seller -> trader: put a lot up for sale.
struct Deposit {
    LotId lot_id = 0;
    ProductId product = 0;
    std::uint32_t quantity = 0;
    Money unit_price = 0;

    friend bool operator==(const Deposit&, const Deposit&) = default;
};

// Trader -> seller.
struct DepositAck {
    LotId lot_id = 0;
    bool accepted = false;
    RefusalReason reason = RefusalReason::none;

    friend bool operator==(const DepositAck&, const DepositAck&) = default;
};

// Buyer -> trader.
struct Buy {
    RequestId request_id = 0;
    ProductId product = 0;
    std::uint32_t quantity = 0;
    bool allow_partial = false;

    friend bool operator==(const Buy&, const Buy&) = default;
};

// One lot's share of a buy: whose lot, which, how many units and what the buyer paid for them.
struct Fill {
    PeerId seller = 0;
    LotId lot_id = 0;
    std::uint32_t quantity = 0;
    Money amount = 0;  // gross, before commission

    friend bool operator==(const Fill&, const Fill&) = default;
};

// Trader -> buyer: the outcome of a Buy.
struct BuyResult {
    RequestId request_id = 0;
    bool filled = false;
    RefusalReason reason = RefusalReason::none;
    std::uint32_t quantity = 0;
    Money amount = 0;
    std::vector<Fill> fills;  // at most max_fills

    friend bool operator==(const BuyResult&, const BuyResult&) = default;
};

// Trader -> seller: proceeds of a sale.
struct Payment {
    PaymentId payment_id = 0;
    LotId lot_id = 0;
    std::uint32_t quantity = 0;
    Money amount = 0;  // after commission

    friend bool operator==(const Payment&, const Payment&) = default;
};

struct PaymentAck {
    PaymentId payment_id = 0;

    friend bool operator==(const PaymentAck&, const PaymentAck&) = default;
};

// At most this many payments (or acks) in one Payments (PaymentAcks): 4 KiB of payments, smaller
// than a BuyResult with every fill, so a market's byte budget (limits_for_members) stays the same.
inline constexpr std::size_t max_payments_per_message = 128;

// Trader -> seller: the payments a batch made to one seller, in one message; each is settled on
// its own, exactly as if it came alone (issue 17).
struct Payments {
    std::vector<Payment> items;  // at most max_payments_per_message

    friend bool operator==(const Payments&, const Payments&) = default;
};

// Seller -> trader: acknowledges every payment it names.
struct PaymentAcks {
    std::vector<PaymentId> payment_ids;  // at most max_payments_per_message

    friend bool operator==(const PaymentAcks&, const PaymentAcks&) = default;
};

// Bully election: the election module's own messages, carried as they are (one definition).
using tp::election::Coordinator;
using tp::election::Election;
using tp::election::Heartbeat;
using tp::election::Ok;

// Replication of the trader's log: the replication module's own messages, carried as they are.
using tp::replication::Append;
using tp::replication::AppendAck;
using tp::replication::Fetch;
using tp::replication::LogState;
using tp::replication::Recover;
using tp::replication::SnapshotAck;
using tp::replication::SnapshotChunk;
using tp::replication::StartView;

// ---- Membership (issue 18): a peer joins and leaves a running market.

// Why a join or leave was refused (none: accepted).
enum class MembershipRefusal : std::uint16_t {
    none,
    id_in_use,
    not_a_member,
    last_replica,
    payments_pending,
    invalid_member,
    too_many_members,
    not_trader,          // ask the trader this answer names
    trader_unavailable,  // no trader serves yet: ask again later
    address_mismatch,    // the join came from another address than the one it claims
};
inline constexpr MembershipRefusal last_membership_refusal = MembershipRefusal::address_mismatch;
const char* to_string(MembershipRefusal reason) noexcept;

// Bounds: a host name's length (DNS), and the members one message may list.
inline constexpr std::size_t max_host_bytes = 253;
inline constexpr std::size_t max_members_listed = 1024;

struct MemberInfo {
    PeerId id = 0;
    bool buys = false;
    bool sells = false;
    bool voter = false;  // keeps a replica of the trader's log
    std::string host;    // empty for a founding member: the cluster's config has its address
    std::uint16_t port = 0;

    friend bool operator==(const MemberInfo&, const MemberInfo&) = default;
};

// Newcomer -> any member, then the trader: let me in. The sender's id is the envelope's.
struct Join {
    bool buys = false;
    bool sells = false;
    std::string host;  // where the newcomer listens
    std::uint16_t port = 0;

    friend bool operator==(const Join&, const Join&) = default;
};

// -> newcomer. Accepted: every member, the trader included. not_trader: the trader's entry, to
// ask it instead. Otherwise refused, and nothing was applied.
struct JoinAnswer {
    MembershipRefusal reason = MembershipRefusal::none;
    PeerId trader = 0;
    std::vector<MemberInfo> members;  // at most max_members_listed
    // The log position the list is as of, ordered with Members::version, so that an update older
    // than the answer changes nothing (0: unknown, an older build's or a member's redirect).
    std::uint64_t version = 0;

    friend bool operator==(const JoinAnswer&, const JoinAnswer&) = default;
};

// Member -> trader: remove me (a seller's unsold lots leave with it, or stay on sale).
struct Leave {
    bool withdraw_lots = false;
    // Where the leaver listens (empty for a founder): a member that no longer lists it (its leave
    // committed, the answer was lost, the trader changed) can still answer it.
    std::string host;
    std::uint16_t port = 0;

    friend bool operator==(const Leave&, const Leave&) = default;
};

struct LeaveAnswer {
    MembershipRefusal reason = MembershipRefusal::none;
    // not_trader: the trader the answering member follows (0: none known), where to ask next.
    PeerId trader = 0;
    // not_trader: that trader's entry when the answering member knows it (its address, should
    // the leaver not list it), else empty.
    std::vector<MemberInfo> members;

    friend bool operator==(const LeaveAnswer&, const LeaveAnswer&) = default;
};

// Trader -> every member, after a change of membership committed: the whole membership.
struct Members {
    std::uint64_t version = 0;        // membership changes committed so far
    std::vector<MemberInfo> members;  // at most max_members_listed

    friend bool operator==(const Members&, const Members&) = default;
};

// New kinds go at the end: a kind's index is its place in counters (PeerCore's sent_by_kind).
using Body = std::variant<Deposit, DepositAck, Buy, BuyResult, Payment, PaymentAck, Election, Ok,
                          Coordinator, Heartbeat, Append, AppendAck, StartView, Recover, LogState,
                          Fetch, SnapshotChunk, SnapshotAck, Join, JoinAnswer, Leave, LeaveAnswer,
                          Members, Payments, PaymentAcks>;

// The election message a body carries, or nothing for another kind.
std::optional<tp::election::Message> election_message(const Body& body);

// An election message as a body.
Body to_body(const tp::election::Message& message);

// The replication message a body carries, or nothing for another kind.
std::optional<tp::replication::Message> replication_message(const Body& body);

// A replication message as a body.
Body to_body(const tp::replication::Message& message);

// One datagram: who, to whom, in which epoch, at what logical time, and what.
//
// For an election kind the epoch is the message's own: encode refuses an envelope whose epoch
// differs from it (or a Heartbeat whose leader is not its sender), decode fills it from the
// envelope and refuses a Coordinator whose epoch field disagrees with the envelope's. The same
// holds for every replication kind but Recover (which has no epoch): its epoch travels once, in
// the envelope.
struct Envelope {
    PeerId sender = 0;
    PeerId receiver = 0;
    Epoch epoch = 0;
    tp::clock::VectorClock clock;
    Body body;

    friend bool operator==(const Envelope&, const Envelope&) = default;
};

// "deposit", "buy_result", ...: for logs.
const char* kind_name(const Body& body) noexcept;

// One-line summary for logs and test failures, e.g. "buy 3->5 epoch 2 {3:4}".
std::ostream& operator<<(std::ostream& out, const Envelope& envelope);

}  // namespace tp::wire
