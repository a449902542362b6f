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

#include "tp/journal/crc32c.hpp"

namespace tp::journal {
namespace fs = std::filesystem;

namespace {

constexpr std::size_t segment_header_size = 32;
constexpr std::size_t snapshot_header_size = 40;
constexpr std::size_t record_header_size = 8;
constexpr std::uint32_t format_version = 1;
constexpr char segment_magic[8] = {'T', 'P', 'J', 'L', 'O', 'G', '\r', '\n'};
constexpr char snapshot_magic[8] = {'T', 'P', 'J', 'S', 'N', 'A', 'P', '\n'};

[[noreturn]] void fail(const char* syscall, const fs::path& file) {
    throw SystemError(errno, syscall, file.string());
}

void put_u32(std::byte* p, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) p[i] = static_cast<std::byte>(v >> (8 * i));
}
void put_u64(std::byte* p, std::uint64_t v) {
    for (int i = 0; i < 8; ++i) p[i] = static_cast<std::byte>(v >> (8 * i));
}
std::uint32_t get_u32(const std::byte* p) {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= std::uint32_t(std::to_integer<std::uint8_t>(p[i])) << (8 * i);
    return v;
}
std::uint64_t get_u64(const std::byte* p) {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= std::uint64_t(std::to_integer<std::uint8_t>(p[i])) << (8 * i);
    return v;
}

std::string hex(std::uint32_t v) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%08X", v);
    return buf;
}

std::string numbered_name(const char* prefix, Lsn lsn, const char* suffix) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s%020llu%s", prefix, static_cast<unsigned long long>(lsn),
                  suffix);
    return buf;
}

// Parses "<prefix><20 digits><suffix>".
std::optional<Lsn> parse_name(const std::string& name, std::string_view prefix,
                              std::string_view suffix) {
    if (name.size() != prefix.size() + 20 + suffix.size()) return std::nullopt;
    if (!name.starts_with(prefix) || !name.ends_with(suffix)) return std::nullopt;
    Lsn v = 0;
    for (std::size_t i = prefix.size(); i < prefix.size() + 20; ++i) {
        if (name[i] < '0' || name[i] > '9') return std::nullopt;
        const Lsn d = static_cast<Lsn>(name[i] - '0');
        if (v > (UINT64_MAX - d) / 10) return std::nullopt;
        v = v * 10 + d;
    }
    return v;
}

// Owns a file descriptor in the scope of one operation.
class Fd {
public:
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() {
        if (fd_ >= 0) ::close(fd_);
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return fd_; }
    int release() { return std::exchange(fd_, -1); }

private:
    int fd_;
};

void write_all(int fd, iovec* iov, int count, const fs::path& file) {
    while (count > 0) {
        const ssize_t n = ::writev(fd, iov, count);
        if (n < 0) {
            if (errno == EINTR) continue;
            fail("write", file);
        }
        auto left = static_cast<std::size_t>(n);
        while (count > 0 && left >= iov->iov_len) {
            left -= iov->iov_len;
            ++iov;
            --count;
        }
        if (count > 0) {
            iov->iov_base = static_cast<char*>(iov->iov_base) + left;
            iov->iov_len -= left;
        }
    }
}

void datasync(int fd, const fs::path& file) {
    if (::fdatasync(fd) != 0) fail("fdatasync", file);
}

std::vector<std::byte> read_whole(const fs::path& file) {
    Fd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) fail("open", file);
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) fail("fstat", file);
    std::vector<std::byte> bytes(static_cast<std::size_t>(st.st_size));
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n =
            ::pread(fd.get(), bytes.data() + done, bytes.size() - done, static_cast<off_t>(done));
        if (n < 0) {
            if (errno == EINTR) continue;
            fail("read", file);
        }
        if (n == 0) break;  // shrank under us: parse what is there
        done += static_cast<std::size_t>(n);
    }
    bytes.resize(done);
    return bytes;
}

// The length of the valid record at `off`, if there is one. Cheap: the torn-tail scan calls it
// at every byte offset.
std::optional<std::uint32_t> valid_record(std::span<const std::byte> buf, std::size_t off) {
    const std::size_t left = buf.size() - off;
    if (left < record_header_size) return std::nullopt;
    const std::uint32_t n = get_u32(buf.data() + off);
    if (n > max_record_bytes || n > left - record_header_size) return std::nullopt;
    const std::uint32_t crc =
        crc32c(buf.subspan(off + record_header_size, n), crc32c(buf.subspan(off, 4)));
    if (crc != get_u32(buf.data() + off + 4)) return std::nullopt;
    return n;
}

// Why the record at `off` is not valid.
std::string describe_invalid(std::span<const std::byte> buf, std::size_t off) {
    const std::size_t left = buf.size() - off;
    if (left < record_header_size)
        return "truncated record header (" + std::to_string(left) + " of 8 bytes)";
    const std::uint32_t n = get_u32(buf.data() + off);
    if (n > max_record_bytes)
        return "record length " + std::to_string(n) + " exceeds the limit of " +
               std::to_string(max_record_bytes);
    if (n > left - record_header_size)
        return "record length " + std::to_string(n) + " runs past the end of the file (" +
               std::to_string(left - record_header_size) + " bytes left)";
    const std::uint32_t stored = get_u32(buf.data() + off + 4);
    const std::uint32_t crc =
        crc32c(buf.subspan(off + record_header_size, n), crc32c(buf.subspan(off, 4)));
    return "record CRC mismatch (stored " + hex(stored) + ", computed " + hex(crc) + ")";
}

// A torn write leaves only garbage or zeros after the last good record; a valid record after a
// bad one means the damage is in the middle.
bool valid_record_after(std::span<const std::byte> buf, std::size_t off) {
    for (std::size_t p = off + 1; p + record_header_size <= buf.size(); ++p)
        if (valid_record(buf, p)) return true;
    return false;
}

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
}

Log::Opened Log::open(const fs::path& directory, const Options& options) {
    std::unique_ptr<Log> log(new Log(directory, options));
    Recovery recovery = log->recover();
    return Opened{std::move(log), std::move(recovery)};
}

fs::path Log::segment_path(Lsn first) const {
    return dir_ / numbered_name("log-", first, ".tpj");
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
    lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
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
    const std::string pid = pid_text();
    if (::ftruncate(lock_fd_, 0) != 0) fail("ftruncate", lock_path);
    if (::pwrite(lock_fd_, pid.data(), pid.size(), 0) < 0) fail("write", lock_path);
}

Recovery Log::recover() {
    Recovery r;
    lock_directory();

    std::vector<Lsn> segments;
    std::vector<Lsn> snapshots;
    for (const auto& entry : fs::directory_iterator(dir_)) {
        const std::string name = entry.path().filename().string();
        if (name.ends_with(".tmp")) {
            // An interrupted snapshot or segment creation: never renamed, so never relied on.
            if (::unlink(entry.path().c_str()) != 0) fail("unlink", entry.path());
            r.removed_files.push_back(entry.path().string());
        } else if (auto s = parse_name(name, "log-", ".tpj")) {
            segments.push_back(*s);
        } else if (auto n = parse_name(name, "snapshot-", ".tps")) {
            snapshots.push_back(*n);
        }
    }
    std::sort(segments.begin(), segments.end());
    std::sort(snapshots.begin(), snapshots.end());

    Lsn covered = 0;
    if (!snapshots.empty()) {
        covered = snapshots.back();
        const fs::path path = dir_ / numbered_name("snapshot-", covered, ".tps");
        std::vector<std::byte> bytes = read_whole(path);
        const std::string file = path.string();
        if (bytes.size() < snapshot_header_size)
            throw CorruptionError(
                file, 0,
                "snapshot header truncated (" + std::to_string(bytes.size()) + " of 40 bytes)");
        if (std::memcmp(bytes.data(), snapshot_magic, 8) != 0)
            throw CorruptionError(file, 0, "not a journal snapshot (bad magic)");
        if (get_u32(bytes.data() + 8) != format_version)
            throw CorruptionError(
                file, 8,
                "unsupported snapshot format version " + std::to_string(get_u32(bytes.data() + 8)));
        if (get_u64(bytes.data() + 16) != covered)
            throw CorruptionError(file, 16, "snapshot LSN does not match its file name");
        const std::uint64_t length = get_u64(bytes.data() + 24);
        if (length != bytes.size() - snapshot_header_size)
            throw CorruptionError(
                file, 24,
                "snapshot length " + std::to_string(length) + " does not match the file size");
        const std::uint32_t stored = get_u32(bytes.data() + 32);
        const std::span<const std::byte> all(bytes);
        const std::uint32_t crc = crc32c(all.subspan(snapshot_header_size), crc32c(all.first(32)));
        if (crc != stored)
            throw CorruptionError(
                file, 32,
                "snapshot CRC mismatch (stored " + hex(stored) + ", computed " + hex(crc) + ")");
        bytes.erase(bytes.begin(), bytes.begin() + snapshot_header_size);
        r.snapshot = Snapshot{covered, std::move(bytes)};
        snapshot_ = covered;
    }

    // Finish what an interrupted write_snapshot() left: older snapshots and segments whose
    // every record the snapshot covers.
    segments_ = std::move(segments);
    remove_covered(covered, &r.removed_files);

    Lsn next = covered + 1;
    if (!segments_.empty() && segments_.front() > covered + 1)
        throw CorruptionError(segment_path(segments_.front()).string(), 0,
                              "records " + std::to_string(covered + 1) + " to " +
                                  std::to_string(segments_.front() - 1) +
                                  " are missing (no segment or snapshot holds them)");
    for (std::size_t i = 0; i < segments_.size(); ++i) {
        const bool last = i + 1 == segments_.size();
        const fs::path path = segment_path(segments_[i]);
        const std::string file = path.string();
        const std::vector<std::byte> bytes = read_whole(path);
        const std::span<const std::byte> buf(bytes);
        if (bytes.size() < segment_header_size)
            throw CorruptionError(
                file, 0,
                "segment header truncated (" + std::to_string(bytes.size()) + " of 32 bytes)");
        if (std::memcmp(bytes.data(), segment_magic, 8) != 0)
            throw CorruptionError(file, 0, "not a journal segment (bad magic)");
        if (get_u32(bytes.data() + 8) != format_version)
            throw CorruptionError(
                file, 8,
                "unsupported segment format version " + std::to_string(get_u32(bytes.data() + 8)));
        if (crc32c(buf.first(24)) != get_u32(bytes.data() + 24))
            throw CorruptionError(file, 24, "segment header CRC mismatch");
        const Lsn first = get_u64(bytes.data() + 16);
        if (first != segments_[i])
            throw CorruptionError(
                file, 16,
                "segment first LSN " + std::to_string(first) + " does not match its file name");
        if (i > 0 && first != next)
            throw CorruptionError(file, 16,
                                  "segment starts at LSN " + std::to_string(first) +
                                      " but the previous one ends at LSN " +
                                      std::to_string(next - 1));
        Lsn lsn = first;
        std::size_t off = segment_header_size;
        while (off < bytes.size()) {
            if (const auto len = valid_record(buf, off)) {
                if (lsn > covered) {
                    const auto* p = bytes.data() + off + record_header_size;
                    r.records.push_back(Record{lsn, std::vector<std::byte>(p, p + *len)});
                }
                off += record_header_size + *len;
                ++lsn;
                continue;
            }
            // Segments before the last were synced before the next was created: damage there
            // is never a torn write.
            if (!last || valid_record_after(buf, off))
                throw CorruptionError(
                    file, off, describe_invalid(buf, off) + " (LSN " + std::to_string(lsn) + ")");
            Fd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
            if (fd.get() < 0) fail("open", path);
            if (::ftruncate(fd.get(), static_cast<off_t>(off)) != 0) fail("ftruncate", path);
            datasync(fd.get(), path);
            r.torn_tail = TornTail{file, off, bytes.size() - off};
            break;
        }
        next = lsn;
        if (last) segment_size_ = std::min<std::size_t>(off, bytes.size());
    }

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
        fd_path_ = path.string();
        // A crashed process leaves its writes in the page cache; make them durable before
        // reporting them as such.
        datasync(fd_, path);
    }
    written_.store(next - 1, std::memory_order_release);
    durable_.store(next - 1, std::memory_order_release);
    return r;
}

void Log::create_segment(Lsn first) {
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
    const int old = fd_;
    {
        std::lock_guard lock(sync_mutex_);
        fd_ = fd.release();
        fd_path_ = path.string();
    }
    if (old >= 0) ::close(old);
    segments_.push_back(first);
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
    bool changed = false;
    auto drop = [&](const fs::path& path) {
        if (::unlink(path.c_str()) != 0 && errno != ENOENT) fail("unlink", path);
        if (removed) removed->push_back(path.string());
        changed = true;
    };
    // Segment i holds LSNs [segments_[i], segments_[i+1]); the last one is always kept.
    std::size_t n = 0;
    while (n + 1 < segments_.size() && segments_[n + 1] <= covered + 1)
        drop(segment_path(segments_[n++]));
    segments_.erase(segments_.begin(), segments_.begin() + static_cast<std::ptrdiff_t>(n));
    if (snapshot_ || covered > 0) {
        for (const auto& entry : fs::directory_iterator(dir_)) {
            const auto lsn = parse_name(entry.path().filename().string(), "snapshot-", ".tps");
            if (lsn && *lsn < covered) drop(entry.path());
        }
    }
    if (changed && ::fsync(dir_fd_) != 0) fail("fsync", dir_);
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
        throw SystemError(err, "fdatasync", fd_path_);
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
        const fs::path path = dir_ / numbered_name("snapshot-", covered, ".tps");
        fs::path tmp = path;
        tmp += ".tmp";
        {
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

}  // namespace tp::journal
