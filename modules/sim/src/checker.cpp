#include "tp/sim/checker.hpp"

#include <fmt/core.h>

#include <algorithm>

#include <type_traits>
#include <variant>

#include "tp/market/codec.hpp"
#include "tp/peer/audit.hpp"
#include "tp/peer/ids.hpp"
#include "tp/replication/replica.hpp"
#include "tp/sim/faults.hpp"

namespace tp::sim {

namespace {

constexpr std::size_t max_violations = 100;

std::string epoch_text(wire::Epoch e) {
    return election::epoch_text(e);
}

// The entries of `clock` that name members of `self`'s market.
clock::VectorClock known_part(const clock::VectorClock& clock, const peer::Node& self) {
    clock::VectorClock known;
    known.merge(clock, self.members());
    return known;
}

}  // namespace

void Checker::violation(std::string text) {
    if (violations_.size() >= max_violations) return;
    if (!seen_.emplace(text, true).second) return;
    violations_.push_back(
        fmt::format("at {}: {}", format_duration(runtime_.now().time_since_epoch()), text));
}

void Checker::check_clock(const peer::Node& self, const clock::VectorClock& clock,
                          const char* where) {
    ++checks_;
    Life& life = lives_[self.id()];
    auto order = clock::compare(life.clock, clock);
    // Entries of peers that left may go (VectorClock::retain); a member's never.
    if (order != clock::Order::before && order != clock::Order::equal)
        order = clock::compare(known_part(life.clock, self), clock);
    if (order != clock::Order::before && order != clock::Order::equal) {
        violation(fmt::format("peer {}'s vector clock went backwards at a {}: {} then {}",
                              self.id(), where, life.clock.to_string(), clock.to_string()));
    }
    life.clock = clock;
}

void Checker::check_epoch(const peer::Node& self) {
    ++checks_;
    Life& life = lives_[self.id()];
    if (self.epoch() < life.epoch) {
        violation(fmt::format("peer {}'s epoch went backwards: {} then {}", self.id(),
                              epoch_text(life.epoch), epoch_text(self.epoch())));
    }
    life.epoch = self.epoch();
    check_election(self);
}

void Checker::check_election(const peer::Node& self) {
    ++checks_;
    const election::Bully& bully = self.election();
    Life& life = lives_[self.id()];
    // Every change of role between two looks is one step, and a peer that declares itself sends
    // its Coordinators before its next receive: so "electing, then following a lower peer" seen
    // here happened in one step, by following a claim mid-election.
    const auto leader = bully.leader();
    if (life.electing && bully.role() == election::Role::follower && leader &&
        *leader < self.id()) {
        violation(fmt::format("peer {} followed lower peer {} in epoch {} while running an "
                              "election it could win (the highest live id must win)",
                              self.id(), *leader, epoch_text(bully.epoch())));
    }
    life.electing = bully.config().candidate && !bully.claims_held() &&
                    (bully.role() == election::Role::candidate ||
                     bully.role() == election::Role::awaiting);
}

void Checker::sent(const peer::Node& self, const wire::Envelope& envelope) {
    check_clock(self, envelope.clock, "send");
    check_epoch(self);
    // Who each payment goes to, and which payees really acknowledged what (a forged datagram
    // never passes through a node's send).
    if (const auto* p = std::get_if<wire::Payment>(&envelope.body)) {
        paying(self, envelope.receiver, *p);
    } else if (const auto* many = std::get_if<wire::Payments>(&envelope.body)) {
        for (const wire::Payment& item : many->items) paying(self, envelope.receiver, item);
    } else if (const auto* a = std::get_if<wire::PaymentAck>(&envelope.body)) {
        acks_sent_.insert({envelope.sender, a->payment_id});
    } else if (const auto* acks = std::get_if<wire::PaymentAcks>(&envelope.body)) {
        for (const wire::PaymentId id : acks->payment_ids) acks_sent_.insert({envelope.sender, id});
    } else if (const auto* b = std::get_if<wire::Buy>(&envelope.body)) {
        auto& latest = asked_[envelope.sender];
        latest = std::max(latest, b->request_id);
    }
}

void Checker::paying(const peer::Node& self, PeerId seller, const wire::Payment& p) {
    payees_[p.payment_id] = seller;
    // Paid only once the sale is durable: first sends and resends alike, alone or gathered.
    ++checks_;
    const auto sale = sales_.find(p.payment_id);
    if (trader_ == self.id() && sale != sales_.end() && sale->second.first == reign_epoch_ &&
        sale->second.second > durable_) {
        violation(fmt::format(
            "trader {} sent payment {} to seller {} before its sale was durable (journal "
            "record {}, durable up to {})",
            self.id(), p.payment_id, seller, sale->second.second, durable_));
    }
}

void Checker::received(const peer::Node& self, const wire::Envelope& envelope) {
    ++checks_;
    // Entries naming non-members are ignored by the receiver's merge, by design.
    if (!clock::happened_before(known_part(envelope.clock, self), self.clock())) {
        violation(
            fmt::format("peer {}'s clock {} after a receive does not dominate the message's {}",
                        self.id(), self.clock().to_string(), envelope.clock.to_string()));
    }
    check_clock(self, self.clock(), "receive");
    check_election(self);
}

void Checker::became_trader(const peer::Node& self, wire::Epoch epoch, const market::Books& books,
                            std::uint64_t durable) {
    ++checks_;
    const PeerId id = self.id();
    const auto life = std::pair{id, self.incarnation()};
    if (auto [it, fresh] = traders_.emplace(epoch, life); !fresh && it->second.first != id) {
        violation(fmt::format("two traders in epoch {}: peers {} and {}", epoch_text(epoch),
                              it->second.first, id));
    } else if (!fresh && it->second != life) {
        // A restarted trader forgot what it appended in that epoch: a second reign in it could
        // put other records at positions the first one used, with the same epoch.
        violation(fmt::format("epoch {} began twice: peer {} led it in life {} and again in life "
                              "{}",
                              epoch_text(epoch), id, it->second.second, life.second));
    }
    if (self.core().replica() != nullptr && !traders_.empty() &&
        epoch < traders_.rbegin()->first) {
        // Quorum mode: a reign whose record committed before a newer reign began, learnt late
        // (its trader paused or cut off). It can commit nothing more (check_committed watches
        // that), and its books rightly lack what the newer reign confirmed.
        return;
    }
    trader_ = id;
    reign_epoch_ = epoch;
    durable_ = durable;
    if (const replication::Replica* replica = self.core().replica()) {
        // Quorum mode: an execution recorded in an earlier reign happened only if its record is
        // in the log this reign adopted (same position, same epoch: the logs match up to there).
        // One that is not was never committed, and may run again.
        for (auto it = executed_.begin(); it != executed_.end();) {
            const auto [at_epoch, at] = it->second;
            const bool kept = at_epoch == epoch || at < replica->first() ||
                              replica->epoch_at(at) == at_epoch;
            it = kept ? std::next(it) : executed_.erase(it);
        }
    }
    // The Audit the run's summary also applies: every outcome confirmed so far survives the
    // failover, unchanged; every payment sent so far is backed by the seller's ledger; every
    // acknowledged deposit is counted deposited; the books' own invariants hold.
    const peer::Audit audit(books);
    for (const auto& [key, answer] : confirmed_) {
        const auto wrong =
            audit.answer({key.first, key.second, answer.filled, answer.quantity, answer.amount});
        if (!wrong) continue;
        violation(fmt::format(
            "peer {}'s {} was confirmed in epoch {} as {} units for {} but trader {} "
            "(epoch {}) has {}",
            key.first, peer::request_text(key.second), epoch_text(answer.epoch), answer.quantity,
            answer.amount, id,
            epoch_text(epoch), *wrong));
    }
    std::map<PeerId, std::vector<market::Money>> paid;
    for (const auto& [payment, p] : paid_) paid[p.seller].push_back(p.amount);
    for (const auto& [seller, amounts] : paid) {
        const auto sum = peer::Audit::total(amounts, [](market::Money m) { return m; });
        if (auto wrong = audit.payments(seller, sum, false)) {
            violation(
                fmt::format("seller {} was sent payments of {} in all, but trader {} (epoch "
                            "{}): {}",
                            seller, sum ? std::to_string(*sum) : "more than fits in Money", id,
                            epoch_text(epoch), *wrong));
        }
    }
    std::map<market::ProductId, std::uint64_t> acked;
    for (const Key& lot : acked_lots_) {
        if (auto it = lots_.find(lot); it != lots_.end())
            acked[it->second.first] += it->second.second;
    }
    for (const auto& [product, units] : acked) {
        if (auto wrong = audit.deposits(product, units)) {
            violation(fmt::format(
                "deposits of {} units of product {} were acknowledged, but trader {} (epoch {}) "
                "has {}",
                units, product, id, epoch_text(epoch), *wrong));
        }
    }
    for (auto& v : audit.invariants()) {
        violation(fmt::format("trader {}'s recovered books: {}", id, v));
    }
    if (const replication::Replica* replica = self.core().replica()) {
        // The books are the log this reign adopted, all of it committed now: its membership
        // records count, though the trader that committed one may have failed unreported.
        for (auto at = replica->first(); at <= replica->last(); ++at) note_members(*replica, at);
    }
    check_membership(id, epoch, books);
    queued_.clear();
    for (const auto& q : books.queued()) {
        queued_[{q.buyer, q.request}] = Queued{q.clock, q.batch};
    }
}

void Checker::served(PeerId trader, const Key& key) {
    ++checks_;
    auto it = queued_.find(key);
    if (it != queued_.end()) {
        // Fair order: nothing of the same batch that happened-before this request still waits.
        for (const auto& [other, q] : queued_) {
            if (other == key || q.batch != it->second.batch) continue;
            if (clock::happened_before(q.stamp, it->second.stamp)) {
                violation(fmt::format(
                    "trader {} served peer {}'s {} before peer {}'s {} of the "
                    "same batch, which happened-before it ({} -> {})",
                    trader, key.first, peer::request_text(key.second), other.first,
                    peer::request_text(other.second), q.stamp.to_string(),
                    it->second.stamp.to_string()));
            }
        }
        queued_.erase(it);
    }
}

void Checker::member_record(PeerId peer, bool joined, wire::Epoch epoch, std::uint64_t at) {
    auto& records = member_records_[peer];
    if (records.contains(at)) return;
    ++checks_;
    const auto a = announced_.find(peer);
    // Announced in this reign, of this kind, since the last change committed: this record is
    // the one the announcement rested on, and it commits only now.
    const bool early = a != announced_.end() && a->second.epoch == epoch &&
                       a->second.joined == joined && a->second.changes == records.size();
    records.insert(at);
    if (!early) return;
    violation(fmt::format("trader of epoch {} announced that peer {} {} before its record "
                          "committed",
                          epoch_text(epoch), peer, joined ? "joined" : "left"));
}

void Checker::note_members(const replication::Replica& replica, std::uint64_t at) {
    const replication::Entry* entry = replica.entry(at);
    if (entry == nullptr || entry->kind == replication::EntryKind::reign) return;
    auto event = market::decode_event(entry->payload);
    if (!event) return;
    if (const auto* j = std::get_if<market::MemberJoined>(&*event))
        member_record(j->member.id, true, entry->epoch, at);
    else if (const auto* l = std::get_if<market::MemberLeft>(&*event))
        member_record(l->id, false, entry->epoch, at);
}

void Checker::check_membership(PeerId trader, wire::Epoch epoch, const market::Books& books) {
    for (const auto& [peer, a] : announced_) {
        // A change committed since: the books rightly differ.
        if (member_records_[peer].size() != a.changes) continue;
        ++checks_;
        const bool member = books.membership().find(peer) != nullptr;
        if (member == a.joined) continue;
        violation(fmt::format("peer {} was told it {} (epoch {}), but trader {} (epoch {}) has it "
                              "{}",
                              peer, a.joined ? "joined" : "left", epoch_text(a.epoch), trader,
                              epoch_text(epoch), member ? "a member" : "not a member"));
    }
}

void Checker::persisted(const peer::Node& self, wire::Epoch epoch, const market::Event& event,
                        std::uint64_t lsn) {
    books_dirty_ = true;
    const PeerId id = self.id();
    std::visit(
        [&](const auto& e) {
            using T = std::decay_t<decltype(e)>;
            if constexpr (std::is_same_v<T, market::Deposited>) {
                lots_[{e.seller, e.lot}] = {e.product, e.quantity};
            } else if constexpr (std::is_same_v<T, market::BuyQueued>) {
                queued_[{e.buyer, e.request}] = Queued{e.clock, e.batch};
            } else if constexpr (std::is_same_v<T, market::MemberJoined>) {
                member_record(e.member.id, true, epoch, lsn);
            } else if constexpr (std::is_same_v<T, market::MemberLeft>) {
                member_record(e.id, false, epoch, lsn);
            } else if constexpr (std::is_same_v<T, market::PaymentAcked>) {
                ++checks_;
                auto payee = payees_.find(e.payment);
                if (payee != payees_.end() && !acks_sent_.contains({payee->second, e.payment})) {
                    violation(fmt::format(
                        "trader {} settled payment {} (epoch {}) although its payee, peer {}, "
                        "never acknowledged it",
                        id, e.payment, epoch_text(epoch), payee->second));
                }
            } else if constexpr (std::is_same_v<T, market::BuyFilled> ||
                                 std::is_same_v<T, market::BuyRefused>) {
                const Key key{e.buyer, e.request};
                served(id, key);
                if constexpr (std::is_same_v<T, market::BuyFilled>) {
                    for (const auto& f : e.fills) sales_[f.payment] = {epoch, lsn};
                }
                auto [it, fresh] = executed_.emplace(key, std::make_pair(epoch, lsn));
                if (!fresh) {
                    violation(fmt::format(
                        "peer {}'s {} executed twice: in epoch {} (journal record {}) "
                        "and again in epoch {} (record {})",
                        key.first, peer::request_text(key.second), epoch_text(it->second.first),
                        it->second.second,
                        epoch_text(epoch), lsn));
                }
            }
        },
        event);
}

void Checker::proposed(const peer::Node& /*self*/, wire::Epoch epoch, const market::Event& event,
                       std::uint64_t lsn) {
    // Quorum mode reports a sale when it commits: known at its proposal, a payment sent before
    // that commit is caught too (the shared journal reports every record as it is appended).
    if (const auto* filled = std::get_if<market::BuyFilled>(&event)) {
        for (const auto& f : filled->fills) sales_[f.payment] = {epoch, lsn};
    }
}

void Checker::synced(const peer::Node& self, std::uint64_t lsn) {
    if (trader_ == self.id() && lsn > durable_) durable_ = lsn;
}

void Checker::released(const peer::Node& self, wire::Epoch epoch, const market::Output& output) {
    if (const auto* d = std::get_if<market::DepositAck>(&output)) {
        if (d->status != market::DepositStatus::rejected) acked_lots_.insert({d->seller, d->lot});
        return;
    }
    if (const auto* p = std::get_if<market::Payment>(&output)) {
        ++checks_;
        auto [it, fresh] = paid_.emplace(p->id, Paid{p->seller, p->amount, p->lot});
        if (!fresh && (it->second.seller != p->seller || it->second.amount != p->amount ||
                       it->second.lot != p->lot)) {
            violation(fmt::format(
                "payment {} was sent twice for different sales: {} to seller {} for lot {}, then "
                "{} to seller {} for lot {} (epoch {})",
                p->id, it->second.amount, it->second.seller, it->second.lot, p->amount, p->seller,
                p->lot, epoch_text(epoch)));
        }
        return;
    }
    if (const auto* m = std::get_if<market::MembershipAnswer>(&output)) {
        if (m->accepted() && m->change != market::MembershipChange::voter) {
            announced_[m->peer] = Announced{m->change == market::MembershipChange::join, epoch,
                                            member_records_[m->peer].size()};
        }
        return;
    }
    const auto* r = std::get_if<market::BuyResult>(&output);
    if (r == nullptr) return;
    ++checks_;
    const Key key{r->buyer, r->request};
    // A delayed duplicate of a request its buyer has moved past gets a refusal and never executes
    // again (market::Books::stale_refusal): not a second answer to it.
    if (const auto asked = asked_.find(r->buyer);
        asked != asked_.end() && asked->second > r->request && !r->filled() &&
        r->reason == market::RefuseReason::invalid_request && r->quantity == 0 && r->amount == 0)
        return;
    Answer answer{r->filled(), r->quantity, r->amount, epoch};
    auto [it, fresh] = confirmed_.emplace(key, answer);
    if (!fresh && (it->second.filled != answer.filled || it->second.quantity != answer.quantity ||
                   it->second.amount != answer.amount)) {
        violation(fmt::format(
            "peer {}'s {} was confirmed twice with different answers: {} units for {} "
            "(epoch {}), then {} units for {} by trader {} (epoch {})",
            key.first, peer::request_text(key.second), it->second.quantity, it->second.amount,
            epoch_text(it->second.epoch), answer.quantity, answer.amount, self.id(),
            epoch_text(epoch)));
    }
}

void Checker::crashed(PeerId peer, std::optional<std::uint64_t> durable) {
    lives_.erase(peer);
    paused_.erase(peer);
    follower_since_.erase(peer);
    if (trader_ != peer) return;
    trader_.reset();
    queued_.clear();
    if (!durable) return;
    // Executions whose events were lost with the journal's tail never happened.
    for (auto it = executed_.begin(); it != executed_.end();) {
        if (it->second.first == reign_epoch_ && it->second.second > *durable) {
            it = executed_.erase(it);
        } else {
            ++it;
        }
    }
}

std::optional<std::uint64_t> Checker::durable_of(PeerId peer) const {
    if (trader_ != peer) return std::nullopt;
    return durable_;
}

void Checker::check_committed(const peer::Node& self) {
    const replication::Replica* replica = self.core().replica();
    if (replica == nullptr) return;
    auto& checked = checked_to_[{self.id(), self.incarnation()}];
    for (auto at = std::max(checked + 1, replica->first()); at <= replica->commit(); ++at) {
        const replication::Entry* entry = replica->entry(at);
        if (entry == nullptr) break;
        ++checks_;
        const auto seen = std::make_pair(entry->epoch, entry->crc);
        auto [it, fresh] = committed_.emplace(at, seen);
        if (fresh) note_members(*replica, at);  // whoever committed it
        if (!fresh && it->second != seen) {
            violation(fmt::format(
                "replicas disagree on committed record {}: one has epoch {} (CRC {:08x}), peer {} "
                "has epoch {} (CRC {:08x})",
                at, epoch_text(it->second.first), it->second.second, self.id(),
                epoch_text(entry->epoch), entry->crc));
        }
    }
    checked = std::max(checked, replica->commit());
}

void Checker::sweep(peer::LocalMarket& market) {
    std::optional<PeerId> serving;
    for (PeerId id : market.peers()) {
        peer::Node* node = market.node(id);
        if (node == nullptr || node->stopped()) continue;
        check_epoch(*node);
        check_committed(*node);
        if (node->is_trader()) {
            // Shared journal: the lock lets one trader serve at a time. Quorum mode: a deposed
            // trader that has not heard of the newer reign (paused, cut off) may still think it
            // serves, but it can commit nothing (check_committed and the audits watch that):
            // only two in one epoch is wrong.
            if (serving) {
                const peer::Node& other = *market.node(*serving);
                if (node->core().replica() == nullptr || other.epoch() == node->epoch()) {
                    violation(fmt::format("peers {} and {} both serve as trader", *serving, id));
                }
            }
            serving = id;
            if (books_dirty_) {
                ++checks_;
                for (auto& v : peer::Audit(*node->books()).invariants()) {
                    violation(fmt::format("trader {}'s books: {}", id, v));
                }
            }
        }
        // The trader does not trade: a request it made before its election waits for its reign
        // to end (the market's own rule, not a liveness failure).
        const bool leads = node->leader() == id;
        if (leads) {
            follower_since_.erase(id);
        } else {
            follower_since_.try_emplace(id, runtime_.now());
        }
        if (quiet_since_ && node->is_buyer() && !leads && !paused_.contains(id)) {
            const auto& out = node->buyer().outstanding;
            if (out && !out->answered) {
                // The clock starts when the faults stopped, the request was made (on the peer's
                // own clock), the peer stopped leading, or it last resumed from a pause, whichever
                // is latest.
                const TimePoint sent = out->sent - node->clock_base();
                auto resumed = resumed_at_.find(id);
                const TimePoint from =
                    std::max({*quiet_since_, sent, follower_since_.at(id),
                              resumed == resumed_at_.end() ? TimePoint{} : resumed->second});
                if (runtime_.now() > from + bound_ && late_.emplace(id, out->request).second) {
                    violation(fmt::format(
                        "liveness: peer {}'s {} is still unanswered {} after the faults "
                        "stopped (bound {})",
                        id, peer::request_text(out->request), format_duration(runtime_.now() - *quiet_since_),
                        format_duration(bound_)));
                }
            }
        }
    }
    books_dirty_ = false;
}

void Checker::paused(PeerId peer, bool is_paused) {
    if (is_paused) {
        paused_.insert(peer);
    } else if (paused_.erase(peer) > 0) {
        resumed_at_[peer] = runtime_.now();
    }
}

void Checker::start_liveness(TimePoint at, runtime::Duration bound) {
    quiet_since_ = at;
    bound_ = bound;
}

void Checker::finish(const peer::Summary& summary) {
    for (const auto& v : summary.violations) violation("end of run: " + v);
}

}  // namespace tp::sim
