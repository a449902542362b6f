#pragma once

// Whole peers as cores (peer_core_test.cpp, peer_core_membership_test.cpp): no runtime, no
// sockets and no files. A fake network moves each Ready's messages by hand; a memory journal is
// the disk.

#include <boost/test/unit_test.hpp>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "role_script.hpp"
#include "tp/peer/books.hpp"
#include "tp/peer/config.hpp"
#include "tp/peer/journal.hpp"
#include "tp/peer/peer_core.hpp"

namespace core_market {

namespace wire = tp::wire;
using role_script::ms;
using tp::peer::PeerCore;
using tp::peer::PeerId;
using tp::peer::Role;
using tp::peer::Time;

constexpr tp::market::ProductId salt = 0;

inline tp::peer::Config config() {
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

    // Issue 18: a newcomer that joins through `contact`, listening at `host` (default
    // 10.0.0.<id>), port 9000 + id.
    PeerCore& join(PeerId id, Role role, PeerId contact, std::string host = {}) {
        auto o = tp::peer::PeerCoreOptions::from(cfg, id, role, {1, 2, 3}, 1);
        if (host.empty()) host = "10.0.0." + std::to_string(id);
        o.join = tp::peer::PeerCoreOptions::Joining{contact, std::move(host),
                                                    static_cast<std::uint16_t>(9000 + id)};
        peers[id] = std::make_unique<PeerCore>(std::move(o), *log.logger);
        peers[id]->start(now, false);
        carry_out(id);
        return *peers[id];
    }
    // What each peer's Readies said of the membership: the last list, the guests, a failure.
    std::map<PeerId, std::vector<wire::MemberInfo>> members;
    std::map<PeerId, std::vector<wire::MemberInfo>> guests;
    std::map<PeerId, std::string> failures;
    std::map<PeerId, std::vector<PeerId>> forgotten;
    // What the network loses (nothing unless set).
    std::function<bool(const wire::Envelope&)> lose;

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
        if (ready.members) members[id] = *ready.members;
        for (const auto& g : ready.guests) guests[id].push_back(g);
        if (!ready.failure.empty()) failures[id] = ready.failure;
        for (PeerId p : ready.forget) forgotten[id].push_back(p);
        for (auto& m : ready.messages) network.push_back(std::move(m));
        core.advance();
    }
    // Delivers every message in flight, and what they cause, until the network is quiet.
    void settle() {
        for (int n = 0; !network.empty() && n < 10'000; ++n) {
            wire::Envelope e = std::move(network.front());
            network.pop_front();
            if (!peers.count(e.receiver) || (lose && lose(e))) continue;
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

}  // namespace core_market
