#pragma once

#include <asio/awaitable.hpp>
#include <asio/thread_pool.hpp>

#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tp/peer/config.hpp"
#include "tp/peer/node.hpp"
#include "tp/runtime/random.hpp"
#include "tp/runtime/runtime.hpp"
#include "tp/runtime/timer.hpp"
#include "tp/transport/memory_network.hpp"

namespace tp::peer {

// What a whole run did, and whether its books balance. Built from the durable books (what a new
// trader would inherit) and from what every peer saw, across all its lives.
struct Summary {
    std::uint64_t seed = 0;
    std::uint32_t peers = 0;
    std::string transport;
    runtime::Duration elapsed{};
    std::string ended;  // why the run ended, e.g. "every buyer made its 10 requests"
    // The journal's policy: under `none` nothing was synced, and the summary says so.
    Durability durability = Durability::group;

    std::uint64_t requests = 0;  // answered
    std::uint64_t filled = 0;
    std::uint64_t refused = 0;
    std::uint64_t units = 0;
    Money spent = 0;
    std::uint64_t crashes = 0;
    std::uint64_t reigns = 0;  // peers that became trader, the first included
    std::vector<std::pair<PeerId, wire::Epoch>> traders;  // in order
    std::vector<runtime::Duration> elected_at;            // of each trader, since the start
    std::string failure_schedule;  // how failures were injected, e.g. "once, after 20 requests"

    // Every injected failure, and every return of a failed peer with what it did in that life.
    struct FailureLine {
        PeerId peer = 0;
        runtime::Duration at{};  // since the start
        bool was_trader = false;
    };
    std::vector<FailureLine> failures;
    struct ReturnLine {
        PeerId peer = 0;
        Role role = Role::buyer;
        runtime::Duration at{};
        std::uint64_t requests = 0;  // answered in this life
        std::uint64_t filled = 0;
        std::uint64_t deposits = 0;  // lots the trader acknowledged in this life
        std::uint64_t sold = 0;      // units of them sold
        Money earned = 0;
        bool traded() const noexcept { return requests > 0 || deposits > 0; }
    };
    std::vector<ReturnLine> returns;

    Money commission = 0;
    struct SellerLine {
        PeerId seller = 0;
        std::uint64_t sold = 0;
        Money earned = 0;    // per the books, net of commission
        Money received = 0;  // payments the seller acknowledged having
        Money pending = 0;   // payments still to be acknowledged
    };
    std::vector<SellerLine> sellers;

    runtime::Duration rtt_p50{};
    runtime::Duration rtt_p99{};
    runtime::Duration rtt_max{};

    // Every broken invariant, described: empty when goods and money are conserved, nothing
    // confirmed was lost and nothing executed twice.
    std::vector<std::string> violations;
    bool ok() const noexcept { return violations.empty(); }
};

void print(std::ostream& out, const Summary& summary);

// A whole market in one process: every peer a Node on one runtime, over UDP loopback or the
// in-memory network, sharing one state directory. It injects the trader failures of the
// configuration, restarts failed peers after the recovery delay, and ends when every buyer is done
// (or at the configured duration, or on request_stop()).
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
    // The run ends only at the configured duration or on request_stop(), not when the buyers
    // are done (the simulator: with every buyer crashed or trader, "done" would end it early).
    void keep_running() noexcept { keep_running_ = true; }
    // Each life of each peer gets a steady clock of its own, starting up to `spread` away from
    // the runtime's (drawn from the seed), as separate processes would. Call before start().
    void vary_clock_bases(runtime::Duration spread) noexcept { clock_spread_ = spread; }

    // A failure of one peer now (as a failure injection would); it comes back after the
    // configured recovery delay unless `restart_after` says otherwise (nullopt: never).
    void crash(PeerId peer, std::optional<runtime::Duration> restart_after = {});
    void restart(PeerId peer);

    // Null while the peer is down.
    Node* node(PeerId peer) noexcept;
    const std::vector<PeerId>& peers() const noexcept { return ids_; }
    Role role(PeerId peer) const { return roles_.at(peer); }
    // The peer serving as trader now, if any.
    std::optional<PeerId> trader() const noexcept;
    // Every buyer (but the trader, which does not trade) has made all its requests.
    bool buyers_done() const noexcept;

    const std::filesystem::path& state_dir() const noexcept { return state_dir_; }
    // What every peer shares: set an observer or the sync latency before start().
    NodeContext& context() noexcept { return *context_; }
    transport::MemoryNetwork* memory_network() noexcept { return network_.get(); }
    // Every peer that became trader, in order, with its epoch and when.
    struct Reign {
        PeerId peer = 0;
        wire::Epoch epoch = 0;
        runtime::TimePoint at{};
    };
    const std::vector<Reign>& traders() const noexcept { return traders_; }
    // Every failure, injected or asked for, in order.
    struct Failure {
        PeerId peer = 0;
        runtime::TimePoint at{};
        bool was_trader = false;
    };
    const std::vector<Failure>& failures() const noexcept { return failures_log_; }
    // Every restart of a failed peer, in order.
    struct Return {
        PeerId peer = 0;
        runtime::TimePoint at{};
        std::uint32_t life = 0;  // 2 for its first return
    };
    const std::vector<Return>& returns() const noexcept { return returns_log_; }
    // When start() was called: the origin of the summary's times.
    runtime::TimePoint started() const noexcept { return started_; }
    // Every answered request of every buyer, across all its lives, in the order answered. Complete
    // once run() has returned; before that, only lives already ended count.
    std::map<PeerId, std::vector<Purchase>> purchases() const;

    // Reads the durable books and puts the run's figures and checks together. Call after run().
    Summary summary() const;

private:
    struct Archive;  // what a peer saw in its earlier lives

    std::unique_ptr<transport::Transport> make_transport(PeerId peer);
    void launch(PeerId peer, bool restarted,
                std::unique_ptr<transport::Transport> transport = nullptr);
    void archive(const Node& node);
    asio::awaitable<void> supervise();
    void reap();
    std::uint64_t answered() const;
    void story_failure();

    Config config_;
    runtime::Runtime& runtime_;
    runtime::RandomStreams streams_;
    runtime::Rng failures_;
    std::vector<PeerId> ids_;
    std::map<PeerId, Role> roles_;
    std::map<PeerId, std::uint16_t> ports_;
    std::filesystem::path state_dir_;
    bool temporary_dir_ = false;
    std::unique_ptr<asio::thread_pool> sync_pool_;
    std::unique_ptr<transport::MemoryNetwork> network_;
    std::optional<auth::Key> key_;  // security on
    std::unique_ptr<NodeContext> context_;
    std::map<PeerId, std::unique_ptr<Node>> nodes_;
    std::vector<std::unique_ptr<Node>> graveyard_;  // stopped, coroutines still ending
    std::map<PeerId, std::uint32_t> incarnations_;
    std::map<PeerId, wire::Epoch> epoch_floors_;     // durable peer state: the highest epoch seen
    std::map<PeerId, runtime::TimePoint> restarts_;  // due restarts
    std::map<PeerId, std::unique_ptr<Archive>> archives_;
    std::vector<Reign> traders_;
    std::vector<Failure> failures_log_;
    std::vector<Return> returns_log_;
    std::map<const Node*, std::uint32_t> life_of_;
    std::map<std::pair<PeerId, std::uint32_t>, Summary::ReturnLine>
        lives_;                      // lives after the first
    std::uint64_t story_after_ = 0;  // the story schedule: answered requests before the failure
    bool story_failed_ = false;
    runtime::Timer tick_;
    runtime::TimePoint started_{};
    runtime::TimePoint ended_{};
    bool stop_requested_ = false;
    bool keep_running_ = false;
    bool done_ = false;
    runtime::Duration clock_spread_{0};
    std::string end_reason_;
};

}  // namespace tp::peer
