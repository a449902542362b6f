#pragma once

#include <asio/awaitable.hpp>
#include <asio/thread_pool.hpp>

#include <spdlog/logger.h>
#include <array>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <variant>
#include <vector>

#include "tp/auth/guard.hpp"
#include "tp/clock/vector_clock.hpp"
#include "tp/election/bully.hpp"
#include "tp/market/books.hpp"
#include "tp/market/events.hpp"
#include "tp/market/types.hpp"
#include "tp/peer/config.hpp"
#include "tp/peer/junk_report.hpp"
#include "tp/runtime/random.hpp"
#include "tp/runtime/runtime.hpp"
#include "tp/runtime/timer.hpp"
#include "tp/transport/transport.hpp"
#include "tp/wire/codec.hpp"
#include "tp/wire/message.hpp"

namespace tp::peer {

class Node;
using PeerId = clock::PeerId;
using Money = market::Money;
using runtime::TimePoint;

// What a buyer saw of one request, once answered.
struct Purchase {
    wire::RequestId request = 0;
    market::ProductId product = 0;
    std::uint32_t quantity = 0;  // asked
    bool filled = false;
    wire::RefusalReason reason = wire::RefusalReason::none;
    std::uint32_t bought = 0;
    Money amount = 0;
    std::vector<PeerId> sellers;
    TimePoint sent{};         // first attempt
    TimePoint answered_at{};  // answer received
    bool answered = false;
    std::uint32_t attempts = 0;
    PeerId trader = 0;         // who answered
    clock::VectorClock stamp;  // the vector clock of the first attempt
    wire::Epoch epoch = 0;     // in which epoch
};

struct BuyerState {
    std::vector<Purchase> purchases;  // in order
    std::uint32_t issued = 0;         // requests started (answered or not)
    bool done = false;                // max_transactions reached
    std::optional<Purchase> outstanding;
};

// A seller's own view of a lot it deposited.
struct OwnLot {
    wire::LotId id = 0;
    market::ProductId product = 0;
    std::uint32_t quantity = 0;
    Money unit_price = 0;
    bool acked = false;
    std::uint32_t sold = 0;
};

struct SellerState {
    std::vector<OwnLot> lots;
    std::map<wire::PaymentId, Money> payments;  // received, by id: a resent one counts once
    Money earned = 0;                           // net, from payments received
    std::uint64_t sold = 0;
    std::uint32_t remaining() const;
    std::uint32_t remaining(market::ProductId product) const;
};

// What a peer that has been trader did, for the summary and the tests.
struct TraderCounters {
    std::uint64_t reigns = 0;  // times this peer became trader
    std::uint64_t events_persisted = 0;
    std::uint64_t syncs = 0;
    std::uint64_t payments_resent = 0;
};

// Decode failures and other dropped input.
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
    // Datagrams refused by authentication, by reason (auth::Refusal), and hellos sent.
    std::array<std::uint64_t, auth::refusal_count> auth_refused{};
    std::uint64_t hellos_sent = 0;
    // Messages sent, by kind (the index of wire::Body's alternative).
    std::array<std::uint64_t, std::variant_size_v<wire::Body>> sent_by_kind{};
};

// Observation hooks for checkers and tracers (the simulator): called on the loop, synchronously,
// at each observable step of a node. The defaults do nothing; the node never depends on them.
struct NodeObserver {
    virtual ~NodeObserver() = default;
    // A message leaves `self` (its clock already ticked), or reaches it (clock merged).
    virtual void sent(const Node& /*self*/, const wire::Envelope& /*envelope*/) {}
    virtual void received(const Node& /*self*/, const wire::Envelope& /*envelope*/) {}
    // The trader loaded its books (durable: the journal's durable LSN then).
    virtual void became_trader(const Node& /*self*/, wire::Epoch /*epoch*/,
                               const market::Books& /*books*/, std::uint64_t /*durable*/) {}
    // The trader appended one event to its journal, at `lsn`.
    virtual void persisted(const Node& /*self*/, wire::Epoch /*epoch*/,
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
    // Virtual time only: how long a journal sync takes (a model of fdatasync, so that a crash
    // can land between an append and its sync). Zero: syncs are instant.
    runtime::Duration sync_latency{0};
    // The members' shared key: every datagram is sealed and opened with it (docs/security.md).
    // Null: security.mode is off, datagrams are plain envelopes.
    const auth::Key* key = nullptr;
    // Durable peer state: called, before anything is sent in it, whenever the highest epoch a peer
    // has seen grows; what it stores comes back as the peer's epoch floor after a restart.
    std::function<void(PeerId, wire::Epoch)> on_epoch = {};
    // Called on the loop when a node's last coroutine has ended (after stop(), or once it stopped
    // itself): the object may then be destroyed, though not from inside this call.
    std::function<void(const Node&)> on_finished = {};
};

// One peer: a buyer, a seller or both, which may be elected trader. It composes the vector clock,
// the wire codec, the bully election, and (while trader) the market books behind the journal.
// Everything runs as coroutines on the context's runtime; stop() is a crash: every coroutine ends,
// memory is discarded with the object, and only the journal survives.
class Node {
public:
    // `incarnation` (>= 1) tells this life of the peer from earlier ones, so request and lot ids
    // never repeat across restarts, and a datagram recorded in an earlier life is refused.
    Node(NodeContext& context, PeerId id, Role role,
         std::unique_ptr<transport::Transport> transport, runtime::Rng rng,
         std::uint32_t incarnation);
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
    void set_epoch_floor(wire::Epoch floor) noexcept { epoch_floor_ = noted_epoch_ = floor; }

    // Starts the coroutines. `restarted`: back after a crash (the election's recovery policy).
    void start(bool restarted);
    // A crash: closes the transport, cancels every wait, drops the trader's journal.
    void stop();
    // True once stop() was called and every coroutine has ended: the object may be destroyed.
    bool finished() const noexcept { return running_ == 0; }
    bool stopped() const noexcept { return stopped_; }
    // Why the node stopped itself (a journal it cannot open, write or sync; books that do not
    // replay), or empty: a process that hosts it ends with an error.
    const std::string& failure() const noexcept { return failure_; }

    PeerId id() const noexcept { return id_; }
    Role role() const noexcept { return role_; }
    bool is_buyer() const noexcept { return role_ != Role::seller; }
    bool is_seller() const noexcept { return role_ != Role::buyer; }
    // Serving as trader: elected, and its books are loaded.
    bool is_trader() const noexcept;
    std::optional<PeerId> leader() const noexcept { return bully_.leader(); }
    wire::Epoch epoch() const noexcept { return bully_.epoch(); }
    const election::Bully& election() const noexcept { return bully_; }
    const clock::VectorClock& clock() const noexcept { return clock_; }
    // Every peer of the market, self included, sorted: the only ids a clock may name.
    std::span<const PeerId> members() const noexcept { return members_; }
    const BuyerState& buyer() const noexcept { return buyer_; }
    const SellerState& seller() const noexcept { return seller_; }
    const TraderCounters& trader_counters() const noexcept { return trader_counters_; }
    const NodeCounters& counters() const noexcept { return counters_; }
    // Scripted trading (NodeContext::scripted). A request is retried with whoever is trader until
    // answered; the answer lands in buyer().purchases. A lot is deposited until acknowledged.
    void buy(market::ProductId product, std::uint32_t quantity);
    void deposit(market::ProductId product, std::uint32_t quantity, Money unit_price);

    // The live books while trader, else null.
    const market::Books* books() const noexcept;
    transport::Transport& transport() noexcept { return *transport_; }
    std::uint32_t incarnation() const noexcept { return static_cast<std::uint32_t>(incarnation_); }
    // This peer's authentication state, or null when security is off. The simulator's hostile
    // member seals its own datagrams with it: a compromised member holds the key.
    auth::Guard* guard() noexcept { return guard_ ? &*guard_ : nullptr; }

private:
    struct Trader;

    void spawn(asio::awaitable<void> loop);
    asio::awaitable<void> receive_loop();
    // Sends a hello to each member (a restarted peer, before anything else).
    asio::awaitable<void> greet_all();
    asio::awaitable<void> send_hello(PeerId to);
    // Opens an authenticated datagram; the payload, or nothing when it was refused or a hello.
    // `greet`: a member to send a hello to (it does not know this life).
    std::optional<std::span<const std::byte>> open(std::span<const std::byte> frame, PeerId from,
                                                   std::optional<PeerId>& greet);
    asio::awaitable<void> election_loop();
    asio::awaitable<void> buyer_loop();
    asio::awaitable<void> seller_loop();
    asio::awaitable<void> commit_loop(std::shared_ptr<Trader> trader);
    asio::awaitable<void> trader_loop(std::shared_ptr<Trader> trader);

    asio::awaitable<void> send(PeerId to, wire::Body body, wire::Epoch epoch);
    asio::awaitable<void> send(PeerId to, wire::Body body) {
        return send(to, std::move(body), epoch());
    }
    asio::awaitable<void> handle(wire::Envelope envelope);
    asio::awaitable<void> flush_election();
    // Hands a newer epoch to context_.on_epoch (durable peer state) before anything is sent in it.
    void note_epoch();
    asio::awaitable<void> on_election_event(const election::Event& event);
    asio::awaitable<void> become_trader(wire::Epoch epoch);
    void step_down();
    // A datagram dropped: counted, and logged at most once a second per kind (JunkReporter).
    void dropped(DropKind kind, PeerId from, std::string_view detail);
    void flush_junk();
    // An election message to the bully machine; an epoch it does not believe is reported.
    void on_election_message(PeerId from, const election::Message& message, election::Time now);
    // Stops the node for good on an error it cannot recover from.
    void fail(std::string why);
    asio::awaitable<void> refuse_unavailable(PeerId from, const wire::Body& body);
    asio::awaitable<void> persist_and_reply(Trader& trader, market::Step& step);
    asio::awaitable<void> release(Trader& trader);
    // Whether payment `id` waits in the held outputs for its sale to be durable.
    static bool holds_payment(const Trader& trader, market::PaymentId id);
    asio::awaitable<void> send_output(const market::Output& output, wire::Epoch epoch);

    void on_buy_result(PeerId from, const wire::Envelope& envelope, const wire::BuyResult& result);
    asio::awaitable<void> on_payment(PeerId from, const wire::Payment& payment);
    void on_deposit_ack(const wire::DepositAck& ack);
    void deposit_new_lot(bool another_product);

    // Waits until `ready()` or `deadline`; returns ready(). Woken early by wake(timer).
    asio::awaitable<bool> wait_until(runtime::Timer& timer, TimePoint deadline,
                                     const std::function<bool()>& ready);
    // Waits until `deadline` or wake(timer), whichever comes first.
    asio::awaitable<void> sleep_until(runtime::Timer& timer, TimePoint deadline);
    asio::awaitable<void> pause(runtime::Timer& timer, runtime::Duration d);
    static void wake(runtime::Timer& timer) { timer.cancel(); }
    TimePoint now() const noexcept { return context_.runtime.now() + clock_base_; }
    std::optional<PeerId> trading_partner() const noexcept;

    NodeContext& context_;
    const Config& config_;
    PeerId id_;
    Role role_;
    std::unique_ptr<transport::Transport> transport_;
    runtime::Rng rng_;
    std::uint64_t incarnation_;
    std::shared_ptr<spdlog::logger> log_;

    clock::VectorClock clock_;
    election::Bully bully_;
    std::shared_ptr<Trader> trader_;

    BuyerState buyer_;
    SellerState seller_;
    TraderCounters trader_counters_;
    NodeCounters counters_;
    std::uint64_t next_request_ = 0;
    std::uint64_t next_lot_ = 0;
    std::deque<std::pair<market::ProductId, std::uint32_t>> script_;  // scripted buys

    runtime::Timer election_timer_;
    runtime::Timer buyer_timer_;
    runtime::Timer seller_timer_;

    std::vector<PeerId> members_;       // every peer of the market, self included, sorted
    wire::DecodeLimits limits_;         // sized to the members
    std::optional<auth::Guard> guard_;  // security on
    std::vector<std::vector<std::byte>> send_buffers_;  // recycled encode buffers
    std::string failure_;
    runtime::Duration clock_base_{0};
    wire::Epoch epoch_floor_ = 0;
    wire::Epoch noted_epoch_ = 0;  // the highest epoch handed to context_.on_epoch
    JunkReporter junk_;
    // Since when the outstanding buy has been told trader_unavailable (logged once per spell).
    std::optional<TimePoint> waiting_since_;
    bool stopped_ = false;
    int running_ = 0;
};

}  // namespace tp::peer
