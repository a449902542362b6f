#pragma once
// Scenarios shared by a test of the correct machine and a test of a broken variant (which must
// break what the scenario checks).

#include "cluster.hpp"

namespace tp::replication::test {

// Whether a deposed trader gets a record committed through an ack that a replica held for its
// sync and sent after joining a newer reign (whose trader its log state told only what was
// durable then).
inline bool an_old_reign_commits_after_its_replica_joined_a_newer_one() {
    Cluster c(3);
    start_serving(c, 3);
    // Replica 1 takes a record whose sync does not return yet; replica 2 is cut off.
    c.cut(3, 2);
    c.hold_sync(1, true);
    const auto x = c.propose(3, "x");
    c.deliver();
    if (c.disk(1).last() != *x) return false;
    // Peer 2 starts epoch 2:2; replica 1 joins it, its log state saying only what is durable.
    c.lead(2, epoch(2, 2));
    c.deliver(1);
    if (c[1].joined() != epoch(2, 2)) return false;
    c.crash(2);
    // The sync returns: were the ack for epoch 1:3 to leave, trader 3 would commit `x`.
    c.sync(1);
    c.deliver();
    return c[3].commit() >= *x;
}

}  // namespace tp::replication::test
