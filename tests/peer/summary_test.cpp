// The run summary claims durability only when the journal was synced.
#include <boost/test/unit_test.hpp>

#include <sstream>
#include <string>

#include "tp/peer/local_market.hpp"

using tp::peer::Durability;
using tp::peer::Summary;

namespace {

std::string printed(Durability durability) {
    Summary s;
    s.durability = durability;
    std::ostringstream out;
    tp::peer::print(out, s);
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

BOOST_AUTO_TEST_CASE(failed_checks_claim_nothing) {
    Summary s;
    s.violations.push_back("books: goods not conserved");
    std::ostringstream out;
    tp::peer::print(out, s);
    BOOST_TEST(contains(out.str(), "FAILED"));
    BOOST_TEST(!contains(out.str(), "durable"));
}

BOOST_AUTO_TEST_SUITE_END()
