#pragma once

// One peer's part in the replicated log, as a sans-IO state machine (after etcd-io/raft: Step,
// Ready, Advance; replies held until durable). Messages, the election's verdicts and `now` go in;
// a Ready comes out: what to cut from and add to the local log, a snapshot to install, and the
// messages to send, each ack leaving only once what it acknowledges is durable (on_durable). It
// knows nothing of files, sockets or real time. docs/replication.md states the protocol and why
// it is safe.
//
// The log lives here, in memory, from the newest snapshot on (bounded: the peer compacts it);
// the driver's journal keeps the durable copy, and restore() rebuilds the machine from it.

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "tp/replication/messages.hpp"

namespace tp::replication {

// A config entry's change: `peer` joins the replica set (voter) or leaves it.
struct VoterChange {
    PeerId peer = 0;
    bool voter = false;
};

struct Options {
    PeerId self = 0;
    // The replica set at the start of the log (before any config entry), self included unless
    // `learner` (sorted, unique on use). A snapshot names its own (read_voters).
    std::vector<PeerId> replicas;
    // This peer keeps a replica but is not in the set: it receives the log and counts in nothing.
    bool learner = false;
    // The application's records: what a config entry changes, and the replica set a snapshot
    // holds. Unset (or nullopt): no change, and a snapshot keeps the set the log had there.
    std::function<std::optional<VoterChange>(std::span<const std::byte>)> read_change = {};
    std::function<std::optional<std::vector<PeerId>>(std::span<const std::byte>)> read_voters =
        {};
    // How often an unanswered Append, StartView, Fetch, Recover or chunk goes out again, and how
    // often an idle trader tells replicas the commit position.
    Duration retry = std::chrono::milliseconds(50);
    // A trader that has heard no ack from a quorum for this long has no quorum (has_quorum).
    Duration quorum_timeout = std::chrono::milliseconds(500);
    // Flow control: entries in flight to one replica, and bytes in one Append (entry_wire_bytes:
    // 32 KiB leaves room for the envelope and a clock of a thousand members in one datagram).
    std::size_t window = 4096;
    std::size_t max_append_bytes = 32u << 10;
    // Appends carrying entries in flight to one replica (etcd's MaxInflightMsgs). Records
    // proposed while they are out travel together in the next one, so a loaded trader sends one
    // Append per replica per sync rather than one per record; two keep a replica's next sync fed
    // while its current one runs. 0: no limit.
    std::size_t max_inflight = 2;
    std::size_t chunk_bytes = max_chunk_bytes;
    // The largest snapshot a replica accepts in chunks (its buffer is this big at most).
    std::uint64_t max_snapshot_bytes = 256u << 20;
};

struct Snapshot {
    Position covered = 0;
    Epoch covered_epoch = 0;
    std::vector<std::byte> bytes;
};

// What the durable copy held at start (the driver's journal and durable peer state).
struct Restored {
    std::optional<Snapshot> snapshot;
    std::vector<Entry> entries;  // after the snapshot, in order
    Epoch joined = 0;            // the highest epoch joined (the peer's epoch floor)
    // The durable state is authoritative; false after a lost disk (or a first start): the
    // replica then learns the newest epoch from a quorum (Recover) before it acknowledges anything.
    bool seeded = false;
};

// What this replica refused or dropped, by reason.
struct Counters {
    std::uint64_t refused[static_cast<std::size_t>(last_refusal) + 1] = {};
    std::uint64_t appends_sent = 0;
    std::uint64_t entries_sent = 0;
    std::uint64_t chunks_sent = 0;
    std::uint64_t snapshots_installed = 0;
    std::uint64_t truncated = 0;       // entries cut from a divergent suffix
    std::uint64_t ignored = 0;         // messages not for this replica's state (late, foreign)
    std::uint64_t recollections = 0;   // view changes that collected again: the source went silent
};

// Where a trader is in its epoch: collecting log states, pulling the most advanced log, waiting
// for its reign record to commit, serving.
enum class Phase : std::uint8_t { follower, collecting, fetching, confirming, serving };
const char* to_string(Phase phase) noexcept;

struct Outgoing {
    PeerId to = 0;
    Message message;
};

// What the driver carries out, in this order, then calls advance().
struct Ready {
    // The joined epoch grew: make it durable before any of `messages` leaves.
    std::optional<Epoch> joined;
    // This replica caught up with a trader after a lost disk: make it durable (seeded = true).
    bool seeded = false;
    // A snapshot to install in place of the whole log (then the log holds nothing after it).
    std::optional<Snapshot> install;
    // Drop every entry after this position (a divergent suffix), before appending.
    std::optional<Position> truncate_after;
    // Append entries [append_from, last()] (read them with entry()); nothing when append_from
    // is 0.
    Position append_from = 0;
    std::vector<Outgoing> messages;
};

class Replica {
public:
    explicit Replica(Options options, Restored restored = {});

    // The election's verdicts. lead(): this peer won `epoch`; it collects log states and serves
    // once its reign record is committed. follow(): `leader` leads `epoch`. A verdict older than
    // the joined epoch is ignored.
    void lead(Epoch epoch, Time now);
    void follow(Epoch epoch, PeerId leader, Time now);

    void on_message(PeerId from, const Message& message, Time now);
    void on_tick(Time now);
    std::optional<Time> next_deadline() const noexcept;
    // The local log is durable up to `position` (the driver's sync returned). It must describe the
    // log after every truncation and install the driver has carried out: a sync that was in flight
    // across a truncation is not reported.
    void on_durable(Position position, Time now);
    // Sends what proposals and commits left pending (the peer calls it once per step, so records
    // proposed together travel together).
    void flush(Time now);

    // Serving: appends a record of this epoch; returns its position (committed once commit()
    // reaches it). Not serving: nothing. A config record changes the replica set at once, and
    // only one may be uncommitted at a time (Raft's single-server change): nothing while
    // another is (can_change()).
    std::optional<Position> propose(std::span<const std::byte> payload, Time now,
                                    EntryKind kind = EntryKind::data);
    // Whether a config record may be proposed now: serving, and every earlier one committed.
    bool can_change() const noexcept;
    // The peers the trader ships the log to beyond the set: being caught up before they join it
    // (counted in no quorum). Replaces the previous list; members of the set are left out.
    void set_learners(std::vector<PeerId> learners, Time now);
    // A snapshot of the state up to `covered`: entries up to it leave memory, and replicas too
    // far behind get this snapshot (which the driver writes). Refused (false, nothing changes)
    // unless can_compact(covered).
    bool compacted(Position covered, std::vector<std::byte> state);
    // Whether compacted(covered, ...) would take it: committed, held, and already handed to the
    // driver (entries of the pending Ready::append_from are not on disk yet, and must not go).
    bool can_compact(Position covered) const noexcept;

    Ready& ready() noexcept { return ready_; }
    bool has_ready() const noexcept;
    void advance();

    Phase phase() const noexcept { return phase_; }
    bool serving() const noexcept { return phase_ == Phase::serving; }
    // Whether a quorum acknowledged something within quorum_timeout (a trader without one refuses
    // requests with no_quorum rather than hold them).
    bool has_quorum(Time now) const noexcept;
    Epoch joined() const noexcept { return joined_; }
    Epoch reign() const noexcept { return reign_; }  // the epoch this peer leads, or 0
    bool seeded() const noexcept { return seeded_; }
    // After a lost disk: learning the newest epoch a quorum joined; acknowledges nothing meanwhile.
    bool recovering() const noexcept { return recovering_; }
    PeerId leader() const noexcept { return leader_; }
    Position first() const noexcept { return base_ + 1; }  // first entry held in memory
    Position last() const noexcept { return base_ + entries_.size(); }
    Position durable() const noexcept { return durable_; }
    Position commit() const noexcept { return commit_; }
    Epoch epoch_at(Position position) const noexcept;  // 0 for position 0 or unknown
    const Entry* entry(Position position) const noexcept;
    const std::optional<Snapshot>& snapshot() const noexcept { return snapshot_; }
    std::size_t quorum() const noexcept { return replicas_.size() / 2 + 1; }
    // The replica set the newest config record in this log names (or the snapshot's, or the
    // initial one), and whether this peer is in it.
    const std::vector<PeerId>& voters() const noexcept { return replicas_; }
    bool voter() const noexcept { return is_replica(options_.self); }
    const std::vector<PeerId>& learners() const noexcept { return learners_; }
    // How far a learner's log matches the trader's (0: unknown, or not a learner here).
    Position match_of(PeerId peer) const noexcept;
    const Counters& counters() const noexcept { return counters_; }

private:
    struct Progress {
        PeerId peer = 0;
        Position next = 1;   // the next entry to send
        Position match = 0;  // acknowledged durable and matching
        Time last_sent{};
        Time last_heard{};
        bool heard = false;
        bool answered = false;  // LogState for this epoch
        LogState state;
        // Snapshot catch-up: the offset acknowledged (nullopt: not sending a snapshot).
        std::optional<std::uint64_t> chunk_offset;
        // The last position of each Append with entries not yet acknowledged, oldest first.
        std::vector<Position> inflight;
        bool voter = true;  // counts in quorums (else a learner)
    };

    bool is_replica(PeerId peer) const noexcept;
    bool is_member(PeerId peer) const noexcept;  // in the set, or a learner
    // The set from base_voters_ and the config records in the log; progress for each member.
    void refresh_members(Time now);
    std::vector<PeerId> voters_at(Position position) const;
    // The snapshot's set, when the application can read one from it.
    void read_snapshot_voters();
    Progress* progress_of(PeerId peer) noexcept;
    void join(Epoch epoch);
    // Raises the joined epoch (durably, via the Ready); false when `epoch` is not newer.
    bool raise_joined(Epoch epoch);
    void send(PeerId to, Message message);
    // Seeded once the log is durable up to `at` (at once if it already is).
    void seed_once_durable(Position at);
    void become_seeded();
    void refuse(Refusal reason) noexcept { ++counters_.refused[static_cast<std::size_t>(reason)]; }

    // Follower side.
    void on_append(PeerId from, const Append& append, Time now);
    void on_chunk(PeerId from, const SnapshotChunk& chunk, Time now);
    void on_start_view(PeerId from, const StartView& start);
    void on_recover(PeerId from, const Recover& recover);
    void on_fetch(PeerId from, const Fetch& fetch, Time now);
    void send_fetch(Time now);
    bool from_leader(PeerId from, Epoch epoch) noexcept;
    LogState state_now(std::uint64_t query) const;
    bool append_entries(const Append& append, Refusal& reason);
    void cut_after(Position position);
    void release_acks();

    // Trader side.
    void on_ack(PeerId from, const AppendAck& ack, Time now);
    void on_log_state(PeerId from, const LogState& state, Time now);
    void on_snapshot_ack(PeerId from, const SnapshotAck& ack, Time now);
    void collect_done(Time now);
    // Fetching, the source silent for quorum_timeout: back to collecting.
    void recollect(Time now);
    // The view change adopted a log naming another set than the one it heard a quorum of:
    // collects again (or, not in that set, stops leading); false when the set held still.
    bool set_moved(Time now);
    void begin_reign(Time now);
    void send_appends(Time now, bool heartbeat);
    void send_to(Progress& p, Time now, bool heartbeat);
    void send_chunk(Progress& p, Time now);
    void advance_commit(Time now);
    void deposed(Epoch epoch);

    Options options_;
    std::vector<PeerId> replicas_;     // the set now (sorted)
    std::vector<PeerId> base_voters_;  // the set as of base_ (sorted)
    std::vector<PeerId> learners_;     // sorted, none in replicas_
    std::vector<Position> configs_;    // positions of the config records held, in order
    std::vector<PeerId> collected_from_;  // the set whose quorum this view change heard
    bool members_dirty_ = false;           // a config record was appended or cut
    Epoch joined_ = 0;
    PeerId leader_ = 0;  // of joined_, when known
    Epoch reign_ = 0;    // the epoch this peer leads
    Phase phase_ = Phase::follower;
    bool seeded_ = false;
    std::uint64_t query_ = 0;  // the Recover query in flight

    // The log: entries_[i] is at base_ + 1 + i.
    Position base_ = 0;
    Epoch base_epoch_ = 0;
    std::vector<Entry> entries_;
    std::optional<Snapshot> snapshot_;
    Position durable_ = 0;
    Position commit_ = 0;
    Position reign_start_ = 0;  // the position of this reign's first record

    // Follower: the ack waiting for the log to be durable (the highest match asked for), and the
    // last ack sent (a durable prefix of a held ack goes out without waiting for the rest).
    std::optional<AppendAck> held_ack_;
    PeerId held_ack_to_ = 0;
    PeerId acked_to_ = 0;
    Epoch acked_epoch_ = 0;
    Position acked_ = 0;
    Position seed_at_ = 0;  // unseeded: seeded once durable (and matching) up to here
    bool seed_pending_ = false;
    bool send_pending_ = false;
    bool recovering_ = false;
    // Follower: a snapshot arriving in chunks.
    std::optional<SnapshotChunk> incoming_;
    // Trader: where the most advanced log is pulled from during the view change.
    PeerId source_ = 0;
    Position fetch_to_ = 0;
    Epoch fetch_to_epoch_ = 0;
    // How far this log is known to agree with the source's (its answers so far): the next Fetch
    // starts after it, so a pull longer than one Append moves on.
    Position fetched_ = 0;
    Time last_fetch_{};
    Time fetch_heard_{};  // the source's last answer (or the fetch's start)
    Time last_start_view_{};
    Time last_heartbeat_{};
    std::vector<Progress> progress_;  // one per other replica
    // Recovering: answers to our Recover query.
    std::vector<std::pair<PeerId, Epoch>> recover_answers_;
    Time last_recover_{};

    Counters counters_;
    Ready ready_;
};

}  // namespace tp::replication
