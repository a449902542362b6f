#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tp/journal/durability.hpp"
#include "tp/journal/errors.hpp"

namespace tp::journal {

struct Options {
    Durability durability = Durability::group;
    // Roll to a new segment once the current one would grow past this (a record larger than
    // the limit still gets a segment of its own).
    std::uint64_t segment_bytes = 64u << 20;
    bool create_if_missing = true;
    // Under `group` and `none`, appended records collect in memory up to this many bytes and go
    // to the file in one write(2) (at the latest at sync()): a system call per batch, not per
    // record. 0 writes each record at once. `every` never buffers.
    std::size_t write_buffer_bytes = 64u << 10;
};

// Largest record append() accepts; recovery treats a longer length field as damage.
inline constexpr std::uint32_t max_record_bytes = 1u << 30;

struct Record {
    Lsn lsn = 0;
    std::vector<std::byte> bytes;
};

struct Snapshot {
    Lsn covered = 0;  // the state includes every record up to and including this LSN
    std::vector<std::byte> bytes;
};

// A partial or damaged last record with nothing valid after it: what a crash mid-write leaves
// (or, seen by read() while a writer runs, a write in progress).
struct TornTail {
    std::string file;
    std::uint64_t offset = 0;         // where the valid records end
    std::uint64_t dropped_bytes = 0;  // the bytes after them
    bool cut = false;                 // open() cut them off; read() leaves the file as it is
};

namespace detail {
struct Scan;
}

struct Recovery {
    std::optional<Snapshot> snapshot;  // newest snapshot, if any
    std::vector<Record> records;       // every record after the snapshot, in LSN order
    std::optional<TornTail> torn_tail;
    // open(): the leftover temporaries and the segments/snapshots a snapshot made redundant,
    // which it removed. read(): the same files, left alone (open() would remove them).
    std::vector<std::string> removed_files;
    std::vector<std::string> leftover_files;
    // The directory had no MANIFEST: an earlier version wrote it. Such a log cannot tell a lost
    // newest segment from its end; open() adopts it (writes the manifest), read() only says so.
    bool legacy = false;
    // A truncate_after() or install_snapshot() was interrupted after it committed (the LSN
    // after which it cuts): open() finished it, read() shows the log as if it had.
    std::optional<Lsn> unfinished_cut;
};

// An append-only log of opaque records in one directory, owned exclusively (flock on
// <dir>/LOCK) for the life of the object. docs/journal.md describes the format in full.
//
// On disk: segments `log-<first LSN, 20 digits>.tpj` (32-byte header, then records framed as
// u32 LE length, u32 LE CRC32C over length and bytes, bytes), snapshots
// `snapshot-<covered LSN>.tps` (40-byte header with CRC32C over header and state, then state),
// and `MANIFEST`, which names the snapshot and every live segment: the log knows its own end, so
// a deleted segment is an error naming it (MissingFileError), never a shorter log. New files are
// written as *.tmp, synced and renamed, so a file with a final name is complete; the manifest is
// replaced after a file is added and before one is removed.
//
// Threads: append(), write_snapshot(), truncate_after() and install_snapshot() come from one
// thread at a time (the appending thread); sync() may run concurrently on one other thread (the
// syncing thread). The LSN getters may be
// called from anywhere. That is what group commit needs: keep appending while a sync is in
// flight, and acknowledge each batch when the sync that covers it returns.
class Log {
public:
    struct Opened;

    // Takes the lock, recovers (newest snapshot + the records after it; a torn tail is cut off
    // and reported; leftover temporaries and redundant files are removed; a legacy directory
    // gets its manifest) and returns the log ready to append. Throws LockedError,
    // CorruptionError (MissingFileError when a file the manifest lists is gone), SystemError,
    // JournalError.
    static Opened open(const std::filesystem::path& directory, const Options& options = {});

    // The same recovery, read-only: never creates, truncates, renames or deletes a file, and
    // takes no lock (not even a shared one, which would make a trader starting meanwhile fail
    // to lock), so it runs beside a live writer without blocking or disturbing it. A torn tail
    // is reported, not cut (with a writer running it may be a write in progress); what open()
    // would remove is listed in leftover_files. Rejects damage and missing files as open()
    // does. If the writer changes the manifest while this reads, it reads again (a few times).
    // Throws CorruptionError, SystemError, JournalError (also for a missing directory).
    static Recovery read(const std::filesystem::path& directory);

    ~Log();  // writes the buffer and closes without syncing: like a crash that keeps the page cache
    Log(const Log&) = delete;
    Log& operator=(const Log&) = delete;

    // Appends one record and returns its LSN. Under `every` it is durable on return; otherwise
    // it may wait in the write buffer, and is written and durable (under the policy) after
    // sync(). Closing the log writes the buffer (without a sync).
    Lsn append(std::span<const std::byte> record);

    // Writes the buffer, then fdatasync: everything appended before the call started is durable
    // on return. Returns the highest durable LSN. No system call when nothing new was appended;
    // under `none` only the buffer's write(2) (everything written counts as durable). Safe to
    // call from another thread than append()'s, as group commit does.
    Lsn sync();

    // Forgets the records waiting in the write buffer, as a crash of this process would: the
    // log then holds only what was written (for drivers that model a crash, and tests).
    void discard_unwritten() noexcept;

    // Highest LSN appended / durable under the policy.
    Lsn written_lsn() const noexcept { return written_.load(std::memory_order_acquire); }
    Lsn durable_lsn() const noexcept { return durable_.load(std::memory_order_acquire); }

    // Persists `state` as covering every record up to `covered` (<= written_lsn()): syncs the
    // log, writes the snapshot durably, starts a new segment, then deletes the segments and
    // snapshots it makes redundant.
    void write_snapshot(Lsn covered, std::span<const std::byte> state);

    // Drops every record after `lsn`, durably: the next append gets lsn + 1, and neither open()
    // nor read() ever shows the dropped records again. Records up to `lsn` still in the write
    // buffer are written and synced: written_lsn() == durable_lsn() == lsn afterwards. No-op
    // (returns written_lsn()) when lsn >= written_lsn(). Throws JournalError when `lsn` is below
    // what the snapshot covers (those records are no longer held one by one).
    Lsn truncate_after(Lsn lsn);

    // Replaces the whole log by `state`, received from elsewhere, covering every record up to
    // `covered` (which may lie beyond written_lsn()): afterwards the log holds that snapshot and
    // no record, and the next append gets covered + 1. Throws JournalError when `covered` is 0
    // or below the existing snapshot's.
    void install_snapshot(Lsn covered, std::span<const std::byte> state);

    const std::filesystem::path& directory() const noexcept { return dir_; }
    const Options& options() const noexcept { return options_; }
    std::size_t segment_count() const noexcept { return segments_.size(); }

private:
    Log(std::filesystem::path directory, const Options& options);
    Recovery recover();
    void finish_cut(const detail::Scan& scan, Recovery& r);
    void lock_directory();
    void create_segment(Lsn first, bool sync_locked = false);  // sync_locked: caller holds it
    void write_snapshot_file(const std::filesystem::path& path, Lsn covered,
                             std::span<const std::byte> state);
    void write_cut_manifest(Lsn cut, bool snapshot_pending);
    void roll();
    void remove_covered(Lsn covered, std::vector<std::string>* removed);
    void commit_manifest();  // writes the manifest if it differs from the one on disk
    void check_usable() const;
    void note_durable(Lsn lsn) noexcept;
    void write_buffer();  // takes write_mutex_
    std::filesystem::path segment_path(Lsn first) const;

    std::filesystem::path dir_;
    Options options_;
    int lock_fd_ = -1;  // read-only, holds the flock
    int pid_fd_ = -1;   // write-only, held while the lock is: its close tells a LockWatch
    int dir_fd_ = -1;
    int fd_ = -1;  // current segment; changed only by the appending thread, under sync_mutex_
    // Its name, for error messages; same rule. A path, built once: the calls that take one would
    // otherwise build it from a string on every write.
    std::filesystem::path fd_path_;
    std::uint64_t segment_size_ = 0;
    std::vector<Lsn> segments_;  // first LSN of every live segment, oldest first
    std::optional<Lsn> snapshot_;
    std::vector<std::byte> manifest_;  // the manifest on disk, encoded; empty: none yet
    std::uint64_t cuts_ = 0;           // truncations and installed snapshots, ever (manifest)
    std::mutex sync_mutex_;
    std::mutex write_mutex_;  // the buffer, and writes to fd_; taken after sync_mutex_, never before
    std::vector<std::byte> buffer_;  // framed records appended and not yet written
    std::atomic<Lsn> written_{0};
    std::atomic<Lsn> durable_{0};
    std::atomic<bool> failed_{false};  // after a failed write or fdatasync nothing is trusted
};

struct Log::Opened {
    std::unique_ptr<Log> log;
    Recovery recovery;
};

}  // namespace tp::journal
