#include "tp/market/books.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string>

#include "books_internal.hpp"
#include "tp/mutant/mutant.hpp"
#include "wide.hpp"

namespace tp::market {

namespace {

using detail::Int128;
using detail::key_text;
using detail::money_max;
using detail::validate_deposit;

using detail::inconsistent;
using detail::internal_error;
using detail::invalid;

}  // namespace

// ---------------------------------------------------------------------------------------------
// PaymentQueue

auto PaymentQueue::slot(PaymentId id) const noexcept -> const Slot* {
    if (slots_.empty() || id < slots_.front().payment.id || id >= next_id_) return nullptr;
    // Usually contiguous: try the direct index first.
    const PaymentId offset = id - slots_.front().payment.id;
    if (offset < slots_.size() && slots_[static_cast<std::size_t>(offset)].payment.id == id)
        return &slots_[static_cast<std::size_t>(offset)];
    auto it = std::lower_bound(slots_.begin(), slots_.end(), id,
                               [](const Slot& s, PaymentId v) { return s.payment.id < v; });
    return it != slots_.end() && it->payment.id == id ? &*it : nullptr;
}

const Payment* PaymentQueue::find(PaymentId id) const noexcept {
    const Slot* s = slot(id);
    return s && s->pending ? &s->payment : nullptr;
}

void PaymentQueue::push(const Payment& payment) {
    if (payment.id != next_id_) throw std::logic_error("PaymentQueue::push: id out of sequence");
    slots_.push_back(Slot{payment, true});
    ++next_id_;
    ++pending_;
}

bool PaymentQueue::ack(PaymentId id) {
    Slot* s = const_cast<Slot*>(slot(id));
    if (!s || !s->pending) return false;
    s->pending = false;
    --pending_;
    while (!slots_.empty() && !slots_.front().pending) slots_.pop_front();
    return true;
}

std::vector<Payment> PaymentQueue::pending() const {
    std::vector<Payment> out;
    out.reserve(pending_);
    for_each([&](const Payment& p) { out.push_back(p); });
    return out;
}

bool PaymentQueue::restore(const Payment& payment) {
    if (payment.id == 0) return false;  // ids start at 1
    if (!slots_.empty() && payment.id <= slots_.back().payment.id) return false;
    slots_.push_back(Slot{payment, true});
    next_id_ = payment.id + 1;
    ++pending_;
    return true;
}

bool PaymentQueue::set_next_id(PaymentId next_id) {
    if (!slots_.empty() && next_id <= slots_.back().payment.id) return false;
    next_id_ = next_id;
    return true;
}

bool operator==(const PaymentQueue& a, const PaymentQueue& b) {
    if (a.next_id_ != b.next_id_ || a.pending_ != b.pending_) return false;
    auto ia = a.slots_.begin();
    auto ib = b.slots_.begin();
    for (;;) {
        while (ia != a.slots_.end() && !ia->pending) ++ia;
        while (ib != b.slots_.end() && !ib->pending) ++ib;
        if (ia == a.slots_.end() || ib == b.slots_.end())
            return ia == a.slots_.end() && ib == b.slots_.end();
        if (!(ia->payment == ib->payment)) return false;
        ++ia;
        ++ib;
    }
}

// ---------------------------------------------------------------------------------------------
// Books: construction and queries

Books::Books(Config config) : config_(std::move(config)), membership_(config_.founders) {
    if (config_.commission_ppm > ppm_one)
        throw std::invalid_argument("tp::market::Config: commission_ppm " +
                                    std::to_string(config_.commission_ppm) +
                                    " is above 1000000 (100%)");
    if (config_.batch_window.count() < 0)
        throw std::invalid_argument("tp::market::Config: negative batch_window");
}

const ProductBook* Books::product(ProductId product) const noexcept {
    auto it = products_.find(product);
    return it == products_.end() ? nullptr : &it->second;
}

std::uint64_t Books::in_stock(ProductId product) const noexcept {
    const ProductBook* book = this->product(product);
    return book ? book->in_stock : 0;
}

SellerLedger Books::seller(PeerId seller) const {
    auto it = sellers_.find(seller);
    return it == sellers_.end() ? SellerLedger{} : it->second;
}

BuyerTotals Books::buyer(PeerId buyer) const {
    auto it = buyers_.find(buyer);
    return it == buyers_.end() ? BuyerTotals{} : it->second;
}

std::optional<TimePoint> Books::next_deadline() const noexcept {
    if (queued_.empty()) return std::nullopt;
    if (unscheduled_) return TimePoint::min();
    std::optional<TimePoint> earliest;
    for (const auto& [batch, close] : deadlines_)
        if (!earliest || close < *earliest) earliest = close;
    return earliest;
}

std::optional<TimePoint> Books::batch_deadline(std::uint64_t batch) const noexcept {
    auto it = deadlines_.find(batch);
    return it == deadlines_.end() ? std::nullopt : std::optional<TimePoint>(it->second);
}

void Books::resume(TimePoint now) {
    if (!unscheduled_) return;
    unscheduled_ = false;
    for (const auto& q : queued_) {
        TimePoint close = now + config_.batch_window;
        // Trusts the deadline the old trader journalled, on the old trader's clock.
        if (TP_MUTANT(process_time_in_books))
            close = TimePoint(Duration(q.batch_close_ns_deprecated));
        deadlines_.try_emplace(q.batch, close);  // a batch that has a deadline keeps it
    }
}

std::vector<BuyQueued>::iterator Books::find_queued(PeerKey key) noexcept {
    return std::find_if(queued_.begin(), queued_.end(), [&](const BuyQueued& q) {
        return q.buyer == key.peer && q.request == key.id;
    });
}

bool operator==(const Books& a, const Books& b) {
    return a.products_ == b.products_ && a.lots_seen_ == b.lots_seen_ && a.sellers_ == b.sellers_ &&
           a.buyers_ == b.buyers_ && a.commission_total_ == b.commission_total_ &&
           a.payments_ == b.payments_ && a.sessions_ == b.sessions_ && a.queued_ == b.queued_ &&
           a.next_batch_ == b.next_batch_ && a.executions_ == b.executions_ &&
           a.membership_ == b.membership_;
}

// ---------------------------------------------------------------------------------------------
// Commands

void Books::deposit(const Deposited& d, Step& out) {
    DepositAck ack{d.seller, d.lot, DepositStatus::accepted, DepositError::none};
    if (auto it = lots_seen_.find(PeerKey{d.seller, d.lot}); it != lots_seen_.end()) {
        if (it->second == d) {
            ack.status = DepositStatus::duplicate;
        } else {
            ack.status = DepositStatus::rejected;
            ack.error = DepositError::conflicting_duplicate;
        }
        out.outputs.emplace_back(ack);
        return;
    }
    DepositError e = validate_deposit(d);
    // The product's unit counts must stay in range too (only after 2^32 full lots, but checked).
    if (const ProductBook* book = product(d.product);
        e == DepositError::none && book && book->deposited > UINT64_MAX - d.quantity)
        e = DepositError::too_large;
    if (e != DepositError::none) {
        ack.status = DepositStatus::rejected;
        ack.error = e;
        out.outputs.emplace_back(ack);
        return;
    }
    const Event& event = out.events.emplace_back(d);
    if (Status s = apply(event); !s) internal_error(s.error());
    out.outputs.emplace_back(ack);
}

Step Books::deposit(PeerId seller, LotId lot, ProductId product, Quantity quantity,
                    Money unit_price) {
    Step out;
    deposit(Deposited{seller, lot, product, quantity, unit_price}, out);
    return out;
}

void Books::submit_buy(const BuyRequest& r, const clock::VectorClock& stamp, TimePoint now,
                       Step& out) {
    const PeerKey key{r.buyer, r.request};
    if (TP_MUTANT(skip_dedup)) sessions_.erase(r.buyer);  // forgets the answers: a retry runs again
    if (const BuyResult* answer = result(r.buyer, r.request)) {
        out.outputs.emplace_back(*answer);  // a retry: the recorded answer, nothing changes
        return;
    }
    if (find_queued(key) != queued_.end()) return;  // already waiting in a batch
    if (stale(key)) {
        out.outputs.emplace_back(stale_refusal(r));  // answered before: never executes again
        return;
    }
    resume(now);

    const bool on_arrival = config_.batch_window.count() == 0;
    // Requests inherited from a trader that batched go first, in their order.
    if (on_arrival && !queued_.empty()) poll(now, out);
    if (on_arrival && queued_.empty()) {
        execute(r, out);
        return;
    }
    // Join the open batch, or open one that closes a window from now.
    std::uint64_t batch = next_batch_;
    TimePoint close = now + config_.batch_window;
    if (!queued_.empty()) {
        const auto open = deadlines_.find(queued_.back().batch);
        if (open != deadlines_.end() && open->second > now) {
            batch = open->first;
            close = open->second;
        }
    }
    auto& event = std::get<BuyQueued>(
        out.events.emplace_back(std::in_place_type<BuyQueued>, r.buyer, r.request, r.product,
                                r.quantity, r.allow_partial, stamp, batch));
    // The broken variant still journals the deadline, on this process's clock.
    if (TP_MUTANT(process_time_in_books))
        event.batch_close_ns_deprecated = close.time_since_epoch().count();
    if (Status s = apply(event); !s) internal_error(s.error());
    deadlines_.try_emplace(batch, close);
    unscheduled_ = false;  // resume() ran above, and this batch now has its deadline
}

Step Books::submit_buy(const BuyRequest& request, const clock::VectorClock& stamp, TimePoint now) {
    Step out;
    submit_buy(request, stamp, now, out);
    return out;
}

Step Books::submit_buy(PeerId buyer, RequestId request, ProductId product, Quantity quantity,
                       bool allow_partial, const clock::VectorClock& stamp, TimePoint now) {
    return submit_buy(BuyRequest{buyer, request, product, quantity, allow_partial}, stamp, now);
}

void Books::poll(TimePoint now, Step& out) {
    if (queued_.empty()) return;
    resume(now);
    std::vector<BuyQueued> due;
    for (const auto& q : queued_)
        if (auto it = deadlines_.find(q.batch); it != deadlines_.end() && it->second <= now)
            due.push_back(q);
    if (due.empty()) return;
    // Batches in the order they opened; within one, the total order that extends happened-before,
    // so concurrent requests are decided by logical time, not by arrival.
    std::sort(due.begin(), due.end(), [](const BuyQueued& a, const BuyQueued& b) {
        if (a.batch != b.batch) return a.batch < b.batch;
        const auto order = clock::total_order(a.clock, a.buyer, b.clock, b.buyer);
        if (TP_MUTANT(unfair_order) && order != 0) return order > 0;  // latest first
        if (order != 0) return order < 0;
        return a.request < b.request;
    });
    for (const auto& q : due)
        execute(BuyRequest{q.buyer, q.request, q.product, q.quantity, q.allow_partial}, out);
    // Every request of a closed batch was just served: its deadline goes with it.
    std::erase_if(deadlines_, [&](const auto& entry) { return entry.second <= now; });
}

Step Books::poll(TimePoint now) {
    Step out;
    poll(now, out);
    return out;
}

void Books::ack_payment(PaymentId payment, Step& out) {
    if (!payments_.find(payment)) return;
    const Event& event = out.events.emplace_back(PaymentAcked{payment});
    if (Status s = apply(event); !s) internal_error(s.error());
}

Step Books::ack_payment(PaymentId payment) {
    Step out;
    ack_payment(payment, out);
    return out;
}

void Books::refuse(const BuyRequest& r, RefuseReason reason, Step& out) {
    const Event& event =
        out.events.emplace_back(BuyRefused{r.buyer, r.request, r.product, r.quantity, reason});
    BuyResult answer;
    if (Status s = apply_refused(std::get<BuyRefused>(event), &answer); !s)
        internal_error(s.error());
    out.outputs.emplace_back(std::move(answer));
}

void Books::execute(const BuyRequest& r, Step& out) {
    if (r.quantity == 0) return refuse(r, RefuseReason::invalid_request, out);
    auto pit = products_.find(r.product);
    if (pit == products_.end() || pit->second.in_stock == 0)
        return refuse(r, RefuseReason::no_seller, out);
    const ProductBook& book = pit->second;
    const bool partial = config_.allow_partial_fills || r.allow_partial;
    if (book.in_stock < r.quantity && !partial)
        return refuse(r, RefuseReason::insufficient_stock, out);
    const Quantity want = static_cast<Quantity>(std::min<std::uint64_t>(r.quantity, book.in_stock));

    // First pass: the total must fit in Money (each lot's does, by deposit validation).
    Int128 total = 0;
    std::size_t lots_used = 0;
    for (Quantity left = want; left > 0; ++lots_used) {
        const Lot& lot = book.lots[lots_used];
        const Quantity q = std::min(left, lot.remaining);
        total += static_cast<Int128>(q) * lot.unit_price;
        left -= q;
    }
    if (total > money_max) return refuse(r, RefuseReason::amount_overflow, out);

    auto& event = std::get<BuyFilled>(out.events.emplace_back(
        std::in_place_type<BuyFilled>, r.buyer, r.request, r.product, r.quantity));
    event.fills.reserve(lots_used);
    PaymentId payment = payments_.next_id();
    Quantity left = want;
    for (std::size_t i = 0; i < lots_used; ++i) {
        const Lot& lot = book.lots[i];
        const Quantity q = std::min(left, lot.remaining);
        const Money amount = static_cast<Money>(q) * lot.unit_price;
        event.fills.push_back(Fill{lot.seller, lot.id, q, amount,
                                   commission_for(amount, config_.commission_ppm), payment++});
        left -= q;
    }
    BuyResult recorded;
    bool overflow = false;
    if (Status s = apply_filled(event, &recorded, &overflow); !s) {
        if (!overflow) internal_error(s.error());
        // A running total would leave its range: nothing changed, and the buy is refused instead.
        out.events.pop_back();
        return refuse(r, RefuseReason::amount_overflow, out);
    }

    out.outputs.emplace_back(std::move(recorded));
    for (const Fill& f : event.fills)
        out.outputs.emplace_back(
            Payment{f.payment, f.seller, f.lot, r.product, f.quantity, f.net()});
}

// ---------------------------------------------------------------------------------------------
// The fold

Status Books::apply(const Event& event) {
    return std::visit(
        [this](const auto& e) -> Status {
            using T = std::decay_t<decltype(e)>;
            if constexpr (std::is_same_v<T, Deposited>)
                return apply_deposited(e);
            else if constexpr (std::is_same_v<T, BuyQueued>)
                return apply_queued(e);
            else if constexpr (std::is_same_v<T, BuyFilled>)
                return apply_filled(e);
            else if constexpr (std::is_same_v<T, BuyRefused>)
                return apply_refused(e);
            else if constexpr (std::is_same_v<T, PaymentAcked>)
                return apply_acked(e);
            else
                return apply_membership(e);
        },
        event);
}

Status Books::apply_deposited(const Deposited& d) {
    if (DepositError e = validate_deposit(d); e != DepositError::none)
        return invalid("Deposited " + key_text("lot", d.seller, d.lot) + ": " + to_string(e));
    if (const ProductBook* book = product(d.product);
        book &&
        (book->deposited > UINT64_MAX - d.quantity || book->in_stock > UINT64_MAX - d.quantity))
        return invalid("Deposited " + key_text("lot", d.seller, d.lot) + ": product " +
                       std::to_string(d.product) + " units deposited would overflow");
    auto [it, fresh] = lots_seen_.try_emplace(PeerKey{d.seller, d.lot}, d);
    if (!fresh)
        return inconsistent("Deposited " + key_text("lot", d.seller, d.lot) +
                            ": already deposited");
    ProductBook& book = products_[d.product];
    book.lots.push_back(Lot{d.seller, d.lot, d.quantity, d.unit_price});
    book.deposited += d.quantity;
    book.in_stock += d.quantity;
    sellers_.try_emplace(d.seller);
    return {};
}

Status Books::apply_queued(const BuyQueued& e) {
    const PeerKey key{e.buyer, e.request};
    if (auto why = unanswerable(key))
        return inconsistent("BuyQueued " + key_text("request", e.buyer, e.request) + ": " + *why);
    if (find_queued(key) != queued_.end())
        return inconsistent("BuyQueued " + key_text("request", e.buyer, e.request) +
                            ": already queued");
    if (e.batch == UINT64_MAX)
        return invalid("BuyQueued " + key_text("request", e.buyer, e.request) +
                       ": batch number out of range");
    queued_.push_back(e);
    next_batch_ = std::max(next_batch_, e.batch + 1);
    // Until its trader gives it a deadline (at once for its own batches, resume() otherwise).
    if (!deadlines_.contains(e.batch)) unscheduled_ = true;
    return {};
}

Status Books::apply_filled(const BuyFilled& e, BuyResult* recorded, bool* overflow) {
    const PeerKey key{e.buyer, e.request};
    // Messages are built only on failure: this runs once per buy.
    const auto where = [&] { return "BuyFilled " + key_text("request", e.buyer, e.request); };
    if (e.fills.empty()) return invalid(where() + ": no fills");
    if (auto why = unanswerable(key)) return inconsistent(where() + ": " + *why);
    auto pit = products_.find(e.product);
    if (pit == products_.end())
        return inconsistent(where() + ": no lots of product " + std::to_string(e.product));
    ProductBook& book = pit->second;

    // Check everything before changing anything: the fills must take the oldest lots in order.
    std::uint64_t quantity = 0;
    Int128 amount = 0;
    PaymentId payment = payments_.next_id();
    std::size_t lot_index = 0;
    for (std::size_t j = 0; j < e.fills.size(); ++j) {
        const Fill& f = e.fills[j];
        const auto at = [&] { return where() + " fill " + std::to_string(j); };
        if (lot_index >= book.lots.size()) return inconsistent(at() + ": no lot left in stock");
        const Lot& lot = book.lots[lot_index];
        if (lot.seller != f.seller || lot.id != f.lot)
            return inconsistent(at() + ": " + key_text("lot", f.seller, f.lot) +
                                " is not the oldest in stock, " +
                                key_text("lot", lot.seller, lot.id) + " is");
        if (f.quantity == 0 || f.quantity > lot.remaining)
            return inconsistent(at() + ": quantity " + std::to_string(f.quantity) +
                                " but lot has " + std::to_string(lot.remaining));
        if (f.quantity < lot.remaining && j + 1 != e.fills.size())
            return inconsistent(at() + ": leaves part of the lot yet later lots are sold");
        if (static_cast<Int128>(f.quantity) * lot.unit_price != f.amount)
            return inconsistent(at() + ": amount " + std::to_string(f.amount) +
                                " is not quantity x unit price");
        if (f.commission < 0 || f.commission > f.amount)
            return invalid(at() + ": commission " + std::to_string(f.commission) + " out of range");
        if (f.payment != payment)
            return inconsistent(at() + ": payment id " + std::to_string(f.payment) + ", expected " +
                                std::to_string(payment));
        ++payment;
        if (f.quantity == lot.remaining) ++lot_index;
        quantity += f.quantity;
        amount += f.amount;
    }
    if (quantity > e.requested)
        return inconsistent(where() + ": fills " + std::to_string(quantity) + " of " +
                            std::to_string(e.requested) + " requested");
    if (amount > money_max) {
        if (overflow) *overflow = true;
        return invalid(where() + ": total amount overflows");
    }
    // Every running total the sale adds to must stay in range, checked before anything changes.
    if (auto what = totals_overflow(e, quantity, static_cast<Money>(amount))) {
        if (overflow) *overflow = true;
        return invalid(where() + ": " + *what + " would overflow");
    }

    BuyResult result;
    result.buyer = e.buyer;
    result.request = e.request;
    result.product = e.product;
    result.status = quantity == e.requested ? BuyStatus::filled : BuyStatus::partial;
    result.requested = e.requested;
    result.quantity = static_cast<Quantity>(quantity);
    result.amount = static_cast<Money>(amount);
    for (const Fill& f : e.fills) {
        Lot& lot = book.lots.front();
        lot.remaining -= f.quantity;
        if (lot.remaining == 0) book.lots.pop_front();
        SellerLedger& ledger = sellers_[f.seller];
        ledger.sold += f.quantity;
        ledger.earned += f.net();
        ledger.commission += f.commission;
        ledger.pending += f.net();
        ++ledger.pending_count;
        commission_total_ += f.commission;
        payments_.push(Payment{f.payment, f.seller, f.lot, e.product, f.quantity, f.net()});
        result.fills.push_back(f);
        if (std::find(result.sellers.begin(), result.sellers.end(), f.seller) ==
            result.sellers.end())
            result.sellers.push_back(f.seller);
    }
    book.sold += quantity;
    book.in_stock -= quantity;
    BuyerTotals& buyer = buyers_[e.buyer];
    ++buyer.filled;
    buyer.quantity += quantity;
    buyer.spent += result.amount;
    ++executions_;
    if (recorded) *recorded = result;
    record_answer(std::move(result));
    return {};
}

std::optional<std::string> Books::totals_overflow(const BuyFilled& e, std::uint64_t quantity,
                                                  Money amount) const {
    // One seller may own several of the lots sold: sum per seller first. Each sum is at most the
    // sale's amount (net and commission are parts of a fill's amount), so it fits.
    struct SellerSum {
        PeerId seller = 0;
        Money net = 0;
        Money commission = 0;
        std::uint64_t sold = 0;
    };
    InlineVec<SellerSum, 2> per_seller;
    Money commission = 0;
    for (const Fill& f : e.fills) {
        auto it = std::find_if(per_seller.begin(), per_seller.end(),
                               [&](const SellerSum& s) { return s.seller == f.seller; });
        if (it == per_seller.end()) {
            per_seller.push_back(SellerSum{f.seller, 0, 0, 0});
            it = per_seller.end() - 1;
        }
        it->net += f.net();
        it->commission += f.commission;
        it->sold += f.quantity;
        commission += f.commission;
    }
    Money m = 0;
    std::uint64_t u = 0;
    for (const SellerSum& sum : per_seller) {
        const auto it = sellers_.find(sum.seller);
        const SellerLedger ledger = it == sellers_.end() ? SellerLedger{} : it->second;
        const std::string who = "seller " + std::to_string(sum.seller) + "'s ";
        if (__builtin_add_overflow(ledger.earned, sum.net, &m))
            return who + "earned " + std::to_string(ledger.earned) + " + " +
                   std::to_string(sum.net);
        if (__builtin_add_overflow(ledger.pending, sum.net, &m))
            return who + "pending " + std::to_string(ledger.pending) + " + " +
                   std::to_string(sum.net);
        if (__builtin_add_overflow(ledger.commission, sum.commission, &m))
            return who + "commission " + std::to_string(ledger.commission) + " + " +
                   std::to_string(sum.commission);
        if (__builtin_add_overflow(ledger.sold, sum.sold, &u))
            return who + "units sold " + std::to_string(ledger.sold) + " + " +
                   std::to_string(sum.sold);
    }
    if (__builtin_add_overflow(commission_total_, commission, &m))
        return "the commission total " + std::to_string(commission_total_) + " + " +
               std::to_string(commission);
    const auto bit = buyers_.find(e.buyer);
    const BuyerTotals buyer = bit == buyers_.end() ? BuyerTotals{} : bit->second;
    const std::string who = "buyer " + std::to_string(e.buyer) + "'s ";
    if (__builtin_add_overflow(buyer.spent, amount, &m))
        return who + "spent " + std::to_string(buyer.spent) + " + " + std::to_string(amount);
    if (__builtin_add_overflow(buyer.quantity, quantity, &u))
        return who + "units bought " + std::to_string(buyer.quantity) + " + " +
               std::to_string(quantity);
    if (const ProductBook* book = product(e.product);
        book && __builtin_add_overflow(book->sold, quantity, &u))
        return "product " + std::to_string(e.product) + "'s units sold " +
               std::to_string(book->sold) + " + " + std::to_string(quantity);
    return std::nullopt;
}

void Books::dequeue(PeerKey key) {
    auto q = find_queued(key);
    if (q == queued_.end()) return;
    queued_.erase(q);
    if (queued_.empty()) {
        deadlines_.clear();
        unscheduled_ = false;
    }
}

Status Books::apply_refused(const BuyRefused& e, BuyResult* recorded) {
    const PeerKey key{e.buyer, e.request};
    if (static_cast<unsigned>(e.reason) > static_cast<unsigned>(RefuseReason::amount_overflow))
        return invalid("BuyRefused " + key_text("request", e.buyer, e.request) + ": bad reason");
    if (auto why = unanswerable(key))
        return inconsistent("BuyRefused " + key_text("request", e.buyer, e.request) + ": " + *why);
    BuyResult result;
    result.buyer = e.buyer;
    result.request = e.request;
    result.product = e.product;
    result.status = BuyStatus::refused;
    result.reason = e.reason;
    result.requested = e.requested;
    ++buyers_[e.buyer].refused;
    if (recorded) *recorded = result;
    record_answer(std::move(result));
    return {};
}

Status Books::apply_acked(const PaymentAcked& e) {
    const Payment* p = payments_.find(e.payment);
    if (!p) return inconsistent("PaymentAcked " + std::to_string(e.payment) + ": not pending");
    SellerLedger& ledger = sellers_[p->seller];
    ledger.pending -= p->amount;
    --ledger.pending_count;
    payments_.ack(e.payment);
    return {};
}

}  // namespace tp::market
