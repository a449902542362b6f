#pragma once

#include <cstddef>
#include <deque>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "tp/clock/vector_clock.hpp"
#include "tp/market/events.hpp"
#include "tp/market/membership.hpp"
#include "tp/market/types.hpp"

namespace tp::market {

namespace detail {
struct SnapshotCodec;
}

struct BuyRequest {
    PeerId buyer = 0;
    RequestId request = 0;
    ProductId product = 0;
    Quantity quantity = 0;
    bool allow_partial = false;
};

// A lot in stock: what is left of a seller's deposit.
struct Lot {
    PeerId seller = 0;
    LotId id = 0;
    Quantity remaining = 0;
    Money unit_price = 0;

    friend bool operator==(const Lot&, const Lot&) = default;
};

struct ProductBook {
    std::deque<Lot> lots;  // deposit order, oldest first; lots with nothing left are dropped
    std::uint64_t deposited = 0;
    std::uint64_t sold = 0;
    std::uint64_t in_stock = 0;
    std::uint64_t withdrawn = 0;  // units that left with their sellers (LotsOnLeave::withdraw)

    friend bool operator==(const ProductBook&, const ProductBook&) = default;
};

struct SellerLedger {
    std::uint64_t sold = 0;  // units
    Money earned = 0;        // net of commission, acknowledged or not
    Money commission = 0;    // kept by the trader on this seller's sales
    Money pending = 0;       // part of earned whose payments are not acknowledged yet
    std::uint64_t pending_count = 0;

    friend bool operator==(const SellerLedger&, const SellerLedger&) = default;
};

struct BuyerTotals {
    std::uint64_t filled = 0;   // requests that bought something
    std::uint64_t refused = 0;  // requests refused
    std::uint64_t quantity = 0;
    Money spent = 0;

    friend bool operator==(const BuyerTotals&, const BuyerTotals&) = default;
};

// A buyer's client session (the Raft dissertation, section 6.3): only what a retry can still ask
// for, so the de-duplication table is bounded by the number of buyers, not by the requests ever
// answered. A buyer has one request outstanding at a time and its ids only grow (within a life and
// across lives), so that is the latest answer. Answers to requests newer than one of the buyer's
// still queued are kept as well until it is answered (a client that had several outstanding).
struct Session {
    std::vector<BuyResult> answers;  // ascending request ids, never empty

    RequestId latest() const noexcept { return answers.back().request; }
    const BuyResult* find(RequestId request) const noexcept;

    friend bool operator==(const Session&, const Session&) = default;
};

// (buyer, request id) or (seller, lot id): ids are unique per peer only.
struct PeerKey {
    PeerId peer = 0;
    std::uint64_t id = 0;

    friend bool operator==(const PeerKey&, const PeerKey&) = default;
};

struct PeerKeyHash {
    std::size_t operator()(const PeerKey& k) const noexcept {
        std::uint64_t h = (k.id ^ (std::uint64_t{k.peer} << 40)) * 0x9e3779b97f4a7c15ULL;
        return static_cast<std::size_t>(h ^ (h >> 32));
    }
};

// Unacknowledged payments, in id order. Ids are issued in sequence and mostly acknowledged in
// order, so this is a deque: O(1) issue, O(log n) lookup, no node allocations. An acknowledged
// payment leaves once every older one has.
class PaymentQueue {
public:
    PaymentId next_id() const noexcept { return next_id_; }
    std::size_t pending_count() const noexcept { return pending_; }
    const Payment* find(PaymentId id) const noexcept;

    void push(const Payment& payment);  // payment.id must be next_id()
    bool ack(PaymentId id);             // false when id is not pending

    template <class F>
    void for_each(F&& f) const {
        for (const auto& slot : slots_)
            if (slot.pending) f(slot.payment);
    }
    std::vector<Payment> pending() const;

    // For restore: restore(p) for each pending payment in ascending id order, then
    // set_next_id(the snapshot's next id). Both return false for ids out of order.
    bool restore(const Payment& payment);
    bool set_next_id(PaymentId next_id);

    friend bool operator==(const PaymentQueue& a, const PaymentQueue& b);

private:
    struct Slot {
        Payment payment;
        bool pending = false;
    };
    const Slot* slot(PaymentId id) const noexcept;

    std::deque<Slot> slots_;  // ascending ids
    PaymentId next_id_ = 1;
    std::size_t pending_ = 0;
};

// The trader's books: a sans-IO state machine whose state is the fold of its events.
//
// Commands (deposit, submit_buy, poll, ack_payment) validate, build events, apply them, and
// return a Step: the events (for the journal) then the outputs (for the network). apply() is the
// fold; a replica or a new trader rebuilds the same books from a snapshot plus the events after it.
class Books {
public:
    explicit Books(Config config = {});

    const Config& config() const noexcept { return config_; }

    // ---- Commands. Each has an overload appending to a caller's Step (reused: no allocation for
    // the step itself) and one returning a fresh Step.

    // Idempotent per (seller, lot): the same deposit again is acknowledged as a duplicate.
    void deposit(const Deposited& lot, Step& out);
    Step deposit(PeerId seller, LotId lot, ProductId product, Quantity quantity, Money unit_price);

    // Idempotent per (buyer, request): a request whose answer the buyer's session holds gets it
    // again and changes nothing; one still queued is not queued twice; one older than the
    // buyer's latest answered request (the buyer has moved past it: a delayed duplicate) never
    // executes again and gets a refusal (stale_refusal). With a zero window (and nothing queued)
    // the request is processed now; otherwise it joins the open batch.
    void submit_buy(const BuyRequest& request, const clock::VectorClock& stamp, TimePoint now,
                    Step& out);
    Step submit_buy(const BuyRequest& request, const clock::VectorClock& stamp, TimePoint now);
    Step submit_buy(PeerId buyer, RequestId request, ProductId product, Quantity quantity,
                    bool allow_partial, const clock::VectorClock& stamp, TimePoint now);

    // Processes every batch closed by `now`, in the order the batches opened, each in the total
    // order of its requests' clocks.
    void poll(TimePoint now, Step& out);
    Step poll(TimePoint now);
    // When the earliest open batch closes; nullopt when nothing is queued. TimePoint::min() while
    // a recovered batch waits for resume(): it is due for its first poll, which resumes it.
    std::optional<TimePoint> next_deadline() const noexcept;

    // Tells the books their trader's clock after a restore or replay. Deadlines are never part of
    // the durable state (they are values of one process's steady clock), so recovered batches
    // have none: each now gets one fresh window from `now`, and with a zero window is served at
    // the next poll. A fresh window rather than at once so that concurrent requests retried to
    // the new trader can still join the last recovered batch and be ordered with it by logical
    // time; the cost is at most one window of latency, whatever the two processes' clock origins.
    // poll() and submit_buy() resume with their `now` too, so a driver that forgets is late by at
    // most one window, never stalled. Idempotent; batches that have a deadline keep it.
    void resume(TimePoint now);
    // The deadline of a batch that has one (in this process); nullopt otherwise.
    std::optional<TimePoint> batch_deadline(std::uint64_t batch) const noexcept;

    // Idempotent: an unknown or already acknowledged payment changes nothing.
    void ack_payment(PaymentId payment, Step& out);
    Step ack_payment(PaymentId payment);

    // ---- Membership (issue 18). Each appends its event and returns none, or refuses with why and
    // changes nothing. A seller leaves only once its payments are acknowledged (payments_pending);
    // with LotsOnLeave::withdraw its unsold lots leave the stock with it.
    MembershipError join(const Member& member, Step& out);
    MembershipError leave(PeerId id, LotsOnLeave lots, Step& out);
    MembershipError set_voter(PeerId id, bool voter, Step& out);
    const Membership& membership() const noexcept { return membership_; }

    // ---- The fold. Rejects (and leaves the books unchanged by) an event that contradicts them.
    Status apply(const Event& event);

    // ---- Queries.
    const ProductBook* product(ProductId product) const noexcept;
    std::uint64_t in_stock(ProductId product) const noexcept;
    const std::map<ProductId, ProductBook>& products() const noexcept { return products_; }
    SellerLedger seller(PeerId seller) const;
    const std::map<PeerId, SellerLedger>& sellers() const noexcept { return sellers_; }
    BuyerTotals buyer(PeerId buyer) const;
    const std::map<PeerId, BuyerTotals>& buyers() const noexcept { return buyers_; }
    Money commission_total() const noexcept { return commission_total_; }
    const PaymentQueue& payments() const noexcept { return payments_; }
    // The recorded answer to a request while the buyer's session holds it (the latest answered
    // request, and any newer than one still queued), or nullptr.
    const BuyResult* result(PeerId buyer, RequestId request) const noexcept;
    // The buyer's session, or nullptr if none of its requests was answered.
    const Session* session(PeerId buyer) const noexcept;
    const std::map<PeerId, Session>& sessions() const noexcept { return sessions_; }
    // The de-duplication table's size: one session per buyer that was ever answered.
    std::size_t sessions_count() const noexcept { return sessions_.size(); }
    // Requests answered over the life of the market (filled and refused): the buyer totals' sum.
    std::uint64_t answered_count() const noexcept { return answered_; }
    // What a request older than its buyer's latest answered one gets: a refusal, recorded nowhere.
    static BuyResult stale_refusal(const BuyRequest& request);
    // Queued requests, in arrival order.
    const std::vector<BuyQueued>& queued() const noexcept { return queued_; }

    // Every broken invariant, described; empty when the books are sound. Sums are taken exactly
    // (128-bit), so a total that has left the range of its type is reported, never wrapped.
    std::vector<std::string> check_invariants() const;

    // ---- Persistence (Cap'n Proto, schema books.capnp).
    std::vector<std::byte> snapshot() const;
    void snapshot(std::vector<std::byte>& out) const;
    // The books a snapshot describes, checked against every invariant.
    static Result<Books> restore(const Config& config, std::span<const std::byte> snapshot);
    // Decodes and applies one encoded event.
    Status apply_encoded(std::span<const std::byte> event);
    // Snapshot (empty span: fresh books) plus encoded events, in order. The error names the index
    // of the event that failed.
    template <class Range>
    static Result<Books> replay(const Config& config, std::span<const std::byte> snapshot,
                                const Range& events);

    // Equal state; the configuration and the batches' deadlines (process-local) are not part of
    // the state.
    friend bool operator==(const Books& a, const Books& b);

private:
    friend struct detail::SnapshotCodec;

    void execute(const BuyRequest& request, Step& out);
    void refuse(const BuyRequest& request, RefuseReason reason, Step& out);
    void emit_buy_outputs(Step& out);
    Status apply_deposited(const Deposited& e);
    Status apply_queued(const BuyQueued& e);
    // `recorded` receives a copy of the answer now on record, for the command to send; `overflow`
    // is set when the event was rejected because a running total would leave the range of its type.
    Status apply_filled(const BuyFilled& e, BuyResult* recorded = nullptr,
                        bool* overflow = nullptr);
    Status apply_refused(const BuyRefused& e, BuyResult* recorded = nullptr);
    Status apply_acked(const PaymentAcked& e);
    template <class E>
    Status apply_membership(const E& e);
    void withdraw_lots(PeerId seller);
    // What running total the sale would push out of range, described; nullopt if none.
    std::optional<std::string> totals_overflow(const BuyFilled& e, std::uint64_t quantity,
                                               Money amount) const;
    std::vector<BuyQueued>::iterator find_queued(PeerKey key) noexcept;
    void dequeue(PeerKey key);  // the request was answered: it leaves the queue
    // Sessions (sessions.cpp). Why an answer to `key` cannot be recorded (answered already, or
    // older than the buyer's latest answer and not queued), or nullopt.
    std::optional<std::string> unanswerable(PeerKey key) const;
    // Records an answer that unanswerable() allowed (the request leaves the queue), then drops
    // what no retry can ask for any more.
    void record_answer(BuyResult answer);
    void prune_session(PeerId buyer);
    // The request is older than its buyer's latest answer, and not queued.
    bool stale(PeerKey key) const noexcept;

    Config config_;
    std::map<ProductId, ProductBook> products_;
    // Every lot ever deposited, as deposited: recognizes retried deposits.
    std::unordered_map<PeerKey, Deposited, PeerKeyHash> lots_seen_;
    std::map<PeerId, SellerLedger> sellers_;
    std::map<PeerId, BuyerTotals> buyers_;
    Money commission_total_ = 0;
    PaymentQueue payments_;
    // The de-duplication table: one session per buyer.
    std::map<PeerId, Session> sessions_;
    std::vector<BuyQueued> queued_;
    Membership membership_;
    // The number the next batch opened gets; durable (events and snapshot), unlike deadlines.
    std::uint64_t next_batch_ = 1;
    // Count of BuyFilled events applied: cross-checks that no request executed twice.
    std::uint64_t executions_ = 0;
    // Sum of the buyers' filled and refused counts (derived, kept for answered_count()).
    std::uint64_t answered_ = 0;
    // Process-local, never journalled: when each open batch closes, on this trader's clock.
    std::map<std::uint64_t, TimePoint> deadlines_;
    // Some queued batch has no deadline yet (it was recovered): resume() gives it one.
    bool unscheduled_ = false;
};

template <class Range>
Result<Books> Books::replay(const Config& config, std::span<const std::byte> snapshot,
                            const Range& events) {
    Result<Books> books =
        snapshot.empty() ? Result<Books>(Books(config)) : restore(config, snapshot);
    if (!books) return books;
    std::size_t index = 0;
    for (const auto& bytes : events) {
        const std::span<const std::byte> view(std::data(bytes), std::size(bytes));
        if (Status s = books->apply_encoded(view); !s)
            return Error{s.error().code,
                         "event " + std::to_string(index) + ": " + s.error().message};
        ++index;
    }
    return books;
}

}  // namespace tp::market
