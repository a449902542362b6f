#include "tp/peer/local_market.hpp"

#include <fmt/core.h>
#include <fmt/ostream.h>
#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>

#include <algorithm>
#include <cstdlib>
#include <ostream>
#include <system_error>

#include "tp/journal/log.hpp"
#include "tp/market/books.hpp"
#include "tp/peer/books.hpp"
#include "tp/peer/ids.hpp"
#include "tp/peer/log.hpp"
#include "tp/transport/udp_transport.hpp"

namespace tp::peer {

namespace {

using namespace std::chrono_literals;

// How often the supervisor looks at the market: reaps stopped peers, restarts, injects failures.
constexpr runtime::Duration supervise_every = 5ms;

std::filesystem::path make_temporary_dir() {
    std::string templ = (std::filesystem::temp_directory_path() / "trading-post-XXXXXX").string();
    if (::mkdtemp(templ.data()) == nullptr) {
        throw std::system_error(errno, std::generic_category(), "mkdtemp " + templ);
    }
    return templ;
}

runtime::Duration percentile(std::vector<runtime::Duration> sorted, double p) {
    if (sorted.empty()) return {};
    std::sort(sorted.begin(), sorted.end());
    // Nearest rank.
    auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(sorted.size())));
    rank = std::clamp<std::size_t>(rank, 1, sorted.size());
    return sorted[rank - 1];
}

double seconds(runtime::Duration d) {
    return static_cast<double>(d.count()) / 1e9;
}

std::string format_ms(runtime::Duration d) {
    return fmt::format("{:.3f} ms", static_cast<double>(d.count()) / 1e6);
}

}  // namespace

struct LocalMarket::Archive {
    std::vector<Purchase> purchases;
    std::map<wire::PaymentId, Money> payments;
    std::vector<std::string> failures;  // why lives ended on an error of their own
};

LocalMarket::LocalMarket(const Config& config, runtime::Runtime& runtime, bool scripted)
    : config_(config),
      runtime_(runtime),
      streams_(config.seed),
      failures_(streams_.stream("failures")),
      tick_(runtime) {
    for (std::uint32_t i = 1; i <= config_.peers; ++i) ids_.push_back(i);

    // Roles: as configured, else drawn from the seed with at least one seller and one buyer among
    // the peers that start as traders' customers (all but the highest id, the first trader).
    // start() asks for several of each in a run that ends with its buyers.
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

    if (config_.storage.state_dir.empty()) {
        state_dir_ = make_temporary_dir();
        temporary_dir_ = true;
    } else {
        state_dir_ = config_.storage.state_dir;
        std::filesystem::create_directories(state_dir_);
    }
    if (!runtime_.is_virtual()) sync_pool_ = std::make_unique<asio::thread_pool>(1);
    if (config_.network.transport == TransportKind::memory) {
        network_ = std::make_unique<transport::MemoryNetwork>(runtime_, streams_.stream("network"));
    }

    context_ = std::make_unique<NodeContext>(
        NodeContext{runtime_, config_, ids_, state_dir_ / "journal", sync_pool_.get(),
                    [this](PeerId peer, wire::Epoch epoch) {
                        traders_.push_back({peer, epoch, runtime_.now()});
                    },
                    nullptr, scripted});
    // Durable peer state, kept here across a peer's lives (its process is this one).
    context_->on_epoch = [this](PeerId peer, wire::Epoch epoch) {
        auto& floor = epoch_floors_[peer];
        floor = std::max(floor, epoch);
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

LocalMarket::~LocalMarket() {
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

std::unique_ptr<transport::Transport> LocalMarket::make_transport(PeerId peer) {
    if (network_) return network_->attach(peer);
    transport::UdpConfig udp;
    udp.host = config_.network.host;
    udp.port = ports_[peer];
    auto t = std::make_unique<transport::UdpTransport>(runtime_.get_executor(), peer, udp);
    ports_[peer] = t->local_endpoint().port();
    return t;
}

void LocalMarket::launch(PeerId peer, bool restarted,
                         std::unique_ptr<transport::Transport> transport) {
    const std::uint32_t incarnation = ++incarnations_[peer];
    if (!transport) transport = make_transport(peer);
    if (auto* udp = dynamic_cast<transport::UdpTransport*>(transport.get())) {
        for (const auto& [id, port] : ports_) {
            if (port != 0) udp->address_book().add(id, config_.network.host, port);
        }
    }
    auto node = std::make_unique<Node>(
        *context_, peer, roles_[peer], std::move(transport),
        streams_.stream("peer", (std::uint64_t{peer} << 32) | incarnation), incarnation);
    Node& n = *node;
    n.set_epoch_floor(epoch_floors_[peer]);
    if (clock_spread_.count() > 0) {
        auto rng = streams_.stream("clock-base", (std::uint64_t{peer} << 32) | incarnation);
        n.set_clock_base(runtime::Duration(static_cast<runtime::Duration::rep>(
            rng.uniform_int(0, static_cast<std::uint64_t>(clock_spread_.count())))));
    }
    life_of_[&n] = incarnation;
    nodes_[peer] = std::move(node);
    if (restarted) n.start(true);
}

void LocalMarket::start() {
    started_ = runtime_.now();
    // A run that ends when its buyers are done tells the original lab's story: several buyers and
    // sellers (at least two of each among four customers or more, when the roles are drawn), and
    // on the story schedule one failure of the trader. The simulator (keep_running) keeps the
    // seed's draw, which its seeds explore.
    const bool story = !context_->scripted && !keep_running_;
    if (story && config_.roles.empty() && ids_.size() >= 5) {
        const std::vector<PeerId> customers(ids_.begin(), ids_.end() - 1);
        auto count = [&](Role r) {
            return static_cast<std::size_t>(std::count_if(
                customers.begin(), customers.end(), [&](PeerId p) { return roles_[p] == r; }));
        };
        // Sellers are made from the front, buyers from the back: two of each, from four
        // customers or more, never undo each other.
        for (std::size_t i = 0; count(Role::seller) < 2 && i < customers.size(); ++i)
            roles_[customers[i]] = Role::seller;
        for (std::size_t i = customers.size(); count(Role::buyer) < 2 && i > 0; --i)
            roles_[customers[i - 1]] = Role::buyer;
    }
    // The story schedule: the trader fails once a third of the requests the first trader's
    // customers will make have been answered (at least one).
    if (story && !config_.failure.probability && config_.behaviour.max_transactions > 0) {
        std::uint64_t buyers = 0;
        for (std::size_t i = 0; i + 1 < ids_.size(); ++i)
            buyers += roles_[ids_[i]] != Role::seller ? 1 : 0;
        story_after_ = std::max<std::uint64_t>(1, buyers * config_.behaviour.max_transactions / 3);
    }
    // Bind every socket first (ephemeral ports unless a base port is set), so that every address
    // book is complete from the first message. A restarted peer binds its old port again.
    std::map<PeerId, std::unique_ptr<transport::Transport>> bound;
    for (PeerId id : ids_) {
        if (network_ == nullptr && config_.network.base_port != 0) {
            ports_[id] = static_cast<std::uint16_t>(config_.network.base_port + id);
        }
        bound[id] = make_transport(id);
    }
    for (PeerId id : ids_) launch(id, false, std::move(bound[id]));
    // Every endpoint exists before anyone sends its first Election.
    for (PeerId id : ids_) nodes_[id]->start(false);
    asio::co_spawn(runtime_.get_executor(), supervise(), [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
    });
}

void LocalMarket::request_stop() {
    stop_requested_ = true;
    tick_.cancel();
}

Node* LocalMarket::node(PeerId peer) noexcept {
    auto it = nodes_.find(peer);
    return it == nodes_.end() ? nullptr : it->second.get();
}

std::optional<PeerId> LocalMarket::trader() const noexcept {
    for (const auto& [id, node] : nodes_) {
        if (node->is_trader()) return id;
    }
    return std::nullopt;
}

bool LocalMarket::buyers_done() const noexcept {
    for (const auto& [id, node] : nodes_) {
        if (node->is_buyer() && !node->is_trader() && !node->buyer().done) return false;
    }
    return true;
}

void LocalMarket::crash(PeerId peer, std::optional<runtime::Duration> restart_after) {
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

void LocalMarket::restart(PeerId peer) {
    if (nodes_.count(peer)) return;
    restarts_.erase(peer);
    if (network_) network_->recover(peer);
    peer_logger(peer)->info("comes back as a {}", to_string(roles_[peer]));
    launch(peer, true);
    returns_log_.push_back({peer, runtime_.now(), incarnations_[peer]});
}

void LocalMarket::archive(const Node& node) {
    auto& a = archives_[node.id()];
    if (!a) a = std::make_unique<Archive>();
    const auto& purchases = node.buyer().purchases;
    a->purchases.insert(a->purchases.end(), purchases.begin(), purchases.end());
    for (const auto& [id, amount] : node.seller().payments) a->payments.emplace(id, amount);
    if (!node.failure().empty()) a->failures.push_back(node.failure());
    // A life after a failure: what the returned peer did in it, for the summary.
    const auto life = life_of_.find(&node);
    if (life != life_of_.end()) {
        if (life->second > 1) {
            Summary::ReturnLine line;
            line.peer = node.id();
            line.role = node.role();
            line.requests = purchases.size();
            for (const auto& p : purchases) line.filled += p.filled ? 1 : 0;
            for (const auto& lot : node.seller().lots) line.deposits += lot.acked ? 1 : 0;
            line.sold = node.seller().sold;
            line.earned = node.seller().earned;
            lives_[{node.id(), life->second}] = line;
        }
        life_of_.erase(life);
    }
}

std::uint64_t LocalMarket::answered() const {
    std::uint64_t n = 0;
    for (const auto& [peer, a] : archives_) n += a->purchases.size();
    for (const auto& [peer, node] : nodes_) n += node->buyer().purchases.size();
    return n;
}

void LocalMarket::story_failure() {
    if (story_after_ == 0 || story_failed_ || answered() < story_after_) return;
    if (auto t = trader()) {
        story_failed_ = true;
        crash(*t, config_.failure.recovery_delay);
    }
}

std::map<PeerId, std::vector<Purchase>> LocalMarket::purchases() const {
    std::map<PeerId, std::vector<Purchase>> out;
    for (const auto& [peer, a] : archives_) out[peer] = a->purchases;
    return out;
}

void LocalMarket::reap() {
    for (auto it = graveyard_.begin(); it != graveyard_.end();) {
        if ((*it)->finished()) {
            archive(**it);
            it = graveyard_.erase(it);
        } else {
            ++it;
        }
    }
}

asio::awaitable<void> LocalMarket::supervise() {
    runtime::TimePoint next_failure = started_ + config_.failure.time_quantum;
    std::optional<runtime::TimePoint> buyers_done_at;
    // Restarting needs the previous life's socket closed first: reaped before it comes back.
    auto restart_due = [&] {
        for (auto it = restarts_.begin(); it != restarts_.end();) {
            const PeerId peer = it->first;
            const bool alive_still = std::any_of(graveyard_.begin(), graveyard_.end(),
                                                 [&](const auto& n) { return n->id() == peer; });
            if (it->second <= runtime_.now() && !alive_still) {
                ++it;
                restart(peer);
            } else {
                ++it;
            }
        }
    };
    while (!stop_requested_) {
        tick_.expires_after(supervise_every);
        co_await tick_.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
        const auto now = runtime_.now();
        // A peer that stopped on an error of its own (a journal it cannot use) stays down: the
        // summary reports it, and the run fails.
        for (auto it = nodes_.begin(); it != nodes_.end();) {
            if (it->second->stopped() && !it->second->failure().empty()) {
                graveyard_.push_back(std::move(it->second));
                it = nodes_.erase(it);
            } else {
                ++it;
            }
        }
        reap();
        restart_due();
        if (config_.duration.count() > 0 && now - started_ >= config_.duration) {
            end_reason_ = "its --duration was reached";
            break;
        }
        // On the story schedule a failed peer due back is waited for: its return is part of the
        // run. On the original lab's schedule one is nearly always due: waiting for none to be
        // would never end the run.
        const bool return_pending = !config_.failure.probability && !restarts_.empty();
        if (!context_->scripted && !keep_running_ && !return_pending && buyers_done()) {
            if (!buyers_done_at) buyers_done_at = now;
            // Let the last payments reach their sellers, and the last deposits the trader.
            auto t = trader();
            const bool deposited = std::all_of(nodes_.begin(), nodes_.end(), [&](const auto& n) {
                return n.second->is_trader() ||
                       std::all_of(n.second->seller().lots.begin(), n.second->seller().lots.end(),
                                   [](const OwnLot& lot) { return lot.acked; });
            });
            const bool settled = t && nodes_[*t]->books() &&
                                 nodes_[*t]->books()->payments().pending_count() == 0 && deposited;
            if (settled || now - *buyers_done_at >= 4 * config_.behaviour.request_timeout) {
                end_reason_ =
                    fmt::format("every buyer made its {}{}",
                                plural(config_.behaviour.max_transactions, "request"),
                                config_.duration.count() > 0 ? ", before its --duration" : "");
                break;
            }
        } else {
            buyers_done_at.reset();
        }
        if (!config_.failure.probability) {
            story_failure();
        } else if (now >= next_failure) {
            next_failure += config_.failure.time_quantum;
            if (auto t = trader(); t && failures_.bernoulli(*config_.failure.probability)) {
                crash(*t, config_.failure.recovery_delay);
            }
        }
    }
    // Shut down: every peer stops; wait for their coroutines to end.
    ended_ = runtime_.now();
    for (auto& [id, node] : nodes_) {
        node->stop();
        graveyard_.push_back(std::move(node));
    }
    nodes_.clear();
    restarts_.clear();
    while (!graveyard_.empty()) {
        reap();
        if (graveyard_.empty()) break;
        tick_.expires_after(1ms);
        co_await tick_.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
    }
    done_ = true;
}

Summary LocalMarket::summary() const {
    Summary s;
    s.seed = config_.seed;
    s.peers = config_.peers;
    s.transport = to_string(config_.network.transport);
    s.durability = config_.storage.durability;
    s.elapsed = (done_ ? ended_ : runtime_.now()) - started_;
    s.ended = end_reason_.empty() ? std::string("it was stopped") : end_reason_;
    s.crashes = failures_log_.size();
    for (const auto& r : traders_) {
        s.traders.emplace_back(r.peer, r.epoch);
        s.elected_at.push_back(r.at - started_);
    }
    s.reigns = traders_.size();
    if (config_.failure.probability) {
        s.failure_schedule = fmt::format("the trader fails with probability {} every {}",
                                         *config_.failure.probability,
                                         format_duration(config_.failure.time_quantum));
    } else if (story_after_ > 0) {
        s.failure_schedule = fmt::format("the trader fails once, after {} answered",
                                         plural(story_after_, "request"));
    } else {
        s.failure_schedule = "none";
    }
    for (const auto& f : failures_log_)
        s.failures.push_back({f.peer, f.at - started_, f.was_trader});
    for (const auto& r : returns_log_) {
        Summary::ReturnLine line;
        if (auto it = lives_.find({r.peer, r.life}); it != lives_.end()) line = it->second;
        line.peer = r.peer;
        line.role = roles_.at(r.peer);
        line.at = r.at - started_;
        s.returns.push_back(line);
    }

    // What the buyers saw, across every life.
    std::vector<runtime::Duration> rtts;
    bool spent_overflow = false;
    for (const auto& [peer, a] : archives_) {
        for (const auto& p : a->purchases) {
            ++s.requests;
            if (p.filled) {
                ++s.filled;
                s.units += p.bought;
                if (auto sum = market::checked_add(s.spent, p.amount)) {
                    s.spent = *sum;
                } else if (!spent_overflow) {  // checked: a wrapped total would look plausible
                    spent_overflow = true;
                    s.violations.push_back("the buyers' purchases add up past the range of Money");
                }
            } else {
                ++s.refused;
            }
            rtts.push_back(p.answered_at - p.sent);
        }
    }
    s.rtt_p50 = percentile(rtts, 0.50);
    s.rtt_p99 = percentile(rtts, 0.99);
    s.rtt_max = rtts.empty() ? runtime::Duration{} : *std::max_element(rtts.begin(), rtts.end());

    for (const auto& [peer, a] : archives_) {
        for (const auto& why : a->failures)
            s.violations.push_back(fmt::format("peer {} stopped: {}", peer, why));
    }

    // The durable books: what the next trader would inherit.
    std::optional<market::Books> books;
    try {
        journal::Options options;
        options.create_if_missing = true;
        auto opened = journal::Log::open(context_->journal_dir, options);
        auto replayed = replay_books(opened.recovery, market_config(config_));
        if (replayed) {
            books.emplace(std::move(replayed.value()));
        } else {
            s.violations.push_back("the durable books do not replay: " + replayed.error().message);
        }
    } catch (const std::exception& e) {
        s.violations.push_back(std::string("cannot read the durable books: ") + e.what());
    }
    if (!books) return s;

    for (auto& v : books->check_invariants()) s.violations.push_back("books: " + v);
    s.commission = books->commission_total();

    // Nothing confirmed to a buyer is missing from the books, or different there. The books keep
    // each buyer's latest answers only (its session): an older purchase must be behind it, and
    // every purchase is part of the buyer's totals.
    for (const auto& [peer, a] : archives_) {
        market::BuyerTotals confirmed;
        for (const auto& p : a->purchases) {
            if (p.filled) {
                ++confirmed.filled;
                confirmed.quantity += p.bought;
                confirmed.spent += p.amount;
            } else {
                ++confirmed.refused;
            }
        }
        const market::BuyerTotals t = books->buyer(peer);
        if (confirmed.filled > t.filled || confirmed.refused > t.refused ||
            confirmed.quantity > t.quantity || confirmed.spent > t.spent) {
            s.violations.push_back(fmt::format(
                "peer {} was answered {} filled and {} refused requests ({} for {}), more than the "
                "books record ({} filled, {} refused, {} for {})",
                peer, confirmed.filled, confirmed.refused, plural(confirmed.quantity, "unit"),
                confirmed.spent, t.filled, t.refused, plural(t.quantity, "unit"), t.spent));
        }
        const market::Session* session = books->session(peer);
        for (const auto& p : a->purchases) {
            const market::BuyResult* r = books->result(peer, p.request);
            if (r == nullptr && session != nullptr && session->latest() > p.request) continue;
            if (r == nullptr) {
                s.violations.push_back(
                    fmt::format("peer {}'s {} was answered but the books have no record of it",
                                peer, request_text(p.request)));
            } else if (r->filled() != p.filled || r->amount != p.amount ||
                       r->quantity != p.bought) {
                s.violations.push_back(fmt::format(
                    "peer {}'s {} was answered with {} for {} but the books say {} for {}", peer,
                    request_text(p.request), plural(p.bought, "unit"), p.amount,
                    plural(r->quantity, "unit"), r->amount));
            }
        }
    }
    // Every seller was paid what the books say, no more; unacknowledged payments are pending.
    for (const auto& [seller, ledger] : books->sellers()) {
        Summary::SellerLine line{seller, ledger.sold, ledger.earned, 0, ledger.pending};
        bool received_overflow = false;
        if (auto it = archives_.find(seller); it != archives_.end()) {
            for (const auto& [id, amount] : it->second->payments) {
                const auto sum = market::checked_add(line.received, amount);
                received_overflow = received_overflow || !sum;
                if (sum) line.received = *sum;
            }
        }
        if (received_overflow) {
            s.violations.push_back(fmt::format(
                "seller {} received payments adding up past the range of Money", seller));
        } else if (line.received > line.earned || line.received < line.earned - line.pending) {
            s.violations.push_back(
                fmt::format("seller {} received {} but the books say it earned {} with {} pending",
                            seller, line.received, line.earned, line.pending));
        }
        s.sellers.push_back(line);
    }
    return s;
}

void print(std::ostream& out, const Summary& s) {
    fmt::print(out, "Trading Post: {} peers on {}, seed {}, {:.2f} s\n", s.peers, s.transport,
               s.seed, static_cast<double>(s.elapsed.count()) / 1e9);
    if (!s.ended.empty()) fmt::print(out, "  ended       {}\n", s.ended);
    fmt::print(out, "  requests    {} answered: {} filled, {} refused ({} for {})\n",
               plural(s.requests, "request"), s.filled, s.refused, plural(s.units, "unit"),
               s.spent);
    std::string traders;
    for (const auto& [peer, epoch] : s.traders) {
        traders += fmt::format("{}{} (epoch {})", traders.empty() ? "" : ", ", peer,
                               election::epoch_text(epoch));
    }
    fmt::print(out, "  traders     {}\n", traders.empty() ? "none" : traders);
    fmt::print(out, "  elections   {} elected, {} injected\n", plural(s.reigns, "trader"),
               plural(s.crashes, "failure"));
    if (!s.failure_schedule.empty()) fmt::print(out, "  schedule    {}\n", s.failure_schedule);
    // Each failure of a trader, and who took over how soon.
    for (const auto& f : s.failures) {
        std::string next;
        for (std::size_t i = 0; i < s.traders.size() && i < s.elected_at.size(); ++i) {
            if (s.elected_at[i] < f.at || s.traders[i].first == f.peer) continue;
            next = fmt::format("; peer {} elected {:.2f} s later", s.traders[i].first,
                               seconds(s.elected_at[i] - f.at));
            break;
        }
        fmt::print(out, "  failover    peer {}{} failed at {:.2f} s{}\n", f.peer,
                   f.was_trader ? " (the trader)" : "", seconds(f.at), next);
    }
    for (const auto& r : s.returns) {
        std::string did;
        if (r.role != Role::seller)
            did = fmt::format("{} answered ({} filled)", plural(r.requests, "request"), r.filled);
        if (r.role != Role::buyer) {
            did += fmt::format("{}{} deposited, {} sold, earned {}", did.empty() ? "" : "; ",
                               plural(r.deposits, "lot"), plural(r.sold, "unit"), r.earned);
        }
        fmt::print(out, "  return      peer {} came back at {:.2f} s as a {}: {}\n", r.peer,
                   seconds(r.at), to_string(r.role), did);
    }
    fmt::print(out, "  commission  {}\n", s.commission);
    for (const auto& l : s.sellers) {
        fmt::print(out, "  seller {:<4} sold {}, earned {} (received {}, pending {})\n", l.seller,
                   plural(l.sold, "unit"), l.earned, l.received, l.pending);
    }
    fmt::print(out, "  round trip  p50 {}, p99 {}, max {} (retries and elections included)\n",
               format_ms(s.rtt_p50), format_ms(s.rtt_p99), format_ms(s.rtt_max));
    // The books were read back from the journal's files; only a sync makes that durable.
    const bool synced = s.durability != Durability::none;
    if (!synced) {
        fmt::print(out,
                   "  durability  none: the journal was written but never synced, so a power "
                   "failure or OS crash could lose confirmed sales\n");
    }
    if (s.ok()) {
        fmt::print(
            out,
            "  checks      OK: goods conserved, money conserved, no request executed "
            "twice, {}, every seller paid\n",
            synced ? "every confirmed sale durable" : "confirmed sales in the log (not synced)");
    } else {
        fmt::print(out, "  checks      FAILED:\n");
        for (const auto& v : s.violations) fmt::print(out, "    - {}\n", v);
    }
}

}  // namespace tp::peer
