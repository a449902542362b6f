#pragma once

// The messages peers exchange, as plain C++ values. The Cap'n Proto schema that carries them
// (modules/wire/schema/envelope.capnp) stays private to the wire module.

#include <cstdint>
#include <iosfwd>
#include <optional>
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

// New kinds go at the end: a kind's index is its place in counters (PeerCore's sent_by_kind).
using Body = std::variant<Deposit, DepositAck, Buy, BuyResult, Payment, PaymentAck, Election, Ok,
                          Coordinator, Heartbeat, Append, AppendAck, StartView, Recover, LogState,
                          Fetch, SnapshotChunk, SnapshotAck>;

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
