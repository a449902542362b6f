#include "tp/peer/peer_core.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <utility>

#include "tp/market/codec.hpp"
#include "tp/peer/books.hpp"
#include "translate.hpp"

namespace tp::peer {

namespace {

// The list a gathered kind keeps, and what one message of its single kind puts in it.
std::vector<wire::Payment>& items(wire::Payments& m) {
    return m.items;
}
std::vector<wire::PaymentId>& items(wire::PaymentAcks& m) {
    return m.payment_ids;
}
const wire::Payment& item(const wire::Payment& p) {
    return p;
}
wire::PaymentId item(const wire::PaymentAck& a) {
    return a.payment_id;
}

// `body` (a Single, or the Many that gathers them) takes `next` too, unless it is full.
template <class Many, class Single>
bool append(wire::Body& body, const Single& next) {
    if (const auto* single = std::get_if<Single>(&body)) {
        Many both;
        items(both).reserve(4);
        items(both).push_back(item(*single));
        items(both).push_back(item(next));
        body = std::move(both);
        return true;
    }
    auto* many = std::get_if<Many>(&body);
    if (many == nullptr || items(*many).size() >= wire::max_payments_per_message) return false;
    items(*many).push_back(item(next));
    return true;
}

std::vector<PeerId> members_of(const PeerCoreOptions& o) {
    std::vector<PeerId> m = o.peers;
    m.push_back(o.self);
    std::sort(m.begin(), m.end());
    m.erase(std::unique(m.begin(), m.end()), m.end());
    return m;
}

// A newcomer is a customer (issue 18): the set is the founders', without it.
replication::Options replication_of(PeerCoreOptions& o, const std::vector<PeerId>& members) {
    replication::Options r = std::move(o.replication);
    r.self = o.self;
    std::vector<PeerId> founders = members;
    if (o.join) std::erase(founders, o.self);
    r.replicas = replica_set(founders, o.replica_count);
    // Outside the set: a customer, whose replica (once promoted) counts from its config record on.
    r.learner = !std::binary_search(r.replicas.begin(), r.replicas.end(), o.self);
    // The set changes through the books' own records (issue 18): a voter change, or a leave.
    r.read_change = [](std::span<const std::byte> payload) -> std::optional<replication::VoterChange> {
        const auto event = market::decode_event(payload);
        if (!event) return std::nullopt;
        if (const auto* v = std::get_if<market::VoterChanged>(&*event))
            return replication::VoterChange{v->id, v->voter};
        if (const auto* left = std::get_if<market::MemberLeft>(&*event))
            return replication::VoterChange{left->id, false};
        return std::nullopt;
    };
    // A snapshot is the books: the set is their voters (none in books without a registry).
    r.read_voters = [options = o.trader.market](std::span<const std::byte> snapshot)
        -> std::optional<std::vector<PeerId>> {
        auto books = market::Books::restore(options, snapshot);
        if (!books) return std::nullopt;
        auto voters = books->membership().voter_ids();
        if (voters.empty()) return std::nullopt;
        return voters;
    };
    return r;
}

// `candidate`: in quorum mode only a replica can lead, since a trader needs its own copy of the log.
election::Config election_config(const PeerCoreOptions& o, bool candidate) {
    election::Config c = o.election;
    c.self = o.self;
    c.candidate = candidate;
    c.peers.clear();
    for (PeerId p : o.peers) {
        if (p != o.self) c.peers.push_back(p);
    }
    return c;
}

}  // namespace

std::vector<PeerId> replica_set(std::span<const PeerId> members, std::uint32_t count) {
    std::vector<PeerId> set(members.begin(), members.end());
    std::sort(set.begin(), set.end());
    set.erase(std::unique(set.begin(), set.end()), set.end());
    if (set.size() > count) set.erase(set.begin(), set.end() - count);
    return set;
}

bool keeps_replica(std::span<const PeerId> members, std::uint32_t count, PeerId peer) {
    const auto set = replica_set(members, count);
    return std::binary_search(set.begin(), set.end(), peer);
}

PeerCoreOptions PeerCoreOptions::from(const Config& config, PeerId self, Role role,
                                      std::vector<PeerId> peers, std::uint32_t incarnation) {
    PeerCoreOptions o;
    o.self = self;
    o.role = role;
    o.peers = std::move(peers);
    o.incarnation = incarnation;
    o.election.heartbeat_interval = config.election.heartbeat_interval;
    o.election.election_timeout = config.election.election_timeout;
    o.election.answer_timeout = config.election.answer_timeout;
    o.election.coordinator_timeout = config.election.election_timeout;
    o.election.policy = config.failure.policy;
    o.buyer = BuyerOptions::from(config);
    o.seller = SellerOptions::from(config);
    o.trader.market = market_config(config);
    o.trader.products = config.market.products.size();
    o.trader.snapshot_every = config.storage.snapshot_every;
    o.replicated = config.replication.mode == ReplicationMode::quorum;
    o.replica_count = config.replication.replicas;
    o.promote = config.replication.promote;
    o.replication.retry = config.replication.retry;
    o.replication.quorum_timeout = config.replication.quorum_timeout;
    return o;
}

PeerCore::PeerCore(PeerCoreOptions options, spdlog::logger& log)
    : self_(options.self),
      role_(options.role),
      incarnation_(options.incarnation),
      members_(members_of(options)),
      log_(log),
      epoch_floor_(options.epoch_floor),
      noted_epoch_(options.epoch_floor),
      trader_options_(options.trader),
      replicated_(options.replicated),
      replication_options_(replication_of(options, members_)),
      founding_replica_(replicated_ && std::binary_search(replication_options_.replicas.begin(),
                                                       replication_options_.replicas.end(), self_)),
      replica_count_(options.replica_count),
      promote_(options.promote),
      // A newcomer is a customer: it never leads (issue 18).
      bully_(election_config(options, (!replicated_ || founding_replica_) && !options.join)),
      buyer_(options.self, options.incarnation, std::move(options.buyer), log,
             [this](market::ProductId product) {
                 return is_seller() && seller_.remaining(product) > 0;
             }),
      seller_(options.self, options.incarnation, std::move(options.seller), log),
      joining_(std::move(options.join)),
      join_interval_(options.election.election_timeout) {
    if (joining_) {
        host_ = joining_->host;
        port_ = joining_->port;
    }
}

void PeerCore::start(Time now, bool restarted) {
    if (founding_replica_ && !replica_) {
        std::string error;
        restore_replica({}, error);  // a fresh replica: nothing on disk yet
    }
    // A replica back from a lost disk asks the others which epochs it joined (Recover); until it
    // knows, its election floor is gone too, and a claim could reuse an epoch its earlier life led.
    // A market's first start recovers too (every replica is empty), but there is no earlier
    // life: claims go ahead, so the highest peer wins as it always did.
    if (replica_ && replica_->recovering() && (restarted || incarnation_ > 1)) {
        bully_.hold_claims(true);
    }
    if (joining_) {
        // Not a member yet: no election until admitted (then it listens for the trader).
        send_join(joining_->contact, now);
    } else if (restarted) {
        bully_.restart(now, epoch_floor_);
    } else {
        bully_.start(now, epoch_floor_);
    }
    // A replica back from a crash knows the members its log names: newcomers among them, which
    // may lead by now (a promoted one), and whose datagrams it could not open without them.
    if (replica_ && !joining_ && (restarted || incarnation_ > 1)) {
        if (auto members = members_in_log(); !members.empty()) adopt_members(std::move(members), now);
    }
    // Any member back from a crash asks the trader who the members are now: its log (if it
    // keeps one) may be lost or behind, and a customer keeps none.
    if (!joining_ && (restarted || incarnation_ > 1)) {
        asking_members_ = true;
        join_retry_ = now;
        on_join_tick(now);
    }
    collect(now);
}

std::optional<PeerId> PeerCore::trading_partner() const noexcept {
    auto leader = bully_.leader();
    if (!leader || *leader == self_) return std::nullopt;
    return leader;
}

// ---- Input ----------------------------------------------------------------------------------

void PeerCore::merge(const wire::Envelope& envelope) {
    // What was stamped before a receive was sent before it (a driver's observers see it so):
    // no later payment joins it.
    gathering_.clear();
    ++counters_.received;
    counters_.foreign_clock_entries += clock_.receive(self_, envelope.clock, members_);
}

void PeerCore::step(const wire::Envelope& envelope, Time now) {
    const PeerId from = envelope.sender;
    const auto& body = envelope.body;
    if (counters_.foreign_clock_entries != foreign_seen_) {
        foreign_seen_ = counters_.foreign_clock_entries;
        notice_strangers(envelope, now);
    }
    if (auto election = wire::election_message(envelope.body)) {
        on_election_message(from, *election, now);
    } else if (auto replicated = wire::replication_message(envelope.body)) {
        on_replication_message(from, *replicated, now);
    } else if (std::holds_alternative<wire::BuyResult>(body) ||
               std::holds_alternative<wire::Payment>(body) ||
               std::holds_alternative<wire::Payments>(body) ||
               std::holds_alternative<wire::DepositAck>(body)) {
        // Only the current trader's answers and payments count, in its current reign (a
        // trader answering itself is its own trader).
        if (bully_.leader() != from || envelope.epoch != bully_.epoch()) {
            ++counters_.wrong_role;
            dropped(DropKind::wrong_role, from,
                    fmt::format("a {} from a peer that is not the trader of epoch {}",
                                wire::kind_name(body), election::epoch_text(bully_.epoch())),
                    now);
        } else if (std::holds_alternative<wire::BuyResult>(body)) {
            if (is_buyer()) buyer_.on_message(from, envelope, now);
        } else if (is_seller()) {
            seller_.on_message(from, envelope, now);
        }
    } else if (on_membership_message(from, envelope, now)) {
        // Membership: answered here, or handed to the trader below it.
    } else if (trader_) {
        if (!refuse_without_quorum(from, body, now)) trader_->on_message(from, envelope, now);
    } else if (loading_) {
        // Elected, but the books are not loaded yet: say so rather than stay silent, and serve
        // the request the moment they are.
        refuse_unavailable(from, body);
        if (std::holds_alternative<wire::Buy>(body) || std::holds_alternative<wire::Deposit>(body))
            asked_while_loading_.insert_or_assign(from, envelope);
    } else {
        ++counters_.ignored;
    }
    collect(now);
}

void PeerCore::on_election_message(PeerId from, const election::Message& message, Time now) {
    const auto implausible = bully_.counters().implausible_ignored;
    bully_.on_message(from, message, now);
    if (bully_.counters().implausible_ignored > implausible) {
        drop_implausible(from, election::to_string(election::kind_of(message)),
                         election::epoch_of(message), now);
    }
    take_early_members(now);
}

void PeerCore::drop_implausible(PeerId from, std::string_view kind, wire::Epoch epoch,
                                Time now) {
    dropped(DropKind::implausible_epoch, from,
            fmt::format("a {} with epoch {}, beyond belief after {}", kind,
                        election::epoch_text(epoch), election::epoch_text(bully_.trusted_epoch())),
            now);
    ask_about_leader(epoch, now);
}

void PeerCore::refuse_unavailable(PeerId from, const wire::Body& body) {
    ++counters_.unavailable_answers;
    if (const auto* b = std::get_if<wire::Buy>(&body)) {
        wire::BuyResult result;
        result.request_id = b->request_id;
        result.reason = wire::RefusalReason::trader_unavailable;
        push(scratch_, from, std::move(result));
    } else if (const auto* d = std::get_if<wire::Deposit>(&body)) {
        push(scratch_, from,
             wire::DepositAck{d->lot_id, false, wire::RefusalReason::trader_unavailable});
    }
}

void PeerCore::serve_asked_while_loading(Time now) {
    auto asked = std::exchange(asked_while_loading_, {});
    for (const auto& [from, envelope] : asked) {
        if (!refuse_without_quorum(from, envelope.body, now)) trader_->on_message(from, envelope, now);
    }
}

void PeerCore::on_tick(Time now) {
    if (const auto due = bully_.next_deadline(); due && *due <= now) bully_.on_tick(now);
    if (replica_) {
        if (const auto due = replica_->next_deadline(); due && *due <= now) replica_->on_tick(now);
    }
    if (trader_) trader_->on_tick(now);
    on_join_tick(now);
    forget_due(now);
    if (is_buyer()) buyer_.on_tick(now);
    if (is_seller()) seller_.on_tick(now);
    if (const auto due = junk_.next_flush(); due && *due <= now) {
        for (const auto& line : junk_.flush(now)) log_.warn("{}", line);
    }
    collect(now);
}

std::optional<Time> PeerCore::next_deadline() const {
    std::optional<Time> at;
    const auto earliest = [&](std::optional<Time> t) {
        if (t && (!at || *t < *at)) at = t;
    };
    earliest(bully_.next_deadline());
    if (replica_) earliest(replica_->next_deadline());
    if (trader_) earliest(trader_->next_deadline());
    earliest(join_retry_);
    if (!forgetting_.empty()) earliest(forgetting_.front().second);
    if (is_buyer()) earliest(buyer_.next_deadline());
    if (is_seller()) earliest(seller_.next_deadline());
    earliest(junk_.next_flush());
    return at;
}

wire::RequestId PeerCore::buy(market::ProductId product, std::uint32_t quantity, Time now) {
    const auto id = buyer_.buy(product, quantity, now);
    collect(now);
    return id;
}

wire::LotId PeerCore::deposit(market::ProductId product, std::uint32_t quantity, Money unit_price,
                              Time now) {
    clock_.tick(self_);  // a local event
    const auto id = seller_.deposit(product, quantity, unit_price, now);
    collect(now);
    return id;
}

void PeerCore::dropped(DropKind kind, PeerId from, std::string_view detail, Time now) {
    if (auto line = junk_.note(kind, from, detail, now)) log_.warn("{}", *line);
}

// ---- The trader role ------------------------------------------------------------------------

bool PeerCore::trader_loaded(wire::Epoch epoch, market::Books books, Position durable, Time now,
                             std::uint64_t replayed) {
    if (loading_ != epoch) return false;
    loading_.reset();
    trader_.emplace(self_, epoch, std::move(books), durable, trader_options_, now,
                    &trader_counters_);
    trader_->count_replayed(replayed);
    ++trader_counters_.reigns;
    adopt_books_members(now);  // the books' membership is the market's from now on
    collect(now);
    return true;
}

void PeerCore::on_durable(Position durable, Time now) {
    if (!trader_) return;
    trader_->on_durable(durable);
    collect(now);
}

void PeerCore::step_down() {
    if (trader_ || loading_) ready_.stepped_down = true;
    // The books this reign kept may hold records that never committed: back to the log's.
    if (trader_ && replica_) rebuild_books();
    held_snapshot_.reset();
    uncommitted_.clear();
    trader_.reset();
    loading_.reset();
    asked_while_loading_.clear();
    left_while_loading_.clear();
    ready_.load_books.reset();
}

void PeerCore::on_election_event(const election::Event& event, Time now) {
    switch (event.kind) {
        case election::EventKind::became_leader:
            step_down();
            loading_ = event.epoch;
            if (replica_) {
                // The view change: the books come from a quorum's logs, not a shared journal.
                log_.info("won the election (epoch {}), collecting the replicas' logs",
                           election::epoch_text(event.epoch));
                learn_members_in_log(now);
                replica_->lead(event.epoch, now);
            } else {
                log_.debug("won the election (epoch {}), loading the books",
                           election::epoch_text(event.epoch));
                ready_.load_books = event.epoch;
            }
            break;
        case election::EventKind::leader_known:
            step_down();
            if (replica_) replica_->follow(event.epoch, event.leader, now);
            log_.debug("follows peer {} (epoch {})", event.leader,
                       election::epoch_text(event.epoch));
            log_.info("the trader is now peer {} (epoch {})", event.leader,
                      election::epoch_text(event.epoch));
            break;
        case election::EventKind::leader_lost:
            step_down();
            log_.info("lost the trader, peer {} (epoch {})", event.leader,
                      election::epoch_text(event.epoch));
            break;
    }
    partner_changed(now);
}

void PeerCore::partner_changed(Time now) {
    // Buyers and sellers resend what is outstanding to the new trader, or wait for one.
    const auto partner = trading_partner();
    if (is_buyer()) buyer_.on_trader(partner, now);
    if (is_seller()) seller_.on_trader(partner, now);
}

// ---- Output ---------------------------------------------------------------------------------

void PeerCore::collect(Time now) {
    if (replica_ && bully_.claims_held() && !replica_->recovering()) {
        bully_.hold_claims(false);  // recovered: the epochs it joined are fed in just below
    }
    // The replicas joined a reign the election has not heard of (its leader failed before its
    // Coordinator arrived): a leader of an older epoch could never serve, so it starts over.
    if (replica_ && (replica_->joined() > bully_.max_epoch() ||
                     (bully_.is_leader() && replica_->joined() > bully_.epoch()))) {
        bully_.superseded(replica_->joined(), now);
    }
    // Read in place and cleared, so the outbox keeps its capacity: a heartbeat per tick
    // allocates nothing.
    for (const auto& out : bully_.outbox()) {
        push(scratch_, out.to, wire::to_body(out.msg), election::epoch_of(out.msg));
    }
    bully_.clear_outbox();
    stamp_all(scratch_);
    for (const auto& event : bully_.take_events()) on_election_event(event, now);
    if (replica_) drive_replica(now);
    if (trader_ && !asked_while_loading_.empty()) {
        serve_asked_while_loading(now);
        if (replica_) drive_replica(now);  // their records go out now, not at the next event
    }
    if (trader_) {
        for (const auto& refusal : trader_->refusals()) {
            ++counters_.wrong_role;
            dropped(DropKind::wrong_role, refusal.from, refusal.detail, now);
        }
        trader_->refusals().clear();
        // Before its messages: an answer to a newcomer needs its address.
        if (trader_->take_membership_changed()) adopt_books_members(now);
        stamp_all(trader_->outbox());
    }
    if (is_buyer()) stamp_all(buyer_.outbox());
    if (is_seller()) stamp_all(seller_.outbox());
    // Durable peer state: the epoch is recorded before anything is sent in it (the driver writes
    // it before any of the Ready's messages leave).
    wire::Epoch seen = std::max(bully_.epoch(), bully_.trusted_epoch());
    if (replica_) seen = std::max(seen, replica_->joined());
    if (seen > noted_epoch_) {
        noted_epoch_ = seen;
        ready_.epoch_seen = seen;
    }
}

void PeerCore::stamp_all(Outbox& outbox) {
    for (auto& message : outbox) stamp(message);
    outbox.clear();
}

void PeerCore::stamp(Outgoing& message) {
    if (gather(message)) return;
    clock_.tick(self_);
    auto& envelope = ready_.messages.emplace_back();
    envelope.sender = self_;
    envelope.receiver = message.to;
    envelope.epoch = message.epoch.value_or(bully_.epoch());
    envelope.clock = clock_;
    envelope.body = std::move(message.body);
    ++counters_.sent;
    ++counters_.sent_by_kind[envelope.body.index()];
    if (std::holds_alternative<wire::Buy>(envelope.body)) buyer_.on_sent(envelope);
}

// Issue 17: the payments a Ready makes to one seller travel as one Payments, and a seller's
// acks to one trader as one PaymentAcks, not a message per lot sold. A payment joins the
// envelope bound for its seller in the same epoch since the last receive; that envelope moves to
// the end and is stamped again, since it now leaves after the event that made this payment.
// Most gather in one release: a sync makes a burst's sales durable together. Payments are
// released only once durable (the trader holds them until then), so gathering never moves one
// ahead of its commit.
bool PeerCore::gather(Outgoing& message) {
    const auto* payment = std::get_if<wire::Payment>(&message.body);
    const auto* ack = std::get_if<wire::PaymentAck>(&message.body);
    if (payment == nullptr && ack == nullptr) return false;
    const bool acks = ack != nullptr;
    const wire::Epoch epoch = message.epoch.value_or(bully_.epoch());
    auto slot = std::find_if(gathering_.begin(), gathering_.end(), [&](const Gathering& g) {
        return g.to == message.to && g.acks == acks;
    });
    if (slot != gathering_.end() && slot->index < ready_.messages.size()) {
        wire::Envelope& envelope = ready_.messages[slot->index];
        if (envelope.receiver == message.to && envelope.epoch == epoch) {
            const bool joined = acks ? append<wire::PaymentAcks>(envelope.body, *ack)
                                     : append<wire::Payments>(envelope.body, *payment);
            if (joined) {
                // Sent now, after everything stamped before it: last in the Ready, with the
                // newest clock, so a peer's clocks still grow in the order its messages leave.
                clock_.tick(self_);
                envelope.clock = clock_;
                const std::size_t from = slot->index;
                auto at = ready_.messages.begin() + static_cast<std::ptrdiff_t>(from);
                std::rotate(at, at + 1, ready_.messages.end());
                for (Gathering& g : gathering_)
                    if (g.index > from) --g.index;
                slot->index = ready_.messages.size() - 1;
                ++counters_.coalesced;
                return true;
            }
        }
    }
    // The first of its kind to this peer in this Ready (or the last one is full): a message of
    // its own, which the next may join.
    const Gathering g{message.to, acks, ready_.messages.size()};
    if (slot != gathering_.end()) {
        *slot = g;
    } else {
        gathering_.push_back(g);
    }
    return false;
}

bool PeerCore::has_ready() const noexcept {
    return ready_.epoch_seen || !ready_.messages.empty() || ready_.load_books ||
           ready_.stepped_down || ready_.seeded || ready_.open_replica || ready_.began_reign ||
           ready_.compact ||
           !ready_.committed.empty() || !ready_.proposed.empty() || !ready_.failure.empty() ||
           ready_.members ||
           !ready_.guests.empty() || !ready_.forget.empty() ||
           (replica_ && replica_->has_ready());
}

void PeerCore::advance() {
    ready_.epoch_seen.reset();
    ready_.messages.clear();
    ready_.load_books.reset();
    ready_.stepped_down = false;
    ready_.seeded = false;
    ready_.open_replica = false;
    ready_.began_reign.reset();
    ready_.compact.reset();
    ready_.committed.clear();
    ready_.proposed.clear();
    ready_.members.reset();
    ready_.guests.clear();
    ready_.forget.clear();
    gathering_.clear();
    if (replica_) replica_->advance();
}

}  // namespace tp::peer
