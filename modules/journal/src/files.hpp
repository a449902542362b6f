#pragma once
// Private to the journal: the on-disk constants, file names and the system calls around them,
// shared by the writer (log.cpp), the read-only scan (scan.cpp) and the manifest.

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tp/journal/log.hpp"

namespace tp::journal::detail {

namespace fs = std::filesystem;

inline constexpr std::size_t segment_header_size = 32;
inline constexpr std::size_t snapshot_header_size = 40;
inline constexpr std::size_t record_header_size = 8;
// Version 1: the format before the manifest. Version 2: the same layout, written only into a
// directory that has a MANIFEST, so a version-2 file without one means the manifest was lost.
inline constexpr std::uint32_t legacy_version = 1;
inline constexpr std::uint32_t format_version = 2;
inline constexpr char segment_magic[8] = {'T', 'P', 'J', 'L', 'O', 'G', '\r', '\n'};
inline constexpr char snapshot_magic[8] = {'T', 'P', 'J', 'S', 'N', 'A', 'P', '\n'};
inline constexpr std::string_view temporary_suffix = ".tmp";

[[noreturn]] void fail(const char* syscall, const fs::path& file);

void put_u32(std::byte* p, std::uint32_t v);
void put_u64(std::byte* p, std::uint64_t v);
std::uint32_t get_u32(const std::byte* p);
std::uint64_t get_u64(const std::byte* p);
std::string hex(std::uint32_t v);

std::string segment_name(Lsn first);
std::string snapshot_name(Lsn covered);
std::optional<Lsn> parse_segment_name(const std::string& name);
std::optional<Lsn> parse_snapshot_name(const std::string& name);

// Owns a file descriptor in the scope of one operation.
class Fd {
public:
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd();
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return fd_; }
    int release() { return std::exchange(fd_, -1); }

private:
    int fd_;
};

void write_all(int fd, iovec* iov, int count, const fs::path& file);
void datasync(int fd, const fs::path& file);
// The whole file (a file that shrinks while it is read yields what is left).
std::vector<std::byte> read_whole(const fs::path& file);
// Up to `n` bytes from the start of the file (all of it by default); nullopt if it does not
// exist.
std::optional<std::vector<std::byte>> read_if_exists(const fs::path& file,
                                                     std::size_t n = SIZE_MAX);
// Writes `bytes` to `<path>.tmp`, fdatasyncs it, renames it to `path` and fsyncs the directory:
// afterwards `path` holds either the old or the new contents, whatever fails.
void replace_durably(int dir_fd, const fs::path& dir, const fs::path& path,
                     std::span<const std::byte> bytes);

}  // namespace tp::journal::detail
