#pragma once

#include <asio/awaitable.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tp/peer/churn.hpp"
#include "tp/peer/cluster.hpp"
#include "tp/peer/config.hpp"
#include "tp/peer/failure_injection.hpp"
#include "tp/peer/node.hpp"
#include "tp/peer/summary.hpp"
#include "tp/runtime/random.hpp"
#include "tp/runtime/runtime.hpp"
#include "tp/runtime/timer.hpp"
#include "tp/transport/memory_network.hpp"

namespace tp::peer {

// A whole market in one process: the peers of a Cluster, the trader failures of the configuration
// (FailureInjection), and a supervisor that ends the run when every buyer is done (or at the
// configured duration, or on request_stop()). The supervisor sleeps until something it waits for
// happens: a peer's life ends, a buyer is done, a new trader, a failure or a return falls due.
class LocalMarket {
public:
    // `scripted`: buyers and sellers act only through Node::buy and Node::deposit (tests), and
    // the run ends only on request_stop().
    LocalMarket(const Config& config, runtime::Runtime& runtime, bool scripted = false);
    ~LocalMarket();
    LocalMarket(const LocalMarket&) = delete;
    LocalMarket& operator=(const LocalMarket&) = delete;

    // Brings every peer up and starts supervising. run() the runtime afterwards.
    void start();
    // Ends the run soon: every peer stops, then run() returns.
    void request_stop();
    bool done() const noexcept { return done_; }
    // Called on the loop once the run is done (every peer has stopped): stop the runtime there.
    void on_done(std::function<void()> done) { on_done_ = std::move(done); }
    // The run ends only at the configured duration or on request_stop(), not when the buyers
    // are done (the simulator: with every buyer crashed or trader, "done" would end it early).
    void keep_running() noexcept { keep_running_ = true; }
    // Each life of each peer gets a steady clock of its own, starting up to `spread` away from
    // the runtime's (drawn from the seed), as separate processes would. Call before start().
    void vary_clock_bases(runtime::Duration spread) noexcept { cluster_->vary_clock_bases(spread); }
    // Cluster::wrap_transports. Call before start().
    void wrap_transports(Cluster::TransportWrapper wrap) {
        cluster_->wrap_transports(std::move(wrap));
    }

    // A failure of one peer now (as a failure injection would); it comes back after
    // `restart_after` (nullopt: never, unless restart() is called).
    void crash(PeerId peer, std::optional<runtime::Duration> restart_after = {});
    // Cluster::lose_disk: the crashed peer comes back without (or with a stale copy of) its disk.
    void lose_disk(PeerId peer, std::optional<std::uint64_t> keep = {});
    void restart(PeerId peer);
    // Issue 18: Cluster::join and Cluster::leave. A newcomer's id is returned.
    PeerId join(Role role, PeerId contact) { return cluster_->join(role, contact); }
    void leave(PeerId peer, bool withdraw_lots) { cluster_->leave(peer, withdraw_lots); }

    // Null while the peer is down.
    Node* node(PeerId peer) noexcept { return cluster_->node(peer); }
    const std::vector<PeerId>& peers() const noexcept { return cluster_->peers(); }
    Role role(PeerId peer) const { return cluster_->role(peer); }
    // The peer serving as trader now, if any.
    std::optional<PeerId> trader() const noexcept { return cluster_->trader(); }
    // Joins and leaves of the configured churn so far.
    const Churn& churn() const noexcept { return churn_; }
    // Every buyer (but the trader, which does not trade) has made all its requests.
    bool buyers_done() const noexcept { return cluster_->buyers_done(); }

    const std::filesystem::path& state_dir() const noexcept { return cluster_->state_dir(); }
    // What every peer shares: set an observer or the sync latency before start().
    NodeContext& context() noexcept { return cluster_->context(); }
    transport::MemoryNetwork* memory_network() noexcept { return cluster_->memory_network(); }
    // Every peer that became trader, in order, with its epoch and when.
    using Reign = Cluster::Reign;
    const std::vector<Reign>& traders() const noexcept { return cluster_->traders(); }
    // Every failure, injected or asked for, in order.
    using Failure = Cluster::Failure;
    const std::vector<Failure>& failures() const noexcept { return cluster_->failures(); }
    // Every restart of a failed peer, in order.
    using Return = Cluster::Return;
    const std::vector<Return>& returns() const noexcept { return cluster_->returns(); }
    // What each peer saw in its ended lives (why any ended on an error of its own, too).
    using Archive = Cluster::Archive;
    const std::map<PeerId, Archive>& archives() const noexcept { return cluster_->archives(); }
    // When start() was called: the origin of the summary's times.
    runtime::TimePoint started() const noexcept { return started_; }
    // Every answered request of every buyer, across all its lives, in the order answered. Complete
    // once run() has returned; before that, only lives already ended count.
    std::map<PeerId, std::vector<Purchase>> purchases() const;

    // Reads the durable books and puts the run's figures and checks together. Call after run().
    Summary summary() const;

private:
    asio::awaitable<void> supervise();
    // Something the supervisor waits for may have happened: it looks again (soon, not from
    // inside the node that said so).
    void wake();
    // Why the run ends now, or empty.
    std::string end_reason(runtime::TimePoint now);
    std::optional<runtime::TimePoint> next_deadline() const;

    Config config_;
    runtime::Runtime& runtime_;
    runtime::RandomStreams streams_;
    std::unique_ptr<Cluster> cluster_;
    FailureInjection failures_;
    Churn churn_;
    runtime::Timer tick_;
    runtime::TimePoint started_{};
    runtime::TimePoint ended_{};
    std::optional<runtime::TimePoint> buyers_done_at_;
    std::map<PeerId, Money> settled_before_;  // by the books of an earlier run on the state dir
    bool woken_ = false;
    bool stop_requested_ = false;
    bool keep_running_ = false;
    bool done_ = false;
    std::function<void()> on_done_;
    std::string end_reason_;
};

}  // namespace tp::peer
