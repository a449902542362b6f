// Membership in the books (issue 18): joins, leaves and replica-set changes are events, refused
// with a reason and nothing applied when they are wrong, and they survive a snapshot and a replay.
#include <boost/test/unit_test.hpp>

#include <capnp/message.h>
#include <capnp/serialize.h>

#include <string>
#include <vector>

#include "books.capnp.h"
#include "market_test_util.hpp"

using namespace market_test;

namespace {

constexpr ProductId salt = 0;

// Founders 1..3: 1 buys, 2 sells, 3 does both; 2 and 3 keep replicas.
Config founded() {
    Config c;
    c.founders = {Member{1, true, false, false, {}, 0}, Member{2, false, true, true, {}, 0},
                  Member{3, true, true, true, {}, 0}};
    return c;
}

Member newcomer(PeerId id) {
    return Member{id, true, false, false, "127.0.0.1", static_cast<std::uint16_t>(9000 + id)};
}

// Applies a step's events to a second copy of the books, as a replica or a new trader would.
void replay_into(Books& copy, const Step& step) {
    for (const Event& e : step.events) {
        const auto bytes = encode(e);
        BOOST_TEST_REQUIRE(copy.apply_encoded(bytes).ok());
    }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(books_membership)

BOOST_AUTO_TEST_CASE(founders_are_the_first_members) {
    const Books books(founded());
    BOOST_TEST(books.membership().size() == 3u);
    BOOST_TEST(books.membership().voters() == 2u);
    BOOST_TEST((books.membership().voter_ids() == std::vector<PeerId>{2, 3}));
    BOOST_TEST(!books.membership().contains(4));
}

BOOST_AUTO_TEST_CASE(a_join_is_an_event_and_a_replica_replays_it) {
    Books trader(founded());
    Books replica(founded());
    // A customer joins: one MemberJoined, with its address.
    Step step;
    BOOST_TEST(trader.join(newcomer(7), step) == MembershipError::none);
    BOOST_TEST_REQUIRE(events_of<MemberJoined>(step).size() == 1u);
    BOOST_TEST(outputs_of<MembershipAnswer>(step).front().accepted());
    BOOST_TEST(trader.membership().find(7)->host == "127.0.0.1");
    BOOST_TEST(trader.membership().find(7)->port == 9007);
    // The replica that applies the encoded event holds the same books.
    replay_into(replica, step);
    BOOST_TEST((replica == trader));
    require_sound(trader);
}

BOOST_AUTO_TEST_CASE(a_join_naming_an_id_in_use_is_refused_and_changes_nothing) {
    Books books(founded());
    const Books before = books;
    Step step;
    // A founder's id, then a joined peer's id twice.
    BOOST_TEST(books.join(newcomer(2), step) == MembershipError::id_in_use);
    BOOST_TEST(step.events.empty());
    BOOST_TEST((books == before));
    // The newcomer is told why.
    BOOST_TEST((outputs_of<MembershipAnswer>(step) ==
                std::vector{MembershipAnswer{2, MembershipChange::join,
                                             MembershipError::id_in_use}}));
    BOOST_TEST(books.join(newcomer(5), step) == MembershipError::none);
    step.clear();
    BOOST_TEST(books.join(newcomer(5), step) == MembershipError::id_in_use);
    BOOST_TEST(step.events.empty());
}

BOOST_AUTO_TEST_CASE(a_malformed_member_is_refused) {
    Books books(founded());
    Step step;
    // Id 0, no role, a host with a control character, a host too long.
    Member zero = newcomer(0);
    BOOST_TEST(books.join(zero, step) == MembershipError::invalid_member);
    Member idle = newcomer(8);
    idle.buys = false;
    BOOST_TEST(books.join(idle, step) == MembershipError::invalid_member);
    Member control = newcomer(8);
    control.host = "evil\nhost";
    BOOST_TEST(books.join(control, step) == MembershipError::invalid_member);
    Member long_host = newcomer(8);
    long_host.host = std::string(max_host_length + 1, 'a');
    BOOST_TEST(books.join(long_host, step) == MembershipError::invalid_member);
    // No address to reach it at.
    Member nowhere = newcomer(8);
    nowhere.host.clear();
    BOOST_TEST(books.join(nowhere, step) == MembershipError::invalid_member);
    Member no_port = newcomer(8);
    no_port.port = 0;
    BOOST_TEST(books.join(no_port, step) == MembershipError::invalid_member);
    BOOST_TEST(step.events.empty());
    BOOST_TEST(books.membership().size() == 3u);
}

BOOST_AUTO_TEST_CASE(a_leave_from_a_non_member_is_refused) {
    Books books(founded());
    Step step;
    BOOST_TEST(books.leave(9, LotsOnLeave::keep, step) == MembershipError::not_a_member);
    BOOST_TEST(step.events.empty());
}

BOOST_AUTO_TEST_CASE(the_last_replica_can_neither_leave_nor_stop_being_one) {
    Books books(founded());
    Step step;
    // 3 stops keeping a replica: 2 is the last.
    BOOST_TEST(books.set_voter(3, false, step) == MembershipError::none);
    BOOST_TEST(books.membership().voters() == 1u);
    step.clear();
    BOOST_TEST(books.leave(2, LotsOnLeave::keep, step) == MembershipError::last_replica);
    BOOST_TEST(books.set_voter(2, false, step) == MembershipError::last_replica);
    BOOST_TEST(step.events.empty());
    // A change to what a member already is, and a change for a stranger.
    BOOST_TEST(books.set_voter(2, true, step) == MembershipError::unchanged);
    BOOST_TEST(books.set_voter(9, true, step) == MembershipError::not_a_member);
    // Once 1 keeps a replica too, 2 may leave.
    BOOST_TEST(books.set_voter(1, true, step) == MembershipError::none);
    BOOST_TEST(books.leave(2, LotsOnLeave::keep, step) == MembershipError::none);
    BOOST_TEST((books.membership().voter_ids() == std::vector<PeerId>{1}));
}

BOOST_AUTO_TEST_CASE(a_market_without_replicas_lets_anyone_leave) {
    Config c;
    c.founders = {Member{1, true, false, false, {}, 0}, Member{2, false, true, false, {}, 0}};
    Books books(c);
    Step step;
    BOOST_TEST(books.leave(1, LotsOnLeave::keep, step) == MembershipError::none);
    BOOST_TEST(books.leave(2, LotsOnLeave::keep, step) == MembershipError::none);
    BOOST_TEST(books.membership().size() == 0u);
}

BOOST_AUTO_TEST_CASE(a_seller_leaves_only_once_its_payments_are_acknowledged) {
    Books books(founded());
    // Seller 2 deposits 5 salt; buyer 1 buys 2: one payment pending.
    (void)books.deposit(2, 1, salt, 5, 10);
    const Step sale = books.submit_buy(1, 1, salt, 2, false, {}, at_ms(0));
    const auto payments = outputs_of<Payment>(sale);
    BOOST_TEST_REQUIRE(payments.size() == 1u);
    Step step;
    BOOST_TEST(books.leave(2, LotsOnLeave::withdraw, step) == MembershipError::payments_pending);
    BOOST_TEST(step.events.empty());
    // The payment acknowledged, it leaves, and its 3 unsold units leave with it.
    (void)books.ack_payment(payments.front().id);
    BOOST_TEST(books.leave(2, LotsOnLeave::withdraw, step) == MembershipError::none);
    BOOST_TEST(books.in_stock(salt) == 0u);
    BOOST_TEST(books.product(salt)->withdrawn == 3u);
    BOOST_TEST(books.product(salt)->sold == 2u);
    require_sound(books);
    // Nothing of it is for sale any more.
    const Step after = books.submit_buy(1, 2, salt, 1, false, {}, at_ms(1));
    BOOST_TEST(only_result(after).reason == RefuseReason::no_seller);
}

BOOST_AUTO_TEST_CASE(a_seller_that_keeps_its_lots_leaves_them_on_sale) {
    Books books(founded());
    (void)books.deposit(2, 1, salt, 5, 10);
    Step step;
    BOOST_TEST(books.leave(2, LotsOnLeave::keep, step) == MembershipError::none);
    BOOST_TEST(!books.membership().contains(2));
    BOOST_TEST(books.in_stock(salt) == 5u);
    const Step sale = books.submit_buy(1, 1, salt, 2, false, {}, at_ms(0));
    BOOST_TEST(only_result(sale).quantity == 2u);
    require_sound(books);
}

BOOST_AUTO_TEST_CASE(a_leave_event_the_books_contradict_is_rejected_whole) {
    // A journal whose MemberLeft comes while the seller is still owed: rejected as inconsistent,
    // and no lot was withdrawn on the way.
    Books books(founded());
    (void)books.deposit(2, 1, salt, 5, 10);
    (void)books.submit_buy(1, 1, salt, 2, false, {}, at_ms(0));
    const Books before = books;
    const auto status = books.apply(MemberLeft{2, true});
    BOOST_TEST_REQUIRE(!status.ok());
    BOOST_TEST(status.error().code == ErrorCode::inconsistent);
    BOOST_TEST(status.error().message.find("payments pending") != std::string::npos);
    BOOST_TEST((books == before));
    // A join of an id in use, from a journal, is rejected too.
    BOOST_TEST(!books.apply(MemberJoined{newcomer(1)}).ok());
}

BOOST_AUTO_TEST_CASE(membership_survives_a_snapshot) {
    Books books(founded());
    Step step;
    BOOST_TEST(books.join(newcomer(5), step) == MembershipError::none);
    BOOST_TEST(books.set_voter(5, true, step) == MembershipError::none);
    (void)books.deposit(3, 1, salt, 4, 10);
    BOOST_TEST(books.leave(3, LotsOnLeave::withdraw, step) == MembershipError::none);
    // Restored with the same founders: the joins and leaves since are in the snapshot.
    const auto restored = Books::restore(founded(), books.snapshot());
    BOOST_TEST_REQUIRE(restored.ok(), restored.error().message);
    BOOST_TEST((*restored == books));
    BOOST_TEST((restored->membership().ids() == std::vector<PeerId>{1, 2, 5}));
    BOOST_TEST(restored->product(salt)->withdrawn == 4u);
}

BOOST_AUTO_TEST_CASE(a_snapshot_from_before_membership_restores_with_the_founders) {
    // A version 2 snapshot (no members): the config's founders are the membership.
    capnp::MallocMessageBuilder message;
    auto root = message.initRoot<tp::market::schema::Snapshot>();
    root.setVersion(2);
    root.setNextPayment(1);
    const auto words = capnp::messageToFlatArray(message);
    const auto bytes = words.asBytes();
    std::vector<std::byte> snapshot(bytes.size());
    for (std::size_t i = 0; i < bytes.size(); ++i) snapshot[i] = std::byte{bytes[i]};
    const auto restored = Books::restore(founded(), snapshot);
    BOOST_TEST_REQUIRE(restored.ok(), restored.error().message);
    BOOST_TEST(restored->membership().size() == 3u);
    BOOST_TEST(restored->membership().voters() == 2u);
}

BOOST_AUTO_TEST_CASE(a_journalled_join_with_a_bad_host_is_an_error_that_names_it) {
    // A record whose host is over the bound, as a corrupt or forged journal could hold.
    capnp::MallocMessageBuilder message;
    auto event = message.initRoot<tp::market::schema::Event>();
    auto member = event.initMemberJoined();
    member.setId(9);
    member.setBuys(true);
    const std::string host(max_host_length + 1, 'h');
    member.setHost(host);
    const auto words = capnp::messageToFlatArray(message);
    const auto bytes = words.asBytes();
    std::vector<std::byte> record(bytes.size());
    for (std::size_t i = 0; i < bytes.size(); ++i) record[i] = std::byte{bytes[i]};
    Books books(founded());
    const auto status = books.apply_encoded(record);
    BOOST_TEST_REQUIRE(!status.ok());
    BOOST_TEST(status.error().code == ErrorCode::invalid);
    BOOST_TEST(status.error().message.find("member 9") != std::string::npos);
    BOOST_TEST(!books.membership().contains(9));
}

BOOST_AUTO_TEST_SUITE_END()
