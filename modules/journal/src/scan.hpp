#pragma once
// Private to the journal: what a journal directory holds, read without changing a byte. The
// writer's recovery (Log::open) acts on it; the read-only reader (Log::read) only reports it.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <utility>
#include <vector>

#include "manifest.hpp"
#include "tp/journal/log.hpp"

namespace tp::journal::detail {

namespace fs = std::filesystem;

struct Scan {
    std::optional<Manifest> manifest;  // as found; nullopt: the directory has none
    Manifest live;                     // what the directory holds: the manifest a writer keeps
    bool legacy = false;               // files but no manifest: an earlier version wrote them
    std::optional<Snapshot> snapshot;
    std::vector<Record> records;           // every record after the snapshot, in LSN order
    std::optional<TornTail> torn_tail;     // as found, not cut
    std::vector<fs::path> temporaries;     // *.tmp: interrupted creations, never relied on
    std::vector<fs::path> retired;         // segments and snapshots that nothing needs any more
    // An unfinished cut (the manifest's `cut`): what recovery must do before it rewrites the
    // manifest. The segment holding the records after the cut and where they start; the
    // segment files the cut drops; the snapshot still at its temporary name.
    std::optional<std::pair<fs::path, std::uint64_t>> cut_at;
    std::vector<fs::path> cut_off;
    std::optional<fs::path> pending_snapshot;
    std::uint64_t last_segment_bytes = 0;  // valid bytes of the newest live segment
    Lsn next = 1;  // the LSN after the last record (at most covered + 1 if the snapshot is ahead)
};

// Lists and reads the directory, never writes to it. Checks every file against the manifest:
// a file it needs that is missing is a MissingFileError; damage is a CorruptionError; a
// directory without a manifest is legacy unless it holds files only a manifest-keeping version
// writes (then the manifest was lost: CorruptionError). Throws SystemError for failed calls.
Scan scan_directory(const fs::path& dir);

// The byte offset just past record `last` in the segment `path` whose first record is `first`
// (the header's end when last < first), checking every record on the way: where
// Log::truncate_after cuts. Throws CorruptionError if the segment does not hold `last`.
std::uint64_t record_end(const fs::path& path, Lsn first, Lsn last);

}  // namespace tp::journal::detail
