#include <algorithm>
#include <string>
#include <utility>

#include "tp/journal/errors.hpp"
#include "tp/peer/journal.hpp"

namespace tp::peer {

// One reign's hold on the store. Appended records wait here until a sync moves them into the
// store; a crash (discard_unwritten) loses them, as a power loss loses what was not synced.
class MemoryJournalStore::Open final : public Journal {
public:
    explicit Open(MemoryJournalStore& store) : store_(store) {}
    ~Open() override {
        // Stepping down (not a crash) leaves what was appended to the next reign, as a file
        // journal's close writes its buffer.
        flush();
        store_.held_ = false;
        store_.released();
    }
    Open(const Open&) = delete;
    Open& operator=(const Open&) = delete;

    Position append(std::span<const std::byte> record) override {
        pending_.emplace_back(record.begin(), record.end());
        return written();
    }
    Position written() const noexcept override { return store_.durable() + pending_.size(); }
    Position durable() const noexcept override { return store_.durable(); }
    Position sync() override {
        flush();
        return durable();
    }
    bool sync_blocks() const noexcept override { return false; }
    std::chrono::nanoseconds modelled_sync_latency() const noexcept override {
        return store_.sync_latency_;
    }
    void write_snapshot(Position covered, std::span<const std::byte> state) override {
        flush();
        if (covered > store_.durable() || covered < store_.base_) {
            throw journal::JournalError("a snapshot must cover a position the log holds");
        }
        auto& records = store_.records_;
        records.erase(records.begin(),
                      records.begin() + static_cast<std::ptrdiff_t>(covered - store_.base_));
        store_.base_ = covered;
        store_.snapshot_.assign(state.begin(), state.end());
        store_.has_snapshot_ = true;
    }
    void discard_unwritten() noexcept override { pending_.clear(); }
    // Both cuts are durable on return, as the file journal's: they act on the store itself.
    void truncate_after(Position position) override {
        if (position >= written()) return;
        if (position < store_.base_)
            throw journal::JournalError(
                "cannot truncate the memory journal after position " + std::to_string(position) +
                ": its snapshot covers the records up to position " +
                std::to_string(store_.base_));
        flush();
        store_.records_.resize(static_cast<std::size_t>(position - store_.base_));
    }
    void install_snapshot(Position covered, std::span<const std::byte> state) override {
        if (covered == 0)
            throw journal::JournalError(
                "cannot install a snapshot covering position 0 into the memory journal: it "
                "would cover no record");
        if (store_.has_snapshot_ && covered < store_.base_)
            throw journal::JournalError(
                "cannot install a snapshot covering position " + std::to_string(covered) +
                " into the memory journal: its own snapshot already covers up to position " +
                std::to_string(store_.base_));
        pending_.clear();
        store_.records_.clear();
        store_.base_ = covered;
        store_.snapshot_.assign(state.begin(), state.end());
        store_.has_snapshot_ = true;
    }

private:
    void flush() {
        for (auto& r : pending_) store_.records_.push_back(std::move(r));
        pending_.clear();
    }

    MemoryJournalStore& store_;
    std::vector<std::vector<std::byte>> pending_;
};

// A waiter's registration, undone when it stops waiting.
class MemoryJournalStore::Watch final : public ReleaseWatch {
public:
    Watch(MemoryJournalStore& store, std::function<void()> released) : store_(store) {
        store_.watches_.emplace_back(this, std::move(released));
    }
    ~Watch() override {
        std::erase_if(store_.watches_, [this](const auto& w) { return w.first == this; });
    }
    Watch(const Watch&) = delete;
    Watch& operator=(const Watch&) = delete;

private:
    MemoryJournalStore& store_;
};

std::unique_ptr<ReleaseWatch> MemoryJournalStore::watch_release(std::function<void()> released) {
    return std::make_unique<Watch>(*this, std::move(released));
}

void MemoryJournalStore::released() {
    // A callback may end its own watch: call a copy.
    const auto watches = watches_;
    for (const auto& w : watches) w.second();
}

void MemoryJournalStore::lose_disk() {
    if (held_)
        throw journal::JournalError(
            "cannot lose the memory journal's disk while a journal holds it open");
    base_ = 0;
    snapshot_.clear();
    has_snapshot_ = false;
    records_.clear();
}

void MemoryJournalStore::roll_back(Position keep) {
    if (held_)
        throw journal::JournalError(
            "cannot roll the memory journal back while a journal holds it open");
    if (keep >= durable()) return;
    records_.resize(static_cast<std::size_t>(std::max(keep, base_) - base_));
}

OpenedJournal MemoryJournalStore::open() {
    if (held_) throw journal::LockedError("memory", 0);
    held_ = true;
    ++opens_;
    OpenedJournal opened;
    if (has_snapshot_) opened.recovery.snapshot = journal::Snapshot{base_, snapshot_};
    Position lsn = base_;
    opened.recovery.records.reserve(records_.size());
    for (const auto& r : records_) opened.recovery.records.push_back({++lsn, r});
    opened.journal = std::make_unique<Open>(*this);
    return opened;
}

}  // namespace tp::peer
