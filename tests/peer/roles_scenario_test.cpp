// The seed's trading cases, played on the Buyer and Seller cores with the test as the trader and
// the network: what each peer sends, and what it knows afterwards.
#include <boost/test/unit_test.hpp>

#include "role_script.hpp"
#include "tp/peer/buyer.hpp"
#include "tp/peer/seller.hpp"

using namespace role_script;
using tp::peer::Buyer;
using tp::peer::BuyerOptions;
using tp::peer::Outbox;
using tp::peer::PeerId;
using tp::peer::Seller;
using tp::peer::SellerOptions;
namespace wire = tp::wire;

namespace {

constexpr tp::market::ProductId salt = 0;
constexpr tp::market::ProductId fish = 2;

BuyerOptions buyer_options() {
    BuyerOptions o;
    o.product_names = {"salt", "boar", "fish"};
    return o;
}

SellerOptions seller_options() {
    SellerOptions o;
    o.product_names = {"salt", "boar", "fish"};
    return o;
}

// The one message of `out`, which must go to `to`.
template <typename T>
T only(const Outbox& out, PeerId to) {
    BOOST_TEST_REQUIRE(out.size() == 1u);
    BOOST_TEST(out.front().to == to);
    const auto* m = std::get_if<T>(&out.front().body);
    BOOST_TEST_REQUIRE(m != nullptr);
    return *m;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(role_scenarios)

// Peer 1 sells, peer 2 buys, peer 3 is trader (TC_01, TC_02).
BOOST_AUTO_TEST_CASE(a_seller_deposits_a_buyer_buys_the_seller_is_paid) {
    CapturedLog seller_log, buyer_log;
    Seller seller(1, 1, seller_options(), *seller_log.logger);
    Buyer buyer(2, 1, buyer_options(), *buyer_log.logger);
    // Peer 3 is elected; both peers know it.
    seller.on_trader(3, ms(0));
    buyer.on_trader(3, ms(0));
    // Seller 1 puts 10 salt up for sale at 10 each; the trader accepts the lot.
    const auto lot = seller.deposit(salt, 10, 10, ms(10));
    const auto deposit = only<wire::Deposit>(seller.take_outbox(), 3);
    BOOST_TEST((deposit == wire::Deposit{lot, salt, 10, 10}));
    seller.on_message(3, from_trader(3, 1, wire::DepositAck{lot, true, {}}), ms(20));
    // Buyer 2 asks for all 10.
    const auto request = buyer.buy(salt, 10, ms(30));
    const auto buy = only<wire::Buy>(buyer.take_outbox(), 3);
    BOOST_TEST(buy.request_id == request);
    // The trader fills it from seller 1's lot for 100...
    wire::BuyResult result;
    result.request_id = request;
    result.filled = true;
    result.quantity = 10;
    result.amount = 100;
    result.fills.push_back(wire::Fill{1, lot, 10, 100});
    buyer.on_message(3, from_trader(3, 2, result), ms(40));
    BOOST_TEST(buyer_log.count("info: bought 10 salt from 1 for 100") == 1u);
    BOOST_TEST(buyer.idle());
    // ...keeps 10% and pays the seller 90, who acknowledges it.
    seller.on_message(3, from_trader(3, 1, wire::Payment{7, lot, 10, 90}), ms(50));
    BOOST_TEST((only<wire::PaymentAck>(seller.take_outbox(), 3) == wire::PaymentAck{7}));
    BOOST_TEST(seller.state().earned == 90);
    BOOST_TEST(seller.remaining() == 0u);
    BOOST_TEST(seller.sold_out() == 1u);
    // Nothing is left to resend or wait for.
    BOOST_TEST(!seller.next_deadline());
    BOOST_TEST(!buyer.next_deadline());
}

// Peer 1 both sells salt and buys: it never buys salt while it has some on sale (the seed's case
// of a buyer that is also a seller), and may once its own salt is gone.
BOOST_AUTO_TEST_CASE(a_peer_that_sells_salt_buys_salt_only_once_its_own_is_gone) {
    CapturedLog log;
    Seller seller(1, 1, seller_options(), *log.logger);
    Buyer buyer(1, 1, buyer_options(), *log.logger,
                [&seller](tp::market::ProductId p) { return seller.remaining(p) > 0; });
    seller.on_trader(3, ms(0));
    buyer.on_trader(3, ms(0));
    // It deposits 2 salt, acknowledged.
    const auto lot = seller.deposit(salt, 2, 5, ms(0));
    seller.take_outbox();
    seller.on_message(3, from_trader(3, 1, wire::DepositAck{lot, true, {}}), ms(10));
    // Asked for salt: refused at home, nothing goes to the trader.
    buyer.buy(salt, 1, ms(20));
    BOOST_TEST(buyer.take_outbox().empty());
    BOOST_TEST(log.count("warning: will not buy salt it is selling itself") == 1u);
    // Fish is someone else's: asked for.
    buyer.buy(fish, 1, ms(30));
    BOOST_TEST(only<wire::Buy>(buyer.take_outbox(), 3).product == fish);
    wire::BuyResult none;
    none.request_id = buyer.state().outstanding->request;
    none.reason = wire::RefusalReason::no_seller;
    buyer.on_message(3, from_trader(3, 1, none), ms(40));
    BOOST_TEST(buyer.idle());
    // Its salt sells out...
    seller.on_message(3, from_trader(3, 1, wire::Payment{1, lot, 2, 9}), ms(50));
    BOOST_TEST(seller.remaining(salt) == 0u);
    // ...so now it may buy salt like anyone else.
    const auto request = buyer.buy(salt, 1, ms(60));
    BOOST_TEST(only<wire::Buy>(buyer.take_outbox(), 3).request_id == request);
}

BOOST_AUTO_TEST_SUITE_END()
