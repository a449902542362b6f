#pragma once

#include <asio/thread_pool.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tp/peer/config.hpp"
#include "tp/peer/node.hpp"
#include "tp/peer/peer_state_store.hpp"
#include "tp/runtime/random.hpp"
#include "tp/runtime/runtime.hpp"
#include "tp/transport/memory_network.hpp"

namespace tp::peer {

// The peers of one process: every peer a Node on one runtime, over UDP loopback or the in-memory
// network (made by the transport factory), sharing one state directory. It launches, crashes and
// restarts them, numbers their lives from durable peer state, and keeps what each life saw once it
// has ended. It decides nothing on its own: LocalMarket says when.
class Cluster {
public:
    Cluster(const Config& config, runtime::Runtime& runtime, runtime::RandomStreams& streams,
            bool scripted);
    ~Cluster();
    Cluster(const Cluster&) = delete;
    Cluster& operator=(const Cluster&) = delete;

    // Called (on the loop, from inside a node) whenever what the supervisor waits for may have
    // changed: a life's coroutines all ended, a buyer is done, a new trader; and, while watching(),
    // any step of any peer (an answer, an acknowledged payment or deposit).
    void on_change(std::function<void()> changed) { changed_ = std::move(changed); }
    void watch(bool on) noexcept { watching_ = on; }

    // Each life gets a steady clock of its own, up to `spread` from the runtime's.
    void vary_clock_bases(runtime::Duration spread) noexcept { clock_spread_ = spread; }
    // Wraps each life's transport (made by the factory) in one of the caller's: a fault of the
    // caller's own making (a transport that holds sends back, say). Set before launch_all().
    using TransportWrapper = std::function<std::unique_ptr<transport::Transport>(
        PeerId, std::unique_ptr<transport::Transport>)>;
    void wrap_transports(TransportWrapper wrap) { wrap_transport_ = std::move(wrap); }
    // Roles of the original lab's story: two buyers and two sellers among the first trader's
    // customers when the roles were drawn and there are enough peers.
    void ensure_story_roles();

    // Binds every socket first (a complete address book from the first message), then starts
    // every peer.
    void launch_all();
    // A failure of `peer` now; it is due back after `restart_after` (nullopt: never).
    void crash(PeerId peer, std::optional<runtime::Duration> restart_after);
    // The disk of `peer`, which is down, is lost (quorum mode): its next life starts without its
    // replica and without its durable peer state but its incarnation (docs/replication.md says
    // why that one is kept). With `keep`, a stale copy comes back instead, holding the replica's
    // records up to `keep` (memory stores; a file store loses everything). Either way the replica
    // is not seeded: it relearns its promises from a quorum before it acknowledges anything.
    void lose_disk(PeerId peer, std::optional<std::uint64_t> keep = {});
    // Brings a failed peer back now (a new life).
    void restart(PeerId peer);
    // Issue 18: a newcomer, the next unused id, joins the running market as a `role` through the
    // member `contact` (the founders' ids are 1..N; a newcomer's are above every id seen). A
    // restarted newcomer asks to join again, through a live member. Returns its id.
    PeerId join(Role role, PeerId contact);
    // A graceful leave of a live member (its unsold lots go with it when `withdraw_lots`): once
    // the trader answers, the peer stops and never comes back. Its id is never reused.
    void leave(PeerId peer, bool withdraw_lots);
    // Archives lives whose coroutines have ended (and lives that stopped on an error of their
    // own), then restarts every peer due back whose previous life is archived.
    void reap(runtime::TimePoint now);
    // When the earliest due restart is, if any.
    std::optional<runtime::TimePoint> next_restart() const;
    bool restart_pending() const noexcept { return !restarts_.empty(); }
    // Every live peer stops, and nobody comes back; stopped() once all have been reaped.
    void stop_all();
    bool stopped() const noexcept { return nodes_.empty() && graveyard_.empty(); }

    Node* node(PeerId peer) noexcept;
    const Node* node(PeerId peer) const noexcept;
    // Every peer of the market so far: the founders, then each newcomer (one that left stays).
    const std::vector<PeerId>& peers() const noexcept { return ids_; }
    // The peers the market started with (the config's): the replica set is theirs.
    std::span<const PeerId> founders() const noexcept {
        return std::span<const PeerId>(ids_).first(config_.peers);
    }
    // Joined after the start (issue 18): its id is above every founder's.
    bool is_newcomer(PeerId peer) const noexcept { return peer > founders().back(); }
    Role role(PeerId peer) const { return roles_.at(peer); }
    std::optional<PeerId> trader() const noexcept;
    bool buyers_done() const noexcept;
    // The last payments reached their sellers and the last deposits the trader.
    bool settled() const;
    // Requests answered, in every life so far (an answer not yet filed by its buyer included).
    std::uint64_t answered() const;

    const std::filesystem::path& state_dir() const noexcept { return state_dir_; }
    std::filesystem::path journal_dir() const { return state_dir_ / "journal"; }
    // Quorum mode: where peer `id` keeps its replica of the trader's log (its own directory:
    // the storage.state_dir template's, or <state dir>/peer-<id>).
    std::filesystem::path replica_dir(PeerId id) const;
    NodeContext& context() noexcept { return *context_; }
    const NodeContext& context() const noexcept { return *context_; }
    transport::MemoryNetwork* memory_network() noexcept { return network_.get(); }

    struct Reign {
        PeerId peer = 0;
        wire::Epoch epoch = 0;
        runtime::TimePoint at{};
    };
    struct Failure {
        PeerId peer = 0;
        runtime::TimePoint at{};
        bool was_trader = false;
    };
    struct Return {
        PeerId peer = 0;
        runtime::TimePoint at{};
        std::uint32_t life = 0;  // the incarnation it came back with
    };
    // What a returned peer did in one life after a failure.
    struct LifeAfter {
        Role role = Role::buyer;
        std::uint64_t requests = 0;
        std::uint64_t filled = 0;
        std::uint64_t deposits = 0;
        std::uint64_t sold = 0;
        Money earned = 0;
    };
    // What a peer saw in its ended lives.
    struct Archive {
        std::vector<Purchase> purchases;  // what each life's buyer kept (all, unless bounded)
        market::BuyerTotals totals;       // every answer of every life
        bool spent_overflow = false;      // the totals' spent passed the range of Money
        std::map<wire::PaymentId, Money> payments;
        std::vector<std::string> failures;  // why lives ended on an error of their own
    };
    const std::vector<Reign>& traders() const noexcept { return traders_; }
    const std::vector<Failure>& failures() const noexcept { return failures_log_; }
    const std::vector<Return>& returns() const noexcept { return returns_log_; }
    const std::map<PeerId, Archive>& archives() const noexcept { return archives_; }
    // By (peer, incarnation), for lives after a return that have ended.
    const std::map<std::pair<PeerId, std::uint32_t>, LifeAfter>& lives() const noexcept {
        return lives_;
    }

private:
    std::unique_ptr<transport::Transport> make_transport(PeerId peer);
    void launch(PeerId peer, bool restarted, std::unique_ptr<transport::Transport> transport);
    void archive(const Node& node);
    void changed() {
        if (changed_) changed_();
    }

    const Config& config_;
    runtime::Runtime& runtime_;
    runtime::RandomStreams& streams_;
    std::vector<PeerId> ids_;
    std::map<PeerId, Role> roles_;
    std::map<PeerId, std::uint16_t> ports_;
    std::map<PeerId, PeerId> contacts_;  // a newcomer's, through whom it joins
    std::filesystem::path state_dir_;
    bool temporary_dir_ = false;
    std::unique_ptr<PeerStateStore> peer_states_;
    // Quorum mode: each peer's replica store (files), unless the context names others.
    std::map<PeerId, std::unique_ptr<JournalStore>> replica_stores_;
    std::map<PeerId, std::optional<std::uint64_t>> lost_disks_;  // applied at the next launch
    std::unique_ptr<asio::thread_pool> sync_pool_;
    std::unique_ptr<transport::MemoryNetwork> network_;
    TransportWrapper wrap_transport_;
    std::optional<auth::Key> key_;  // security on
    std::unique_ptr<NodeContext> context_;
    struct Watcher;
    std::unique_ptr<Watcher> watcher_;
    std::map<PeerId, std::unique_ptr<Node>> nodes_;
    std::vector<std::unique_ptr<Node>> graveyard_;   // stopped, coroutines still ending
    std::map<PeerId, runtime::TimePoint> restarts_;  // due restarts
    std::map<PeerId, Archive> archives_;
    std::vector<Reign> traders_;
    std::vector<Failure> failures_log_;
    std::vector<Return> returns_log_;
    std::map<const Node*, std::uint32_t> life_of_;
    std::map<std::pair<PeerId, std::uint32_t>, LifeAfter> lives_;
    std::function<void()> changed_;
    bool watching_ = false;
    runtime::Duration clock_spread_{0};
};

}  // namespace tp::peer
