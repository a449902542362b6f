#pragma once

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <ostream>
#include <vector>

#include "tp/election/messages.hpp"
#include "tp/peer/config.hpp"
#include "tp/peer/local_market.hpp"
#include "tp/peer/log.hpp"
#include "tp/runtime/runtime.hpp"

namespace tp::wire {
inline std::ostream& operator<<(std::ostream& out, RefusalReason r) {
    return out << to_string(r);
}
}  // namespace tp::wire

namespace tp::system_test {

using namespace std::chrono_literals;
using peer::Role;
using peer::TransportKind;
using PeerId = clock::PeerId;

// Products of the default configuration, by index.
inline constexpr market::ProductId salt = 0;
inline constexpr market::ProductId boar = 1;
inline constexpr market::ProductId fish = 2;

// Tweaks for Market: the original lab's shared journal (a test of what only it does: a lock held
// by a paused trader, a journal freed at an instant), or the replicated log (the default).
inline void shared_journal(peer::Config& c) {
    c.replication.mode = peer::ReplicationMode::shared;
}
inline void quorum(peer::Config& c) {
    c.replication.mode = peer::ReplicationMode::quorum;
}

// A whole market in one process with scripted buyers and sellers. On the in-memory network it
// runs in virtual time (deterministic, instant); on UDP or TCP loopback in real time. Waits are
// bounded: a condition that never comes fails the test instead of hanging it.
class Market {
public:
    // `tweak` edits the configuration; `before_start` the market, before it starts (an observer,
    // a sync latency).
    Market(TransportKind kind, std::vector<Role> roles,
           const std::function<void(peer::Config&)>& tweak = {},
           const std::function<void(peer::LocalMarket&)>& before_start = {})
        : runtime_(kind == TransportKind::memory ? runtime::Mode::virtual_time
                                                 : runtime::Mode::real_time) {
        config_.seed = 1;
        config_.peers = static_cast<std::uint32_t>(roles.size());
        config_.roles = std::move(roles);
        config_.network.transport = kind;
        config_.failure.probability = 0;
        config_.election.heartbeat_interval = 10ms;
        config_.election.election_timeout = 50ms;
        config_.election.answer_timeout = 20ms;
        if (kind != TransportKind::memory) {
            // Real sockets on a loaded machine (two cores, sanitizers, suites in parallel): an Ok
            // can take longer than 20 ms, a lower peer that stops waiting leads, and `defer` keeps
            // it, so the first election would not settle on the highest peer every time. (The
            // election timeout stays: the tests' crashes last 100 ms or more.)
            config_.election.answer_timeout = 40ms;
        }
        config_.behaviour.request_timeout = 100ms;
        config_.market.batch_window = 0ms;
        config_.storage.durability =
            kind == TransportKind::memory ? peer::Durability::none : peer::Durability::group;
        if (tweak) tweak(config_);
        peer::configure_logging({spdlog::level::warn, true});
        market_ = std::make_unique<peer::LocalMarket>(config_, runtime_, true);
        if (before_start) before_start(*market_);
        market_->start();
    }

    ~Market() {
        market_->request_stop();
        run_until([&] { return market_->done(); }, 5s);
    }

    // Runs the market until `ready()` or `bound` of its time has passed; returns ready().
    bool run_until(const std::function<bool()>& ready, runtime::Duration bound = 10s) {
        const auto end = runtime_.now() + bound;
        while (!ready()) {
            if (runtime_.now() >= end) return false;
            runtime_.run_for(1ms);
        }
        return true;
    }

    // Runs until `trader` serves and every live peer knows it.
    bool settle_on(PeerId trader) {
        const bool settled = run_until([&] {
            if (market_->trader() != trader) return false;
            for (PeerId id : market_->peers()) {
                if (auto* n = market_->node(id); n && n->leader() != trader) return false;
            }
            return true;
        });
        // Every caller requires it: say why it failed (printed at the default log level).
        if (!settled) BOOST_ERROR("not settled on " << trader << ": " << describe());
        return settled;
    }

    // Runs until some trader serves and every live peer knows it; returns it. For a test whose
    // claim holds whoever leads: on a loaded machine the first election over real sockets may
    // settle on a lower peer (its Oks came late), and `defer` keeps a working lower leader.
    std::optional<PeerId> settle() {
        std::optional<PeerId> trader;
        const bool settled = run_until([&] {
            trader = market_->trader();
            if (!trader) return false;
            for (PeerId id : market_->peers()) {
                if (auto* n = market_->node(id); n && n->leader() != trader) return false;
            }
            return true;
        });
        if (!settled) BOOST_ERROR("not settled on any trader: " << describe());
        return settled ? trader : std::nullopt;
    }

    // Each peer's view of the election, for a failure's message.
    std::string describe() const {
        std::string out;
        for (PeerId id : market_->peers()) {
            out += "peer " + std::to_string(id);
            const auto* n = market_->node(id);
            if (!n) {
                out += " down; ";
                continue;
            }
            out += " epoch " + election::epoch_text(n->epoch()) + " leader " +
                   (n->leader() ? std::to_string(*n->leader()) : std::string("none")) +
                   (n->is_trader() ? " serving" : n->core().loading() ? " loading" : "") + "; ";
        }
        return out;
    }

    peer::Node& node(PeerId id) {
        peer::Node* n = market_->node(id);
        BOOST_REQUIRE_MESSAGE(n != nullptr, "peer " << id << " is down");
        return *n;
    }

    // Deposits a lot and runs until the trader has acknowledged it.
    void deposit(PeerId seller, market::ProductId product, std::uint32_t quantity,
                 market::Money unit_price) {
        auto& s = node(seller);
        const auto lots = s.seller().lots.size();
        s.deposit(product, quantity, unit_price);
        BOOST_REQUIRE(run_until([&] { return node(seller).seller().lots.at(lots).acked; }));
    }

    // Buys and runs until answered; returns the answer.
    peer::Purchase buy(PeerId buyer, market::ProductId product, std::uint32_t quantity) {
        auto& b = node(buyer);
        const auto answered = b.buyer().purchases.size();
        b.buy(product, quantity);
        BOOST_REQUIRE(run_until([&] { return node(buyer).buyer().purchases.size() > answered; }));
        return node(buyer).buyer().purchases.at(answered);
    }

    const market::Books& books() {
        auto t = market_->trader();
        BOOST_REQUIRE(t.has_value());
        return *node(*t).books();
    }

    runtime::TimePoint now() const { return runtime_.now(); }
    runtime::Runtime& runtime() { return runtime_; }
    peer::LocalMarket* operator->() { return market_.get(); }
    peer::LocalMarket& get() { return *market_; }
    const peer::Config& config() const { return config_; }

private:
    peer::Config config_;
    runtime::Runtime runtime_;
    std::unique_ptr<peer::LocalMarket> market_;
};

}  // namespace tp::system_test

// One test case of scenario `name` on one transport.
#define TP_CASE_ON(name, kind)                   \
    BOOST_AUTO_TEST_CASE(name##_##kind) {        \
        name(::tp::peer::TransportKind::kind);   \
    }

// One scenario, run as three test cases: on the in-memory network, on UDP loopback and on TCP
// loopback.
#define TP_ON_EVERY_TRANSPORT(name)              \
    static void name(::tp::peer::TransportKind); \
    TP_CASE_ON(name, memory)                     \
    TP_CASE_ON(name, udp)                        \
    TP_CASE_ON(name, tcp)                        \
    static void name(::tp::peer::TransportKind kind)

