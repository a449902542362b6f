// The behaviours on top of the cores: the original lab's random buyer and seller, and the awaited
// calls (purchase, deposit_lot, wait_for_trader) that they, the tests and the benchmarks are
// written with. No protocol here: retries, resends and failovers are the cores'.
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include "node_reign.hpp"

namespace tp::peer {

// From outside any coroutine: the timer loop carries the Ready out.
void Node::buy(market::ProductId product, std::uint32_t quantity) {
    core_.buy(product, quantity, core_now());
    wake(core_timer_);
}

void Node::deposit(market::ProductId product, std::uint32_t quantity, Money unit_price) {
    core_.deposit(product, quantity, unit_price, core_now());
    wake(core_timer_);
}

void Node::leave(bool withdraw_lots) {
    if (stopped_) return;
    core_.leave(withdraw_lots, core_now());
    wake(core_timer_);
}

asio::awaitable<std::optional<Purchase>> Node::purchase(market::ProductId product,
                                                        std::uint32_t quantity) {
    if (stopped_) co_return std::nullopt;
    const auto id = core_.buy(product, quantity, core_now());
    if (!carry_out_now()) co_await flush();
    const auto answered = [&] {
        const Purchase* p = core_.buyer().purchase(id);
        return p != nullptr && p->answered;
    };
    co_await wait_until(buyer_timer_, runtime::never, [&] { return stopped_ || answered(); });
    if (!answered()) co_return std::nullopt;
    co_return *core_.buyer().purchase(id);
}

asio::awaitable<std::optional<OwnLot>> Node::deposit_lot(market::ProductId product,
                                                         std::uint32_t quantity,
                                                         Money unit_price) {
    if (stopped_) co_return std::nullopt;
    const auto id = core_.deposit(product, quantity, unit_price, core_now());
    if (!carry_out_now()) co_await flush();
    const auto acked = [&] {
        const OwnLot* lot = core_.seller().lot(id);
        return lot != nullptr && lot->acked;
    };
    co_await wait_until(seller_timer_, runtime::never, [&] { return stopped_ || acked(); });
    if (!acked()) co_return std::nullopt;
    co_return *core_.seller().lot(id);
}

asio::awaitable<bool> Node::wait_for_trader() {
    co_await wait_until(buyer_timer_, runtime::never,
                        [&] { return stopped_ || core_.trading_partner().has_value(); });
    co_return !stopped_;
}

// The original lab's random buyer and seller, as the configuration asks (none when scripted);
// then nothing, until the life ends.
asio::awaitable<void> Node::behaviours() {
    using namespace asio::experimental::awaitable_operators;
    if (!context_.scripted) {
        if (is_buyer() && is_seller()) {
            co_await (buyer_behaviour() && seller_behaviour());
        } else if (is_buyer()) {
            co_await buyer_behaviour();
        } else if (is_seller()) {
            co_await seller_behaviour();
        }
    }
    throw_if_cancelled(co_await asio::this_coro::cancellation_state);
    runtime::Timer forever(context_.runtime);
    forever.expires_at(runtime::never);
    co_await forever.async_wait(asio::use_awaitable);  // throws when cancelled
}

// The original lab's buyer: thinks, then with buy_probability asks for a random quantity of a
// random product (never one it sells itself), until it has made max_transactions requests.
asio::awaitable<void> Node::buyer_behaviour() {
    const auto& behaviour = config_.behaviour;
    const auto products = config_.market.products.size();
    while (core_.buyer().state().issued < behaviour.max_transactions) {
        co_await pause(buyer_timer_, behaviour.think_time);
        if (!rng_.bernoulli(behaviour.buy_probability)) continue;
        const auto product = static_cast<market::ProductId>(rng_.uniform_int(0, products - 1));
        // Its view is conservative: a lot counts until it is paid for.
        if (is_seller() && core_.seller().remaining(product) > 0) continue;
        const auto quantity =
            static_cast<std::uint32_t>(rng_.uniform_int(1, behaviour.max_buy_quantity));
        if (!co_await purchase(product, quantity)) co_return;  // the node failed
    }
    core_.buyer().set_done();
    if (context_.on_buyer_done) context_.on_buyer_done(id());
}

void Node::deposit_new_lot(bool another_product) {
    const auto products = config_.market.products.size();
    auto product = static_cast<market::ProductId>(rng_.uniform_int(0, products - 1));
    const auto& lots = core_.seller().state().lots;
    if (another_product && products > 1 && !lots.empty()) {
        // "Picks another product": any but the one it just sold out of.
        const auto last = lots.back().product;
        product = static_cast<market::ProductId>(rng_.uniform_int(0, products - 2));
        if (product >= last) ++product;
    }
    core_.deposit(product, config_.market.seller_stock, config_.market.products[product].price,
                  core_now());
}

// The original lab's seller: deposits a lot; when its stock reaches zero, picks another product
// and deposits it; every restock interval, with update_inventory_probability, deposits more.
// Only while a trader takes its deposits (and none waits for an ack): the core resends those.
asio::awaitable<void> Node::seller_behaviour() {
    const auto& behaviour = config_.behaviour;
    const Seller& seller = core_.seller();
    const auto can_trade = [&] {
        return core_.trading_partner().has_value() && !seller.has_unacked();
    };
    deposit_new_lot(false);
    if (!carry_out_now()) co_await flush();
    TimePoint next_restock = now() + behaviour.restock_interval;
    for (;;) {
        if (!can_trade()) {
            co_await wait_until(seller_timer_, runtime::never, can_trade);
            continue;
        }
        // Wake for: selling out, the restock time, or losing the trader.
        co_await wait_until(seller_timer_, std::max(next_restock, now()),
                            [&] { return !can_trade() || seller.remaining() == 0; });
        if (!can_trade()) continue;
        if (seller.remaining() == 0) {
            deposit_new_lot(true);
            next_restock = now() + behaviour.restock_interval;
            if (!carry_out_now()) co_await flush();
        } else if (now() >= next_restock) {
            next_restock = now() + behaviour.restock_interval;
            if (rng_.bernoulli(behaviour.update_inventory_probability)) {
                deposit_new_lot(false);
                if (!carry_out_now()) co_await flush();
            }
        }
    }
}

}  // namespace tp::peer
