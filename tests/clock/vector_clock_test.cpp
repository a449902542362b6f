#include <boost/test/unit_test.hpp>

#include "tp/clock/vector_clock.hpp"

using tp::clock::compare;
using tp::clock::Entry;
using tp::clock::Order;
using tp::clock::VectorClock;

BOOST_AUTO_TEST_SUITE(vector_clock)

BOOST_AUTO_TEST_CASE(known_cases_from_the_seed) {
    const VectorClock a{0, 0, 2};
    const VectorClock b{0, 2, 1};
    const VectorClock c{0, 0, 1};

    BOOST_TEST(compare(a, b) == Order::concurrent);
    BOOST_TEST(compare(c, a) == Order::before);
    BOOST_TEST(compare(a, c) == Order::after);
    BOOST_TEST(compare(a, a) == Order::equal);

    VectorClock m = a;
    m.merge(b);
    BOOST_TEST(m == (VectorClock{0, 2, 2}));
}

BOOST_AUTO_TEST_CASE(missing_entries_read_as_zero) {
    VectorClock v;
    BOOST_TEST(v.get(7) == 0u);
    BOOST_TEST(v.empty());
    v.tick(7);
    v.tick(7);
    BOOST_TEST(v.get(7) == 2u);
    BOOST_TEST(v.size() == 1u);
    // A clock that has never heard of peer 9 is before one that has.
    VectorClock w = v;
    w.tick(9);
    BOOST_TEST(compare(v, w) == Order::before);
}

BOOST_AUTO_TEST_CASE(peers_may_join_at_any_time) {
    VectorClock a;
    a.tick(1);
    VectorClock b;
    b.tick(1000);  // a peer that joined late, with a sparse id
    BOOST_TEST(compare(a, b) == Order::concurrent);
    a.merge(b);
    BOOST_TEST(a.get(1) == 1u);
    BOOST_TEST(a.get(1000) == 1u);
    BOOST_TEST(a.to_string() == "{1:1, 1000:1}");
}

BOOST_AUTO_TEST_CASE(receive_merges_then_ticks) {
    VectorClock sender;
    sender.tick(2);  // send from peer 2
    VectorClock receiver;
    receiver.tick(5);
    receiver.receive(5, sender);
    BOOST_TEST(receiver.get(2) == 1u);
    BOOST_TEST(receiver.get(5) == 2u);
    BOOST_TEST(tp::clock::happened_before(sender, receiver));
}

BOOST_AUTO_TEST_CASE(representation_is_canonical) {
    // Zeros never appear, so {0, 0, 1} equals the clock built from the entry list {2:1}.
    const Entry entries[] = {{4, 0}, {2, 1}};
    BOOST_TEST(VectorClock::from_entries(entries) == (VectorClock{0, 0, 1}));
    VectorClock v{3, 4};
    v.set(0, 0);
    BOOST_TEST(v == (VectorClock{0, 4}));
    BOOST_TEST(v.entries().size() == 1u);
}

BOOST_AUTO_TEST_CASE(duplicate_entries_are_rejected) {
    const Entry entries[] = {{2, 1}, {2, 3}};
    BOOST_CHECK_THROW(VectorClock::from_entries(entries), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(total_order_breaks_ties_by_sum_then_peer) {
    using tp::clock::total_order;
    const VectorClock a{1, 0};  // from peer 0
    const VectorClock b{0, 1};  // from peer 1, concurrent with a
    BOOST_TEST((total_order(a, 0, b, 1) < 0));
    BOOST_TEST((total_order(b, 1, a, 0) > 0));
    // A smaller sum goes first even from a higher peer id.
    const VectorClock c{0, 0, 1};
    const VectorClock d{2, 0, 0};
    BOOST_TEST((total_order(c, 2, d, 0) < 0));
    BOOST_TEST((total_order(a, 0, a, 0) == 0));
}

// Issue 12: merging kept every invented peer of a hostile clock forever, so every later message
// and journal record grew with it. The bounded merge keeps members only.
BOOST_AUTO_TEST_CASE(a_bounded_merge_ignores_peers_that_are_not_members) {
    const std::vector<tp::clock::PeerId> members{1, 2, 3};
    VectorClock mine;
    mine.set(1, 4);
    VectorClock theirs;
    theirs.set(2, 7);
    for (tp::clock::PeerId invented = 100; invented < 1600; ++invented) theirs.set(invented, 9);
    BOOST_TEST(mine.receive(1, theirs, members) == 1500u);
    // Member entries merged, the local tick taken, nothing else kept.
    BOOST_TEST(mine.size() == 2u);
    BOOST_TEST(mine.get(1) == 5u);
    BOOST_TEST(mine.get(2) == 7u);
    BOOST_TEST(mine.get(100) == 0u);
    // A clock of members only merges exactly as the unbounded merge does.
    VectorClock plain = mine;
    VectorClock other;
    other.set(3, 2);
    other.set(1, 9);
    BOOST_TEST(mine.merge(other, members) == 0u);
    plain.merge(other);
    BOOST_TEST(mine == plain);
}

// A hostile clock can lift a member's entry to the ceiling; ticking there must not carry the
// clock past what the wire accepts (every later message would fail to encode).
BOOST_AUTO_TEST_CASE(tick_stops_at_the_ceiling) {
    VectorClock c;
    c.set(4, tp::clock::max_counter - 1);
    c.tick(4);
    BOOST_TEST(c.get(4) == tp::clock::max_counter);
    c.tick(4);
    BOOST_TEST(c.get(4) == tp::clock::max_counter);
}

// Issue 18: a clock kept every member that ever was; once a newcomer's own decode bound was
// exceeded by a member's clock naming the peers that had come and gone, it heard nobody.
BOOST_AUTO_TEST_CASE(retain_forgets_the_peers_that_left) {
    VectorClock c;
    for (tp::clock::PeerId p : {1u, 2u, 7u, 9u, 12u, 40u}) c.set(p, p * 10);
    const std::vector<tp::clock::PeerId> members{1, 2, 9, 40};
    // Step 1: the entries of 7 and 12 go; the members' keep their counters.
    BOOST_TEST(c.retain(members) == 2u);
    BOOST_TEST(c.size() == 4u);
    BOOST_TEST(c.get(7) == 0u);
    BOOST_TEST(c.get(12) == 0u);
    BOOST_TEST(c.get(9) == 90u);
    BOOST_TEST(c.get(40) == 400u);
    // Step 2: nothing to forget is a no-op; and it stays ordered for the merge-joins.
    BOOST_TEST(c.retain(members) == 0u);
    VectorClock later = c;
    later.tick(2);
    BOOST_TEST((tp::clock::compare(c, later) == tp::clock::Order::before));
}

BOOST_AUTO_TEST_SUITE_END()
