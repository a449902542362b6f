// The replica's side of the protocol, and what both sides share: joining epochs, the log in
// memory, answering a view change, recovering after a lost disk. The trader's side is in
// replica_lead.cpp.
#include "tp/replication/replica.hpp"

#include <algorithm>
#include <utility>

#include "tp/journal/crc32c.hpp"
#include "tp/mutant/mutant.hpp"

namespace tp::replication {

const char* to_string(Phase phase) noexcept {
    switch (phase) {
        case Phase::follower: return "follower";
        case Phase::collecting: return "collecting";
        case Phase::fetching: return "fetching";
        case Phase::confirming: return "confirming";
        case Phase::serving: return "serving";
    }
    return "unknown";
}

namespace {

void sort_unique(std::vector<PeerId>& ids) {
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
}

}  // namespace

Replica::Replica(Options options, Restored restored)
    : options_(std::move(options)), joined_(restored.joined), seeded_(restored.seeded) {
    base_voters_ = options_.replicas;
    if (options_.learner) {
        std::erase(base_voters_, options_.self);
    } else {
        base_voters_.push_back(options_.self);
    }
    sort_unique(base_voters_);
    if (restored.snapshot) {
        base_ = restored.snapshot->covered;
        base_epoch_ = restored.snapshot->covered_epoch;
        snapshot_ = std::move(restored.snapshot);
        read_snapshot_voters();
    }
    entries_ = std::move(restored.entries);
    for (std::size_t i = 0; i < entries_.size(); ++i) {
        if (entries_[i].kind == EntryKind::config) configs_.push_back(base_ + 1 + i);
    }
    durable_ = last();
    commit_ = base_;  // a snapshot covers committed entries only
    refresh_members(Time{});
    // A replica set of one: its own disk is the only truth there is.
    if (replicas_.size() == 1 && replicas_.front() == options_.self) seeded_ = true;
    // Without authoritative state, first learn which epochs a quorum joined (promises this
    // replica may have made and forgotten).
    recovering_ = !seeded_;
    // Nothing was sent yet: the first tick sends at once.
    last_recover_ = last_start_view_ = last_fetch_ = Time::min() / 2;
}

bool Replica::is_replica(PeerId peer) const noexcept {
    return std::binary_search(replicas_.begin(), replicas_.end(), peer);
}

bool Replica::is_member(PeerId peer) const noexcept {
    return is_replica(peer) || std::binary_search(learners_.begin(), learners_.end(), peer);
}

// ---- The replica set ------------------------------------------------------------------------

std::vector<PeerId> Replica::voters_at(Position position) const {
    std::vector<PeerId> set = base_voters_;
    if (!options_.read_change) return set;
    for (Position at : configs_) {
        if (at > position) break;
        const auto change = options_.read_change(entries_[at - base_ - 1].payload);
        if (!change || change->peer == 0) continue;
        const auto it = std::lower_bound(set.begin(), set.end(), change->peer);
        const bool present = it != set.end() && *it == change->peer;
        if (change->voter && !present) {
            set.insert(it, change->peer);
        } else if (!change->voter && present && set.size() > 1) {
            set.erase(it);  // never the last one (the application refuses that first)
        }
    }
    return set;
}

void Replica::read_snapshot_voters() {
    if (!snapshot_ || !options_.read_voters) return;
    if (auto voters = options_.read_voters(snapshot_->bytes); voters && !voters->empty()) {
        base_voters_ = std::move(*voters);
        sort_unique(base_voters_);
    }
}

void Replica::refresh_members(Time now) {
    members_dirty_ = false;
    replicas_ = voters_at(last());
    std::erase_if(learners_, [&](PeerId p) { return is_replica(p) || p == options_.self; });
    std::vector<Progress> next;
    next.reserve(replicas_.size() + learners_.size());
    std::vector<PeerId> added;
    const auto keep = [&](PeerId peer, bool voter) {
        if (peer == options_.self) return;
        Progress p;
        if (Progress* old = progress_of(peer)) {
            p = std::move(*old);
        } else {
            p.peer = peer;
            p.next = last() + 1;
            added.push_back(peer);
        }
        p.voter = voter;
        next.push_back(std::move(p));
    };
    for (PeerId p : replicas_) keep(p, true);
    for (PeerId p : learners_) keep(p, false);
    progress_ = std::move(next);
    // A trader probes a newcomer at once: its answer says where its log ends.
    if (reign_ != 0 && (phase_ == Phase::confirming || phase_ == Phase::serving)) {
        for (PeerId peer : added) send_to(*progress_of(peer), now, true);
    }
}

void Replica::set_learners(std::vector<PeerId> learners, Time now) {
    sort_unique(learners);
    learners_ = std::move(learners);
    refresh_members(now);
}

Position Replica::match_of(PeerId peer) const noexcept {
    for (const auto& p : progress_) {
        if (p.peer == peer) return p.match;
    }
    return 0;
}

bool Replica::can_change() const noexcept {
    return phase_ == Phase::serving && (configs_.empty() || configs_.back() <= commit_);
}

Replica::Progress* Replica::progress_of(PeerId peer) noexcept {
    for (auto& p : progress_) {
        if (p.peer == peer) return &p;
    }
    return nullptr;
}

Epoch Replica::epoch_at(Position position) const noexcept {
    if (position == base_) return base_epoch_;
    if (position < base_ || position > last()) return 0;
    return entries_[position - base_ - 1].epoch;
}

const Entry* Replica::entry(Position position) const noexcept {
    if (position <= base_ || position > last()) return nullptr;
    return &entries_[position - base_ - 1];
}

void Replica::join(Epoch epoch) {
    if (!raise_joined(epoch)) return;
    leader_ = election::epoch_leader(epoch);
    if (reign_ != 0 && reign_ < epoch) deposed(epoch);
}

bool Replica::raise_joined(Epoch epoch) {
    if (epoch <= joined_) return false;
    joined_ = epoch;
    ready_.joined = epoch;
    // A promise to the newer reign: nothing of an older one may be acknowledged any more (its
    // log state told the new trader only what was durable when it joined).
    if (!TP_MUTANT(ack_after_newer_reign)) held_ack_.reset();
    return true;
}

void Replica::deposed(Epoch epoch) {
    // A newer reign exists: this trader can get nothing committed any more.
    reign_ = 0;
    phase_ = Phase::follower;
    source_ = 0;
    raise_joined(epoch);
    leader_ = election::epoch_leader(joined_);
}

void Replica::send(PeerId to, Message message) {
    ready_.messages.push_back(Outgoing{to, std::move(message)});
}

bool Replica::from_leader(PeerId from, Epoch epoch) noexcept {
    // Only the leader an epoch names speaks for it.
    return election::epoch_leader(epoch) == from;
}

void Replica::follow(Epoch epoch, PeerId leader, Time /*now*/) {
    if (epoch < joined_ || leader == options_.self) return;
    join(epoch);
    leader_ = leader;
}

// ---- Input ----------------------------------------------------------------------------------

void Replica::on_message(PeerId from, const Message& message, Time now) {
    // The leader the election named speaks even when this log's set lacks it: a voter added by a
    // record that only it (and the failed trader) hold is the set's newest member, and its view
    // change needs the others' answers (the record may not have reached them).
    if ((!is_member(from) && (from != leader_ || leader_ == 0)) || from == options_.self) {
        ++counters_.ignored;
        return;
    }
    std::visit(
        [&](const auto& m) {
            using M = std::decay_t<decltype(m)>;
            if constexpr (std::is_same_v<M, Append>) on_append(from, m, now);
            else if constexpr (std::is_same_v<M, AppendAck>) on_ack(from, m, now);
            else if constexpr (std::is_same_v<M, StartView>) on_start_view(from, m);
            else if constexpr (std::is_same_v<M, Recover>) on_recover(from, m);
            else if constexpr (std::is_same_v<M, LogState>) on_log_state(from, m, now);
            else if constexpr (std::is_same_v<M, Fetch>) on_fetch(from, m, now);
            else if constexpr (std::is_same_v<M, SnapshotChunk>) on_chunk(from, m, now);
            else on_snapshot_ack(from, m, now);
        },
        message);
    // A config record appended or cut: the set counts from now on.
    if (members_dirty_) refresh_members(now);
}

void Replica::on_durable(Position position, Time now) {
    position = std::min(position, last());
    if (position <= durable_) return;
    durable_ = position;
    if (seed_pending_ && durable_ >= seed_at_) {
        seed_pending_ = false;
        become_seeded();
    }
    release_acks();
    if (reign_ != 0) advance_commit(now);
}

void Replica::release_acks() {
    if (!held_ack_) return;
    // Everything up to the held match matches the trader's log (each Append checked its prev), so
    // its durable prefix may be acknowledged at once: waiting for the whole match would starve a
    // loaded trader of acks, since Appends keep arriving while each sync runs.
    AppendAck ack = *held_ack_;
    ack.match = std::min(durable_, held_ack_->match);
    const bool whole = ack.match == held_ack_->match;
    const bool news =
        held_ack_to_ != acked_to_ || ack.epoch != acked_epoch_ || ack.match > acked_;
    if (!whole && !news) return;
    acked_to_ = held_ack_to_;
    acked_epoch_ = ack.epoch;
    acked_ = ack.match;
    if (whole) held_ack_.reset();
    send(acked_to_, ack);
}

// ---- Appends --------------------------------------------------------------------------------

void Replica::on_append(PeerId from, const Append& append, Time now) {
    // During a view change, the replica this trader pulls from answers Fetch with Appends.
    const bool fetched = phase_ == Phase::fetching && from == source_ && append.epoch == reign_;
    if (!fetched) {
        if (append.epoch < joined_ && !TP_MUTANT(accept_old_epoch_append)) {
            refuse(Refusal::stale_epoch);
            send(from, AppendAck{joined_, false, Refusal::stale_epoch, 0, last()});
            return;
        }
        if (!from_leader(from, append.epoch) || append.epoch == reign_) {
            ++counters_.ignored;
            return;
        }
        join(append.epoch);
        leader_ = from;
        if (recovering_) {
            // It may have promised a newer epoch before its disk was lost: no ack until it knows.
            ++counters_.ignored;
            return;
        }
    }
    Refusal reason = Refusal::none;
    if (!append_entries(append, reason)) {
        refuse(reason);
        if (fetched) return;  // the fetch is sent again
        // Where the trader should look next: before the conflicting epoch's first entry.
        Position hint = std::min(last(), append.prev);
        if (reason == Refusal::mismatch) {
            const Epoch bad = epoch_at(hint);
            while (hint > base_ && epoch_at(hint) == bad) --hint;
        }
        send(from, AppendAck{joined_, false, reason, 0, hint});
        return;
    }
    const Position match = append.prev + append.entries.size();
    commit_ = std::max(commit_, std::min(append.commit, match));
    if (fetched) {
        // Progress only if it brought entries: a source that lost its log answers empty.
        if (!append.entries.empty()) fetch_heard_ = now;
        fetched_ = std::max(fetched_, match);
        send_fetch(now);
        return;
    }
    if (!seeded_ && match >= append.commit && epoch_at(append.commit) == append.epoch) {
        // Holds every committed entry once durable up to the trader's commit, provided that
        // commit covers a record of the trader's own epoch: before its reign record commits, a
        // new trader knows only part of what earlier reigns committed.
        seed_at_ = std::max(seed_at_, append.commit);
        seed_pending_ = true;
    }
    // (The broken variant answers as a member of the sender's epoch, as if it had joined it.)
    const Epoch ack_epoch = TP_MUTANT(accept_old_epoch_append) ? append.epoch : joined_;
    if (!held_ack_ || held_ack_to_ != from || held_ack_->epoch != ack_epoch ||
        held_ack_->match < match) {
        held_ack_ = AppendAck{ack_epoch, true, Refusal::none, match, 0};
        held_ack_to_ = from;
    }
    if (seed_pending_ && durable_ >= seed_at_) {
        seed_pending_ = false;
        become_seeded();
    }
    release_acks();
}

bool Replica::append_entries(const Append& append, Refusal& reason) {
    // Check everything before changing anything.
    if (append.entries.size() > max_entries_per_append) {
        reason = Refusal::too_large;
        return false;
    }
    Epoch previous = append.prev_epoch;
    for (const auto& e : append.entries) {
        if (e.payload.size() > max_payload_bytes) {
            reason = Refusal::too_large;
            return false;
        }
        if (journal::crc32c(e.payload) != e.crc) {
            reason = Refusal::bad_crc;
            return false;
        }
        // Epochs never fall along a log, and no entry is newer than its sender's epoch.
        if (e.epoch < previous || e.epoch > append.epoch) {
            reason = Refusal::conflict;
            return false;
        }
        previous = e.epoch;
    }
    if (append.prev > last()) {
        reason = Refusal::gap;
        return false;
    }
    std::size_t skip = 0;
    if (append.prev < base_) {
        // Entries up to the snapshot are committed, and so the same everywhere.
        skip = static_cast<std::size_t>(
            std::min<Position>(base_ - append.prev, append.entries.size()));
    } else if (epoch_at(append.prev) != append.prev_epoch) {
        reason = Refusal::mismatch;
        return false;
    }
    for (std::size_t i = skip; i < append.entries.size(); ++i) {
        const Position at = append.prev + 1 + i;
        const Entry& e = append.entries[i];
        if (at <= last()) {
            if (epoch_at(at) == e.epoch) continue;  // the same entry (same position and epoch)
            if (at <= commit_) {
                reason = Refusal::conflict;  // committed entries never change
                return false;
            }
            cut_after(at - 1);
        }
        entries_.push_back(e);
        if (e.kind == EntryKind::config) {
            configs_.push_back(at);
            members_dirty_ = true;
        }
        if (ready_.append_from == 0 || ready_.append_from > at) ready_.append_from = at;
    }
    return true;
}

void Replica::cut_after(Position position) {
    counters_.truncated += last() - position;
    entries_.resize(position - base_);
    while (!configs_.empty() && configs_.back() > position) {
        configs_.pop_back();
        members_dirty_ = true;  // a change cut from the log no longer counts
    }
    durable_ = std::min(durable_, position);
    ready_.truncate_after = ready_.truncate_after ? std::min(*ready_.truncate_after, position)
                                                  : position;
    if (ready_.append_from > position + 1 || ready_.append_from > last()) {
        ready_.append_from = 0;
    }
}

// ---- Snapshots ------------------------------------------------------------------------------

void Replica::on_chunk(PeerId from, const SnapshotChunk& chunk, Time now) {
    const bool fetched = phase_ == Phase::fetching && from == source_ && chunk.epoch == reign_;
    if (!fetched) {
        if (chunk.epoch < joined_) {
            refuse(Refusal::stale_epoch);
            send(from, AppendAck{joined_, false, Refusal::stale_epoch, 0, last()});
            return;
        }
        if (!from_leader(from, chunk.epoch) || chunk.epoch == reign_ || recovering_) {
            ++counters_.ignored;
            return;
        }
        join(chunk.epoch);
        leader_ = from;
    }
    const auto answer = [&](std::uint64_t received, Refusal reason) {
        if (reason != Refusal::none) refuse(reason);
        send(from, SnapshotAck{chunk.epoch, chunk.covered, received, reason});
    };
    if (chunk.total > options_.max_snapshot_bytes || chunk.bytes.size() > max_chunk_bytes ||
        chunk.offset > chunk.total || chunk.bytes.size() > chunk.total - chunk.offset) {
        answer(0, Refusal::too_large);
        return;
    }
    if (chunk.offset == 0) {
        incoming_ = SnapshotChunk{chunk.epoch, chunk.covered, chunk.covered_epoch, 0, chunk.total,
                                  {}, chunk.crc};
        incoming_->bytes.reserve(static_cast<std::size_t>(chunk.total));
    } else if (!incoming_ || incoming_->covered != chunk.covered ||
               incoming_->total != chunk.total || incoming_->bytes.size() != chunk.offset) {
        answer(incoming_ && incoming_->covered == chunk.covered ? incoming_->bytes.size() : 0,
               Refusal::out_of_order);
        return;
    }
    incoming_->bytes.insert(incoming_->bytes.end(), chunk.bytes.begin(), chunk.bytes.end());
    if (incoming_->bytes.size() < incoming_->total) {
        answer(incoming_->bytes.size(), Refusal::none);
        return;
    }
    SnapshotChunk whole = std::move(*incoming_);
    incoming_.reset();
    if (journal::crc32c(whole.bytes) != whole.crc) {
        answer(0, Refusal::bad_crc);
        return;
    }
    answer(whole.total, Refusal::none);
    commit_ = std::max(commit_, std::min(whole.covered, last()));  // a snapshot holds committed state
    if (whole.covered > base_ &&
        (whole.covered > last() || epoch_at(whole.covered) != whole.covered_epoch)) {
        // The snapshot replaces the whole log: what follows it comes in Appends. (A replica that
        // holds the snapshot's last entry keeps its log: the entries after it may be acknowledged
        // already, and dropping them would lose what a quorum counted on.)
        base_ = whole.covered;
        base_epoch_ = whole.covered_epoch;
        entries_.clear();
        // The set as of the snapshot: what it names (read_voters), else the set so far.
        base_voters_ = replicas_;
        configs_.clear();
        members_dirty_ = true;
        durable_ = 0;
        commit_ = std::max(commit_, base_);
        snapshot_ = Snapshot{base_, base_epoch_, std::move(whole.bytes)};
        read_snapshot_voters();
        ready_.install = *snapshot_;
        ready_.truncate_after.reset();
        ready_.append_from = 0;
        ++counters_.snapshots_installed;
    }
    if (fetched) {
        fetch_heard_ = now;
        send_fetch(now);
        return;
    }
    // Acknowledged as an Append up to the snapshot, once it is durable.
    held_ack_ = AppendAck{joined_, true, Refusal::none, whole.covered, 0};
    held_ack_to_ = from;
    release_acks();
}

void Replica::seed_once_durable(Position at) {
    if (seeded_) return;
    seed_at_ = std::max(seed_at_, at);
    seed_pending_ = true;
    if (durable_ >= seed_at_) {
        seed_pending_ = false;
        become_seeded();
    }
}

void Replica::become_seeded() {
    // Durable peer state, like the joined epoch: a restart must not forget it and ask again.
    if (!seeded_) ready_.seeded = true;
    seeded_ = true;
}

bool Replica::can_compact(Position covered) const noexcept {
    return covered > base_ && covered <= last() && covered <= commit_ &&
           (ready_.append_from == 0 || covered < ready_.append_from);
}

bool Replica::compacted(Position covered, std::vector<std::byte> state) {
    if (!can_compact(covered)) return false;
    base_epoch_ = epoch_at(covered);
    base_voters_ = voters_at(covered);
    std::erase_if(configs_, [&](Position at) { return at <= covered; });
    entries_.erase(entries_.begin(),
                   entries_.begin() + static_cast<std::ptrdiff_t>(covered - base_));
    base_ = covered;
    snapshot_ = Snapshot{covered, base_epoch_, std::move(state)};
    return true;
}

// ---- View change, recovery ------------------------------------------------------------------

LogState Replica::state_now(std::uint64_t query) const {
    return LogState{joined_, query, durable_, epoch_at(durable_), commit_, base_, seeded_};
}

void Replica::on_start_view(PeerId from, const StartView& start) {
    if (!from_leader(from, start.epoch)) {
        ++counters_.ignored;
        return;
    }
    if (start.epoch < joined_) {
        // Tell the would-be trader that a newer reign exists.
        refuse(Refusal::stale_epoch);
        send(from, state_now(0));
        return;
    }
    join(start.epoch);
    leader_ = from;
    // The joined epoch is made durable before this leaves (Ready::joined comes first).
    send(from, state_now(0));
}

void Replica::on_recover(PeerId from, const Recover& recover) {
    send(from, state_now(recover.query));
}

void Replica::on_fetch(PeerId from, const Fetch& fetch, Time now) {
    if (fetch.epoch < joined_) {
        refuse(Refusal::stale_epoch);
        send(from, AppendAck{joined_, false, Refusal::stale_epoch, 0, last()});
        return;
    }
    if (!from_leader(from, fetch.epoch)) {
        ++counters_.ignored;
        return;
    }
    if (fetch.from == 0 || fetch.from > last() + 1 || fetch.to < fetch.from) {
        refuse(Refusal::beyond_log);
        return;
    }
    join(fetch.epoch);
    leader_ = from;
    Progress* p = progress_of(from);
    if (fetch.from <= base_) {
        // Compacted away: the snapshot instead, one chunk at a time.
        if (!p->chunk_offset) p->chunk_offset = 0;
        send_chunk(*p, now);
        return;
    }
    Append append{fetch.epoch, fetch.from - 1, epoch_at(fetch.from - 1), commit_, {}};
    std::size_t bytes = 0;
    for (Position at = fetch.from; at <= std::min(fetch.to, last()); ++at) {
        const Entry& e = entries_[at - base_ - 1];
        if (!append.entries.empty() && (append.entries.size() == max_entries_per_append ||
                                        bytes + entry_wire_bytes(e) > options_.max_append_bytes)) {
            break;
        }
        bytes += entry_wire_bytes(e);
        append.entries.push_back(e);
    }
    send(from, std::move(append));
}

void Replica::on_tick(Time now) {
    if (recovering_ && now >= last_recover_ + options_.retry) {
        // Ask again (a fresh query: answers to an old one never count).
        last_recover_ = now;
        query_ = (query_ + 1) | (std::uint64_t{1} << 63);
        recover_answers_.clear();
        for (const auto& p : progress_) send(p.peer, Recover{query_});
    }
    switch (phase_) {
        case Phase::collecting:
            if (now >= last_start_view_ + options_.retry) {
                last_start_view_ = now;
                for (const auto& p : progress_) {
                    if (!p.answered) send(p.peer, StartView{reign_});
                }
            }
            break;
        case Phase::fetching:
            if (now >= fetch_heard_ + options_.quorum_timeout) {
                recollect(now);
            } else if (now >= last_fetch_ + options_.retry) {
                send_fetch(now);
            }
            break;
        case Phase::confirming:
        case Phase::serving:
            for (auto& p : progress_) {
                if (now < p.last_sent + options_.retry) continue;
                if (!p.chunk_offset) {
                    p.next = p.match + 1;  // what was not acknowledged, again
                    p.inflight.clear();
                }
                send_to(p, now, true);
            }
            break;
        case Phase::follower:
            break;
    }
}

std::optional<Time> Replica::next_deadline() const noexcept {
    std::optional<Time> at;
    const auto earliest = [&](Time t) {
        if (!at || t < *at) at = t;
    };
    if (recovering_) earliest(last_recover_ + options_.retry);
    switch (phase_) {
        case Phase::collecting: earliest(last_start_view_ + options_.retry); break;
        case Phase::fetching:
            earliest(std::min(last_fetch_ + options_.retry, fetch_heard_ + options_.quorum_timeout));
            break;
        case Phase::confirming:
        case Phase::serving:
            for (const auto& p : progress_) earliest(p.last_sent + options_.retry);
            break;
        case Phase::follower: break;
    }
    return at;
}

bool Replica::has_ready() const noexcept {
    return ready_.joined || ready_.seeded || ready_.install || ready_.truncate_after ||
           ready_.append_from != 0 || !ready_.messages.empty();
}

void Replica::advance() {
    ready_.joined.reset();
    ready_.seeded = false;
    ready_.install.reset();
    ready_.truncate_after.reset();
    ready_.append_from = 0;
    ready_.messages.clear();
}

}  // namespace tp::replication
