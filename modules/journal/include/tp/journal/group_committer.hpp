#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <span>
#include <system_error>
#include <thread>

#include "tp/journal/log.hpp"

namespace tp::journal {

// Group commit on a std::thread, for users without an event loop: submit() appends at once and
// queues the callback; a background thread runs Log::sync() whenever records are waiting, and
// records submitted while a sync is in flight form the next batch. Callbacks run on the
// background thread, one at a time, in LSN order, after the sync covering them returned (error
// code empty) or failed (the error; the log is then unusable). Callbacks must not throw.
//
// submit() may be called from any number of threads (appends are serialized inside); nobody
// else may append to the log while the committer is running.
class GroupCommitter {
public:
    using Callback = std::function<void(Lsn, std::error_code)>;

    struct Hooks {
        // Runs on the background thread after each sync returns, before its callbacks: lets
        // tests hold a batch in flight while more records arrive.
        std::function<void()> after_sync;
    };

    explicit GroupCommitter(Log& log, Hooks hooks = {});
    ~GroupCommitter();  // stop()
    GroupCommitter(const GroupCommitter&) = delete;
    GroupCommitter& operator=(const GroupCommitter&) = delete;

    // Appends (throws what Log::append throws, then `done` is never called) and returns the
    // record's LSN; `done` runs once the record is durable. Throws std::logic_error after stop().
    Lsn submit(std::span<const std::byte> record, Callback done);

    // Log::write_snapshot, serialized with submit() (the log's appending side is ours).
    void write_snapshot(Lsn covered, std::span<const std::byte> state);

    // Syncs everything submitted so far, runs its callbacks, and joins the thread. Idempotent.
    void stop();

    // Number of batches acknowledged so far (each after one Log::sync()).
    std::uint64_t batches() const noexcept { return batches_.load(std::memory_order_acquire); }

private:
    struct Pending {
        Lsn lsn;
        Callback done;
    };
    void run();

    Log& log_;
    Hooks hooks_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<Pending> pending_;
    bool stopping_ = false;
    std::atomic<std::uint64_t> batches_{0};
    std::thread thread_;
};

}  // namespace tp::journal
