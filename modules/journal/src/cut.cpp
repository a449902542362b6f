// The replica's two cuts (issue 16): Log::truncate_after and Log::install_snapshot, and the
// part of recovery that finishes one a crash interrupted. Kept apart from log.cpp (appending,
// syncing, snapshots of its own) because they follow their own protocol: manifest.hpp,
// docs/journal.md.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <limits>
#include <mutex>
#include <string>
#include <vector>

#include "files.hpp"
#include "manifest.hpp"
#include "scan.hpp"
#include "tp/journal/log.hpp"

namespace tp::journal {
namespace fs = std::filesystem;
using namespace detail;

void Log::finish_cut(const Scan& scan, Recovery& r) {
    if (scan.pending_snapshot) {
        fs::path path = *scan.pending_snapshot;
        path.replace_extension();  // drops ".tmp"
        if (::rename(scan.pending_snapshot->c_str(), path.c_str()) != 0)
            fail("rename", *scan.pending_snapshot);
    }
    if (scan.cut_at) {
        const auto& [path, offset] = *scan.cut_at;
        Fd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
        if (fd.get() < 0) fail("open", path);
        if (::ftruncate(fd.get(), static_cast<off_t>(offset)) != 0) fail("ftruncate", path);
        datasync(fd.get(), path);
    }
    // Before the plain manifest: under it, a segment beyond its newest would be adopted.
    for (const auto& path : scan.cut_off) {
        if (::unlink(path.c_str()) != 0 && errno != ENOENT) fail("unlink", path);
        r.removed_files.push_back(path.string());
    }
    if (::fsync(dir_fd_) != 0) fail("fsync", dir_);
}

void Log::write_cut_manifest(Lsn cut, bool snapshot_pending) {
    Manifest m;
    m.snapshot = snapshot_.value_or(0);
    m.segments = segments_;
    m.cuts = cuts_;
    m.cut = cut;
    m.snapshot_pending = snapshot_pending;
    write_manifest(dir_fd_, dir_, m);
    manifest_ = encode_manifest(m);
}

// Both cuts follow one protocol (manifest.hpp): the cut manifest is the commit point; the file
// changes after it are what recovery redoes; the plain manifest comes last. sync_mutex_ is held
// throughout, so a concurrent sync() runs wholly before (and its durable LSN is then lowered)
// or wholly after (and finds nothing to do).
Lsn Log::truncate_after(Lsn lsn) {
    check_usable();
    const Lsn written = written_.load(std::memory_order_relaxed);
    if (lsn >= written) return written;
    if (snapshot_ && lsn < *snapshot_)
        throw JournalError("cannot truncate journal '" + dir_.string() + "' after LSN " +
                           std::to_string(lsn) + ": its snapshot covers the records up to LSN " +
                           std::to_string(*snapshot_) + ", which it no longer holds one by one");
    std::lock_guard lock(sync_mutex_);
    try {
        write_buffer();  // the kept records must reach the file the cut keeps
        // The segment holding lsn + 1 keeps its records up to lsn; the later ones go whole.
        // Its records are found by reading it (a cut is rare; an index would cost every append).
        std::size_t k = segments_.size() - 1;
        while (k > 0 && segments_[k] > lsn + 1) --k;
        const fs::path path = segment_path(segments_[k]);
        const std::uint64_t end = record_end(path, segments_[k], lsn);
        const std::vector<Lsn> dropped(segments_.begin() + static_cast<std::ptrdiff_t>(k) + 1,
                                       segments_.end());
        segments_.resize(k + 1);
        ++cuts_;
        write_cut_manifest(lsn, false);
        Fd fd(::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC));
        if (fd.get() < 0) fail("open", path);
        if (::ftruncate(fd.get(), static_cast<off_t>(end)) != 0) fail("ftruncate", path);
        datasync(fd.get(), path);
        for (const Lsn first : dropped) {
            const fs::path gone = segment_path(first);
            if (::unlink(gone.c_str()) != 0 && errno != ENOENT) fail("unlink", gone);
        }
        if (::fsync(dir_fd_) != 0) fail("fsync", dir_);
        commit_manifest();
        if (fd_ >= 0) ::close(fd_);
        fd_ = fd.release();
        fd_path_ = path.string();
        segment_size_ = end;
        written_.store(lsn, std::memory_order_release);
        durable_.store(lsn, std::memory_order_release);
        return lsn;
    } catch (...) {
        failed_.store(true, std::memory_order_release);
        throw;
    }
}

void Log::install_snapshot(Lsn covered, std::span<const std::byte> state) {
    check_usable();
    if (covered == 0 || covered == std::numeric_limits<Lsn>::max())
        throw JournalError("cannot install a snapshot covering LSN " + std::to_string(covered) +
                           " into journal '" + dir_.string() +
                           (covered == 0 ? "': it would cover no record"
                                         : "': no record could follow it"));
    if (snapshot_ && covered < *snapshot_)
        throw JournalError("cannot install a snapshot covering LSN " + std::to_string(covered) +
                           " into journal '" + dir_.string() +
                           "': its own snapshot already covers up to LSN " +
                           std::to_string(*snapshot_));
    std::lock_guard lock(sync_mutex_);
    try {
        {
            // No record survives: the snapshot replaces those up to `covered`, the cut the rest.
            std::lock_guard wlock(write_mutex_);
            buffer_.clear();
        }
        const fs::path path = dir_ / snapshot_name(covered);
        fs::path tmp = path;
        tmp += ".tmp";
        write_snapshot_file(tmp, covered, state);
        const std::vector<Lsn> dropped = segments_;
        segments_.clear();
        snapshot_ = covered;
        ++cuts_;
        write_cut_manifest(covered, true);
        if (::rename(tmp.c_str(), path.c_str()) != 0) fail("rename", tmp);
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
        for (const Lsn first : dropped) {
            const fs::path gone = segment_path(first);
            if (::unlink(gone.c_str()) != 0 && errno != ENOENT) fail("unlink", gone);
        }
        if (::fsync(dir_fd_) != 0) fail("fsync", dir_);
        create_segment(covered + 1, true);  // lists it: the plain manifest again
        remove_covered(covered, nullptr);   // older snapshots
        written_.store(covered, std::memory_order_release);
        durable_.store(covered, std::memory_order_release);
    } catch (...) {
        failed_.store(true, std::memory_order_release);
        throw;
    }
}

}  // namespace tp::journal
