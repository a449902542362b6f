// A buying strategy written on the awaited calls (the README's example), with no protocol code:
// retries, resends and failovers are the cores'.
#include <boost/test/unit_test.hpp>

#include <asio/co_spawn.hpp>

#include <optional>

#include "market_fixture.hpp"

using namespace tp::system_test;

namespace {

// A bargain hunter: buys one salt at a time while each costs at most `limit`, then stops.
asio::awaitable<int> bargain_hunter(tp::peer::Node& me, tp::market::Money limit) {
    co_await me.wait_for_trader();
    int bought = 0;
    // Each purchase is answered once, through retries and failovers (empty if `me` stops).
    while (auto p = co_await me.purchase(salt, 1)) {
        if (!p->filled || p->amount > limit) break;
        ++bought;
    }
    co_return bought;
}

}  // namespace

TP_ON_EVERY_TRANSPORT(a_strategy_of_a_dozen_lines_trades_through_the_awaited_calls) {
    Market m(kind, {Role::seller, Role::buyer, Role::buyer});
    BOOST_REQUIRE(m.settle_on(3));
    // Step 1: seller 1 has 5 salt on sale at 3 each.
    m.deposit(1, salt, 5, 3);
    // Step 2: buyer 2 hunts bargains at up to 3 a unit: it buys all 5, then is refused.
    std::optional<int> bought;
    asio::co_spawn(m.runtime().get_executor(), bargain_hunter(m.node(2), 3),
                   [&](std::exception_ptr e, int n) {
                       if (e) std::rethrow_exception(e);
                       bought = n;
                   });
    BOOST_REQUIRE(m.run_until([&] { return bought.has_value(); }));
    BOOST_TEST(*bought == 5);
    BOOST_TEST(m.books().in_stock(salt) == 0u);
    // The seller is paid for all 5, less the commission.
    BOOST_REQUIRE(m.run_until([&] { return m.node(1).seller().sold == 5; }));
}
