#include <boost/test/unit_test.hpp>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "journal_test_util.hpp"
#include "tp/journal/group_committer.hpp"

using namespace journal_test;
using tp::journal::Durability;
using tp::journal::GroupCommitter;
using tp::journal::Log;
using tp::journal::Lsn;
using tp::journal::Options;

namespace {

// What the callbacks saw, in the order they ran.
struct Acks {
    std::mutex mutex;
    std::vector<Lsn> order;
    std::vector<Lsn> durable_at_ack;
    int errors = 0;

    GroupCommitter::Callback callback(const Log& log) {
        return [this, &log](Lsn lsn, std::error_code ec) {
            std::lock_guard lock(mutex);
            order.push_back(lsn);
            durable_at_ack.push_back(log.durable_lsn());
            if (ec) ++errors;
        };
    }
};

// A one-shot gate the background thread waits at, with a bound so a bug cannot hang the test.
struct Gate {
    std::mutex mutex;
    std::condition_variable cv;
    bool entered = false;
    bool open = false;

    void hold() {
        std::unique_lock lock(mutex);
        entered = true;
        cv.notify_all();
        cv.wait_for(lock, std::chrono::seconds(30), [this] { return open; });
    }
    bool wait_entered() {
        std::unique_lock lock(mutex);
        return cv.wait_for(lock, std::chrono::seconds(30), [this] { return entered; });
    }
    void release() {
        std::lock_guard lock(mutex);
        open = true;
        cv.notify_all();
    }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(journal_group_commit)

BOOST_AUTO_TEST_CASE(records_arriving_during_a_sync_form_the_next_batch) {
    TempDir tmp;
    auto [log, rec] = Log::open(tmp.path());
    Acks acks;
    Gate gate;
    bool first = true;
    GroupCommitter committer(*log, {.after_sync = [&] {
        if (std::exchange(first, false)) gate.hold();
    }});
    // Record 1 starts a sync; the hook holds that batch after its sync returned.
    BOOST_TEST(committer.submit(bytes_of(payload(1)), acks.callback(*log)) == 1u);
    BOOST_REQUIRE(gate.wait_entered());
    // Meanwhile four threads submit 99 more records concurrently.
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int i = t; i < 99; i += 4)
                committer.submit(bytes_of("concurrent"), acks.callback(*log));
        });
    for (auto& th : threads) th.join();
    {
        // None of them is acknowledged yet, not even record 1 (its callback waits for the hook).
        std::lock_guard lock(acks.mutex);
        BOOST_TEST(acks.order.empty());
    }
    // Release: batch 1 (record 1) is acknowledged, then one sync covers the other 99.
    gate.release();
    committer.stop();
    BOOST_REQUIRE(acks.order.size() == 100u);
    for (std::size_t i = 0; i < acks.order.size(); ++i) {
        // Every callback ran once, in LSN order, after its record was durable.
        BOOST_TEST(acks.order[i] == i + 1);
        BOOST_TEST(acks.durable_at_ack[i] >= acks.order[i]);
    }
    BOOST_TEST(acks.errors == 0);
    // 100 submits, two syncs.
    BOOST_TEST(committer.batches() == 2u);
    BOOST_TEST(log->durable_lsn() == 100u);
}

BOOST_AUTO_TEST_CASE(concurrent_submitters_are_acknowledged_in_order_and_recovered) {
    TempDir tmp;
    std::map<Lsn, std::string> written;
    Acks acks;
    {
        auto [log, rec] = Log::open(tmp.path(), Options{.segment_bytes = 4096});
        GroupCommitter committer(*log);
        // Four threads submit 200 records each, tagged with thread and sequence.
        std::mutex mutex;
        std::vector<std::thread> threads;
        for (int t = 0; t < 4; ++t)
            threads.emplace_back([&, t] {
                for (int i = 0; i < 200; ++i) {
                    // Appended piece by piece: `"t" + std::string` trips g++ 12's bogus
                    // -Wrestrict at -O3 (GCC bug 105329).
                    std::string body = "t";
                    body += std::to_string(t);
                    body += '-';
                    body += std::to_string(i);
                    const Lsn lsn = committer.submit(bytes_of(body), acks.callback(*log));
                    std::lock_guard lock(mutex);
                    written[lsn] = body;
                }
            });
        for (auto& th : threads) th.join();
        committer.stop();
        // Each record got a distinct LSN and exactly one callback, in LSN order.
        BOOST_REQUIRE(written.size() == 800u);
        BOOST_REQUIRE(acks.order.size() == 800u);
        for (std::size_t i = 0; i < 800; ++i) BOOST_REQUIRE(acks.order[i] == i + 1);
        BOOST_TEST(acks.errors == 0);
        BOOST_TEST(committer.batches() >= 1u);
        BOOST_TEST(committer.batches() <= 800u);
    }
    // Reopening returns exactly what each submit was told its LSN was.
    auto [log, rec] = Log::open(tmp.path(), Options{.segment_bytes = 4096});
    BOOST_REQUIRE(rec.records.size() == 800u);
    for (const auto& r : rec.records) BOOST_REQUIRE(text_of(r.bytes) == written.at(r.lsn));
}

BOOST_AUTO_TEST_CASE(stop_flushes_pending_records_and_refuses_more) {
    TempDir tmp;
    auto [log, rec] = Log::open(tmp.path());
    Acks acks;
    GroupCommitter committer(*log);
    // Ten submits, then an immediate stop.
    for (int i = 0; i < 10; ++i) committer.submit(bytes_of(payload(i)), acks.callback(*log));
    committer.stop();
    // All ten were synced and acknowledged before stop() returned.
    BOOST_TEST(acks.order.size() == 10u);
    BOOST_TEST(log->durable_lsn() == 10u);
    // A submit after stop is refused, and a second stop is harmless.
    BOOST_CHECK_THROW(committer.submit(bytes_of("late"), acks.callback(*log)), std::logic_error);
    committer.stop();
    BOOST_TEST(log->written_lsn() == 10u);
}

BOOST_AUTO_TEST_CASE(works_under_every_and_none_too) {
    for (const auto policy : {Durability::every, Durability::none}) {
        TempDir tmp;
        auto [log, rec] = Log::open(tmp.path(), Options{.durability = policy});
        Acks acks;
        {
            // A pipelined single submitter: acknowledgements still arrive in order.
            GroupCommitter committer(*log);
            for (int i = 0; i < 50; ++i)
                committer.submit(bytes_of(payload(i)), acks.callback(*log));
        }
        BOOST_REQUIRE(acks.order.size() == 50u);
        for (std::size_t i = 0; i < 50; ++i) BOOST_TEST(acks.order[i] == i + 1);
        BOOST_TEST(log->durable_lsn() == 50u);
    }
}

BOOST_AUTO_TEST_CASE(snapshots_go_through_the_committer) {
    TempDir tmp;
    const Options small{.segment_bytes = 300};
    {
        auto [log, rec] = Log::open(tmp.path(), small);
        Acks acks;
        GroupCommitter committer(*log);
        // Twenty records, a snapshot covering the first ten, twenty more.
        for (std::uint64_t i = 1; i <= 20; ++i)
            committer.submit(bytes_of(payload(i)), acks.callback(*log));
        committer.write_snapshot(10, bytes_of("state@10"));
        for (std::uint64_t i = 21; i <= 40; ++i)
            committer.submit(bytes_of(payload(i)), acks.callback(*log));
        committer.stop();
        BOOST_TEST(acks.order.size() == 40u);
    }
    // Recovery: the snapshot, then records 11..40.
    auto [log, rec] = Log::open(tmp.path(), small);
    BOOST_REQUIRE(rec.snapshot);
    BOOST_TEST(rec.snapshot->covered == 10u);
    BOOST_TEST(texts(rec) == expected_payloads(11, 40), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()
