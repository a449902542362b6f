// PeerCore stepped directly: whole peers (clock, election, roles) with no runtime, no sockets and
// no files. A fake network moves each Ready's messages by hand; a memory journal is the disk.
#include <boost/test/unit_test.hpp>

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "role_script.hpp"
#include "tp/election/messages.hpp"
#include "tp/peer/books.hpp"
#include "tp/peer/config.hpp"
#include "tp/peer/journal.hpp"
#include "tp/peer/peer_core.hpp"

namespace wire = tp::wire;
namespace election = tp::election;
using role_script::ms;
using tp::peer::PeerCore;
using tp::peer::PeerId;
using tp::peer::Role;
using tp::peer::Time;

namespace {

constexpr tp::market::ProductId salt = 0;

tp::peer::Config config() {
    tp::peer::Config c;
    c.peers = 3;
    // The shared journal (peer_core_replicated_test.cpp steps quorum mode).
    c.replication.mode = tp::peer::ReplicationMode::shared;
    return c;
}

// Peers 1..3 as cores, a FIFO network between them, one memory journal for whoever is trader.
struct CoreMarket {
    role_script::CapturedLog log;
    tp::peer::Config cfg = config();
    tp::peer::MemoryJournalStore store;
    std::map<PeerId, std::unique_ptr<PeerCore>> peers;
    std::map<PeerId, wire::Epoch> epoch_seen;  // the durable peer state
    std::optional<tp::peer::OpenedJournal> journal;
    std::deque<wire::Envelope> network;
    Time now{ms(1000)};

    CoreMarket(std::vector<Role> roles, wire::Epoch floor3 = 0) {
        for (PeerId id = 1; id <= roles.size(); ++id) {
            auto o = tp::peer::PeerCoreOptions::from(cfg, id, roles[id - 1], {1, 2, 3}, 1);
            if (id == 3) o.epoch_floor = floor3;
            peers[id] = std::make_unique<PeerCore>(std::move(o), *log.logger);
        }
        for (auto& [id, core] : peers) {
            core->start(now, false);
            carry_out(id);
        }
    }
    PeerCore& peer(PeerId id) { return *peers.at(id); }

    // What a driver does with a Ready, with the disk and the network stand-ins.
    void carry_out(PeerId id) {
        PeerCore& core = peer(id);
        auto& ready = core.ready();
        if (ready.epoch_seen) epoch_seen[id] = *ready.epoch_seen;
        if (ready.stepped_down) journal.reset();
        if (ready.load_books) {
            journal = store.open();
            auto books = tp::peer::replay_books(journal->recovery, tp::peer::market_config(cfg));
            BOOST_REQUIRE(static_cast<bool>(books));
            const auto epoch = *ready.load_books;
            ready.load_books.reset();
            core.trader_loaded(epoch, std::move(books.value()), journal->journal->written(), now,
                               journal->recovery.records.size());
        }
        if (auto* trader = core.trader()) {
            for (auto& r : trader->records()) journal->journal->append(r.bytes);
            trader->clear_records();
            // The disk syncs at once.
            core.on_durable(journal->journal->sync(), now);
        }
        for (auto& m : ready.messages) network.push_back(std::move(m));
        core.advance();
    }
    // Delivers every message in flight, and what they cause, until the network is quiet.
    void settle() {
        for (int n = 0; !network.empty() && n < 10'000; ++n) {
            wire::Envelope e = std::move(network.front());
            network.pop_front();
            if (!peers.count(e.receiver)) continue;
            peer(e.receiver).on_message(e, now);
            carry_out(e.receiver);
        }
        BOOST_REQUIRE(network.empty());
    }
    // Time passes by `d`, in steps of each core's deadline.
    void advance(Time d) {
        const Time until = now + d;
        while (true) {
            std::optional<Time> next;
            for (auto& [id, core] : peers) {
                if (auto t = core->next_deadline(); t && (!next || *t < *next)) next = t;
            }
            if (!next || *next > until) break;
            now = std::max(now, *next);
            for (auto& [id, core] : peers) {
                core->on_tick(now);
                carry_out(id);
            }
            settle();
        }
        now = until;
    }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(peer_core)

BOOST_AUTO_TEST_CASE(the_highest_peer_leads_and_loads_the_books_before_serving) {
    // Step 1: three peers start; the election runs on the fake network.
    CoreMarket m({Role::seller, Role::buyer, Role::buyer});
    m.settle();
    m.advance(ms(200));
    // Peer 3 serves as trader, the others follow it.
    BOOST_TEST(m.peer(3).trader() != nullptr);
    BOOST_TEST(m.peer(1).trading_partner().value_or(0) == 3u);
    BOOST_TEST(m.peer(2).trading_partner().value_or(0) == 3u);
    // Each peer recorded the epoch it serves in before it sent anything in it.
    BOOST_TEST(m.epoch_seen[3] == m.peer(3).election().epoch());
    BOOST_TEST(m.epoch_seen[1] == m.peer(3).election().epoch());
}

BOOST_AUTO_TEST_CASE(a_restarted_peer_starts_above_the_epoch_it_had_seen) {
    // Step 1: peer 3's durable state says it saw term 40 led by itself.
    const wire::Epoch floor = election::make_epoch(40, 3);
    CoreMarket m({Role::seller, Role::buyer, Role::buyer}, floor);
    m.settle();
    m.advance(ms(200));
    // Step 2: it leads again, in a newer reign than any it had.
    BOOST_TEST(m.peer(3).trader() != nullptr);
    BOOST_TEST(m.peer(3).election().epoch() > floor);
    BOOST_TEST(m.epoch_seen[3] > floor);
}

BOOST_AUTO_TEST_CASE(a_seller_deposits_a_buyer_buys_and_the_trader_keeps_its_commission) {
    CoreMarket m({Role::seller, Role::buyer, Role::buyer});
    m.settle();
    m.advance(ms(200));
    // Step 1: seller 1 deposits 10 salt at 5; the trader acknowledges once it is durable.
    const auto lot = m.peer(1).deposit(salt, 10, 5, m.now);
    m.carry_out(1);
    m.settle();
    BOOST_TEST(m.peer(1).seller().lot(lot)->acked);
    // Step 2: buyer 2 buys 4 salt; the trader serves it when its batch window closes.
    const auto request = m.peer(2).buy(salt, 4, m.now);
    m.carry_out(2);
    m.settle();
    m.advance(m.cfg.market.batch_window + ms(1));
    const auto* p = m.peer(2).buyer().purchase(request);
    BOOST_REQUIRE(p != nullptr);
    BOOST_TEST(p->answered);
    BOOST_TEST(p->filled);
    BOOST_TEST(p->amount == 20);
    BOOST_TEST((p->sellers == std::vector<PeerId>{1}));
    // Step 3: the seller is paid the amount less 10% commission, and acknowledges it.
    BOOST_TEST(m.peer(1).seller().state().earned == 18);
    BOOST_TEST(m.peer(3).trader()->books().payments().pending_count() == 0u);
}

BOOST_AUTO_TEST_CASE(only_the_current_traders_answers_count) {
    CoreMarket m({Role::seller, Role::buyer, Role::buyer});
    m.settle();
    m.advance(ms(200));
    const auto request = m.peer(2).buy(salt, 1, m.now);
    m.carry_out(2);
    m.network.clear();  // the Buy is lost
    // Step 1: peer 1, not the trader, answers the request itself: refused, not an answer.
    wire::BuyResult forged;
    forged.request_id = request;
    forged.filled = true;
    forged.quantity = 1;
    forged.amount = 1;
    const auto before = m.peer(2).counters().wrong_role;
    m.peer(2).on_message(
        wire::Envelope{1, 2, m.peer(2).election().epoch(), {}, wire::Body{forged}}, m.now);
    m.carry_out(2);
    BOOST_TEST(m.peer(2).counters().wrong_role == before + 1);
    BOOST_TEST(!m.peer(2).buyer().purchase(request)->answered);
    // Step 2: the buyer's retry reaches the real trader, whose answer counts.
    m.advance(m.cfg.behaviour.request_timeout + m.cfg.market.batch_window + ms(1));
    BOOST_TEST(m.peer(2).buyer().purchase(request)->answered);
    BOOST_TEST(!m.peer(2).buyer().purchase(request)->filled);  // nothing on sale
}

BOOST_AUTO_TEST_CASE(an_elected_peer_that_is_still_loading_answers_unavailable) {
    CoreMarket m({Role::seller, Role::buyer, Role::buyer});
    // Step 1: peer 3 has won, but its books are not loaded: its Ready asks for them.
    tp::peer::PeerCore& trader = m.peer(3);
    m.settle();
    m.advance(ms(200));
    BOOST_REQUIRE(trader.trader() != nullptr);
    // A second core in the same state, before loading: build one that has just won.
    auto o = tp::peer::PeerCoreOptions::from(m.cfg, 3, Role::buyer, {1, 2, 3}, 2);
    PeerCore fresh(std::move(o), *m.log.logger);
    fresh.start(m.now, false);
    for (Time t = m.now; !fresh.loading() && t < m.now + ms(500); t += ms(10)) fresh.on_tick(t);
    BOOST_REQUIRE(fresh.loading());
    fresh.advance();
    // Step 2: a buy reaches it: the answer is trader_unavailable, and nothing ran.
    fresh.on_message(wire::Envelope{2, 3, fresh.election().epoch(), {}, wire::Buy{77, salt, 1}},
                     m.now);
    const auto& out = fresh.ready().messages;
    BOOST_REQUIRE(out.size() == 1u);
    const auto* r = std::get_if<wire::BuyResult>(&out[0].body);
    BOOST_REQUIRE(r != nullptr);
    BOOST_TEST((r->reason == wire::RefusalReason::trader_unavailable));
    BOOST_TEST(fresh.counters().unavailable_answers == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
