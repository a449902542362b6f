#pragma once

// The trader's storage seam (after NuRaft's log_store): the trader core decides what to append
// and when a reply may leave; a Journal keeps the records. Two implementations: files (the
// journal module's Log, for real runs) and memory (the simulator: sync latency and the loss of
// what was not synced are modelled, no file is touched).

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "tp/journal/log.hpp"

namespace tp::peer {

// A record's place in the log: 1 for the first record ever appended, then one more per record
// (a journal::Lsn).
using Position = std::uint64_t;

// One reign's open log, held exclusively until destroyed.
class Journal {
public:
    virtual ~Journal() = default;

    // Appends a record; it is durable once durable() reaches the returned position.
    virtual Position append(std::span<const std::byte> record) = 0;
    virtual Position written() const noexcept = 0;
    virtual Position durable() const noexcept = 0;
    // Makes every record appended before the call durable; returns durable(). A file journal
    // blocks in fdatasync (the driver runs it on a thread of its own, while the loop goes on
    // appending: group commit); a memory journal returns at once.
    virtual Position sync() = 0;
    // Whether sync() blocks on a device (so it belongs off the event loop).
    virtual bool sync_blocks() const noexcept = 0;
    // How long a sync takes in the model (memory journal): the driver waits that long before
    // calling sync(), so a crash can land between an append and its sync. Zero for files.
    virtual std::chrono::nanoseconds modelled_sync_latency() const noexcept { return {}; }
    // Persists `state` as covering every record up to `covered`; the log is durable up to
    // `covered` afterwards.
    virtual void write_snapshot(Position covered, std::span<const std::byte> state) = 0;
    // A crash of this process: what was appended but not written is gone.
    virtual void discard_unwritten() noexcept = 0;
    // A replica's divergent suffix: drops every record after `position`, durably (the next
    // append gets position + 1; written() and durable() are `position`; a reopen never shows the
    // dropped records). No-op at or beyond written(). Throws journal::JournalError when
    // `position` is below what the snapshot covers.
    virtual void truncate_after(Position position) = 0;
    // A snapshot received from the leader replaces the whole log, durably: afterwards the
    // journal holds `state` as covering every record up to `covered` (which may lie beyond
    // written()) and no record; the next append gets covered + 1. Throws journal::JournalError
    // when `covered` is 0 or below the journal's own snapshot.
    virtual void install_snapshot(Position covered, std::span<const std::byte> state) = 0;
};

// A journal opened, with what it held (the newest snapshot and the records after it).
struct OpenedJournal {
    std::unique_ptr<Journal> journal;
    journal::Recovery recovery;
};

// What a reign waiting for the journal waits on: the holder may have let go. Held for one
// attempt at a time; made before the attempt, so no release between the two is missed.
class ReleaseWatch {
public:
    virtual ~ReleaseWatch() = default;
    // A descriptor that becomes readable when a holder anywhere may have let go (files: another
    // process may hold them), or -1.
    virtual int fd() const noexcept { return -1; }
    // Reads what made fd() readable.
    virtual void drain() noexcept {}
};

// Where the trader's journal lives. open() takes it exclusively: it throws journal::LockedError
// while another reign holds it, and journal::JournalError (or a subclass) on damage.
class JournalStore {
public:
    virtual ~JournalStore() = default;
    virtual OpenedJournal open() = 0;
    // Watches for the holder letting go: `released` is called (synchronously, inside the close)
    // when a journal this store opened closes; releases the store cannot see that way show on the
    // watch's fd(). Never a poll.
    virtual std::unique_ptr<ReleaseWatch> watch_release(std::function<void()> released) = 0;
    // Where, for messages: a directory, or "memory".
    virtual std::string where() const = 0;
};

// The journal in a directory (the journal module's Log; docs/journal.md).
std::unique_ptr<JournalStore> make_file_journal_store(std::filesystem::path directory,
                                                      journal::Options options);

// A journal in memory for the simulator. Records survive a reign (another peer opens the same
// store) but only up to what was synced: a trader's crash loses the rest, as a power loss would.
// Syncs take `sync_latency` in the model.
class MemoryJournalStore final : public JournalStore {
public:
    explicit MemoryJournalStore(std::chrono::nanoseconds sync_latency = {})
        : sync_latency_(sync_latency) {}
    OpenedJournal open() override;
    std::unique_ptr<ReleaseWatch> watch_release(std::function<void()> released) override;
    std::string where() const override { return "memory"; }

    // Records kept (synced), and the snapshot's coverage: for tests and the simulator.
    Position durable() const noexcept { return base_ + records_.size(); }
    Position snapshot_covers() const noexcept { return has_snapshot_ ? base_ : 0; }
    std::uint64_t opens() const noexcept { return opens_; }

    // The disk models of the simulator (issue 16), for a store no journal holds open (a crashed
    // peer's); both throw journal::JournalError while one does.
    // The disk is lost: snapshot and records gone, as a fresh store (opens() still counts).
    void lose_disk();
    // A stale copy comes back: only records up to `keep` survive (nothing changes if it holds
    // no more). A snapshot is written once and then kept, so a stale copy has it too: with
    // `keep` below the snapshot, the snapshot survives and every record after it is gone.
    void roll_back(Position keep);

private:
    class Open;
    friend class Open;
    class Watch;
    friend class Watch;
    void released();

    std::chrono::nanoseconds sync_latency_;
    bool held_ = false;
    std::uint64_t opens_ = 0;
    Position base_ = 0;  // what the snapshot covers; records_ hold base_ + 1 onwards
    std::vector<std::byte> snapshot_;
    bool has_snapshot_ = false;
    std::vector<std::vector<std::byte>> records_;  // durable
    std::vector<std::pair<const Watch*, std::function<void()>>> watches_;
};

}  // namespace tp::peer
