#include "tp/journal/errors.hpp"

namespace tp::journal {

CorruptionError::CorruptionError(std::string file, std::uint64_t offset, const std::string& why)
    : JournalError("corrupt journal file '" + file + "' at byte offset " + std::to_string(offset) +
                   ": " + why),
      file_(std::move(file)),
      offset_(offset) {}

CorruptionError::CorruptionError(WholeMessage, std::string file, const std::string& what)
    : JournalError(what), file_(std::move(file)), offset_(0) {}

MissingFileError::MissingFileError(std::string file, Lsn first, std::optional<Lsn> last,
                                   const std::string& what)
    : CorruptionError(WholeMessage{}, std::move(file), what), first_(first), last_(last) {}

LockedError::LockedError(std::string directory, pid_t holder)
    : JournalError("journal directory '" + directory + "' is locked by another writer" +
                   (holder > 0 ? " (pid " + std::to_string(holder) + ")" : std::string())),
      directory_(std::move(directory)),
      holder_(holder) {}

SystemError::SystemError(int err, const std::string& syscall, const std::string& file)
    : std::system_error(err, std::generic_category(), syscall + " " + file) {}

}  // namespace tp::journal
