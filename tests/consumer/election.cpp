// tp-election alone: three bully machines on a loss-free, instant, hand-driven network elect the
// highest id, and everyone agrees on it.
#include <array>
#include <chrono>
#include <cstdio>
#include <tp/election/bully.hpp>

int main() {
    using namespace tp::election;
    std::array<Bully, 3> peers{Bully(Config{.self = 1, .peers = {2, 3}}),
                               Bully(Config{.self = 2, .peers = {1, 3}}),
                               Bully(Config{.self = 3, .peers = {1, 2}})};
    Time now{};
    for (auto& p : peers) p.start(now);
    // Deliver every message at once, then advance virtual time to the earliest deadline.
    for (int round = 0; round < 100; ++round) {
        bool delivered = false;
        for (auto& from : peers) {
            for (const Outbound& out : from.take_outbox()) {
                peers.at(out.to - 1).on_message(from.self(), out.msg, now);
                delivered = true;
            }
        }
        if (delivered) continue;
        Time next = now + std::chrono::seconds(1);
        for (const auto& p : peers)
            if (auto d = p.next_deadline(); d && *d < next) next = *d;
        now = next;
        for (auto& p : peers) p.on_tick(now);
    }
    int failures = 0;
    for (const auto& p : peers) {
        if (p.leader() != PeerId{3}) {
            ++failures;
            std::printf("peer %u does not follow 3\n", p.self());
        }
    }
    if (!peers[2].is_leader()) ++failures, std::puts("peer 3 should lead");
    std::printf("election: leader 3 in epoch %s, %d failure(s)\n",
                epoch_text(peers[2].epoch()).c_str(), failures);
    return failures == 0 ? 0 : 1;
}
