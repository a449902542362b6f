// The books' invariants: goods and money conserved, every request executed once, the pending
// payments matching the ledgers. Every sum is exact (128-bit): a total that has left the range of
// its type is reported, never wrapped into agreement.
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "books_internal.hpp"
#include "tp/market/books.hpp"
#include "wide.hpp"

namespace tp::market {

namespace {

using detail::Int128;
using detail::key_text;

std::string text(Int128 v) {
    return detail::to_string(v);
}

// What a buyer's session holds, summed without wrapping.
struct ExactTotals {
    std::uint64_t filled = 0;
    std::uint64_t refused = 0;
    Int128 quantity = 0;
    Int128 spent = 0;
};

}  // namespace

std::vector<std::string> Books::check_invariants() const {
    std::vector<std::string> bad;
    auto fail = [&](std::string s) { bad.push_back(std::move(s)); };

    // Goods: per product, deposited = in stock + sold + withdrawn, and the lots add up.
    std::map<ProductId, Int128> seen_per_product;
    for (const auto& [key, d] : lots_seen_) {
        if (key.peer != d.seller || key.id != d.lot)
            fail(key_text("lot record", key.peer, key.id) + " filed under the wrong key");
        if (DepositError e = detail::validate_deposit(d); e != DepositError::none)
            fail(key_text("lot", d.seller, d.lot) + ": deposit out of range (" + to_string(e) +
                 ")");
        seen_per_product[d.product] += d.quantity;
    }
    for (const auto& [id, book] : products_) {
        const std::string p = "product " + std::to_string(id);
        if (Int128{book.deposited} != Int128{book.in_stock} + book.sold + book.withdrawn)
            fail(p + ": deposited " + std::to_string(book.deposited) + " != in stock " +
                 std::to_string(book.in_stock) + " + sold " + std::to_string(book.sold) +
                 " + withdrawn " + std::to_string(book.withdrawn));
        Int128 stock = 0;
        for (const Lot& lot : book.lots) {
            if (lot.remaining == 0)
                fail(p + ": empty " + key_text("lot", lot.seller, lot.id) + " kept in stock");
            auto it = lots_seen_.find(PeerKey{lot.seller, lot.id});
            if (it == lots_seen_.end())
                fail(p + ": " + key_text("lot", lot.seller, lot.id) + " never deposited");
            else if (it->second.product != id || lot.remaining > it->second.quantity ||
                     lot.unit_price != it->second.unit_price)
                fail(p + ": " + key_text("lot", lot.seller, lot.id) + " differs from its deposit");
            stock += lot.remaining;
        }
        if (stock != book.in_stock)
            fail(p + ": lots hold " + text(stock) + ", in stock says " +
                 std::to_string(book.in_stock));
        if (seen_per_product[id] != book.deposited)
            fail(p + ": deposits add up to " + text(seen_per_product[id]) + ", deposited says " +
                 std::to_string(book.deposited));
    }
    for (const auto& [id, q] : seen_per_product)
        if (!products_.contains(id))
            fail("product " + std::to_string(id) + " deposited but unknown");

    // Requests: executions match the buyer totals, which match the goods sold. Only the buyers'
    // sessions keep answers, so each session is checked against its buyer's totals, which must
    // include it.
    Int128 filled_total = 0, bought = 0, answered = 0;
    for (const auto& [buyer, t] : buyers_) {
        answered += Int128{t.filled} + t.refused;
        const std::string b = "buyer " + std::to_string(buyer);
        if (t.spent < 0) fail(b + ": spent " + std::to_string(t.spent) + " out of range");
        if (t.quantity < t.filled)
            fail(b + ": " + std::to_string(t.filled) + " requests filled with only " +
                 std::to_string(t.quantity) + " units");
        filled_total += t.filled;
        bought += t.quantity;
    }
    if (answered != answered_)
        fail("requests answered " + std::to_string(answered_) + ", buyer totals add up to " +
             text(answered));
    if (filled_total != executions_)
        fail("requests executed " + std::to_string(executions_) + " times for " +
             text(filled_total) + " filled requests");
    for (const auto& [buyer, session] : sessions_) {
        if (session.answers.empty()) {
            fail("buyer " + std::to_string(buyer) + ": an empty session");
            continue;
        }
        ExactTotals in_session;
        RequestId previous = 0;
        for (const BuyResult& r : session.answers) {
            const std::string req = key_text("request", buyer, r.request);
            if (&r != &session.answers.front() && r.request <= previous)
                fail(req + ": session answers out of order");
            previous = r.request;
            if (r.buyer != buyer) fail(req + " filed under the wrong buyer");
            if (r.filled()) {
                ++in_session.filled;
                in_session.quantity += r.quantity;
                in_session.spent += r.amount;
                if (r.quantity == 0 || r.quantity > r.requested)
                    fail(req + ": filled " + std::to_string(r.quantity) + " of " +
                         std::to_string(r.requested));
                if (r.amount < 0)
                    fail(req + ": amount " + std::to_string(r.amount) + " out of range");
            } else {
                ++in_session.refused;
                if (r.quantity != 0 || r.amount != 0) fail(req + ": refused yet sold goods");
            }
        }
        const auto it = buyers_.find(buyer);
        const BuyerTotals t = it == buyers_.end() ? BuyerTotals{} : it->second;
        if (in_session.filled > t.filled || in_session.refused > t.refused ||
            in_session.quantity > t.quantity || in_session.spent > t.spent)
            fail("buyer " + std::to_string(buyer) + ": the session holds more than the totals (" +
                 std::to_string(t.filled) + " filled, " + std::to_string(t.refused) + " refused, " +
                 std::to_string(t.quantity) + " units, spent " + std::to_string(t.spent) + ")");
    }
    for (const auto& q : queued_)
        if (result(q.buyer, q.request))
            fail(key_text("request", q.buyer, q.request) + " queued and answered");

    // Money: paid by buyers = paid to sellers + commission.
    Int128 spent = 0, earned = 0, commission = 0, seller_sold = 0, product_sold = 0;
    for (const auto& [buyer, t] : buyers_) spent += t.spent;
    for (const auto& [seller, l] : sellers_) {
        earned += l.earned;
        commission += l.commission;
        seller_sold += l.sold;
        if (l.earned < 0 || l.commission < 0 || l.pending < 0 || l.pending > l.earned)
            fail("seller " + std::to_string(seller) + ": ledger out of range (earned " +
                 std::to_string(l.earned) + ", commission " + std::to_string(l.commission) +
                 ", pending " + std::to_string(l.pending) + ")");
    }
    for (const auto& [id, book] : products_) product_sold += book.sold;
    if (commission_total_ < 0)
        fail("commission total " + std::to_string(commission_total_) + " out of range");
    if (spent != earned + commission)
        fail("money: buyers paid " + text(spent) + " != sellers earned " + text(earned) +
             " + commission " + text(commission));
    if (commission != commission_total_)
        fail("commission total " + std::to_string(commission_total_) + " != sum over sellers " +
             text(commission));
    if (seller_sold != product_sold)
        fail("sellers sold " + text(seller_sold) + " units, products " + text(product_sold));
    if (bought != product_sold)
        fail("buyers bought " + text(bought) + " units, products sold " + text(product_sold));

    // Payments: the pending list matches the ledgers.
    std::map<PeerId, std::pair<Int128, std::uint64_t>> pending;
    std::size_t count = 0;
    payments_.for_each([&](const Payment& p) {
        ++count;
        auto& [amount, n] = pending[p.seller];
        amount += p.amount;
        ++n;
        if (p.amount < 0 || p.quantity == 0)
            fail("payment " + std::to_string(p.id) + ": out of range");
        if (p.id >= payments_.next_id())
            fail("payment " + std::to_string(p.id) + ": id not yet issued");
        if (!sellers_.contains(p.seller))
            fail("payment " + std::to_string(p.id) + ": unknown seller");
    });
    if (count != payments_.pending_count()) fail("payments: pending count is off");
    for (const auto& [seller, l] : sellers_) {
        const auto it = pending.find(seller);
        const auto expect =
            it == pending.end() ? std::pair<Int128, std::uint64_t>{0, 0} : it->second;
        if (l.pending != expect.first || l.pending_count != expect.second)
            fail("seller " + std::to_string(seller) + ": pending " + std::to_string(l.pending) +
                 " in " + std::to_string(l.pending_count) + " payments, list has " +
                 text(expect.first) + " in " + std::to_string(expect.second));
    }
    return bad;
}

}  // namespace tp::market
