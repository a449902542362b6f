#include "tp/peer/seller.hpp"

#include <algorithm>
#include <limits>
#include <utility>

#include "tp/peer/ids.hpp"

namespace tp::peer {

namespace {

std::uint32_t left(const OwnLot& lot) {
    return lot.quantity - std::min(lot.sold, lot.quantity);
}

// Lot `id` of `lots` (in deposit order, and ids grow), or null. A long run deposits thousands of
// lots: a scan per message was a tenth of its time.
template <typename Lots>
auto* find_in(Lots& lots, wire::LotId id) {
    const auto it = std::lower_bound(lots.begin(), lots.end(), id,
                                     [](const OwnLot& l, wire::LotId v) { return l.id < v; });
    return it != lots.end() && it->id == id ? &*it : nullptr;
}

}  // namespace

std::uint32_t SellerState::remaining() const {
    std::uint32_t total = 0;
    for (const auto& lot : lots) total += left(lot);
    return total;
}

std::uint32_t SellerState::remaining(market::ProductId product) const {
    std::uint32_t total = 0;
    for (const auto& lot : lots) {
        if (lot.product == product) total += left(lot);
    }
    return total;
}

SellerOptions SellerOptions::from(const Config& config) {
    SellerOptions options;
    options.request_timeout = config.behaviour.request_timeout;
    for (const auto& p : config.market.products) options.product_names.push_back(p.name);
    return options;
}

Seller::Seller(PeerId self, std::uint32_t incarnation, SellerOptions options, spdlog::logger& log)
    : self_(self), ids_(incarnation), options_(std::move(options)), log_(log) {}

const std::string& Seller::product_name(market::ProductId product) const {
    static const std::string unknown = "?";
    return product < options_.product_names.size() ? options_.product_names[product] : unknown;
}

const OwnLot* Seller::lot(wire::LotId id) const {
    return find_in(state_.lots, id);
}

OwnLot* Seller::find_lot(wire::LotId id) {
    return find_in(state_.lots, id);
}

wire::LotId Seller::deposit(market::ProductId product, std::uint32_t quantity, Money unit_price,
                            Time now) {
    OwnLot lot;
    lot.id = ids_.next();
    lot.product = product;
    lot.quantity = quantity;
    lot.unit_price = unit_price;
    state_.lots.push_back(lot);
    ++unacked_;
    open_units_ += left(lot);
    // Said without a receiver: a seller that is the trader holds the lot until another trader
    // is elected (it never deposits with itself).
    log_.info("has {} {} to sell at {} each ({})", lot.quantity, product_name(product),
              lot.unit_price, lot_text(lot.id));
    if (trader_) {
        push(outbox_, *trader_, wire::Deposit{lot.id, lot.product, lot.quantity, lot.unit_price});
        // Earlier unacknowledged lots keep their own schedule; this one joins it.
        if (!deadline_) deadline_ = now + options_.request_timeout;
    }
    return lot.id;
}

void Seller::send_unacked(Time now) {
    deadline_.reset();
    if (!trader_ || !has_unacked()) return;
    for (const auto& lot : state_.lots) {
        if (lot.acked) continue;
        push(outbox_, *trader_, wire::Deposit{lot.id, lot.product, lot.quantity, lot.unit_price});
    }
    deadline_ = now + options_.request_timeout;
}

void Seller::on_trader(std::optional<PeerId> trader, Time now) {
    if (trader == trader_) return;
    trader_ = trader;
    send_unacked(now);
}

void Seller::on_message(PeerId from, const wire::Envelope& envelope, Time /*now*/) {
    if (const auto* ack = std::get_if<wire::DepositAck>(&envelope.body)) {
        on_deposit_ack(*ack);
    } else if (const auto* payment = std::get_if<wire::Payment>(&envelope.body)) {
        on_payment(from, *payment);
    } else if (const auto* payments = std::get_if<wire::Payments>(&envelope.body)) {
        // Each as if it came alone; their acks travel back together (PeerCore gathers them).
        for (const wire::Payment& p : payments->items) on_payment(from, p);
    }
    if (!has_unacked()) deadline_.reset();
}

void Seller::on_deposit_ack(const wire::DepositAck& ack) {
    OwnLot* lot = find_lot(ack.lot_id);
    // A duplicate ack changes nothing (and says nothing twice).
    if (lot == nullptr || lot->acked) return;
    // The trader is elected but cannot serve yet, or cannot commit: the deposit did not happen;
    // resend later.
    if (ack.reason == wire::RefusalReason::trader_unavailable ||
        ack.reason == wire::RefusalReason::no_quorum) {
        return;
    }
    if (!ack.accepted) {
        log_.warn("the trader refused {}: {}", lot_text(ack.lot_id), wire::to_string(ack.reason));
        if (left(*lot) > 0) ++sold_out_;
        open_units_ -= left(*lot);
        lot->quantity = lot->sold;  // nothing of it is on sale
    } else {
        log_.info("the trader holds {} for sale", lot_text(ack.lot_id));
    }
    lot->acked = true;
    --unacked_;
}

void Seller::on_payment(PeerId from, const wire::Payment& payment) {
    if (state_.payments.emplace(payment.payment_id, payment.amount).second) {
        if (auto earned = market::checked_add(state_.earned, payment.amount)) {
            state_.earned = *earned;
        } else {
            log_.error("payment {} of {} would overflow the earnings ({}): not counted",
                       payment.payment_id, payment.amount, state_.earned);
        }
        state_.sold += payment.quantity;
        if (OwnLot* lot = find_lot(payment.lot_id)) {
            const std::uint32_t before = left(*lot);
            // Saturates: a trader cannot wrap a lot back onto sale.
            lot->sold = static_cast<std::uint32_t>(
                std::min<std::uint64_t>(std::uint64_t{lot->sold} + payment.quantity,
                                        std::numeric_limits<std::uint32_t>::max()));
            open_units_ -= before - left(*lot);
            if (before > 0 && left(*lot) == 0) ++sold_out_;
        }
        log_.info("was paid {} for {} of {}", payment.amount, plural(payment.quantity, "unit"),
                  lot_text(payment.lot_id));
    }
    // Always acknowledge: the ack may be what was lost.
    push(outbox_, from, wire::PaymentAck{payment.payment_id});
}

void Seller::on_tick(Time now) {
    if (deadline_ && now >= *deadline_) send_unacked(now);
}

std::optional<Time> Seller::next_deadline() const {
    return deadline_;
}

Outbox Seller::take_outbox() {
    return std::exchange(outbox_, {});
}

}  // namespace tp::peer
