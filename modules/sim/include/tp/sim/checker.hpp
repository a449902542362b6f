#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "tp/clock/vector_clock.hpp"
#include "tp/market/books.hpp"
#include "tp/peer/local_market.hpp"
#include "tp/peer/node.hpp"
#include "tp/replication/replica.hpp"

namespace tp::sim {

using clock::PeerId;
using runtime::TimePoint;

// The invariant checker. As a NodeObserver it sees every send, receive, journal append and sync,
// confirmation and new trader, and checks at each; sweep() checks the whole market between
// steps. Violations are kept in order, each once, with the virtual time it was found at.
//
// Invariants:
//   clocks     a peer's vector clock never goes backwards within one life, and a receive's clock
//              dominates the message's
//   epochs     a peer's epoch never goes backwards within one life; at most one trader per epoch
//   election   a peer running an election it may win never follows a lower peer's claim before
//              it ends (the highest live id wins, TC_05; under `defer` only a settled or
//              recovering peer defers to a lower leader)
//   books      the live trader's books pass Books::check_invariants (goods and money conserved,
//              every fill counted once)
//   once       no request is executed twice, nor confirmed with two different answers
//   durable    every outcome confirmed to a buyer is in the books of every later trader, every
//              acknowledged deposit is in its stock, every payment sent is in its ledgers
//   fair       the trader never serves a request before one of the same batch that
//              happened-before it
//   settled    a payment is settled in the books only once its payee has acknowledged it
//   members    a join or leave is announced only once its record is committed (quorum mode
//              reports records as they commit: one that commits after its announcement, in the
//              same reign, was announced early); a peer told it joined (or left) is a member (or
//              not) in the books of every later trader, unless a later change was recorded
//   liveness   after the faults stop, every buyer's pending request is answered within a bound,
//              pauses of other peers notwithstanding (a paused buyer's clock restarts when it
//              resumes)
class Checker final : public peer::NodeObserver {
public:
    explicit Checker(runtime::Runtime& runtime) : runtime_(runtime) {}

    void sent(const peer::Node& self, const wire::Envelope& envelope) override;
    void received(const peer::Node& self, const wire::Envelope& envelope) override;
    void became_trader(const peer::Node& self, wire::Epoch epoch, const market::Books& books,
                       std::uint64_t durable) override;
    void persisted(const peer::Node& self, wire::Epoch epoch, const market::Event& event,
                   std::uint64_t lsn) override;
    void proposed(const peer::Node& self, wire::Epoch epoch, const market::Event& event,
                  std::uint64_t lsn) override;
    void synced(const peer::Node& self, std::uint64_t lsn) override;
    void released(const peer::Node& self, wire::Epoch epoch, const market::Output& output) override;

    // The peer crashed: its next life starts from nothing. If it was the trader, the journal
    // lost every record after `durable` (the power-loss model): executions there never happened.
    void crashed(PeerId peer, std::optional<std::uint64_t> durable = std::nullopt);
    // Highest durable LSN the current trader reported (for the power-loss model), if `peer` is
    // the trader that reported it.
    std::optional<std::uint64_t> durable_of(PeerId peer) const;

    // A look at every live peer between steps: epochs, the trader's books.
    void sweep(peer::LocalMarket& market);
    // From `at` on no fault is injected: every request pending then or issued later must be
    // answered within `bound` of max(at, when it was sent).
    void start_liveness(TimePoint at, runtime::Duration bound);
    // The peer is paused (SIGSTOP) or runs again.
    void paused(PeerId peer, bool is_paused);
    // Adds the end-of-run summary's violations.
    void finish(const peer::Summary& summary);

    const std::vector<std::string>& violations() const noexcept { return violations_; }
    bool ok() const noexcept { return violations_.empty(); }
    std::uint64_t checks() const noexcept { return checks_; }
    std::uint64_t confirmed() const noexcept { return confirmed_.size(); }

private:
    // A payment leaving for `seller`, alone or gathered into a Payments.
    void paying(const peer::Node& self, PeerId seller, const wire::Payment& payment);
    struct Life {
        clock::VectorClock clock;
        wire::Epoch epoch = 0;
        bool electing = false;  // last seen running an election it may win
    };
    struct Answer {
        bool filled = false;
        std::uint32_t quantity = 0;
        market::Money amount = 0;
        wire::Epoch epoch = 0;
    };
    struct Queued {
        clock::VectorClock stamp;
        std::uint64_t batch = 0;  // the batch it was queued in
    };
    using Key = std::pair<PeerId, std::uint64_t>;  // (buyer, request)

    void violation(std::string text);
    void check_clock(const peer::Node& self, const clock::VectorClock& clock, const char* where);
    void check_epoch(const peer::Node& self);
    void check_election(const peer::Node& self);
    void served(PeerId trader, const Key& key);
    // A new trader's books against every join and leave announced so far.
    void check_membership(PeerId trader, wire::Epoch epoch, const market::Books& books);
    // Quorum mode: what `self`'s replica has committed since the last look agrees with every
    // other replica's record at the same position.
    void check_committed(const peer::Node& self);

    runtime::Runtime& runtime_;
    std::map<PeerId, Life> lives_;
    // epoch -> the peer that led it, and in which life
    std::map<wire::Epoch, std::pair<PeerId, std::uint32_t>> traders_;
    std::map<Key, Answer> confirmed_;
    std::map<PeerId, std::uint64_t> asked_;  // each buyer's latest request sent
    // Payments sent to sellers: id -> (seller, amount, lot).
    struct Paid {
        PeerId seller = 0;
        market::Money amount = 0;
        std::uint64_t lot = 0;
    };
    std::map<std::uint64_t, Paid> paid_;
    // Lots as deposited (from the journal), and the ones whose deposit was acknowledged.
    std::map<Key, std::pair<market::ProductId, std::uint64_t>> lots_;
    std::set<Key> acked_lots_;
    // The current reign: its trader, durable LSN, queued requests and requests served.
    std::optional<PeerId> trader_;
    wire::Epoch reign_epoch_ = 0;
    std::uint64_t durable_ = 0;
    std::map<Key, Queued> queued_;
    // Every execution that is still part of history: (epoch, LSN) of its event.
    std::map<Key, std::pair<wire::Epoch, std::uint64_t>> executed_;
    bool books_dirty_ = false;
    std::optional<TimePoint> quiet_since_;
    runtime::Duration bound_{};
    std::set<Key> late_;                          // requests already reported as late
    std::map<PeerId, TimePoint> follower_since_;  // since when a live peer has not led
    std::set<PeerId> paused_;
    // Quorum mode: every committed record seen, by position (its epoch and CRC), and how far each
    // live replica's commit has been checked (reset with each life).
    std::map<std::uint64_t, std::pair<wire::Epoch, std::uint32_t>> committed_;
    std::map<std::pair<PeerId, std::uint32_t>, std::uint64_t> checked_to_;  // (peer, life)
    std::map<PeerId, TimePoint> resumed_at_;
    std::map<std::uint64_t, PeerId> payees_;           // payment -> the seller it was sent to
    // Membership: each peer's changes recorded in any journal so far, and the last join or leave
    // announced to it (joined or not, in which epoch, after how many recorded changes).
    struct Announced {
        bool joined = false;
        wire::Epoch epoch = 0;
        std::size_t changes = 0;  // its membership records committed by then
    };
    // Each peer's membership records committed so far, by log position: reported by the trader
    // that committed them, or found in a replica's committed log (a trader may fail between
    // committing a record and reporting it).
    std::map<PeerId, std::set<std::uint64_t>> member_records_;
    // A membership record committed at `at`; one that commits after its change was announced
    // was announced early.
    void member_record(PeerId peer, bool joined, wire::Epoch epoch, std::uint64_t at);
    // The membership record at `at` of a replica's log, if that is one.
    void note_members(const replication::Replica& replica, std::uint64_t at);
    std::map<PeerId, Announced> announced_;
    // payment -> the reign and journal record of the sale that owes it (this run's sales)
    std::map<std::uint64_t, std::pair<wire::Epoch, std::uint64_t>> sales_;
    std::set<std::pair<PeerId, std::uint64_t>> acks_sent_;  // (payee, payment) acknowledged
    std::vector<std::string> violations_;
    std::map<std::string, bool> seen_;  // a violation reported once
    std::uint64_t checks_ = 0;
};

}  // namespace tp::sim
