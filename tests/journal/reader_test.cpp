// Log::read: the read-only reader never creates, truncates, renames or deletes a file, takes no
// lock, reports a torn tail without cutting it, and rejects damage as open() does, also beside
// a live writer.
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <thread>

#include "journal_test_util.hpp"
#include "tp/journal/log.hpp"

using namespace journal_test;
using tp::journal::CorruptionError;
using tp::journal::Durability;
using tp::journal::JournalError;
using tp::journal::LockedError;
using tp::journal::Log;
using tp::journal::Lsn;
using tp::journal::Options;

namespace {

const Options unbuffered{.durability = Durability::group, .write_buffer_bytes = 0};

}  // namespace

BOOST_AUTO_TEST_SUITE(journal_reader)

BOOST_AUTO_TEST_CASE(a_torn_tail_is_reported_and_not_cut) {
    TempDir tmp;
    fs::path segment;
    std::uint64_t end_of_three = 0;
    {
        // Three records synced, then a fourth written and cut short, as a crash leaves it.
        auto [log, rec] = Log::open(tmp.path(), unbuffered);
        for (std::uint64_t i = 1; i <= 3; ++i) log->append(bytes_of(payload(i)));
        log->sync();
        segment = segments(tmp.path()).back();
        end_of_three = fs::file_size(segment);
        log->append(bytes_of(payload(4)));
    }
    fs::resize_file(segment, fs::file_size(segment) - 5);
    fs::remove(tmp / "LOCK");  // as if no writer had ever run: read() must not create it
    const auto size = fs::file_size(segment);
    const auto state = dir_state(tmp.path());

    const auto rec = Log::read(tmp.path());
    BOOST_TEST(texts(rec) == expected_payloads(1, 3), boost::test_tools::per_element());
    BOOST_REQUIRE(rec.torn_tail);
    BOOST_TEST(rec.torn_tail->file == segment.string());
    BOOST_TEST(rec.torn_tail->offset == end_of_three);
    BOOST_TEST(rec.torn_tail->dropped_bytes == size - end_of_three);
    BOOST_TEST(!rec.torn_tail->cut);
    BOOST_TEST(rec.removed_files.empty());
    // Every file is as it was, byte for byte, and no file was added.
    BOOST_TEST((dir_state(tmp.path()) == state));
    BOOST_TEST(!fs::exists(tmp / "LOCK"));
    // Reading again sees the same tail: nothing was cut.
    BOOST_TEST(Log::read(tmp.path()).torn_tail->dropped_bytes == size - end_of_three);

    // The writable open is what cuts it, and says so.
    auto [log, opened] = Log::open(tmp.path(), unbuffered);
    BOOST_REQUIRE(opened.torn_tail);
    BOOST_TEST(opened.torn_tail->cut);
    BOOST_TEST(opened.torn_tail->dropped_bytes == size - end_of_three);
    BOOST_TEST(fs::file_size(segment) == end_of_three);
}

BOOST_AUTO_TEST_CASE(leftovers_are_listed_and_left_alone) {
    TempDir tmp;
    {
        auto [log, rec] = Log::open(tmp.path());
        log->append(bytes_of(payload(1)));
        log->sync();
    }
    write_file(tmp / "snapshot-00000000000000000001.tps.tmp", bytes_of("TPJSN"));
    const auto state = dir_state(tmp.path());
    const auto rec = Log::read(tmp.path());
    BOOST_TEST(texts(rec) == expected_payloads(1, 1), boost::test_tools::per_element());
    BOOST_REQUIRE(rec.leftover_files.size() == 1u);
    BOOST_TEST(rec.leftover_files[0] == (tmp / "snapshot-00000000000000000001.tps.tmp").string());
    BOOST_TEST((dir_state(tmp.path()) == state));
}

BOOST_AUTO_TEST_CASE(damage_is_rejected_and_left_as_it_is) {
    TempDir tmp;
    std::uint64_t second = 0;
    fs::path segment;
    {
        auto [log, rec] = Log::open(tmp.path(), unbuffered);
        segment = segments(tmp.path()).back();
        for (std::uint64_t i = 1; i <= 5; ++i) {
            log->append(bytes_of(payload(i)));
            if (i == 1) second = fs::file_size(segment);
        }
        log->sync();
    }
    auto bytes = read_file(segment);
    bytes.at(second + 10) ^= std::byte{0x5A};
    write_file(segment, bytes);
    const auto state = dir_state(tmp.path());
    try {
        Log::read(tmp.path());
        BOOST_FAIL("damage in the middle was accepted");
    } catch (const CorruptionError& e) {
        BOOST_TEST(e.file() == segment.string());
        BOOST_TEST(e.offset() == second);
    }
    BOOST_TEST((dir_state(tmp.path()) == state));
}

BOOST_AUTO_TEST_CASE(a_missing_directory_is_an_error_and_is_not_created) {
    TempDir tmp;
    const auto dir = tmp / "absent";
    try {
        Log::read(dir);
        BOOST_FAIL("read a missing directory");
    } catch (const JournalError& e) {
        BOOST_TEST(std::string(e.what()).find(dir.string()) != std::string::npos);
    }
    BOOST_TEST(!fs::exists(dir));
    // A file where the directory should be is named as such, and left alone.
    write_file(dir, bytes_of("x"));
    try {
        Log::read(dir);
        BOOST_FAIL("read a regular file as a journal directory");
    } catch (const JournalError& e) {
        BOOST_TEST(std::string(e.what()).find("is not a directory") != std::string::npos);
    }
    BOOST_TEST(read_file(dir) == bytes_of("x"));
}

BOOST_AUTO_TEST_CASE(reading_beside_a_live_writer_changes_nothing) {
    TempDir tmp;
    auto [log, rec] = Log::open(tmp.path(), Options{.segment_bytes = 300});
    for (std::uint64_t i = 1; i <= 20; ++i) log->append(bytes_of(payload(i)));
    log->sync();
    // The writer holds the lock; the reader neither waits for it nor takes it.
    BOOST_CHECK_THROW(Log::open(tmp.path()), LockedError);
    const auto state = dir_state(tmp.path());
    const auto read = Log::read(tmp.path());
    BOOST_TEST(texts(read) == expected_payloads(1, 20), boost::test_tools::per_element());
    BOOST_TEST(!read.torn_tail);
    BOOST_TEST((dir_state(tmp.path()) == state));
    BOOST_CHECK_THROW(Log::open(tmp.path()), LockedError);
    // The writer carries on (rolls, snapshots) and the reader follows it.
    for (std::uint64_t i = 21; i <= 40; ++i) BOOST_TEST(log->append(bytes_of(payload(i))) == i);
    log->write_snapshot(30, bytes_of("state@30"));
    log->sync();
    const auto later = Log::read(tmp.path());
    BOOST_REQUIRE(later.snapshot);
    BOOST_TEST(later.snapshot->covered == 30u);
    BOOST_TEST(texts(later) == expected_payloads(31, 40), boost::test_tools::per_element());
    log.reset();
    auto reopened = Log::open(tmp.path());
    BOOST_TEST(texts(reopened.recovery) == expected_payloads(31, 40),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(concurrent_reads_see_a_consistent_log_while_it_rolls_and_retires) {
    TempDir tmp;
    // Small segments and frequent snapshots: the writer creates, lists and retires files all
    // the time. Every read must see one consistent state: a snapshot, then the records right
    // after it, each the payload of its LSN, and never report a file as missing.
    auto opened = Log::open(tmp.path(), Options{.segment_bytes = 256});
    Log& log = *opened.log;
    std::atomic<bool> done{false};
    std::atomic<int> reads{0};
    std::atomic<int> busy{0};  // reads that gave up after the writer changed the log repeatedly
    std::string failure;
    std::thread reader([&] {
        while (!done.load() && failure.empty()) {
            try {
                const auto r = Log::read(tmp.path());
                Lsn expect = r.snapshot ? r.snapshot->covered + 1 : 1;
                if (r.snapshot &&
                    text_of(r.snapshot->bytes) != "state@" + std::to_string(r.snapshot->covered))
                    failure = "snapshot content";
                for (const auto& rec : r.records) {
                    if (rec.lsn != expect++ || text_of(rec.bytes) != payload(rec.lsn))
                        failure = "record " + std::to_string(rec.lsn);
                }
                ++reads;
            } catch (const CorruptionError& e) {
                failure = e.what();
            } catch (const JournalError&) {
                ++busy;
            }
        }
    });
    for (std::uint64_t i = 1; i <= 800; ++i) {
        BOOST_REQUIRE(log.append(bytes_of(payload(i))) == i);
        if (i % 100 == 0) log.write_snapshot(i - 50, bytes_of("state@" + std::to_string(i - 50)));
        if (i % 7 == 0) log.sync();
    }
    log.sync();
    done = true;
    reader.join();
    BOOST_TEST(failure == "");
    BOOST_TEST_MESSAGE(reads.load() << " reads, " << busy.load() << " gave up while it changed");
    // Once the writer is quiet, a read always succeeds.
    const auto last = Log::read(tmp.path());
    BOOST_TEST(last.snapshot->covered == 750u);
    BOOST_TEST(texts(last) == expected_payloads(751, 800), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()
