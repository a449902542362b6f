#include "tp/sim/attacker.hpp"

#include <fmt/core.h>

#include "tp/election/messages.hpp"
#include "tp/wire/codec.hpp"

namespace tp::sim {

namespace {

enum class Kind : std::uint8_t {
    maximal_election,
    maximal_claim,
    far_claim,
    inflated_clock,
    foreign_clock,
    forged_payment,
    forged_result,
    forged_ack,
    far_view,       // the replicated log's epochs: as plausible as the election's, or dropped
    far_log_state,
};
constexpr std::uint64_t kinds = 10;

}  // namespace

PeerId Attacker::pick(const std::vector<PeerId>& ids) {
    return ids[rng_.uniform_int(0, ids.size() - 1)];
}

void Attacker::send(PeerId from, PeerId to, wire::Epoch epoch, wire::Body body,
                    clock::VectorClock clock) {
    if (clock.empty()) clock.set(from, 1);
    const wire::Envelope e{from, to, epoch, std::move(clock), std::move(body)};
    std::vector<std::byte> bytes;
    try {
        bytes = wire::encode(e);
    } catch (const std::exception&) {
        return;  // larger than a datagram: nobody could send it
    }
    // The trader may be a newcomer this member has not heard of yet (a promoted one, issue 18):
    // nobody it could seal for.
    if (guard_ != nullptr && !guard_->is_member(to)) return;
    if (guard_ != nullptr) {
        // A member holds the key: it seals its hostile envelopes as its node seals any other.
        std::vector<std::byte> frame(auth::frame_overhead + bytes.size());
        std::copy(bytes.begin(), bytes.end(), frame.begin() + auth::header_size);
        frame.resize(guard_->seal(to, frame, bytes.size()));
        bytes = std::move(frame);
    }
    network_.inject(from, to, bytes);
    ++sent_;
}

std::string Attacker::strike(peer::LocalMarket& market) {
    const auto& ids = market.peers();
    const auto kind = static_cast<Kind>(rng_.uniform_int(0, kinds - 1));
    if (ids.size() < 2) return {};
    const PeerId from = self_;
    // Its own node's guard (null with security off); while its node is down it waits.
    peer::Node* me = market.node(self_);
    if (me == nullptr) return {};
    guard_ = me->guard();
    std::vector<PeerId> others;
    for (PeerId p : ids) {
        // A newcomer it has not heard of yet is nobody it could seal for (churn).
        if (p != from && (guard_ == nullptr || guard_->is_member(p))) others.push_back(p);
    }
    if (others.empty()) return {};
    const PeerId to = pick(others);
    const auto trader = market.trader();
    const peer::Node* t = trader ? market.node(*trader) : nullptr;
    const wire::Epoch epoch = t ? t->epoch() : wire::Epoch{0};
    // Whether `from` is what `peer` takes for its trader: then its payments and answers would
    // be a trader's, which is no forgery.
    const auto leads_for = [&](PeerId peer) {
        const peer::Node* n = market.node(peer);
        const peer::Node* self = market.node(from);
        return (n != nullptr && n->leader() == from) ||
               (self != nullptr && self->election().is_leader());
    };
    switch (kind) {
        case Kind::maximal_election: {
            const auto e = election::make_epoch(election::max_term, from);
            send(from, to, e, wire::Election{e});
            return fmt::format("peer {} -> {}: Election with the last term", from, to);
        }
        case Kind::maximal_claim: {
            const auto e = election::make_epoch(election::max_term, from);
            send(from, to, e, wire::Coordinator{from, e});
            return fmt::format("peer {} -> {}: Coordinator claiming the last term", from, to);
        }
        case Kind::far_claim: {
            const auto e = election::make_epoch(
                election::epoch_term(epoch) + 2 * election::max_term_step, from);
            send(from, to, e, wire::Heartbeat{from, e});
            return fmt::format("peer {} -> {}: Heartbeat claiming term {}", from, to,
                               election::epoch_term(e));
        }
        case Kind::inflated_clock: {
            clock::VectorClock c;
            for (PeerId p = 1; p <= 2000; ++p) c.set(1'000'000 + p, 1);
            send(from, to, epoch, wire::Heartbeat{from, epoch}, std::move(c));
            return fmt::format("peer {} -> {}: a clock of 2000 invented peers", from, to);
        }
        case Kind::foreign_clock: {
            clock::VectorClock c;
            c.set(from, 1);
            c.set(900'000, 1 + rng_.uniform_int(0, 1000));
            send(from, to, epoch, wire::PaymentAck{(std::uint64_t{1} << 63) | ++next_id_},
                 std::move(c));
            return fmt::format("peer {} -> {}: a clock naming a non-member", from, to);
        }
        case Kind::forged_payment: {
            if (leads_for(to)) return {};
            const auto amount = static_cast<wire::Money>(rng_.uniform_int(1, 555'555'555));
            send(from, to, epoch,
                 wire::Payment{(std::uint64_t{1} << 62) | ++next_id_, 1, 1, amount});
            return fmt::format("peer {} -> {}: Payment of {} as if the trader", from, to, amount);
        }
        case Kind::forged_result: {
            const peer::Node* buyer = market.node(to);
            if (buyer == nullptr || leads_for(to)) return {};
            const auto& out = buyer->buyer().outstanding;
            if (!out || out->answered) return {};
            wire::BuyResult r;
            r.request_id = out->request;
            r.filled = true;
            r.quantity = out->quantity;
            r.amount = 0;
            send(from, to, epoch, std::move(r));
            return fmt::format("peer {} -> {}: a free BuyResult for request {}", from, to,
                               out->request);
        }
        case Kind::forged_ack: {
            if (t == nullptr || t->books() == nullptr) return {};
            const auto pending = t->books()->payments().pending();
            std::string what;
            for (const auto& p : pending) {
                if (p.seller == from || *trader == from) continue;
                send(from, *trader, epoch, wire::PaymentAck{p.id});
                what += fmt::format("{}peer {} acks payment {} of seller {}",
                                    what.empty() ? "" : "; ", from, p.id, p.seller);
            }
            return what;
        }
        case Kind::far_view: {
            const auto e = election::make_epoch(
                election::epoch_term(epoch) + 2 * election::max_term_step, from);
            send(from, to, e, replication::StartView{e});
            return fmt::format("peer {} -> {}: StartView of term {}", from, to,
                               election::epoch_term(e));
        }
        case Kind::far_log_state: {
            if (trader == std::nullopt || *trader == from) return {};
            const auto e = election::make_epoch(
                election::epoch_term(epoch) + 2 * election::max_term_step, from);
            replication::LogState state;
            state.epoch = e;
            send(from, *trader, e, state);
            return fmt::format("peer {} -> {}: a log state joined to term {}", from, *trader,
                               election::epoch_term(e));
        }
    }
    return {};
}

}  // namespace tp::sim
