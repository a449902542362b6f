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

std::vector<std::byte> hello_to(Guard& from, PeerId to, bool ask = false) {
    std::vector<std::byte> frame(hello_size);
    frame.resize(from.seal_hello(to, frame, ask));
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

// Issue 18: a peer that joined is checked like any member once added, and can be answered.
BOOST_AUTO_TEST_CASE(a_member_that_joined_is_accepted_once_added) {
    const std::vector<PeerId> with_9{1, 2, 3, 9};
    Guard newcomer(9, 1, with_9, key), b(2, 1, members, key);
    const auto first = frame_to(newcomer, 2);
    BOOST_TEST((refusal(b, first) == Refusal::unknown_sender));
    // Step 1: 2 learns that 9 joined: 9's next frame is accepted, the refused one still counts
    // as refused (it is not replayed into acceptance).
    b.add_member(9);
    b.add_member(9);  // twice: no second session
    BOOST_TEST(b.is_member(9));
    BOOST_TEST(accepted(b, frame_to(newcomer, 2)));
    // Step 2: 2 can answer it, and its replay window holds as for any member.
    BOOST_TEST(accepted(newcomer, frame_to(b, 9)));
    const auto again = frame_to(newcomer, 2);
    BOOST_TEST(accepted(b, again));
    BOOST_TEST((refusal(b, again) == Refusal::replayed));
}

// Issue 18: a peer that left is forgotten; its frames are refused as a stranger's, and nothing
// can be sealed for it.
BOOST_AUTO_TEST_CASE(a_member_that_left_is_forgotten) {
    Guard a(1, 1, members, key), b(2, 1, members, key);
    BOOST_TEST(accepted(b, frame_to(a, 2)));
    b.forget_member(1);
    b.forget_member(1);  // twice: nothing more
    b.forget_member(7);  // never a member: nothing
    BOOST_TEST(!b.is_member(1));
    BOOST_TEST(b.sessions() == 1u);
    BOOST_TEST(b.forgotten() == 1u);
    BOOST_TEST((refusal(b, frame_to(a, 2)) == Refusal::unknown_sender));
    BOOST_CHECK_THROW(frame_to(b, 1), std::invalid_argument);
}

// Issue 18: a peer forgotten and added again (it joined again, or a late membership named it)
// must not make what it sent before acceptable again, nor reuse our sequences to it.
BOOST_AUTO_TEST_CASE(a_forgotten_member_added_again_cannot_be_replayed_at) {
    Guard a(1, 1, members, key), b(2, 1, members, key);
    const auto f1 = frame_to(a, 2);
    const auto f2 = frame_to(a, 2);
    BOOST_TEST(accepted(b, f1));
    BOOST_TEST(accepted(b, f2));
    BOOST_TEST(accepted(a, frame_to(b, 1)));
    // Step 1: 1 leaves and is forgotten; then it is a member again.
    b.forget_member(1);
    b.add_member(1);
    BOOST_TEST(b.forgotten() == 0u);
    // Step 2: its old frames are still refused; its next one is taken.
    BOOST_TEST((refusal(b, f1) == Refusal::replayed));
    BOOST_TEST((refusal(b, f2) == Refusal::replayed));
    BOOST_TEST(accepted(b, frame_to(a, 2)));
    // Step 3: 2's frames to 1 go on after the ones 1 took (a fresh count would be replays).
    BOOST_TEST(accepted(a, frame_to(b, 1)));
}

BOOST_AUTO_TEST_CASE(what_is_kept_of_forgotten_members_is_bounded) {
    std::vector<PeerId> many;
    for (PeerId p = 1; p <= Guard::max_forgotten + 10; ++p) many.push_back(p);
    Guard g(1, 1, many, key);
    for (PeerId p = 2; p <= Guard::max_forgotten + 10; ++p) g.forget_member(p);
    BOOST_TEST(g.sessions() == 0u);
    BOOST_TEST(g.forgotten() == Guard::max_forgotten);
}

// Issue 18: a newcomer's Join, before any member knows it: its MAC is checked, nothing else.
BOOST_AUTO_TEST_CASE(a_stranger_s_frame_is_opened_only_with_a_valid_mac) {
    const std::vector<PeerId> with_9{1, 2, 3, 9};
    Guard newcomer(9, 1, with_9, key), b(2, 1, members, key);
    const auto frame = frame_to(newcomer, 2);
    const auto out = b.open_stranger(frame);
    BOOST_REQUIRE(out.opened.has_value());
    BOOST_TEST(out.opened->from == 9u);
    BOOST_TEST(out.opened->payload.size() == 16u);
    // Another key: refused.
    Guard forger(9, 1, with_9, Key::derive(7));
    BOOST_TEST((b.open_stranger(frame_to(forger, 2)).refusal == Refusal::bad_mac));
    // A member's frame is not a stranger's; nor is a frame for another peer.
    Guard a(1, 1, members, key);
    BOOST_TEST(!b.open_stranger(frame_to(a, 2)).opened.has_value());
    Guard c(3, 1, members, key);
    BOOST_TEST((c.open_stranger(frame).refusal == Refusal::not_for_me));
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

BOOST_AUTO_TEST_CASE(a_peer_that_lost_its_state_learns_its_later_life) {
    Guard b(2, 1, members, key);
    // Step 1: a, in its 5th life, talks to b: b knows life 5.
    Guard a5(1, 5, members, key);
    BOOST_TEST(accepted(b, frame_to(a5, 2)));
    BOOST_TEST(b.known_incarnation(1) == 5u);
    // Step 2: a's state directory is lost: it starts again at life 1 and sends b data. b refuses
    // it as an earlier life and greets a.
    Guard a1(1, 1, members, key);
    const auto refused = b.open(frame_to(a1, 2), 1s);
    BOOST_REQUIRE(!refused.opened);
    BOOST_TEST((refused.refusal == Refusal::old_incarnation));
    BOOST_REQUIRE(refused.greet.has_value());
    BOOST_TEST(*refused.greet == 1u);
    BOOST_TEST(!refused.later_life.has_value());
    // Step 3: b's hello names life 5; the lost peer refuses it and learns that life.
    const auto told = a1.open(hello_to(b, 1), 1s);
    BOOST_REQUIRE(!told.opened);
    BOOST_TEST((told.refusal == Refusal::later_life));
    BOOST_TEST(told.from == 2u);
    BOOST_REQUIRE(told.later_life.has_value());
    BOOST_TEST(*told.later_life == 5u);
    BOOST_TEST(a1.later_life_seen() == 5u);
    BOOST_TEST(!told.greet.has_value());  // its hello would only be refused as an earlier life
    // Step 4: refused, so nothing is learnt of b.
    BOOST_TEST(a1.known_incarnation(2) == 0u);
    BOOST_TEST(a1.accepted() == 0u);
    BOOST_TEST(a1.refused()[static_cast<std::size_t>(Refusal::later_life)] == 1u);
    // Step 5: b's data names life 5 too: refused, but not news.
    const auto data = a1.open(frame_to(b, 1), 2s);
    BOOST_TEST((data.refusal == Refusal::later_life));
    BOOST_TEST(!data.later_life.has_value());
    // Step 6: c knew a still later life, 7: that is news.
    Guard c(3, 1, members, key), a7(1, 7, members, key);
    BOOST_TEST(accepted(c, frame_to(a7, 3)));
    const auto from_c = a1.open(hello_to(c, 1), 2s);
    BOOST_TEST((from_c.refusal == Refusal::later_life));
    BOOST_REQUIRE(from_c.later_life.has_value());
    BOOST_TEST(*from_c.later_life == 7u);
    BOOST_TEST(a1.later_life_seen() == 7u);
    // Step 7: b's life 5 again lowers nothing.
    BOOST_TEST(!a1.open(hello_to(b, 1), 3s).later_life.has_value());
    BOOST_TEST(a1.later_life_seen() == 7u);
}

BOOST_AUTO_TEST_CASE(a_peer_that_lost_its_state_in_its_first_life_learns_it) {
    // Found by tools/cluster --wipe-killed: a trader killed and wiped in its first life came back
    // as life 1 again, which its members could not tell from itself, and it never learnt to move on.
    Guard b(2, 1, members, key, 100ms);
    // Step 1: a, in its first life, sends b three frames.
    Guard a(1, 1, members, key);
    for (int i = 0; i < 3; ++i) BOOST_TEST(accepted(b, frame_to(a, 2)));
    // Step 2: a's state is lost: life 1 again, from sequence 1. b refuses that as a replay, and
    // greets a, since a replay and a restarted life look alike to it.
    Guard again(1, 1, members, key);
    const auto refused = b.open(frame_to(again, 2), 1s);
    BOOST_TEST((refused.refusal == Refusal::replayed));
    BOOST_REQUIRE(refused.greet.has_value());
    BOOST_TEST(*refused.greet == 1u);
    // Step 3: b's hello says it heard life 1 up to sequence 3, which the restarted life has not
    // sent: it lost its state, and continues after life 1.
    const auto hello = hello_to(b, 1);
    const auto told = again.open(hello, 1s);
    BOOST_TEST((told.refusal == Refusal::later_life));
    BOOST_REQUIRE(told.later_life.has_value());
    BOOST_TEST(*told.later_life == 1u);
    // Step 4: the live first life, shown the same hello, has sent all of that: nothing to learn.
    const auto live = a.open(hello, 1s);
    BOOST_TEST(live.opened.has_value());
    BOOST_TEST(!live.later_life.has_value());
    // Step 5: a replay of the recorded frame gets no second greeting within the interval.
    BOOST_TEST(!b.open(frame_to(again, 2), 1s + 50ms).greet.has_value());
}

BOOST_AUTO_TEST_CASE(a_wiped_first_life_s_greeting_is_answered_even_where_it_fills_a_gap) {
    // Found by tools/cluster --wipe-killed under AddressSanitizer: b started late and never got
    // the first frames of a's first life; a, wiped, came back as life 1, and its frames filled
    // those gaps: accepted, as if from its earlier life, and nobody told it of that life.
    Guard b(2, 1, members, key, 100ms);
    // Step 1: a's first life sends four frames; the first is lost (b was not listening yet).
    Guard a(1, 1, members, key);
    (void)frame_to(a, 2);
    for (int i = 0; i < 3; ++i) BOOST_TEST(accepted(b, frame_to(a, 2)));
    // Step 2: a comes back without its state and greets b before anything else. Its sequence 1
    // is the gap: accepted. The hello names no life of b, so b answers it.
    Guard again(1, 1, members, key);
    const auto greeted = b.open(hello_to(again, 2), 1s);
    BOOST_TEST(greeted.opened.has_value());
    BOOST_REQUIRE(greeted.greet.has_value());
    BOOST_TEST(*greeted.greet == 1u);
    // Step 3: b's answer says it heard life 1 up to sequence 4, more than the new life sent.
    const auto told = again.open(hello_to(b, 1), 1s);
    BOOST_TEST((told.refusal == Refusal::later_life));
    BOOST_REQUIRE(told.later_life.has_value());
    BOOST_TEST(*told.later_life == 1u);
    // Step 4: a hello that names b's life is news, not a question: no answer.
    Guard c(3, 1, members, key);
    BOOST_TEST(accepted(c, hello_to(b, 3)));
    BOOST_TEST(!b.open(hello_to(c, 2), 1s).greet.has_value());
}

BOOST_AUTO_TEST_CASE(a_greeting_whose_answer_was_lost_asks_again_and_is_answered) {
    // Found by system-seed-cases over TCP on a loaded machine: b's answer to a's first hello was
    // lost; a had meanwhile learnt b's life from b's data, so its next hello named that life,
    // b took it for news and never answered, and a waited out its whole greeting.
    Guard a(1, 1, members, key), b(2, 1, members, key, 100ms);
    // Step 1: a greets b, b answers; the answer is lost.
    BOOST_TEST(b.open(hello_to(a, 2), 1s).greet.value_or(0) == 1u);
    (void)hello_to(b, 1);
    // Step 2: b's data reaches a, which now knows b's life.
    BOOST_TEST(accepted(a, frame_to(b, 1)));
    BOOST_TEST(a.known_incarnation(2) == 1u);
    // Step 3: a hello that names it is news: b does not answer.
    BOOST_TEST(!b.open(hello_to(a, 2), 1s + 200ms).greet.has_value());
    // Step 4: one that asks names no life of b, and b answers it, with how far it heard a.
    BOOST_TEST(b.open(hello_to(a, 2, true), 1s + 400ms).greet.value_or(0) == 1u);
    const auto answer = hello_to(b, 1);
    BOOST_TEST(accepted(a, answer));
    // Step 5: answers stay rate-limited, however often a asks.
    BOOST_TEST(!b.open(hello_to(a, 2, true), 1s + 450ms).greet.has_value());
}

BOOST_AUTO_TEST_CASE(a_hello_carries_nothing_or_how_far_it_heard) {
    Guard a(1, 1, members, key), b(2, 1, members, key);
    // A member's hello of any other length is refused as malformed, whatever its MAC.
    for (std::size_t payload : {1u, 7u, 9u, 16u}) {
        std::vector<std::byte> frame(frame_overhead + payload);
        frame.resize(b.seal(1, frame, payload, FrameKind::hello));
        BOOST_TEST((refusal(a, frame) == Refusal::malformed));
    }
    // An empty one (an earlier build's) is still a hello.
    std::vector<std::byte> empty(frame_overhead);
    empty.resize(b.seal(1, empty, 0, FrameKind::hello));
    BOOST_TEST(accepted(a, empty));
}

BOOST_AUTO_TEST_CASE(greetings_to_an_earlier_life_are_rate_limited_per_member) {
    Guard b(2, 1, members, key, 100ms);
    // Step 1: b knows a in life 5 and c in life 3.
    Guard a5(1, 5, members, key), c3(3, 3, members, key);
    BOOST_TEST(accepted(b, frame_to(a5, 2)));
    BOOST_TEST(accepted(b, frame_to(c3, 2)));
    // Step 2: both lose their state and come back in life 1.
    Guard a1(1, 1, members, key), c1(3, 1, members, key);
    // Step 3: a's frames: refused each time, one greeting per 100 ms.
    const auto first = b.open(frame_to(a1, 2), 0ms);
    BOOST_TEST((first.refusal == Refusal::old_incarnation));
    BOOST_TEST(first.greet.has_value());
    const auto second = b.open(frame_to(a1, 2), 50ms);
    BOOST_TEST((second.refusal == Refusal::old_incarnation));
    BOOST_TEST(!second.greet.has_value());
    // Step 4: c's budget is its own.
    const auto from_c = b.open(frame_to(c1, 2), 50ms);
    BOOST_TEST((from_c.refusal == Refusal::old_incarnation));
    BOOST_REQUIRE(from_c.greet.has_value());
    BOOST_TEST(*from_c.greet == 3u);
    // Step 5: after the interval, a is greeted again.
    BOOST_TEST(b.open(frame_to(a1, 2), 100ms).greet.has_value());
    BOOST_TEST(b.refused()[static_cast<std::size_t>(Refusal::old_incarnation)] == 4u);
}

BOOST_AUTO_TEST_CASE(a_forged_later_life_is_a_bad_mac) {
    Guard a(1, 1, members, key), b(2, 1, members, key);
    // Step 1: b's hello, naming life 0 ("not known"), its receiver incarnation set to 9.
    auto forged = hello_to(b, 1);
    forged[16] = std::byte{9};
    const auto out = a.open(forged, 0s);
    BOOST_TEST((out.refusal == Refusal::bad_mac));
    BOOST_TEST(!out.later_life.has_value());
    // Step 2: sealed properly but under another key, naming life 9: a bad MAC as well.
    const Key other_key = Key::derive(43);
    Guard b_other(2, 1, members, other_key), a9_other(1, 9, members, other_key);
    BOOST_TEST(accepted(b_other, frame_to(a9_other, 2)));
    const auto other = a.open(hello_to(b_other, 1), 0s);
    BOOST_TEST((other.refusal == Refusal::bad_mac));
    BOOST_TEST(!other.later_life.has_value());
    // Step 3: nothing was learnt: no later life, and b's genuine frames are accepted.
    BOOST_TEST(a.later_life_seen() == 0u);
    BOOST_TEST(a.refused()[static_cast<std::size_t>(Refusal::later_life)] == 0u);
    BOOST_TEST(accepted(a, frame_to(b, 1)));
}

BOOST_AUTO_TEST_CASE(a_replayed_later_life_is_reported_once_and_moves_no_window) {
    Guard b(2, 1, members, key);
    // Step 1: b's first frame to a names no life (b has not heard from a); it is delayed.
    const auto delayed = frame_to(b, 1);
    // Step 2: b learns a's life 5, then seals a window's worth of hellos naming it.
    Guard a5(1, 5, members, key);
    BOOST_TEST(accepted(b, frame_to(a5, 2)));
    std::vector<std::byte> hello;
    for (std::uint64_t i = 0; i < ReplayWindow::width; ++i) hello = hello_to(b, 1);
    // Step 3: a, which lost its state, is told of life 5 by the last one.
    Guard a1(1, 1, members, key);
    const auto told = a1.open(hello, 1s);
    BOOST_TEST((told.refusal == Refusal::later_life));
    BOOST_TEST(told.later_life.has_value());
    // Step 4: the same hello replayed is refused again (the window never took it), but it is
    // not news: no second report.
    const auto replay = a1.open(hello, 2s);
    BOOST_TEST((replay.refusal == Refusal::later_life));
    BOOST_TEST(!replay.later_life.has_value());
    BOOST_TEST(a1.later_life_seen() == 5u);
    BOOST_TEST(a1.refused()[static_cast<std::size_t>(Refusal::later_life)] == 2u);
    // Step 5: had the hello moved the window, the delayed frame (a window's width below it)
    // would be too old.
    BOOST_TEST(accepted(a1, delayed));
}

BOOST_AUTO_TEST_CASE(a_peer_restarted_after_its_later_life_talks_again) {
    Guard b(2, 3, members, key);  // b is in its 3rd life
    // Step 1: a in life 5 and b know each other.
    Guard a5(1, 5, members, key);
    BOOST_TEST(accepted(a5, hello_to(b, 1)));
    BOOST_TEST(accepted(b, frame_to(a5, 2)));
    // Step 2: a loses its state; back in life 1, it is refused and learns life 5 from b.
    Guard a1(1, 1, members, key);
    const auto a1_data = frame_to(a1, 2);
    BOOST_REQUIRE(b.open(a1_data, 0s).greet.has_value());
    const auto later = hello_to(b, 1);
    const auto told = a1.open(later, 0s);
    BOOST_REQUIRE(told.later_life.has_value());
    BOOST_TEST(*told.later_life == 5u);
    const auto for_life_5 = frame_to(b, 1);  // b's data, still naming life 5
    BOOST_TEST((refusal(a1, for_life_5, 0s) == Refusal::later_life));
    // Step 3: the driver restarts a as the next life, 6, which greets b.
    Guard a6(1, a1.later_life_seen() + 1, members, key);
    const auto greeted = b.open(hello_to(a6, 2), 1s);
    BOOST_REQUIRE(greeted.opened.has_value());
    BOOST_TEST(b.known_incarnation(1) == 6u);
    // Step 4: a6 does not know b's life yet, so b greets back; then both know each other.
    BOOST_REQUIRE(greeted.greet.has_value());
    BOOST_TEST(accepted(a6, hello_to(b, 1)));
    BOOST_TEST(a6.known_incarnation(2) == 3u);
    // Step 5: data flows both ways.
    BOOST_TEST(accepted(b, frame_to(a6, 2)));
    BOOST_TEST(accepted(a6, frame_to(b, 1)));
    BOOST_TEST(a6.later_life_seen() == 0u);
    // Step 6: the recordings stay refused: life 1's data at b, and b's data naming life 5 at 6.
    BOOST_TEST((refusal(b, a1_data, 2s) == Refusal::old_incarnation));
    BOOST_TEST((refusal(a6, for_life_5, 2s) == Refusal::stale_receiver));
}

BOOST_AUTO_TEST_CASE(sealing_for_a_stranger_or_without_room_throws) {
    Guard a(1, 1, members, key);
    std::vector<std::byte> frame(frame_overhead + 8);
    BOOST_CHECK_THROW(a.seal(9, frame, 8), std::invalid_argument);
    BOOST_CHECK_THROW(a.seal(1, frame, 8), std::invalid_argument);  // itself
    BOOST_CHECK_THROW(a.seal(2, frame, 9), std::length_error);
}

BOOST_AUTO_TEST_SUITE_END()
