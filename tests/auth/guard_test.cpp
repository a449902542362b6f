#include <boost/test/unit_test.hpp>

#include <vector>

#include "tp/auth/guard.hpp"

using namespace tp::auth;
using namespace std::chrono_literals;

namespace {

const std::vector<PeerId> members{1, 2, 3};
const Key key = Key::derive(42);

std::vector<std::byte> frame_to(Guard& from, PeerId to, std::size_t payload = 16) {
    std::vector<std::byte> frame(frame_overhead + payload, std::byte{0x5a});
    frame.resize(from.seal(to, frame, payload));
    return frame;
}

std::vector<std::byte> hello_to(Guard& from, PeerId to) {
    std::vector<std::byte> frame(frame_overhead);
    frame.resize(from.seal_hello(to, frame));
    return frame;
}

bool accepted(Guard& at, const std::vector<std::byte>& frame, Guard::Time now = {}) {
    return at.open(frame, now).opened.has_value();
}

Refusal refusal(Guard& at, const std::vector<std::byte>& frame, Guard::Time now = {}) {
    const auto out = at.open(frame, now);
    BOOST_REQUIRE(!out.opened);
    return out.refusal;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(guard)

BOOST_AUTO_TEST_CASE(a_replay_is_refused_once_delivered) {
    Guard a(1, 1, members, key), b(2, 1, members, key);
    const auto f1 = frame_to(a, 2);
    const auto f2 = frame_to(a, 2);
    // Delivered out of order: both accepted.
    BOOST_TEST(accepted(b, f2));
    BOOST_TEST(accepted(b, f1));
    // Replayed: both refused.
    BOOST_TEST((refusal(b, f1) == Refusal::replayed));
    BOOST_TEST((refusal(b, f2) == Refusal::replayed));
}

BOOST_AUTO_TEST_CASE(a_replay_older_than_the_window_is_refused) {
    Guard a(1, 1, members, key), b(2, 1, members, key);
    const auto old = frame_to(a, 2);  // captured, never delivered
    for (std::uint64_t i = 0; i < ReplayWindow::width; ++i)
        BOOST_REQUIRE(accepted(b, frame_to(a, 2)));
    BOOST_TEST((refusal(b, old) == Refusal::too_old));
}

BOOST_AUTO_TEST_CASE(a_frame_for_one_member_is_refused_by_another) {
    Guard a(1, 1, members, key), c(3, 1, members, key);
    BOOST_TEST((refusal(c, frame_to(a, 2)) == Refusal::not_for_me));
}

BOOST_AUTO_TEST_CASE(a_sender_that_is_not_a_member_is_refused) {
    const std::vector<PeerId> with_9{1, 2, 3, 9};
    Guard stranger(9, 1, with_9, key), b(2, 1, members, key);
    BOOST_TEST((refusal(b, frame_to(stranger, 2)) == Refusal::unknown_sender));
}

BOOST_AUTO_TEST_CASE(an_old_incarnation_of_a_restarted_sender_is_refused) {
    Guard b(2, 1, members, key);
    Guard a1(1, 1, members, key);
    const auto captured = frame_to(a1, 2);  // from life 1, never delivered
    BOOST_TEST(accepted(b, frame_to(a1, 2)));
    // Peer 1 restarts as life 2 and speaks first.
    Guard a2(1, 2, members, key);
    BOOST_TEST(accepted(b, frame_to(a2, 2)));
    BOOST_TEST(b.known_incarnation(1) == 2u);
    // Life 1's frame, never seen, is refused all the same.
    BOOST_TEST((refusal(b, captured) == Refusal::old_incarnation));
}

BOOST_AUTO_TEST_CASE(a_restarted_receiver_refuses_what_was_made_for_its_earlier_life) {
    Guard a(1, 1, members, key);
    Guard b1(2, 1, members, key);
    // Step 1: b (life 1) and a talk, so a knows b's life.
    BOOST_TEST(accepted(a, frame_to(b1, 1)));
    BOOST_TEST(a.known_incarnation(2) == 1u);
    const auto captured = frame_to(a, 2);
    BOOST_TEST(accepted(b1, captured));
    // Step 2: b restarts as life 2: its windows are gone with its memory.
    Guard b2(2, 2, members, key);
    // Step 3: the recording, replayed to the new life, is refused and b greets a.
    const auto out = b2.open(captured, 1s);
    BOOST_REQUIRE(!out.opened);
    BOOST_TEST((out.refusal == Refusal::stale_receiver));
    BOOST_REQUIRE(out.greet.has_value());
    BOOST_TEST(*out.greet == 1u);
    // Step 4: b's hello reaches a, which now knows life 2, and a's next frame is accepted.
    BOOST_TEST(accepted(a, hello_to(b2, 1)));
    BOOST_TEST(a.known_incarnation(2) == 2u);
    BOOST_TEST(accepted(b2, frame_to(a, 2)));
    // The recording stays refused.
    BOOST_TEST((refusal(b2, captured) == Refusal::stale_receiver));
}

BOOST_AUTO_TEST_CASE(not_known_yet_is_accepted_only_in_a_first_life) {
    Guard a(1, 1, members, key);
    Guard b1(2, 1, members, key), b3(2, 3, members, key);
    // a has never heard from 2: it writes receiver incarnation 0.
    const auto f = frame_to(a, 2);
    BOOST_TEST(accepted(b1, f));
    BOOST_TEST((refusal(b3, frame_to(a, 2)) == Refusal::stale_receiver));
}

BOOST_AUTO_TEST_CASE(a_restarted_peer_greets_and_is_greeted_back) {
    Guard a(1, 4, members, key);  // a is in its 4th life
    Guard b(2, 2, members, key);  // b restarted, knows nobody
    // b greets a; a accepts the hello (news of b's life) and greets back, since b does not know
    // a's life.
    const auto out = a.open(hello_to(b, 1), 0s);
    BOOST_REQUIRE(out.opened.has_value());
    BOOST_TEST((out.opened->kind == FrameKind::hello));
    BOOST_REQUIRE(out.greet.has_value());
    BOOST_TEST(accepted(b, hello_to(a, 2)));
    // Now both know each other: data flows both ways, and no more greetings.
    const auto ab = a.open(frame_to(b, 1), 1s);
    BOOST_TEST(ab.opened.has_value());
    BOOST_TEST(!ab.greet.has_value());
    BOOST_TEST(accepted(b, frame_to(a, 2)));
}

BOOST_AUTO_TEST_CASE(greetings_are_rate_limited_per_member) {
    Guard a(1, 1, members, key);
    Guard b(2, 2, members, key, 100ms);
    // a does not know b's life 2: each data frame is refused; only one greeting per 100 ms.
    BOOST_TEST(b.open(frame_to(a, 2), 0ms).greet.has_value());
    BOOST_TEST(!b.open(frame_to(a, 2), 50ms).greet.has_value());
    BOOST_TEST(b.open(frame_to(a, 2), 100ms).greet.has_value());
}

BOOST_AUTO_TEST_CASE(refusals_never_move_the_window) {
    Guard a(1, 1, members, key), b(2, 1, members, key);
    auto f = frame_to(a, 2);
    auto forged = f;
    forged[27] = std::byte{0x7f};  // sequence pushed far ahead, MAC now wrong
    BOOST_TEST((refusal(b, forged) == Refusal::bad_mac));
    // Had the forged sequence moved the window, f would now be too old.
    BOOST_TEST(accepted(b, f));
}

BOOST_AUTO_TEST_CASE(sealing_for_a_stranger_or_without_room_throws) {
    Guard a(1, 1, members, key);
    std::vector<std::byte> frame(frame_overhead + 8);
    BOOST_CHECK_THROW(a.seal(9, frame, 8), std::invalid_argument);
    BOOST_CHECK_THROW(a.seal(1, frame, 8), std::invalid_argument);  // itself
    BOOST_CHECK_THROW(a.seal(2, frame, 9), std::length_error);
}

BOOST_AUTO_TEST_SUITE_END()
