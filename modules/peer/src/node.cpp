#include "tp/peer/node.hpp"

#include <fmt/core.h>
#include <fmt/ranges.h>
#include <asio/bind_cancellation_slot.hpp>
#include <asio/co_spawn.hpp>
#include <asio/multiple_exceptions.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include <algorithm>
#include <exception>
#include <stdexcept>

#include "node_reign.hpp"
#include "tp/peer/books.hpp"
#include "tp/peer/ids.hpp"
#include "tp/peer/log.hpp"
#include "tp/transport/ip_transport.hpp"
#include "tp/wire/codec.hpp"
#include "tp/wire/datagram.hpp"

namespace tp::peer {

namespace {

using namespace std::chrono_literals;


// The election's messages as they leave, at debug level, one line per kind and epoch: "asks
// peers 5, 6 to elect (epoch 3:4)". Heartbeats only at trace level: one per peer and period.
void log_election(spdlog::logger& log, std::span<const wire::Envelope> batch) {
    const auto kind_of = [](const wire::Envelope& e) -> std::optional<election::MessageKind> {
        if (const auto m = wire::election_message(e.body)) return election::kind_of(*m);
        return std::nullopt;
    };
    std::size_t i = 0;
    while (i < batch.size()) {
        const auto kind = kind_of(batch[i]);
        if (!kind) {
            ++i;
            continue;
        }
        const auto epoch = batch[i].epoch;
        std::vector<PeerId> to;
        for (; i < batch.size() && kind_of(batch[i]) == kind && batch[i].epoch == epoch; ++i) {
            to.push_back(batch[i].receiver);
        }
        const auto peers =
            fmt::format("{} {}", to.size() == 1 ? "peer" : "peers", fmt::join(to, ", "));
        const auto e = election::epoch_text(epoch);
        switch (*kind) {
            case election::MessageKind::election:
                log.debug("asks {} to elect (epoch {})", peers, e);
                break;
            case election::MessageKind::ok:
                log.debug("answers {}: alive and higher, takes the election over (epoch {})", peers,
                          e);
                break;
            case election::MessageKind::coordinator:
                log.debug("tells {} it leads (epoch {})", peers, e);
                break;
            case election::MessageKind::heartbeat:
                log.trace("heartbeat to {} (epoch {})", peers, e);
                break;
        }
    }
}

// Whether `e` is the cancellation stop() causes, through the nesting of `||`'s
// multiple_exceptions (each loop ends by it when a stop comes from inside one).
bool cancelled(const std::exception_ptr& e) {
    try {
        std::rethrow_exception(e);
    } catch (const asio::multiple_exceptions& m) {
        return cancelled(m.first_exception());
    } catch (const std::system_error& s) {
        return s.code() == asio::error::operation_aborted;
    } catch (...) {
        return false;
    }
}

// Clocks may name peers this one does not list. A newcomer knows the founders only, and the market
// may have grown far past them (`run --join-rate 5` once left newcomers unable to join); a member
// cut off while more than a few joined is as far behind, and the trader's own Members update names
// them. So clocks are taken up to the wire's cap: what bounds a peer's state is the merge, which
// keeps the members' entries only.
const wire::DecodeLimits& decode_limits() {
    static const wire::DecodeLimits limits = wire::limits_for_members(wire::max_clock_entries);
    return limits;
}

PeerCoreOptions core_options(const NodeContext& context, PeerId id, Role role,
                             std::uint32_t incarnation,
                             std::optional<PeerCoreOptions::Joining> join) {
    auto o = PeerCoreOptions::from(context.config, id, role, context.peers, incarnation);
    o.trader.keep_released = context.observer != nullptr;
    o.join = std::move(join);
    return o;
}

}  // namespace

Node::Node(NodeContext& context, PeerId id, Role role,
           std::unique_ptr<transport::Transport> transport, runtime::Rng rng,
           std::uint32_t incarnation, std::optional<PeerCoreOptions::Joining> join)
    : context_(context),
      config_(context.config),
      transport_(std::move(transport)),
      rng_(rng),
      log_(peer_logger(id)),
      core_(core_options(context, id, role, incarnation, std::move(join)), *log_),
      core_timer_(context.runtime),
      buyer_timer_(context.runtime),
      seller_timer_(context.runtime),
      reign_timer_(context.runtime),
      replica_timer_(context.runtime) {
    // A newcomer's Join comes from an address no book holds yet (issue 18).
    ip_ = dynamic_cast<transport::IpTransport*>(transport_.get());
    if (ip_) ip_->accept_strangers(true);
    if (context.key) {
        const std::vector<PeerId> members(core_.members().begin(), core_.members().end());
        guard_.emplace(id, incarnation, members, *context.key,
                       context.config.election.heartbeat_interval);
        // A newcomer's contact may itself have joined after the founders.
        if (const auto& joining = core_.joining_options()) guard_->add_member(joining->contact);
    }
}

Node::~Node() = default;

const market::Books* Node::books() const noexcept {
    const Trader* trader = core_.trader();
    return trader != nullptr ? &trader->books() : nullptr;
}

void Node::start(bool restarted) {
    started_ = true;
    // Quorum mode: the replica comes back from this peer's own journal before the first step.
    if (config_.replication.mode == ReplicationMode::quorum && open_replica()) {
        core_.start(core_now(), restarted);
    } else if (config_.replication.mode == ReplicationMode::shared) {
        core_.start(core_now(), restarted);
    }
    // Expected errors are handled inside run(); anything else is a bug, rethrown out of the
    // runtime's run().
    asio::co_spawn(context_.runtime.get_executor(), run(),
                   asio::bind_cancellation_slot(stop_signal_.slot(), [this](std::exception_ptr e) {
                       finished_ = true;
                       if (context_.on_finished) context_.on_finished(*this);
                       if (e) std::rethrow_exception(e);
                   }));
}

asio::awaitable<void> Node::run() {
    using namespace asio::experimental::awaitable_operators;
    try {
        if (stopped_) co_return;  // failed before it began (a replica it could not open)
        // The members a restarted replica's log names: known before it greets them.
        learn_members(core_.ready());
        if (guard_ && core_.incarnation() > 1) {
            // A restarted peer's members may still write for its earlier life, which it must
            // refuse: tell them first.
            if (!greet(core_.members(), false)) co_await flush();
        } else if (guard_ && !core_.joining_options()) {
            if (!greet_before_speaking()) co_await flush();
        }
        if (!carry_out_now()) co_await flush();  // what start() decided to send
        receive_buffer_.resize(transport_->max_datagram());  // the receive and timer loops'
        throw_if_cancelled(co_await asio::this_coro::cancellation_state);
        co_await (receive_loop() || timer_loop() || reign_loop() || replica_loop() ||
                  behaviours());
    } catch (const std::system_error& e) {
        // stop(): the loops end by cancellation.
        if (e.code() != asio::error::operation_aborted) throw;
    } catch (const asio::multiple_exceptions& e) {
        // A stop from inside a loop (fail()) cancels every loop, the one that called it too, so
        // they all end by cancellation: anything else is rethrown.
        if (!cancelled(e.first_exception())) std::rethrow_exception(e.first_exception());
    }
}

void Node::stop() {
    if (stopped_) return;
    stopped_ = true;
    // A crash: the journal's write buffer dies with the process (what was synced survives).
    if (reign_ && reign_->journal) reign_->journal->discard_unwritten();
    end_reign();
    if (replica_journal_) {
        replica_journal_->discard_unwritten();
        replica_journal_.reset();  // closed once a sync in flight returns
    }
    wake(replica_timer_);
    transport_->close();
    stop_signal_.emit(asio::cancellation_type::terminal);
    // The awaited calls (purchase, deposit_lot, wait_for_trader) run in their callers'
    // coroutines, outside run(): they look at stopped_ when woken.
    wake(buyer_timer_);
    wake(seller_timer_);
}

void Node::fail(std::string why) {
    log_->error("{}", why);
    if (failure_.empty()) failure_ = std::move(why);
    stop();
}

void Node::dropped(DropKind kind, PeerId from, std::string_view detail) {
    core_.dropped(kind, from, detail, core_now());
}

asio::awaitable<bool> Node::wait_until(runtime::Timer& timer, TimePoint deadline,
                                       const std::function<bool()>& ready) {
    while (!ready()) {
        // A stop ends the wait (also one emitted before it began: Asio 1.22 would not cancel
        // an operation started after the signal).
        throw_if_cancelled(co_await asio::this_coro::cancellation_state);
        if (now() >= deadline) co_return false;
        timer.expires_at(to_runtime(deadline));
        // Woken (the condition may hold now), timed out, or cancelled: look again.
        co_await timer.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
    }
    co_return true;
}

asio::awaitable<void> Node::pause(runtime::Timer& timer, runtime::Duration d) {
    co_await wait_until(timer, now() + d, [this] { return stopped_; });
}

// ---- The loops ------------------------------------------------------------------------------

asio::awaitable<void> Node::receive_loop() {
    for (;;) {
        throw_if_cancelled(co_await asio::this_coro::cancellation_state);
        auto datagram = co_await transport_->receive(receive_buffer_);  // throws when cancelled
        if (!datagram) co_return;  // closed: stop() cancels the rest
        // What else already waits is stepped too, and the Ready of them all leaves at once: one
        // batch of sends (one sendmmsg on UDP) and one journal write for a burst of requests.
        const bool greeted = handle(*datagram);
        const bool drained_greeted = drain_received(false);
        if (!(carry_out_now() && greeted && drained_greeted)) co_await flush();
    }
}

bool Node::drain_received(bool everything) {
    // Bounded, so a flood cannot hold the tick off (or grow one Ready without bound); the
    // receive loop takes the rest.
    constexpr int max_drained = 64;
    bool all_sent = true;
    for (int i = 0; i < max_drained && !stopped_; ++i) {
        auto datagram = everything ? transport_->try_receive(receive_buffer_)
                                   : transport_->try_receive_at_hand(receive_buffer_);
        if (!datagram) break;
        all_sent = handle(*datagram) && all_sent;
    }
    return all_sent;
}

bool Node::handle(transport::Datagram datagram) {
    std::optional<PeerId> greet;
    accept(datagram, greet);  // receive_buffer_ is free again after it
    bool all_sent = true;
    if (greet) all_sent = send_hello(*greet);
    if (std::exchange(heard_greeting_, false)) all_sent = release_held(false) && all_sent;
    return all_sent;
}

void Node::accept(transport::Datagram datagram, std::optional<PeerId>& greet) {
    std::span<const std::byte> bytes(receive_buffer_.data(), datagram.size);
    if (datagram.stranger || (guard_ && !guard_->is_member(datagram.from))) {
        auto envelope = accept_stranger(bytes, datagram.stranger ? 0 : datagram.from);
        if (envelope) take(std::move(*envelope));
        return;
    }
    if (guard_) {
        // Nothing is decoded before the MAC and the replay window say the bytes are fresh
        // and from the member they name.
        const auto payload = open(bytes, datagram.from, greet);
        if (!payload) return;
        bytes = *payload;
    }
    // One envelope or several back to back. A kind this build does not know is skipped (a newer
    // peer's); any other piece that does not decode, or lies about its ends, ends the datagram.
    for (std::size_t n = 0; !bytes.empty() && !stopped_; ++n) {
        if (n == wire::max_envelopes_per_datagram) {
            ++core_.counters().malformed;
            dropped(DropKind::malformed, datagram.from,
                    fmt::format("more than {} envelopes in one datagram",
                                wire::max_envelopes_per_datagram));
            return;
        }
        const std::size_t size = wire::first_message_size(bytes);
        const auto piece = bytes.first(size != 0 ? size : bytes.size());
        bytes = bytes.subspan(piece.size());
        auto decoded = wire::decode(piece, decode_limits());
        if (!decoded) {
            ++core_.counters().malformed;
            const bool unknown = decoded.error().code == wire::DecodeErrc::unknown_kind;
            dropped(unknown ? DropKind::unknown_kind : DropKind::malformed, datagram.from,
                    decoded.error().message());
            if (unknown && size != 0) continue;
            return;
        }
        wire::Envelope& envelope = decoded.value();
        if (envelope.sender != datagram.from || envelope.receiver != id()) {
            ++core_.counters().misaddressed;
            dropped(DropKind::misaddressed, datagram.from,
                    fmt::format("it says it is from {} to {}", envelope.sender, envelope.receiver));
            return;
        }
        take(std::move(envelope));
    }
}

std::optional<wire::Envelope> Node::accept_stranger(std::span<const std::byte> bytes,
                                                    PeerId from) {
    if (guard_) {
        const auto out = guard_->open_stranger(bytes);
        if (!out.opened) {
            ++core_.counters().auth_refused[static_cast<std::size_t>(out.refusal)];
            dropped(DropKind::bad_mac, out.from,
                    fmt::format("a datagram from an unknown address: {}",
                                auth::to_string(out.refusal)));
            return std::nullopt;
        }
        bytes = out.opened->payload;
    }
    auto decoded = wire::decode(bytes, decode_limits());
    const auto refuse = [&](PeerId from, std::string detail) {
        ++core_.counters().strangers_refused;
        dropped(DropKind::misaddressed, from, detail);
        return std::nullopt;
    };
    if (!decoded) {
        return refuse(0, fmt::format("a malformed datagram from an unknown address: {}",
                                     decoded.error().message()));
    }
    wire::Envelope& envelope = decoded.value();
    // Only a newcomer's Join comes from an address in no book, to this peer, or the Leave of a
    // peer this one does not list (its leave took effect and the answer was lost): both name
    // where they listen, and what they ask changes nothing twice.
    const std::string* host = nullptr;
    std::uint16_t port = 0;
    if (const auto* join = std::get_if<wire::Join>(&envelope.body)) {
        host = &join->host;
        port = join->port;
    } else if (const auto* leave = std::get_if<wire::Leave>(&envelope.body)) {
        host = &leave->host;
        port = leave->port;
    }
    const auto members = core_.members();
    if (host == nullptr || envelope.receiver != id() || (from != 0 && envelope.sender != from) ||
        std::binary_search(members.begin(), members.end(), envelope.sender)) {
        return refuse(envelope.sender, fmt::format("a {} from an unknown address",
                                                   wire::kind_name(envelope.body)));
    }
    // It must come from where it says it listens: nobody answers for another address. Over
    // TCP the source port is the dial's own (port 0 here): the address is checked.
    if (const auto source = ip_ && from == 0 ? ip_->stranger_source() : std::nullopt) {
        std::optional<asio::ip::address> claimed;
        try {
            claimed = transport::parse_host(*host);
        } catch (const std::invalid_argument&) {
        }
        if (claimed != source->address() || (source->port() != 0 && port != source->port())) {
            return refuse(envelope.sender,
                          fmt::format("a {} claiming {}:{} from another address",
                                      wire::kind_name(envelope.body), *host, port));
        }
    }
    return std::move(envelope);
}

void Node::take(wire::Envelope envelope) {
    if (stopped_) return;
    // What the core stamped so far was stamped before this merge: observers see it so.
    observe_sends();
    core_.merge(envelope);
    if (context_.observer) context_.observer->received(*this, envelope);
    core_.step(envelope, core_now());
}

bool Node::deliver(wire::Envelope envelope) {
    take(std::move(envelope));
    return carry_out_now();
}

asio::awaitable<void> Node::timer_loop() {
    for (;;) {
        // buy() and deposit() step the core from outside any coroutine, then wake this loop.
        if (core_.has_ready() && !carry_out_now()) co_await flush();
        const auto due = core_.next_deadline();
        core_wakes_at_ = due ? TimePoint(*due) : runtime::never;
        if (now() < core_wakes_at_) {
            throw_if_cancelled(co_await asio::this_coro::cancellation_state);
            core_timer_.expires_at(to_runtime(core_wakes_at_));
            // Woken early when a step moves the deadline or fills the Ready: then look again.
            co_await core_timer_.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
            continue;
        }
        // A wake long after its deadline means this loop was not running (a stall, a paused
        // process): in one process the leader stalled too and could not send, so a silence
        // that spans the stall proves nothing.
        if (now() - core_wakes_at_ > config_.election.election_timeout / 2)
            core_.on_resume(core_now());
        // A tick judges silence (a leader's, a quorum's), and what waits unread was said before
        // it: after a stall of the event loop the timers and the datagrams are ready together,
        // and a follower must not suspect a leader whose heartbeat sits in its socket.
        bool drained_sent = drain_received(true);
        drained_sent = end_greeting_if_due() && drained_sent;
        core_.on_tick(core_now());
        if (!(carry_out_now() && drained_sent)) co_await flush();
    }
}

// ---- Carrying a Ready out -------------------------------------------------------------------

bool Node::carry_out_now() {
    if (stopped_) return true;
    // Each part of the Ready is taken before it is acted on: acting may step the core again
    // (a reign's books load at once when nothing holds the journal), which fills a new Ready.
    Ready& ready = core_.ready();
    if (const auto seen = std::exchange(ready.epoch_seen, std::nullopt); seen && context_.on_epoch) {
        // Durable peer state: the epoch is recorded before anything is sent in it.
        try {
            context_.on_epoch(id(), *seen);
        } catch (const std::exception& e) {
            // A peer that cannot record its epoch could claim a stale reign after a restart.
            fail(fmt::format("cannot record epoch {} in the peer state: {}",
                             election::epoch_text(*seen), e.what()));
            return true;
        }
    }
    if (std::exchange(ready.seeded, false) && context_.on_seeded) {
        try {
            context_.on_seeded(id());
        } catch (const std::exception& e) {
            fail(fmt::format("cannot record in the peer state that the replica is seeded: {}",
                             e.what()));
            return true;
        }
    }
    if (!ready.failure.empty()) {
        fail(std::exchange(ready.failure, {}));
        return true;
    }
    if (std::exchange(ready.open_replica, false) && !replica_journal_) {
        if (!open_replica(true)) return true;
        // A fresh replica is seeded (it never promised anything): recorded, so the next life
        // opens it at start.
        if (!seeded_ && core_.replica()->seeded() && context_.on_seeded) {
            try {
                context_.on_seeded(id());
                seeded_ = true;
            } catch (const std::exception& e) {
                fail(fmt::format("cannot record in the peer state that the replica is seeded: {}",
                                 e.what()));
                return true;
            }
        }
        wake(replica_timer_);  // the replica loop syncs it from now on
    }
    if (!store_replica()) return true;
    if (const auto epoch = std::exchange(ready.began_reign, std::nullopt)) began_reign(*epoch);
    if (std::exchange(ready.stepped_down, false)) end_reign();
    if (const auto load = std::exchange(ready.load_books, std::nullopt)) {
        end_reign();
        reign_ = std::make_shared<Reign>(context_.runtime);
        reign_->epoch = *load;
        wake(reign_timer_);  // the reign loop serves it
    }
    if (!persist()) return true;
    learn_members(ready);
    // Appended, not swapped: a delivery to itself below carries out a Ready of its own.
    forgetting_.insert(forgetting_.end(), ready.forget.begin(), ready.forget.end());
    ready.forget.clear();
    if (Trader* trader = core_.trader()) {
        if (context_.observer && core_.replica()) {
            for (const auto& [position, event] : ready.proposed) {
                context_.observer->proposed(*this, trader->epoch(), event, position);
            }
            for (const auto& [position, event] : ready.committed) {
                context_.observer->persisted(*this, trader->epoch(), event, position);
            }
            context_.observer->synced(*this, core_.replica()->commit());
        }
        if (context_.observer) {
            for (const auto& output : trader->released()) {
                context_.observer->released(*this, trader->epoch(), output);
            }
        }
        trader->released().clear();
    }
    // Sending suspends, and what arrives meanwhile fills the Ready again: send from a batch of
    // our own (recycled, so the steady state allocates none). Observers see the batch in the
    // order it was stamped, each message before any receive stamped after it.
    observe_sends();
    std::vector<wire::Envelope> batch = take_pooled(batches_);
    batch.swap(ready.messages);
    observed_sends_ = 0;
    core_.advance();
    if (log_->should_log(spdlog::level::debug)) log_election(*log_, batch);
    wake_waiters();
    if (const auto due = core_.next_deadline(); due && TimePoint(*due) < core_wakes_at_) {
        wake(core_timer_);
    }
    bool all_sent = stopped_ || send(batch);
    // A trader paying itself for a lot it deposited as a seller: no network needed.
    for (auto& envelope : batch) {
        if (envelope.receiver == id() && !stopped_) {
            all_sent = deliver(std::move(envelope)) && all_sent;
        }
    }
    batch.clear();
    batches_.push_back(std::move(batch));
    forget(forgetting_);
    // A graceful leave is done: the process ends as a crash would, with nothing left to lose.
    if (core_.left() && !stopped_) stop();
    return all_sent;
}

void Node::learn_members(Ready& ready) {
    if (ready.guests.empty() && !ready.members) return;
    auto* ip = ip_;
    const auto learn = [&](const wire::MemberInfo& m) {
        if (m.id == id()) return;
        if (guard_) guard_->add_member(m.id);
        // A founder's address is the config's; a known peer's is never replaced.
        if (ip == nullptr || m.host.empty() || ip->address_book().find(m.id) != nullptr) return;
        try {
            ip->address_book().add(m.id, m.host, m.port);
        } catch (const std::invalid_argument& e) {
            log_->warn("cannot reach peer {}: {}", m.id, e.what());
        }
    };
    for (const auto& guest : ready.guests) learn(guest);
    ready.guests.clear();
    if (const auto members = std::exchange(ready.members, std::nullopt)) {
        for (const auto& m : *members) learn(m);
    }
}

void Node::forget(std::vector<PeerId>& peers) {
    const auto members = core_.members();
    for (PeerId p : peers) {
        if (p == id() || std::binary_search(members.begin(), members.end(), p)) continue;
        if (guard_) guard_->forget_member(p);
        std::erase(unheard_, p);
        std::erase_if(held_, [p](const wire::Envelope& e) { return e.receiver == p; });
        if (ip_) unaddressed_.push_back(p);
        ++core_.counters().peers_forgotten;
    }
    peers.clear();
    drop_addresses();
}

void Node::drop_addresses() {
    // A queued datagram to a peer no longer in the book would be a caller error when it goes.
    if (unaddressed_.empty() || !backlog_.empty() || flushing_) return;
    const auto members = core_.members();
    for (PeerId p : unaddressed_) {
        if (!std::binary_search(members.begin(), members.end(), p)) ip_->address_book().remove(p);
    }
    unaddressed_.clear();
}

void Node::observe_sends() {
    const auto& messages = core_.ready().messages;
    if (context_.observer && observed_sends_ < messages.size()) {
        // A replicated trader releases what rests on a record once it commits, which may be in
        // the middle of a Ready: observers learn the commit before they see what it let go.
        if (core_.trader() != nullptr && core_.replica() != nullptr) {
            context_.observer->synced(*this, core_.replica()->commit());
        }
        for (std::size_t i = observed_sends_; i < messages.size(); ++i) {
            context_.observer->sent(*this, messages[i]);
        }
    }
    observed_sends_ = messages.size();
}

asio::awaitable<void> Node::flush() {
    // No guard objects: what runs after each await runs only while the node lives (a stop
    // resumes every wait with operation_aborted), never from a frame destroyed unresumed.
    std::exception_ptr error;
    if (flushing_) {
        // The coroutine flushing sends ours too, in order: wait for it.
        runtime::Timer waiter(context_.runtime);
        flush_waiters_.push_back(&waiter);
        try {
            co_await wait_until(waiter, runtime::never, [this] { return !flushing_ || stopped_; });
        } catch (...) {
            error = std::current_exception();
        }
        std::erase(flush_waiters_, &waiter);
        if (error) std::rethrow_exception(error);
        co_return;
    }
    flushing_ = true;
    try {
        while (!backlog_.empty() && !stopped_) {
            std::vector<transport::Outgoing> outgoing = take_pooled(outgoing_pool_);
            std::vector<std::vector<std::byte>> buffers = take_pooled(send_batches_);
            outgoing.swap(backlog_);
            buffers.swap(backlog_buffers_);
            co_await transport_->send_all(outgoing);
            for (auto& buffer : buffers) send_buffers_.push_back(std::move(buffer));
            buffers.clear();
            outgoing.clear();
            send_batches_.push_back(std::move(buffers));
            outgoing_pool_.push_back(std::move(outgoing));
        }
    } catch (...) {
        error = std::current_exception();
    }
    flushing_ = false;
    if (!error && !stopped_) drop_addresses();
    for (runtime::Timer* t : flush_waiters_) wake(*t);
    if (error) std::rethrow_exception(error);
}

void Node::wake_waiters() {
    if (core_.buyer().answered_count() != answers_seen_) {
        answers_seen_ = core_.buyer().answered_count();
        wake(buyer_timer_);
    }
    // The seller's waits look at lots closing, acks, and the trader changing.
    const Seller& seller = core_.seller();
    auto seen = std::make_tuple(seller.sold_out(), seller.has_unacked(), core_.trading_partner());
    if (seen != seller_seen_) {
        seller_seen_ = seen;
        wake(seller_timer_);
        wake(buyer_timer_);  // wait_for_trader()
    }
}

bool Node::send(std::span<const wire::Envelope> batch) {
    // Envelopes to one peer share a datagram (one MAC, one receive), each datagram sealed once
    // all its envelopes are in; then the batch in one go: one system call for a Ready's messages
    // on UDP (sendmmsg), however many peers they go to.
    bool all_sent = end_greeting_if_due();
    std::vector<std::vector<std::byte>> buffers = take_pooled(send_batches_);
    std::vector<Filling> filling = take_pooled(filling_pool_);
    for (const wire::Envelope& envelope : batch) {
        if (envelope.receiver == id()) continue;  // delivered by carry_out
        if (!unheard_.empty() && hold_for_greeting(envelope, all_sent)) continue;
        append(envelope, filling, buffers);
    }
    std::vector<transport::Outgoing> outgoing = take_pooled(outgoing_pool_);
    for (const Filling& f : filling) {
        std::vector<std::byte>& buffer = buffers[f.index];
        const std::size_t size = guard_ ? guard_->seal(f.to, buffer, f.size) : f.size;
        outgoing.push_back({f.to, std::span<const std::byte>(buffer.data(), size)});
    }
    filling.clear();
    filling_pool_.push_back(std::move(filling));
    all_sent = hand_on(outgoing, buffers) && all_sent;
    send_batches_.push_back(std::move(buffers));
    outgoing_pool_.push_back(std::move(outgoing));
    return all_sent;
}

bool Node::hand_on(std::vector<transport::Outgoing>& outgoing,
                   std::vector<std::vector<std::byte>>& buffers) {
    // Nothing overtakes the backlog.
    const std::size_t taken =
        backlog_.empty() && !outgoing.empty() ? transport_->try_send_all(outgoing) : 0;
    for (std::size_t i = 0; i < outgoing.size(); ++i) {
        if (i < taken) {
            send_buffers_.push_back(std::move(buffers[i]));
        } else {
            // The span stays valid: moving a vector keeps its bytes where they are.
            backlog_.push_back(outgoing[i]);
            backlog_buffers_.push_back(std::move(buffers[i]));
        }
    }
    outgoing.clear();
    buffers.clear();
    return backlog_.empty();
}

void Node::append(const wire::Envelope& envelope, std::vector<Filling>& filling,
                  std::vector<std::vector<std::byte>>& buffers) {
    if (guard_ && !guard_->is_member(envelope.receiver)) {
        // A peer this one holds no session for: a bug upstream, but never one that may stop
        // this peer's loops (an exception here once silenced a trader's heartbeats for good).
        log_->error("cannot seal {} for peer {}: not a member this peer knows",
                    wire::kind_name(envelope.body), envelope.receiver);
        return;
    }
    // Encoded in place, between the header's room and the MAC's.
    const std::size_t offset = guard_ ? auth::header_size : 0;
    const std::size_t mac = guard_ ? auth::mac_size : 0;
    const auto encode_at = [&](std::vector<std::byte>& buffer, std::size_t used) {
        return wire::encode(envelope, std::span(buffer).subspan(offset + used).first(
                                          buffer.size() - offset - used - mac));
    };
    const auto joins = std::find_if(filling.begin(), filling.end(), [&](const Filling& f) {
        return f.to == envelope.receiver && f.envelopes < wire::max_envelopes_per_datagram;
    });
    if (joins != filling.end()) {
        try {
            joins->size += encode_at(buffers[joins->index], joins->size);
            ++joins->envelopes;
            ++core_.counters().shared_datagram;
            return;
        } catch (const std::length_error&) {
            // No room left in that datagram: one of its own.
        } catch (const std::exception& e) {
            log_->error("cannot encode {} for peer {}: {}", wire::kind_name(envelope.body),
                        envelope.receiver, e.what());
            return;
        }
    }
    std::vector<std::byte> buffer = take_pooled(send_buffers_);
    buffer.resize(wire::max_datagram_size);
    try {
        const std::size_t size = encode_at(buffer, 0);
        filling.push_back({envelope.receiver, buffers.size(), size, 1});
        buffers.push_back(std::move(buffer));
    } catch (const std::exception& e) {
        log_->error("cannot encode {} for peer {}: {}", wire::kind_name(envelope.body),
                    envelope.receiver, e.what());
        send_buffers_.push_back(std::move(buffer));
    }
}

}  // namespace tp::peer
