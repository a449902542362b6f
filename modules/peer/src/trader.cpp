#include "tp/peer/trader.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <utility>

#include "tp/market/codec.hpp"
#include "tp/mutant/mutant.hpp"
#include "translate.hpp"


namespace tp::peer {

namespace {

market::TimePoint market_time(Time t) {
    return market::TimePoint(t);
}

Time core_time(market::TimePoint t) {
    return std::chrono::duration_cast<Time>(t.time_since_epoch());
}

}  // namespace

Trader::Trader(PeerId self, wire::Epoch epoch, market::Books books, Position durable,
               TraderOptions options, Time now, TraderCounters* counters)
    : self_(self),
      epoch_(epoch),
      books_(std::move(books)),
      options_(std::move(options)),
      counters_(counters != nullptr ? *counters : own_counters_),
      written_(durable),
      durable_(durable),
      next_retry_(now) {
    // Recovered batches get one fresh window on this trader's own clock.
    books_.resume(market_time(now));
}

void Trader::on_message(PeerId from, const wire::Envelope& envelope, Time now) {
    step_.clear();
    if (const auto* d = std::get_if<wire::Deposit>(&envelope.body)) {
        if (d->product >= options_.products) {
            push(outbox_, from, wire::DepositAck{d->lot_id, false, wire::RefusalReason::invalid_request},
                 epoch_);
            return;
        }
        books_.deposit(market::Deposited{from, d->lot_id, d->product, d->quantity, d->unit_price},
                       step_);
    } else if (const auto* b = std::get_if<wire::Buy>(&envelope.body)) {
        books_.submit_buy(
            market::BuyRequest{from, b->request_id, b->product, b->quantity, b->allow_partial},
            envelope.clock, market_time(now), step_);
    } else if (const auto* k = std::get_if<wire::PaymentAck>(&envelope.body)) {
        if (!settle(from, k->payment_id)) return;
    } else if (const auto* acks = std::get_if<wire::PaymentAcks>(&envelope.body)) {
        // Each on its own: the sender's settle; those of other sellers are refused, with one
        // refusal for them all (a forged list costs one report, not one per id).
        std::size_t foreign = 0;
        market::Payment first;  // a copy: settling the others may move the books' payments
        for (const wire::PaymentId id : acks->payment_ids) {
            if (const market::Payment* other = someone_elses(from, id)) {
                if (foreign++ == 0) first = *other;
                continue;
            }
            books_.ack_payment(id, step_);
        }
        if (foreign > 0) {
            refusals_.push_back(
                {from, fmt::format("{} for payments of other sellers (the first: payment {}, "
                                   "peer {}'s)",
                                   foreign == 1 ? std::string("an ack")
                                                : std::to_string(foreign) + " acks",
                                   first.id, first.seller)});
        }
    } else if (const auto* j = std::get_if<wire::Join>(&envelope.body)) {
        const market::Member* known = books_.membership().find(from);
        if (known != nullptr && known->host == j->host && known->port == j->port) {
            // Its retry, or its restart (a founder's names no address: the config holds it):
            // admitted already, it gets the same answer (once the record that admitted it is
            // durable, like any answer resting on the books), and nobody else news.
            step_.outputs.emplace_back(market::MembershipAnswer{
                from, market::MembershipChange::join, market::MembershipError::none, true});
        } else {
            // A newcomer (never a replica: that is a change of its own, one at a time).
            books_.join(market::Member{from, j->buys, j->sells, false, j->host, j->port}, step_);
        }
    } else if (const auto* l = std::get_if<wire::Leave>(&envelope.body)) {
        books_.leave(from, l->withdraw_lots ? market::LotsOnLeave::withdraw : market::LotsOnLeave::keep,
                     step_);
    } else {
        return;
    }
    persist(now);
}

bool Trader::set_voter(PeerId peer, bool voter, Time now) {
    const bool changed = books_.set_voter(peer, voter, step_) == market::MembershipError::none;
    persist(now);
    return changed;
}

const market::Payment* Trader::someone_elses(PeerId from, market::PaymentId id) const {
    // Only the payee settles a payment.
    const market::Payment* paid = books_.payments().find(id);
    return paid != nullptr && paid->seller != from && !TP_MUTANT(accept_any_ack) ? paid : nullptr;
}

bool Trader::settle(PeerId from, market::PaymentId id) {
    if (const market::Payment* other = someone_elses(from, id)) {
        refusals_.push_back(
            {from, fmt::format("an ack for payment {}, which is peer {}'s", id, other->seller)});
        return false;
    }
    books_.ack_payment(id, step_);
    return true;
}

void Trader::on_tick(Time now) {
    // Payments inherited from an earlier reign (at once), or not acknowledged in time.
    if (now >= next_retry_) {
        send_pending_payments(!first_round_);
        first_round_ = false;
        next_retry_ = now + options_.payment_retry;
    }
    // Close due batches of buy requests and serve them in logical-time order.
    if (auto due = books_.next_deadline(); due && *due <= market_time(now)) {
        step_.clear();
        books_.poll(market_time(now), step_);
        persist(now);
    }
}

std::optional<Time> Trader::next_deadline() const noexcept {
    Time deadline = next_retry_;
    if (auto due = books_.next_deadline()) deadline = std::min(deadline, core_time(*due));
    return deadline;
}

void Trader::send_pending_payments(bool resend) {
    for (const auto& p : books_.payments().pending()) {
        // A payment whose sale is not durable yet is still held: it goes out when its sync
        // completes, never before (a crash meanwhile loses the sale).
        const bool held = holds_payment(p.id) && !TP_MUTANT(gather_held_payments);
        if (held || payee_gone(p.seller)) continue;
        if (resend) ++counters_.payments_resent;
        send_output(p);
    }
}

void Trader::persist(Time /*now*/) {
    for (auto& event : step_.events) {
        if (records_used_ == records_.size()) records_.emplace_back();
        TraderRecord& record = records_[records_used_++];
        record.position = ++written_;
        market::encode(event, record.bytes);
        record.event = std::move(event);
        ++counters_.events_persisted;
        ++since_snapshot_;
    }
    // An answer waits for every record handed out so far, not only its own step's: a retried
    // request's recorded answer may rest on records still in flight.
    Position needs = written_;
    if (TP_MUTANT(early_confirm)) needs = 0;  // confirms before the journal is durable
    for (auto& output : step_.outputs) {
        const auto* change = std::get_if<market::MembershipAnswer>(&output);
        if (TP_MUTANT(membership_before_commit) && change != nullptr) {
            // A membership change announced at once, before its record commits.
            if (options_.keep_released) released_.push_back(output);
            announce(*change, needs);
            continue;
        }
        held_.push_back({needs, std::move(output)});
    }
    step_.clear();
    // The sessions, not every answer ever given: those grow with history, and so would the
    // replay a successor does after the last snapshot.
    if (since_snapshot_ >=
        std::max<std::uint64_t>(options_.snapshot_every, books_.sessions_count())) {
        since_snapshot_ = 0;
        snapshot_.emplace(written_, books_.snapshot());
    }
    release();
}

void Trader::on_durable(Position durable) {
    if (durable <= durable_) return;
    durable_ = durable;
    release();
}

void Trader::release() {
    while (!held_.empty() && held_.front().needs <= durable_) {
        market::Output output = std::move(held_.front().output);
        const Position needs = held_.front().needs;
        held_.pop_front();
        if (options_.keep_released) released_.push_back(output);
        if (const auto* a = std::get_if<market::MembershipAnswer>(&output)) {
            announce(*a, needs);
        } else {
            send_output(std::move(output));
        }
    }
}

void Trader::announce(const market::MembershipAnswer& a, Position version) {
    const auto& members = books_.membership().members();
    // The membership as it is now, listed once: for the newcomer and for every other member.
    std::vector<wire::MemberInfo> listed;
    if (a.accepted()) {
        listed.reserve(members.size());
        for (const auto& [id, m] : members) listed.push_back(to_wire(m));
    }
    switch (a.change) {
        case market::MembershipChange::join:
            push(outbox_, a.peer,
                 wire::JoinAnswer{to_wire(a.error), self_, listed, a.accepted() ? version : 0},
                 epoch_);
            break;
        case market::MembershipChange::leave:
            push(outbox_, a.peer, wire::LeaveAnswer{to_wire(a.error), 0, {}}, epoch_);
            break;
        case market::MembershipChange::voter: break;
    }
    if (!a.accepted() || a.again) return;
    membership_changed_ = true;
    // Every other member learns the membership as it is now (a promoted peer too: no answer
    // tells it); the version orders the updates (positions in the log only grow, across reigns).
    const wire::Members update{version, std::move(listed)};
    const bool answered = a.change != market::MembershipChange::voter;
    for (const auto& [id, m] : members) {
        if (id != self_ && (id != a.peer || !answered)) push(outbox_, id, update, epoch_);
    }
}

void Trader::send_output(market::Output output) {
    // A seller that left with its lots kept (LotsOnLeave::keep) can acknowledge nothing: what its
    // lots earn waits in the ledger, and goes out at the first retry after it is back.
    if (const auto* payment = std::get_if<market::Payment>(&output);
        payment != nullptr && payee_gone(payment->seller)) {
        ++counters_.payments_waiting;
        return;
    }
    auto [to, body] = to_wire(output);
    push(outbox_, to, std::move(body), epoch_);
}

bool Trader::payee_gone(PeerId seller) const noexcept {
    const auto& membership = books_.membership();
    return membership.size() != 0 && !membership.contains(seller);  // size 0: no registry
}

bool Trader::holds_payment(market::PaymentId id) const noexcept {
    return std::any_of(held_.begin(), held_.end(), [id](const Held& h) {
        const auto* p = std::get_if<market::Payment>(&h.output);
        return p != nullptr && p->id == id;
    });
}

std::optional<std::pair<Position, std::vector<std::byte>>> Trader::take_snapshot() {
    return std::exchange(snapshot_, std::nullopt);
}

}  // namespace tp::peer
