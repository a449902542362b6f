#include "tp/peer/cluster.hpp"

#include <algorithm>
#include <cstdlib>
#include <system_error>

#include "tp/peer/log.hpp"
#include "tp/transport/factory.hpp"

namespace tp::peer {

namespace {

std::filesystem::path make_temporary_dir() {
    std::string templ = (std::filesystem::temp_directory_path() / "trading-post-XXXXXX").string();
    if (::mkdtemp(templ.data()) == nullptr) {
        throw std::system_error(errno, std::generic_category(), "mkdtemp " + templ);
    }
    return templ;
}

}  // namespace

// Passes every observation on to the observer the caller set, and tells the cluster's owner that
// something moved while it waits on the peers' progress (no polling for it).
struct Cluster::Watcher final : NodeObserver {
    Cluster& cluster;
    NodeObserver* next = nullptr;
    explicit Watcher(Cluster& c) : cluster(c) {}

    void note() {
        if (cluster.watching_) cluster.changed();
    }
    void sent(const Node& self, const wire::Envelope& envelope) override {
        if (next) next->sent(self, envelope);
        note();
    }
    void received(const Node& self, const wire::Envelope& envelope) override {
        if (next) next->received(self, envelope);
        note();
    }
    void became_trader(const Node& self, wire::Epoch epoch, const market::Books& books,
                       std::uint64_t durable) override {
        if (next) next->became_trader(self, epoch, books, durable);
        note();
    }
    void persisted(const Node& self, wire::Epoch epoch, const market::Event& event,
                   std::uint64_t lsn) override {
        if (next) next->persisted(self, epoch, event, lsn);
        note();
    }
    void proposed(const Node& self, wire::Epoch epoch, const market::Event& event,
                  std::uint64_t lsn) override {
        if (next) next->proposed(self, epoch, event, lsn);
        note();
    }
    void synced(const Node& self, std::uint64_t lsn) override {
        if (next) next->synced(self, lsn);
        note();
    }
    void released(const Node& self, wire::Epoch epoch, const market::Output& output) override {
        if (next) next->released(self, epoch, output);
        note();
    }
};

Cluster::Cluster(const Config& config, runtime::Runtime& runtime, runtime::RandomStreams& streams,
                 bool scripted)
    : config_(config), runtime_(runtime), streams_(streams) {
    for (std::uint32_t i = 1; i <= config_.peers; ++i) ids_.push_back(i);

    // Roles: as configured, else drawn from the seed with at least one seller and one buyer among
    // the peers that start as traders' customers (all but the highest id, the first trader).
    if (!config_.roles.empty()) {
        for (std::size_t i = 0; i < ids_.size(); ++i) roles_[ids_[i]] = config_.roles[i];
    } else {
        runtime::Rng rng = streams_.stream("roles");
        for (PeerId id : ids_) roles_[id] = rng.bernoulli(0.5) ? Role::buyer : Role::seller;
        auto customers = std::vector<PeerId>(ids_.begin(), ids_.end() - 1);
        auto has = [&](Role r) {
            return std::any_of(customers.begin(), customers.end(),
                               [&](PeerId p) { return roles_[p] == r; });
        };
        if (!has(Role::seller)) roles_[customers.front()] = Role::seller;
        if (!has(Role::buyer)) roles_[customers.back()] = Role::buyer;
    }

    // A state directory of the caller's outlives the run: the peers' incarnations and epoch floors
    // go to files there, so a second run on it never reuses the first run's ids. A throw-away one
    // (the simulator's, a run without --state-dir) keeps them in memory.
    if (config_.storage.state_dir.empty()) {
        state_dir_ = make_temporary_dir();
        temporary_dir_ = true;
        peer_states_ = PeerStateStore::in_memory();
    } else {
        state_dir_ = config_.storage.state_dir;
        // A template ("state/peer-{id}") names each peer's own directory; the process's files
        // (the peers' states, the shared journal) go beside them.
        if (state_dir_.string().find("{id}") != std::string::npos) {
            state_dir_ = state_dir_.parent_path().empty() ? "." : state_dir_.parent_path();
        }
        std::filesystem::create_directories(state_dir_);
        peer_states_ = PeerStateStore::in_files(state_dir_);
    }
    if (!runtime_.is_virtual()) {
        // Each peer's syncs run one at a time; in quorum mode every peer syncs its own replica,
        // so they get threads of their own (as processes on their own hosts would), up to 8.
        const std::size_t threads = config_.replication.mode == ReplicationMode::quorum
                                        ? std::min<std::size_t>(ids_.size(), 8)
                                        : 1;
        sync_pool_ = std::make_unique<asio::thread_pool>(threads);
    }
    if (config_.network.transport == TransportKind::memory) {
        network_ = std::make_unique<transport::MemoryNetwork>(runtime_, streams_.stream("network"));
    }

    context_ = std::make_unique<NodeContext>(
        NodeContext{runtime_, config_, ids_, journal_dir(), sync_pool_.get(),
                    [this](PeerId peer, wire::Epoch epoch) {
                        traders_.push_back({peer, epoch, runtime_.now()});
                        changed();
                    },
                    [this](PeerId) { changed(); }, scripted});
    context_->on_epoch = [this](PeerId peer, wire::Epoch epoch) {
        peer_states_->note_epoch(peer, epoch);
    };
    context_->on_finished = [this](const Node&) { changed(); };
    context_->on_seeded = [this](PeerId peer) { peer_states_->note_seeded(peer); };
    context_->replica_store = [this](PeerId peer) -> JournalStore* {
        auto& store = replica_stores_[peer];
        if (!store) {
            journal::Options options;
            options.durability = config_.storage.durability;
            options.create_if_missing = true;
            store = make_file_journal_store(replica_dir(peer), options);
        }
        return store.get();
    };
    // Security on: the key file's key, else one for this run (from the seed on the in-memory
    // network, so a run repeats byte for byte; from the system's random source on UDP).
    if (config_.security.mode == SecurityMode::on) {
        if (!config_.security.key_file.empty()) {
            key_ = auth::load_key(config_.security.key_file);
        } else if (network_) {
            key_ = auth::Key::derive(streams_.stream_seed("key"));
        } else {
            key_ = auth::Key::generate();
        }
        context_->key = &*key_;
    }
}

Cluster::~Cluster() {
    for (auto& [id, node] : nodes_) node->stop();
    for (auto& node : graveyard_) node->stop();
    // Let every coroutine see its stop before the nodes go (a pool sync may still be in flight).
    if (sync_pool_) sync_pool_->join();
    nodes_.clear();
    graveyard_.clear();
    if (temporary_dir_) {
        std::error_code ec;
        std::filesystem::remove_all(state_dir_, ec);
    }
}

std::filesystem::path Cluster::replica_dir(PeerId id) const {
    if (config_.storage.state_dir.string().find("{id}") != std::string::npos) {
        return state_dir_of(config_, id) / "replica";
    }
    return state_dir_ / ("peer-" + std::to_string(id)) / "replica";
}

void Cluster::ensure_story_roles() {
    if (!config_.roles.empty() || ids_.size() < 5) return;
    const std::vector<PeerId> customers(ids_.begin(), ids_.end() - 1);
    auto count = [&](Role r) {
        return static_cast<std::size_t>(std::count_if(customers.begin(), customers.end(),
                                                      [&](PeerId p) { return roles_[p] == r; }));
    };
    // Sellers are made from the front, buyers from the back: two of each, from four customers or
    // more, never undo each other.
    for (std::size_t i = 0; count(Role::seller) < 2 && i < customers.size(); ++i)
        roles_[customers[i]] = Role::seller;
    for (std::size_t i = customers.size(); count(Role::buyer) < 2 && i > 0; --i)
        roles_[customers[i - 1]] = Role::buyer;
}

std::unique_ptr<transport::Transport> Cluster::make_transport(PeerId peer) {
    transport::TransportConfig tc;
    tc.kind = config_.network.transport;
    tc.udp.host = config_.network.host;
    tc.udp.port = ports_[peer];  // a restarted peer binds its old port again
    tc.tcp.host = tc.udp.host;
    tc.tcp.port = tc.udp.port;
    auto t = transport::make_transport(tc, peer, runtime_, network_.get());
    if (auto* ip = dynamic_cast<transport::IpTransport*>(t.get())) {
        ports_[peer] = ip->local_port();
    }
    return t;
}

void Cluster::launch(PeerId peer, bool restarted, std::unique_ptr<transport::Transport> transport) {
    if (const auto lost = lost_disks_.find(peer); lost != lost_disks_.end()) {
        const auto keep = lost->second;
        lost_disks_.erase(lost);
        peer_states_->lose(peer);
        JournalStore* store = context_->replica_store ? context_->replica_store(peer) : nullptr;
        if (auto* memory = dynamic_cast<MemoryJournalStore*>(store)) {
            if (keep) {
                memory->roll_back(*keep);
            } else {
                memory->lose_disk();
            }
        } else if (store != nullptr) {
            std::error_code ec;
            std::filesystem::remove_all(replica_dir(peer), ec);
        }
    }
    const PeerState life = peer_states_->start_life(peer);
    const std::uint32_t incarnation = life.incarnation;
    if (!transport) transport = make_transport(peer);
    // Every peer knows the founders' addresses (the cluster file's); a newcomer's, each learns
    // from the trader's books.
    std::optional<PeerCoreOptions::Joining> join;
    if (const auto contact = contacts_.find(peer); contact != contacts_.end()) {
        // On the in-memory network an id is the address: the host names the network.
        join = PeerCoreOptions::Joining{contact->second,
                                        network_ ? std::string("memory") : config_.network.host,
                                        network_ ? static_cast<std::uint16_t>(peer)
                                                 : ports_.at(peer)};
    }
    if (auto* ip = dynamic_cast<transport::IpTransport*>(transport.get())) {
        for (const auto& [id, port] : ports_) {
            if (port != 0 && (contacts_.count(id) == 0 || (join && id == join->contact)))
                ip->address_book().add(id, config_.network.host, port);
        }
    }
    if (wrap_transport_) transport = wrap_transport_(peer, std::move(transport));
    auto node = std::make_unique<Node>(
        *context_, peer, roles_[peer], std::move(transport),
        streams_.stream("peer", (std::uint64_t{peer} << 32) | incarnation), incarnation,
        std::move(join));
    Node& n = *node;
    n.set_epoch_floor(life.epoch);
    n.set_seeded(life.seeded);
    if (clock_spread_.count() > 0) {
        auto rng = streams_.stream("clock-base", (std::uint64_t{peer} << 32) | incarnation);
        n.set_clock_base(runtime::Duration(static_cast<runtime::Duration::rep>(
            rng.uniform_int(0, static_cast<std::uint64_t>(clock_spread_.count())))));
    }
    life_of_[&n] = incarnation;
    nodes_[peer] = std::move(node);
    if (restarted) n.start(true);
}

void Cluster::launch_all() {
    watcher_ = std::make_unique<Watcher>(*this);
    watcher_->next = context_->observer;
    context_->observer = watcher_.get();
    // Bind every socket first (ephemeral ports unless a base port is set), so that every address
    // book is complete from the first message.
    std::map<PeerId, std::unique_ptr<transport::Transport>> bound;
    for (PeerId id : ids_) {
        if (network_ == nullptr && config_.network.base_port != 0) {
            ports_[id] = static_cast<std::uint16_t>(config_.network.base_port + id);
        }
        bound[id] = make_transport(id);
    }
    for (PeerId id : ids_) launch(id, false, std::move(bound[id]));
    // Every endpoint exists before anyone sends its first Election. A market continued from its
    // state directory is in later lives: its peers listen before they claim, as a restarted
    // `trading-post peer` does, so the hellos that teach the members each new life are through
    // before the first Election (else each Election is refused, every peer wins its own).
    for (PeerId id : ids_) {
        Node& n = *nodes_[id];
        n.start(life_of_.at(&n) > 1);
    }
}

Node* Cluster::node(PeerId peer) noexcept {
    auto it = nodes_.find(peer);
    return it == nodes_.end() ? nullptr : it->second.get();
}

const Node* Cluster::node(PeerId peer) const noexcept {
    auto it = nodes_.find(peer);
    return it == nodes_.end() ? nullptr : it->second.get();
}

std::optional<PeerId> Cluster::trader() const noexcept {
    for (const auto& [id, node] : nodes_) {
        if (node->is_trader()) return id;
    }
    return std::nullopt;
}

bool Cluster::buyers_done() const noexcept {
    for (const auto& [id, node] : nodes_) {
        if (node->is_buyer() && !node->is_trader() && !node->buyer().done) return false;
    }
    return true;
}

bool Cluster::settled() const {
    const auto t = trader();
    if (!t || node(*t)->books() == nullptr || node(*t)->books()->payments().pending_count() > 0)
        return false;
    return std::all_of(nodes_.begin(), nodes_.end(), [](const auto& n) {
        const auto& lots = n.second->seller().lots;
        return n.second->is_trader() ||
               std::all_of(lots.begin(), lots.end(), [](const OwnLot& lot) { return lot.acked; });
    });
}

std::uint64_t Cluster::answered() const {
    std::uint64_t n = 0;
    for (const auto& [peer, a] : archives_) n += a.totals.filled + a.totals.refused;
    for (const auto& [peer, node] : nodes_) {
        n += node->buyer().totals.filled + node->buyer().totals.refused;
        const auto& out = node->buyer().outstanding;
        if (out && out->answered) ++n;
    }
    return n;
}

void Cluster::crash(PeerId peer, std::optional<runtime::Duration> restart_after) {
    auto it = nodes_.find(peer);
    if (it == nodes_.end()) return;
    const bool was_trader = it->second->is_trader();
    peer_logger(peer)->info("fails{}", was_trader ? " (it was the trader)" : "");
    failures_log_.push_back({peer, runtime_.now(), was_trader});
    it->second->stop();
    if (network_) network_->crash(peer);
    graveyard_.push_back(std::move(it->second));
    nodes_.erase(it);
    if (restart_after) {
        restarts_[peer] = runtime_.now() + *restart_after;
    } else {
        restarts_.erase(peer);
    }
}

void Cluster::lose_disk(PeerId peer, std::optional<std::uint64_t> keep) {
    lost_disks_[peer] = keep;
}

void Cluster::restart(PeerId peer) {
    if (nodes_.count(peer)) return;
    restarts_.erase(peer);
    if (network_) network_->recover(peer);
    peer_logger(peer)->info("comes back as a {}", to_string(roles_[peer]));
    // A newcomer asks again through a member that is up (its contact may not be).
    if (auto contact = contacts_.find(peer); contact != contacts_.end() && !node(contact->second)) {
        for (const auto& [id, n] : nodes_) {
            if (!n->left() && !n->core().joining()) {
                contact->second = id;
                break;
            }
        }
    }
    launch(peer, true, nullptr);
    returns_log_.push_back({peer, runtime_.now(), life_of_.at(nodes_.at(peer).get())});
}

PeerId Cluster::join(Role role, PeerId contact) {
    const PeerId peer = ids_.back() + 1;
    if (network_ && peer > 0xFFFF) throw std::out_of_range("no newcomer id left on the network");
    ids_.push_back(peer);
    roles_[peer] = role;
    contacts_[peer] = contact;
    peer_logger(peer)->info("joins through peer {} as a {}", contact, to_string(role));
    launch(peer, false, nullptr);
    nodes_.at(peer)->start(false);
    return peer;
}

void Cluster::leave(PeerId peer, bool withdraw_lots) {
    if (Node* n = node(peer)) n->leave(withdraw_lots);
}

void Cluster::archive(const Node& node) {
    Archive& a = archives_[node.id()];
    const BuyerState& bought = node.buyer();
    a.purchases.insert(a.purchases.end(), bought.purchases.begin(), bought.purchases.end());
    a.totals.filled += bought.totals.filled;
    a.totals.refused += bought.totals.refused;
    a.totals.quantity += bought.totals.quantity;
    const auto spent = market::checked_add(a.totals.spent, bought.totals.spent);
    if (spent) a.totals.spent = *spent;
    a.spent_overflow = a.spent_overflow || bought.spent_overflow || !spent;
    for (const auto& [id, amount] : node.seller().payments) a.payments.emplace(id, amount);
    if (!node.failure().empty()) a.failures.push_back(node.failure());
    const auto life = life_of_.find(&node);
    if (life == life_of_.end()) return;
    // A life after a failure: what the returned peer did in it, for the summary.
    const bool returned = std::any_of(returns_log_.begin(), returns_log_.end(), [&](const auto& r) {
        return r.peer == node.id() && r.life == life->second;
    });
    if (returned) {
        LifeAfter line;
        line.role = node.role();
        line.requests = bought.totals.filled + bought.totals.refused;
        line.filled = bought.totals.filled;
        for (const auto& lot : node.seller().lots) line.deposits += lot.acked ? 1 : 0;
        line.sold = node.seller().sold;
        line.earned = node.seller().earned;
        lives_[{node.id(), life->second}] = line;
    }
    life_of_.erase(life);
}

void Cluster::reap(runtime::TimePoint now) {
    // A peer that stopped on an error of its own (a journal it cannot use) stays down: the
    // summary reports it, and the run fails. One that left is gone for good.
    for (auto it = nodes_.begin(); it != nodes_.end();) {
        if (it->second->stopped() && it->second->left()) {
            restarts_.erase(it->first);
            if (network_) network_->crash(it->first);
            graveyard_.push_back(std::move(it->second));
            it = nodes_.erase(it);
        } else if (it->second->stopped() && !it->second->failure().empty()) {
            graveyard_.push_back(std::move(it->second));
            it = nodes_.erase(it);
        } else {
            ++it;
        }
    }
    for (auto it = graveyard_.begin(); it != graveyard_.end();) {
        if ((*it)->finished()) {
            archive(**it);
            it = graveyard_.erase(it);
        } else {
            ++it;
        }
    }
    // Restarting needs the previous life's socket closed first: reaped before it comes back.
    std::vector<PeerId> due;
    for (const auto& [peer, at] : restarts_) {
        const bool alive_still = std::any_of(graveyard_.begin(), graveyard_.end(),
                                             [&](const auto& n) { return n->id() == peer; });
        if (at <= now && !alive_still) due.push_back(peer);
    }
    for (PeerId peer : due) restart(peer);
}

std::optional<runtime::TimePoint> Cluster::next_restart() const {
    // A peer whose previous life is still ending is not due by the clock: its end wakes the
    // supervisor (NodeContext::on_finished).
    std::optional<runtime::TimePoint> next;
    for (const auto& [peer, at] : restarts_) {
        const bool alive_still = std::any_of(graveyard_.begin(), graveyard_.end(),
                                             [&](const auto& n) { return n->id() == peer; });
        if (!alive_still && (!next || at < *next)) next = at;
    }
    return next;
}

void Cluster::stop_all() {
    for (auto& [id, node] : nodes_) {
        node->stop();
        graveyard_.push_back(std::move(node));
    }
    nodes_.clear();
    restarts_.clear();
}

}  // namespace tp::peer
