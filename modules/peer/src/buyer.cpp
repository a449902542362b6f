#include "tp/peer/buyer.hpp"

#include <fmt/ranges.h>

#include <algorithm>
#include <utility>

#include "tp/peer/ids.hpp"

namespace tp::peer {

BuyerOptions BuyerOptions::from(const Config& config) {
    BuyerOptions options;
    options.request_timeout = config.behaviour.request_timeout;
    options.partial_fills = config.market.partial_fills;
    options.history = config.behaviour.purchase_history;
    for (const auto& p : config.market.products) options.product_names.push_back(p.name);
    return options;
}

Buyer::Buyer(PeerId self, std::uint32_t incarnation, BuyerOptions options, spdlog::logger& log,
             SellsOwn sells_own)
    : self_(self),
      ids_(incarnation),
      options_(std::move(options)),
      log_(log),
      sells_own_(std::move(sells_own)) {}

const std::string& Buyer::product_name(market::ProductId product) const {
    static const std::string unknown = "?";
    return product < options_.product_names.size() ? options_.product_names[product] : unknown;
}

wire::RequestId Buyer::buy(market::ProductId product, std::uint32_t quantity, Time now) {
    Purchase p;
    p.request = ids_.next();
    p.product = product;
    p.quantity = quantity;
    const auto id = p.request;
    queue_.push_back(std::move(p));
    if (!state_.outstanding) start_next(now);
    return id;
}

void Buyer::start_next(Time now) {
    while (!state_.outstanding && !queue_.empty()) {
        Purchase p = std::move(queue_.front());
        queue_.pop_front();
        p.sent = TimePoint(now);
        if (sells_own_ && sells_own_(p.product)) {
            // Never buy one's own lot: refused here, without asking the trader.
            p.answered_at = p.sent;
            p.answered = true;
            p.reason = wire::RefusalReason::invalid_request;
            log_.warn("will not buy {} it is selling itself", product_name(p.product));
            keep(std::move(p));
            continue;
        }
        state_.outstanding = std::move(p);
        ++state_.issued;
        stamped_ = false;
        deadline_.reset();
        send_outstanding(now);
    }
}

void Buyer::send_outstanding(Time now) {
    // Without a trader there is nothing to time out: on_trader sends it.
    if (!state_.outstanding || state_.outstanding->answered || !trader_) {
        deadline_.reset();
        return;
    }
    const Purchase& p = *state_.outstanding;
    ++state_.outstanding->attempts;
    // Built in place: moving a Body here trips GCC 12's -Wmaybe-uninitialized (sanitizer builds)
    // on the BuyResult alternative.
    Outgoing& out = outbox_.emplace_back();
    out.to = *trader_;
    out.body.emplace<wire::Buy>(p.request, p.product, p.quantity, options_.partial_fills);
    deadline_ = now + options_.request_timeout;
}

void Buyer::on_trader(std::optional<PeerId> trader, Time now) {
    if (trader == trader_) return;
    trader_ = trader;
    // Retry the same request id with whoever is trader now, at once.
    send_outstanding(now);
}

void Buyer::on_message(PeerId from, const wire::Envelope& envelope, Time now) {
    const auto* result = std::get_if<wire::BuyResult>(&envelope.body);
    if (result == nullptr) return;
    auto& out = state_.outstanding;
    if (!out || out->request != result->request_id || out->answered) return;  // late duplicate
    if (result->reason == wire::RefusalReason::trader_unavailable ||
        result->reason == wire::RefusalReason::no_quorum) {
        // Not an answer: the request did not run. Say why once, and retry on the timeout.
        if (!waiting_since_) {
            waiting_since_ = now;
            log_.warn("waiting: the trader, peer {}, {}; {} will be retried", from,
                      result->reason == wire::RefusalReason::no_quorum
                          ? "has no quorum of replicas to commit with (no_quorum)"
                          : "cannot serve yet (its books are not loaded)",
                      request_text(result->request_id));
        }
        return;
    }
    if (waiting_since_) {
        log_.info(
            "the trader answers again after {} ms",
            std::chrono::duration_cast<std::chrono::milliseconds>(now - *waiting_since_).count());
        waiting_since_.reset();
    }
    Purchase done = std::move(*out);
    out.reset();
    deadline_.reset();
    done.answered = true;
    done.filled = result->filled;
    done.reason = result->reason;
    done.bought = result->quantity;
    done.amount = result->amount;
    done.answered_at = TimePoint(now);
    done.epoch = envelope.epoch;
    done.trader = from;
    // One entry per lot sold: a seller with several lots in the sale is named once.
    for (const auto& f : result->fills) {
        if (std::find(done.sellers.begin(), done.sellers.end(), f.seller) == done.sellers.end())
            done.sellers.push_back(f.seller);
    }
    done.fills = result->fills;
    complete(std::move(done));
    start_next(now);
}

void Buyer::complete(Purchase done) {
    const auto& name = product_name(done.product);
    if (done.filled) {
        // "bought 3 fish from 2 for 27", or "from 2 and 5" when several sellers filled it.
        log_.info("bought {} {} from {} for {}", done.bought, name,
                  fmt::join(done.sellers, " and "), done.amount);
    } else {
        log_.info("could not buy {} {}: {}", done.quantity, name, wire::to_string(done.reason));
    }
    keep(std::move(done));
}

void Buyer::keep(Purchase done) {
    auto& t = state_.totals;
    if (done.filled) {
        ++t.filled;
        t.quantity += done.bought;
        if (auto sum = market::checked_add(t.spent, done.amount)) {
            t.spent = *sum;
        } else {
            state_.spent_overflow = true;
        }
    } else {
        ++t.refused;
    }
    // The newest is always kept: purchase(id) hands it to whoever waits for it.
    if (options_.history && state_.purchases.size() >= std::max<std::size_t>(*options_.history, 1))
        state_.purchases.pop_front();
    state_.purchases.push_back(std::move(done));
}

void Buyer::on_tick(Time now) {
    if (deadline_ && now >= *deadline_) send_outstanding(now);
}

std::optional<Time> Buyer::next_deadline() const {
    return deadline_;
}

Outbox Buyer::take_outbox() {
    return std::exchange(outbox_, {});
}

void Buyer::on_sent(const wire::Envelope& envelope) {
    const auto* buy = std::get_if<wire::Buy>(&envelope.body);
    if (buy == nullptr || stamped_ || !state_.outstanding ||
        state_.outstanding->request != buy->request_id) {
        return;
    }
    state_.outstanding->stamp = envelope.clock;
    stamped_ = true;
}

const Purchase* Buyer::purchase(wire::RequestId id) const {
    if (state_.outstanding && state_.outstanding->request == id) return &*state_.outstanding;
    for (const auto& p : queue_) {
        if (p.request == id) return &p;
    }
    for (auto it = state_.purchases.rbegin(); it != state_.purchases.rend(); ++it) {
        if (it->request == id) return &*it;
    }
    return nullptr;
}


}  // namespace tp::peer
