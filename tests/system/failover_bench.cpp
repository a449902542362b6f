// Failover time: from the trader's crash until every live peer knows the new trader and it serves
// (books recovered). 100 crashes on the in-memory network (virtual time, 0.1-1 ms latency) and on
// UDP loopback (real time), heartbeat 10 ms, election timeout 30 ms. Prints p50/p99/max.
#include <fmt/core.h>

#include <algorithm>
#include <cstdlib>
#include <vector>

#include "tp/peer/local_market.hpp"
#include "tp/peer/log.hpp"

using namespace std::chrono_literals;
using namespace tp;

namespace {

std::vector<runtime::Duration> measure(peer::TransportKind kind, int crashes) {
    peer::Config c;
    c.seed = 7;
    c.peers = 6;
    c.roles.assign(6, peer::Role::buyer);
    c.network.transport = kind;
    c.failure.probability = 0;
    c.failure.recovery_delay = 50ms;
    c.election.heartbeat_interval = 10ms;
    c.election.election_timeout = 30ms;
    c.election.answer_timeout = 10ms;
    c.storage.durability = peer::Durability::none;
    const bool memory = kind == peer::TransportKind::memory;
    runtime::Runtime rt(memory ? runtime::Mode::virtual_time : runtime::Mode::real_time);
    peer::LocalMarket m(c, rt, true);
    if (auto* net = m.memory_network()) {
        transport::LinkFaults f;
        f.delay.fixed = 100us;
        f.delay.jitter = 900us;
        net->set_faults(f);
    }
    m.start();
    auto settled = [&] {
        auto t = m.trader();
        if (!t) return false;
        for (auto id : m.peers()) {
            auto* n = m.node(id);
            if (n == nullptr || n->leader() != t) return false;
        }
        return true;
    };
    auto run_until = [&](auto pred) {
        const auto end = rt.now() + 10s;
        while (!pred() && rt.now() < end) rt.run_for(100us);
        if (!pred()) {
            fmt::print(stderr, "failover-bench: the market did not settle\n");
            std::exit(1);
        }
    };
    run_until(settled);
    std::vector<runtime::Duration> times;
    for (int i = 0; i < crashes; ++i) {
        // Crash at a random phase of the heartbeat.
        rt.run_for(std::chrono::microseconds(1000 + (i * 3779) % 10000));
        const auto old = *m.trader();
        const auto at = rt.now();
        m.crash(old, 50ms);
        run_until([&] { return m.trader() && *m.trader() != old && settled(); });
        times.push_back(rt.now() - at);
        run_until(settled);  // the old trader is back and follows
    }
    m.request_stop();
    run_until([&] { return m.done(); });
    return times;
}

double ms(runtime::Duration d) {
    return static_cast<double>(d.count()) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
    const int crashes = argc > 1 ? std::atoi(argv[1]) : 100;
    peer::configure_logging({spdlog::level::err, true});
    fmt::print("| transport | crashes | p50 | p99 | max |\n|---|---:|---:|---:|---:|\n");
    for (auto kind : {peer::TransportKind::memory, peer::TransportKind::udp}) {
        auto t = measure(kind, crashes);
        std::sort(t.begin(), t.end());
        auto at = [&](double p) {
            auto i = static_cast<std::size_t>(p * static_cast<double>(t.size()) + 0.999999);
            return t[std::clamp<std::size_t>(i, 1, t.size()) - 1];
        };
        fmt::print("| {} | {} | {:.1f} ms | {:.1f} ms | {:.1f} ms |\n", peer::to_string(kind),
                   t.size(), ms(at(0.5)), ms(at(0.99)), ms(t.back()));
    }
}
