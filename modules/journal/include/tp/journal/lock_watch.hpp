#pragma once

#include <filesystem>

namespace tp::journal {

// Tells whoever waits for a journal's lock when the holder may have let go, without polling: an
// inotify watch on the directory's LOCK file. The holder keeps LOCK open for writing for as long
// as it holds the lock and closes it last, also when it dies (the kernel closes it); attempts to
// take the lock open LOCK read-only, so a waiter's own failed attempt wakes nobody.
//
// Use: make the watch, then try Log::open; if it is locked, wait for fd() to become readable,
// drain(), and try again with a new watch (one made before the attempt misses no release). A
// holder that dies closes its files in no set order, so the event can come a moment before the
// lock is free: after a wake that did not win the lock, look once more a little later.
class LockWatch {
public:
    // Creates LOCK if it is missing (the directory must exist); throws SystemError when the
    // watch cannot be set.
    explicit LockWatch(const std::filesystem::path& directory);
    ~LockWatch();
    LockWatch(const LockWatch&) = delete;
    LockWatch& operator=(const LockWatch&) = delete;

    // Non-blocking; readable once LOCK was closed by a writer (or removed, or moved).
    int fd() const noexcept { return fd_; }
    // Reads what is pending; true if anything happened since the last call.
    bool drain() noexcept;

private:
    int fd_ = -1;
};

}  // namespace tp::journal
