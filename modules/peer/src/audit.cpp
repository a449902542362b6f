#include "tp/peer/audit.hpp"

#include <fmt/core.h>

#include "tp/peer/ids.hpp"

namespace tp::peer {

std::optional<std::string> Audit::answer(const Answer& confirmed) const {
    const market::BuyResult* r = books_.result(confirmed.buyer, confirmed.request);
    // The books keep each buyer's latest answers only (its session): an older one is behind it.
    const market::Session* session = books_.session(confirmed.buyer);
    if (r == nullptr && session != nullptr && session->latest() > confirmed.request) {
        return std::nullopt;
    }
    if (r == nullptr) return "no record of it";
    if (r->filled() == confirmed.filled && r->quantity == confirmed.quantity &&
        r->amount == confirmed.amount) {
        return std::nullopt;
    }
    return fmt::format("{} for {}", plural(r->quantity, "unit"), r->amount);
}

std::optional<std::string> Audit::totals(clock::PeerId buyer,
                                         const market::BuyerTotals& confirmed) const {
    const market::BuyerTotals t = books_.buyer(buyer);
    if (confirmed.filled <= t.filled && confirmed.refused <= t.refused &&
        confirmed.quantity <= t.quantity && confirmed.spent <= t.spent) {
        return std::nullopt;
    }
    return fmt::format(
        "{} filled and {} refused requests ({} for {}), more than the books record ({} filled, "
        "{} refused, {} for {})",
        confirmed.filled, confirmed.refused, plural(confirmed.quantity, "unit"), confirmed.spent,
        t.filled, t.refused, plural(t.quantity, "unit"), t.spent);
}

std::optional<std::string> Audit::payments(clock::PeerId seller, std::optional<market::Money> paid,
                                           bool acknowledged, market::Money settled_before) const {
    const market::SellerLedger ledger = books_.seller(seller);
    // Bounds on what these payments may add up to; settled_before <= earned - pending in sound
    // books, so neither goes below zero there.
    const market::Money most = ledger.earned - settled_before;
    const market::Money least = ledger.earned - ledger.pending - settled_before;
    const bool too_much = !paid || *paid > most;
    const bool too_little = acknowledged && paid && *paid < least;
    if (!too_much && !too_little) return std::nullopt;
    const std::string before =
        settled_before > 0 ? fmt::format(", {} of it settled before", settled_before) : "";
    if (acknowledged) {
        return fmt::format("the books say it earned {} with {} pending{}", ledger.earned,
                           ledger.pending, before);
    }
    return fmt::format("the books say it earned only {}{}", ledger.earned, before);
}

std::optional<std::string> Audit::deposits(market::ProductId product, std::uint64_t units) const {
    const market::ProductBook* book = books_.product(product);
    const std::uint64_t deposited = book ? book->deposited : 0;
    if (deposited >= units) return std::nullopt;
    return fmt::format("only {} deposited", deposited);
}

}  // namespace tp::peer
