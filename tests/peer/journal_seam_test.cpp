// The trader's storage seam learns a replica's two cuts (issue 16): the file journal and the
// memory journal (the simulator's disk) must agree on truncate_after and install_snapshot, as
// seen through a reopen; the memory store also models a lost or stale disk.
#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tp/journal/errors.hpp"
#include "tp/peer/journal.hpp"

namespace fs = std::filesystem;
using tp::journal::JournalError;
using tp::peer::JournalStore;
using tp::peer::MemoryJournalStore;
using tp::peer::OpenedJournal;
using tp::peer::Position;

namespace {

std::vector<std::byte> bytes_of(std::string_view s) {
    const auto* p = reinterpret_cast<const std::byte*>(s.data());
    return {p, p + s.size()};
}

std::string text_of(const std::vector<std::byte>& b) {
    return {reinterpret_cast<const char*>(b.data()), b.size()};
}

std::string rec(Position i) {
    return "record-" + std::to_string(i);
}

// A fresh directory, removed with everything in it at scope exit.
struct TempDir {
    fs::path path;
    TempDir() {
        std::string pattern = (fs::temp_directory_path() / "tp-seam-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        path = pattern;
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

// The two stores side by side: every behaviour is checked on both.
struct Stores {
    TempDir dir;
    std::unique_ptr<JournalStore> file = tp::peer::make_file_journal_store(
        dir.path / "journal", tp::journal::Options{.segment_bytes = 120});
    MemoryJournalStore memory;
    std::vector<JournalStore*> all() { return {file.get(), &memory}; }
};

// Records 1..count appended and synced through a journal that is then closed.
void fill(JournalStore& store, Position count) {
    auto opened = store.open();
    for (Position i = 1; i <= count; ++i) opened.journal->append(bytes_of(rec(i)));
    BOOST_REQUIRE(opened.journal->sync() == count);
}

// What a reopen finds: the snapshot's text (if any) and the records' texts, each checked
// against its position.
struct Seen {
    std::optional<std::string> snapshot;
    Position covered = 0;
    std::vector<std::string> records;
};

Seen reopen(JournalStore& store) {
    auto opened = store.open();
    Seen seen;
    if (opened.recovery.snapshot) {
        seen.snapshot = text_of(opened.recovery.snapshot->bytes);
        seen.covered = opened.recovery.snapshot->covered;
    }
    Position expected = seen.covered;
    for (const auto& r : opened.recovery.records) {
        BOOST_TEST(r.lsn == ++expected);
        seen.records.push_back(text_of(r.bytes));
    }
    BOOST_TEST(opened.journal->written() == expected);
    return seen;
}

std::vector<std::string> records(Position from, Position to) {
    std::vector<std::string> out;
    for (Position i = from; i <= to; ++i) out.push_back(rec(i));
    return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(journal_seam)

BOOST_AUTO_TEST_CASE(truncate_then_append_then_reopen) {
    Stores stores;
    for (JournalStore* store : stores.all()) {
        BOOST_TEST_CONTEXT(store->where()) {
            fill(*store, 20);
            {
                auto opened = store->open();
                // Two more, unsynced; then the cut below them and below the synced end.
                opened.journal->append(bytes_of(rec(21)));
                opened.journal->append(bytes_of(rec(22)));
                opened.journal->truncate_after(12);
                BOOST_TEST(opened.journal->written() == 12u);
                BOOST_TEST(opened.journal->durable() == 12u);
                // The next append takes position 13, with the new leader's contents.
                BOOST_TEST(opened.journal->append(bytes_of("leader-13")) == 13u);
                opened.journal->sync();
            }
            // The dropped records never come back.
            const auto seen = reopen(*store);
            auto expected = records(1, 12);
            expected.push_back("leader-13");
            BOOST_TEST(seen.records == expected, boost::test_tools::per_element());
        }
    }
}

BOOST_AUTO_TEST_CASE(truncate_at_written_is_a_no_op_and_below_the_snapshot_is_refused) {
    Stores stores;
    for (JournalStore* store : stores.all()) {
        BOOST_TEST_CONTEXT(store->where()) {
            fill(*store, 20);
            auto opened = store->open();
            auto& journal = *opened.journal;
            // At and beyond written: nothing changes.
            journal.truncate_after(20);
            journal.truncate_after(50);
            BOOST_TEST(journal.written() == 20u);
            // Below the snapshot: refused, naming both positions.
            journal.write_snapshot(10, bytes_of("state@10"));
            try {
                journal.truncate_after(9);
                BOOST_FAIL("a truncation below the snapshot was accepted");
            } catch (const JournalError& e) {
                BOOST_TEST_MESSAGE(e.what());
                const std::string what = e.what();
                const std::string unit = store == stores.file.get() ? "LSN " : "position ";
                BOOST_TEST(what.find("after " + unit + "9") != std::string::npos);
                BOOST_TEST(what.find("up to " + unit + "10") != std::string::npos);
            }
            BOOST_TEST(journal.written() == 20u);
            // At the snapshot: every record after it goes.
            journal.truncate_after(10);
            BOOST_TEST(journal.written() == 10u);
            opened.journal.reset();
            const auto seen = reopen(*store);
            BOOST_TEST((seen.snapshot == std::optional<std::string>("state@10")));
            BOOST_TEST(seen.records.empty());
        }
    }
}

BOOST_AUTO_TEST_CASE(install_snapshot_beyond_and_below_the_log) {
    Stores stores;
    for (JournalStore* store : stores.all()) {
        BOOST_TEST_CONTEXT(store->where()) {
            fill(*store, 20);
            {
                // Beyond everything held: the log continues after the snapshot.
                auto opened = store->open();
                opened.journal->install_snapshot(50, bytes_of("leader@50"));
                BOOST_TEST(opened.journal->written() == 50u);
                BOOST_TEST(opened.journal->durable() == 50u);
                BOOST_TEST(opened.journal->append(bytes_of(rec(51))) == 51u);
                BOOST_TEST(opened.journal->append(bytes_of(rec(52))) == 52u);
                opened.journal->sync();
            }
            auto seen = reopen(*store);
            BOOST_TEST((seen.snapshot == std::optional<std::string>("leader@50")));
            BOOST_TEST(seen.covered == 50u);
            BOOST_TEST(seen.records == records(51, 52), boost::test_tools::per_element());
            {
                // Below written: records 52 and on go too, not only those it covers.
                auto opened = store->open();
                opened.journal->install_snapshot(51, bytes_of("leader@51"));
                // Below the own snapshot, or covering nothing: refused.
                BOOST_CHECK_THROW(opened.journal->install_snapshot(40, bytes_of("x")),
                                  JournalError);
                BOOST_CHECK_THROW(opened.journal->install_snapshot(0, bytes_of("x")),
                                  JournalError);
                BOOST_TEST(opened.journal->written() == 51u);
            }
            seen = reopen(*store);
            BOOST_TEST((seen.snapshot == std::optional<std::string>("leader@51")));
            BOOST_TEST(seen.covered == 51u);
            BOOST_TEST(seen.records.empty());
        }
    }
}

BOOST_AUTO_TEST_CASE(a_crash_after_a_cut_keeps_the_cut_and_loses_only_the_unsynced) {
    Stores stores;
    for (JournalStore* store : stores.all()) {
        BOOST_TEST_CONTEXT(store->where()) {
            fill(*store, 20);
            {
                auto opened = store->open();
                opened.journal->install_snapshot(30, bytes_of("leader@30"));
                opened.journal->append(bytes_of(rec(31)));
                // A crash: the unsynced append is gone, the installed snapshot is not.
                opened.journal->discard_unwritten();
            }
            const auto seen = reopen(*store);
            BOOST_TEST((seen.snapshot == std::optional<std::string>("leader@30")));
            BOOST_TEST(seen.records.empty());
        }
    }
}

BOOST_AUTO_TEST_CASE(memory_store_loses_its_disk) {
    MemoryJournalStore store;
    fill(store, 10);
    {
        auto opened = store.open();
        opened.journal->write_snapshot(5, bytes_of("state@5"));
        // While a journal holds the store, the disk cannot go.
        BOOST_CHECK_THROW(store.lose_disk(), JournalError);
        BOOST_TEST(store.durable() == 10u);
    }
    // Once closed it can: the store is as new, and a journal starts again at position 1.
    store.lose_disk();
    BOOST_TEST(store.durable() == 0u);
    BOOST_TEST(store.snapshot_covers() == 0u);
    auto opened = store.open();
    BOOST_TEST(!opened.recovery.snapshot);
    BOOST_TEST(opened.recovery.records.empty());
    BOOST_TEST(opened.journal->append(bytes_of("again")) == 1u);
}

BOOST_AUTO_TEST_CASE(memory_store_rolls_back_to_a_stale_copy) {
    MemoryJournalStore store;
    fill(store, 20);
    {
        // While open: refused, nothing changes.
        auto opened = store.open();
        BOOST_CHECK_THROW(store.roll_back(5), JournalError);
    }
    BOOST_TEST(store.durable() == 20u);
    // A copy that held more than the store: nothing changes.
    store.roll_back(30);
    BOOST_TEST(store.durable() == 20u);
    // A copy up to 15: records 16..20 are gone, and a journal continues at 16.
    store.roll_back(15);
    BOOST_TEST(store.durable() == 15u);
    BOOST_TEST(reopen(store).records == records(1, 15), boost::test_tools::per_element());
    {
        auto opened = store.open();
        opened.journal->write_snapshot(10, bytes_of("state@10"));
        BOOST_TEST(opened.journal->append(bytes_of(rec(16))) == 16u);
        opened.journal->sync();
    }
    // Below the snapshot: the snapshot stays (a stale copy had it too), every record after it
    // goes.
    store.roll_back(7);
    BOOST_TEST(store.durable() == 10u);
    const auto seen = reopen(store);
    BOOST_TEST((seen.snapshot == std::optional<std::string>("state@10")));
    BOOST_TEST(seen.records.empty());
}

BOOST_AUTO_TEST_SUITE_END()
