#include "tp/journal/lock_watch.hpp"

#include <fcntl.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <array>
#include <cerrno>

#include "tp/journal/errors.hpp"

namespace tp::journal {

LockWatch::LockWatch(const std::filesystem::path& directory) {
    const auto lock_path = directory / "LOCK";
    // Read-only, so making the watch does not look like a release to another waiter.
    const int lock_fd = ::open(lock_path.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0644);
    if (lock_fd < 0) throw SystemError(errno, "open", lock_path.string());
    ::close(lock_fd);
    fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd_ < 0) throw SystemError(errno, "inotify_init1", lock_path.string());
    if (::inotify_add_watch(fd_, lock_path.c_str(),
                            IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF) < 0) {
        const int err = errno;
        ::close(fd_);
        throw SystemError(err, "inotify_add_watch", lock_path.string());
    }
}

LockWatch::~LockWatch() {
    if (fd_ >= 0) ::close(fd_);
}

bool LockWatch::drain() noexcept {
    alignas(inotify_event) std::array<char, 4096> events;
    bool any = false;
    for (;;) {
        const ssize_t n = ::read(fd_, events.data(), events.size());
        if (n > 0) {
            any = true;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        return any;  // EAGAIN: nothing more
    }
}

}  // namespace tp::journal
