#include "tp/journal/log.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <system_error>
#include <utility>

#include "files.hpp"
#include "manifest.hpp"
#include "scan.hpp"
#include "tp/journal/crc32c.hpp"

namespace tp::journal {
namespace fs = std::filesystem;
using namespace detail;

namespace {

std::string pid_text() {
    return std::to_string(::getpid()) + "\n";
}

}  // namespace

Log::Log(fs::path directory, const Options& options)
    : dir_(std::move(directory)), options_(options) {}

Log::~Log() {
    // Closing writes the buffer (no sync): a clean close loses nothing a reopen could read.
    try {
        if (fd_ >= 0 && !failed_.load(std::memory_order_acquire)) write_buffer();
    } catch (...) {
        // Nothing in the buffer was ever reported durable; recovery cuts a partial record.
    }
    if (fd_ >= 0) ::close(fd_);
    if (dir_fd_ >= 0) ::close(dir_fd_);
    if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
    // Then the one descriptor on LOCK opened for writing: its close is what a LockWatch sees.
    if (pid_fd_ >= 0) ::close(pid_fd_);
}

Log::Opened Log::open(const fs::path& directory, const Options& options) {
    std::unique_ptr<Log> log(new Log(directory, options));
    Recovery recovery = log->recover();
    return Opened{std::move(log), std::move(recovery)};
}

fs::path Log::segment_path(Lsn first) const {
    return dir_ / segment_name(first);
}

void Log::lock_directory() {
    std::error_code ec;
    if (!fs::is_directory(dir_, ec)) {
        if (!options_.create_if_missing)
            throw JournalError("journal directory '" + dir_.string() + "' does not exist");
        fs::create_directories(dir_, ec);
        if (ec) throw SystemError(ec.value(), "mkdir", dir_.string());
        // Make the new directory's own entry durable.
        fs::path self = fs::absolute(dir_);
        if (!self.has_filename()) self = self.parent_path();  // "a/b/"
        const fs::path parent = self.parent_path();
        Fd pfd(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (pfd.get() < 0) fail("open", parent);
        if (::fsync(pfd.get()) != 0) fail("fsync", parent);
    }
    dir_fd_ = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd_ < 0) fail("open", dir_);
    const fs::path lock_path = dir_ / "LOCK";
    // Read-only for the attempt: a waiter's attempts must not look like a release to a
    // LockWatch, which sees only the close of a descriptor opened for writing.
    lock_fd_ = ::open(lock_path.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0644);
    if (lock_fd_ < 0) fail("open", lock_path);
    // flock locks belong to the open file description: a second open() in this process
    // conflicts too, and the kernel drops the lock when the holder dies.
    if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK) fail("flock", lock_path);
        char buf[32] = {};
        const ssize_t n = ::pread(lock_fd_, buf, sizeof buf - 1, 0);
        const pid_t holder = n > 0 ? static_cast<pid_t>(std::atol(buf)) : 0;
        throw LockedError(dir_.string(), holder);
    }
    // The holder's pid, through a descriptor kept open for writing until the lock is released.
    pid_fd_ = ::open(lock_path.c_str(), O_WRONLY | O_CLOEXEC);
    if (pid_fd_ < 0) fail("open", lock_path);
    const std::string pid = pid_text();
    if (::ftruncate(pid_fd_, 0) != 0) fail("ftruncate", lock_path);
    if (::pwrite(pid_fd_, pid.data(), pid.size(), 0) < 0) fail("write", lock_path);
}

Recovery Log::recover() {
    lock_directory();
    Scan scan = scan_directory(dir_);
    Recovery r;
    r.snapshot = std::move(scan.snapshot);
    r.records = std::move(scan.records);
    r.legacy = scan.legacy;
    for (const auto& path : scan.temporaries) {
        // An interrupted snapshot, segment or manifest: never renamed, so never relied on.
        if (::unlink(path.c_str()) != 0 && errno != ENOENT) fail("unlink", path);
        r.removed_files.push_back(path.string());
    }
    const Lsn covered = scan.live.snapshot;
    if (r.snapshot) snapshot_ = covered;
    segments_ = scan.live.segments;
    if (scan.manifest) {
        manifest_ = encode_manifest(*scan.manifest);
        cuts_ = scan.manifest->cuts;
    }
    if (scan.manifest && scan.manifest->cut) {
        // An interrupted cut that had committed: finish it, then the plain manifest may say so.
        r.unfinished_cut = scan.manifest->cut;
        finish_cut(scan, r);
    }
    // The manifest first (a legacy directory gets one here, before any file of the current
    // version exists), then the files it no longer names: a crash in between leaves leftovers,
    // never a file listed and missing.
    commit_manifest();
    for (const auto& path : scan.retired) {
        if (::unlink(path.c_str()) != 0 && errno != ENOENT) fail("unlink", path);
        r.removed_files.push_back(path.string());
    }
    if (!scan.retired.empty() && ::fsync(dir_fd_) != 0) fail("fsync", dir_);

    if (scan.torn_tail) {
        const fs::path path = scan.torn_tail->file;
        Fd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
        if (fd.get() < 0) fail("open", path);
        if (::ftruncate(fd.get(), static_cast<off_t>(scan.torn_tail->offset)) != 0)
            fail("ftruncate", path);
        datasync(fd.get(), path);
        r.torn_tail = scan.torn_tail;
        r.torn_tail->cut = true;
    }

    Lsn next = scan.next;
    if (segments_.empty() || next <= covered) {
        // Nothing to append to, or the log ends before the snapshot (so it is all covered):
        // continue in a fresh segment right after the snapshot.
        next = covered + 1;
        create_segment(next);
        remove_covered(covered, &r.removed_files);
    } else {
        const fs::path path = segment_path(segments_.back());
        fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
        if (fd_ < 0) fail("open", path);
        fd_path_ = path;
        segment_size_ = scan.last_segment_bytes;
        // A crashed process leaves its writes in the page cache; make them durable before
        // reporting them as such.
        datasync(fd_, path);
    }
    written_.store(next - 1, std::memory_order_release);
    durable_.store(next - 1, std::memory_order_release);
    return r;
}

void Log::commit_manifest() {
    Manifest m;
    m.snapshot = snapshot_.value_or(0);
    m.segments = segments_;
    m.cuts = cuts_;
    std::vector<std::byte> bytes = encode_manifest(m);
    if (bytes == manifest_) return;
    write_manifest(dir_fd_, dir_, m);
    manifest_ = std::move(bytes);
}

void Log::create_segment(Lsn first, bool sync_locked) {
    const fs::path path = segment_path(first);
    fs::path tmp = path;
    tmp += ".tmp";
    Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644));
    if (fd.get() < 0) fail("open", tmp);
    std::byte header[segment_header_size] = {};
    std::memcpy(header, segment_magic, 8);
    put_u32(header + 8, format_version);
    put_u64(header + 16, first);
    put_u32(header + 24, crc32c(std::span<const std::byte>(header, 24)));
    iovec iov{header, sizeof header};
    write_all(fd.get(), &iov, 1, tmp);
    datasync(fd.get(), tmp);
    if (::rename(tmp.c_str(), path.c_str()) != 0) fail("rename", tmp);
    if (::fsync(dir_fd_) != 0) fail("fsync", dir_);
    // Listed only now that it exists, and written to only once listed: a crash in between
    // leaves one unlisted segment holding just its header, which recovery adopts.
    segments_.push_back(first);
    try {
        commit_manifest();
    } catch (...) {
        segments_.pop_back();
        throw;
    }
    const int old = fd_;
    {
        std::unique_lock lock(sync_mutex_, std::defer_lock);
        if (!sync_locked) lock.lock();
        fd_ = fd.release();
        fd_path_ = path;
    }
    if (old >= 0) ::close(old);
    segment_size_ = segment_header_size;
}

void Log::roll() {
    // The old segment must be complete on disk before a newer one exists, so that recovery can
    // treat any damage outside the last segment as corruption.
    const Lsn written = written_.load(std::memory_order_relaxed);
    datasync(fd_, fd_path_);
    note_durable(written);
    create_segment(written + 1);
}

void Log::remove_covered(Lsn covered, std::vector<std::string>* removed) {
    // Segment i holds LSNs [segments_[i], segments_[i+1]); the last one is always kept.
    std::vector<fs::path> drop;
    std::size_t n = 0;
    while (n + 1 < segments_.size() && segments_[n + 1] <= covered + 1)
        drop.push_back(segment_path(segments_[n++]));
    segments_.erase(segments_.begin(), segments_.begin() + static_cast<std::ptrdiff_t>(n));
    if (snapshot_ || covered > 0) {
        for (const auto& entry : fs::directory_iterator(dir_)) {
            const auto lsn = parse_snapshot_name(entry.path().filename().string());
            if (lsn && *lsn < covered) drop.push_back(entry.path());
        }
    }
    // Retirement is legitimate only once the manifest says so: the files go after it, so a
    // crash in between leaves leftovers, never a listed file that is missing.
    commit_manifest();
    for (const auto& path : drop) {
        if (::unlink(path.c_str()) != 0 && errno != ENOENT) fail("unlink", path);
        if (removed) removed->push_back(path.string());
    }
    if (!drop.empty() && ::fsync(dir_fd_) != 0) fail("fsync", dir_);
}

void Log::discard_unwritten() noexcept {
    std::lock_guard lock(write_mutex_);
    buffer_.clear();
}

void Log::write_buffer() {
    std::lock_guard lock(write_mutex_);
    if (buffer_.empty()) return;
    iovec iov{buffer_.data(), buffer_.size()};
    write_all(fd_, &iov, 1, fd_path_);
    buffer_.clear();
}

void Log::check_usable() const {
    if (failed_.load(std::memory_order_acquire))
        throw JournalError("journal '" + dir_.string() +
                           "' failed after an earlier I/O error; reopen it to recover");
}

void Log::note_durable(Lsn lsn) noexcept {
    Lsn cur = durable_.load(std::memory_order_relaxed);
    while (cur < lsn && !durable_.compare_exchange_weak(cur, lsn, std::memory_order_release,
                                                        std::memory_order_relaxed)) {
    }
}

Lsn Log::append(std::span<const std::byte> record) {
    check_usable();
    if (record.size() > max_record_bytes)
        throw std::invalid_argument("journal record of " + std::to_string(record.size()) +
                                    " bytes exceeds the limit of " +
                                    std::to_string(max_record_bytes));
    const std::uint64_t framed = record_header_size + record.size();
    try {
        const bool buffered =
            options_.durability != Durability::every && options_.write_buffer_bytes > 0;
        if (segment_size_ > segment_header_size &&
            segment_size_ + framed > options_.segment_bytes) {
            if (buffered) write_buffer();  // the old segment gets every record it was given
            roll();
        }
        std::byte header[record_header_size];
        put_u32(header, static_cast<std::uint32_t>(record.size()));
        std::uint32_t crc = crc32c(std::span<const std::byte>(header, 4));
        crc = crc32c(record, crc);
        put_u32(header + 4, crc);
        if (buffered) {
            std::unique_lock lock(write_mutex_);
            buffer_.insert(buffer_.end(), header, header + sizeof header);
            buffer_.insert(buffer_.end(), record.begin(), record.end());
            const bool full = buffer_.size() >= options_.write_buffer_bytes;
            lock.unlock();
            if (full) write_buffer();
        } else {
            iovec iov[2] = {{header, sizeof header},
                            {const_cast<std::byte*>(record.data()), record.size()}};
            write_all(fd_, iov, record.empty() ? 1 : 2, fd_path_);
        }
        segment_size_ += framed;
        const Lsn lsn = written_.load(std::memory_order_relaxed) + 1;
        written_.store(lsn, std::memory_order_release);
        if (options_.durability == Durability::every) {
            datasync(fd_, fd_path_);
            note_durable(lsn);
        }
        return lsn;
    } catch (...) {
        // A partial write or failed fdatasync leaves the file in an unknown state (and the
        // kernel may have dropped the dirty pages): stop here, recovery sorts it out.
        failed_.store(true, std::memory_order_release);
        throw;
    }
}

Lsn Log::sync() {
    check_usable();
    std::lock_guard lock(sync_mutex_);
    const Lsn target = written_.load(std::memory_order_acquire);
    if (target <= durable_.load(std::memory_order_acquire)) return durable_lsn();
    try {
        write_buffer();
    } catch (...) {
        failed_.store(true, std::memory_order_release);
        throw;
    }
    if (options_.durability == Durability::none) {
        // The policy leaves flushing to the page cache: written counts as durable.
        note_durable(target);
        return durable_lsn();
    }
    if (::fdatasync(fd_) != 0) {
        const int err = errno;
        failed_.store(true, std::memory_order_release);
        throw SystemError(err, "fdatasync", fd_path_.string());
    }
    note_durable(target);
    return durable_lsn();
}

void Log::write_snapshot(Lsn covered, std::span<const std::byte> state) {
    check_usable();
    const Lsn written = written_.load(std::memory_order_relaxed);
    if (covered > written)
        throw std::invalid_argument("snapshot covers LSN " + std::to_string(covered) +
                                    " but the log has only " + std::to_string(written));
    if (snapshot_ && covered < *snapshot_)
        throw std::invalid_argument("snapshot covers LSN " + std::to_string(covered) +
                                    ", older than the existing snapshot at " +
                                    std::to_string(*snapshot_));
    try {
        // The snapshot must never cover records the log could still lose.
        sync();
        const fs::path path = dir_ / snapshot_name(covered);
        fs::path tmp = path;
        tmp += ".tmp";
        write_snapshot_file(tmp, covered, state);
        if (::rename(tmp.c_str(), path.c_str()) != 0) fail("rename", tmp);
        if (::fsync(dir_fd_) != 0) fail("fsync", dir_);
        snapshot_ = covered;
        // Start a new segment so the one holding `covered` can go at the next snapshot.
        if (segment_size_ > segment_header_size) roll();
        remove_covered(covered, nullptr);
    } catch (...) {
        failed_.store(true, std::memory_order_release);
        throw;
    }
}

void Log::write_snapshot_file(const fs::path& tmp, Lsn covered, std::span<const std::byte> state) {
    Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (fd.get() < 0) fail("open", tmp);
    std::byte header[snapshot_header_size] = {};
    std::memcpy(header, snapshot_magic, 8);
    put_u32(header + 8, format_version);
    put_u64(header + 16, covered);
    put_u64(header + 24, state.size());
    put_u32(header + 32, crc32c(state, crc32c(std::span<const std::byte>(header, 32))));
    iovec iov[2] = {{header, sizeof header},
                    {const_cast<std::byte*>(state.data()), state.size()}};
    write_all(fd.get(), iov, state.empty() ? 1 : 2, tmp);
    datasync(fd.get(), tmp);
}

}  // namespace tp::journal
