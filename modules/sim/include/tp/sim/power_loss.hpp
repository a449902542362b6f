#pragma once

#include <cstdint>
#include <filesystem>

namespace tp::sim {

// The simulator's model of losing power: every journal record after `durable` (the highest LSN
// that a modelled fdatasync covered) is gone, as if it had only reached the page cache. Cuts the
// segment that holds `durable` right after that record and deletes every later segment. Relies on
// the on-disk format that tp/journal/log.hpp documents. Returns how many records were discarded.
// Call it only while no Log appends to the directory.
std::uint64_t discard_after(const std::filesystem::path& journal_dir, std::uint64_t durable);

}  // namespace tp::sim
