// PeerCore in quorum mode: the composition of the replicated log (tp::replication::Replica) with
// the roles. The trader's records become proposals, and its answers wait for the commit rather
// than the local sync; every other peer applies what is committed to its own copy of the books,
// so whoever wins next starts warm; snapshots are taken where the commit covers them.
#include <fmt/core.h>

#include <algorithm>
#include <map>
#include <utility>

#include "tp/market/codec.hpp"
#include "tp/mutant/mutant.hpp"
#include "tp/peer/peer_core.hpp"
#include "translate.hpp"

namespace tp::peer {

bool PeerCore::restore_replica(replication::Restored restored, std::string& error) {
    market::Books books(trader_options_.market);
    applied_ = 0;
    if (restored.snapshot) {
        auto from = market::Books::restore(trader_options_.market, restored.snapshot->bytes);
        if (!from) {
            error = fmt::format("the replica's snapshot at position {} does not restore: {}",
                                restored.snapshot->covered, from.error().message);
            return false;
        }
        books = std::move(from.value());
        applied_ = restored.snapshot->covered;
    }
    shadow_ = std::move(books);
    since_compaction_ = 0;
    // The replica never acknowledges an epoch older than one this peer has seen.
    restored.joined = std::max(restored.joined, epoch_floor_);
    replica_.emplace(replication_options_, std::move(restored));
    return true;
}

std::vector<wire::MemberInfo> PeerCore::members_in_log(Position newer_than) const {
    // The books' members as far as they are applied, then every record held after that,
    // committed or not: a newcomer's address is in its record.
    market::Membership known = shadow_ ? shadow_->membership() : market::Membership{};
    std::map<PeerId, Position> joined_at;
    for (const auto& [id, m] : known.members()) joined_at.emplace(id, applied_);
    for (Position p = applied_ + 1; replica_ && p <= replica_->last(); ++p) {
        const replication::Entry* entry = replica_->entry(p);
        if (entry == nullptr || entry->kind == replication::EntryKind::reign) continue;
        const auto event = market::decode_event(entry->payload);
        if (!event) continue;
        std::visit(
            [&](const auto& e) {
                using E = std::decay_t<decltype(e)>;
                if constexpr (std::is_same_v<E, market::MemberJoined>) {
                    // A change the fold refuses changes nothing.
                    if (known.apply(e) == market::MembershipError::none)
                        joined_at.insert_or_assign(e.member.id, p);
                } else if constexpr (std::is_same_v<E, market::MemberLeft> ||
                                     std::is_same_v<E, market::VoterChanged>) {
                    known.apply(e);
                }
            },
            *event);
    }
    std::vector<wire::MemberInfo> out;
    out.reserve(known.size());
    for (const auto& [id, m] : known.members()) {
        if (newer_than == 0 || joined_at[id] > newer_than) out.push_back(to_wire(m));
    }
    return out;
}

void PeerCore::learn_members_in_log(Time now) {
    // Only additions: a leave still uncommitted may yet be cut. And only joins the trader's word
    // does not cover (view_covers_): a member it no longer listed left after that record.
    add_members(members_in_log(view_covers_), now);
}

bool PeerCore::open_replica(replication::Restored restored, std::string& error, Time now) {
    if (replica_) return true;
    // An empty replica opened for a customer's promotion never promised anything: it counts at
    // once. Not so for a peer the membership names a voter (a replica back from a lost disk):
    // what it acknowledged is gone, so it first learns which epochs a quorum joined, and counts
    // once caught up.
    const bool empty = !restored.snapshot && restored.entries.empty();
    const bool voter = std::any_of(view_.begin(), view_.end(),
                                   [&](const auto& m) { return m.id == self_ && m.voter; });
    if (empty && !voter && !joining_ && !asking_members_) restored.seeded = true;
    if (!restore_replica(std::move(restored), error)) return false;
    log_.info("keeps a replica of the trader's log from now on (records {}..{} on its disk)",
              replica_->first(), replica_->last());
    // It follows the trader that shipped the log, whose retry finds it.
    if (const auto leader = bully_.leader(); leader && *leader != self_)
        replica_->follow(bully_.epoch(), *leader, now);
    collect(now);
    return true;
}

void PeerCore::on_replica_durable(Position position, Time now) {
    if (!replica_) return;
    replica_->on_durable(position, now);
    collect(now);
}

void PeerCore::on_replication_message(PeerId from, const replication::Message& message,
                                      Time now) {
    if (!replica_) {
        ++counters_.ignored;  // shared mode, or a customer
        // The trader ships a customer its log to promote it (issue 18), or a promoted peer that
        // restarted without its disk: its replica opens, and the trader's next retry finds it.
        // Not before the trader has told it the members: whether its replica counts at once
        // depends on whether they name it a voter (open_replica). A voter's log the view change
        // needs is opened at start (the peer state says it is seeded); an empty one counts for
        // nothing until caught up.
        if (replicated_ && !left_ && !joining_ && !asking_members_ && bully_.leader() == from &&
            replication::epoch_of(message) == bully_.epoch() && !ready_.open_replica) {
            ready_.open_replica = true;
        }
        return;
    }
    // An epoch this peer has not joined yet must be as plausible as one in an election message:
    // a member must not be able to move the replicas' epoch out of the election's reach.
    if (const wire::Epoch epoch = replication::epoch_of(message);
        epoch > replica_->joined() && !bully_.plausible(epoch)) {
        drop_implausible(from, replication::kind_name(message), epoch, now);
        return;
    }
    const replication::Counters before = replica_->counters();
    replica_->on_message(from, message, now);
    // Refusals are counted by the replica; the log says what and from whom, rate-limited.
    for (std::size_t i = 1; i < std::size(before.refused); ++i) {
        if (replica_->counters().refused[i] == before.refused[i]) continue;
        dropped(DropKind::replication_refused, from,
                fmt::format("{} in epoch {}: {}", replication::kind_name(message),
                            election::epoch_text(replication::epoch_of(message)),
                            replication::to_string(static_cast<replication::Refusal>(i))),
                now);
    }
}

bool PeerCore::refuse_without_quorum(PeerId from, const wire::Body& body, Time now) {
    if (!replica_ || replica_->has_quorum(now)) return false;
    // Nothing could be committed, so nothing could be confirmed: say so rather than hold it.
    if (const auto* b = std::get_if<wire::Buy>(&body)) {
        wire::BuyResult result;
        result.request_id = b->request_id;
        result.reason = wire::RefusalReason::no_quorum;
        push(scratch_, from, std::move(result));
    } else if (const auto* d = std::get_if<wire::Deposit>(&body)) {
        push(scratch_, from, wire::DepositAck{d->lot_id, false, wire::RefusalReason::no_quorum});
    } else {
        return false;  // a PaymentAck settles once its record commits, whenever that is
    }
    ++counters_.no_quorum_answers;
    return true;
}

namespace {

// A record that changes the replica set travels as a config entry: the replica counts by the new
// set from the moment it is in the log, and takes one such change at a time.
replication::EntryKind entry_kind(const market::Event& event, const replication::Replica& r) {
    const PeerId* changed = nullptr;
    if (const auto* v = std::get_if<market::VoterChanged>(&event)) changed = &v->id;
    if (const auto* left = std::get_if<market::MemberLeft>(&event)) changed = &left->id;
    const bool in_set = changed != nullptr &&
                        std::binary_search(r.voters().begin(), r.voters().end(), *changed);
    const bool joins = changed != nullptr && std::holds_alternative<market::VoterChanged>(event) &&
                       std::get<market::VoterChanged>(event).voter;
    return in_set != joins && changed != nullptr ? replication::EntryKind::config
                                                 : replication::EntryKind::data;
}

}  // namespace

void PeerCore::drive_replica(Time now) {
    replication::Replica& r = *replica_;
    // Deposed meanwhile (a newer epoch answered): this reign can commit nothing more; it steps
    // down below.
    const auto propose_records = [&] {
        for (auto& record : trader_->records()) {
            const auto at = r.propose(record.bytes, now, entry_kind(record.event, r));
            if (!at || *at != record.position) return false;
            if (trader_options_.keep_released) {
                ready_.proposed.emplace_back(record.position, record.event);
                uncommitted_.emplace_back(record.position, std::move(record.event));
            }
        }
        trader_->clear_records();
        return true;
    };
    bool deposed = false;
    if (trader_) {
        deposed = !propose_records();
        // After the records of this step: a voter's leave among them comes first.
        if (!deposed && r.serving()) {
            promote_if_due(now);
            deposed = !propose_records();
        }
        trader_->clear_records();
        if (auto snapshot = trader_->take_snapshot()) held_snapshot_ = std::move(snapshot);
    }
    r.flush(now);
    if (r.phase() != logged_phase_ || r.joined() != logged_joined_) {
        logged_phase_ = r.phase();
        logged_joined_ = r.joined();
        log_.debug("replica: {} in epoch {}, log {}..{} (durable {}, committed {}){}",
                   replication::to_string(r.phase()), election::epoch_text(r.joined()), r.first(),
                   r.last(), r.durable(), r.commit(),
                   r.recovering() ? ", recovering" : (r.seeded() ? "" : ", not seeded"));
    }
    if (loading_ && r.reign() != *loading_ && !r.voter() && bully_.is_leader()) {
        // Won the election, but the logs name a set without this peer (its removal was in them):
        // it cannot lead. It gives the lead up, and the members elect another once its
        // heartbeats stop.
        log_.info("gives up epoch {}: the replica set no longer holds it",
                  election::epoch_text(*loading_));
        step_down();
        bully_.set_candidate(false);
        bully_.abdicate(now);
    }
    if (trader_ && (deposed || !r.serving())) {
        if (!deposed && leaving_ && !r.voter()) {
            // Its own leave is committed (it removed itself from the set, and the reign ends with
            // that): it has left. The members hear it in the Members update the commit releases;
            // the rest of its outbox (payments still waiting for their sales) ends with the reign.
            trader_->on_durable(r.commit());
            Outbox news;
            for (auto& out : trader_->outbox()) {
                if (std::holds_alternative<wire::Members>(out.body)) news.push_back(std::move(out));
            }
            stamp_all(news);
            leaving_.reset();
            left_ = true;
            log_.info("left the market (it was the trader)");
        } else {
            log_.info("steps down: the replicas follow a newer reign than epoch {}",
                      election::epoch_text(trader_->epoch()));
        }
        step_down();
    }
    apply_committed();
    if (loading_ && !trader_ && r.serving() && r.reign() == *loading_ && shadow_ &&
        applied_ == r.last()) {
        // The view change is done and its reign record committed: everything in the log is
        // committed and applied, so these books are the market's.
        const wire::Epoch epoch = *loading_;
        loading_.reset();
        trader_.emplace(self_, epoch, std::move(*shadow_), r.last(), trader_options_, now,
                        &trader_counters_);
        trader_->count_replayed(since_compaction_);  // what it applied since its last snapshot
        shadow_.reset();
        ++trader_counters_.reigns;
        ready_.began_reign = epoch;
        // The books' membership is the market's from now on: a new trader pays newcomer
        // sellers its books owe, so it must know them (it sealed for strangers and threw).
        adopt_books_members(now);
        for (auto& left : std::exchange(left_while_loading_, {})) {
            if (trader_->books().membership().contains(left.id)) continue;  // it came back
            push(scratch_, left.id, wire::LeaveAnswer{wire::MembershipRefusal::none, 0, {}}, epoch);
            add_guest(std::move(left), now);
        }
    }
    if (trader_) {
        trader_->on_durable(TP_MUTANT(reply_in_append_batch) ? r.last() : r.commit());
        while (!uncommitted_.empty() && uncommitted_.front().first <= r.commit()) {
            ready_.committed.push_back(std::move(uncommitted_.front()));
            uncommitted_.pop_front();
        }
    }
    compact_if_due();
    follow_the_set();
    for (auto& out : r.ready().messages) {
        const wire::Epoch epoch = std::holds_alternative<replication::Recover>(out.message)
                                      ? bully_.epoch()
                                      : replication::epoch_of(out.message);
        push(scratch_, out.to,
             std::visit([](auto&& m) -> wire::Body { return std::move(m); },
                        std::move(out.message)),
             epoch);
    }
    r.ready().messages.clear();
    stamp_all(scratch_);
    if (std::exchange(r.ready().seeded, false)) {
        ready_.seeded = true;
        log_.info("its replica of the trader's log is seeded (it holds records to {}): it counts "
                  "in view changes",
                  r.last());
    }
}

void PeerCore::promote_if_due(Time now) {
    replication::Replica& r = *replica_;
    if (!promote_) return;
    const auto& voters = r.voters();
    const auto& members = trader_->books().membership();
    if (voters.size() >= replica_count_ || members.size() == 0) {
        if (promoting_ != 0) r.set_learners({}, now);
        promoting_ = 0;
        return;
    }
    if (!r.can_change() && !TP_MUTANT(two_changes_at_once)) return;  // one change at a time
    // The customers, highest first: the one being caught up stays while it is a member and
    // within its patience; then the next one down (and round again).
    const auto is_voter = [&](PeerId p) {
        return std::binary_search(voters.begin(), voters.end(), p);
    };
    const bool keep = promoting_ != 0 && members.contains(promoting_) && !is_voter(promoting_) &&
                      now - promoting_since_ < replication_options_.quorum_timeout * promote_patience;
    PeerId pick = keep ? promoting_ : 0;
    if (!keep) {
        PeerId highest = 0;
        for (const auto& [id, m] : members.members()) {
            if (id == self_ || is_voter(id)) continue;
            highest = std::max(highest, id);
            if (promoting_ != 0 && id < promoting_) pick = std::max(pick, id);
        }
        if (pick == 0) pick = highest;
    }
    if (pick == 0) return;  // no customer to promote
    if (pick != promoting_) {
        promoting_ = pick;
        promoting_since_ = now;
        r.set_learners({pick}, now);
        log_.info("ships its log to customer {} to add it to the replica set ({} of {})", pick,
                  voters.size(), replica_count_);
    }
    // Caught up with everything committed: it joins the set, through the log.
    if (r.match_of(pick) >= r.commit() && trader_->set_voter(pick, true, now)) {
        log_.info("adds peer {} to the replica set (its log is caught up to {})", pick,
                  r.commit());
        promoting_ = 0;
    }
}

void PeerCore::follow_the_set() {
    // A peer outside the set never leads (a trader needs its own copy of the log); one promoted
    // leads from the next election on, once its config record is in its log.
    // One leaving never leads: its removal may be in the others' logs and not yet in its own.
    const bool voter = replica_->voter() && !leaving_ && !left_;
    if (voter == bully_.config().candidate) return;
    bully_.set_candidate(voter);
    log_.info(voter ? "is in the replica set: it may lead from the next election on"
                    : "may not lead: it is leaving, or no longer in the replica set");
}

void PeerCore::apply_committed() {
    if (!shadow_ || !ready_.failure.empty()) return;  // serving: the trader's books are the state
    const replication::Replica& r = *replica_;
    if (applied_ + 1 < r.first()) {
        // A snapshot (installed, or compacted past what was applied) replaces the books.
        rebuild_books();
        return;
    }
    while (applied_ < r.commit()) {
        const replication::Entry* entry = r.entry(applied_ + 1);
        if (entry == nullptr) break;
        if (entry->kind != replication::EntryKind::reign) {  // data, or a change of the set
            auto event = market::decode_event(entry->payload);
            const auto* left = event ? std::get_if<market::MemberLeft>(&*event) : nullptr;
            const market::Member* leaving =
                left && loading_ ? shadow_->membership().find(left->id) : nullptr;
            if (leaving) left_while_loading_.push_back(to_wire(*leaving));
            market::Status applied = event ? shadow_->apply(*event) : market::Status(event.error());
            if (!applied) {
                // A committed record these books cannot take: the replica is no use as a trader.
                ready_.failure = fmt::format(
                    "record {} of the replicated log (epoch {}) does not apply to the books: {}",
                    applied_ + 1, election::epoch_text(entry->epoch), applied.error().message);
                return;
            }
        }
        ++applied_;
        ++since_compaction_;
    }
}

void PeerCore::rebuild_books() {
    const replication::Replica& r = *replica_;
    market::Books books(trader_options_.market);
    Position from = 0;
    if (const auto& snapshot = r.snapshot()) {
        auto restored = market::Books::restore(trader_options_.market, snapshot->bytes);
        if (!restored) {
            ready_.failure = fmt::format("the replica's snapshot at position {} does not restore: {}",
                                         snapshot->covered, restored.error().message);
            return;
        }
        books = std::move(restored.value());
        from = snapshot->covered;
    }
    if (from + 1 < r.first()) {
        ready_.failure = fmt::format(
            "the replicated log holds records from position {} on, but its snapshot covers only {}",
            r.first(), from);
        return;
    }
    shadow_ = std::move(books);
    applied_ = from;
    since_compaction_ = 0;
    apply_committed();
}

void PeerCore::compact_if_due() {
    replication::Replica& r = *replica_;
    Position covered = 0;
    std::vector<std::byte> state;
    if (trader_) {
        if (!held_snapshot_ || !r.can_compact(held_snapshot_->first)) return;
        covered = held_snapshot_->first;
        state = std::move(held_snapshot_->second);
        held_snapshot_.reset();
    } else {
        // Followers keep their logs bounded the same way the trader does.
        if (!shadow_ || applied_ < r.first() || !r.can_compact(applied_) ||
            since_compaction_ <
                std::max<std::uint64_t>(trader_options_.snapshot_every, shadow_->sessions_count())) {
            return;
        }
        covered = applied_;
        state = shadow_->snapshot();
        since_compaction_ = 0;
    }
    const wire::Epoch covered_epoch = r.epoch_at(covered);
    if (r.compacted(covered, std::move(state))) {
        ready_.compact = Ready::Compaction{covered, covered_epoch};
    }
}

}  // namespace tp::peer
