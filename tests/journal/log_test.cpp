#include <boost/test/unit_test.hpp>

#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <random>
#include <thread>

#include "journal_test_util.hpp"
#include "tp/journal/lock_watch.hpp"
#include "tp/journal/log.hpp"

using namespace journal_test;
using tp::journal::CorruptionError;
using tp::journal::Durability;
using tp::journal::JournalError;
using tp::journal::LockedError;
using tp::journal::LockWatch;
using tp::journal::Log;
using tp::journal::Lsn;
using tp::journal::Options;

namespace {
}  // namespace

BOOST_AUTO_TEST_SUITE(journal_log)

BOOST_AUTO_TEST_CASE(append_sync_reopen_round_trip) {
    TempDir tmp;
    const auto dir = tmp / "log";
    {
        // A missing directory is created, and a fresh log starts before LSN 1.
        auto [log, rec] = Log::open(dir);
        BOOST_TEST(fs::is_directory(dir));
        BOOST_TEST(rec.records.empty());
        BOOST_TEST(!rec.snapshot);
        BOOST_TEST(log->written_lsn() == 0u);
        // Appends under `group` are durable only after sync().
        for (std::uint64_t i = 1; i <= 5; ++i) BOOST_TEST(log->append(bytes_of(payload(i))) == i);
        BOOST_TEST(log->written_lsn() == 5u);
        BOOST_TEST(log->durable_lsn() == 0u);
        BOOST_TEST(log->sync() == 5u);
        BOOST_TEST(log->durable_lsn() == 5u);
        // An empty record is a record too.
        BOOST_TEST(log->append({}) == 6u);
        BOOST_TEST(log->sync() == 6u);
    }
    // Reopening returns every record, in order, with its LSN, and continues numbering.
    auto [log, rec] = Log::open(dir);
    BOOST_TEST(rec.records.size() == 6u);
    for (std::size_t i = 0; i < 5; ++i) {
        BOOST_TEST(rec.records[i].lsn == i + 1);
        BOOST_TEST(text_of(rec.records[i].bytes) == payload(i + 1));
    }
    BOOST_TEST(rec.records[5].bytes.empty());
    BOOST_TEST(!rec.torn_tail);
    BOOST_TEST(log->durable_lsn() == 6u);
    BOOST_TEST(log->append(bytes_of("next")) == 7u);
}

BOOST_AUTO_TEST_CASE(every_policy_is_durable_on_return) {
    TempDir tmp;
    auto [log, rec] = Log::open(tmp.path(), Options{.durability = Durability::every});
    for (std::uint64_t i = 1; i <= 3; ++i) {
        // Each append is durable before it returns.
        BOOST_TEST(log->append(bytes_of(payload(i))) == i);
        BOOST_TEST(log->durable_lsn() == i);
    }
}

BOOST_AUTO_TEST_CASE(none_policy_counts_written_as_durable_on_sync) {
    TempDir tmp;
    auto [log, rec] = Log::open(tmp / "a/b/", Options{.durability = Durability::none});
    // Appends are only written...
    log->append(bytes_of("x"));
    log->append(bytes_of("y"));
    BOOST_TEST(log->durable_lsn() == 0u);
    // ...and sync() acknowledges them without flushing, so drivers need not special-case it.
    BOOST_TEST(log->sync() == 2u);
    BOOST_TEST(log->durable_lsn() == 2u);
}

BOOST_AUTO_TEST_CASE(appends_wait_in_the_write_buffer_until_sync_or_a_full_buffer) {
    TempDir tmp;
    const Options buffered{.durability = Durability::group, .write_buffer_bytes = 256};
    {
        auto [log, rec] = Log::open(tmp.path(), buffered);
        const auto segment = segments(tmp.path()).back();
        const auto empty = fs::file_size(segment);
        // Three small records stay in memory: no write(2) yet.
        for (std::uint64_t i = 1; i <= 3; ++i) log->append(bytes_of(payload(i)));
        BOOST_TEST(log->written_lsn() == 3u);
        BOOST_TEST(fs::file_size(segment) == empty);
        // sync() writes them in one go and makes them durable.
        BOOST_TEST(log->sync() == 3u);
        const auto synced = fs::file_size(segment);
        BOOST_TEST(synced > empty);
        // A full buffer is written without a sync, and is not durable for that.
        const std::vector<std::byte> big(300, std::byte{1});
        log->append(big);
        BOOST_TEST(fs::file_size(segment) == synced + big.size() + 8);  // 8: the record header
        BOOST_TEST(log->durable_lsn() == 3u);
        // A record dropped from the buffer, as a crash would, never reaches the file...
        log->append(bytes_of("lost"));
        log->discard_unwritten();
        BOOST_TEST(fs::file_size(segment) == synced + big.size() + 8);
        // ...but one still waiting as the log is closed is written by the close.
        log->append(bytes_of("last"));
    }
    auto [log, rec] = Log::open(tmp.path(), buffered);
    BOOST_TEST(rec.records.size() == 5u);
    BOOST_TEST(text_of(rec.records[3].bytes).size() == 300u);
    BOOST_TEST(text_of(rec.records.back().bytes) == "last");
    BOOST_TEST(!rec.torn_tail);
}

BOOST_AUTO_TEST_CASE(segments_roll_past_the_size_limit) {
    TempDir tmp;
    const Options small{.durability = Durability::none, .segment_bytes = 200};
    {
        // 50 records of about 30 bytes cannot fit in 200-byte segments.
        auto [log, rec] = Log::open(tmp.path(), small);
        for (std::uint64_t i = 1; i <= 50; ++i) log->append(bytes_of(payload(i)));
        BOOST_TEST(log->segment_count() > 5u);
        // A record larger than the limit still gets a segment of its own.
        log->append(std::vector<std::byte>(1000, std::byte{7}));
    }
    // Every segment is at most the limit unless it holds a single oversized record, and its
    // name is its first LSN.
    for (const auto& seg : segments(tmp.path())) BOOST_TEST(fs::file_size(seg) <= 1000u + 40u);
    BOOST_TEST(segments(tmp.path()).front().filename() == "log-00000000000000000001.tpj");
    // Recovery reads across all segments in order.
    auto [log, rec] = Log::open(tmp.path(), small);
    BOOST_TEST(rec.records.size() == 51u);
    for (std::size_t i = 0; i < 50; ++i)
        BOOST_TEST(text_of(rec.records[i].bytes) == payload(i + 1));
    BOOST_TEST(rec.records[50].bytes.size() == 1000u);
    BOOST_TEST(log->append(bytes_of("after")) == 52u);
}

BOOST_AUTO_TEST_CASE(fill_past_snapshots_across_segment_rolls) {
    TempDir tmp;
    const Options small{.durability = Durability::group, .segment_bytes = 256};
    {
        auto [log, rec] = Log::open(tmp.path(), small);
        // Fill several segments, then snapshot at the head: every older segment goes.
        for (std::uint64_t i = 1; i <= 40; ++i) log->append(bytes_of(payload(i)));
        log->write_snapshot(40, bytes_of("state@40"));
        BOOST_TEST(log->durable_lsn() == 40u);
        BOOST_TEST(segments(tmp.path()).size() == 1u);
        BOOST_TEST(files_with_prefix(tmp.path(), "snapshot-").size() == 1u);
        // Fill past it, and snapshot behind the head: the segment holding 41..70 stays.
        for (std::uint64_t i = 41; i <= 100; ++i) log->append(bytes_of(payload(i)));
        log->write_snapshot(70, bytes_of("state@70"));
        // The older snapshot is gone.
        const auto snaps = files_with_prefix(tmp.path(), "snapshot-");
        BOOST_REQUIRE(snaps.size() == 1u);
        BOOST_TEST(snaps[0].filename() == "snapshot-00000000000000000070.tps");
        // Keep appending across more rolls; sync the tail.
        for (std::uint64_t i = 101; i <= 130; ++i) log->append(bytes_of(payload(i)));
        log->sync();
    }
    // Recovery: the newest snapshot, then exactly the records after it.
    auto [log, rec] = Log::open(tmp.path(), small);
    BOOST_REQUIRE(rec.snapshot);
    BOOST_TEST(rec.snapshot->covered == 70u);
    BOOST_TEST(text_of(rec.snapshot->bytes) == "state@70");
    BOOST_TEST(texts(rec) == expected_payloads(71, 130), boost::test_tools::per_element());
    BOOST_TEST(rec.records.front().lsn == 71u);
    BOOST_TEST(rec.records.back().lsn == 130u);
    BOOST_TEST(log->append(bytes_of(payload(131))) == 131u);
}

BOOST_AUTO_TEST_CASE(random_histories_recover_exactly) {
    // A fixed-seed random mix of appends, syncs, snapshots and clean reopens, checked against
    // a model after every reopen.
    std::mt19937_64 rng(20261124);
    TempDir tmp;
    const Options opts{.durability = Durability::group, .segment_bytes = 512};
    std::map<Lsn, std::string> model;  // records after the snapshot
    std::optional<std::pair<Lsn, std::string>> snapshot;
    Lsn next = 1;
    auto opened = Log::open(tmp.path(), opts);
    for (int step = 0; step < 600; ++step) {
        const auto roll = rng() % 100;
        if (roll < 80) {
            const std::string body = payload(next) + std::string(rng() % 200, 'x');
            BOOST_REQUIRE(opened.log->append(bytes_of(body)) == next);
            model[next++] = body;
        } else if (roll < 88) {
            opened.log->sync();
        } else if (roll < 94 && next > 1) {
            const Lsn covered =
                snapshot ? snapshot->first + rng() % (next - snapshot->first) : rng() % next;
            const std::string state = "state up to " + std::to_string(covered);
            opened.log->write_snapshot(covered, bytes_of(state));
            snapshot.emplace(covered, state);
            model.erase(model.begin(), model.upper_bound(covered));
        } else {
            opened.log.reset();
            opened = Log::open(tmp.path(), opts);
            const auto& rec = opened.recovery;
            BOOST_REQUIRE(!rec.torn_tail);
            BOOST_REQUIRE(rec.snapshot.has_value() == snapshot.has_value());
            if (snapshot) {
                BOOST_REQUIRE(rec.snapshot->covered == snapshot->first);
                BOOST_REQUIRE(text_of(rec.snapshot->bytes) == snapshot->second);
            }
            BOOST_REQUIRE(rec.records.size() == model.size());
            auto it = model.begin();
            for (const auto& r : rec.records) {
                BOOST_REQUIRE(r.lsn == it->first);
                BOOST_REQUIRE(text_of(r.bytes) == it->second);
                ++it;
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(one_appender_and_one_syncer_run_concurrently) {
    TempDir tmp;
    const Options small{.durability = Durability::group, .segment_bytes = 1024};
    {
        auto [log, rec] = Log::open(tmp.path(), small);
        std::atomic<bool> done{false};
        std::atomic<int> violations{0};
        std::atomic<int> syncs{0};  // how many ran, for the log
        // The syncing thread: each sync covers at least what was written before it started.
        std::thread syncer([&] {
            do {
                const Lsn before = log->written_lsn();
                if (log->sync() < before) ++violations;
                ++syncs;
                std::this_thread::yield();  // most syncs find nothing new: don't hog a core
            } while (!done.load());
        });
        // The appending thread (this one) rolls through many segments meanwhile.
        for (std::uint64_t i = 1; i <= 2000; ++i)
            BOOST_REQUIRE(log->append(bytes_of(payload(i))) == i);
        done = true;
        syncer.join();
        BOOST_TEST(violations.load() == 0);
        BOOST_TEST_MESSAGE(syncs.load() << " concurrent syncs");
        BOOST_TEST(log->segment_count() > 10u);
        BOOST_TEST(log->sync() == 2000u);
    }
    // Everything comes back in order.
    auto [log, rec] = Log::open(tmp.path(), small);
    BOOST_TEST(texts(rec) == expected_payloads(1, 2000), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(snapshot_arguments_are_checked) {
    TempDir tmp;
    auto [log, rec] = Log::open(tmp.path());
    log->append(bytes_of("a"));
    // A snapshot cannot cover records that do not exist yet.
    BOOST_CHECK_THROW(log->write_snapshot(2, bytes_of("s")), std::invalid_argument);
    // Nor go back behind an existing one.
    log->write_snapshot(1, bytes_of("s"));
    BOOST_CHECK_THROW(log->write_snapshot(0, bytes_of("s")), std::invalid_argument);
}

namespace {

// Whether the watch's descriptor becomes readable within `ms` (a bound, not a timing).
bool readable_within(const LockWatch& watch, int ms) {
    pollfd p{watch.fd(), POLLIN, 0};
    return ::poll(&p, 1, ms) == 1;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_lock_watch_wakes_on_the_release_and_not_on_a_waiters_attempts) {
    TempDir tmp;
    auto first = Log::open(tmp.path());
    // Step 1: a waiter sets its watch, then fails to take the lock: its own attempt (and a
    // second watch made meanwhile) must not wake it, or two waiters would wake each other forever.
    LockWatch watch(tmp.path());
    BOOST_CHECK_THROW(Log::open(tmp.path()), LockedError);
    LockWatch other(tmp.path());
    BOOST_TEST(!readable_within(watch, 0));
    BOOST_TEST(!watch.drain());
    // Step 2: the holder appends and syncs: still no wake.
    first.log->append(bytes_of("x"));
    first.log->sync();
    BOOST_TEST(!readable_within(watch, 0));
    // Step 3: the holder closes: the watch wakes, and the lock is free by then.
    first.log.reset();
    BOOST_TEST(readable_within(watch, 10'000));
    BOOST_TEST(watch.drain());
    BOOST_TEST(!watch.drain());
    BOOST_CHECK_NO_THROW(Log::open(tmp.path()));
}

BOOST_AUTO_TEST_CASE(a_second_writer_in_this_process_is_refused) {
    TempDir tmp;
    // The first open holds the lock and writes its pid into LOCK.
    auto first = Log::open(tmp.path());
    // A second open of the same directory fails, naming it and the holder.
    try {
        Log::open(tmp.path());
        BOOST_FAIL("second open succeeded");
    } catch (const LockedError& e) {
        BOOST_TEST(contains(e.what(), tmp.path().string()));
        BOOST_TEST(contains(e.what(), "pid " + std::to_string(::getpid())));
        BOOST_TEST(e.holder() == ::getpid());
    }
    // Once the holder closes, the directory can be opened again.
    first.log.reset();
    BOOST_CHECK_NO_THROW(Log::open(tmp.path()));
}

BOOST_AUTO_TEST_CASE(the_lock_dies_with_its_holder) {
    TempDir tmp;
    int ready[2];
    BOOST_REQUIRE(::pipe(ready) == 0);
    // A child process opens the log, says so, and waits to be killed.
    const pid_t child = ::fork();
    BOOST_REQUIRE(child >= 0);
    if (child == 0) {
        ::close(ready[0]);
        try {
            auto opened = Log::open(tmp.path());
            opened.log->append(bytes_of("from the child"));
            opened.log->sync();
            if (::write(ready[1], "k", 1) != 1) ::_exit(2);
            for (;;) ::pause();
        } catch (...) {
            ::_exit(1);
        }
    }
    ::close(ready[1]);
    char c = 0;
    const ssize_t n = ::read(ready[0], &c, 1);
    ::close(ready[0]);
    if (n != 1) {
        ::kill(child, SIGKILL);
        ::waitpid(child, nullptr, 0);
        BOOST_FAIL("child could not open the log");
    }
    // While the child lives, the parent is refused and told the child's pid.
    try {
        Log::open(tmp.path());
        ::kill(child, SIGKILL);
        ::waitpid(child, nullptr, 0);
        BOOST_FAIL("open succeeded while the child holds the lock");
    } catch (const LockedError& e) {
        BOOST_TEST(e.holder() == child);
    }
    // kill -9 the holder: the kernel releases the lock, a watch sees it go, and the parent
    // takes over.
    LockWatch watch(tmp.path());
    BOOST_TEST(!readable_within(watch, 0));
    ::kill(child, SIGKILL);
    int status = 0;
    BOOST_REQUIRE(::waitpid(child, &status, 0) == child);
    BOOST_TEST(WIFSIGNALED(status));
    BOOST_TEST(readable_within(watch, 10'000));
    auto [log, rec] = Log::open(tmp.path());
    BOOST_REQUIRE(rec.records.size() == 1u);
    BOOST_TEST(text_of(rec.records[0].bytes) == "from the child");
}

BOOST_AUTO_TEST_CASE(missing_directory_without_create_is_an_error) {
    TempDir tmp;
    const auto dir = tmp / "absent";
    try {
        Log::open(dir, Options{.create_if_missing = false});
        BOOST_FAIL("opened a missing directory");
    } catch (const JournalError& e) {
        BOOST_TEST(contains(e.what(), dir.string()));
    }
    BOOST_TEST(!fs::exists(dir));
}

BOOST_AUTO_TEST_CASE(os_errors_name_the_call_the_file_and_errno) {
    TempDir tmp;
    // A regular file where the directory should be.
    const auto file = tmp / "not-a-dir";
    write_file(file, bytes_of("x"));
    try {
        Log::open(file);
        BOOST_FAIL("opened a regular file as a directory");
    } catch (const tp::journal::SystemError& e) {
        const std::string what = e.what();
        BOOST_TEST_MESSAGE(what);
        BOOST_TEST(what.starts_with("mkdir " + file.string() + ": "));
        BOOST_TEST(e.code().value() != 0);
    }
}

BOOST_AUTO_TEST_CASE(records_over_the_limit_are_refused) {
    TempDir tmp;
    auto [log, rec] = Log::open(tmp.path());
    // The limit is checked before anything is written, and the log stays usable.
    // Address space only (never touched), so the test costs no memory.
    const std::size_t size = tp::journal::max_record_bytes + std::size_t{1};
    void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    BOOST_REQUIRE(p != MAP_FAILED);
    const std::span<const std::byte> huge(static_cast<const std::byte*>(p), size);
    BOOST_CHECK_THROW(log->append(huge), std::invalid_argument);
    ::munmap(p, size);
    BOOST_TEST(log->append(bytes_of("fine")) == 1u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(journal_durability)

// The one table names every level once, and to_string and parse agree with it both ways.
BOOST_AUTO_TEST_CASE(durability_names_round_trip_and_bad_names_are_named) {
    BOOST_TEST(std::size(tp::journal::durability_names) == 3u);
    for (const auto d : {Durability::every, Durability::group, Durability::none}) {
        BOOST_TEST((tp::journal::parse_durability(to_string(d)) == d));
    }
    BOOST_TEST(std::string(to_string(Durability::group)) == "group");
    try {
        tp::journal::parse_durability("sometimes");
        BOOST_FAIL("sometimes accepted");
    } catch (const std::invalid_argument& e) {
        BOOST_TEST(std::string(e.what()).find("'sometimes'") != std::string::npos);
        BOOST_TEST(std::string(e.what()).find("\"every\", \"group\" or \"none\"") !=
                   std::string::npos);
    }
}

BOOST_AUTO_TEST_SUITE_END()
