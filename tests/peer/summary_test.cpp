// The run summary as the program prints it: it claims durability only when the journal was
// synced, and counts in singular and plural (issue 14).
#include <boost/test/unit_test.hpp>

#include <sstream>
#include <string>

#include "summary_text.hpp"
#include "tp/peer/summary.hpp"

using tp::peer::Durability;
using tp::peer::Summary;

namespace {

std::string printed(Durability durability) {
    Summary s;
    s.durability = durability;
    std::ostringstream out;
    tp::app::print(out, s);
    return out.str();
}

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(summary)

BOOST_AUTO_TEST_CASE(durability_none_says_what_is_not_durable) {
    const std::string text = printed(Durability::none);
    BOOST_TEST_MESSAGE(text);
    BOOST_TEST(contains(text, "confirmed sales in the log (not synced)"));
    BOOST_TEST(!contains(text, "every confirmed sale durable"));
    BOOST_TEST(contains(text, "durability  none: the journal was written but never synced"));
}

BOOST_AUTO_TEST_CASE(synced_policies_say_every_confirmed_sale_is_durable) {
    for (const auto d : {Durability::every, Durability::group}) {
        const std::string text = printed(d);
        BOOST_TEST(contains(text, "every confirmed sale durable"));
        BOOST_TEST(!contains(text, "not synced"));
    }
}

BOOST_AUTO_TEST_CASE(the_summary_says_where_the_books_live) {
    Summary s;
    s.peers = 5;
    s.replicas = 5;
    s.replication = tp::peer::ReplicationMode::quorum;
    std::ostringstream quorum;
    tp::app::print(quorum, s);
    BOOST_TEST(contains(quorum.str(), "every peer's replica"));
    BOOST_TEST(contains(quorum.str(), "a record counts once on 3 of 5 (durability group)"));
    // A replica set smaller than the market: the quorum is of the set, and the summary says so.
    s.peers = 12;
    s.replicas = 7;
    std::ostringstream bounded;
    tp::app::print(bounded, s);
    BOOST_TEST(contains(bounded.str(), "the 7 highest peers' replica"));
    BOOST_TEST(contains(bounded.str(), "a record counts once on 4 of 7 (durability group)"));
    BOOST_TEST(!contains(bounded.str(), "the replica set at the end"));
    // Under churn the set is the founders'; promotion changed it by the end, and it says which.
    s.churn = "joins 5/s, leaves 3/s";
    s.replica_set_at_end = {6, 7, 9, 10, 12, 15, 21};
    std::ostringstream churned;
    tp::app::print(churned, s);
    BOOST_TEST(contains(churned.str(), "the 7 highest founders' replica"));
    BOOST_TEST(contains(churned.str(), "the replica set at the end: peers 6, 7, 9, 10, 12, 15, 21 "
                                       "(a quorum is 4)"));
    s.churn.clear();
    s.replica_set_at_end.clear();
    s.replication = tp::peer::ReplicationMode::shared;
    std::ostringstream shared;
    tp::app::print(shared, s);
    BOOST_TEST(contains(shared.str(), "the trader's journal, shared by the peers"));
    BOOST_TEST(!contains(shared.str(), "replica"));
}

BOOST_AUTO_TEST_CASE(failed_checks_claim_nothing) {
    Summary s;
    s.violations.push_back("books: goods not conserved");
    std::ostringstream out;
    tp::app::print(out, s);
    BOOST_TEST(contains(out.str(), "FAILED"));
    BOOST_TEST(!contains(out.str(), "durable"));
}

BOOST_AUTO_TEST_CASE(the_summary_counts_in_singular_and_plural) {
    Summary s;
    s.requests = 1;
    s.units = 1;
    s.reigns = 1;
    s.crashes = 1;
    s.sellers.push_back({2, 1, 9, 9, 0});
    std::ostringstream out;
    tp::app::print(out, s);
    const std::string text = out.str();
    BOOST_TEST_MESSAGE(text);
    BOOST_TEST(contains(text, "1 request answered"));
    BOOST_TEST(contains(text, "(1 unit for"));
    BOOST_TEST(contains(text, "1 trader elected, 1 failure injected"));
    BOOST_TEST(contains(text, "sold 1 unit, earned 9"));
    s.requests = s.units = s.reigns = s.crashes = 2;
    std::ostringstream again;
    tp::app::print(again, s);
    BOOST_TEST(contains(again.str(), "2 requests answered"));
    BOOST_TEST(contains(again.str(), "2 traders elected, 2 failures injected"));
}

BOOST_AUTO_TEST_SUITE_END()
