// The journal knows its own end: a deleted segment (newest or middle) or snapshot is an error
// naming it, from open() and read() alike; legitimate retirement after a snapshot, and the crash
// windows around creating and retiring files, are not; a directory an earlier version wrote
// (no manifest) still opens and gets one.
#include <boost/test/unit_test.hpp>

#include "journal_test_util.hpp"
#include "tp/journal/log.hpp"

using namespace journal_test;
using tp::journal::CorruptionError;
using tp::journal::Durability;
using tp::journal::Log;
using tp::journal::Lsn;
using tp::journal::MissingFileError;
using tp::journal::Options;

namespace {

const Options small{.durability = Durability::group, .segment_bytes = 200};

// Records 1..count synced over several small segments, then closed.
void write_records(const fs::path& dir, std::uint64_t count) {
    auto [log, rec] = Log::open(dir, small);
    for (std::uint64_t i = 1; i <= count; ++i) log->append(bytes_of(payload(i)));
    BOOST_REQUIRE(log->sync() == count);
}

// The MissingFileError that open() (or read()) throws for `dir`; fails the test if none.
MissingFileError missing_error(const fs::path& dir, bool read_only) {
    try {
        if (read_only) {
            Log::read(dir);
        } else {
            Log::open(dir, small);
        }
    } catch (const MissingFileError& e) {
        BOOST_TEST_MESSAGE(e.what());
        return e;
    }
    BOOST_FAIL("no MissingFileError for " << dir);
    throw std::logic_error("unreachable");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(journal_manifest)

BOOST_AUTO_TEST_CASE(newest_segment_deleted_is_an_error_naming_it) {
    TempDir tmp;
    write_records(tmp.path(), 40);
    const auto segs = segments(tmp.path());
    BOOST_REQUIRE(segs.size() >= 3u);
    const Lsn first = first_lsn_of(segs.back());
    fs::remove(segs.back());
    // Before the manifest, this opened as a shorter log and the newest records were gone.
    for (const bool read_only : {true, false}) {
        const auto e = missing_error(tmp.path(), read_only);
        BOOST_TEST(e.file() == segs.back().string());
        BOOST_TEST(e.first() == first);
        BOOST_TEST(!e.last().has_value());  // the newest segment's end is unknown
        const std::string what = e.what();
        BOOST_TEST(contains(what, segs.back().filename().string()));
        BOOST_TEST(contains(what, "newest segment"));
        BOOST_TEST(contains(what, "from LSN " + std::to_string(first) + " on"));
    }
    // The failed open changed nothing: the error stays until the file is restored.
    BOOST_TEST(missing_error(tmp.path(), false).file() == segs.back().string());
}

BOOST_AUTO_TEST_CASE(middle_segment_deleted_is_an_error_naming_it) {
    TempDir tmp;
    write_records(tmp.path(), 40);
    const auto segs = segments(tmp.path());
    BOOST_REQUIRE(segs.size() >= 4u);
    fs::remove(segs[2]);
    for (const bool read_only : {true, false}) {
        const auto e = missing_error(tmp.path(), read_only);
        BOOST_TEST(e.file() == segs[2].string());
        BOOST_TEST(e.first() == first_lsn_of(segs[2]));
        BOOST_REQUIRE(e.last().has_value());
        BOOST_TEST(*e.last() == first_lsn_of(segs[3]) - 1);
    }
}

BOOST_AUTO_TEST_CASE(deleted_snapshot_is_an_error_naming_it) {
    TempDir tmp;
    write_records(tmp.path(), 30);
    {
        auto [log, rec] = Log::open(tmp.path(), small);
        log->write_snapshot(30, bytes_of("state@30"));
        log->append(bytes_of(payload(31)));
        log->sync();
    }
    const auto snap = files_with_prefix(tmp.path(), "snapshot-").at(0);
    fs::remove(snap);
    for (const bool read_only : {true, false}) {
        const auto e = missing_error(tmp.path(), read_only);
        BOOST_TEST(e.file() == snap.string());
        BOOST_TEST(e.first() == 1u);
        BOOST_REQUIRE(e.last().has_value());
        BOOST_TEST(*e.last() == 30u);
    }
}

BOOST_AUTO_TEST_CASE(snapshots_retire_segments_and_the_log_still_opens) {
    TempDir tmp;
    {
        auto [log, rec] = Log::open(tmp.path(), small);
        for (std::uint64_t i = 1; i <= 40; ++i) log->append(bytes_of(payload(i)));
        const auto before = segments(tmp.path()).size();
        log->write_snapshot(25, bytes_of("state@25"));
        // The segments holding only records up to 25 are gone: retired, not lost.
        BOOST_TEST(segments(tmp.path()).size() < before);
        for (std::uint64_t i = 41; i <= 60; ++i) log->append(bytes_of(payload(i)));
        log->write_snapshot(60, bytes_of("state@60"));
        log->append(bytes_of(payload(61)));
        log->sync();
    }
    const auto state = dir_state(tmp.path());
    const auto read = Log::read(tmp.path());
    BOOST_REQUIRE(read.snapshot);
    BOOST_TEST(read.snapshot->covered == 60u);
    BOOST_TEST(texts(read) == expected_payloads(61, 61), boost::test_tools::per_element());
    BOOST_TEST(read.leftover_files.empty());
    BOOST_TEST(dir_state(tmp.path()) == state);
    auto [log, rec] = Log::open(tmp.path(), small);
    BOOST_TEST(text_of(rec.snapshot->bytes) == "state@60");
    BOOST_TEST(texts(rec) == expected_payloads(61, 61), boost::test_tools::per_element());
    BOOST_TEST(rec.removed_files.empty());
    BOOST_TEST(log->append(bytes_of(payload(62))) == 62u);
}

BOOST_AUTO_TEST_CASE(a_crash_during_retirement_leaves_leftovers_not_losses) {
    TempDir tmp;
    write_records(tmp / "before", 40);
    fs::copy(tmp / "before", tmp / "after", fs::copy_options::recursive);
    {
        auto [log, rec] = Log::open(tmp / "after", small);
        log->write_snapshot(30, bytes_of("state@30"));
    }
    // The manifest stopped naming the old segments, and the crash came before they were
    // unlinked: put them back.
    std::vector<std::string> leftovers;
    for (const auto& seg : segments(tmp / "before")) {
        if (!fs::exists(tmp / "after" / seg.filename())) {
            fs::copy_file(seg, tmp / "after" / seg.filename());
            leftovers.push_back((tmp / "after" / seg.filename()).string());
        }
    }
    BOOST_REQUIRE(!leftovers.empty());
    // read() lists them and leaves them; open() removes them; neither reports a loss.
    const auto state = dir_state(tmp / "after");
    const auto read = Log::read(tmp / "after");
    BOOST_TEST(read.leftover_files == leftovers, boost::test_tools::per_element());
    BOOST_TEST(texts(read) == expected_payloads(31, 40), boost::test_tools::per_element());
    BOOST_TEST(dir_state(tmp / "after") == state);
    {
        auto [log, rec] = Log::open(tmp / "after", small);
        BOOST_TEST(rec.removed_files == leftovers, boost::test_tools::per_element());
        BOOST_TEST(texts(rec) == expected_payloads(31, 40), boost::test_tools::per_element());
    }
    for (const auto& f : leftovers) BOOST_TEST(!fs::exists(f));
}

BOOST_AUTO_TEST_CASE(a_crash_between_creating_a_segment_and_listing_it_is_adopted) {
    TempDir tmp;
    write_records(tmp / "a", 40);
    fs::copy(tmp / "a", tmp / "b", fs::copy_options::recursive);
    // The new segment was renamed into place; the manifest update never happened.
    const auto unlisted = write_empty_segment(tmp / "a", 41);
    const auto state = dir_state(tmp / "a");
    const auto read = Log::read(tmp / "a");
    BOOST_TEST(texts(read) == expected_payloads(1, 40), boost::test_tools::per_element());
    BOOST_TEST(dir_state(tmp / "a") == state);
    {
        // open() adopts it and appends there.
        auto [log, rec] = Log::open(tmp / "a", small);
        BOOST_TEST(texts(rec) == expected_payloads(1, 40), boost::test_tools::per_element());
        BOOST_TEST(log->append(bytes_of(payload(41))) == 41u);
        log->sync();
    }
    BOOST_TEST(fs::file_size(unlisted) > 32u);
    // Now listed: deleting it is a loss like any other.
    fs::remove(unlisted);
    BOOST_TEST(missing_error(tmp / "a", true).file() == unlisted.string());

    // Only that window is accepted: an unlisted segment holding records...
    const auto bytes = read_file(segments(tmp / "b").back());
    const auto with_records = write_empty_segment(tmp / "b", 41);
    auto grown = read_file(with_records);
    grown.insert(grown.end(), bytes.begin() + 32, bytes.end());
    write_file(with_records, grown);
    BOOST_CHECK_THROW(Log::read(tmp / "b"), CorruptionError);
    BOOST_CHECK_THROW(Log::open(tmp / "b", small), CorruptionError);
    // ...or two of them, are not.
    fs::remove(with_records);
    write_empty_segment(tmp / "b", 41);
    write_empty_segment(tmp / "b", 42);
    BOOST_CHECK_THROW(Log::read(tmp / "b"), CorruptionError);
    BOOST_CHECK_THROW(Log::open(tmp / "b", small), CorruptionError);
}

BOOST_AUTO_TEST_CASE(legacy_directory_is_read_and_adopted) {
    TempDir tmp;
    write_records(tmp.path(), 30);
    {
        auto [log, rec] = Log::open(tmp.path(), small);
        log->write_snapshot(12, bytes_of("state@12"));
        for (std::uint64_t i = 31; i <= 35; ++i) log->append(bytes_of(payload(i)));
        log->sync();
    }
    make_legacy(tmp.path());
    BOOST_REQUIRE(!fs::exists(tmp / "MANIFEST"));
    // read() reads it as it is, says it is legacy, and writes nothing (no manifest either).
    const auto state = dir_state(tmp.path());
    const auto read = Log::read(tmp.path());
    BOOST_TEST(read.legacy);
    BOOST_TEST(text_of(read.snapshot->bytes) == "state@12");
    BOOST_TEST(texts(read) == expected_payloads(13, 35), boost::test_tools::per_element());
    BOOST_TEST(dir_state(tmp.path()) == state);
    {
        // The first writable open adopts it: same records, and a manifest from now on.
        auto [log, rec] = Log::open(tmp.path(), small);
        BOOST_TEST(rec.legacy);
        BOOST_TEST(texts(rec) == expected_payloads(13, 35), boost::test_tools::per_element());
        BOOST_TEST(fs::exists(tmp / "MANIFEST"));
        BOOST_TEST(log->append(bytes_of(payload(36))) == 36u);
        log->sync();
    }
    BOOST_TEST(!Log::read(tmp.path()).legacy);
    // The adopted segments (still format version 1) are guarded like new ones.
    const auto newest = segments(tmp.path()).back();
    fs::remove(newest);
    BOOST_TEST(missing_error(tmp.path(), false).file() == newest.string());
}

BOOST_AUTO_TEST_CASE(a_lost_manifest_is_an_error_not_a_legacy_directory) {
    TempDir tmp;
    write_records(tmp.path(), 30);
    // A current directory without its manifest cannot know its end: refused, not adopted.
    fs::remove(tmp / "MANIFEST");
    for (const bool read_only : {true, false}) {
        try {
            if (read_only) {
                Log::read(tmp.path());
            } else {
                Log::open(tmp.path(), small);
            }
            BOOST_FAIL("a log without its manifest was accepted");
        } catch (const CorruptionError& e) {
            BOOST_TEST_MESSAGE(e.what());
            BOOST_TEST(e.file() == (tmp / "MANIFEST").string());
            BOOST_TEST(contains(e.what(), "MANIFEST is missing"));
        }
    }
    BOOST_TEST(!fs::exists(tmp / "MANIFEST"));
}

BOOST_AUTO_TEST_CASE(a_damaged_manifest_is_an_error_naming_it) {
    TempDir tmp;
    write_records(tmp.path(), 30);
    const auto manifest = tmp / "MANIFEST";
    const auto good = read_file(manifest);
    for (std::size_t at : {std::size_t{0}, std::size_t{13}, std::size_t{20}, good.size() - 1}) {
        auto bad = good;
        bad.at(at) ^= std::byte{0x21};
        write_file(manifest, bad);
        try {
            Log::read(tmp.path());
            BOOST_FAIL("a damaged manifest was accepted (byte " << at << ")");
        } catch (const CorruptionError& e) {
            BOOST_TEST_MESSAGE(e.what());
            BOOST_TEST(e.file() == manifest.string());
        }
        BOOST_CHECK_THROW(Log::open(tmp.path(), small), CorruptionError);
    }
    write_file(manifest, good);
    BOOST_TEST(texts(Log::read(tmp.path())) == expected_payloads(1, 30),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()
