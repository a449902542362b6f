#include <boost/test/unit_test.hpp>

#include "tp/clock/vector_clock.hpp"

using tp::clock::LamportClock;

BOOST_AUTO_TEST_SUITE(lamport_clock)

BOOST_AUTO_TEST_CASE(tick_and_receive) {
    LamportClock p;
    LamportClock q;
    // p sends at 1, q has done three local events.
    const auto sent = p.tick();
    q.tick();
    q.tick();
    q.tick();
    BOOST_TEST(sent == 1u);
    // q receives p's message: max(3, 1) + 1.
    BOOST_TEST(q.receive(sent) == 4u);
    // p receives q's next send: max(1, 5) + 1.
    BOOST_TEST(p.receive(q.tick()) == 6u);
}

BOOST_AUTO_TEST_CASE(merge_never_goes_back) {
    LamportClock c{10};
    c.merge(3);
    BOOST_TEST(c.value() == 10u);
    c.merge(12);
    BOOST_TEST(c.value() == 12u);
}

BOOST_AUTO_TEST_SUITE_END()
