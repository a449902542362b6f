#include "tp/peer/node.hpp"

#include <fmt/core.h>
#include <fmt/ranges.h>
#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>

#include <unistd.h>

#include <algorithm>
#include <deque>

#include "tp/journal/errors.hpp"
#include "tp/journal/log.hpp"
#include "tp/market/books.hpp"
#include "tp/market/codec.hpp"
#include "tp/mutant/mutant.hpp"
#include "tp/peer/books.hpp"
#include "tp/peer/ids.hpp"
#include "tp/peer/log.hpp"
#include "tp/wire/codec.hpp"

namespace tp::peer {

namespace {

using namespace std::chrono_literals;

// How long a coroutine with nothing to wait for sleeps before looking again. Finite, so virtual
// time never jumps to the end of time.
constexpr runtime::Duration idle = 1h;
// How often a trader resends payments that sellers have not acknowledged.
constexpr runtime::Duration payment_retry = 200ms;
// Events between snapshots of the books, at least. A snapshot costs time in proportion to the
// books (the de-duplication table grows with every request), so the interval grows with them too:
// a snapshot is due once the events since the last one outnumber the answers on record, which
// keeps its cost per event constant however long the market runs.
constexpr std::uint64_t snapshot_every = 10'000;

market::TimePoint market_time(TimePoint t) {
    return market::TimePoint(t.time_since_epoch());
}

wire::RefusalReason to_wire(market::RefuseReason reason) {
    switch (reason) {
        case market::RefuseReason::no_seller: return wire::RefusalReason::no_seller;
        case market::RefuseReason::insufficient_stock:
            return wire::RefusalReason::insufficient_stock;
        case market::RefuseReason::invalid_request: return wire::RefusalReason::invalid_request;
        case market::RefuseReason::amount_overflow: return wire::RefusalReason::amount_overflow;
    }
    return wire::RefusalReason::invalid_request;
}

wire::Body to_wire(const election::Message& m, wire::Epoch& epoch) {
    return std::visit(
        [&](const auto& x) -> wire::Body {
            using T = std::decay_t<decltype(x)>;
            epoch = x.epoch;
            if constexpr (std::is_same_v<T, election::Election>) {
                return wire::Election{};
            } else if constexpr (std::is_same_v<T, election::Ok>) {
                return wire::Ok{};
            } else if constexpr (std::is_same_v<T, election::Coordinator>) {
                return wire::Coordinator{x.leader, x.epoch};
            } else {
                return wire::Heartbeat{};
            }
        },
        m);
}

journal::Durability to_journal(Durability d) {
    switch (d) {
        case Durability::every: return journal::Durability::every;
        case Durability::group: return journal::Durability::group;
        case Durability::none: return journal::Durability::none;
    }
    return journal::Durability::group;
}

// How long the journal's lock file has been held, from its last write (the holder writes its pid
// there when it takes the lock).
std::string lock_age(const std::filesystem::path& journal_dir) {
    std::error_code ec;
    const auto written = std::filesystem::last_write_time(journal_dir / "LOCK", ec);
    if (ec) return "since an unknown time";
    const auto age = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::filesystem::file_time_type::clock::now() - written);
    return fmt::format("{:.1f} s", static_cast<double>(age.count()) / 1000.0);
}

const std::string& product_name(const Config& config, market::ProductId product) {
    static const std::string unknown = "?";
    return product < config.market.products.size() ? config.market.products[product].name : unknown;
}

// The election's messages, at debug level, one line per kind and epoch: "asks peers 5, 6 to
// elect (epoch 3:4)". Heartbeats only at trace level: there is one per peer and period.
void log_election_outbox(spdlog::logger& log, const std::vector<election::Outbound>& outbox) {
    std::size_t i = 0;
    while (i < outbox.size()) {
        const auto kind = election::kind_of(outbox[i].msg);
        const auto epoch_of = [](const election::Message& m) {
            return std::visit([](const auto& x) { return x.epoch; }, m);
        };
        const auto epoch = epoch_of(outbox[i].msg);
        std::vector<election::PeerId> to;
        for (; i < outbox.size() && election::kind_of(outbox[i].msg) == kind &&
               epoch_of(outbox[i].msg) == epoch;
             ++i) {
            to.push_back(outbox[i].to);
        }
        const auto peers =
            fmt::format("{} {}", to.size() == 1 ? "peer" : "peers", fmt::join(to, ", "));
        const auto e = election::epoch_text(epoch);
        switch (kind) {
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

}  // namespace

std::uint32_t SellerState::remaining() const {
    std::uint32_t total = 0;
    for (const auto& lot : lots) total += lot.quantity - std::min(lot.sold, lot.quantity);
    return total;
}

std::uint32_t SellerState::remaining(market::ProductId product) const {
    std::uint32_t total = 0;
    for (const auto& lot : lots) {
        if (lot.product == product) total += lot.quantity - std::min(lot.sold, lot.quantity);
    }
    return total;
}

// The trader's state for one reign: the books, the journal that makes them durable, and the
// outputs waiting for their events to be durable. Shared with the reign's coroutines, so it lives
// until the last of them ends (an fdatasync in flight holds the journal open).
struct Node::Trader {
    struct Held {
        journal::Lsn needs;
        market::Output output;
    };

    explicit Trader(runtime::Runtime& rt) : wake(rt), poll(rt) {}

    wire::Epoch epoch = 0;
    std::unique_ptr<journal::Log> log;
    std::optional<market::Books> books;
    std::deque<Held> held;
    runtime::Timer wake;  // the commit loop's
    runtime::Timer poll;  // the trader loop's
    bool active = true;   // false once stepped down
    bool ready = false;   // books loaded
    std::vector<std::byte> scratch;
    market::Step step;
    std::uint64_t since_snapshot = 0;
};

Node::Node(NodeContext& context, PeerId id, Role role,
           std::unique_ptr<transport::Transport> transport, runtime::Rng rng,
           std::uint32_t incarnation)
    : context_(context),
      config_(context.config),
      id_(id),
      role_(role),
      transport_(std::move(transport)),
      rng_(rng),
      incarnation_(incarnation),
      log_(peer_logger(id)),
      bully_([&] {
          election::Config c;
          c.self = id;
          for (PeerId p : context.peers) {
              if (p != id) c.peers.push_back(p);
          }
          c.heartbeat_interval = context.config.election.heartbeat_interval;
          c.election_timeout = context.config.election.election_timeout;
          c.answer_timeout = context.config.election.answer_timeout;
          c.coordinator_timeout = context.config.election.election_timeout;
          c.policy = context.config.failure.policy == RecoveryPolicy::bully
                         ? election::RecoveryPolicy::bully
                         : election::RecoveryPolicy::defer;
          return c;
      }()),
      election_timer_(context.runtime),
      buyer_timer_(context.runtime),
      seller_timer_(context.runtime) {
    members_ = context.peers;
    members_.push_back(id);
    std::sort(members_.begin(), members_.end());
    members_.erase(std::unique(members_.begin(), members_.end()), members_.end());
    limits_ = wire::limits_for_members(members_.size());
    if (context.key) {
        guard_.emplace(id, incarnation, members_, *context.key,
                       context.config.election.heartbeat_interval);
    }
}

Node::~Node() = default;

bool Node::is_trader() const noexcept {
    return trader_ && trader_->ready && trader_->active;
}

const market::Books* Node::books() const noexcept {
    return is_trader() ? &*trader_->books : nullptr;
}

std::optional<PeerId> Node::trading_partner() const noexcept {
    auto leader = bully_.leader();
    if (!leader || *leader == id_) return std::nullopt;
    return leader;
}

void Node::spawn(asio::awaitable<void> loop) {
    ++running_;
    // Expected errors are handled inside each loop; anything else is a bug, rethrown out of run().
    asio::co_spawn(context_.runtime.get_executor(), std::move(loop), [this](std::exception_ptr e) {
        --running_;
        if (e) std::rethrow_exception(e);
    });
}

void Node::start(bool restarted) {
    const election::Time t = now().time_since_epoch();
    if (restarted) {
        bully_.restart(t, epoch_floor_);
    } else {
        bully_.start(t, epoch_floor_);
    }
    spawn(receive_loop());
    // A restarted peer's members may still write for its earlier life, which it must refuse:
    // tell them first.
    if (guard_ && incarnation_ > 1) spawn(greet_all());
    spawn(election_loop());
    if (is_buyer()) spawn(buyer_loop());
    if (is_seller()) spawn(seller_loop());
}

void Node::stop() {
    if (stopped_) return;
    stopped_ = true;
    // A crash: the journal's write buffer dies with the process (what was synced survives).
    if (trader_ && trader_->log) trader_->log->discard_unwritten();
    step_down();
    transport_->close();
    wake(election_timer_);
    wake(buyer_timer_);
    wake(seller_timer_);
}

void Node::dropped(DropKind kind, PeerId from, std::string_view detail) {
    if (auto line = junk_.note(kind, from, detail, now().time_since_epoch())) {
        log_->warn("{}", *line);
    }
}

void Node::on_election_message(PeerId from, const election::Message& message, election::Time now) {
    const auto implausible = bully_.counters().implausible_ignored;
    bully_.on_message(from, message, now);
    if (bully_.counters().implausible_ignored > implausible) {
        const wire::Epoch epoch = std::visit([](const auto& m) { return m.epoch; }, message);
        dropped(
            DropKind::implausible_epoch, from,
            fmt::format("a {} with epoch {}, beyond belief after {}",
                        election::to_string(election::kind_of(message)),
                        election::epoch_text(epoch), election::epoch_text(bully_.trusted_epoch())));
    }
}

void Node::flush_junk() {
    const auto due = junk_.next_flush();
    if (!due || *due > now().time_since_epoch()) return;
    for (const auto& line : junk_.flush(now().time_since_epoch())) log_->warn("{}", line);
}

void Node::fail(std::string why) {
    log_->error("{}", why);
    if (failure_.empty()) failure_ = std::move(why);
    stop();
}

asio::awaitable<bool> Node::wait_until(runtime::Timer& timer, TimePoint deadline,
                                       const std::function<bool()>& ready) {
    while (!ready()) {
        if (stopped_ || now() >= deadline) co_return ready();
        timer.expires_at(deadline - clock_base_);
        co_await timer.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
    }
    co_return true;
}

asio::awaitable<void> Node::sleep_until(runtime::Timer& timer, TimePoint deadline) {
    if (stopped_ || now() >= deadline) co_return;
    timer.expires_at(deadline - clock_base_);
    co_await timer.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
}

asio::awaitable<void> Node::pause(runtime::Timer& timer, runtime::Duration d) {
    co_await wait_until(timer, now() + d, [this] { return stopped_; });
}

// ---- Messages -------------------------------------------------------------------------------

asio::awaitable<void> Node::send(PeerId to, wire::Body body, wire::Epoch epoch) {
    if (stopped_) co_return;
    clock_.tick(id_);
    wire::Envelope envelope{id_, to, epoch, clock_, std::move(body)};
    ++counters_.sent;
    ++counters_.sent_by_kind[envelope.body.index()];
    if (context_.observer) context_.observer->sent(*this, envelope);
    if (to == id_) {
        // A trader paying itself for a lot it deposited as a seller: no network needed.
        co_await handle(std::move(envelope));
        co_return;
    }
    std::vector<std::byte> buffer;
    if (!send_buffers_.empty()) {
        buffer = std::move(send_buffers_.back());
        send_buffers_.pop_back();
    }
    buffer.resize(wire::max_datagram_size);
    // Sealed: the envelope goes between the header and the MAC, encoded in place.
    const std::size_t offset = guard_ ? auth::header_size : 0;
    const std::size_t room = guard_ ? buffer.size() - auth::frame_overhead : buffer.size();
    std::size_t size = 0;
    try {
        size = wire::encode(envelope, std::span(buffer).subspan(offset, room));
    } catch (const std::exception& e) {
        log_->error("cannot encode {} for peer {}: {}", wire::kind_name(envelope.body), to,
                    e.what());
        co_return;
    }
    if (guard_) size = guard_->seal(to, buffer, size);
    co_await transport_->send(to, std::span<const std::byte>(buffer.data(), size));
    send_buffers_.push_back(std::move(buffer));
}

asio::awaitable<void> Node::send_hello(PeerId to) {
    if (stopped_ || !guard_ || to == id_) co_return;
    std::array<std::byte, auth::frame_overhead> frame;
    const std::size_t size = guard_->seal_hello(to, frame);
    ++counters_.hellos_sent;
    co_await transport_->send(to, std::span<const std::byte>(frame.data(), size));
}

asio::awaitable<void> Node::greet_all() {
    for (PeerId p : members_) co_await send_hello(p);
}

std::optional<std::span<const std::byte>> Node::open(std::span<const std::byte> frame, PeerId from,
                                                     std::optional<PeerId>& greet) {
    const auto out = guard_->open(frame, now().time_since_epoch());
    greet = out.greet;
    if (out.opened) {
        if (out.opened->kind == auth::FrameKind::hello) return std::nullopt;
        return out.opened->payload;
    }
    ++counters_.auth_refused[static_cast<std::size_t>(out.refusal)];
    switch (out.refusal) {
        case auth::Refusal::stale_receiver:
            // Routine after this peer restarts: the sender learns this life from the hello.
            break;
        case auth::Refusal::bad_mac:
            dropped(DropKind::bad_mac, from,
                    "it fails authentication (forged, damaged or another key)");
            break;
        case auth::Refusal::replayed:
        case auth::Refusal::too_old:
        case auth::Refusal::old_incarnation:
            dropped(
                DropKind::replay, from,
                fmt::format("peer {}'s datagram is {}", out.from, auth::to_string(out.refusal)));
            break;
        case auth::Refusal::malformed:
        case auth::Refusal::not_for_me:
        case auth::Refusal::unknown_sender:
        case auth::Refusal::count_:
            dropped(DropKind::malformed, from,
                    fmt::format("not an authenticated datagram for this peer: {}",
                                auth::to_string(out.refusal)));
            break;
    }
    return std::nullopt;
}

asio::awaitable<void> Node::receive_loop() {
    std::vector<std::byte> buffer(transport_->max_datagram());
    while (!stopped_) {
        auto datagram = co_await transport_->receive(buffer);
        if (!datagram) break;  // closed
        std::span<const std::byte> bytes(buffer.data(), datagram->size);
        if (guard_) {
            // Nothing is decoded before the MAC and the replay window say the bytes are fresh
            // and from the member they name.
            std::optional<PeerId> greet;
            const auto payload = open(bytes, datagram->from, greet);
            if (greet) co_await send_hello(*greet);
            if (!payload) continue;
            bytes = *payload;
        }
        auto decoded = wire::decode(bytes, limits_);
        if (!decoded) {
            ++counters_.malformed;
            dropped(decoded.error().code == wire::DecodeErrc::unknown_kind ? DropKind::unknown_kind
                                                                           : DropKind::malformed,
                    datagram->from, decoded.error().message());
            continue;
        }
        wire::Envelope& envelope = decoded.value();
        if (envelope.sender != datagram->from || envelope.receiver != id_) {
            ++counters_.misaddressed;
            dropped(DropKind::misaddressed, datagram->from,
                    fmt::format("it says it is from {} to {}", envelope.sender, envelope.receiver));
            continue;
        }
        co_await handle(std::move(envelope));
    }
}

asio::awaitable<void> Node::handle(wire::Envelope envelope) {
    if (stopped_) co_return;
    ++counters_.received;
    counters_.foreign_clock_entries += clock_.receive(id_, envelope.clock, members_);
    if (context_.observer) context_.observer->received(*this, envelope);
    const PeerId from = envelope.sender;
    const election::Time t = now().time_since_epoch();

    if (auto* m = std::get_if<wire::Election>(&envelope.body)) {
        (void)m;
        on_election_message(from, election::Election{envelope.epoch}, t);
        co_await flush_election();
    } else if (std::holds_alternative<wire::Ok>(envelope.body)) {
        on_election_message(from, election::Ok{envelope.epoch}, t);
        co_await flush_election();
    } else if (auto* c = std::get_if<wire::Coordinator>(&envelope.body)) {
        on_election_message(from, election::Coordinator{c->leader, c->epoch}, t);
        co_await flush_election();
    } else if (std::holds_alternative<wire::Heartbeat>(envelope.body)) {
        on_election_message(from, election::Heartbeat{from, envelope.epoch}, t);
        co_await flush_election();
    } else if (std::holds_alternative<wire::BuyResult>(envelope.body) ||
               std::holds_alternative<wire::Payment>(envelope.body) ||
               std::holds_alternative<wire::DepositAck>(envelope.body)) {
        // Only the current trader's answers and payments count, in its current reign (a
        // trader answering itself is its own trader).
        if (bully_.leader() != from || envelope.epoch != bully_.epoch()) {
            ++counters_.wrong_role;
            dropped(
                DropKind::wrong_role, from,
                fmt::format("a {} from a peer that is not the trader of epoch {}",
                            wire::kind_name(envelope.body), election::epoch_text(bully_.epoch())));
            co_return;
        }
        if (auto* r = std::get_if<wire::BuyResult>(&envelope.body)) {
            on_buy_result(from, envelope, *r);
        } else if (auto* p = std::get_if<wire::Payment>(&envelope.body)) {
            co_await on_payment(from, *p);
        } else {
            on_deposit_ack(std::get<wire::DepositAck>(envelope.body));
        }
    } else {
        // Deposit, Buy, PaymentAck: for the trader only.
        if (!is_trader()) {
            // Elected, but the books are not loaded yet: say so rather than stay silent.
            if (trader_ && trader_->active) {
                co_await refuse_unavailable(from, envelope.body);
            } else {
                ++counters_.ignored;
            }
            co_return;
        }
        auto trader = trader_;
        market::Step& step = trader->step;
        step.clear();
        if (auto* d = std::get_if<wire::Deposit>(&envelope.body)) {
            if (d->product >= config_.market.products.size()) {
                co_await send(
                    from, wire::DepositAck{d->lot_id, false, wire::RefusalReason::invalid_request});
                co_return;
            }
            trader->books->deposit(
                market::Deposited{from, d->lot_id, d->product, d->quantity, d->unit_price}, step);
        } else if (auto* b = std::get_if<wire::Buy>(&envelope.body)) {
            trader->books->submit_buy(
                market::BuyRequest{from, b->request_id, b->product, b->quantity, b->allow_partial},
                envelope.clock, market_time(now()), step);
            if (config_.market.batch_window.count() > 0) wake(trader->poll);
        } else if (auto* k = std::get_if<wire::PaymentAck>(&envelope.body)) {
            // Only the payee settles a payment.
            const market::Payment* paid = trader->books->payments().find(k->payment_id);
            if (paid != nullptr && paid->seller != from && !TP_MUTANT(accept_any_ack)) {
                ++counters_.wrong_role;
                dropped(DropKind::wrong_role, from,
                        fmt::format("an ack for payment {}, which is peer {}'s", k->payment_id,
                                    paid->seller));
                co_return;
            }
            trader->books->ack_payment(k->payment_id, step);
        }
        co_await persist_and_reply(*trader, step);
    }
}

asio::awaitable<void> Node::refuse_unavailable(PeerId from, const wire::Body& body) {
    ++counters_.unavailable_answers;
    if (auto* b = std::get_if<wire::Buy>(&body)) {
        wire::BuyResult result;
        result.request_id = b->request_id;
        result.reason = wire::RefusalReason::trader_unavailable;
        co_await send(from, std::move(result));
    } else if (auto* d = std::get_if<wire::Deposit>(&body)) {
        co_await send(from,
                      wire::DepositAck{d->lot_id, false, wire::RefusalReason::trader_unavailable});
    }
}

// ---- Election -------------------------------------------------------------------------------

asio::awaitable<void> Node::election_loop() {
    co_await flush_election();  // what start() or restart() decided to send
    while (!stopped_) {
        flush_junk();
        const auto deadline = bully_.next_deadline();
        const TimePoint at = deadline ? TimePoint(*deadline) : now() + idle;
        if (now() < at) {
            election_timer_.expires_at(at - clock_base_);
            // Woken early when a message moves the deadline: then just look again.
            co_await election_timer_.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
            continue;
        }
        bully_.on_tick(now().time_since_epoch());
        co_await flush_election();
    }
}

void Node::note_epoch() {
    const wire::Epoch seen = std::max(bully_.epoch(), bully_.trusted_epoch());
    if (seen <= noted_epoch_) return;
    noted_epoch_ = seen;
    if (!context_.on_epoch) return;
    try {
        context_.on_epoch(id_, seen);
    } catch (const std::exception& e) {
        // A peer that cannot record its epoch could claim a stale reign after a restart.
        fail(fmt::format("cannot record epoch {} in the peer state: {}", election::epoch_text(seen),
                         e.what()));
    }
}

asio::awaitable<void> Node::flush_election() {
    note_epoch();
    if (stopped_) co_return;
    auto outbox = bully_.take_outbox();
    auto events = bully_.take_events();
    if (log_->should_log(spdlog::level::debug)) log_election_outbox(*log_, outbox);
    for (const auto& out : outbox) {
        wire::Epoch epoch = 0;
        wire::Body body = to_wire(out.msg, epoch);
        co_await send(out.to, std::move(body), epoch);
    }
    for (const auto& event : events) co_await on_election_event(event);
    // The deadline may have moved: let the election loop look again.
    if (!stopped_) wake(election_timer_);
}

asio::awaitable<void> Node::on_election_event(const election::Event& event) {
    switch (event.kind) {
        case election::EventKind::became_leader:
            log_->debug("won the election (epoch {}), loading the books",
                        election::epoch_text(event.epoch));
            spawn(become_trader(event.epoch));
            break;
        case election::EventKind::leader_known:
            step_down();
            log_->debug("follows peer {} (epoch {})", event.leader,
                        election::epoch_text(event.epoch));
            log_->info("the trader is now peer {} (epoch {})", event.leader,
                       election::epoch_text(event.epoch));
            break;
        case election::EventKind::leader_lost:
            step_down();
            log_->info("lost the trader, peer {} (epoch {})", event.leader,
                       election::epoch_text(event.epoch));
            break;
    }
    // Buyers and sellers resend what is outstanding to the new trader, or pause.
    wake(buyer_timer_);
    wake(seller_timer_);
    co_return;
}

// ---- Trader ---------------------------------------------------------------------------------

asio::awaitable<void> Node::become_trader(wire::Epoch epoch) {
    step_down();
    auto trader = std::make_shared<Trader>(context_.runtime);
    trader->epoch = epoch;
    trader_ = trader;

    journal::Options options;
    options.durability = to_journal(config_.storage.durability);
    std::optional<journal::Log::Opened> opened;
    const TimePoint waiting_from = now();
    TimePoint next_warning = waiting_from;
    while (trader->active && !stopped_ && !opened) {
        std::optional<journal::LockedError> locked;
        try {
            opened = journal::Log::open(context_.journal_dir, options);
        } catch (const journal::LockedError& e) {
            // Another trader's process (or this process's previous reign, for a moment) holds
            // the journal. Buyers are told trader_unavailable meanwhile.
            locked = e;
        } catch (const std::exception& e) {
            fail(fmt::format("cannot open the books' journal: {}", e.what()));
            co_return;
        }
        if (locked) {
            // Another process is worth a warning at once (a paused or stuck trader); this
            // process's own previous reign only if it does not let go within a second.
            const bool other = locked->holder() > 0 && locked->holder() != ::getpid();
            if (now() >= next_warning && (other || now() - waiting_from >= 1s)) {
                log_->warn(
                    "cannot serve yet: {}, held for {}; buyers are told "
                    "trader_unavailable until it frees",
                    locked->what(), lock_age(context_.journal_dir));
                next_warning = now() + 5s;
            }
            co_await wait_until(trader->poll, now() + 10ms, [&] { return !trader->active; });
        }
    }
    if (!opened || !trader->active || stopped_) co_return;
    trader->log = std::move(opened->log);
    const auto& recovery = opened->recovery;
    if (recovery.torn_tail) {
        log_->warn("journal: cut a torn tail of {} at {}:{}",
                   plural(recovery.torn_tail->dropped_bytes, "byte"), recovery.torn_tail->file,
                   recovery.torn_tail->offset);
    }
    auto books = replay_books(recovery, market_config(config_));
    if (!books) {
        fail(fmt::format("cannot recover the books from {}: {}", context_.journal_dir.string(),
                         books.error().message));
        co_return;
    }
    trader->books.emplace(std::move(books.value()));
    trader->books->resume(market_time(now()));  // recovered batches: a fresh window on our clock
    trader->ready = true;
    ++trader_counters_.reigns;
    log_->info("Dear buyers and sellers, My ID is {}, and I am the new coordinator", id_);
    log_->info("recovered the books: {}, {} answered, {} queued, {} pending",
               plural(recovery.records.size(), "event"),
               plural(trader->books->results_count(), "request"), trader->books->queued().size(),
               plural(trader->books->payments().pending_count(), "payment"));
    if (context_.on_new_trader) context_.on_new_trader(id_, epoch);
    if (context_.observer) {
        context_.observer->became_trader(*this, epoch, *trader->books, trader->log->durable_lsn());
    }
    spawn(commit_loop(trader));
    spawn(trader_loop(trader));
}

void Node::step_down() {
    if (!trader_) return;
    trader_->active = false;
    wake(trader_->wake);
    wake(trader_->poll);
    trader_.reset();  // the reign's coroutines hold it until they end, then the journal closes
}

asio::awaitable<void> Node::persist_and_reply(Trader& trader, market::Step& step) {
    try {
        for (const auto& event : step.events) {
            market::encode(event, trader.scratch);
            trader.log->append(trader.scratch);
            ++trader_counters_.events_persisted;
            if (context_.observer) {
                context_.observer->persisted(*this, trader.epoch, event, trader.log->written_lsn());
            }
            ++trader.since_snapshot;
        }
    } catch (const std::exception& e) {
        // A journal that cannot write is a failed trader: stop, and let a new one recover.
        fail(fmt::format("journal append failed: {}", e.what()));
        co_return;
    }
    // An output waits for every event appended so far, not only its own step's: a retried
    // request's recorded answer may rest on events still in flight.
    journal::Lsn needs = trader.log->written_lsn();
    if (TP_MUTANT(early_confirm)) needs = 0;  // confirms before the journal is durable
    for (auto& output : step.outputs) trader.held.push_back({needs, std::move(output)});
    step.clear();
    if (trader.since_snapshot >=
        std::max<std::uint64_t>(snapshot_every, trader.books->results_count())) {
        trader.since_snapshot = 0;
        try {
            trader.log->write_snapshot(trader.log->written_lsn(), trader.books->snapshot());
            if (context_.observer) context_.observer->synced(*this, trader.log->durable_lsn());
        } catch (const std::exception& e) {
            log_->warn("snapshot failed (the log still has every event): {}", e.what());
        }
    }
    if (trader.log->durable_lsn() >= needs) {
        co_await release(trader);
    } else {
        wake(trader.wake);
    }
}

asio::awaitable<void> Node::release(Trader& trader) {
    while (trader.active && !trader.held.empty() &&
           trader.held.front().needs <= trader.log->durable_lsn()) {
        market::Output output = std::move(trader.held.front().output);
        trader.held.pop_front();
        if (context_.observer) context_.observer->released(*this, trader.epoch, output);
        co_await send_output(output, trader.epoch);
    }
}

asio::awaitable<void> Node::send_output(const market::Output& output, wire::Epoch epoch) {
    if (auto* ack = std::get_if<market::DepositAck>(&output)) {
        const bool accepted = ack->status != market::DepositStatus::rejected;
        co_await send(ack->seller,
                      wire::DepositAck{ack->lot, accepted,
                                       accepted ? wire::RefusalReason::none
                                                : wire::RefusalReason::invalid_request},
                      epoch);
    } else if (auto* r = std::get_if<market::BuyResult>(&output)) {
        wire::BuyResult result;
        result.request_id = r->request;
        result.filled = r->filled();
        result.reason = r->filled() ? wire::RefusalReason::none : to_wire(r->reason);
        result.quantity = r->quantity;
        result.amount = r->amount;
        for (PeerId seller : r->sellers) result.fills.push_back(wire::Fill{seller, 0, 0, 0});
        if (r->filled()) {
            for (PeerId seller : r->sellers) {
                log_->debug("sold {} {} of peer {} to peer {}", r->quantity,
                            product_name(config_, r->product), seller, r->buyer);
            }
        }
        co_await send(r->buyer, std::move(result), epoch);
    } else if (auto* p = std::get_if<market::Payment>(&output)) {
        co_await send(p->seller, wire::Payment{p->id, p->lot, p->quantity, p->amount}, epoch);
    }
}

asio::awaitable<void> Node::commit_loop(std::shared_ptr<Trader> trader) {
    while (trader->active && !stopped_) {
        journal::Log& log = *trader->log;
        if (log.written_lsn() > log.durable_lsn()) {
            try {
                // Under `none` sync() is one write(2) of the buffer and no fdatasync: cheaper
                // on the loop than a hop to the pool and back.
                if (context_.sync_pool != nullptr && !context_.runtime.is_virtual() &&
                    config_.storage.durability != Durability::none) {
                    // Group commit: requests keep arriving on the loop while fdatasync runs on
                    // the pool; each batch is released when its sync returns.
                    co_await asio::co_spawn(
                        context_.sync_pool->get_executor(),
                        [&log]() -> asio::awaitable<journal::Lsn> { co_return log.sync(); },
                        asio::use_awaitable);
                } else {
                    if (context_.sync_latency.count() > 0 && context_.runtime.is_virtual()) {
                        // The modelled fdatasync takes time; a crash meanwhile loses the tail.
                        runtime::Timer disk(context_.runtime);
                        co_await pause(disk, context_.sync_latency);
                        if (!trader->active || stopped_) co_return;
                    }
                    log.sync();
                }
                ++trader_counters_.syncs;
                if (context_.observer) context_.observer->synced(*this, log.durable_lsn());
            } catch (const std::exception& e) {
                fail(fmt::format("journal sync failed: {}", e.what()));
                co_return;
            }
            co_await release(*trader);
        } else {
            co_await wait_until(trader->wake, now() + idle, [&] {
                return !trader->active || stopped_ ||
                       trader->log->written_lsn() > trader->log->durable_lsn();
            });
        }
    }
}

bool Node::holds_payment(const Trader& trader, market::PaymentId id) {
    return std::any_of(trader.held.begin(), trader.held.end(), [id](const auto& h) {
        const auto* p = std::get_if<market::Payment>(&h.output);
        return p != nullptr && p->id == id;
    });
}

asio::awaitable<void> Node::trader_loop(std::shared_ptr<Trader> trader) {
    TimePoint next_retry = now() + payment_retry;
    bool first = true;
    while (trader->active && !stopped_) {
        // Payments inherited from an earlier reign, or not acknowledged in time, go out again.
        if (first || now() >= next_retry) {
            std::vector<market::Payment> pending = trader->books->payments().pending();
            for (const auto& p : pending) {
                if (!trader->active) break;
                // A payment whose sale is not durable yet is still held: it goes out when its
                // sync completes, never before (a crash meanwhile loses the sale).
                if (holds_payment(*trader, p.id)) continue;
                if (!first) ++trader_counters_.payments_resent;
                co_await send(p.seller, wire::Payment{p.id, p.lot, p.quantity, p.amount},
                              trader->epoch);
            }
            first = false;
            next_retry = now() + payment_retry;
        }
        if (!trader->active) break;
        // Close due batches of buy requests and serve them in logical-time order.
        if (auto due = trader->books->next_deadline(); due && *due <= market_time(now())) {
            market::Step& step = trader->step;
            step.clear();
            trader->books->poll(market_time(now()), step);
            co_await persist_and_reply(*trader, step);
            continue;
        }
        TimePoint deadline = next_retry;
        if (auto due = trader->books->next_deadline()) {
            deadline = std::min(deadline, TimePoint(due->time_since_epoch()));
        }
        // Woken early by a new request (its batch may close sooner) or by stepping down.
        co_await sleep_until(trader->poll, deadline);
    }
}

// ---- Buyer ----------------------------------------------------------------------------------

void Node::on_buy_result(PeerId from, const wire::Envelope& envelope,
                         const wire::BuyResult& result) {
    auto& out = buyer_.outstanding;
    if (!out || out->request != result.request_id || out->answered) return;  // late duplicate
    if (result.reason == wire::RefusalReason::trader_unavailable) {
        // Not an answer: the request did not run. Say why once, and retry on the timeout.
        if (!waiting_since_) {
            waiting_since_ = now();
            log_->warn(
                "waiting: the trader, peer {}, cannot serve yet (its books are not "
                "loaded); {} will be retried",
                from, request_text(result.request_id));
        }
        return;
    }
    if (waiting_since_) {
        log_->info(
            "the trader answers again after {} ms",
            std::chrono::duration_cast<std::chrono::milliseconds>(now() - *waiting_since_).count());
        waiting_since_.reset();
    }
    out->answered = true;
    out->filled = result.filled;
    out->reason = result.reason;
    out->bought = result.quantity;
    out->amount = result.amount;
    out->answered_at = now();
    out->epoch = envelope.epoch;
    out->trader = from;
    for (const auto& f : result.fills) out->sellers.push_back(f.seller);
    wake(buyer_timer_);
}

void Node::buy(market::ProductId product, std::uint32_t quantity) {
    script_.emplace_back(product, quantity);
    wake(buyer_timer_);
}

void Node::deposit(market::ProductId product, std::uint32_t quantity, Money unit_price) {
    OwnLot lot;
    lot.id = (incarnation_ << 32) | ++next_lot_;
    lot.product = product;
    lot.quantity = quantity;
    lot.unit_price = unit_price;
    seller_.lots.push_back(lot);
    clock_.tick(id_);
    wake(seller_timer_);
}

asio::awaitable<void> Node::buyer_loop() {
    const auto& behaviour = config_.behaviour;
    const auto products = config_.market.products.size();
    while (!stopped_ && (context_.scripted || buyer_.issued < behaviour.max_transactions)) {
        Purchase p;
        if (context_.scripted) {
            co_await wait_until(buyer_timer_, now() + idle,
                                [&] { return stopped_ || !script_.empty(); });
            if (stopped_) break;
            if (script_.empty()) continue;
            p.product = script_.front().first;
            p.quantity = script_.front().second;
            script_.pop_front();
            if (seller_.remaining(p.product) > 0) {
                // Never buy one's own lot: refused here, without asking the trader.
                p.request = (incarnation_ << 32) | ++next_request_;
                p.sent = p.answered_at = now();
                p.answered = true;
                p.reason = wire::RefusalReason::invalid_request;
                log_->warn("will not buy {} it is selling itself",
                           product_name(config_, p.product));
                buyer_.purchases.push_back(std::move(p));
                continue;
            }
        } else {
            co_await pause(buyer_timer_, behaviour.think_time);
            if (stopped_) break;
            if (!rng_.bernoulli(behaviour.buy_probability)) continue;
            p.product = static_cast<market::ProductId>(rng_.uniform_int(0, products - 1));
            // A peer that also sells never buys what it has on sale: its own lots could be the
            // oldest in stock. (Its view is conservative: a lot counts until it is paid for.)
            if (seller_.remaining(p.product) > 0) continue;
            p.quantity =
                static_cast<std::uint32_t>(rng_.uniform_int(1, behaviour.max_buy_quantity));
        }
        p.request = (incarnation_ << 32) | ++next_request_;
        p.sent = now();
        buyer_.outstanding = p;
        ++buyer_.issued;

        // Retry the same request id, with whoever is trader, until it is answered.
        while (!stopped_ && !buyer_.outstanding->answered) {
            auto partner = trading_partner();
            if (!partner) {
                co_await wait_until(buyer_timer_, now() + idle,
                                    [&] { return stopped_ || trading_partner().has_value(); });
                continue;
            }
            if (++buyer_.outstanding->attempts == 1) {
                buyer_.outstanding->stamp = clock_;
                buyer_.outstanding->stamp.tick(id_);  // what send() will stamp it with
            }
            co_await send(*partner, wire::Buy{p.request, p.product, p.quantity,
                                              config_.market.partial_fills});
            co_await wait_until(buyer_timer_, now() + behaviour.request_timeout, [&] {
                return stopped_ || buyer_.outstanding->answered || trading_partner() != partner;
            });
        }
        if (stopped_) break;
        Purchase done = std::move(*buyer_.outstanding);
        buyer_.outstanding.reset();
        const auto& name = product_name(config_, done.product);
        if (done.filled) {
            // "bought 3 fish from 2 for 27", or "from 2 and 5" when several sellers filled it.
            log_->info("bought {} {} from {} for {}", done.bought, name,
                       fmt::join(done.sellers, " and "), done.amount);
        } else {
            log_->info("could not buy {} {}: {}", done.quantity, name,
                       wire::to_string(done.reason));
        }
        buyer_.purchases.push_back(std::move(done));
    }
    if (!stopped_) {
        buyer_.done = true;
        if (context_.on_buyer_done) context_.on_buyer_done(id_);
    }
}

// ---- Seller ---------------------------------------------------------------------------------

void Node::deposit_new_lot(bool another_product) {
    const auto products = config_.market.products.size();
    market::ProductId product = static_cast<market::ProductId>(rng_.uniform_int(0, products - 1));
    if (another_product && products > 1 && !seller_.lots.empty()) {
        // "Picks another product": any but the one it just sold out of.
        const auto last = seller_.lots.back().product;
        product = static_cast<market::ProductId>(rng_.uniform_int(0, products - 2));
        if (product >= last) ++product;
    }
    OwnLot lot;
    lot.id = (incarnation_ << 32) | ++next_lot_;
    lot.product = product;
    lot.quantity = config_.market.seller_stock;
    lot.unit_price = config_.market.products[product].price;
    seller_.lots.push_back(lot);
    clock_.tick(id_);  // a local event
    // Said without a receiver: a seller that is the trader holds the lot until another trader
    // is elected (it never deposits with itself).
    log_->info("has {} {} to sell at {} each ({})", lot.quantity, product_name(config_, product),
               lot.unit_price, lot_text(lot.id));
}

void Node::on_deposit_ack(const wire::DepositAck& ack) {
    for (auto& lot : seller_.lots) {
        if (lot.id != ack.lot_id) continue;
        // The trader is elected but cannot serve yet: the deposit did not happen; resend later.
        if (ack.reason == wire::RefusalReason::trader_unavailable) return;
        if (!ack.accepted) {
            log_->warn("the trader refused {}: {}", lot_text(ack.lot_id),
                       wire::to_string(ack.reason));
            lot.quantity = lot.sold;  // nothing of it is on sale
        }
        lot.acked = true;
    }
    wake(seller_timer_);
}

asio::awaitable<void> Node::on_payment(PeerId from, const wire::Payment& payment) {
    if (seller_.payments.emplace(payment.payment_id, payment.amount).second) {
        seller_.earned += payment.amount;
        seller_.sold += payment.quantity;
        for (auto& lot : seller_.lots) {
            if (lot.id == payment.lot_id) lot.sold += payment.quantity;
        }
        log_->info("was paid {} for {} of {}", payment.amount, plural(payment.quantity, "unit"),
                   lot_text(payment.lot_id));
        wake(seller_timer_);
    }
    // Always acknowledge: the ack may be what was lost.
    co_await send(from, wire::PaymentAck{payment.payment_id});
}

asio::awaitable<void> Node::seller_loop() {
    const auto& behaviour = config_.behaviour;
    const bool automatic = !context_.scripted;
    auto has_unacked = [&] {
        return std::any_of(seller_.lots.begin(), seller_.lots.end(),
                           [](const OwnLot& l) { return !l.acked; });
    };
    if (automatic) deposit_new_lot(false);
    TimePoint next_restock = now() + behaviour.restock_interval;
    while (!stopped_) {
        // Unacknowledged deposits go to whoever is trader, again after each timeout.
        const auto partner = trading_partner();
        const bool unacked = has_unacked();
        if (partner) {
            for (const auto& lot : seller_.lots) {
                if (lot.acked) continue;
                co_await send(*partner,
                              wire::Deposit{lot.id, lot.product, lot.quantity, lot.unit_price});
            }
        }
        // Scripted sellers never restock on their own: they only resend.
        // Without a trader (or as the trader) there is nothing to do until that changes.
        const TimePoint restock =
            automatic && partner ? std::max(next_restock, now()) : now() + idle;
        // While a deposit is unacknowledged the next step is resending it, never restocking
        // (a past restock time here once made this loop resend without ever suspending).
        const TimePoint deadline = unacked && partner ? now() + behaviour.request_timeout : restock;
        // Wake for: a new trader, a new lot to deposit, or (trading at random) selling out.
        co_await wait_until(seller_timer_, deadline, [&] {
            return stopped_ || trading_partner() != partner || (!unacked && has_unacked()) ||
                   (automatic && partner && !unacked && seller_.remaining() == 0);
        });
        if (stopped_) break;
        if (!automatic || !trading_partner() || has_unacked()) continue;
        if (seller_.remaining() == 0) {
            // "When its stock reaches zero, picks another product and deposits it."
            deposit_new_lot(true);
            next_restock = now() + behaviour.restock_interval;
        } else if (now() >= next_restock) {
            next_restock = now() + behaviour.restock_interval;
            if (rng_.bernoulli(behaviour.update_inventory_probability)) deposit_new_lot(false);
        }
    }
}

}  // namespace tp::peer
