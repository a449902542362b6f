#pragma once
// A fake network of replicas stepped explicitly: messages wait in a queue until a test delivers
// them; each peer's "disk" is a copy of its log that only the Ready's instructions change, so a
// test sees what a driver would have written.

#include <algorithm>
#include <cstddef>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "tp/journal/crc32c.hpp"
#include "tp/replication/replica.hpp"

namespace tp::replication::test {

inline Epoch epoch(std::uint64_t term, PeerId leader) {
    return election::make_epoch(term, leader);
}

inline std::vector<std::byte> bytes(const std::string& text) {
    std::vector<std::byte> out;
    for (char c : text) out.push_back(static_cast<std::byte>(c));
    return out;
}

inline Entry data(Epoch e, const std::string& text) {
    auto payload = bytes(text);
    const auto crc = journal::crc32c(payload);
    return Entry{e, EntryKind::data, std::move(payload), crc};
}

struct Disk {
    std::optional<Snapshot> snapshot;
    std::vector<Entry> entries;  // after the snapshot
    Epoch joined = 0;
    bool seeded = false;
    Position base() const { return snapshot ? snapshot->covered : 0; }
    Position last() const { return base() + entries.size(); }
};

struct Packet {
    PeerId from = 0;
    PeerId to = 0;
    Message message;
};

class Cluster;
// Peer `trader` leads epoch 1 and, once everyone heard it, serves (where most scripts start).
void start_serving(Cluster& c, PeerId trader);

class Cluster {
public:
    // Peers 1..n, each from `restored[i]` when given (else fresh and seeded: a market's start).
    explicit Cluster(std::size_t n, std::map<PeerId, Restored> restored = {},
                     Options base = {}) : base_(std::move(base)) {
        for (PeerId id = 1; id <= n; ++id) ids_.push_back(id);
        for (PeerId id : ids_) {
            Restored r;
            if (auto it = restored.find(id); it != restored.end()) {
                r = std::move(it->second);
            } else {
                r.seeded = true;
            }
            start(id, std::move(r));
        }
    }

    // (Re)starts a peer from `restored` (its disk becomes that).
    void start(PeerId id, Restored restored) {
        Disk disk;
        disk.snapshot = restored.snapshot;
        disk.entries = restored.entries;
        disk.joined = restored.joined;
        disk.seeded = restored.seeded;
        disks_[id] = disk;
        Options o = base_;
        o.self = id;
        // Every peer is in the set unless the test names one (the others are learners).
        o.replicas = base_.replicas.empty() ? ids_ : base_.replicas;
        o.learner = std::find(o.replicas.begin(), o.replicas.end(), id) == o.replicas.end();
        peers_[id] = std::make_unique<Replica>(o, std::move(restored));
        down_.erase(id);
    }
    // A restart from what its disk holds.
    void restart(PeerId id) {
        const Disk& d = disks_.at(id);
        start(id, Restored{d.snapshot, d.entries, d.joined, d.seeded});
    }
    void crash(PeerId id) { down_.insert(id); }
    void cut(PeerId a, PeerId b) { cut_.insert({std::min(a, b), std::max(a, b)}); }
    void heal() { cut_.clear(); }

    Replica& operator[](PeerId id) { return *peers_.at(id); }
    const Disk& disk(PeerId id) const { return disks_.at(id); }
    Time now() const { return now_; }
    void tick(Time by) {
        now_ += by;
        for (PeerId id : ids_) {
            if (down_.count(id)) continue;
            peers_[id]->on_tick(now_);
            carry(id);
        }
    }

    // Carries out a peer's Ready: the disk first, then sync (unless held), then messages.
    void carry(PeerId id) {
        Replica& r = *peers_[id];
        for (int round = 0; round < 8 && r.has_ready(); ++round) {
            r.flush(now_);
            Ready& ready = r.ready();
            Disk& d = disks_[id];
            if (ready.joined) d.joined = *ready.joined;
            if (ready.seeded) d.seeded = true;
            if (ready.install) {
                d.snapshot = *ready.install;
                d.entries.clear();
            }
            if (ready.truncate_after && *ready.truncate_after < d.last()) {
                d.entries.resize(*ready.truncate_after - d.base());
            }
            if (ready.append_from != 0) {
                d.entries.resize(ready.append_from - 1 - d.base());
                for (Position at = ready.append_from; at <= r.last(); ++at) {
                    d.entries.push_back(*r.entry(at));
                }
            }
            for (auto& out : ready.messages) queue_.push_back({id, out.to, std::move(out.message)});
            r.advance();
            if (!hold_sync_.count(id)) r.on_durable(d.last(), now_);
            r.flush(now_);
        }
    }
    void hold_sync(PeerId id, bool hold) {
        if (hold) hold_sync_.insert(id); else hold_sync_.erase(id);
    }
    bool sync_held(PeerId id) const { return hold_sync_.count(id) != 0; }
    void sync(PeerId id) {
        peers_[id]->on_durable(disks_[id].last(), now_);
        carry(id);
    }

    void lead(PeerId id, Epoch e) {
        peers_[id]->lead(e, now_);
        carry(id);
    }
    void follow(PeerId id, Epoch e) {
        peers_[id]->follow(e, election::epoch_leader(e), now_);
        carry(id);
    }
    std::optional<Position> propose(PeerId id, const std::string& text,
                                    EntryKind kind = EntryKind::data) {
        auto at = peers_[id]->propose(bytes(text), now_, kind);
        carry(id);
        return at;
    }

    // Delivers queued packets (dropping those to or from a down peer or across a cut) until
    // none is left or `limit` were delivered; returns how many were delivered.
    std::size_t deliver(std::size_t limit = 100'000) {
        std::size_t n = 0;
        while (!queue_.empty() && n < limit) {
            Packet p = std::move(queue_.front());
            queue_.pop_front();
            if (down_.count(p.from) || down_.count(p.to) ||
                cut_.count({std::min(p.from, p.to), std::max(p.from, p.to)})) {
                continue;
            }
            ++n;
            peers_[p.to]->on_message(p.from, p.message, now_);
            carry(p.to);
        }
        return n;
    }
    // Delivers, ticking past the retry interval while anything is outstanding, `rounds` times.
    void settle(int rounds = 20) {
        for (int i = 0; i < rounds; ++i) {
            deliver();
            tick(std::chrono::milliseconds(60));
        }
        deliver();
    }
    // Delivers (or drops) the packet at `index` of the queue: reordering, for property tests.
    void deliver_at(std::size_t index, bool drop) {
        Packet p = std::move(queue_[index]);
        queue_.erase(queue_.begin() + static_cast<std::ptrdiff_t>(index));
        if (drop || down_.count(p.from) || down_.count(p.to) ||
            cut_.count({std::min(p.from, p.to), std::max(p.from, p.to)})) {
            return;
        }
        peers_[p.to]->on_message(p.from, p.message, now_);
        carry(p.to);
    }
    bool is_down(PeerId id) const { return down_.count(id) != 0; }
    // A crash that loses the disk too: back empty, with no authoritative state.
    void lose_disk(PeerId id) { start(id, Restored{}); }
    std::deque<Packet>& queue() { return queue_; }

private:
    Options base_;
    std::vector<PeerId> ids_;
    std::map<PeerId, std::unique_ptr<Replica>> peers_;
    std::map<PeerId, Disk> disks_;
    std::set<PeerId> down_;
    std::set<std::pair<PeerId, PeerId>> cut_;
    std::set<PeerId> hold_sync_;
    std::deque<Packet> queue_;
    Time now_{};
};

inline void start_serving(Cluster& c, PeerId trader) {
    c.lead(trader, epoch(1, trader));
    c.deliver();
}

}  // namespace tp::replication::test
