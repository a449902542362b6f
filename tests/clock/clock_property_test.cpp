// Randomized properties of vector clocks, with fixed seeds so every failure is a reproduction.
#include <boost/test/unit_test.hpp>

#include <random>
#include <vector>

#include "tp/clock/vector_clock.hpp"

using tp::clock::compare;
using tp::clock::Order;
using tp::clock::PeerId;
using tp::clock::total_order;
using tp::clock::VectorClock;

namespace {

VectorClock random_clock(std::mt19937_64& rng, PeerId peers) {
    VectorClock v;
    std::uniform_int_distribution<PeerId> peer(0, peers - 1);
    std::uniform_int_distribution<int> count(0, 6);
    std::uniform_int_distribution<tp::clock::Counter> counter(0, 4);
    for (int i = count(rng); i > 0; --i) v.set(peer(rng), counter(rng));
    return v;
}

VectorClock merged(VectorClock a, const VectorClock& b) {
    a.merge(b);
    return a;
}

Order flip(Order o) {
    switch (o) {
        case Order::before: return Order::after;
        case Order::after: return Order::before;
        default: return o;
    }
}

// Events of a small simulated system: each carries its clock and the peer it happened at, so the
// set contains real happened-before chains, not just random vectors.
struct Event {
    VectorClock clock;
    PeerId origin;
};

std::vector<Event> random_history(std::mt19937_64& rng, PeerId peers, int steps) {
    std::vector<VectorClock> state(peers);
    std::vector<Event> events;
    std::uniform_int_distribution<PeerId> peer(0, peers - 1);
    for (int i = 0; i < steps; ++i) {
        PeerId p = peer(rng);
        if (!events.empty() && rng() % 2 == 0) {
            // Receive a message sent at some earlier event.
            const Event& sent = events[rng() % events.size()];
            state[p].receive(p, sent.clock);
        } else {
            state[p].tick(p);
        }
        events.push_back({state[p], p});
    }
    return events;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(clock_properties)

BOOST_AUTO_TEST_CASE(merge_is_a_semilattice_join) {
    std::mt19937_64 rng(20261124);
    for (int i = 0; i < 5000; ++i) {
        const auto a = random_clock(rng, 8);
        const auto b = random_clock(rng, 8);
        const auto c = random_clock(rng, 8);
        BOOST_TEST_REQUIRE(merged(a, b) == merged(b, a));                        // commutative
        BOOST_TEST_REQUIRE(merged(merged(a, b), c) == merged(a, merged(b, c)));  // associative
        BOOST_TEST_REQUIRE(merged(a, a) == a);                                   // idempotent
    }
}

BOOST_AUTO_TEST_CASE(compare_is_antisymmetric_and_consistent_with_merge) {
    std::mt19937_64 rng(7);
    for (int i = 0; i < 5000; ++i) {
        const auto a = random_clock(rng, 8);
        const auto b = random_clock(rng, 8);
        const Order ab = compare(a, b);
        BOOST_TEST_REQUIRE(compare(b, a) == flip(ab));
        BOOST_TEST_REQUIRE((ab == Order::equal) == (a == b));
        // The join is above both; a is below b exactly when the join is b.
        const auto m = merged(a, b);
        BOOST_TEST_REQUIRE(compare(a, m) != Order::after);
        BOOST_TEST_REQUIRE(compare(a, m) != Order::concurrent);
        BOOST_TEST_REQUIRE((ab == Order::before || ab == Order::equal) == (m == b));
    }
}

BOOST_AUTO_TEST_CASE(total_order_extends_happened_before) {
    std::mt19937_64 rng(42);
    for (int round = 0; round < 20; ++round) {
        const auto events = random_history(rng, 6, 60);
        for (const auto& x : events) {
            for (const auto& y : events) {
                const auto xy = total_order(x.clock, x.origin, y.clock, y.origin);
                // Never contradicts happened-before.
                if (compare(x.clock, y.clock) == Order::before) BOOST_TEST_REQUIRE((xy < 0));
                // Antisymmetric and strict: only identical stamps tie.
                const auto yx = total_order(y.clock, y.origin, x.clock, x.origin);
                BOOST_TEST_REQUIRE((xy < 0) == (yx > 0));
                BOOST_TEST_REQUIRE((xy == 0) == (x.clock == y.clock && x.origin == y.origin));
                // Transitive.
                for (int k = 0; k < 3; ++k) {
                    const auto& z = events[rng() % events.size()];
                    if (xy < 0 && total_order(y.clock, y.origin, z.clock, z.origin) < 0) {
                        BOOST_TEST_REQUIRE((total_order(x.clock, x.origin, z.clock, z.origin) < 0));
                    }
                }
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(history_clocks_never_go_backwards) {
    std::mt19937_64 rng(99);
    const auto events = random_history(rng, 5, 500);
    std::vector<VectorClock> last(5);
    for (const auto& e : events) {
        BOOST_TEST_REQUIRE(compare(last[e.origin], e.clock) == Order::before);
        last[e.origin] = e.clock;
    }
}

BOOST_AUTO_TEST_SUITE_END()
