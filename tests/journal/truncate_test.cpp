// A replica's two cuts (issue 16): truncate_after drops a divergent suffix, install_snapshot
// replaces the whole log by a received snapshot. Both must be durable on return, refuse what
// would lose covered state, and survive a crash at any step as the old log or the new one.
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <thread>

#include "journal_test_util.hpp"
#include "tp/journal/log.hpp"

using namespace journal_test;
using tp::journal::CorruptionError;
using tp::journal::Durability;
using tp::journal::JournalError;
using tp::journal::Log;
using tp::journal::Lsn;
using tp::journal::Options;

namespace {

const Options small{.durability = Durability::group, .segment_bytes = 200};

// Records 1..count synced over several small segments, then closed.
void write_records(const fs::path& dir, std::uint64_t count) {
    auto [log, rec] = Log::open(dir, small);
    for (std::uint64_t i = 1; i <= count; ++i) log->append(bytes_of(payload(i)));
    BOOST_REQUIRE(log->sync() == count);
}

std::vector<std::string> joined(std::vector<std::string> a, const std::vector<std::string>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

// The first LSN of every segment in `dir`.
std::vector<Lsn> firsts(const fs::path& dir) {
    std::vector<Lsn> out;
    for (const auto& seg : segments(dir)) out.push_back(first_lsn_of(seg));
    return out;
}

// A version-2 MANIFEST as the first cut writes it before touching a file (docs/journal.md).
void write_cut_manifest(const fs::path& dir, Lsn snapshot, const std::vector<Lsn>& segs, Lsn cut,
                        bool snapshot_pending) {
    std::vector<std::byte> b(24 + 8 * segs.size() + 20 + 4);
    const char magic[8] = {'T', 'P', 'J', 'M', 'A', 'N', 'I', 'F'};
    for (int i = 0; i < 8; ++i) b[i] = static_cast<std::byte>(magic[i]);
    put_le(b, 8, 2, 4);
    put_le(b, 12, segs.size(), 4);
    put_le(b, 16, snapshot, 8);
    for (std::size_t i = 0; i < segs.size(); ++i) put_le(b, 24 + 8 * i, segs[i], 8);
    const std::size_t end = 24 + 8 * segs.size();
    put_le(b, end, 1, 8);  // the first cut
    put_le(b, end + 8, cut, 8);
    put_le(b, end + 16, snapshot_pending ? 3 : 1, 4);
    put_le(b, end + 20, tp::journal::crc32c(std::span<const std::byte>(b).first(end + 20)), 4);
    write_file(dir / "MANIFEST", b);
}

// read() and then open() of `dir` both give `snapshot` (nullopt: none) and `records`; open()
// continues at `next`. Returns open()'s recovery.
tp::journal::Recovery expect_log(const fs::path& dir, std::optional<std::string> snapshot,
                                 const std::vector<std::string>& records, Lsn next) {
    const auto read = Log::read(dir);
    BOOST_TEST(texts(read) == records, boost::test_tools::per_element());
    BOOST_TEST(read.snapshot.has_value() == snapshot.has_value());
    if (snapshot && read.snapshot) BOOST_TEST(text_of(read.snapshot->bytes) == *snapshot);
    BOOST_TEST(!read.torn_tail);
    auto [log, rec] = Log::open(dir, small);
    BOOST_TEST(texts(rec) == records, boost::test_tools::per_element());
    BOOST_TEST(rec.snapshot.has_value() == snapshot.has_value());
    if (snapshot && rec.snapshot) BOOST_TEST(text_of(rec.snapshot->bytes) == *snapshot);
    BOOST_TEST(!rec.torn_tail);
    BOOST_TEST((rec.unfinished_cut == read.unfinished_cut));
    BOOST_TEST(log->written_lsn() == next - 1);
    BOOST_TEST(log->durable_lsn() == next - 1);
    return rec;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(journal_truncate)

BOOST_AUTO_TEST_CASE(truncate_mid_segment_then_append_then_reopen) {
    TempDir tmp;
    write_records(tmp.path(), 40);
    const auto before = firsts(tmp.path());
    BOOST_REQUIRE(before.size() >= 3u);
    // A cut one record into the newest segment keeps its first record.
    const Lsn p = before.back();
    {
        auto [log, rec] = Log::open(tmp.path(), small);
        BOOST_TEST(log->truncate_after(p) == p);
        BOOST_TEST(log->written_lsn() == p);
        BOOST_TEST(log->durable_lsn() == p);
        // The next append takes the first dropped LSN, with new contents.
        BOOST_TEST(log->append(bytes_of(std::string("new-").append(std::to_string(p + 1)))) == p + 1);
        log->sync();
    }
    BOOST_TEST(firsts(tmp.path()) == before, boost::test_tools::per_element());
    // The old suffix never returns, to read() or open().
    const auto rec =
        expect_log(tmp.path(), std::nullopt,
                   joined(expected_payloads(1, p), {std::string("new-").append(std::to_string(p + 1))}), p + 2);
    BOOST_TEST(!rec.unfinished_cut);
}

BOOST_AUTO_TEST_CASE(truncate_across_segments_with_records_still_buffered) {
    TempDir tmp;
    write_records(tmp.path(), 40);
    const auto before = firsts(tmp.path());
    BOOST_REQUIRE(before.size() >= 4u);
    // A cut in the middle of the second segment: the later segments go whole.
    const Lsn p = before[1] + 1;
    BOOST_REQUIRE(p + 1 < before[2]);
    {
        auto [log, rec] = Log::open(tmp.path(), small);
        // Records 41..43 appended, the last still unsynced.
        for (Lsn i = 41; i <= 43; ++i) log->append(bytes_of(payload(i)));
        BOOST_TEST(log->durable_lsn() < 43u);
        BOOST_TEST(log->truncate_after(p) == p);
        BOOST_TEST(log->written_lsn() == p);
        BOOST_TEST(log->durable_lsn() == p);
        BOOST_TEST(log->segment_count() == 2u);
        // Appending continues at p + 1, and a sync reports it durable.
        BOOST_TEST(log->append(bytes_of("after the cut")) == p + 1);
        BOOST_TEST(log->sync() == p + 1);
    }
    BOOST_TEST(firsts(tmp.path()) == std::vector<Lsn>(before.begin(), before.begin() + 2),
               boost::test_tools::per_element());
    expect_log(tmp.path(), std::nullopt, joined(expected_payloads(1, p), {"after the cut"}),
               p + 2);
}

BOOST_AUTO_TEST_CASE(truncate_everything_and_at_a_segment_boundary) {
    TempDir tmp;
    write_records(tmp / "all", 20);
    write_records(tmp / "boundary", 40);
    {
        // After 0: no record is left, and the log starts again at 1.
        auto [log, rec] = Log::open(tmp / "all", small);
        BOOST_TEST(log->truncate_after(0) == 0u);
        BOOST_TEST(log->append(bytes_of("first again")) == 1u);
        log->sync();
    }
    expect_log(tmp / "all", std::nullopt, {"first again"}, 2);
    // Right before a segment's first record: that segment is cut to its header.
    const auto before = firsts(tmp / "boundary");
    const Lsn p = before[2] - 1;
    {
        auto [log, rec] = Log::open(tmp / "boundary", small);
        BOOST_TEST(log->truncate_after(p) == p);
    }
    expect_log(tmp / "boundary", std::nullopt, expected_payloads(1, p), p + 1);
    BOOST_TEST(fs::file_size(segments(tmp / "boundary").back()) == 32u);
}

BOOST_AUTO_TEST_CASE(truncate_below_the_snapshot_is_refused) {
    TempDir tmp;
    write_records(tmp.path(), 40);
    auto [log, rec] = Log::open(tmp.path(), small);
    log->write_snapshot(20, bytes_of("state@20"));
    // Below what the snapshot covers: refused, naming both LSNs and the journal.
    try {
        log->truncate_after(19);
        BOOST_FAIL("a truncation below the snapshot was accepted");
    } catch (const JournalError& e) {
        BOOST_TEST_MESSAGE(e.what());
        BOOST_TEST(contains(e.what(), "after LSN 19"));
        BOOST_TEST(contains(e.what(), "up to LSN 20"));
        BOOST_TEST(contains(e.what(), tmp.path().string()));
    }
    // Nothing changed and the log is still usable.
    BOOST_TEST(log->written_lsn() == 40u);
    BOOST_TEST(log->append(bytes_of(payload(41))) == 41u);
    log->sync();
    // At the snapshot exactly is allowed: every record after it goes.
    BOOST_TEST(log->truncate_after(20) == 20u);
    BOOST_TEST(log->append(bytes_of("after the snapshot")) == 21u);
    log->sync();
    log.reset();
    expect_log(tmp.path(), "state@20", {"after the snapshot"}, 22);
}

BOOST_AUTO_TEST_CASE(truncate_at_or_beyond_written_is_a_no_op) {
    TempDir tmp;
    write_records(tmp.path(), 40);
    auto [log, rec] = Log::open(tmp.path(), small);
    log->append(bytes_of(payload(41)));  // buffered, not yet written
    const auto state = dir_state(tmp.path());
    // At and beyond written: nothing is written, cut or synced.
    BOOST_TEST(log->truncate_after(41) == 41u);
    BOOST_TEST(log->truncate_after(1000) == 41u);
    BOOST_TEST(dir_state(tmp.path()) == state);
    BOOST_TEST(log->written_lsn() == 41u);
    BOOST_TEST(log->durable_lsn() == 40u);
}

BOOST_AUTO_TEST_CASE(install_snapshot_beyond_the_log_then_append_and_reopen) {
    TempDir tmp;
    write_records(tmp.path(), 40);
    {
        auto [log, rec] = Log::open(tmp.path(), small);
        log->append(bytes_of(payload(41)));  // buffered: dropped with the rest
        // The leader's snapshot covers far more than this replica holds.
        log->install_snapshot(100, bytes_of("leader@100"));
        BOOST_TEST(log->written_lsn() == 100u);
        BOOST_TEST(log->durable_lsn() == 100u);
        BOOST_TEST(log->segment_count() == 1u);
        BOOST_TEST(log->append(bytes_of("r101")) == 101u);
        BOOST_TEST(log->sync() == 101u);
    }
    // One snapshot, one segment from 101: nothing of the old log is left on disk.
    BOOST_TEST(files_with_prefix(tmp.path(), "snapshot-").size() == 1u);
    BOOST_TEST(firsts(tmp.path()) == std::vector<Lsn>{101}, boost::test_tools::per_element());
    expect_log(tmp.path(), "leader@100", {"r101"}, 102);
}

BOOST_AUTO_TEST_CASE(install_snapshot_below_written_replaces_everything_after) {
    TempDir tmp;
    write_records(tmp.path(), 40);
    {
        auto [log, rec] = Log::open(tmp.path(), small);
        log->write_snapshot(10, bytes_of("mine@10"));
        // Below the own snapshot, or covering nothing: refused, and the log is unchanged.
        BOOST_CHECK_THROW(log->install_snapshot(9, bytes_of("old")), JournalError);
        BOOST_CHECK_THROW(log->install_snapshot(0, bytes_of("none")), JournalError);
        BOOST_TEST(log->written_lsn() == 40u);
        // The leader's state at 25 replaces this replica's records 11..40, not only 11..25.
        log->install_snapshot(25, bytes_of("leader@25"));
        BOOST_TEST(log->written_lsn() == 25u);
        BOOST_TEST(log->append(bytes_of("r26")) == 26u);
        log->sync();
    }
    expect_log(tmp.path(), "leader@25", {"r26"}, 27);
    {
        // The same position again replaces the snapshot's state and drops what followed.
        auto [log, rec] = Log::open(tmp.path(), small);
        log->install_snapshot(25, bytes_of("leader@25 again"));
    }
    expect_log(tmp.path(), "leader@25 again", {}, 26);
    BOOST_TEST(files_with_prefix(tmp.path(), "snapshot-").size() == 1u);
}

BOOST_AUTO_TEST_CASE(cuts_beside_a_concurrent_syncer) {
    TempDir tmp;
    // What the log must hold: the snapshot and the records after it.
    std::string snapshot;
    Lsn covered = 0;
    std::vector<std::string> model;
    {
        auto [log, rec] = Log::open(tmp.path(), small);
        std::atomic<bool> done{false};
        std::string failure;  // the syncer's, read after the join
        // The syncing thread syncs over and over while the cuts run on this one.
        std::thread syncer([&, &log = log] {
            do {
                try {
                    log->sync();
                } catch (const std::exception& e) {
                    failure = e.what();
                    return;
                }
                std::this_thread::yield();
            } while (!done.load());
        });
        for (int round = 1; round <= 62; ++round) {
            // Twenty appends, then every third round a cut seven records back, every fifth a
            // snapshot installed three positions ahead.
            for (int i = 0; i < 20; ++i) {
                const std::string text = std::string("r").append(std::to_string(round)) + std::string("-").append(std::to_string(i));
                BOOST_REQUIRE(log->append(bytes_of(text)) == covered + model.size() + 1);
                model.push_back(text);
            }
            if (round % 3 == 0) {
                const Lsn p = log->written_lsn() - 7;
                BOOST_REQUIRE(log->truncate_after(p) == p);
                model.resize(p - covered);
            }
            if (round % 5 == 0) {
                covered = log->written_lsn() + 3;
                snapshot = std::string("snap-").append(std::to_string(round));
                log->install_snapshot(covered, bytes_of(snapshot));
                model.clear();
            }
        }
        done = true;
        syncer.join();
        BOOST_TEST(failure.empty(), "a concurrent sync failed: " << failure);
        // A last sync makes everything durable, at exactly the end of the log.
        BOOST_TEST(log->sync() == covered + model.size());
        BOOST_TEST(log->durable_lsn() == log->written_lsn());
    }
    expect_log(tmp.path(), snapshot, model, covered + model.size() + 1);
}

BOOST_AUTO_TEST_CASE(after_a_cut_the_manifest_never_repeats_an_earlier_one) {
    TempDir tmp;
    write_records(tmp.path(), 40);
    const auto files_before = firsts(tmp.path());
    const auto manifest_before = read_file(tmp / "MANIFEST");
    {
        // Cut back into the second-newest segment and append the same records again: the same
        // segments come back, under the same names.
        auto [log, rec] = Log::open(tmp.path(), small);
        const Lsn p = files_before[files_before.size() - 2] + 1;
        log->truncate_after(p);
        for (Lsn i = p + 1; i <= 40; ++i) log->append(bytes_of(payload(i)));
        log->sync();
    }
    BOOST_REQUIRE(firsts(tmp.path()) == files_before);
    // The manifest differs all the same (it counts the cuts), so a reader that saw one manifest
    // before and after its scan cannot have read files from both sides of the cut.
    BOOST_TEST((read_file(tmp / "MANIFEST") != manifest_before));
    expect_log(tmp.path(), std::nullopt, expected_payloads(1, 40), 41);
}

BOOST_AUTO_TEST_CASE(reads_beside_a_writer_that_cuts_see_one_log) {
    TempDir tmp;
    // Each record says the generation it was appended in (one more after every cut) and its
    // LSN. A read that mixed the log before a cut with the log after it would show a record of
    // an older generation after one of a newer.
    auto opened = Log::open(tmp.path(), small);
    Log& log = *opened.log;
    std::atomic<bool> done{false};
    std::atomic<int> reads{0};
    std::string failure;  // the reader's, read after the join
    std::thread reader([&] {
        while (!done.load() && failure.empty()) {
            try {
                const auto r = Log::read(tmp.path());
                int generation = 0;
                Lsn expect = 1;
                if (r.snapshot) {
                    const std::string text = text_of(r.snapshot->bytes);
                    const auto dash = text.find('-');
                    generation = std::stoi(text.substr(1, dash - 1));
                    if (text.substr(dash + 1) != std::to_string(r.snapshot->covered))
                        failure = "snapshot " + text;
                    expect = r.snapshot->covered + 1;
                }
                for (const auto& rec : r.records) {
                    const std::string text = text_of(rec.bytes);
                    const auto dash = text.find('-');
                    const int g = std::stoi(text.substr(1, dash - 1));
                    if (rec.lsn != expect++ || text.substr(dash + 1) != std::to_string(rec.lsn) ||
                        g < generation)
                        failure = std::string("record ").append(std::to_string(rec.lsn)) + ": " + text;
                    generation = g;
                }
                ++reads;
            } catch (const JournalError& e) {
                // Only "changed while it was being read" is allowed: no damage, no lost file.
                if (dynamic_cast<const CorruptionError*>(&e)) failure = e.what();
            } catch (const std::exception& e) {
                failure = e.what();
            }
        }
    });
    // The writer appends, cuts ten records back every 50 appends and installs a snapshot five
    // positions ahead every 170.
    int generation = 0;
    for (int i = 1; i <= 600; ++i) {
        const Lsn lsn = log.written_lsn() + 1;
        BOOST_REQUIRE(log.append(bytes_of(std::string("g").append(std::to_string(generation)) + "-" +
                                          std::to_string(lsn))) == lsn);
        if (i % 7 == 0) log.sync();
        if (i % 50 == 0) {
            log.truncate_after(log.written_lsn() - 10);
            ++generation;
        }
        if (i % 170 == 0) {
            const Lsn covered = log.written_lsn() + 5;
            log.install_snapshot(covered, bytes_of(std::string("s").append(std::to_string(generation)) + "-" +
                                                   std::to_string(covered)));
            ++generation;
        }
    }
    log.sync();
    done = true;
    reader.join();
    BOOST_TEST(failure == "");
    BOOST_TEST_MESSAGE(reads.load() << " reads beside the cuts");
}

BOOST_AUTO_TEST_CASE(a_crash_around_a_truncation_leaves_the_old_log_or_the_new_one) {
    TempDir tmp;
    write_records(tmp / "before", 40);
    const auto segs = firsts(tmp / "before");
    BOOST_REQUIRE(segs.size() >= 4u);
    const Lsn p = segs[1] + 1;
    const std::vector<Lsn> kept(segs.begin(), segs.begin() + 2);
    fs::copy(tmp / "before", tmp / "after", fs::copy_options::recursive);
    {
        auto [log, rec] = Log::open(tmp / "after", small);
        log->truncate_after(p);
    }
    const auto cut_segment = segments(tmp / "after")[1].filename();

    // Before the commit point: the cut manifest was still a temporary. The old log stands.
    fs::copy(tmp / "before", tmp / "tmp-manifest", fs::copy_options::recursive);
    write_file(tmp / "tmp-manifest" / "MANIFEST.tmp", read_file(tmp / "after" / "MANIFEST"));
    expect_log(tmp / "tmp-manifest", std::nullopt, expected_payloads(1, 40), 41);

    // Right after it: every file as it was, the cut manifest on disk. The new log stands.
    fs::copy(tmp / "before", tmp / "committed", fs::copy_options::recursive);
    write_cut_manifest(tmp / "committed", 0, kept, p, false);
    const auto read = Log::read(tmp / "committed");
    BOOST_TEST((read.unfinished_cut == std::optional<Lsn>(p)));
    BOOST_TEST(read.leftover_files.size() == segs.size() - 2);
    const auto rec = expect_log(tmp / "committed", std::nullopt, expected_payloads(1, p), p + 1);
    BOOST_TEST((rec.unfinished_cut == std::optional<Lsn>(p)));
    BOOST_TEST(rec.removed_files.size() == segs.size() - 2);
    // open() finished it: the files are the completed cut's, the manifest is plain again.
    BOOST_TEST(dir_state(tmp / "committed") == dir_state(tmp / "after"));
    BOOST_TEST(!Log::read(tmp / "committed").unfinished_cut);

    // Midway: the segment already cut, the later ones still there.
    fs::copy(tmp / "before", tmp / "midway", fs::copy_options::recursive);
    write_file(tmp / "midway" / cut_segment, read_file(tmp / "after" / cut_segment));
    write_cut_manifest(tmp / "midway", 0, kept, p, false);
    expect_log(tmp / "midway", std::nullopt, expected_payloads(1, p), p + 1);
    BOOST_TEST(dir_state(tmp / "midway") == dir_state(tmp / "after"));
}

BOOST_AUTO_TEST_CASE(a_crash_around_a_snapshot_installation_leaves_the_old_log_or_the_new_one) {
    TempDir tmp;
    write_records(tmp / "before", 40);
    fs::copy(tmp / "before", tmp / "after", fs::copy_options::recursive);
    {
        auto [log, rec] = Log::open(tmp / "after", small);
        log->install_snapshot(25, bytes_of("leader@25"));
    }
    const std::string snap = "snapshot-00000000000000000025.tps";
    const auto snap_bytes = read_file(tmp / "after" / snap);

    // The snapshot written as a temporary, the manifest not yet replaced: the old log stands.
    fs::copy(tmp / "before", tmp / "unnamed", fs::copy_options::recursive);
    write_file(tmp / "unnamed" / (snap + ".tmp"), snap_bytes);
    expect_log(tmp / "unnamed", std::nullopt, expected_payloads(1, 40), 41);
    BOOST_TEST(!fs::exists(tmp / "unnamed" / (snap + ".tmp")));

    // The cut manifest on disk, the snapshot still at its temporary name: the new log.
    fs::copy(tmp / "before", tmp / "pending", fs::copy_options::recursive);
    write_file(tmp / "pending" / (snap + ".tmp"), snap_bytes);
    write_cut_manifest(tmp / "pending", 25, {}, 25, true);
    const auto read = Log::read(tmp / "pending");
    BOOST_TEST((read.unfinished_cut == std::optional<Lsn>(25)));
    expect_log(tmp / "pending", "leader@25", {}, 26);
    BOOST_TEST(fs::exists(tmp / "pending" / snap));
    BOOST_TEST(firsts(tmp / "pending") == std::vector<Lsn>{26}, boost::test_tools::per_element());

    // The snapshot renamed, the old segments not yet removed: the new log.
    fs::copy(tmp / "before", tmp / "renamed", fs::copy_options::recursive);
    write_file(tmp / "renamed" / snap, snap_bytes);
    write_cut_manifest(tmp / "renamed", 25, {}, 25, true);
    expect_log(tmp / "renamed", "leader@25", {}, 26);
    BOOST_TEST(dir_state(tmp / "renamed") == dir_state(tmp / "after"));

    // The new segment created too, the plain manifest not yet written: the new log.
    fs::copy(tmp / "after", tmp / "created", fs::copy_options::recursive);
    for (const auto& seg : segments(tmp / "before"))
        if (first_lsn_of(seg) != 26) fs::copy_file(seg, tmp / "created" / seg.filename());
    write_cut_manifest(tmp / "created", 25, {}, 25, true);
    expect_log(tmp / "created", "leader@25", {}, 26);
    BOOST_TEST(dir_state(tmp / "created") == dir_state(tmp / "after"));

    // The committed snapshot gone from both names is a loss, as any listed file's.
    fs::copy(tmp / "before", tmp / "lost", fs::copy_options::recursive);
    write_cut_manifest(tmp / "lost", 25, {}, 25, true);
    BOOST_CHECK_THROW(Log::read(tmp / "lost"), tp::journal::MissingFileError);
    BOOST_CHECK_THROW(Log::open(tmp / "lost", small), tp::journal::MissingFileError);
}

BOOST_AUTO_TEST_CASE(a_cut_manifest_that_keeps_files_beyond_its_cut_is_refused) {
    TempDir tmp;
    write_records(tmp.path(), 40);
    const auto segs = firsts(tmp.path());
    // It lists a segment starting after the LSN it cuts at: damage, named, nothing changed.
    write_cut_manifest(tmp.path(), 0, segs, segs.back() - 2, false);
    const auto state = dir_state(tmp.path());
    try {
        Log::open(tmp.path(), small);
        BOOST_FAIL("a cut manifest keeping files beyond its cut was accepted");
    } catch (const CorruptionError& e) {
        BOOST_TEST_MESSAGE(e.what());
        BOOST_TEST(e.file() == (tmp / "MANIFEST").string());
        BOOST_TEST(contains(e.what(), std::string("cuts the log after LSN ").append(std::to_string(segs.back() - 2))));
    }
    BOOST_CHECK_THROW(Log::read(tmp.path()), CorruptionError);
    BOOST_TEST(dir_state(tmp.path()) == state);
}

BOOST_AUTO_TEST_SUITE_END()
