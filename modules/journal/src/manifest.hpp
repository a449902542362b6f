#pragma once
// Private to the journal: the MANIFEST, the log's own record of which files it consists of.
//
// Why a manifest: segments are named by their first LSN and checked to follow one another, so a
// gap in the middle shows; but nothing in the files says where the log ends, so a deleted newest
// segment looked like a log that simply ended earlier. The manifest names the snapshot and every
// live segment; the writer replaces it (write-temp + fdatasync + rename + fsync of the
// directory) whenever it creates a segment, writes a snapshot or retires files, so it is never
// behind what was acknowledged. The writer's ordering makes the gaps between the manifest and the
// directory after a crash small and recognizable (scan.cpp accepts exactly these):
//   - a new segment or snapshot is renamed into place *before* the manifest names it: a crash in
//     between leaves one newest segment holding only its header, or a snapshot newer than the
//     manifest's, which are complete (they were renamed) and are adopted;
//   - a retired segment or snapshot is unlinked *after* the manifest stops naming it: a crash in
//     between leaves files older than the manifest's, which are removed.
// So a file the manifest names that is missing was lost, never retired.
//
// Cutting the log (Log::truncate_after, Log::install_snapshot) changes several files at once, so
// it writes an intent first: a manifest that carries `cut` (the log holds no record after it)
// and lists only what survives. That manifest is the commit point: before it the old log
// stands; once it is on disk recovery finishes the job (cuts the segment, removes the segments
// it no longer lists, renames a pending snapshot) and writes the manifest without the intent.

#include <cstddef>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tp/journal/log.hpp"

namespace tp::journal::detail {

inline constexpr const char* manifest_name = "MANIFEST";

struct Manifest {
    Lsn snapshot = 0;           // covered LSN of the snapshot the log starts from; 0: none
    std::vector<Lsn> segments;  // first LSN of every live segment, oldest first
    // Version 2 only. How many cuts the log has seen: it makes a manifest written after a cut
    // differ from every one before, though a cut makes LSNs (and so file names) come back, so
    // that a reader that saw the same manifest before and after still saw one state.
    std::uint64_t cuts = 0;
    // Version 2 only: an unfinished cut. No record after `cut` survives; segment files newer than
    // the listed ones are dropped; with `snapshot_pending` the snapshot may still be at its
    // `.tmp` name (it was synced before this manifest named it).
    std::optional<Lsn> cut;
    bool snapshot_pending = false;
    bool operator==(const Manifest&) const = default;
};

// Layout, little-endian: "TPJMANIF", u32 version (1), u32 segment count n, u64 snapshot,
// n x u64 first LSN, [version 2: u64 cuts, u64 cut, u32 flags (bit 0: cut unfinished, bit 1:
// snapshot pending)], u32 CRC32C over everything before it. Version 1 while the log has never
// been cut.
std::vector<std::byte> encode_manifest(const Manifest& manifest);
// Throws CorruptionError naming `file` for anything but a well-formed manifest.
Manifest decode_manifest(std::span<const std::byte> bytes, const std::string& file);

// The manifest's raw bytes, or nullopt if the directory has none.
std::optional<std::vector<std::byte>> read_manifest_bytes(const std::filesystem::path& dir);
void write_manifest(int dir_fd, const std::filesystem::path& dir, const Manifest& manifest);

}  // namespace tp::journal::detail
