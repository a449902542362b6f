#include "tp/journal/group_committer.hpp"

#include <stdexcept>
#include <vector>

namespace tp::journal {

GroupCommitter::GroupCommitter(Log& log, Hooks hooks)
    : log_(log), hooks_(std::move(hooks)), thread_([this] { run(); }) {}

GroupCommitter::~GroupCommitter() {
    stop();
}

Lsn GroupCommitter::submit(std::span<const std::byte> record, Callback done) {
    std::lock_guard lock(mutex_);
    if (stopping_) throw std::logic_error("GroupCommitter::submit after stop()");
    // Under the mutex: the log takes one appender at a time, and LSN order = queue order.
    const Lsn lsn = log_.append(record);
    pending_.push_back(Pending{lsn, std::move(done)});
    if (pending_.size() == 1) wake_.notify_one();
    return lsn;
}

void GroupCommitter::write_snapshot(Lsn covered, std::span<const std::byte> state) {
    std::lock_guard lock(mutex_);
    log_.write_snapshot(covered, state);
}

void GroupCommitter::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_one();
    if (thread_.joinable()) thread_.join();
}

void GroupCommitter::run() {
    std::vector<Pending> batch;
    for (;;) {
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [this] { return !pending_.empty() || stopping_; });
            if (pending_.empty()) return;  // stopping, and everything acknowledged
        }
        std::error_code error;
        Lsn durable = 0;
        try {
            durable = log_.sync();
        } catch (const std::system_error& e) {
            error = e.code();
        } catch (...) {
            error = std::make_error_code(std::errc::io_error);
        }
        if (hooks_.after_sync) hooks_.after_sync();
        {
            std::lock_guard lock(mutex_);
            while (!pending_.empty() && (error || pending_.front().lsn <= durable)) {
                batch.push_back(std::move(pending_.front()));
                pending_.pop_front();
            }
        }
        if (!batch.empty()) batches_.fetch_add(1, std::memory_order_acq_rel);
        for (auto& p : batch) p.done(p.lsn, error);
        batch.clear();
    }
}

}  // namespace tp::journal
