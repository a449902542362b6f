#include <boost/test/unit_test.hpp>

#include "tp/auth/replay_window.hpp"

using tp::auth::ReplayWindow;
using V = ReplayWindow::Verdict;

BOOST_AUTO_TEST_SUITE(replay_window)

BOOST_AUTO_TEST_CASE(in_order_stream_is_fresh_once) {
    ReplayWindow w;
    for (std::uint64_t s = 1; s <= 3000; ++s) {
        BOOST_REQUIRE(w.check(1, s) == V::fresh);
        w.accept(1, s);
        // The same datagram again, right away: refused.
        BOOST_REQUIRE(w.check(1, s) == V::replayed);
    }
    BOOST_TEST(w.highest() == 3000u);
}

BOOST_AUTO_TEST_CASE(replay_inside_the_window_is_refused) {
    ReplayWindow w;
    // 1..100 arrive; then 50 again (inside the window).
    for (std::uint64_t s = 1; s <= 100; ++s) w.accept(1, s);
    BOOST_TEST((w.check(1, 50) == V::replayed));
    BOOST_TEST((w.check(1, 100) == V::replayed));
    BOOST_TEST((w.check(1, 101) == V::fresh));
}

BOOST_AUTO_TEST_CASE(replay_below_the_window_is_too_old) {
    ReplayWindow w;
    w.accept(1, 1);
    w.accept(1, 1 + ReplayWindow::width);
    // 1 is exactly `width` below the highest: outside.
    BOOST_TEST((w.check(1, 1) == V::too_old));
    BOOST_TEST((w.check(1, 2) == V::fresh));  // never seen, inside
}

BOOST_AUTO_TEST_CASE(reordering_within_the_window_is_tolerated) {
    ReplayWindow w;
    // 1000 datagrams arrive in reverse order, after the last one: all fresh, each once.
    const std::uint64_t n = ReplayWindow::width;
    w.accept(1, n);
    for (std::uint64_t s = n - 1; s >= 1; --s) {
        BOOST_REQUIRE(w.check(1, s) == V::fresh);
        w.accept(1, s);
    }
    for (std::uint64_t s = 1; s <= n; ++s) BOOST_REQUIRE(w.check(1, s) == V::replayed);
}

BOOST_AUTO_TEST_CASE(sliding_clears_the_bits_it_passes) {
    ReplayWindow w;
    w.accept(1, 5);
    // A jump by less than the width: 5 stays seen, 6..9 become unseen-but-valid.
    w.accept(1, 10);
    BOOST_TEST((w.check(1, 5) == V::replayed));
    BOOST_TEST((w.check(1, 7) == V::fresh));
    // Sequence 5 + width shares 5's bit: after sliding to it, it is fresh and 5 is too old.
    BOOST_TEST((w.check(1, 5 + ReplayWindow::width) == V::fresh));
    w.accept(1, 5 + ReplayWindow::width);
    BOOST_TEST((w.check(1, 5) == V::too_old));
    BOOST_TEST((w.check(1, 10) == V::replayed));  // still inside, and seen
    BOOST_TEST((w.check(1, 7) == V::fresh));      // inside, never seen
    // A long jump clears everything.
    w.accept(1, 100 * ReplayWindow::width);
    BOOST_TEST((w.check(1, 100 * ReplayWindow::width - 1) == V::fresh));
}

BOOST_AUTO_TEST_CASE(a_new_incarnation_starts_a_new_window_and_the_old_is_refused) {
    ReplayWindow w;
    for (std::uint64_t s = 1; s <= 500; ++s) w.accept(3, s);
    // The sender restarted: its sequences start over in incarnation 4.
    BOOST_TEST((w.check(4, 1) == V::fresh));
    w.accept(4, 1);
    BOOST_TEST(w.incarnation() == 4u);
    // Anything from incarnation 3, even a sequence it never used, is an old life's.
    BOOST_TEST((w.check(3, 501) == V::old_incarnation));
    BOOST_TEST((w.check(3, 17) == V::old_incarnation));
    BOOST_TEST((w.check(4, 1) == V::replayed));
}

BOOST_AUTO_TEST_CASE(a_resumed_window_takes_nothing_up_to_where_it_stopped) {
    auto w = ReplayWindow::resumed(3, 5000);
    BOOST_TEST((w.check(3, 5000) == ReplayWindow::Verdict::replayed));
    BOOST_TEST((w.check(3, 5000 - ReplayWindow::width + 1) == ReplayWindow::Verdict::replayed));
    BOOST_TEST((w.check(3, 5000 - ReplayWindow::width) == ReplayWindow::Verdict::too_old));
    BOOST_TEST((w.check(2, 9000) == ReplayWindow::Verdict::old_incarnation));
    BOOST_TEST((w.check(3, 5001) == ReplayWindow::Verdict::fresh));
    BOOST_TEST((w.check(4, 1) == ReplayWindow::Verdict::fresh));
    // It slides on as any window: what it passes over was never seen.
    w.accept(3, 5003);
    BOOST_TEST((w.check(3, 5002) == ReplayWindow::Verdict::fresh));
    BOOST_TEST((w.check(3, 5003) == ReplayWindow::Verdict::replayed));
}

BOOST_AUTO_TEST_CASE(zero_sequence_is_never_valid) {
    ReplayWindow w;
    BOOST_TEST((w.check(1, 0) == V::zero_sequence));
}

BOOST_AUTO_TEST_SUITE_END()
