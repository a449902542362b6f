#pragma once

// The seller role as a sans-IO core: lots in, Deposit and PaymentAck messages and deadlines out.
// No restocking and no random choice here: the behaviour on top decides what to deposit and when
// (remaining() and sold_out() tell it when a lot is gone).

#include <spdlog/logger.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tp/market/types.hpp"
#include "tp/peer/config.hpp"
#include "tp/peer/outbox.hpp"
#include "tp/wire/message.hpp"

namespace tp::peer {

using Money = market::Money;

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

struct SellerOptions {
    Duration request_timeout = std::chrono::milliseconds(500);
    // For log lines only ("has 10 salt to sell ..."); a product without a name shows as "?".
    std::vector<std::string> product_names;

    static SellerOptions from(const Config& config);
};

// Deposits go to whoever is trader and are resent every request_timeout until acknowledged; a
// refused one takes its lot off sale. Every Payment is acknowledged (the ack may be what was
// lost), and each payment id counts once.
class Seller {
public:
    Seller(PeerId self, std::uint32_t incarnation, SellerOptions options, spdlog::logger& log);

    // A new lot, sent at once when a trader is known. (The vector clock's local event for it is
    // the caller's: the core holds no clock.)
    wire::LotId deposit(market::ProductId product, std::uint32_t quantity, Money unit_price,
                        Time now);
    // The trading partner changed: nullopt when none is known or this peer is the trader itself
    // (a trader never deposits with itself). Unacknowledged lots go to the new one at once.
    void on_trader(std::optional<PeerId> trader, Time now);
    // A message from the current trader in its epoch (the caller has checked that): DepositAck
    // and Payment; anything else is ignored.
    void on_message(PeerId from, const wire::Envelope& envelope, Time now);
    // Resends unacknowledged deposits once their timeout has passed.
    void on_tick(Time now);
    std::optional<Time> next_deadline() const;
    Outbox take_outbox();
    // The same, in place: the caller sends and clears it (no allocation per message).
    Outbox& outbox() noexcept { return outbox_; }

    const SellerState& state() const noexcept { return state_; }
    // Units still on sale, all lots (kept as lots change: asked on every wake of the behaviour).
    std::uint32_t remaining() const noexcept { return static_cast<std::uint32_t>(open_units_); }
    std::uint32_t remaining(market::ProductId product) const { return state_.remaining(product); }
    // Lots with nothing left on sale (sold to the last unit, or refused), in this life: grows by
    // one each time a lot closes, so the behaviour on top can wait for it.
    std::uint64_t sold_out() const noexcept { return sold_out_; }
    // Lot `id` as it stands, or null when never deposited here.
    const OwnLot* lot(wire::LotId id) const;
    // Some deposit waits for its acknowledgement (a count: asked after every message).
    bool has_unacked() const noexcept { return unacked_ > 0; }
    std::optional<PeerId> trader() const noexcept { return trader_; }
    PeerId self() const noexcept { return self_; }

private:
    void send_unacked(Time now);
    void on_deposit_ack(const wire::DepositAck& ack);
    void on_payment(PeerId from, const wire::Payment& payment);
    const std::string& product_name(market::ProductId product) const;
    // Lot `id`, found by its id (lots are in deposit order, and ids grow), or null.
    OwnLot* find_lot(wire::LotId id);

    PeerId self_;
    IdSource ids_;
    SellerOptions options_;
    spdlog::logger& log_;

    SellerState state_;
    std::uint64_t sold_out_ = 0;
    std::uint64_t unacked_ = 0;     // lots not yet acknowledged
    std::uint64_t open_units_ = 0;  // units of all lots still on sale
    std::optional<PeerId> trader_;
    std::optional<Time> deadline_;  // resend the unacknowledged deposits then
    Outbox outbox_;
};

}  // namespace tp::peer
