#pragma once
// One randomized run of five replicas (replica_property_test.cpp and the broken variants' test):
// messages dropped and reordered, crashes, lost disks (at most a minority unseeded at once),
// slow disks, partitions, compaction, leaders elected at random, records proposed. check(): no two replicas ever hold
// different committed records at one position, and a record once committed stays committed at
// its position forever (nothing confirmed is lost).

#include <map>
#include <random>
#include <string>

#include "cluster.hpp"

namespace tp::replication::test {

constexpr std::size_t n = 5;

// Odd seeds send one entry per Append, so a catch-up or a view change's pull takes many (a new
// trader once pulled the same first Append for ever: replica_test's
// a_view_change_pulling_more_than_one_append_ends).
inline Options options_for(std::uint64_t seed) {
    Options o;
    if (seed % 2 == 1) o.max_append_bytes = 1;
    return o;
}

struct Run {
    Cluster c;
    std::mt19937_64 rng;
    std::map<Position, Entry> committed;  // every record ever seen committed
    std::uint64_t term = 0;
    PeerId leader = 0;
    int proposals = 0;

    explicit Run(std::uint64_t seed) : c(n, {}, options_for(seed)), rng(seed) {}

    std::uint64_t pick(std::uint64_t below) { return rng() % below; }

    std::size_t unseeded() {
        std::size_t count = 0;
        for (PeerId p = 1; p <= n; ++p) count += c[p].seeded() ? 0 : 1;
        return count;
    }

    // The invariants, after every step; returns a description of the first violation.
    std::string check() {
        for (PeerId p = 1; p <= n; ++p) {
            for (Position at = c[p].first(); at <= std::min(c[p].commit(), c[p].last()); ++at) {
                const Entry& e = *c[p].entry(at);
                auto [it, fresh] = committed.emplace(at, e);
                if (!fresh && !(it->second == e)) {
                    return std::string("peer ").append(std::to_string(p))
                        .append(" holds another committed record at ")
                        .append(std::to_string(at));
                }
            }
        }
        return {};
    }

    void step() {
        switch (pick(13)) {
            case 0:
            case 1:
            case 2: {  // deliver or drop a few packets, in any order
                for (int i = 0; i < 6 && !c.queue().empty(); ++i) {
                    c.deliver_at(pick(c.queue().size()), pick(10) == 0);
                }
                break;
            }
            case 3: c.tick(std::chrono::milliseconds(20 + pick(60))); break;
            case 4: {  // a new leader (bully would pick it; here anyone live)
                const PeerId p = static_cast<PeerId>(1 + pick(n));
                if (c.is_down(p)) break;
                ++term;
                leader = p;
                c.lead(p, epoch(term, p));
                for (PeerId q = 1; q <= n; ++q) {
                    if (q != p && !c.is_down(q) && pick(3) != 0) c.follow(q, epoch(term, p));
                }
                break;
            }
            case 5: {  // a crash, and maybe a lost disk
                const PeerId p = static_cast<PeerId>(1 + pick(n));
                if (c.is_down(p)) {
                    if (pick(3) == 0 && unseeded() + 1 < c[p].quorum()) {
                        c.lose_disk(p);
                    } else {
                        c.restart(p);
                    }
                } else {
                    c.crash(p);
                }
                break;
            }
            case 6: {  // a replica compacts what it knows committed
                const PeerId p = static_cast<PeerId>(1 + pick(n));
                if (!c.is_down(p) && c[p].commit() > c[p].first()) {
                    const Position at = c[p].commit();
                    c[p].compacted(at, bytes(std::string("state@").append(std::to_string(at))));
                }
                break;
            }
            case 7: {  // a link cut (an old trader may go on alone), or every link healed
                const PeerId a = static_cast<PeerId>(1 + pick(n));
                const PeerId b = static_cast<PeerId>(1 + pick(n));
                if (pick(3) == 0) {
                    c.heal();
                } else if (a != b) {
                    c.cut(a, b);
                }
                break;
            }
            case 8: {  // a slow disk: a replica's syncs stall, or its stalled sync returns
                const PeerId p = static_cast<PeerId>(1 + pick(n));
                if (c.is_down(p)) break;
                if (c.sync_held(p)) {
                    c.hold_sync(p, false);
                    c.sync(p);
                } else {
                    c.hold_sync(p, true);
                }
                break;
            }
            default:  // requests at whoever leads
                if (leader != 0 && !c.is_down(leader) && c[leader].serving()) {
                    c.propose(leader, std::string("r").append(std::to_string(++proposals)));
                }
                break;
        }
    }
};


}  // namespace tp::replication::test
