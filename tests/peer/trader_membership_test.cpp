// Joins and leaves at the trader core (issue 18): a change of membership is a record, answered
// only once durable, and then announced to every other member; a refusal changes nothing.
#include <boost/test/unit_test.hpp>

#include <vector>

#include "trader_script.hpp"

using namespace trader_script;

namespace {

// Founders 1..3 (1 buys, 2 sells, 3 does both) and the trader 6; 3 and 6 keep replicas.
tp::peer::TraderOptions founded() {
    tp::peer::TraderOptions o = options();
    o.market.founders = {market::Member{1, true, false, false, {}, 0},
                         market::Member{2, false, true, false, {}, 0},
                         market::Member{3, true, true, true, {}, 0},
                         market::Member{trader_id, true, true, true, {}, 0}};
    return o;
}

std::vector<tp::peer::PeerId> ids(const std::vector<wire::MemberInfo>& members) {
    std::vector<tp::peer::PeerId> out;
    for (const auto& m : members) out.push_back(m.id);
    return out;
}

// What leaves after a message once the journal has synced: a refusal rests on nothing new and
// leaves at once, an accepted change after the sync.
std::vector<Outgoing> settled(Reign& reign, tp::peer::PeerId sender, wire::Body body) {
    auto out = reign.receive(sender, std::move(body));
    for (auto& m : reign.sync()) out.push_back(std::move(m));
    return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(trader_membership)

BOOST_AUTO_TEST_CASE(a_join_is_answered_once_durable_and_announced_to_the_others) {
    MemoryJournalStore store;
    Reign reign(store, founded());
    // Step 1: peer 9 asks to join as a buyer: a record, and no answer yet.
    auto out = reign.receive(9, wire::Join{true, false, "127.0.0.1", 9009});
    BOOST_TEST(reign.core->written() == 1u);
    BOOST_TEST(out.empty());
    BOOST_TEST(reign.core->books().membership().contains(9));
    BOOST_TEST(!reign.core->take_membership_changed());
    // Step 2: the journal syncs: 9 gets every member with its address; the others get the new
    // membership; the trader itself is not told.
    out = reign.sync();
    const auto answers = bodies<wire::JoinAnswer>(out, 9);
    BOOST_REQUIRE(answers.size() == 1u);
    BOOST_TEST((answers[0].reason == wire::MembershipRefusal::none));
    BOOST_TEST(answers[0].trader == trader_id);
    BOOST_TEST((ids(answers[0].members) == std::vector<tp::peer::PeerId>{1, 2, 3, 6, 9}));
    BOOST_TEST(answers[0].members.back().host == "127.0.0.1");
    BOOST_TEST(answers[0].members.back().port == 9009);
    BOOST_TEST(!answers[0].members.back().voter);  // a customer, never a replica by joining
    for (tp::peer::PeerId member : {1u, 2u, 3u}) {
        const auto updates = bodies<wire::Members>(out, member);
        BOOST_REQUIRE(updates.size() == 1u);
        BOOST_TEST(updates[0].version == 1u);  // the record's position
        BOOST_TEST((ids(updates[0].members) == std::vector<tp::peer::PeerId>{1, 2, 3, 6, 9}));
    }
    BOOST_TEST(bodies<wire::Members>(out, trader_id).empty());
    BOOST_TEST(bodies<wire::Members>(out, 9).empty());
    BOOST_TEST(reign.core->take_membership_changed());
}

BOOST_AUTO_TEST_CASE(a_join_naming_an_id_in_use_is_refused_and_nothing_is_recorded) {
    MemoryJournalStore store;
    Reign reign(store, founded());
    // Peer 2's id, claimed by a newcomer: refused with its reason, no record, no announcement.
    const auto out = settled(reign, 2, wire::Join{true, false, "10.0.0.9", 9002});
    BOOST_TEST(reign.core->written() == 0u);
    const auto answers = bodies<wire::JoinAnswer>(out, 2);
    BOOST_REQUIRE(answers.size() == 1u);
    BOOST_TEST((answers[0].reason == wire::MembershipRefusal::id_in_use));
    BOOST_TEST(answers[0].members.empty());
    BOOST_TEST(bodies<wire::Members>(out, 1).empty());
    BOOST_TEST(!reign.core->take_membership_changed());
}

BOOST_AUTO_TEST_CASE(a_seller_leaves_once_paid_and_its_lots_leave_with_it) {
    MemoryJournalStore store;
    Reign reign(store, founded());
    // Seller 2 deposits 5 salt; buyer 1 buys 2.
    reign.receive(2, wire::Deposit{101, salt, 5, 10});
    reign.sync();
    reign.receive(1, wire::Buy{201, salt, 2, false});
    auto out = reign.sync();
    const auto payments = bodies<wire::Payment>(out, 2);
    BOOST_REQUIRE(payments.size() == 1u);
    // Step 1: 2 asks to leave with its lots before acknowledging: refused, payments pending.
    out = settled(reign, 2, wire::Leave{true, {}, 0});
    auto answers = bodies<wire::LeaveAnswer>(out, 2);
    BOOST_REQUIRE(answers.size() == 1u);
    BOOST_TEST((answers[0].reason == wire::MembershipRefusal::payments_pending));
    BOOST_TEST(reign.core->books().membership().contains(2));
    // Step 2: it acknowledges, then leaves: its 3 unsold units leave with it.
    reign.receive(2, wire::PaymentAck{payments[0].payment_id});
    reign.receive(2, wire::Leave{true, {}, 0});
    out = reign.sync();
    answers = bodies<wire::LeaveAnswer>(out, 2);
    BOOST_REQUIRE(answers.size() == 1u);
    BOOST_TEST((answers[0].reason == wire::MembershipRefusal::none));
    BOOST_TEST(!reign.core->books().membership().contains(2));
    BOOST_TEST(reign.core->books().in_stock(salt) == 0u);
    // Step 3: the others learn it; the one that left is not told twice.
    const auto updates = bodies<wire::Members>(out, 1);
    BOOST_REQUIRE(updates.size() == 1u);
    BOOST_TEST((ids(updates[0].members) == std::vector<tp::peer::PeerId>{1, 3, 6}));
    BOOST_TEST(bodies<wire::Members>(out, 2).empty());
}

BOOST_AUTO_TEST_CASE(a_seller_that_left_keeping_its_lots_is_paid_once_it_is_back) {
    MemoryJournalStore store;
    Reign reign(store, founded());
    // Step 1: seller 2 deposits 5 salt and leaves, its lots kept on sale.
    reign.receive(2, wire::Deposit{101, salt, 5, 10});
    reign.sync();
    auto out = settled(reign, 2, wire::Leave{false, {}, 0});
    BOOST_TEST((bodies<wire::LeaveAnswer>(out, 2).at(0).reason == wire::MembershipRefusal::none));
    BOOST_TEST(reign.core->books().in_stock(salt) == 5u);
    // Step 2: buyer 1 buys 2 of them: sold, and the payment waits in the ledger, unsent.
    reign.receive(1, wire::Buy{201, salt, 2, false});
    out = reign.sync();
    BOOST_TEST(bodies<wire::BuyResult>(out, 1).at(0).quantity == 2u);
    BOOST_TEST(bodies<wire::Payment>(out, 2).empty());
    BOOST_TEST(reign.core->books().payments().pending().size() == 1u);
    BOOST_TEST(reign.core->counters().payments_waiting == 1u);
    // Step 3: retries come and go; nobody is there to acknowledge, so nothing is sent.
    out = reign.tick(reign.now + 1s);
    BOOST_TEST(bodies<wire::Payment>(out, 2).empty());
    // Step 4: 2 joins again; at the next retry its payment goes out.
    settled(reign, 2, wire::Join{false, true, "127.0.0.1", 9002});
    BOOST_TEST(reign.core->books().membership().contains(2));
    out = reign.tick(reign.now + 1s);
    const auto payments = bodies<wire::Payment>(out, 2);
    BOOST_REQUIRE(payments.size() == 1u);
    BOOST_TEST(payments[0].quantity == 2u);
}

BOOST_AUTO_TEST_CASE(a_retried_join_gets_the_same_answer_and_no_second_record) {
    MemoryJournalStore store;
    Reign reign(store, founded());
    // Step 1: 9 joins; its retry comes before the sync: held like the first answer.
    reign.receive(9, wire::Join{true, false, "127.0.0.1", 9009});
    auto out = reign.receive(9, wire::Join{true, false, "127.0.0.1", 9009});
    BOOST_TEST(reign.core->written() == 1u);
    BOOST_TEST(bodies<wire::JoinAnswer>(out, 9).empty());
    // Step 2: the sync: both answers say admitted; the others hear of 9 once.
    out = reign.sync();
    const auto answers = bodies<wire::JoinAnswer>(out, 9);
    BOOST_REQUIRE(answers.size() == 2u);
    for (const auto& a : answers) BOOST_TEST((a.reason == wire::MembershipRefusal::none));
    BOOST_TEST(bodies<wire::Members>(out, 1).size() == 1u);
    // Step 3: the same id from another address is someone else: refused.
    out = settled(reign, 9, wire::Join{true, false, "127.0.0.2", 9009});
    const auto other = bodies<wire::JoinAnswer>(out, 9);
    BOOST_REQUIRE(other.size() == 1u);
    BOOST_TEST((other[0].reason == wire::MembershipRefusal::id_in_use));
    BOOST_TEST(reign.core->written() == 1u);
}

// A founder back from a crash (its disk lost, say) asks for the membership with a Join that
// names no address (the config holds a founder's): answered from the books, nothing recorded,
// nobody else told.
BOOST_AUTO_TEST_CASE(a_founder_s_join_is_answered_from_the_books_and_changes_nothing) {
    MemoryJournalStore store;
    Reign reign(store, founded());
    reign.receive(9, wire::Join{true, false, "127.0.0.1", 9009});
    reign.sync();
    reign.core->take_membership_changed();
    // Founder 2 asks: the answer lists every member, 9 with its address.
    const auto out = settled(reign, 2, wire::Join{false, true, {}, 0});
    BOOST_TEST(reign.core->written() == 1u);  // 9's join only
    const auto answers = bodies<wire::JoinAnswer>(out, 2);
    BOOST_REQUIRE(answers.size() == 1u);
    BOOST_TEST((answers[0].reason == wire::MembershipRefusal::none));
    BOOST_TEST((ids(answers[0].members) == std::vector<tp::peer::PeerId>{1, 2, 3, 6, 9}));
    BOOST_TEST(answers[0].members.back().host == "127.0.0.1");
    for (tp::peer::PeerId member : {1u, 3u, 9u}) BOOST_TEST(bodies<wire::Members>(out, member).empty());
    BOOST_TEST(!reign.core->take_membership_changed());
    // A founder's id with an address is someone else's claim: refused.
    const auto claimed = bodies<wire::JoinAnswer>(settled(reign, 2, wire::Join{false, true,
                                                                               "10.0.0.2", 9002}),
                                                  2);
    BOOST_REQUIRE(claimed.size() == 1u);
    BOOST_TEST((claimed[0].reason == wire::MembershipRefusal::id_in_use));
}

BOOST_AUTO_TEST_CASE(a_leave_from_a_non_member_is_refused) {
    MemoryJournalStore store;
    Reign reign(store, founded());
    const auto answers = bodies<wire::LeaveAnswer>(settled(reign, 12, wire::Leave{false, {}, 0}), 12);
    BOOST_TEST(reign.core->written() == 0u);
    BOOST_REQUIRE(answers.size() == 1u);
    BOOST_TEST((answers[0].reason == wire::MembershipRefusal::not_a_member));
}

BOOST_AUTO_TEST_CASE(a_new_reign_inherits_the_membership_from_the_journal) {
    MemoryJournalStore store;
    {
        Reign first(store, founded());
        first.receive(9, wire::Join{true, false, "127.0.0.1", 9009});
        first.sync();
    }
    // The next trader replays the journal: 9 is a member, with its address.
    Reign second(store, founded());
    const auto* joined = second.core->books().membership().find(9);
    BOOST_REQUIRE(joined != nullptr);
    BOOST_TEST(joined->port == 9009);
}

BOOST_AUTO_TEST_SUITE_END()
