#pragma once

#include <sys/types.h>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <system_error>

namespace tp::journal {

// Base of every error the journal throws on its own account (OS failures are SystemError).
class JournalError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// The files on disk are damaged in a way recovery must not paper over: a bad record or header in
// the middle of the log, a gap in LSNs between segments, a snapshot whose checksum fails.
// what() names the file and the byte offset.
class CorruptionError : public JournalError {
public:
    CorruptionError(std::string file, std::uint64_t offset, const std::string& why);
    const std::string& file() const noexcept { return file_; }
    std::uint64_t offset() const noexcept { return offset_; }

private:
    std::string file_;
    std::uint64_t offset_;
};

// Another Log object (this process or another) holds the directory's lock.
class LockedError : public JournalError {
public:
    LockedError(std::string directory, pid_t holder);
    const std::string& directory() const noexcept { return directory_; }
    // The pid written by the holder, or 0 if it could not be read.
    pid_t holder() const noexcept { return holder_; }

private:
    std::string directory_;
    pid_t holder_;
};

// A failed system call: what() is "<syscall> <file>: <errno text>", code() the errno.
class SystemError : public std::system_error {
public:
    SystemError(int err, const std::string& syscall, const std::string& file);
};

}  // namespace tp::journal
