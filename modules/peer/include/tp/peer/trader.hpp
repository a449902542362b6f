#pragma once

// The trader of one reign as a sans-IO state machine (after etcd-io/raft's Ready and
// msgsAfterAppend): requests and `now` in; records to append, a snapshot when one is due, and
// messages out, where an answer leaves only once every record it rests on is durable
// (on_durable). It knows nothing of files, sockets or real time.

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "tp/market/books.hpp"
#include "tp/market/events.hpp"
#include "tp/peer/journal.hpp"
#include "tp/peer/outbox.hpp"

namespace tp::peer {

struct TraderOptions {
    market::Config market;
    std::size_t products = 0;  // product ids below this are on the market
    // How often payments that sellers have not acknowledged go out again.
    std::chrono::nanoseconds payment_retry = std::chrono::milliseconds(200);
    // Records between snapshots, at least. A snapshot costs time in proportion to the books, so
    // one is due once the records since the last outnumber both this and the sessions on record.
    std::uint64_t snapshot_every = 10'000;
    // Hand back every released output (take_released), for observers such as the simulator's
    // checker. Off: none are kept.
    bool keep_released = false;
};

// What every reign of a peer did, summed (the driver owns it and lends it to each reign).
struct TraderCounters {
    std::uint64_t reigns = 0;  // times this peer became trader
    std::uint64_t events_persisted = 0;
    std::uint64_t syncs = 0;
    std::uint64_t payments_resent = 0;
    // Payments not sent: their seller is no member (it left, keeping its lots on sale).
    std::uint64_t payments_waiting = 0;
};

// An event for the journal, encoded, at the position it takes there.
struct TraderRecord {
    Position position = 0;
    market::Event event;
    std::vector<std::byte> bytes;
};

// Input the trader refused: a PaymentAck not from the payee (for the driver's junk report).
struct TraderRefusal {
    PeerId from = 0;
    std::string detail;
};

class Trader {
public:
    // A reign over `books`, recovered from a journal durable (and written) up to `durable`.
    Trader(PeerId self, wire::Epoch epoch, market::Books books, Position durable,
           TraderOptions options, Time now, TraderCounters* counters = nullptr);

    // Deposit, Buy, PaymentAck(s), Join and Leave; other kinds are not the trader's and are ignored.
    // A join or leave is a record like any other: its answer leaves once the record is durable,
    // and with it the new membership goes to every other member (wire::Members).
    void on_message(PeerId from, const wire::Envelope& envelope, Time now);
    // Issue 18: `peer` joins (or leaves) the replica set. A record like a join: every member
    // (the peer too) learns it once durable. False, with nothing recorded, when the books refuse
    // it (no member, no change, the last replica).
    bool set_voter(PeerId peer, bool voter, Time now);
    // Closes due batches of buy requests; resends unacknowledged payments.
    void on_tick(Time now);
    std::optional<Time> next_deadline() const noexcept;
    // The journal is durable up to `durable`: the answers resting on it may leave.
    void on_durable(Position durable);
    // The journal this reign took over holds `records` after its snapshot (what a successor
    // replays): they count toward the next snapshot, or a market of reigns shorter than the
    // interval would never take one, and every failover would replay the whole history.
    void count_replayed(std::uint64_t records) noexcept { since_snapshot_ += records; }

    // What is ready, to be carried out by the driver and then cleared (its buffers are kept, so
    // the steady state allocates nothing for records): the records to append, in order, each at
    // its position; a snapshot due once they are appended, (covered, state); messages to send;
    // the outputs released (keep_released only); refused input.
    std::span<TraderRecord> records() noexcept { return {records_.data(), records_used_}; }
    void clear_records() noexcept { records_used_ = 0; }
    std::optional<std::pair<Position, std::vector<std::byte>>> take_snapshot();
    Outbox& outbox() noexcept { return outbox_; }
    std::vector<market::Output>& released() noexcept { return released_; }
    std::vector<TraderRefusal>& refusals() noexcept { return refusals_; }

    wire::Epoch epoch() const noexcept { return epoch_; }
    const market::Books& books() const noexcept { return books_; }
    Position written() const noexcept { return written_; }
    Position durable() const noexcept { return durable_; }
    // Whether payment `id` waits for its sale to be durable.
    bool holds_payment(market::PaymentId id) const noexcept;
    // Whether payments to `seller` wait for it: it is no member (it left, its lots kept).
    bool payee_gone(PeerId seller) const noexcept;
    const TraderCounters& counters() const noexcept { return counters_; }
    // Answers waiting for the journal.
    std::size_t held() const noexcept { return held_.size(); }
    // A change of membership was released since the last look (the driver's view of the members,
    // its address book and the election's peers follow the books').
    bool take_membership_changed() noexcept { return std::exchange(membership_changed_, false); }

private:
    struct Held {
        Position needs = 0;
        market::Output output;
    };

    void persist(Time now);
    void release();
    void send_output(market::Output output);
    void announce(const market::MembershipAnswer& answer, Position version);
    void send_pending_payments(bool resend);
    // Settles payment `id` on its payee's ack (false: `from` is not the payee, refused).
    bool settle(PeerId from, market::PaymentId id);
    // The pending payment `id` when it is another seller's than `from`'s (its ack is refused).
    const market::Payment* someone_elses(PeerId from, market::PaymentId id) const;

    PeerId self_;
    wire::Epoch epoch_;
    market::Books books_;
    TraderOptions options_;
    TraderCounters own_counters_;
    TraderCounters& counters_;
    Position written_;
    Position durable_;
    std::deque<Held> held_;
    market::Step step_;
    std::uint64_t since_snapshot_ = 0;
    Time next_retry_;
    bool first_round_ = true;
    std::vector<TraderRecord> records_;  // the first records_used_ are ready
    std::size_t records_used_ = 0;
    std::optional<std::pair<Position, std::vector<std::byte>>> snapshot_;
    Outbox outbox_;
    std::vector<market::Output> released_;
    std::vector<TraderRefusal> refusals_;
    bool membership_changed_ = false;
};

}  // namespace tp::peer
