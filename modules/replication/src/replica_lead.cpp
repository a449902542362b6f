// The trader's side of the protocol: the view change (collect the log states of a quorum, pull
// the most advanced log, commit a first record of the new epoch), then shipping entries, counting
// acks into a commit position, and catching replicas up from the snapshot.
#include <algorithm>
#include <utility>

#include "tp/journal/crc32c.hpp"
#include "tp/mutant/mutant.hpp"
#include "tp/replication/replica.hpp"

namespace tp::replication {

void Replica::lead(Epoch epoch, Time now) {
    // Only a member of the set leads: a learner's log may lack what the set committed.
    if (epoch < joined_ || epoch == reign_ || !voter()) return;
    join(epoch);
    leader_ = options_.self;
    reign_ = epoch;
    phase_ = Phase::collecting;
    source_ = 0;
    for (auto& p : progress_) {
        p.answered = false;
        p.heard = false;
        p.match = 0;
        p.next = last() + 1;
        p.inflight.clear();
        p.chunk_offset.reset();
    }
    last_start_view_ = now;
    if (TP_MUTANT(skip_log_collection)) {
        // Serves from its own log as it is, whatever a quorum holds.
        begin_reign(now);
        return;
    }
    for (const auto& p : progress_) send(p.peer, StartView{epoch});
    collect_done(now);
}

void Replica::on_log_state(PeerId from, const LogState& state, Time now) {
    if (state.query != 0) {
        // An answer to Recover.
        if (!recovering_ || state.query != query_) {
            ++counters_.ignored;
            return;
        }
        if (is_replica(from) &&
            std::none_of(recover_answers_.begin(), recover_answers_.end(),
                         [&](const auto& a) { return a.first == from; })) {
            recover_answers_.emplace_back(from, state.epoch);
        }
        // Any promise a quorum holds is known to at least one of these answers.
        if (recover_answers_.size() >= replicas_.size() - quorum() + 1) {
            for (const auto& a : recover_answers_) join(a.second);
            recovering_ = false;
            recover_answers_.clear();
        }
        return;
    }
    if (reign_ != 0 && state.epoch > reign_) {
        deposed(state.epoch);
        return;
    }
    Progress* p = progress_of(from);
    if (phase_ != Phase::collecting || state.epoch != reign_ || p == nullptr) {
        ++counters_.ignored;
        return;
    }
    p->answered = true;
    p->state = state;
    p->heard = true;
    p->last_heard = now;
    collect_done(now);
}

void Replica::collect_done(Time now) {
    // A quorum of authoritative logs, or every replica's: then the most advanced log among them
    // holds every committed entry.
    // Counted over the set this log names (a learner's answer counts in nothing).
    std::size_t seeded = seeded_ ? 1 : 0;
    std::size_t answered = 1;
    for (const auto& p : progress_) {
        if (!p.answered || !p.voter) continue;
        ++answered;
        if (p.state.seeded) ++seeded;
    }
    if (seeded < quorum() && answered < replicas_.size()) return;
    collected_from_ = replicas_;
    const auto key = [](Epoch e, Position at) { return std::pair{e, at}; };
    auto best = key(epoch_at(durable_), durable_);
    const Progress* source = nullptr;
    for (const auto& p : progress_) {
        if (!p.answered || !p.voter) continue;
        if (const auto k = key(p.state.last_epoch, p.state.last); k > best) {
            best = k;
            source = &p;
        }
    }
    if (source == nullptr) {
        // This replica's own durable log is the most advanced: drop anything after it. Heard
        // from every replica, it holds the union of every log: seeded.
        if (last() > durable_) cut_after(durable_);
        if (answered == replicas_.size()) seed_once_durable(durable_);
        if (set_moved(now)) return;
        begin_reign(now);
        return;
    }
    source_ = source->peer;
    fetch_to_ = best.second;
    fetch_to_epoch_ = best.first;
    fetched_ = 0;
    phase_ = Phase::fetching;
    fetch_heard_ = now;
    send_fetch(now);
}

bool Replica::set_moved(Time now) {
    // The log adopted names another set than the one whose quorum was heard: a quorum of that
    // one may have committed what this collection missed, so collect again from it (each set's
    // quorum meets the next one's, so the rounds end at the newest set the logs name).
    if (members_dirty_) refresh_members(now);
    if (replicas_ == collected_from_ || TP_MUTANT(count_an_unheard_set)) return false;
    if (!voter()) {
        // The set adopted does not hold this peer: it cannot lead it.
        ++counters_.recollections;
        reign_ = 0;
        phase_ = Phase::follower;
        return true;
    }
    recollect(now);
    return true;
}

void Replica::recollect(Time now) {
    // The source went silent (crashed, or came back without the log it offered): another
    // replica of the quorum may hold as much, so collect the log states again.
    ++counters_.recollections;
    phase_ = Phase::collecting;
    source_ = 0;
    for (auto& p : progress_) p.answered = false;
    last_start_view_ = now;
    for (const auto& p : progress_) send(p.peer, StartView{reign_});
}

void Replica::send_fetch(Time now) {
    if (phase_ != Phase::fetching) return;
    if (last() >= fetch_to_ && epoch_at(fetch_to_) == fetch_to_epoch_) {
        // Adopted: anything after it is a suffix the quorum never committed. Seeded only once
        // the adopted log is durable here: a crash before that must not come back counted as
        // authoritative without the records it was pulling.
        if (last() > fetch_to_) cut_after(fetch_to_);
        source_ = 0;
        seed_once_durable(fetch_to_);
        if (set_moved(now)) return;
        begin_reign(now);
        return;
    }
    // Entries up to the commit position agree everywhere, and up to fetched_ with the source;
    // from there on take the source's.
    const Position from = std::max(std::min(commit_, fetch_to_), std::min(fetched_, last())) + 1;
    const Position start = last() >= from && epoch_at(last()) == fetch_to_epoch_ ? last() + 1
                                                                                  : from;
    last_fetch_ = now;
    send(source_, Fetch{reign_, std::min(start, fetch_to_), fetch_to_});
}

void Replica::begin_reign(Time now) {
    // The first record of this epoch: once it is committed, so is every entry before it.
    Entry first{reign_, EntryKind::reign, {}, journal::crc32c({})};
    entries_.push_back(std::move(first));
    reign_start_ = last();
    if (ready_.append_from == 0 || ready_.append_from > reign_start_) {
        ready_.append_from = reign_start_;
    }
    phase_ = Phase::confirming;
    for (auto& p : progress_) {
        p.match = 0;
        p.next = p.answered ? std::min(p.state.last + 1, reign_start_) : reign_start_;
        p.inflight.clear();
        p.chunk_offset.reset();
    }
    send_appends(now, true);
    advance_commit(now);
}

std::optional<Position> Replica::propose(std::span<const std::byte> payload, Time now,
                                         EntryKind kind) {
    if (phase_ != Phase::serving || payload.size() > max_payload_bytes) return std::nullopt;
    if (kind == EntryKind::reign) return std::nullopt;  // only begin_reign writes one
    // One change at a time (the broken variant proposes the next before the last committed).
    if (kind == EntryKind::config && !can_change() && !TP_MUTANT(two_changes_at_once))
        return std::nullopt;
    Entry e{reign_, kind, {payload.begin(), payload.end()}, journal::crc32c(payload)};
    entries_.push_back(std::move(e));
    if (ready_.append_from == 0) ready_.append_from = last();
    send_pending_ = true;
    if (kind == EntryKind::config) {
        configs_.push_back(last());
        refresh_members(now);  // the new set counts from its record on (Raft, section 4.1)
        advance_commit(now);   // a removal may leave a quorum that already holds more
    }
    if (TP_MUTANT(commit_before_quorum)) commit_ = last();
    return last();
}

void Replica::flush(Time now) {
    if (!send_pending_) return;
    send_pending_ = false;
    send_appends(now, false);
}

void Replica::send_appends(Time now, bool heartbeat) {
    for (auto& p : progress_) send_to(p, now, heartbeat);
}

void Replica::send_to(Progress& p, Time now, bool heartbeat) {
    if (reign_ == 0 || (phase_ != Phase::confirming && phase_ != Phase::serving)) return;
    if (p.chunk_offset) {
        send_chunk(p, now);
        return;
    }
    if (p.next <= base_) {
        // What it needs is compacted away: the snapshot first.
        p.chunk_offset = 0;
        send_chunk(p, now);
        return;
    }
    for (;;) {
        // In flight already: these records go with the next Append, once an ack frees a slot.
        const bool full = options_.max_inflight != 0 && p.inflight.size() >= options_.max_inflight;
        if (full && !heartbeat) return;
        Append append{reign_, p.next - 1, epoch_at(p.next - 1), commit_, {}};
        std::size_t bytes = 0;
        while (!full && p.next <= last() && p.next - p.match <= options_.window &&
               append.entries.size() < max_entries_per_append) {
            const Entry& e = entries_[p.next - base_ - 1];
            if (!append.entries.empty() && bytes + entry_wire_bytes(e) > options_.max_append_bytes) {
                break;
            }
            bytes += entry_wire_bytes(e);
            append.entries.push_back(e);
            ++p.next;
        }
        if (append.entries.empty() && !heartbeat) return;
        counters_.entries_sent += append.entries.size();
        ++counters_.appends_sent;
        // Tracked only under a limit (without one the window alone bounds what is out).
        if (!append.entries.empty() && options_.max_inflight != 0) p.inflight.push_back(p.next - 1);
        const bool more = !append.entries.empty() && p.next <= last() &&
                          p.next - p.match <= options_.window;
        send(p.peer, std::move(append));
        p.last_sent = now;
        if (!more) return;
        heartbeat = false;
    }
}

void Replica::send_chunk(Progress& p, Time now) {
    if (!snapshot_) {
        p.chunk_offset.reset();
        return;
    }
    const auto& s = *snapshot_;
    const std::uint64_t offset = std::min<std::uint64_t>(*p.chunk_offset, s.bytes.size());
    const std::size_t size = static_cast<std::size_t>(
        std::min<std::uint64_t>(options_.chunk_bytes, s.bytes.size() - offset));
    SnapshotChunk chunk{reign_ != 0 ? reign_ : joined_, s.covered, s.covered_epoch, offset,
                        s.bytes.size(), {}, journal::crc32c(s.bytes)};
    chunk.bytes.assign(s.bytes.begin() + static_cast<std::ptrdiff_t>(offset),
                       s.bytes.begin() + static_cast<std::ptrdiff_t>(offset + size));
    ++counters_.chunks_sent;
    send(p.peer, std::move(chunk));
    p.last_sent = now;
}

void Replica::on_snapshot_ack(PeerId from, const SnapshotAck& ack, Time now) {
    Progress* p = progress_of(from);
    if (p == nullptr || !p->chunk_offset || !snapshot_ || ack.covered != snapshot_->covered) {
        ++counters_.ignored;
        return;
    }
    p->heard = true;
    p->last_heard = now;
    if (ack.received > snapshot_->bytes.size()) {
        refuse(Refusal::beyond_log);
        return;
    }
    if (ack.received == snapshot_->bytes.size() && ack.reason == Refusal::none) {
        // All there: entries from the snapshot on follow in Appends.
        p->chunk_offset.reset();
        p->next = snapshot_->covered + 1;
        p->inflight.clear();
        send_to(*p, now, false);
        return;
    }
    // Next piece (or, after a refusal, the piece it expects).
    p->chunk_offset = ack.received;
    send_chunk(*p, now);
}

void Replica::on_ack(PeerId from, const AppendAck& ack, Time now) {
    if (reign_ != 0 && ack.epoch > reign_) {
        deposed(ack.epoch);
        return;
    }
    Progress* p = progress_of(from);
    if (reign_ == 0 || ack.epoch != reign_ || p == nullptr ||
        (phase_ != Phase::confirming && phase_ != Phase::serving)) {
        ++counters_.ignored;
        return;
    }
    p->heard = true;
    p->last_heard = now;
    if (ack.ok) {
        if (ack.match > last()) {
            refuse(Refusal::beyond_log);
            return;
        }
        p->match = std::max(p->match, ack.match);
        p->next = std::max(p->next, p->match + 1);
        std::erase_if(p->inflight, [&](Position end) { return end <= p->match; });
        advance_commit(now);
        send_to(*p, now, false);
        return;
    }
    // Refused: look again where it says its log ends (never before what it acknowledged). A log
    // that ends before what it acknowledged was lost with its disk: those acks are void.
    if (ack.reason == Refusal::gap && ack.last < p->match) p->match = ack.last;
    p->next = std::max(p->match + 1, std::min(p->next, ack.last + 1));
    p->inflight.clear();  // what was in flight after the refused one is refused too
    p->chunk_offset.reset();
    send_to(*p, now, true);
}

void Replica::advance_commit(Time now) {
    if (reign_ == 0 || (phase_ != Phase::confirming && phase_ != Phase::serving)) return;
    // The highest position a quorum of the set holds durably (this trader's own durable log
    // counts while it is in the set; a learner's never).
    std::vector<Position> held;
    held.reserve(replicas_.size());
    if (voter()) held.push_back(durable_);
    for (const auto& p : progress_) {
        if (p.voter) held.push_back(p.match);
    }
    if (held.size() < quorum()) return;
    std::nth_element(held.begin(), held.begin() + static_cast<std::ptrdiff_t>(quorum() - 1),
                     held.end(), std::greater<>());
    const Position quorum_holds = held[quorum() - 1];
    // Only an entry of this epoch is committed by counting; earlier ones with it (Raft's rule,
    // which keeps an old epoch's entry on a minority from being confirmed and then lost).
    if (quorum_holds >= reign_start_ && quorum_holds > commit_) {
        commit_ = quorum_holds;
        send_pending_ = true;
    }
    if (phase_ == Phase::confirming && commit_ >= reign_start_) phase_ = Phase::serving;
    if (!voter() && !configs_.empty() && commit_ >= configs_.back()) {
        // It removed itself from the set, and that is committed: it leads no more (the set's
        // next leader takes over; what it committed is on a quorum of the new set).
        reign_ = 0;
        phase_ = Phase::follower;
    }
    (void)now;
}

bool Replica::has_quorum(Time now) const noexcept {
    std::size_t live = voter() ? 1 : 0;
    for (const auto& p : progress_) {
        if (p.voter && p.heard && now - p.last_heard <= options_.quorum_timeout) ++live;
    }
    return live >= quorum();
}

}  // namespace tp::replication
