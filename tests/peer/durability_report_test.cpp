// What the driver tells the core of its replica's durability (quorum mode), stepped against a
// memory journal. The defect this guards (found by seed 31 of `sim --seeds`): after a follower's
// uncommitted suffix was cut and replaced by as many records, the durable position equalled the
// one reported before the cut, so the driver never reported it and the follower never
// acknowledged the replacement; the trader waited on it forever.
#include <boost/test/unit_test.hpp>

#include <memory>
#include <span>
#include <string>

#include "tp/peer/durability_report.hpp"
#include "tp/peer/journal.hpp"

using tp::peer::DurabilityReport;
using tp::peer::Journal;
using tp::peer::MemoryJournalStore;
using tp::peer::Position;

namespace {

void append(Journal& journal, const std::string& text) {
    journal.append(std::as_bytes(std::span(text.data(), text.size())));
}

// A journal holding records 1..5, synced and reported.
struct Follower {
    MemoryJournalStore store;
    std::shared_ptr<Journal> journal;
    DurabilityReport report;

    Follower() {
        journal = store.open().journal;
        report.opened(journal->durable());
        for (int i = 1; i <= 5; ++i) append(*journal, "epoch-1 record " + std::to_string(i));
        journal->sync();
        BOOST_TEST_REQUIRE(report.due(journal->durable()));
        report.reported(journal->durable());
    }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(durability_report)

BOOST_AUTO_TEST_CASE(a_replaced_suffix_as_long_as_the_old_one_is_reported_again) {
    Follower f;
    // Nothing new: nothing to report.
    BOOST_TEST(!f.report.due(f.journal->durable()));
    // A new reign's log diverges after 3: records 4 and 5 are cut and replaced by two of its own.
    f.journal->truncate_after(3);
    f.report.cut();
    append(*f.journal, "epoch-2 record 4");
    append(*f.journal, "epoch-2 record 5");
    f.journal->sync();
    // Durable at 5 again, as reported before the cut, yet these are other records: the core
    // must hear of them, or the follower never acknowledges what replaced its suffix.
    BOOST_TEST(f.journal->durable() == Position{5});
    BOOST_TEST(f.report.due(f.journal->durable()));
    f.report.reported(f.journal->durable());
    BOOST_TEST(!f.report.due(f.journal->durable()));
}

BOOST_AUTO_TEST_CASE(an_installed_snapshot_is_reported_even_at_the_old_position) {
    Follower f;
    // A snapshot covering 5 replaces the whole log (a follower that fell behind a compaction).
    f.journal->install_snapshot(5, std::as_bytes(std::span("books", 5)));
    f.report.cut();
    BOOST_TEST(f.journal->durable() == Position{5});
    BOOST_TEST(f.report.due(f.journal->durable()));
}

BOOST_AUTO_TEST_CASE(a_sync_in_flight_across_a_cut_is_stale) {
    Follower f;
    append(*f.journal, "epoch-1 record 6");
    // The driver starts a sync of 6, and while it runs a new reign cuts after 5.
    const auto token = f.report.sync_started();
    f.journal->sync();
    f.journal->truncate_after(5);
    f.report.cut();
    // What that sync proved is gone with the cut: the driver looks again instead of reporting it.
    BOOST_TEST(f.report.stale(token));
    // A sync started after the cut is not stale.
    BOOST_TEST(!f.report.stale(f.report.sync_started()));
}

BOOST_AUTO_TEST_SUITE_END()
