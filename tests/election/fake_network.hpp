// A small fake network for the election machines, stepped explicitly in virtual time: deliver one
// message, deliver all, drop, delay, crash and recover a peer, advance to the next deadline. The
// scripted tests use it with zero latency and no faults; the property tests and the benchmark turn
// on seeded drops and random latency. It also checks, on every event, that no two peers ever claim
// the same epoch and that a peer's epoch never goes back within one life.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "tp/election/bully.hpp"

namespace tp::election::test {

using namespace std::chrono_literals;

// The timings the scripted scenarios use: heartbeat 10 ms, election timeout 30 ms.
inline Config scenario_config(RecoveryPolicy policy = RecoveryPolicy::defer) {
    Config c;
    c.heartbeat_interval = 10ms;
    c.election_timeout = 30ms;
    c.answer_timeout = 10ms;
    c.coordinator_timeout = 30ms;
    c.policy = policy;
    return c;
}

struct InFlight {
    PeerId from;
    PeerId to;
    Message msg;
    Time at;
    std::uint64_t seq;
};

struct Logged {
    PeerId peer;
    Event event;
};

struct Faults {
    double drop = 0.0;       // probability that a sent message is lost
    Duration min_latency{};  // each message's latency is uniform in [min, max]
    Duration max_latency{};
};

class FakeNetwork {
public:
    // Peers `ids`, each configured as `base` with self and peers filled in.
    FakeNetwork(std::vector<PeerId> ids, Config base, std::uint64_t seed = 1) : rng_(seed) {
        std::sort(ids.begin(), ids.end());
        for (PeerId id : ids) {
            Config c = base;
            c.self = id;
            c.peers = ids;
            index_.emplace(id, nodes_.size());
            nodes_.push_back(Node{Bully(std::move(c)), true, false, no_epoch});
        }
    }

    static std::vector<PeerId> range(PeerId first, PeerId last) {
        std::vector<PeerId> ids;
        for (PeerId p = first; p <= last; ++p) ids.push_back(p);
        return ids;
    }

    Bully& peer(PeerId id) { return node(id).machine; }
    const Bully& peer(PeerId id) const { return nodes_.at(index_.at(id)).machine; }
    bool alive(PeerId id) const { return nodes_.at(index_.at(id)).alive; }
    // An isolated peer runs, but every message from or to it is lost on delivery.
    void isolate(PeerId id, bool isolated = true) { node(id).isolated = isolated; }
    Time now() const { return now_; }
    void set_faults(Faults faults) { faults_ = faults; }

    std::vector<PeerId> ids() const {
        std::vector<PeerId> out;
        for (const auto& n : nodes_) out.push_back(n.machine.self());
        return out;
    }
    std::vector<PeerId> live_ids() const {
        std::vector<PeerId> out;
        for (const auto& n : nodes_)
            if (n.alive) out.push_back(n.machine.self());
        return out;
    }

    // ---- inputs to one machine (each collects that machine's output) ----
    void start(PeerId id, Epoch floor = no_epoch) {
        apply(id, [&](Bully& m) { m.start(now_, floor); });
    }
    void start_all() {
        for (auto& n : nodes_)
            if (n.alive) apply(n.machine.self(), [&](Bully& m) { m.start(now_); });
    }
    bool suspect(PeerId id) {
        bool started = false;
        apply(id, [&](Bully& m) { started = m.suspect_leader(now_); });
        return started;
    }
    // A crash: the peer stops; messages to it are lost; its own in-flight messages stay in flight.
    void crash(PeerId id) { node(id).alive = false; }
    // Back after a crash with its memory lost.
    void recover(PeerId id, Epoch floor = no_epoch) {
        Node& n = node(id);
        n.alive = true;
        n.last_epoch = no_epoch;
        apply(id, [&](Bully& m) { m.restart(now_, floor); });
    }

    // ---- the wire ----
    std::size_t in_flight() const { return queue_.size(); }
    // A datagram nobody sent: `to` receives `msg` as if from `from`, now (a forger, a replay).
    void inject(PeerId from, PeerId to, Message msg) {
        queue_.push_back(InFlight{from, to, std::move(msg), now_, seq_++});
        std::push_heap(queue_.begin(), queue_.end(), later{});
    }
    const InFlight& next() const {
        if (queue_.empty()) throw std::logic_error("fake network: nothing in flight");
        return queue_.front();
    }
    std::vector<InFlight> pending() const {
        auto out = queue_;
        std::sort(out.begin(), out.end(), later{});
        std::reverse(out.begin(), out.end());
        return out;
    }
    // Delivers the earliest message if it is due; returns whether it did.
    bool deliver_one() {
        if (queue_.empty() || queue_.front().at > now_) return false;
        InFlight m = pop();
        ++delivered_;
        if (node(m.to).alive && !node(m.to).isolated && !node(m.from).isolated)
            apply(m.to, [&](Bully& b) { b.on_message(m.from, m.msg, now_); });
        return true;
    }
    // Delivers every due message, including those sent in reply with zero latency.
    std::size_t deliver_all() {
        std::size_t n = 0;
        while (deliver_one()) ++n;
        return n;
    }
    void drop_next() { pop(); }
    std::size_t drop_where(const std::function<bool(const InFlight&)>& pred) {
        const auto before = queue_.size();
        queue_.erase(std::remove_if(queue_.begin(), queue_.end(), pred), queue_.end());
        std::make_heap(queue_.begin(), queue_.end(), later{});
        return before - queue_.size();
    }
    std::size_t delay_where(const std::function<bool(const InFlight&)>& pred, Duration by) {
        std::size_t n = 0;
        for (auto& m : queue_)
            if (pred(m)) m.at += by, ++n;
        std::make_heap(queue_.begin(), queue_.end(), later{});
        return n;
    }

    // ---- time ----
    std::optional<Time> next_deadline() const {
        std::optional<Time> t;
        for (const auto& n : nodes_)
            if (n.alive)
                if (auto d = n.machine.next_deadline(); d && (!t || *d < *t)) t = d;
        return t;
    }
    // Moves time to the earliest live deadline and fires every timer due then. Messages in flight
    // are left alone, even if due earlier: the script decides.
    Time advance_to_next_deadline() {
        auto t = next_deadline();
        if (!t) throw std::logic_error("fake network: no deadline");
        now_ = std::max(now_, *t);
        fire_timers();
        return now_;
    }
    void fire_timers() {
        for (auto& n : nodes_)
            if (n.alive)
                if (auto d = n.machine.next_deadline(); d && *d <= now_)
                    apply(n.machine.self(), [&](Bully& m) { m.on_tick(now_); });
    }
    // One step of a free run: a due message, or else time moves to the next message or deadline.
    bool step() {
        if (deliver_one()) return true;
        std::optional<Time> t = next_deadline();
        if (!queue_.empty() && (!t || queue_.front().at < *t)) t = queue_.front().at;
        if (!t) return false;
        now_ = std::max(now_, *t);
        fire_timers();
        return true;
    }
    // Runs freely until `until`; then time is `until`.
    void run_until(Time until) {
        while (true) {
            if (deliver_one()) continue;
            std::optional<Time> t = next_deadline();
            if (!queue_.empty() && (!t || queue_.front().at < *t)) t = queue_.front().at;
            if (!t || *t > until) break;
            now_ = std::max(now_, *t);
            fire_timers();
        }
        now_ = std::max(now_, until);
    }
    void run_for(Duration d) { run_until(now_ + d); }
    // Runs freely until `done()` holds (checked whenever no message is due) or `limit` passes.
    bool run_until(const std::function<bool()>& done, Time limit) {
        while (true) {
            while (deliver_one()) {
            }
            if (done()) return true;
            std::optional<Time> t = next_deadline();
            if (!queue_.empty() && (!t || queue_.front().at < *t)) t = queue_.front().at;
            if (!t || *t > limit) return false;
            now_ = std::max(now_, *t);
            fire_timers();
        }
    }

    // ---- observations ----
    // Every live peer knows the same leader in the same epoch, and that leader is live and leads.
    std::optional<PeerId> agreed_leader() const {
        std::optional<PeerId> leader;
        Epoch epoch = no_epoch;
        for (const auto& n : nodes_) {
            if (!n.alive) continue;
            auto l = n.machine.leader();
            if (!l) return std::nullopt;
            if (!leader) leader = l, epoch = n.machine.epoch();
            if (*l != *leader || n.machine.epoch() != epoch) return std::nullopt;
        }
        if (!leader || !alive(*leader) || !peer(*leader).is_leader()) return std::nullopt;
        return leader;
    }
    // Election messages sent by all peers so far (Heartbeats excluded unless asked for).
    std::uint64_t sent(MessageKind kind) const {
        std::uint64_t total = 0;
        for (const auto& n : nodes_) total += n.machine.counters().sent_of(kind);
        return total;
    }
    std::uint64_t election_messages() const {
        return sent(MessageKind::election) + sent(MessageKind::ok) + sent(MessageKind::coordinator);
    }
    std::uint64_t delivered() const { return delivered_; }
    const std::vector<Logged>& log() const { return log_; }
    void clear_log() { log_.clear(); }
    std::vector<Logged> events_of(EventKind kind) const {
        std::vector<Logged> out;
        for (const auto& l : log_)
            if (l.event.kind == kind) out.push_back(l);
        return out;
    }
    // Empty while the safety checks hold; otherwise what went wrong first.
    const std::string& violation() const { return violation_; }
    const std::map<Epoch, PeerId>& claims() const { return claims_; }

private:
    struct Node {
        Bully machine;
        bool alive;
        bool isolated;
        Epoch last_epoch;  // within the current life
    };
    struct later {
        bool operator()(const InFlight& a, const InFlight& b) const {
            return a.at != b.at ? a.at > b.at : a.seq > b.seq;
        }
    };

    Node& node(PeerId id) {
        auto it = index_.find(id);
        if (it == index_.end())
            throw std::out_of_range("fake network: no peer " + std::to_string(id));
        return nodes_[it->second];
    }

    InFlight pop() {
        std::pop_heap(queue_.begin(), queue_.end(), later{});
        InFlight m = std::move(queue_.back());
        queue_.pop_back();
        return m;
    }

    template <class F>
    void apply(PeerId id, F&& f) {
        Node& n = node(id);
        if (!n.alive) return;
        f(n.machine);
        for (const Outbound& o : n.machine.outbox()) enqueue(id, o);
        n.machine.clear_outbox();
        for (const Event& e : n.machine.events()) check(n, e);
        n.machine.clear_events();
        if (n.machine.epoch() < n.last_epoch && violation_.empty())
            violation_ = "peer " + std::to_string(id) + " went back to an older epoch";
        n.last_epoch = n.machine.epoch();
    }

    void enqueue(PeerId from, const Outbound& o) {
        if (faults_.drop > 0 && std::uniform_real_distribution<double>(0, 1)(rng_) < faults_.drop)
            return;
        Duration latency = faults_.min_latency;
        if (faults_.max_latency > faults_.min_latency)
            latency += Duration(static_cast<Duration::rep>(
                rng_() % static_cast<std::uint64_t>(
                             (faults_.max_latency - faults_.min_latency).count() + 1)));
        queue_.push_back(InFlight{from, o.to, o.msg, now_ + latency, seq_++});
        std::push_heap(queue_.begin(), queue_.end(), later{});
    }

    void check(const Node& n, const Event& e) {
        log_.push_back(Logged{n.machine.self(), e});
        if (e.kind != EventKind::became_leader) return;
        auto [it, fresh] = claims_.emplace(e.epoch, n.machine.self());
        if (!fresh && it->second != n.machine.self() && violation_.empty())
            violation_ = "epoch " + std::to_string(e.epoch) + " claimed by " +
                         std::to_string(it->second) + " and " + std::to_string(n.machine.self());
    }

    std::vector<Node> nodes_;
    std::unordered_map<PeerId, std::size_t> index_;
    std::vector<InFlight> queue_;  // a min-heap on (at, seq)
    std::uint64_t seq_ = 0;
    std::uint64_t delivered_ = 0;
    Time now_{};
    Faults faults_;
    std::mt19937_64 rng_;
    std::vector<Logged> log_;
    std::map<Epoch, PeerId> claims_;
    std::string violation_;
};

}  // namespace tp::election::test
