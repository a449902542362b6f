#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "tp/election/messages.hpp"
#include "tp/election/policy.hpp"

namespace tp::election {

struct Config {
    PeerId self = 0;
    // The other peers; any ids, sparse. `self`, if listed, is ignored; duplicates are merged.
    std::vector<PeerId> peers;
    // The leader sends a Heartbeat to every peer this often.
    Duration heartbeat_interval = std::chrono::milliseconds(10);
    // Silence from the leader after which a follower suspects it. Must exceed heartbeat_interval.
    Duration election_timeout = std::chrono::milliseconds(30);
    // How long a candidate waits for an Ok before it declares itself leader.
    Duration answer_timeout = std::chrono::milliseconds(10);
    // How long a candidate that got an Ok waits for a Coordinator before it starts over.
    Duration coordinator_timeout = std::chrono::milliseconds(30);
    RecoveryPolicy policy = RecoveryPolicy::defer;
    // False: this peer never leads (a customer that keeps no replica of the trader's log). It
    // asks the higher peers when it has no leader, as a candidate would, but never answers Ok,
    // never claims an epoch, and follows a lower leader even under the bully policy; without a
    // leader it asks again every answer_timeout + coordinator_timeout.
    bool candidate = true;
};

// Throws std::invalid_argument naming the offending field.
void validate(const Config& config);

enum class Role : std::uint8_t {
    idle,       // constructed, not started: answers messages, has no deadline
    listening,  // restarted after a crash: waits up to election_timeout to hear a leader
    follower,   // follows leader(); suspects it after election_timeout of silence
    candidate,  // sent Election to the higher peers, waits answer_timeout for an Ok
    awaiting,   // got an Ok, waits coordinator_timeout for the Coordinator
    leader,     // leads epoch(); sends Heartbeats every heartbeat_interval
};

const char* to_string(Role role) noexcept;

enum class EventKind : std::uint8_t {
    became_leader,  // this peer leads `epoch`
    leader_known,   // `leader` leads `epoch` and this peer follows it
    leader_lost,    // this peer no longer knows a leader (`leader`/`epoch` are the lost ones)
};

const char* to_string(EventKind kind) noexcept;

struct Event {
    EventKind kind;
    PeerId leader;
    Epoch epoch;
    Time at;
    // For became_leader and leader_known: time since this peer suspected the previous leader (or
    // started, or restarted), if it was without a leader. One raw sample for a histogram.
    std::optional<Duration> since_suspicion;
};

struct Counters {
    std::uint64_t elections_started = 0;  // rounds begun, including restarts after a timeout
    std::uint64_t suspicions = 0;         // leader suspected (silence, suspect_leader, removal)
    std::array<std::uint64_t, message_kinds> sent{};      // by MessageKind
    std::array<std::uint64_t, message_kinds> received{};  // accepted for processing, by kind
    std::uint64_t stale_ignored = 0;    // Coordinator/Heartbeat older than the newest epoch seen
    std::uint64_t invalid_ignored = 0;  // unknown sender, wrong direction, malformed or
                                        // implausible epoch
    // Of those, epochs too far above this peer's newest reign or naming a non-member.
    std::uint64_t implausible_ignored = 0;
    // Epochs more than max_term_step above the newest reign, believed because their leader kept
    // claiming them for an election timeout (this peer had missed many elections).
    std::uint64_t caught_up = 0;
    // Leaderless spells that ended with a known leader, and how long they lasted.
    std::uint64_t leaders_learned = 0;
    Duration last_failover{};
    Duration max_failover{};
    Duration total_failover{};

    std::uint64_t sent_of(MessageKind kind) const noexcept {
        return sent[static_cast<std::size_t>(kind)];
    }
    std::uint64_t received_of(MessageKind kind) const noexcept {
        return received[static_cast<std::size_t>(kind)];
    }
};

// The bully election with epochs and a heartbeat failure detector, as a sans-IO state machine.
//
// Inputs: start, restart, on_message, on_tick, suspect_leader, add_peer, remove_peer, each with
// `now`. Outputs: outbox() (messages to send), events() (leader changes), next_deadline() (call
// on_tick then, or later; early or repeated ticks are harmless). A driver loops: feed an input,
// send and clear the outbox, handle and clear the events, sleep until next_deadline() or the next
// message. In outline (the peer module's coroutine does this over a Transport and a timer, with
// now = steady time since any fixed origin):
//
//     machine.start(now());                         // or restart(now(), floor) after a crash
//     for (;;) {
//         for (const Outbound& o : machine.outbox()) send(o.to, o.msg);
//         machine.clear_outbox();
//         for (const Event& e : machine.events()) act_on(e);  // trader role on/off, logging
//         machine.clear_events();
//         auto datagram = receive_until(machine.next_deadline());
//         if (datagram) machine.on_message(datagram->from, datagram->msg, now());
//         else machine.on_tick(now());
//     }
//
// On the wire, each message's epoch can travel as the envelope's epoch.
//
// Rules (n = self):
// - Election(e) from a lower peer j: note e; answer Ok(max epoch seen) to j. Then a follower,
//   listening or idle peer starts its own election; a candidate or awaiting peer carries on; a
//   leader whose epoch is >= e re-sends its Coordinator to j (j just missed the leader), while a
//   leader with an older epoch than e starts an election to lead above e. Election from a higher
//   peer is a misconfiguration and is ignored.
// - Starting an election: send Election to every higher peer except the leader just suspected
//   (so the next-highest peer that detects the leader's failure elects itself at once, the
//   textbook best case), and wait answer_timeout. No higher peer to ask: become leader.
// - Ok from a higher peer while a candidate: wait coordinator_timeout for the Coordinator.
//   Answer timeout with no Ok: become leader. Coordinator timeout: start the election again.
// - Becoming leader: epoch = (term of the highest epoch seen + 1, n); send Coordinator to every
//   lower peer (as in the textbook; higher peers learn it from the first Heartbeat), then a
//   Heartbeat to every peer each heartbeat_interval.
// - Coordinator(L, e) and Heartbeat(L, e) are claims that L leads e. Ignored as invalid unless
//   they come from L itself and e's leader part is L. Ignored as stale when e is older than the
//   newest epoch this peer has heard of (in any message), so a reign that has been superseded is
//   never followed. Otherwise:
//     - from the leader this peer follows, same epoch: refresh the failure detector;
//     - L higher than n, or policy defer: follow L in e (a leader steps down, a candidate stops);
//     - L lower than n and policy bully: start an election (unless already in one), which n
//       wins above e; L then follows n.
// - Silence from the leader for election_timeout (or suspect_leader, or the leader removed from
//   the peer set): suspect it and start an election.
// - start: cluster start-up; starts an election at once (the highest live id wins).
// - restart: a crashed peer back with its memory lost (the durable floor epoch, if the driver
//   has one from its journal, is passed in). It listens for election_timeout: a claim it hears
//   is handled by the rules above (defer: follow; bully: take over with a newer epoch); hearing
//   nothing, it starts an election. Listening first lets a returning peer learn the current
//   epoch before it claims one. If every heartbeat to it was lost and it declares an epoch
//   already superseded, the others ignore that claim as stale and the live leader's next
//   Heartbeat puts it right; a floor from durable state rules even that spell out.
// - A leader that hears of an epoch newer than its own in an Ok (a late answer) starts an
//   election: leading a superseded epoch would leave it deaf to the newer leader's heartbeats.
// - Plausible epochs only (one forged datagram must not poison the term): an epoch in any message
//   must name a member (or self) as its leader part, and its term may be at most max_term_step
//   above the term of trusted_epoch(), the newest reign this peer has led or followed (or its
//   durable floor); in an Election or Ok one less, since a leader takes the term after the
//   highest it heard of. A Coordinator or Heartbeat further ahead, up to max_catch_up_step, is
//   believed only by a peer that follows no leader, and only once its leader has kept claiming
//   exactly that epoch for election_timeout, as a live leader does (no two sightings more than
//   two heartbeat_intervals apart): a peer that missed many elections catching up, or a leader
//   meeting a reign far ahead of its own. Anything else is ignored and counted. So a
//   forger moves the term at most max_term_step + 1 per reign it forces, at the cost of one
//   election, and terms never come near max_term.
class Bully {
public:
    explicit Bully(Config config);

    void start(Time now, Epoch floor = no_epoch);
    void restart(Time now, Epoch floor = no_epoch);
    void on_message(PeerId from, const Message& message, Time now);
    void on_tick(Time now);
    // An external detector (a failed send, a refused connection) suspects the leader. Only a
    // follower acts on it; returns whether an election started.
    bool suspect_leader(Time now);
    // This peer was not running until `now` (its driver woke long after a deadline: a stall of
    // its loop, a paused process): the leader's silence meanwhile proves nothing, since the
    // leader may have stalled with it. A follower gives the leader a fresh election_timeout.
    void resume(Time now);
    // Another layer (the replicated log) met `newer`, a reign this machine has not heard of: the
    // next leader's term goes above it. A leader of an older epoch, whose reign the replicas
    // refuse, treats it as that reign's Coordinator: it follows its leader (suspecting it after a
    // silence, if it failed meanwhile), or starts an election where a claim would make it (the
    // bully policy against a lower leader, or an epoch of its own). An implausible epoch is
    // ignored. Returns whether an election started.
    bool superseded(Epoch newer, Time now);
    // Membership changes. Adding self or an existing peer, or removing an unknown one, is a no-op.
    void add_peer(PeerId peer, Time now);
    void remove_peer(PeerId peer, Time now);

    std::span<const Outbound> outbox() const noexcept { return outbox_; }
    void clear_outbox() noexcept { outbox_.clear(); }
    std::vector<Outbound> take_outbox() { return std::exchange(outbox_, {}); }
    std::span<const Event> events() const noexcept { return events_; }
    void clear_events() noexcept { events_.clear(); }
    std::vector<Event> take_events() { return std::exchange(events_, {}); }

    std::optional<Time> next_deadline() const noexcept { return deadline_; }

    Role role() const noexcept { return role_; }
    bool is_leader() const noexcept { return role_ == Role::leader; }
    // The leader this peer follows or is; empty while it knows none.
    std::optional<PeerId> leader() const noexcept { return leader_; }
    // The epoch of the current (or last known) leader.
    Epoch epoch() const noexcept { return epoch_; }
    // The newest epoch heard of in any message; the next leader's term goes above it.
    Epoch max_epoch() const noexcept { return max_epoch_; }
    // The newest reign this peer has led or followed, or its floor: plausibility counts from it.
    Epoch trusted_epoch() const noexcept { return trusted_; }
    // Whether an epoch heard of in an Election or Ok would be believed now (see the rules above).
    bool plausible(Epoch epoch) const noexcept;
    PeerId self() const noexcept { return config_.self; }
    std::span<const PeerId> peers() const noexcept { return config_.peers; }
    const Config& config() const noexcept { return config_; }
    // Held claims: the election runs as usual (Elections out, Oks back, so lower peers still wait
    // for this one), but where it would claim an epoch it waits coordinator_timeout and tries
    // again. For a peer that lost its durable state: until it knows the epochs its earlier life
    // could have led, a claim might reuse one. A reign under way is kept.
    void hold_claims(bool hold) noexcept { claims_held_ = hold; }
    // Whether this peer may lead (Config::candidate), from the next election on: a customer
    // promoted to the replica set becomes one once its log is caught up (issue 18).
    void set_candidate(bool candidate) noexcept { config_.candidate = candidate; }
    // A leader that may not lead after all (set_candidate(false) first) gives the lead up: it
    // starts over as a peer without a leader, keeping its epoch, and the members elect another
    // once its heartbeats stop. A no-op unless leading.
    void abdicate(Time now);
    bool claims_held() const noexcept { return claims_held_; }
    const Counters& counters() const noexcept { return counters_; }

private:
    void on_election(PeerId from, const Election& m, Time now);
    void on_ok(PeerId from, const Ok& m, Time now);
    void on_claim(PeerId from, MessageKind kind, PeerId leader, Epoch epoch, Time now);

    void suspect(Time now);
    void begin_election(Time now);
    void become_leader(Time now);
    void follow(PeerId leader, Epoch epoch, Time now);
    void lose_leader(Time now);
    void learned(EventKind kind, Time now);
    void note_epoch(Epoch epoch) noexcept;
    void send(PeerId to, const Message& message);
    bool is_peer(PeerId peer) const noexcept;
    bool names_member(Epoch epoch) const noexcept;
    bool believe_claim(PeerId leader, Epoch epoch, Time now);

    Config config_;
    Role role_ = Role::idle;
    std::optional<PeerId> leader_;
    Epoch epoch_ = no_epoch;
    Epoch max_epoch_ = no_epoch;
    Epoch trusted_ = no_epoch;
    // A claim too far ahead to believe at once: who, which epoch, since when it is repeated
    // without a gap, and when it was last heard.
    struct Pending {
        PeerId leader = 0;
        Epoch epoch = no_epoch;
        Time since{};
        Time last{};
    };
    bool claims_held_ = false;
    std::optional<Pending> pending_claim_;
    std::optional<Time> deadline_;
    std::optional<PeerId> suspected_;       // left out of the next Elections
    std::optional<Time> leaderless_since_;  // start of the current spell without a leader
    std::optional<Time> led_since_;         // when this peer last became leader
    std::vector<Outbound> outbox_;
    std::vector<Event> events_;
    Counters counters_;
};

}  // namespace tp::election
