#pragma once

#include <sys/types.h>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>

namespace tp::journal {

// Log sequence number: the first record ever appended is 1; 0 means "nothing".
using Lsn = std::uint64_t;

// Base of every error the journal throws on its own account (OS failures are SystemError).
class JournalError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// The files on disk are damaged in a way recovery must not paper over: a bad record or header in
// the middle of the log, a gap in LSNs between segments, a snapshot whose checksum fails, a
// manifest that does not match the files. what() names the file and the byte offset.
class CorruptionError : public JournalError {
public:
    CorruptionError(std::string file, std::uint64_t offset, const std::string& why);
    const std::string& file() const noexcept { return file_; }
    std::uint64_t offset() const noexcept { return offset_; }

protected:
    struct WholeMessage {};
    CorruptionError(WholeMessage, std::string file, const std::string& what);

private:
    std::string file_;
    std::uint64_t offset_;
};

// A file the journal's manifest says the log still needs is gone: a segment that holds records
// after the snapshot, or the snapshot itself. Nothing else has those records, so opening goes no
// further. file() names the missing file (offset() is 0); what() says which records it held.
class MissingFileError : public CorruptionError {
public:
    MissingFileError(std::string file, Lsn first, std::optional<Lsn> last, const std::string& what);
    // The records the file held: [first, last], or from `first` on for the newest segment (its
    // end is unknown).
    Lsn first() const noexcept { return first_; }
    std::optional<Lsn> last() const noexcept { return last_; }

private:
    Lsn first_;
    std::optional<Lsn> last_;
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
