#pragma once

// The buyer role as a sans-IO core: requests in, Buy messages and deadlines out. No asio, no
// sockets, no real clock: the driver (PeerCore and Node) feeds it `now`, the current trader and
// the trader's answers, and sends what its outbox holds.

#include <spdlog/logger.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "tp/clock/vector_clock.hpp"
#include "tp/market/books.hpp"
#include "tp/market/types.hpp"
#include "tp/peer/config.hpp"
#include "tp/peer/outbox.hpp"
#include "tp/runtime/clock.hpp"
#include "tp/wire/message.hpp"

namespace tp::peer {

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
    // The lots it came from (seller, lot, units, gross amount), as the trader listed them: at most
    // wire::max_fills, while bought and amount are the totals of all.
    std::vector<wire::Fill> fills;
    TimePoint sent{};         // first attempt
    TimePoint answered_at{};  // answer received
    bool answered = false;
    std::uint32_t attempts = 0;
    PeerId trader = 0;         // who answered
    clock::VectorClock stamp;  // the vector clock of the first attempt
    wire::Epoch epoch = 0;     // in which epoch
};

struct BuyerState {
    // The answered requests, oldest first: every one of this life, or the newest
    // BuyerOptions::history of them.
    std::deque<Purchase> purchases;
    // Every request answered in this life, counted whatever `purchases` keeps (a refusal here,
    // for one's own product, counts as refused). spent stops at the last sum that fits Money,
    // and spent_overflow says so.
    market::BuyerTotals totals;
    bool spent_overflow = false;
    std::uint32_t issued = 0;         // requests started (answered or not)
    bool done = false;                // max_transactions reached
    std::optional<Purchase> outstanding;
};

struct BuyerOptions {
    Duration request_timeout = std::chrono::milliseconds(500);
    bool partial_fills = false;
    // For log lines only ("bought 3 fish ..."); a product without a name shows as "?".
    std::vector<std::string> product_names;
    // How many answered requests state().purchases keeps, the newest, at least one (nullopt:
    // all). An endless market (`bench throughput`, a long-lived `peer`) bounds it; the totals
    // count every one.
    std::optional<std::size_t> history;

    static BuyerOptions from(const Config& config);
};

// One request outstanding at a time, retried with the same id and whoever is trader until it is
// answered; later requests wait in order. A trader_unavailable answer is not an answer (the
// request did not run): it is retried on the timeout, and said once per spell.
class Buyer {
public:
    // Whether this peer has `product` on sale itself (the Seller's remaining(product) > 0): it
    // never buys its own lot, which could be the oldest in stock.
    using SellsOwn = std::function<bool(market::ProductId)>;

    Buyer(PeerId self, std::uint32_t incarnation, BuyerOptions options, spdlog::logger& log,
          SellsOwn sells_own = {});

    // Queues a request; it is sent once those before it are answered and a trader is known.
    wire::RequestId buy(market::ProductId product, std::uint32_t quantity, Time now);
    // The trading partner changed: nullopt when none is known or this peer is the trader itself.
    // An unanswered request goes to the new one at once.
    void on_trader(std::optional<PeerId> trader, Time now);
    // A message from the current trader in its epoch (the caller has checked that); anything but
    // a BuyResult is ignored.
    void on_message(PeerId from, const wire::Envelope& envelope, Time now);
    // Resends the outstanding request once its timeout has passed.
    void on_tick(Time now);
    std::optional<Time> next_deadline() const;
    Outbox take_outbox();
    // The same, in place: the caller sends and clears it (no allocation per message).
    Outbox& outbox() noexcept { return outbox_; }
    // The stamped envelope of a Buy this core asked for: the first attempt's clock is kept in the
    // Purchase (the trader orders requests by it).
    void on_sent(const wire::Envelope& envelope);

    // Requests completed in this life (answered, or refused here as one's own product): grows by
    // one with every completion, for waits on top to watch.
    std::uint64_t answered_count() const noexcept {
        return state_.totals.filled + state_.totals.refused;
    }
    // Request `id` as it stands (queued, outstanding or completed), or null when never made here.
    const Purchase* purchase(wire::RequestId id) const;
    // Requests queued behind the outstanding one.
    std::size_t queued() const noexcept { return queue_.size(); }
    // Nothing outstanding and nothing queued.
    bool idle() const noexcept { return !state_.outstanding && queue_.empty(); }
    // The behaviour on top says when it has made all its requests.
    void set_done() noexcept { state_.done = true; }

    const BuyerState& state() const noexcept { return state_; }
    PeerId self() const noexcept { return self_; }
    std::optional<PeerId> trader() const noexcept { return trader_; }

private:
    void start_next(Time now);
    void send_outstanding(Time now);
    void complete(Purchase done);
    // Counts an answered request and keeps it, within options_.history.
    void keep(Purchase done);
    const std::string& product_name(market::ProductId product) const;

    PeerId self_;
    IdSource ids_;
    BuyerOptions options_;
    spdlog::logger& log_;
    SellsOwn sells_own_;

    BuyerState state_;
    std::deque<Purchase> queue_;
    std::optional<PeerId> trader_;
    std::optional<Time> deadline_;  // resend the outstanding request then
    bool stamped_ = false;          // the outstanding request's first attempt was sent
    // Since when the trader has answered trader_unavailable (logged once per spell).
    std::optional<Time> waiting_since_;
    Outbox outbox_;
};

}  // namespace tp::peer
