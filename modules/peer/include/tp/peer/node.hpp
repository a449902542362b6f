#pragma once

#include <asio/awaitable.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/thread_pool.hpp>

#include <spdlog/logger.h>
#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <tuple>
#include <variant>
#include <vector>

#include "tp/auth/guard.hpp"
#include "tp/clock/vector_clock.hpp"
#include "tp/election/bully.hpp"
#include "tp/market/books.hpp"
#include "tp/market/events.hpp"
#include "tp/market/types.hpp"
#include "tp/peer/config.hpp"
#include "tp/peer/durability_report.hpp"
#include "tp/peer/held_store.hpp"
#include "tp/peer/journal.hpp"
#include "tp/peer/junk_report.hpp"
#include "tp/peer/outbox.hpp"
#include "tp/peer/peer_core.hpp"
#include "tp/peer/trader.hpp"
#include "tp/runtime/random.hpp"
#include "tp/runtime/runtime.hpp"
#include "tp/runtime/timer.hpp"
#include "tp/transport/transport.hpp"
#include "tp/wire/codec.hpp"
#include "tp/wire/message.hpp"

namespace tp::transport {
class IpTransport;
}

namespace tp::peer {

class Node;
using PeerId = clock::PeerId;
using Money = market::Money;
using runtime::TimePoint;

// Observation hooks for checkers and tracers (the simulator): called on the loop, synchronously,
// at each observable step of a node. The defaults do nothing; the node never depends on them.
struct NodeObserver {
    virtual ~NodeObserver() = default;
    // A message leaves `self` (its clock already ticked; seen once stamped, before any receive
    // after it, and handed to the transport with the rest of its Ready), or reaches it (clock
    // merged).
    virtual void sent(const Node& /*self*/, const wire::Envelope& /*envelope*/) {}
    virtual void received(const Node& /*self*/, const wire::Envelope& /*envelope*/) {}
    // The trader loaded its books (durable: the journal's durable LSN then).
    virtual void became_trader(const Node& /*self*/, wire::Epoch /*epoch*/,
                               const market::Books& /*books*/, std::uint64_t /*durable*/) {}
    // The trader appended one event to its journal, at `lsn`.
    virtual void persisted(const Node& /*self*/, wire::Epoch /*epoch*/,
                           const market::Event& /*event*/, std::uint64_t /*lsn*/) {}
    // The replicated trader proposed one event at `lsn`: committed later (persisted, then), or
    // lost with its reign.
    virtual void proposed(const Node& /*self*/, wire::Epoch /*epoch*/,
                          const market::Event& /*event*/, std::uint64_t /*lsn*/) {}
    // The trader's journal is durable up to `lsn`.
    virtual void synced(const Node& /*self*/, std::uint64_t /*lsn*/) {}
    // The trader confirms an outcome: the output goes out now.
    virtual void released(const Node& /*self*/, wire::Epoch /*epoch*/,
                          const market::Output& /*output*/) {}
};

// Everything the peers of one process share.
struct NodeContext {
    runtime::Runtime& runtime;
    const Config& config;
    std::vector<PeerId> peers;               // every peer id of the market
    std::filesystem::path journal_dir;       // the trader's durable state, shared by all peers
    asio::thread_pool* sync_pool = nullptr;  // runs fdatasync off the loop; null: inline
    // Called on the loop whenever a peer becomes trader, with its id and epoch.
    std::function<void(PeerId, wire::Epoch)> on_new_trader;
    // Called when a buyer has made all its requests.
    std::function<void(PeerId)> on_buyer_done;
    // Scripted: buyers and sellers do only what buy() and deposit() tell them (tests, tools);
    // otherwise they trade at random, as the configuration's behaviour says.
    bool scripted = false;
    NodeObserver* observer = nullptr;
    // The members' shared key: every datagram is sealed and opened with it (docs/security.md).
    // Null: security.mode is off, datagrams are plain envelopes.
    const auth::Key* key = nullptr;
    // Durable peer state: called, before anything is sent in it, whenever the highest epoch a peer
    // has seen grows; what it stores comes back as the peer's epoch floor after a restart.
    std::function<void(PeerId, wire::Epoch)> on_epoch = {};
    // Where the trader's journal lives; null: a file journal in journal_dir (the simulator
    // gives a MemoryJournalStore, whose model of sync latency and power loss it draws).
    JournalStore* journal_store = nullptr;
    // Quorum mode (replication.mode): where peer N keeps its replica of the trader's log, its own
    // (files under its state directory; the simulator's MemoryJournalStore, whose disk it may
    // lose). Required in quorum mode.
    std::function<JournalStore*(PeerId)> replica_store = {};
    // Durable peer state: a replica back from a lost disk has caught up (its log is
    // authoritative again); what it stores comes back through Node::set_seeded after a restart.
    std::function<void(PeerId)> on_seeded = {};
    // A member knows a later life of this peer (`life`, authenticated): its durable state was
    // lost. The driver records that life and restarts the peer as the next one; until then the
    // members refuse what it sends. Unset: the peer logs it and goes on, refused.
    std::function<void(PeerId, std::uint32_t life)> on_later_life = {};
    // Called on the loop when a node's coroutines have ended (after stop(), or once it stopped
    // itself): the object may then be destroyed, though not from inside this call.
    std::function<void(const Node&)> on_finished = {};
};

// One peer: a buyer, a seller or both, which may be elected trader. The driver of a PeerCore
// (peer_core.hpp), the only asio here: it decodes what the transport brings and steps the core,
// wakes it at its deadline, carries each Ready out (durable peer state, the trader's journal,
// datagrams sealed and sent), and runs the behaviours on top (the original lab's random buyer and
// seller). One coroutine, run(), holds the loops: `receive || timer || reign || behaviours`.
// stop() is a crash: one cancellation ends them all, memory is discarded with the object, and only
// the journal survives.
class Node {
public:
    // `incarnation` (>= 1) tells this life of the peer from earlier ones, so request and lot ids
    // never repeat across restarts, and a datagram recorded in an earlier life is refused.
    // With `join` (issue 18) it is a newcomer that joins the running market through a member
    // (it is not one of the context's `peers`, the founders).
    Node(NodeContext& context, PeerId id, Role role,
         std::unique_ptr<transport::Transport> transport, runtime::Rng rng,
         std::uint32_t incarnation, std::optional<PeerCoreOptions::Joining> join = {});
    ~Node();
    Node(const Node&) = delete;
    Node& operator=(const Node&) = delete;

    // Where this process's steady clock starts relative to the runtime's: every time the node
    // reads, keeps, journals or sends is on its own clock (the simulator gives each life its own
    // base, so a value that leaks from one process to another shows). Set before start().
    void set_clock_base(runtime::Duration base) noexcept { clock_base_ = base; }
    runtime::Duration clock_base() const noexcept { return clock_base_; }
    // The highest epoch an earlier life saw (durable peer state): this life's bully machine
    // starts above it, so it never claims a reign that was had. Set before start().
    void set_epoch_floor(wire::Epoch floor) noexcept { core_.set_epoch_floor(floor); }
    // Whether this peer's replica is seeded (durable peer state, quorum mode): false after a lost
    // disk or on a first start. Set before start().
    void set_seeded(bool seeded) noexcept { seeded_ = seeded; }

    // Starts run(). `restarted`: back after a crash (the election's recovery policy).
    void start(bool restarted);
    // A crash: closes the transport, drops what the trader's journal had not written, and cancels
    // run(); the awaited calls below return empty.
    void stop();
    // Issue 18: a graceful leave (a seller's unsold lots go with it when `withdraw_lots`): asked
    // of the trader until it answers (it waits for the seller's payments); then the node stops
    // itself. From outside any coroutine, like buy().
    void leave(bool withdraw_lots);
    bool left() const noexcept { return core_.left(); }
    // True once run() has ended (or never started): the object may be destroyed.
    bool finished() const noexcept { return !started_ || finished_; }
    bool stopped() const noexcept { return stopped_; }
    // Why the node stopped itself (a journal it cannot open, write or sync; books that do not
    // replay), or empty: a process that hosts it ends with an error.
    const std::string& failure() const noexcept { return failure_; }

    PeerId id() const noexcept { return core_.id(); }
    Role role() const noexcept { return core_.role(); }
    bool is_buyer() const noexcept { return core_.is_buyer(); }
    bool is_seller() const noexcept { return core_.is_seller(); }
    // Serving as trader: elected, and its books are loaded.
    bool is_trader() const noexcept { return core_.trader() != nullptr; }
    std::optional<PeerId> leader() const noexcept { return core_.election().leader(); }
    wire::Epoch epoch() const noexcept { return core_.election().epoch(); }
    const election::Bully& election() const noexcept { return core_.election(); }
    const clock::VectorClock& clock() const noexcept { return core_.clock(); }
    // Every peer of the market, self included, sorted: the only ids a clock may name.
    std::span<const PeerId> members() const noexcept { return core_.members(); }
    const BuyerState& buyer() const noexcept { return core_.buyer().state(); }
    const SellerState& seller() const noexcept { return core_.seller().state(); }
    const TraderCounters& trader_counters() const noexcept { return core_.trader_counters(); }
    const NodeCounters& counters() const noexcept { return core_.counters(); }
    const PeerCore& core() const noexcept { return core_; }

    // Scripted trading (NodeContext::scripted). A request is retried with whoever is trader until
    // answered; the answer lands in buyer().purchases. A lot is deposited until acknowledged.
    void buy(market::ProductId product, std::uint32_t quantity);
    void deposit(market::ProductId product, std::uint32_t quantity, Money unit_price);
    // The same, awaited: the answer to a request (after retries and failovers), or the lot once
    // the trader has acknowledged it. Empty when the node stops first.
    asio::awaitable<std::optional<Purchase>> purchase(market::ProductId product,
                                                      std::uint32_t quantity);
    asio::awaitable<std::optional<OwnLot>> deposit_lot(market::ProductId product,
                                                       std::uint32_t quantity, Money unit_price);
    // Waits until some peer serves as trader for this one (or the node stops).
    asio::awaitable<bool> wait_for_trader();

    // The live books while trader, else null.
    const market::Books* books() const noexcept;
    transport::Transport& transport() noexcept { return *transport_; }
    std::uint32_t incarnation() const noexcept { return core_.incarnation(); }
    // This peer's authentication state, or null when security is off. The simulator's hostile
    // member seals its own datagrams with it: a compromised member holds the key.
    auth::Guard* guard() noexcept { return guard_ ? &*guard_ : nullptr; }

private:
    struct Reign;

    // A life: the loops below, until stop() cancels them.
    asio::awaitable<void> run();
    // Datagrams in; the core's deadline (and what buy() and deposit() put in its Ready); each
    // reign's journal; the behaviours. None ends before the life does.
    asio::awaitable<void> receive_loop();
    asio::awaitable<void> timer_loop();
    asio::awaitable<void> reign_loop();
    // Quorum mode: syncs the replica's journal (group commit) and tells the core how far it is
    // durable; waits forever in shared mode.
    asio::awaitable<void> replica_loop();
    asio::awaitable<void> behaviours();
    // Carries out what the core has ready, from a plain function (no coroutine frame per
    // message): true when the transport took every datagram, false when some wait in the
    // backlog, for the caller to `co_await flush()`. So do deliver, handle, drain_received, send,
    // greet and send_hello.
    bool carry_out_now();
    // Sends the backlog, in order, waiting for room; a second caller waits for the first, so a
    // transport that holds sends back holds back every coroutine that produces them.
    asio::awaitable<void> flush();
    // Disk work (a sync, a snapshot) off the event loop: on the sync pool when `journal` blocks
    // on a device; in the model (a memory journal), inline after its modelled latency, unless
    // `still_wanted` (asked after that wait) says no, and then false. Rethrows what `work` throws.
    // By reference: the caller's named objects (g++ 12 mishandles temporaries of a co_await).
    asio::awaitable<bool> on_disk(const Journal& journal, const std::function<void()>& work,
                                  const std::function<bool()>* still_wanted = nullptr);
    // Steps the core with an envelope; its Ready waits for the caller's carry_out_now().
    void take(wire::Envelope envelope);
    // Shows the observer the Ready's messages it has not seen yet: before every merge and at
    // carry-out, so it sees sends and receives in the order they happened, however many steps
    // one Ready gathers.
    void observe_sends();
    // Issue 18: newcomers' addresses and the membership into the transport's address book and
    // authentication, before anything is sent to them.
    void learn_members(Ready& ready);
    // Issue 18: peers gone long enough (Ready::forget) leave the authentication at once, and the
    // address book once nothing queued still goes to them.
    void forget(std::vector<PeerId>& peers);
    void drop_addresses();
    // A datagram from an address in no book (`from` 0), or from a peer this one does not know
    // (the in-memory network names every sender): only a newcomer's Join, authentic when
    // security is on, sent from the address it claims (issue 18).
    std::optional<wire::Envelope> accept_stranger(std::span<const std::byte> bytes, PeerId from);
    // take(), then carry_out_now().
    bool deliver(wire::Envelope envelope);
    // One datagram from receive_buffer_: authenticated, decoded, checked, taken. Only a hello
    // it answers is sent; the caller carries out the rest.
    bool handle(transport::Datagram datagram);
    // handle()'s part that reads receive_buffer_, without suspending (the timer loop's drain and
    // the receive loop share the buffer): each envelope of the datagram taken (wire/datagram.hpp);
    // `greet`: a member to send a hello to.
    void accept(transport::Datagram datagram, std::optional<PeerId>& greet);
    // What already waits in the transport, handled (bounded): before a tick `everything`
    // (try_receive), after a receive what is at hand (try_receive_at_hand). The caller carries
    // out the Ready.
    bool drain_received(bool everything);
    // One reign: open the journal, load the books, then group commit until the reign ends.
    asio::awaitable<void> serve(std::shared_ptr<Reign> reign);
    asio::awaitable<std::optional<OpenedJournal>> open_journal(Reign& reign, JournalStore& store);
    asio::awaitable<void> commit_loop(Reign& reign);
    // The trader's records appended (and a due snapshot written); false: the node failed.
    bool persist();
    // The reign's books from what its journal held; false (and the node failed) if they do not
    // replay.
    bool load_books(Reign& reign, OpenedJournal opened, const std::string& where);
    void end_reign();
    // Quorum mode (node_replica.cpp): opens this peer's replica and restores the core's from it;
    // carries out the replica's storage work (install, truncate, append, compaction) and what a
    // reign's start asks; false: the node failed.
    bool open_replica(bool at_run_time = false);
    bool store_replica();
    // Carries out what store_replica() held while a snapshot was written; false: the node failed.
    bool store_held();
    // The replica journal's three writes, held or not (throw what the journal throws).
    void write_install(const replication::Snapshot& snapshot);
    void write_cut(Position after);
    void write_record(Position position, std::span<const std::byte> bytes);
    void began_reign(wire::Epoch epoch);
    // The behaviours on top of the core (the original lab's random buyer and seller).
    asio::awaitable<void> buyer_behaviour();
    asio::awaitable<void> seller_behaviour();
    void deposit_new_lot(bool another_product);

    // Seals and sends a batch (those addressed to this peer stay: carry_out delivers them).
    bool send(std::span<const wire::Envelope> batch);
    // A datagram send() fills: its peer, its buffer (an index into the batch's buffers), the
    // bytes its envelopes take after the header's room, and how many they are.
    struct Filling {
        PeerId to = 0;
        std::size_t index = 0;
        std::size_t size = 0;
        std::size_t envelopes = 0;
    };
    // Encodes `envelope` behind those of `filling` bound for the same peer, while the datagram
    // has room (bytes and wire::max_envelopes_per_datagram), or into a datagram of its own from
    // the pool; logged and left out when it cannot be encoded at all.
    void append(const wire::Envelope& envelope, std::vector<Filling>& filling,
                std::vector<std::vector<std::byte>>& buffers);
    // Hellos (`ask`: that each be answered) to `members`; a restarted peer's to each member
    // before anything else.
    bool greet(std::span<const PeerId> members, bool ask);
    bool send_hello(PeerId to, bool ask = false);
    // A first life greets every member, and holds what goes to one until its hello is in
    // (bounded): node_greeting.cpp.
    bool greet_before_speaking();
    // send()'s: true when `envelope` is held (its receiver has not greeted back yet).
    bool hold_for_greeting(const wire::Envelope& envelope, bool& all_sent);
    // Sends what is held for members that greeted back (`everything`: the wait is over).
    bool release_held(bool everything);
    // The greeting's wait is over once its time is up: everything goes.
    bool end_greeting_if_due();
    // Hands `outgoing` (sealed in `buffers`, index for index) to the transport, behind the
    // backlog; what it does not take joins the backlog. False: something waits there.
    bool hand_on(std::vector<transport::Outgoing>& outgoing,
                 std::vector<std::vector<std::byte>>& buffers);
    // Opens an authenticated datagram; the payload, or nothing when it was refused or a hello.
    // `greet`: a member to send a hello to (it does not know this life).
    std::optional<std::span<const std::byte>> open(std::span<const std::byte> frame, PeerId from,
                                                   std::optional<PeerId>& greet);
    // A datagram dropped: counted, and logged at most once a second per kind (JunkReporter).
    void dropped(DropKind kind, PeerId from, std::string_view detail);
    // Stops the node for good on an error it cannot recover from.
    void fail(std::string why);
    // Wakes the waits whose condition may have changed with the last step.
    void wake_waiters();

    // Waits until `ready()` or `deadline`; returns ready(). Woken early by wake(timer).
    asio::awaitable<bool> wait_until(runtime::Timer& timer, TimePoint deadline,
                                     const std::function<bool()>& ready);
    asio::awaitable<void> pause(runtime::Timer& timer, runtime::Duration d);
    static void wake(runtime::Timer& timer) { timer.cancel(); }
    TimePoint now() const noexcept { return context_.runtime.now() + clock_base_; }
    // A time of this node's clock on the runtime's (timers run on that).
    TimePoint to_runtime(TimePoint t) const noexcept {
        return t == runtime::never ? t : t - clock_base_;
    }
    Time core_now() const noexcept { return now().time_since_epoch(); }

    NodeContext& context_;
    const Config& config_;
    std::unique_ptr<transport::Transport> transport_;
    transport::IpTransport* ip_ = nullptr;  // transport_, when it has an address book
    runtime::Rng rng_;
    std::shared_ptr<spdlog::logger> log_;
    PeerCore core_;

    std::shared_ptr<Reign> reign_;
    std::unique_ptr<JournalStore> file_store_;  // context_.journal_store, or this

    runtime::Timer core_timer_;    // the timer loop's: the core's next deadline
    TimePoint core_wakes_at_{};    // when the timer loop looks next
    runtime::Timer buyer_timer_;   // the buyer behaviour's and purchase()'s waits
    runtime::Timer seller_timer_;  // the seller behaviour's and deposit_lot()'s waits
    runtime::Timer reign_timer_;   // the reign loop's: a reign to serve
    runtime::Timer replica_timer_;  // the replica loop's: records to sync
    // Quorum mode: this peer's replica of the log (shared with a sync in flight), and what the
    // core was told of its durability.
    std::shared_ptr<Journal> replica_journal_;
    DurabilityReport replica_report_;
    std::vector<std::byte> record_buffer_;
    std::vector<std::byte> receive_buffer_;  // one datagram, read and decoded without suspending
    // A compaction's snapshot, encoded, for the replica loop to write off the event loop; and
    // the storage work held meanwhile (the journal takes one writer at a time).
    struct PendingSnapshot {
        Position covered = 0;
        std::vector<std::byte> bytes;
    };
    std::optional<PendingSnapshot> pending_snapshot_;
    bool snapshot_writing_ = false;
    HeldStore held_store_;
    bool seeded_ = false;
    std::uint64_t answers_seen_ = 0;    // buyer answers, as the waiters last saw them
    // What the seller's waits (and wait_for_trader) last saw: lots closed, a deposit unacked, the
    // trading partner.
    std::tuple<std::uint64_t, bool, std::optional<PeerId>> seller_seen_{};

    std::optional<auth::Guard> guard_;  // security on
    // While a first life greets: the members whose hello is not in, what waits for them, until
    // when, and when to greet them again.
    std::vector<PeerId> unheard_;
    std::vector<wire::Envelope> held_;
    TimePoint greeting_until_{};
    TimePoint next_greeting_{};
    bool heard_greeting_ = false;  // a hello released some: handle() sends them
    // Recycled, so the steady state allocates none: encode buffers, carry_out's batches, and
    // send()'s lists (a flush suspends, and another carry_out may send meanwhile).
    std::vector<std::vector<std::byte>> send_buffers_;
    std::vector<std::vector<wire::Envelope>> batches_;
    std::vector<std::vector<std::vector<std::byte>>> send_batches_;
    std::vector<std::vector<transport::Outgoing>> outgoing_pool_;
    std::vector<std::vector<Filling>> filling_pool_;
    // Sealed datagrams the transport could not take without waiting, in order, and their buffers
    // (index for index); the coroutine flushing them, and the timers of those waiting for it.
    std::vector<transport::Outgoing> backlog_;
    std::vector<PeerId> unaddressed_;  // forgotten, their addresses still in the book
    std::vector<PeerId> forgetting_;   // this carry-out's Ready::forget
    std::vector<std::vector<std::byte>> backlog_buffers_;
    bool flushing_ = false;
    // How many of the Ready's messages the observer has seen (observe_sends).
    std::size_t observed_sends_ = 0;
    std::vector<runtime::Timer*> flush_waiters_;
    std::string failure_;
    runtime::Duration clock_base_{0};
    asio::cancellation_signal stop_signal_;  // run()'s: stop() emits it
    bool started_ = false;
    bool finished_ = false;
    bool stopped_ = false;  // the node crashed: what the awaited calls and carry_out look at
};

}  // namespace tp::peer
