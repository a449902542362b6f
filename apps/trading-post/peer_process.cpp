// `trading-post peer`: one peer of a cluster per process, through as many lives as it takes.
#include "peer_process.hpp"

#include <fmt/core.h>
#include <asio/signal_set.hpp>
#include <asio/thread_pool.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>

#include <unistd.h>

#include "tp/peer/journal.hpp"
#include "tp/peer/node.hpp"
#include "tp/peer/peer_state.hpp"
#include "tp/runtime/runtime.hpp"
#include "tp/runtime/random.hpp"
#include "tp/runtime/timer.hpp"
#include "tp/transport/factory.hpp"

namespace tp::app {

namespace {

// Quorum mode: nothing is shared, each peer has its own directory; shared mode: the trader's
// journal and every peer's state file in one directory (the original lab's design).
std::filesystem::path own_dir(const peer::Config& config, std::uint32_t id) {
    return config.replication.mode == peer::ReplicationMode::quorum ? peer::state_dir_of(config, id)
                                                                    : config.storage.state_dir;
}

struct LifeEnd {
    int status = 0;
    std::optional<std::uint32_t> later_life;  // a member knows a later life: start again
};

// One life of the peer: its own runtime, socket and node, from its durable state.
LifeEnd run_life(const peer::Config& config, const peer::PeerSpec& self, const auth::Key* key,
                 runtime::Duration left,
                 const std::optional<peer::PeerCoreOptions::Joining>& join) {
    const std::uint32_t id = self.id;
    const bool quorum = config.replication.mode == peer::ReplicationMode::quorum;
    const std::filesystem::path dir = own_dir(config, id);
    std::filesystem::create_directories(dir);
    // Durable before the first send: this life's number, one more than the last life's, and the
    // highest epoch an earlier life saw.
    peer::PeerState state = peer::start_life(dir, id);

    runtime::Runtime rt(runtime::Mode::real_time);
    transport::AddressBook book;
    std::vector<peer::PeerId> ids;
    for (const auto& p : config.cluster) {
        book.add(p.id, p.host, p.port);
        ids.push_back(p.id);
    }
    transport::TransportConfig tc;
    tc.kind = config.network.transport;  // udp or tcp: run_peer refuses memory
    tc.udp.host = tc.tcp.host = self.host;
    tc.udp.port = tc.tcp.port = self.port;
    auto transport = transport::make_transport(tc, id, rt, nullptr, std::move(book));

    asio::thread_pool pool(1);
    const auto trader_file = dir / "trader";
    const bool restarted = state.incarnation > 1 || std::filesystem::exists(trader_file);
    peer::NodeContext context{rt,
                              config,
                              ids,
                              config.storage.state_dir / "journal",
                              &pool,
                              [&](peer::PeerId who, wire::Epoch epoch) {
                                  // For launchers: who serves now, its process id and epoch.
                                  const auto tmp = trader_file.string() + ".tmp";
                                  std::ofstream(tmp)
                                      << who << ' ' << ::getpid() << ' ' << epoch << '\n';
                                  std::filesystem::rename(tmp, trader_file);
                              },
                              nullptr,
                              false};
    context.key = key;
    context.on_epoch = [&](peer::PeerId, wire::Epoch epoch) {
        state.epoch = epoch;
        peer::write_peer_state(dir, id, state);
    };
    std::unique_ptr<peer::JournalStore> replica;
    if (quorum) {
        journal::Options options;
        options.durability = config.storage.durability;
        options.create_if_missing = true;
        replica = peer::make_file_journal_store(dir / "replica", options);
        context.replica_store = [&](peer::PeerId) { return replica.get(); };
        context.on_seeded = [&](peer::PeerId) {
            state.seeded = true;
            peer::write_peer_state(dir, id, state);
        };
    }
    LifeEnd end;
    peer::Node* running = nullptr;
    context.on_later_life = [&](peer::PeerId, std::uint32_t life) {
        if (end.later_life) return;
        end.later_life = life;
        running->stop();
    };
    runtime::RandomStreams streams(config.seed);
    const peer::Role role = self.role.value_or(
        streams.stream("roles", id).bernoulli(0.5) ? peer::Role::buyer : peer::Role::seller);
    peer::Node node(context, id, role, std::move(transport),
                    streams.stream("peer", (std::uint64_t{id} << 32) | state.incarnation),
                    state.incarnation, join);
    running = &node;
    node.set_epoch_floor(state.epoch);
    node.set_seeded(state.seeded);
    fmt::print("Trading Post {}: peer {} of {} as a {}, on {}:{} (life {}, {} mode)\n", TP_VERSION,
               id, ids.size(), peer::to_string(role), self.host, self.port, state.incarnation,
               peer::to_string(config.replication.mode));
    std::fflush(stdout);

    // It ends on a signal, at the configured duration, or by itself on an error it cannot
    // recover from; the run returns once its coroutines have ended. Nothing polls.
    asio::signal_set signals(rt.context(), SIGINT, SIGTERM);
    bool leaving = false;
    runtime::Timer duration(rt);
    context.on_finished = [&](const peer::Node&) {
        signals.cancel();
        duration.cancel();
        rt.stop();
    };
    // A newcomer leaves gracefully on SIGTERM (the trader settles its payments first, then it
    // stops by itself); any other signal, or a second one, stops it at once.
    std::function<void(const std::error_code&, int)> on_signal = [&](const std::error_code& ec,
                                                                      int signal) {
        if (ec) return;
        if (join && signal == SIGTERM && !node.stopped() && !leaving) {
            leaving = true;
            fmt::print("peer {}: leaving the market\n", id);
            std::fflush(stdout);
            node.leave(false);
            signals.async_wait(on_signal);
            return;
        }
        node.stop();
    };
    signals.async_wait(on_signal);
    if (left.count() > 0) {
        duration.expires_after(left);
        duration.async_wait([&](const std::error_code& ec) {
            if (!ec) node.stop();
        });
    }
    // A restarted process is a recovered peer: it listens before it claims anything.
    node.start(restarted);
    rt.run();
    pool.join();
    if (end.later_life) return end;

    const auto& t = node.buyer().totals;
    fmt::print("peer {}: {} requests answered ({} filled, spent {}{}); seller earned {}\n", id,
               t.filled + t.refused, t.filled, t.spent,
               node.buyer().spent_overflow ? ", past the range of money" : "",
               node.seller().earned);
    if (node.left()) fmt::print("peer {}: left the market\n", id);
    if (!node.failure().empty()) {
        fmt::print(stderr, "trading-post: peer {} stopped: {}\n", id, node.failure());
        end.status = 1;
    }
    return end;
}

}  // namespace

int run_peer_process(const peer::Config& given, const peer::PeerSpec& self,
                     const auth::Key* key,
                     const std::optional<peer::PeerCoreOptions::Joining>& join) {
    // A peer process reports its buyer's totals, never each purchase, and may run for days:
    // its history is bounded unless the configuration says otherwise.
    peer::Config config = given;
    if (!config.behaviour.purchase_history) config.behaviour.purchase_history = 1000;
    const auto started = std::chrono::steady_clock::now();
    for (;;) {
        runtime::Duration left{0};
        if (config.duration.count() > 0) {
            left = config.duration - std::chrono::duration_cast<runtime::Duration>(
                                         std::chrono::steady_clock::now() - started);
            if (left.count() <= 0) return 0;
        }
        const LifeEnd end = run_life(config, self, key, left, join);
        if (!end.later_life) return end.status;
        // Its durable state was lost, and a member knows a later life: record that life, so the
        // next starts above it, and start again (its replica relearns from a quorum).
        const auto dir = own_dir(config, self.id);
        peer::PeerState state = peer::read_peer_state(dir, self.id);
        state.incarnation = std::max(state.incarnation, *end.later_life);
        state.seeded = false;
        peer::write_peer_state(dir, self.id, state);
    }
}

}  // namespace tp::app
