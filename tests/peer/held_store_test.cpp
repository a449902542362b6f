// The replica's storage work held while a snapshot is written off the event loop: merged as the
// replica merges its own Ready, carried out in order (install, cut, records).
#include <boost/test/unit_test.hpp>

#include <cstddef>
#include <vector>

#include "tp/peer/held_store.hpp"

using tp::peer::HeldStore;

namespace {

std::vector<std::byte> bytes(int v) {
    return {static_cast<std::byte>(v)};
}

std::vector<tp::replication::Position> positions(HeldStore& h) {
    std::vector<tp::replication::Position> out;
    for (const auto& r : h.take_records()) out.push_back(r.position);
    return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(held_store)

BOOST_AUTO_TEST_CASE(records_are_held_in_order_and_a_rewrite_replaces_the_tail) {
    HeldStore h;
    BOOST_TEST(h.empty());
    // Step 1: records 5, 6, 7 arrive while a snapshot is written.
    h.append(5, bytes(5));
    h.append(6, bytes(6));
    h.append(7, bytes(7));
    BOOST_TEST(!h.empty());
    // Step 2: record 6 is written anew (a new trader's entry): 6 and 7 are replaced.
    h.append(6, bytes(60));
    const auto records = h.take_records();
    BOOST_REQUIRE(records.size() == 2u);
    BOOST_TEST(records[0].position == 5u);
    BOOST_TEST(records[1].position == 6u);
    BOOST_TEST(records[1].bytes == bytes(60));
    BOOST_TEST(h.empty());
}

BOOST_AUTO_TEST_CASE(a_cut_drops_the_held_records_after_it_and_keeps_the_lowest_cut) {
    HeldStore h;
    h.append(10, bytes(10));
    h.append(11, bytes(11));
    h.append(12, bytes(12));
    // Step 1: the log is cut after 11, then after 10: the lowest cut is carried out.
    h.truncate_after(11);
    h.truncate_after(10);
    // Step 2: a record 11 of the new reign follows.
    h.append(11, bytes(110));
    BOOST_TEST(!h.take_install().has_value());
    const auto cut = h.take_cut();
    BOOST_REQUIRE(cut.has_value());
    BOOST_TEST(*cut == 10u);
    BOOST_TEST(positions(h) == (std::vector<tp::replication::Position>{10, 11}));
}

BOOST_AUTO_TEST_CASE(an_install_replaces_everything_held_before_it) {
    HeldStore h;
    h.append(3, bytes(3));
    h.truncate_after(2);
    // Step 1: a snapshot covering 50 arrives from the trader, then record 51.
    h.install(tp::replication::Snapshot{50, 7, bytes(1)});
    h.append(51, bytes(51));
    const auto install = h.take_install();
    BOOST_REQUIRE(install.has_value());
    BOOST_TEST(install->covered == 50u);
    BOOST_TEST(!h.take_cut().has_value());
    BOOST_TEST(positions(h) == (std::vector<tp::replication::Position>{51}));
}

BOOST_AUTO_TEST_CASE(a_gap_in_the_held_records_is_refused) {
    HeldStore h;
    h.append(3, bytes(3));
    BOOST_CHECK_THROW(h.append(5, bytes(5)), std::logic_error);
}

BOOST_AUTO_TEST_SUITE_END()
