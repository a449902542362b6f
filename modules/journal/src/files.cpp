#include "files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include "tp/journal/errors.hpp"

namespace tp::journal::detail {

namespace {

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

}  // namespace

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

std::string segment_name(Lsn first) {
    return numbered_name("log-", first, ".tpj");
}
std::string snapshot_name(Lsn covered) {
    return numbered_name("snapshot-", covered, ".tps");
}
std::optional<Lsn> parse_segment_name(const std::string& name) {
    return parse_name(name, "log-", ".tpj");
}
std::optional<Lsn> parse_snapshot_name(const std::string& name) {
    return parse_name(name, "snapshot-", ".tps");
}

Fd::~Fd() {
    if (fd_ >= 0) ::close(fd_);
}

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

namespace {

std::vector<std::byte> read_upto(int fd, std::size_t n, const fs::path& file) {
    std::vector<std::byte> bytes(n);
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t got =
            ::pread(fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(done));
        if (got < 0) {
            if (errno == EINTR) continue;
            fail("read", file);
        }
        if (got == 0) break;  // shrank under us: parse what is there
        done += static_cast<std::size_t>(got);
    }
    bytes.resize(done);
    return bytes;
}

}  // namespace

std::vector<std::byte> read_whole(const fs::path& file) {
    Fd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) fail("open", file);
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) fail("fstat", file);
    return read_upto(fd.get(), static_cast<std::size_t>(st.st_size), file);
}

std::optional<std::vector<std::byte>> read_if_exists(const fs::path& file, std::size_t n) {
    Fd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) {
        if (errno == ENOENT) return std::nullopt;
        fail("open", file);
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) fail("fstat", file);
    return read_upto(fd.get(), std::min(n, static_cast<std::size_t>(st.st_size)), file);
}

void replace_durably(int dir_fd, const fs::path& dir, const fs::path& path,
                     std::span<const std::byte> bytes) {
    fs::path tmp = path;
    tmp += temporary_suffix;
    {
        Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
        if (fd.get() < 0) fail("open", tmp);
        iovec iov{const_cast<std::byte*>(bytes.data()), bytes.size()};
        write_all(fd.get(), &iov, bytes.empty() ? 0 : 1, tmp);
        datasync(fd.get(), tmp);
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) fail("rename", tmp);
    if (::fsync(dir_fd) != 0) fail("fsync", dir);
}

}  // namespace tp::journal::detail
