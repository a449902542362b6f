#pragma once

#include <cstdint>
#include <variant>
#include <vector>

#include "tp/clock/vector_clock.hpp"
#include "tp/market/inline_vec.hpp"
#include "tp/market/member.hpp"
#include "tp/market/types.hpp"

namespace tp::market {

// ---- Events: every change of the books. The books are the fold of these (Books::apply). ----

// A seller's lot entered the books.
struct Deposited {
    PeerId seller = 0;
    LotId lot = 0;
    ProductId product = 0;
    Quantity quantity = 0;
    Money unit_price = 0;

    friend bool operator==(const Deposited&, const Deposited&) = default;
};

// A buy request joined batch `batch`; it waits there until poll() finds the batch closed.
// No time is recorded: a deadline is a value of one process's steady clock, meaningless to the
// trader that recovers this event, so each trader keeps its batches' deadlines in memory and
// rebuilds them for recovered batches from its own clock (Books::resume).
struct BuyQueued {
    PeerId buyer = 0;
    RequestId request = 0;
    ProductId product = 0;
    Quantity quantity = 0;
    bool allow_partial = false;
    clock::VectorClock clock;  // the request's stamp: orders the batch
    std::uint64_t batch = 0;   // batches are numbered in the order they open; 0 in old journals
    // Always 0 in the shipped library, which neither writes nor reads it. Only the simulator's
    // broken variant (TP_MUTANT(process_time_in_books)) still journals the old trader's deadline
    // here (schema field batchCloseNsDeprecated) and trusts it on recovery. A field rather than an
    // #ifdef so that the struct has one layout in every build.
    std::int64_t batch_close_ns_deprecated = 0;

    friend bool operator==(const BuyQueued&, const BuyQueued&) = default;
};

// One lot's portion of a sale. The seller is owed amount - commission, as payment `payment`.
struct Fill {
    PeerId seller = 0;
    LotId lot = 0;
    Quantity quantity = 0;
    Money amount = 0;      // quantity x the lot's unit price, paid by the buyer
    Money commission = 0;  // the trader's share of amount
    PaymentId payment = 0;

    Money net() const noexcept { return amount - commission; }
    friend bool operator==(const Fill&, const Fill&) = default;
};

// A buy executed: the fills, oldest lot first. Fewer units than requested means a partial fill.
struct BuyFilled {
    PeerId buyer = 0;
    RequestId request = 0;
    ProductId product = 0;
    Quantity requested = 0;
    InlineVec<Fill, 2> fills;

    friend bool operator==(const BuyFilled&, const BuyFilled&) = default;
};

// A buy refused; recorded, so a retry gets the same answer.
struct BuyRefused {
    PeerId buyer = 0;
    RequestId request = 0;
    ProductId product = 0;
    Quantity requested = 0;
    RefuseReason reason = RefuseReason::invalid_request;

    friend bool operator==(const BuyRefused&, const BuyRefused&) = default;
};

// The seller confirmed a payment; it is no longer resent.
struct PaymentAcked {
    PaymentId payment = 0;

    friend bool operator==(const PaymentAcked&, const PaymentAcked&) = default;
};

// A peer joined the market.
struct MemberJoined {
    Member member;

    friend bool operator==(const MemberJoined&, const MemberJoined&) = default;
};

// A member left; with `withdraw_lots` its unsold lots left with it.
struct MemberLeft {
    PeerId id = 0;
    bool withdraw_lots = false;

    friend bool operator==(const MemberLeft&, const MemberLeft&) = default;
};

// A member joined or left the replica set: one member at a time, so any quorum of the old set and
// any of the new one overlap.
struct VoterChanged {
    PeerId id = 0;
    bool voter = false;

    friend bool operator==(const VoterChanged&, const VoterChanged&) = default;
};

using Event = std::variant<Deposited, BuyQueued, BuyFilled, BuyRefused, PaymentAcked, MemberJoined,
                           MemberLeft, VoterChanged>;

const char* event_name(const Event& event) noexcept;

// ---- Outputs: messages for the driver to send once the events before them are durable. ----

struct DepositAck {
    PeerId seller = 0;
    LotId lot = 0;
    DepositStatus status = DepositStatus::accepted;
    DepositError error = DepositError::none;

    friend bool operator==(const DepositAck&, const DepositAck&) = default;
};

struct BuyResult {
    PeerId buyer = 0;
    RequestId request = 0;
    ProductId product = 0;
    BuyStatus status = BuyStatus::refused;
    RefuseReason reason = RefuseReason::invalid_request;  // meaningful when refused
    Quantity requested = 0;
    Quantity quantity = 0;         // units bought
    Money amount = 0;              // paid by the buyer, commission included
    InlineVec<PeerId, 4> sellers;  // distinct, in the order their lots were sold
    InlineVec<Fill, 2> fills;      // the lots sold, oldest first: what the buyer is told

    bool filled() const noexcept { return status != BuyStatus::refused; }
    friend bool operator==(const BuyResult&, const BuyResult&) = default;
};

struct Payment {
    PaymentId id = 0;
    PeerId seller = 0;
    LotId lot = 0;
    ProductId product = 0;
    Quantity quantity = 0;
    Money amount = 0;  // net of commission

    friend bool operator==(const Payment&, const Payment&) = default;
};

// The answer to a change of membership: to the peer that joined or left (or whose replica role
// changed). error none: applied.
enum class MembershipChange : std::uint8_t { join, leave, voter };

struct MembershipAnswer {
    PeerId peer = 0;
    MembershipChange change = MembershipChange::join;
    MembershipError error = MembershipError::none;
    // Given again (a retry, a restart of a member already admitted): it changes nothing, so
    // nobody else is told.
    bool again = false;

    bool accepted() const noexcept { return error == MembershipError::none; }
    friend bool operator==(const MembershipAnswer&, const MembershipAnswer&) = default;
};

using Output = std::variant<DepositAck, BuyResult, Payment, MembershipAnswer>;

// What one command did. The events are already applied to the books; the driver makes them
// durable (in order) and only then sends the outputs, which every event up to this step justifies.
// A step with outputs and no events (a retry answered from the record) still waits for the events
// of earlier steps, since its answer may rest on them: keep outputs in step order.
struct Step {
    std::vector<Event> events;
    std::vector<Output> outputs;

    bool empty() const noexcept { return events.empty() && outputs.empty(); }
    void clear() noexcept {
        events.clear();
        outputs.clear();
    }
};

}  // namespace tp::market
