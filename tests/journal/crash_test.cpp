// Crash at every boundary, simulated on the files a crash would leave: the unsynced tail cut
// anywhere (power loss), kept whole (process crash), zero-filled or garbled; snapshots
// interrupted before and after their rename. Recovery must return exactly the acknowledged
// (synced) records, plus possibly whole unacknowledged ones, and keep appending correctly.
#include <boost/test/unit_test.hpp>

#include "journal_test_util.hpp"
#include "tp/journal/log.hpp"

using namespace journal_test;
using tp::journal::CorruptionError;
using tp::journal::Durability;
using tp::journal::Log;
using tp::journal::Lsn;
using tp::journal::Options;

namespace {

// Unbuffered: these tests cut the file after each append, so each record must reach it at once.
const Options group{.durability = Durability::group, .write_buffer_bytes = 0};

// What a log looked like when it "crashed": records 1..acked synced, then acked+1..written
// written but not synced. ends[i] is the segment size after record i (ends[0]: header only).
struct Written {
    fs::path segment;
    std::uint64_t acked = 0;
    std::vector<std::uint64_t> ends;
    std::uint64_t synced_size() const { return ends[acked]; }
};

Written write_log(const fs::path& dir, std::uint64_t acked, std::uint64_t unsynced,
                  const Options& opts = group) {
    auto [log, rec] = Log::open(dir, opts);
    Written w;
    w.segment = segments(dir).back();
    w.acked = acked;
    w.ends.push_back(fs::file_size(w.segment));
    for (std::uint64_t i = 1; i <= acked + unsynced; ++i) {
        log->append(bytes_of(payload(i)));
        if (i == acked) BOOST_REQUIRE(log->sync() == acked);
        w.ends.push_back(fs::file_size(w.segment));
    }
    return w;  // the Log is destroyed without a sync: a crash that keeps the page cache
}

void truncate_to(const fs::path& file, std::uint64_t size) {
    fs::resize_file(file, size);
}

void flip_byte(const fs::path& file, std::uint64_t offset) {
    auto bytes = read_file(file);
    bytes.at(offset) ^= std::byte{0x5A};
    write_file(file, bytes);
}

// Reopens, appends one more record, reopens again: the log must carry on from `last`.
void check_appends_after_recovery(const fs::path& dir, Lsn last, const Options& opts = group) {
    {
        auto [log, rec] = Log::open(dir, opts);
        BOOST_REQUIRE(log->written_lsn() == last);
        BOOST_REQUIRE(log->append(bytes_of("after recovery")) == last + 1);
        BOOST_REQUIRE(log->sync() == last + 1);
    }
    auto [log, rec] = Log::open(dir, opts);
    BOOST_REQUIRE(!rec.torn_tail);
    BOOST_REQUIRE(!rec.records.empty());
    BOOST_REQUIRE(rec.records.back().lsn == last + 1);
    BOOST_REQUIRE(text_of(rec.records.back().bytes) == "after recovery");
}

// Expects open() to throw CorruptionError naming `file` at `offset`.
void expect_corruption(const fs::path& dir, const fs::path& file, std::uint64_t offset,
                       const Options& opts = group) {
    try {
        Log::open(dir, opts);
        BOOST_FAIL("corruption in " << file << " was not detected");
    } catch (const CorruptionError& e) {
        BOOST_TEST_MESSAGE(e.what());
        BOOST_TEST(e.file() == file.string());
        BOOST_TEST(e.offset() == offset);
        const std::string what = e.what();
        BOOST_TEST(what.find(file.string()) != std::string::npos);
        BOOST_TEST(what.find("offset " + std::to_string(offset)) != std::string::npos);
    }
}

// Expects open() and read() to throw MissingFileError naming `file` and the records it held.
void expect_missing(const fs::path& dir, const fs::path& file, Lsn first, Lsn last,
                    const Options& opts = group) {
    for (const bool read_only : {false, true}) {
        try {
            if (read_only) {
                Log::read(dir);
            } else {
                Log::open(dir, opts);
            }
            BOOST_FAIL("the missing " << file << " was not detected");
        } catch (const tp::journal::MissingFileError& e) {
            BOOST_TEST_MESSAGE(e.what());
            BOOST_TEST(e.file() == file.string());
            BOOST_TEST(e.first() == first);
            BOOST_REQUIRE(e.last().has_value());
            BOOST_TEST(*e.last() == last);
            const std::string what = e.what();
            BOOST_TEST(what.find(file.string()) != std::string::npos);
            BOOST_TEST(what.find(std::to_string(first) + " to " + std::to_string(last)) !=
                       std::string::npos);
        }
    }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(journal_crash)

BOOST_AUTO_TEST_CASE(crash_before_write) {
    TempDir tmp;
    // Five records synced, nothing after: the crash came before the next write.
    write_log(tmp.path(), 5, 0);
    // Recovery returns exactly the five, with nothing torn.
    auto [log, rec] = Log::open(tmp.path());
    BOOST_TEST(texts(rec) == expected_payloads(1, 5), boost::test_tools::per_element());
    BOOST_TEST(!rec.torn_tail);
    log.reset();
    // And the log carries on at LSN 6.
    check_appends_after_recovery(tmp.path(), 5);
}

BOOST_AUTO_TEST_CASE(crash_mid_record_at_every_byte) {
    TempDir tmp;
    // Three records acknowledged, a fourth written but not synced.
    const auto w = write_log(tmp / "orig", 3, 1);
    const auto full = read_file(w.segment);
    const std::uint64_t start = w.ends[3], end = w.ends[4];
    BOOST_REQUIRE(end - start > 8);
    for (std::uint64_t cut = start; cut < end; ++cut) {
        // The disk kept the fourth record up to `cut` bytes.
        const auto dir = tmp / ("cut-" + std::to_string(cut));
        fs::create_directory(dir);
        fs::copy_file(tmp / "orig" / "MANIFEST", dir / "MANIFEST");
        write_file(dir / w.segment.filename(),
                   {full.begin(), full.begin() + static_cast<long>(cut)});
        {
            // Recovery returns exactly the acknowledged records.
            auto [log, rec] = Log::open(dir);
            BOOST_REQUIRE(texts(rec) == expected_payloads(1, 3));
            // A partial record is cut off and reported: where, and how many bytes.
            if (cut > start) {
                BOOST_REQUIRE(rec.torn_tail);
                BOOST_REQUIRE(rec.torn_tail->file == (dir / w.segment.filename()).string());
                BOOST_REQUIRE(rec.torn_tail->offset == start);
                BOOST_REQUIRE(rec.torn_tail->dropped_bytes == cut - start);
            } else {
                BOOST_REQUIRE(!rec.torn_tail);
            }
            BOOST_REQUIRE(fs::file_size(dir / w.segment.filename()) == start);
        }
        // The reopened log appends the next record at LSN 4.
        check_appends_after_recovery(dir, 3);
        fs::remove_all(dir);
    }
}

BOOST_AUTO_TEST_CASE(crash_after_write_before_sync) {
    TempDir tmp;
    // Four records acknowledged, three more written and not synced.
    const auto w = write_log(tmp / "orig", 4, 3);
    const auto full = read_file(w.segment);
    // Power loss may keep any prefix of the unsynced bytes.
    for (std::uint64_t cut = w.synced_size(); cut <= w.ends.back(); ++cut) {
        const auto dir = tmp / "crashed";
        fs::create_directory(dir);
        fs::copy_file(tmp / "orig" / "MANIFEST", dir / "MANIFEST");
        write_file(dir / w.segment.filename(),
                   {full.begin(), full.begin() + static_cast<long>(cut)});
        auto [log, rec] = Log::open(dir);
        // Never fewer than the acknowledged records; beyond them, exactly the whole records
        // that survived, in order.
        std::uint64_t whole = 0;
        while (whole + 1 < w.ends.size() && w.ends[whole + 1] <= cut) ++whole;
        BOOST_REQUIRE(whole >= w.acked);
        BOOST_REQUIRE(texts(rec) == expected_payloads(1, whole));
        BOOST_REQUIRE(rec.torn_tail.has_value() == (cut != w.ends[whole]));
        log.reset();
        fs::remove_all(dir);
    }
    // A process crash keeps the page cache: all seven come back, and are made durable.
    auto [log, rec] = Log::open(tmp / "orig");
    BOOST_TEST(texts(rec) == expected_payloads(1, 7), boost::test_tools::per_element());
    BOOST_TEST(log->durable_lsn() == 7u);
    log.reset();
    check_appends_after_recovery(tmp / "orig", 7);
}

BOOST_AUTO_TEST_CASE(crash_after_sync) {
    TempDir tmp;
    const Options every{.durability = Durability::every};
    // Under `every`, each acknowledged append is already synced when the crash comes.
    const auto w = write_log(tmp.path(), 0, 6, every);
    // Recovery returns all six.
    auto [log, rec] = Log::open(tmp.path(), every);
    BOOST_TEST(texts(rec) == expected_payloads(1, 6), boost::test_tools::per_element());
    BOOST_TEST(!rec.torn_tail);
    BOOST_TEST(fs::file_size(w.segment) == w.ends.back());
    log.reset();
    check_appends_after_recovery(tmp.path(), 6, every);
}

BOOST_AUTO_TEST_CASE(zero_filled_tail_is_torn) {
    TempDir tmp;
    // The file system extended the file but the data never landed: 4 KiB of zeros.
    const auto w = write_log(tmp.path(), 3, 0);
    auto bytes = read_file(w.segment);
    bytes.resize(bytes.size() + 4096);
    write_file(w.segment, bytes);
    // The zeros are cut off and reported; the records are intact.
    {
        auto [log, rec] = Log::open(tmp.path());
        BOOST_TEST(texts(rec) == expected_payloads(1, 3), boost::test_tools::per_element());
        BOOST_REQUIRE(rec.torn_tail);
        BOOST_TEST(rec.torn_tail->offset == w.ends[3]);
        BOOST_TEST(rec.torn_tail->dropped_bytes == 4096u);
    }
    check_appends_after_recovery(tmp.path(), 3);
}

BOOST_AUTO_TEST_CASE(bad_crc_on_the_last_record_is_torn) {
    TempDir tmp;
    // The last record's bytes are garbled and nothing valid follows.
    const auto w = write_log(tmp.path(), 3, 1);
    flip_byte(w.segment, w.ends[4] - 1);
    {
        // It is dropped as a torn write; the acknowledged three remain.
        auto [log, rec] = Log::open(tmp.path());
        BOOST_TEST(texts(rec) == expected_payloads(1, 3), boost::test_tools::per_element());
        BOOST_REQUIRE(rec.torn_tail);
        BOOST_TEST(rec.torn_tail->offset == w.ends[3]);
        BOOST_TEST(rec.torn_tail->dropped_bytes == w.ends[4] - w.ends[3]);
    }
    check_appends_after_recovery(tmp.path(), 3);
}

BOOST_AUTO_TEST_CASE(crash_mid_snapshot_leaves_a_partial_temporary) {
    TempDir tmp;
    // Eight records synced; the snapshot's temporary file got only a few bytes.
    write_log(tmp.path(), 8, 0);
    const auto tmpfile = tmp / "snapshot-00000000000000000008.tps.tmp";
    write_file(tmpfile, bytes_of("TPJSN"));
    // Recovery ignores and removes it; the log is intact.
    {
        auto [log, rec] = Log::open(tmp.path());
        BOOST_TEST(!rec.snapshot);
        BOOST_TEST(texts(rec) == expected_payloads(1, 8), boost::test_tools::per_element());
        BOOST_REQUIRE(rec.removed_files.size() == 1u);
        BOOST_TEST(rec.removed_files[0] == tmpfile.string());
        BOOST_TEST(!fs::exists(tmpfile));
    }
    check_appends_after_recovery(tmp.path(), 8);
}

BOOST_AUTO_TEST_CASE(crash_around_the_snapshot_rename) {
    TempDir tmp;
    const Options small{.durability = Durability::group, .segment_bytes = 200};
    // One log of 20 records over several segments, copied before the snapshot is taken.
    write_log(tmp / "before", 20, 0, small);
    fs::copy(tmp / "before", tmp / "done", fs::copy_options::recursive);
    {
        auto [log, rec] = Log::open(tmp / "done", small);
        log->write_snapshot(12, bytes_of("state@12"));
    }
    const auto snap = files_with_prefix(tmp / "done", "snapshot-").at(0);
    BOOST_TEST(snap.filename() == "snapshot-00000000000000000012.tps");

    // Before the rename: the complete temporary is not trusted and is removed.
    fs::copy(tmp / "before", tmp / "pre-rename", fs::copy_options::recursive);
    fs::copy_file(snap, tmp / "pre-rename" / (snap.filename().string() + ".tmp"));
    {
        auto [log, rec] = Log::open(tmp / "pre-rename", small);
        BOOST_TEST(!rec.snapshot);
        BOOST_TEST(texts(rec) == expected_payloads(1, 20), boost::test_tools::per_element());
        BOOST_TEST(rec.removed_files.size() == 1u);
    }
    check_appends_after_recovery(tmp / "pre-rename", 20, small);

    // Right after the rename, before the new segment and the clean-up: the snapshot and the
    // records after it; the segments it fully covers are removed.
    fs::copy(tmp / "before", tmp / "post-rename", fs::copy_options::recursive);
    fs::copy_file(snap, tmp / "post-rename" / snap.filename());
    const auto segments_before = segments(tmp / "post-rename").size();
    {
        auto [log, rec] = Log::open(tmp / "post-rename", small);
        BOOST_REQUIRE(rec.snapshot);
        BOOST_TEST(rec.snapshot->covered == 12u);
        BOOST_TEST(text_of(rec.snapshot->bytes) == "state@12");
        BOOST_TEST(texts(rec) == expected_payloads(13, 20), boost::test_tools::per_element());
        BOOST_TEST(rec.records.front().lsn == 13u);
        BOOST_TEST(!rec.removed_files.empty());
        BOOST_TEST(segments(tmp / "post-rename").size() < segments_before);
    }
    check_appends_after_recovery(tmp / "post-rename", 20, small);

    // After the rename and the clean-up: the same.
    {
        auto [log, rec] = Log::open(tmp / "done", small);
        BOOST_REQUIRE(rec.snapshot);
        BOOST_TEST(rec.snapshot->covered == 12u);
        BOOST_TEST(texts(rec) == expected_payloads(13, 20), boost::test_tools::per_element());
    }
    check_appends_after_recovery(tmp / "done", 20, small);
}

BOOST_AUTO_TEST_CASE(snapshot_ahead_of_the_log_continues_after_it) {
    TempDir tmp;
    // A snapshot at 10 next to a log that holds only 1..6 (its later segments were deleted).
    write_log(tmp / "a", 10, 0);
    {
        auto [log, rec] = Log::open(tmp / "a");
        log->write_snapshot(10, bytes_of("state@10"));
    }
    write_log(tmp / "b", 6, 0);
    fs::copy_file(tmp / "a" / "snapshot-00000000000000000010.tps",
                  tmp / "b" / "snapshot-00000000000000000010.tps");
    {
        // The snapshot wins; the covered segment goes; numbering resumes at 11.
        auto [log, rec] = Log::open(tmp / "b");
        BOOST_REQUIRE(rec.snapshot);
        BOOST_TEST(rec.snapshot->covered == 10u);
        BOOST_TEST(rec.records.empty());
        BOOST_TEST(log->written_lsn() == 10u);
    }
    check_appends_after_recovery(tmp / "b", 10);
}

BOOST_AUTO_TEST_CASE(corrupt_snapshot_is_an_error_naming_it) {
    TempDir tmp;
    write_log(tmp.path(), 4, 0);
    {
        auto [log, rec] = Log::open(tmp.path());
        log->write_snapshot(4, bytes_of("the state at four"));
    }
    const auto snap = files_with_prefix(tmp.path(), "snapshot-").at(0);
    // A flipped byte in the state fails the snapshot's CRC.
    flip_byte(snap, fs::file_size(snap) - 3);
    expect_corruption(tmp.path(), snap, 32);
    // A truncated snapshot is caught by its length.
    truncate_to(snap, fs::file_size(snap) - 1);
    expect_corruption(tmp.path(), snap, 24);
}

BOOST_AUTO_TEST_CASE(bad_crc_in_the_middle_is_an_error) {
    TempDir tmp;
    // Five records; a byte inside the second one's payload is flipped.
    const auto w = write_log(tmp.path(), 5, 0);
    flip_byte(w.segment, w.ends[1] + 10);
    // Valid records follow it, so this is corruption, named by file and offset; nothing is cut.
    expect_corruption(tmp.path(), w.segment, w.ends[1]);
    BOOST_TEST(fs::file_size(w.segment) == w.ends[5]);
}

BOOST_AUTO_TEST_CASE(bad_length_in_the_middle_is_an_error) {
    TempDir tmp;
    const auto w = write_log(tmp.path(), 5, 0);
    const auto original = read_file(w.segment);
    // The third record's length says one byte more: its CRC (which covers the length) fails.
    auto bytes = original;
    bytes[w.ends[2]] = static_cast<std::byte>(std::to_integer<int>(bytes[w.ends[2]]) + 1);
    write_file(w.segment, bytes);
    expect_corruption(tmp.path(), w.segment, w.ends[2]);
    // A length far past the end of the file, with valid records after it.
    bytes = original;
    bytes[w.ends[2] + 3] = std::byte{0x30};
    write_file(w.segment, bytes);
    expect_corruption(tmp.path(), w.segment, w.ends[2]);
}

BOOST_AUTO_TEST_CASE(bad_segment_header_is_an_error) {
    TempDir tmp;
    const auto w = write_log(tmp.path(), 2, 0);
    // A damaged magic number.
    flip_byte(w.segment, 1);
    expect_corruption(tmp.path(), w.segment, 0);
    flip_byte(w.segment, 1);
    // A damaged first LSN fails the header CRC.
    flip_byte(w.segment, 16);
    expect_corruption(tmp.path(), w.segment, 24);
}

BOOST_AUTO_TEST_CASE(gaps_and_damage_between_segments_are_errors) {
    TempDir tmp;
    const Options small{.durability = Durability::group, .segment_bytes = 200};
    write_log(tmp / "orig", 30, 0, small);
    const auto segs = segments(tmp / "orig");
    BOOST_REQUIRE(segs.size() >= 4u);

    // A missing middle segment: the manifest names it and the records it held.
    fs::copy(tmp / "orig", tmp / "gap", fs::copy_options::recursive);
    fs::remove(tmp / "gap" / segs[1].filename());
    expect_missing(tmp / "gap", tmp / "gap" / segs[1].filename(), first_lsn_of(segs[1]),
                   first_lsn_of(segs[2]) - 1, small);
    // Without a manifest (a directory an earlier version wrote) the gap still shows: the
    // segment after it starts past where the log ends.
    make_legacy(tmp / "gap");
    expect_corruption(tmp / "gap", tmp / "gap" / segs[2].filename(), 16, small);

    // A missing first segment with no snapshot to cover it.
    fs::copy(tmp / "orig", tmp / "head", fs::copy_options::recursive);
    fs::remove(tmp / "head" / segs[0].filename());
    expect_missing(tmp / "head", tmp / "head" / segs[0].filename(), 1, first_lsn_of(segs[1]) - 1,
                   small);
    make_legacy(tmp / "head");
    expect_corruption(tmp / "head", tmp / "head" / segs[1].filename(), 0, small);

    // A short segment that is not the last: never a torn write, since a segment is synced
    // before the next one is created.
    fs::copy(tmp / "orig", tmp / "short", fs::copy_options::recursive);
    const auto victim = tmp / "short" / segs[1].filename();
    const auto size = fs::file_size(victim);
    truncate_to(victim, size - 3);
    BOOST_REQUIRE(size - 3 > 32);
    try {
        Log::open(tmp / "short", small);
        BOOST_FAIL("a damaged middle segment was accepted");
    } catch (const CorruptionError& e) {
        BOOST_TEST(e.file() == victim.string());
        BOOST_TEST(e.offset() < size);
    }
    BOOST_TEST(fs::file_size(victim) == size - 3);
}

BOOST_AUTO_TEST_SUITE_END()
