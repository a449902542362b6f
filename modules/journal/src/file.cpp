#include "tp/journal/file.hpp"

#include <fcntl.h>

#include <cerrno>

#include "files.hpp"
#include "tp/journal/errors.hpp"

namespace tp::journal {

std::optional<std::vector<std::byte>> read_file_if_exists(const std::filesystem::path& file,
                                                          std::size_t max_bytes) {
    return detail::read_if_exists(file, max_bytes);
}

void replace_file_durably(const std::filesystem::path& file, std::span<const std::byte> bytes) {
    const auto dir = file.has_parent_path() ? file.parent_path() : std::filesystem::path(".");
    detail::Fd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir_fd.get() < 0) throw SystemError(errno, "open", dir.string());
    detail::replace_durably(dir_fd.get(), dir, file, bytes);
}

}  // namespace tp::journal
