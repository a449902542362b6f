#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tp/market/books.hpp"
#include "tp/market/types.hpp"
#include "tp/wire/message.hpp"

namespace tp::peer {

// The checks of a market's books against what its peers were told, in one place: the run's
// summary applies them to the durable books at the end, the simulator's checker to each new
// trader's recovered books. Each returns nullopt when the books agree, else what the books hold
// instead (the caller says where and when).
class Audit {
public:
    explicit Audit(const market::Books& books) : books_(books) {}

    // The books' own invariants: goods and money conserved, every fill counted once.
    std::vector<std::string> invariants() const { return books_.check_invariants(); }

    // An answer confirmed to a buyer must be in the books, the same: "no record of it" or
    // "3 units for 27" otherwise.
    struct Answer {
        clock::PeerId buyer = 0;
        wire::RequestId request = 0;
        bool filled = false;
        std::uint32_t quantity = 0;
        market::Money amount = 0;
    };
    std::optional<std::string> answer(const Answer& confirmed) const;
    // What a buyer was told in all (filled and refused requests, units, money) is no more than
    // the books record for it: the books keep only its latest answers, but all its totals.
    std::optional<std::string> totals(clock::PeerId buyer,
                                      const market::BuyerTotals& confirmed) const;

    // Payments to `seller` adding up to `paid` (nullopt: past the range of Money, more than any
    // ledger can show) must be no more than the books say it earned; `acknowledged`: they are the
    // payments the seller acknowledged having, so no less than that minus what is pending either.
    // `settled_before`: what the books had settled with the seller before these payments were
    // counted (a run on a state directory used before), deducted from both bounds.
    std::optional<std::string> payments(clock::PeerId seller, std::optional<market::Money> paid,
                                        bool acknowledged, market::Money settled_before = 0) const;

    // Deposits of `units` of `product` were acknowledged: the books must count them deposited.
    std::optional<std::string> deposits(market::ProductId product, std::uint64_t units) const;

    // A checked sum of amounts: nullopt once it passes the range of Money.
    template <class Range, class Amount>
    static std::optional<market::Money> total(const Range& items, Amount amount_of) {
        std::optional<market::Money> sum = market::Money{0};
        for (const auto& item : items) {
            if (sum) sum = market::checked_add(*sum, amount_of(item));
        }
        return sum;
    }

private:
    const market::Books& books_;
};

}  // namespace tp::peer
