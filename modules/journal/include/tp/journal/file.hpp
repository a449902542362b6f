#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <span>
#include <vector>

namespace tp::journal {

// Small whole files beside a log (a peer's own durable state), on the path the log itself uses for
// its manifest and snapshots. Both throw SystemError naming the file and the failed call.

// Up to `max_bytes` from the start of `file`; nullopt when it does not exist.
std::optional<std::vector<std::byte>> read_file_if_exists(const std::filesystem::path& file,
                                                          std::size_t max_bytes);

// Writes `<file>.tmp`, fdatasyncs it, renames it to `file` and fsyncs the directory: afterwards
// `file` holds either the old or the new contents, whatever fails.
void replace_file_durably(const std::filesystem::path& file, std::span<const std::byte> bytes);

}  // namespace tp::journal
