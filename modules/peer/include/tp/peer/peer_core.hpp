#pragma once

// One peer as a sans-IO state machine (after etcd-io/raft's Node: Step, Ready, Advance): the
// vector clock, the bully machine and the roles (Buyer, Seller and, while elected, Trader)
// composed. Messages and `now` go in; a Ready comes out: the epoch to make durable first, the
// stamped messages to send, and whether a reign's books are to be loaded. No asio, no sockets, no
// files, no real clock, no unseeded randomness: the driver (Node) carries a Ready out.

#include <spdlog/logger.h>

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "tp/auth/guard.hpp"
#include "tp/clock/vector_clock.hpp"
#include "tp/election/bully.hpp"
#include "tp/market/books.hpp"
#include "tp/peer/buyer.hpp"
#include "tp/peer/config.hpp"
#include "tp/peer/junk_report.hpp"
#include "tp/peer/outbox.hpp"
#include "tp/peer/seller.hpp"
#include "tp/peer/trader.hpp"
#include "tp/replication/replica.hpp"
#include "tp/wire/message.hpp"

namespace tp::peer {

// What a peer counted: messages, and the input it dropped or refused.
struct NodeCounters {
    std::uint64_t sent = 0;
    std::uint64_t received = 0;
    std::uint64_t malformed = 0;
    std::uint64_t misaddressed = 0;
    std::uint64_t ignored = 0;  // trading messages that reached a non-trader
    // A Payment, BuyResult or DepositAck not from the current trader, or a PaymentAck not from
    // the payee: refused.
    std::uint64_t wrong_role = 0;
    // Clock entries naming peers that are not members: ignored by the merge.
    std::uint64_t foreign_clock_entries = 0;
    // Buys and deposits answered trader_unavailable while elected but not yet serving.
    std::uint64_t unavailable_answers = 0;
    // Buys and deposits answered no_quorum: serving, but no quorum of replicas answers.
    std::uint64_t no_quorum_answers = 0;
    // Datagrams refused by authentication, by reason (auth::Refusal), and hellos sent.
    std::array<std::uint64_t, auth::refusal_count> auth_refused{};
    std::uint64_t hellos_sent = 0;
    // Members a first life's greeting was still waiting on when its wait ended (down, cut off,
    // or every hello and answer between them lost).
    std::uint64_t greetings_unanswered = 0;
    // Peers gone long enough that their sessions and addresses were dropped (issue 18).
    std::uint64_t peers_forgotten = 0;
    // Datagrams from addresses in no book refused: not a Join, or not from the address it claims.
    std::uint64_t strangers_refused = 0;
    // Messages sent, by kind (the index of wire::Body's alternative).
    std::array<std::uint64_t, std::variant_size_v<wire::Body>> sent_by_kind{};
    // Payments and payment acks that joined another of the same Ready to the same peer (one
    // Payments or PaymentAcks carries them), instead of a message of their own (issue 17).
    std::uint64_t coalesced = 0;
    // Envelopes the driver sent behind another of the same batch in one datagram to the same
    // peer (one MAC, one receive), instead of a datagram of their own (issue 17).
    std::uint64_t shared_datagram = 0;
};

// Quorum mode's replica set: the `count` highest of `members` (every member when there are
// fewer), sorted; and whether `peer` is in it.
std::vector<PeerId> replica_set(std::span<const PeerId> members, std::uint32_t count);
bool keeps_replica(std::span<const PeerId> members, std::uint32_t count, PeerId peer);

struct PeerCoreOptions {
    PeerId self = 0;
    Role role = Role::both;
    std::vector<PeerId> peers;  // every peer of the market (self may be listed)
    // This life (durable peer state): ids derive from it.
    std::uint32_t incarnation = 1;
    // The highest epoch an earlier life saw: the bully machine starts above it.
    wire::Epoch epoch_floor = 0;
    election::Config election;  // self and peers are filled in from the above
    BuyerOptions buyer;
    SellerOptions seller;
    TraderOptions trader;
    // Quorum mode (replication.mode): the trader's log is replicated to the replica set, the
    // `replica_count` highest ids (docs/replication.md); self and replicas are filled in from the
    // above. A peer outside the set keeps no replica and never leads. Off: the shared journal,
    // which the driver loads when this peer wins (Ready::load_books).
    bool replicated = false;
    std::uint32_t replica_count = Config::Replication::default_replicas;
    // Issue 18 (replication.promote): the trader keeps the set at replica_count, promoting
    // customers one at a time once their copies of the log have caught up.
    bool promote = false;
    replication::Options replication;
    // Issue 18: a newcomer joins a running market through `contact` (any member; a founder's id,
    // whose address the config has) instead of starting as a founder. It listens at host:port,
    // which the trader records and every member learns. A newcomer is a customer: it never leads.
    struct Joining {
        PeerId contact = 0;
        std::string host;
        std::uint16_t port = 0;
    };
    std::optional<Joining> join;

    static PeerCoreOptions from(const Config& config, PeerId self, Role role,
                                std::vector<PeerId> peers, std::uint32_t incarnation);
};

// What the driver carries out, in this order, before calling advance().
struct Ready {
    // The highest epoch seen grew: make it durable before any of `messages` leaves.
    std::optional<wire::Epoch> epoch_seen;
    // Stamped envelopes to send, in order (one addressed to this peer itself goes back into
    // on_message: a trader paying itself for its own lot).
    std::vector<wire::Envelope> messages;
    // This peer won the election for this epoch: open the journal, load the books, and call
    // trader_loaded() (meanwhile buys and deposits are answered trader_unavailable).
    std::optional<wire::Epoch> load_books;
    // The reign ended: close its journal (a load in progress is abandoned).
    bool stepped_down = false;

    // Quorum mode. The replica's own storage work (install, truncate, append) is in
    // replica()->ready(), carried out after epoch_seen and seeded, before compact and messages.
    // This replica caught up after a lost disk: make that durable (peer state) too.
    bool seeded = false;
    // This peer serves as trader of this epoch from now on (its view change is done).
    std::optional<wire::Epoch> began_reign;
    // The replica took a snapshot of the books at `covered` (committed; its bytes are
    // replica()->snapshot(), not copied here): write it to the replica's journal, which may then
    // drop the records it covers.
    struct Compaction {
        Position covered = 0;
        wire::Epoch covered_epoch = 0;
    };
    std::optional<Compaction> compact;
    // The trader's events committed since the last Ready, at their positions in the log
    // (observers only: a deposed trader's uncommitted events never show).
    std::vector<std::pair<Position, market::Event>> committed;
    // The trader's events proposed since the last Ready, at their positions (observers only):
    // committed later, or lost with their reign. What an answer rests on before it commits.
    std::vector<std::pair<Position, market::Event>> proposed;
    // Why this peer cannot go on (a committed record its books cannot take): the driver stops it.
    std::string failure;
    // Quorum mode, a customer: the trader ships it the log (it is being promoted, issue 18, or
    // was before a restart). Open its replica's journal and call open_replica(), before anything
    // else of this Ready; the trader's next retry finds it.
    bool open_replica = false;

    // Issue 18. The membership changed: every member, with the address of each that joined
    // (founders' are the config's). The driver adds the new ones to its address book and
    // authentication before `messages` leave, and removes the ones gone after.
    std::optional<std::vector<wire::MemberInfo>> members;
    // Peers that are not members (yet) sent a Join: where to answer them. Added (never replacing
    // a known peer's address) before `messages` leave.
    std::vector<wire::MemberInfo> guests;
    // Peers that left (or asked to join and never did) long enough ago that no retry of theirs
    // can still need an answer: drop their authentication sessions and addresses, after
    // `messages` leave. One named here that is a member again is not forgotten.
    std::vector<PeerId> forget;
};

class PeerCore {
public:
    PeerCore(PeerCoreOptions options, spdlog::logger& log);

    // The highest epoch an earlier life saw (durable peer state). Before start().
    void set_epoch_floor(wire::Epoch floor) noexcept { epoch_floor_ = noted_epoch_ = floor; }
    // Keep the trader's released outputs for an observer (Trader::released). Before start().
    void keep_released(bool keep) noexcept { trader_options_.keep_released = keep; }

    // The first step of a life; `restarted`: back after a crash (the election's recovery policy).
    void start(Time now, bool restarted);
    // A decoded envelope from `envelope.sender`, addressed to this peer (the driver checked both):
    // merge() then step(). In two calls, an observer can see the clock as the receive left it,
    // before any reply ticks it.
    void on_message(const wire::Envelope& envelope, Time now) {
        merge(envelope);
        step(envelope, now);
    }
    void merge(const wire::Envelope& envelope);
    void step(const wire::Envelope& envelope, Time now);
    void on_tick(Time now);
    // The driver was not running until `now` (it woke long after a deadline): silences that
    // spanned it prove nothing (Bully::resume).
    void on_resume(Time now) { bully_.resume(now); }
    std::optional<Time> next_deadline() const;

    // Issue 18: leave the market (a seller's unsold lots go with it, or stay on sale). Asked of the
    // trader until it answers; it waits for the seller's payments to be settled. left() once done.
    void leave(bool withdraw_lots, Time now);
    bool left() const noexcept { return left_; }
    // A leave unanswered after this many attempts (join_interval apart) gives up: the driver
    // stops the peer with a failure (Ready::failure). Members forget a peer later than that.
    static constexpr std::uint64_t max_leave_attempts = 64;
    bool joining() const noexcept { return joining_.has_value(); }
    const std::optional<PeerCoreOptions::Joining>& joining_options() const noexcept {
        return joining_;
    }
    bool leaving() const noexcept { return leaving_.has_value(); }
    // Back from a crash, it has not heard the membership from the trader yet.
    bool asking_members() const noexcept { return asking_members_; }

    // Local events: a buy request, a lot to deposit.
    wire::RequestId buy(market::ProductId product, std::uint32_t quantity, Time now);
    wire::LotId deposit(market::ProductId product, std::uint32_t quantity, Money unit_price,
                        Time now);

    // The trader role. The books of the reign Ready::load_books asked for, recovered from a
    // journal durable up to `durable`; false when the reign has ended meanwhile.
    // `replayed`: the records after the journal's snapshot (they count toward the next one).
    bool trader_loaded(wire::Epoch epoch, market::Books books, Position durable, Time now,
                       std::uint64_t replayed);
    // The journal is durable up to `durable`.
    void on_durable(Position durable, Time now);

    // Quorum mode. Before start(): the replica as its journal and the peer state left it; false
    // (with `error` set) when its snapshot does not restore.
    bool restore_replica(replication::Restored restored, std::string& error);
    // The replica's journal is durable up to `position` (a sync returned; none was in flight
    // across a truncation or install since it began).
    void on_replica_durable(Position position, Time now);
    // Quorum mode and in the founders' replica set: restore_replica before start (a promoted
    // newcomer opens its replica at run time, open_replica).
    bool founding_replica() const noexcept { return founding_replica_; }
    // Quorum mode, at run time (Ready::open_replica): the replica as its journal left it, which
    // follows the current trader at once; false (with `error` set) as restore_replica.
    bool open_replica(replication::Restored restored, std::string& error, Time now);
    replication::Replica* replica() noexcept { return replica_ ? &*replica_ : nullptr; }
    const replication::Replica* replica() const noexcept { return replica_ ? &*replica_ : nullptr; }
    // The books as far as the log is committed and applied here (followers; null while trader).
    const market::Books* replica_books() const noexcept { return shadow_ ? &*shadow_ : nullptr; }
    Position applied() const noexcept { return applied_; }
    // Serving as trader: the core (its records, snapshot and released outputs are the driver's
    // to carry out), else null.
    Trader* trader() noexcept { return trader_ ? &*trader_ : nullptr; }
    const Trader* trader() const noexcept { return trader_ ? &*trader_ : nullptr; }
    // Elected, books not loaded yet.
    bool loading() const noexcept { return loading_.has_value(); }

    // Input the driver dropped (malformed, misaddressed, refused by authentication): counted and
    // reported at most once a second per kind.
    void dropped(DropKind kind, PeerId from, std::string_view detail, Time now);

    Ready& ready() noexcept { return ready_; }
    bool has_ready() const noexcept;
    void advance();

    PeerId id() const noexcept { return self_; }
    Role role() const noexcept { return role_; }
    bool is_buyer() const noexcept { return role_ != Role::seller; }
    bool is_seller() const noexcept { return role_ != Role::buyer; }
    std::uint32_t incarnation() const noexcept { return incarnation_; }
    std::span<const PeerId> members() const noexcept { return members_; }
    const clock::VectorClock& clock() const noexcept { return clock_; }
    const election::Bully& election() const noexcept { return bully_; }
    // Whom buyers and sellers deal with: the leader, unless that is this peer itself.
    std::optional<PeerId> trading_partner() const noexcept;
    Buyer& buyer() noexcept { return buyer_; }
    const Buyer& buyer() const noexcept { return buyer_; }
    Seller& seller() noexcept { return seller_; }
    const Seller& seller() const noexcept { return seller_; }
    NodeCounters& counters() noexcept { return counters_; }
    const NodeCounters& counters() const noexcept { return counters_; }
    TraderCounters& trader_counters() noexcept { return trader_counters_; }
    const TraderCounters& trader_counters() const noexcept { return trader_counters_; }

private:
    void on_election_message(PeerId from, const election::Message& message, Time now);
    void on_election_event(const election::Event& event, Time now);
    void refuse_unavailable(PeerId from, const wire::Body& body);
    void drop_implausible(PeerId from, std::string_view kind, wire::Epoch epoch, Time now);
    void serve_asked_while_loading(Time now);
    void step_down();
    void partner_changed(Time now);
    // Gathers every part's output into ready_, stamped, in order.
    void collect(Time now);
    void stamp(Outgoing& message);
    bool gather(Outgoing& message);
    void stamp_all(Outbox& outbox);

    // Membership (peer_core_membership.cpp): Join, JoinAnswer, Leave, LeaveAnswer and Members;
    // false for any other kind.
    bool on_membership_message(PeerId from, const wire::Envelope& envelope, Time now);
    void on_join_answer(PeerId from, const wire::JoinAnswer& answer, Time now);
    void send_join(PeerId to, Time now);
    void ask_about_leader(wire::Epoch epoch, Time now);
    // The trader's clock names peers this one does not list: it missed Members updates.
    void notice_strangers(const wire::Envelope& envelope, Time now);
    wire::Leave leave_message() const { return {leaving_.value_or(false), host_, port_}; }
    // Joins and leaves are asked again until answered.
    void on_join_tick(Time now);
    // Takes a new membership: members_, the election's peers and Ready::members.
    void adopt_members(std::vector<wire::MemberInfo> members, Time now);
    // Adds to the membership those of `added` it does not list (a member's word, or the log's).
    void add_members(std::vector<wire::MemberInfo> added, Time now);
    // The trader's books changed their membership: everyone follows them.
    void adopt_books_members(Time now);
    // A peer that is no member now (it left, or is a guest): forgotten later unless it is one
    // again by then (Ready::forget).
    void forget_later(PeerId peer, Time now);
    void forget_due(Time now);
    void add_guest(wire::MemberInfo guest, Time now);
    // A Members update of the reign this peer follows (only news), and one that came from a new
    // trader before its Coordinator, once this peer follows that reign.
    void take_members(const wire::Members& update, Time now);
    void take_early_members(Time now);

    // Quorum mode (peer_core_replica.cpp).
    void on_replication_message(PeerId from, const replication::Message& message, Time now);
    bool refuse_without_quorum(PeerId from, const wire::Body& body, Time now);
    // Proposes the trader's records, commits, applies, serves once the view change is done,
    // compacts, and gathers the replica's messages.
    void drive_replica(Time now);
    void apply_committed();
    void rebuild_books();
    void compact_if_due();
    // The members the replica's log names, uncommitted records too; and those of them this peer
    // does not know yet, adopted (a new trader's view change reaches every voter its log names).
    // `newer_than`: only those whose latest join is at a later position (a member applied
    // from a snapshot counts as joined at it).
    std::vector<wire::MemberInfo> members_in_log(Position newer_than = 0) const;
    void learn_members_in_log(Time now);
    // The trader keeps the replica set at its size (PeerCoreOptions::promote): the customer it
    // ships its log to, and its config record once that copy has caught up.
    void promote_if_due(Time now);
    // A replica may lead while it is in the set (a promoted customer from then on).
    void follow_the_set();

    PeerId self_;
    Role role_;
    std::uint32_t incarnation_;
    std::vector<PeerId> members_;  // sorted, self included: the only ids a clock may name
    spdlog::logger& log_;
    wire::Epoch epoch_floor_;
    wire::Epoch noted_epoch_;  // the highest epoch handed out in Ready::epoch_seen
    TraderOptions trader_options_;
    bool replicated_;
    replication::Options replication_options_;  // its replica set computed once, here
    bool founding_replica_;  // quorum mode, and self in the founders' set (a promoted peer is not)
    std::uint32_t replica_count_;
    bool promote_;
    // The customer the trader is catching up to promote, and since when (another is tried
    // when it takes longer than promote_patience).
    PeerId promoting_ = 0;
    Time promoting_since_{};
    static constexpr int promote_patience = 20;  // quorum timeouts

    clock::VectorClock clock_;
    election::Bully bully_;
    Buyer buyer_;
    Seller seller_;
    std::optional<Trader> trader_;
    std::optional<wire::Epoch> loading_;
    // Buys and deposits refused trader_unavailable while loading, the latest per member: served
    // the moment the reign begins, so nobody waits out a request timeout for it.
    std::map<PeerId, wire::Envelope> asked_while_loading_;
    // Members whose leave the view change applied: the old trader may have failed before it
    // answered, and a peer no longer a member hears nothing more (no heartbeat, no Coordinator),
    // so the new trader tells them when its reign begins (where they listen, too: it may never
    // have known them).
    std::vector<wire::MemberInfo> left_while_loading_;
    std::optional<PeerId> leave_to_;  // the trader a leaving peer asked last
    std::optional<PeerId> partner_;
    JunkReporter junk_;
    NodeCounters counters_;
    TraderCounters trader_counters_;
    Outbox scratch_;  // the election's messages on their way to the Ready
    // Where this Ready's payments (and payment acks) to each peer are gathered: the index of
    // their envelope in ready_.messages, checked before use.
    struct Gathering {
        PeerId to = 0;
        bool acks = false;
        std::size_t index = 0;
    };
    std::vector<Gathering> gathering_;
    Ready ready_;

    // Quorum mode: this peer's replica of the log and, applied from it up to applied_, its copy
    // of the books (moved into the Trader while this peer serves).
    std::optional<replication::Replica> replica_;
    std::optional<market::Books> shadow_;
    Position applied_ = 0;
    std::uint64_t since_compaction_ = 0;
    // The trader's snapshot, written once the commit covers it.
    std::optional<std::pair<Position, std::vector<std::byte>>> held_snapshot_;
    // The trader's events proposed and not yet committed (observers only).
    std::deque<std::pair<Position, market::Event>> uncommitted_;
    replication::Phase logged_phase_ = replication::Phase::follower;  // for the debug log
    wire::Epoch logged_joined_ = 0;

    // Membership (issue 18): until a JoinAnswer admits this newcomer, and when to ask again.
    std::optional<PeerCoreOptions::Joining> joining_;
    // A member back from a crash asks the trader for the membership the same way (its Join is
    // answered from the books, nothing recorded): newcomers admitted while it was down, one of
    // which may lead by now, are members it could not otherwise hear.
    bool asking_members_ = false;
    PeerId join_to_ = 0;  // whom the last Join went to: only its answer counts
    std::uint64_t join_attempts_ = 0;  // retries so far, each through the next member in turn
    std::optional<Time> join_retry_;
    Time join_interval_;
    // Where a newcomer listens (a founder: empty, the config has it): its Leave names it, so a
    // member that no longer lists it can still answer.
    std::string host_;
    std::uint16_t port_ = 0;
    // A graceful leave asked (whether the lots go too), and done.
    std::optional<bool> leaving_;
    std::uint64_t leave_attempts_ = 0;
    // Peers no longer members (or guests), each forgotten at its time unless a member again:
    // later than any retry of a leave (max_leave_attempts, join_interval_ apart), oldest first.
    std::deque<std::pair<PeerId, Time>> forgetting_;
    bool left_ = false;
    // The membership as last learnt, with addresses, and the version (log position) of its last
    // Members update.
    std::vector<wire::MemberInfo> view_;
    std::uint64_t view_version_ = 0;
    // How far into this peer's log the trader's word on the membership reaches: the version of
    // its last update, or the log's end when the trader answered this peer's question. A member
    // named only by records up to here and absent from the view has left.
    Position view_covers_ = 0;

    std::optional<std::pair<wire::Epoch, wire::Members>> early_members_;
    // Entries of non-members counted so far (counters_.foreign_clock_entries, as last looked at),
    // and since when the trader's clocks have named a peer this one does not list: a Members
    // update may be on its way, so it asks only if that lasts a retry interval.
    std::uint64_t foreign_seen_ = 0;
    std::optional<Time> strangers_since_;
};

}  // namespace tp::peer
