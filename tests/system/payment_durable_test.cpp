// A seller is paid only for a sale that is durable. The trader resends unacknowledged payments
// every 200 ms; it used to resend one whose sale was still waiting for its journal sync, so a
// crash before the sync left a seller paid for a sale the next trader never saw (found by the
// simulator: a sync slower than the resend interval, then the run's end; "seller 4 received 432
// but the books say it earned 405").
#include <boost/test/unit_test.hpp>

#include <map>
#include <variant>

#include "market_fixture.hpp"
#include "tp/market/events.hpp"

using namespace tp::system_test;
namespace market = tp::market;

namespace {

// Records, per payment id, the journal position of the sale that owes it, and the trader's
// durable position; flags a Payment that reaches its seller before its sale is durable.
struct DurablePayments : tp::peer::NodeObserver {
    std::map<market::PaymentId, std::uint64_t> sale_lsn;
    std::uint64_t durable = 0;
    std::uint64_t paid = 0;
    std::uint64_t paid_early = 0;

    void persisted(const tp::peer::Node&, tp::wire::Epoch, const market::Event& event,
                   std::uint64_t lsn) override {
        if (const auto* f = std::get_if<market::BuyFilled>(&event)) {
            for (const auto& fill : f->fills) sale_lsn[fill.payment] = lsn;
        }
    }
    void synced(const tp::peer::Node&, std::uint64_t lsn) override {
        durable = std::max(durable, lsn);
    }
    void received(const tp::peer::Node&, const tp::wire::Envelope& e) override {
        const auto* p = std::get_if<tp::wire::Payment>(&e.body);
        if (p == nullptr) return;
        ++paid;
        const auto it = sale_lsn.find(p->payment_id);
        if (it == sale_lsn.end() || it->second > durable) ++paid_early;
    }
};

}  // namespace

BOOST_AUTO_TEST_CASE(a_payment_never_leaves_before_its_sale_is_durable) {
    DurablePayments observer;
    tp::peer::MemoryJournalStore journal(1s);
    // Step 1: a market whose journal syncs take 1 s, five payment-resend intervals.
    Market m(
        TransportKind::memory, {Role::seller, Role::buyer, Role::buyer},
        [](tp::peer::Config& c) { c.storage.durability = tp::peer::Durability::group; },
        [&](tp::peer::LocalMarket& lm) {
            lm.context().journal_store = &journal;
            lm.context().observer = &observer;
        });
    BOOST_REQUIRE(m.settle_on(3));
    // Step 2: seller 1 deposits, buyer 2 buys: the sale waits a whole second for its sync.
    m.deposit(1, salt, 5, 10);
    const auto p = m.buy(2, salt, 2);
    BOOST_REQUIRE(p.filled);
    // Step 3: the seller is paid, and acknowledges.
    BOOST_REQUIRE(m.run_until([&] { return m.node(1).seller().earned == 18; }));
    BOOST_TEST(observer.paid >= 1u);
    // Every Payment the seller saw came after the journal held its sale durably.
    BOOST_TEST(observer.paid_early == 0u);
}
