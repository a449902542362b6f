#pragma once

// The trader core stepped by hand (trader_test.cpp, trader_membership_test.cpp): a reign over a
// memory journal, carried out step by step. No runtime, no network.

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <optional>
#include <vector>

#include "tp/peer/books.hpp"
#include "tp/peer/journal.hpp"
#include "tp/peer/trader.hpp"

namespace trader_script {

namespace market = tp::market;
namespace wire = tp::wire;
using tp::peer::MemoryJournalStore;
using tp::peer::Outgoing;
using tp::peer::Time;
using tp::peer::Trader;
using namespace std::chrono_literals;

constexpr tp::peer::PeerId trader_id = 6;
constexpr wire::Epoch epoch = 7;
constexpr market::ProductId salt = 0;

inline tp::peer::TraderOptions options(Time batch_window = 0ms) {
    tp::peer::TraderOptions o;
    o.market.commission_ppm = 100'000;
    o.market.batch_window = batch_window;
    o.products = 3;
    o.keep_released = true;
    return o;
}

inline wire::Envelope from(tp::peer::PeerId sender, wire::Body body,
                           tp::clock::VectorClock clock = {}) {
    if (clock.entries().empty()) clock.tick(sender);
    return wire::Envelope{sender, trader_id, epoch, std::move(clock), std::move(body)};
}

// A reign: the core over the books a journal holds, and the journal, carried out by hand.
struct Reign {
    tp::peer::OpenedJournal opened;
    std::optional<Trader> core;
    Time now{1s};

    Reign(MemoryJournalStore& store, tp::peer::TraderOptions o = options()) {
        opened = store.open();
        auto books = tp::peer::replay_books(opened.recovery, o.market);
        BOOST_REQUIRE(static_cast<bool>(books));
        core.emplace(trader_id, epoch, std::move(books.value()), opened.journal->written(), o,
                     now);
        core->count_replayed(opened.recovery.records.size());  // as the driver does
        // The first tick, at once, as a driver does: payments inherited go out.
        inherited = tick(now);
    }
    std::vector<Outgoing> inherited;

    // Appends what the core has ready; returns the messages it lets go.
    std::vector<Outgoing> append() {
        for (auto& r : core->records()) {
            BOOST_TEST(opened.journal->append(r.bytes) == r.position);
        }
        core->clear_records();
        return take();
    }
    // The journal syncs: the answers resting on it leave.
    std::vector<Outgoing> sync() {
        core->on_durable(opened.journal->sync());
        return take();
    }
    std::vector<Outgoing> take() {
        std::vector<Outgoing> out;
        out.swap(core->outbox());
        return out;
    }
    std::vector<Outgoing> receive(tp::peer::PeerId sender, wire::Body body,
                                  tp::clock::VectorClock clock = {}) {
        core->on_message(sender, from(sender, std::move(body), std::move(clock)), now);
        return append();
    }
    std::vector<Outgoing> tick(Time later) {
        now = later;
        core->on_tick(now);
        return append();
    }
};

template <class T>
inline std::vector<T> bodies(const std::vector<Outgoing>& out, tp::peer::PeerId to) {
    std::vector<T> found;
    for (const auto& m : out) {
        if (const auto* b = std::get_if<T>(&m.body); b != nullptr && m.to == to) found.push_back(*b);
    }
    return found;
}

}  // namespace trader_script
