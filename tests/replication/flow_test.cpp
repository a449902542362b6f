// Flow between a loaded trader and its replicas, stepped by hand over the fake network
// (cluster.hpp): records proposed while Appends are in flight travel together in the next one,
// and a replica acknowledges the durable part of what it holds while later Appends still sync.
// (bench throughput, quorum group: one Append per record per replica and acks that waited for
// the latest Append's sync left replication at a fifth of the shared journal at 64 buyers.)
#include <boost/test/unit_test.hpp>

#include "cluster.hpp"
#include "scenarios.hpp"

using namespace tp::replication;
using namespace tp::replication::test;

namespace {

// The Appends waiting in the queue for `to`, oldest first.
std::vector<const Append*> appends_to(Cluster& c, PeerId to) {
    std::vector<const Append*> out;
    for (const auto& p : c.queue()) {
        if (p.to != to) continue;
        if (const auto* a = std::get_if<Append>(&p.message)) out.push_back(a);
    }
    return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(replica_flow)

BOOST_AUTO_TEST_CASE(records_proposed_while_appends_are_in_flight_travel_together) {
    Options o;
    o.max_inflight = 2;
    Cluster c(3, {}, o);
    start_serving(c, 3);
    BOOST_REQUIRE(c[3].serving());
    // The replicas' syncs do not return, so no ack frees a slot.
    c.hold_sync(1, true);
    c.hold_sync(2, true);
    // Five records in five steps: the first two go out at once, one Append each.
    for (int i = 1; i <= 5; ++i) c.propose(3, std::string("r").append(std::to_string(i)));
    auto out = appends_to(c, 1);
    BOOST_REQUIRE(out.size() == 2u);
    BOOST_TEST(out[0]->entries.size() == 1u);
    BOOST_TEST(out[1]->entries.size() == 1u);
    BOOST_TEST(appends_to(c, 2).size() == 2u);
    // Replica 1 takes both; its sync returns and its ack frees the slots.
    c.deliver();
    c.hold_sync(1, false);
    c.sync(1);
    c.deliver(1);
    // The three records proposed meanwhile leave in one Append.
    out = appends_to(c, 1);
    BOOST_REQUIRE(out.size() == 1u);
    BOOST_TEST(out[0]->entries.size() == 3u);
    BOOST_TEST(out[0]->prev == c[3].last() - 3);
    // Trader and replica 1 are a quorum of three: everything commits.
    c.deliver();
    BOOST_TEST(c[3].commit() == c[3].last());
}

BOOST_AUTO_TEST_CASE(without_a_limit_each_step_sends_its_own_append) {
    Options o;
    o.max_inflight = 0;
    Cluster c(3, {}, o);
    start_serving(c, 3);
    c.hold_sync(1, true);
    for (int i = 1; i <= 5; ++i) c.propose(3, std::string("r").append(std::to_string(i)));
    BOOST_TEST(appends_to(c, 1).size() == 5u);
}

BOOST_AUTO_TEST_CASE(a_replica_acknowledges_its_durable_prefix_while_later_appends_sync) {
    Cluster c(3);
    start_serving(c, 3);
    BOOST_REQUIRE(c[3].serving());
    // Only replica 1 hears the trader, and its syncs return only when the test says.
    c.cut(3, 2);
    c.hold_sync(1, true);
    const auto a = c.propose(3, "a");
    c.deliver();
    BOOST_REQUIRE(c.disk(1).last() == *a);
    // A second record reaches replica 1 while the sync of the first still runs.
    const auto b = c.propose(3, "b");
    c.deliver();
    BOOST_REQUIRE(c.disk(1).last() == *b);
    BOOST_TEST(c[3].commit() < *a);
    // That sync returns, covering `a` only: `a` is acknowledged at once, not after `b`'s sync.
    c[1].on_durable(*a, c.now());
    c.carry(1);
    c.deliver();
    BOOST_TEST(c[3].commit() == *a);
    // Then `b`'s sync returns, and `b` commits too.
    c.sync(1);
    c.deliver();
    BOOST_TEST(c[3].commit() == *b);
}

// sim --seed 1708 --replicas 5: a replica's ack held for its sync left after the replica had
// joined a newer reign, and the deposed trader committed a record the new one never adopted.
BOOST_AUTO_TEST_CASE(an_ack_held_for_a_sync_never_leaves_once_a_newer_reign_is_joined) {
    BOOST_TEST(!an_old_reign_commits_after_its_replica_joined_a_newer_one());
}

BOOST_AUTO_TEST_CASE(a_lost_append_in_flight_is_sent_again) {
    Cluster c(3);
    start_serving(c, 3);
    // Both Appends of a loaded moment are lost on the way.
    c.cut(3, 1);
    c.cut(3, 2);
    c.propose(3, "a");
    const auto b = c.propose(3, "b");
    c.deliver();
    BOOST_TEST(c[3].commit() < *b);
    // The link heals; past the retry interval the trader sends everything unacknowledged again.
    c.heal();
    c.settle(3);
    BOOST_TEST(c[3].commit() == *b);
    BOOST_TEST(c[1].commit() == *b);
}

BOOST_AUTO_TEST_SUITE_END()
