#include "scan.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <limits>
#include <map>
#include <string>

#include "files.hpp"
#include "tp/journal/crc32c.hpp"
#include "tp/journal/errors.hpp"

namespace tp::journal {

namespace detail {

namespace {

// The length of the valid record at `off`, if there is one. Cheap: the torn-tail scan calls it
// at every byte offset.
std::optional<std::uint32_t> valid_record(std::span<const std::byte> buf, std::size_t off) {
    const std::size_t left = buf.size() - off;
    if (left < record_header_size) return std::nullopt;
    const std::uint32_t n = get_u32(buf.data() + off);
    if (n > max_record_bytes || n > left - record_header_size) return std::nullopt;
    const std::uint32_t crc =
        crc32c(buf.subspan(off + record_header_size, n), crc32c(buf.subspan(off, 4)));
    if (crc != get_u32(buf.data() + off + 4)) return std::nullopt;
    return n;
}

// Why the record at `off` is not valid.
std::string describe_invalid(std::span<const std::byte> buf, std::size_t off) {
    const std::size_t left = buf.size() - off;
    if (left < record_header_size)
        return "truncated record header (" + std::to_string(left) + " of 8 bytes)";
    const std::uint32_t n = get_u32(buf.data() + off);
    if (n > max_record_bytes)
        return "record length " + std::to_string(n) + " exceeds the limit of " +
               std::to_string(max_record_bytes);
    if (n > left - record_header_size)
        return "record length " + std::to_string(n) + " runs past the end of the file (" +
               std::to_string(left - record_header_size) + " bytes left)";
    const std::uint32_t stored = get_u32(buf.data() + off + 4);
    const std::uint32_t crc =
        crc32c(buf.subspan(off + record_header_size, n), crc32c(buf.subspan(off, 4)));
    return "record CRC mismatch (stored " + hex(stored) + ", computed " + hex(crc) + ")";
}

// A torn write leaves only garbage or zeros after the last good record; a valid record after a
// bad one means the damage is in the middle.
bool valid_record_after(std::span<const std::byte> buf, std::size_t off) {
    for (std::size_t p = off + 1; p + record_header_size <= buf.size(); ++p)
        if (valid_record(buf, p)) return true;
    return false;
}

bool known_version(std::uint32_t v) {
    return v == legacy_version || v == format_version;
}

Snapshot read_snapshot(const fs::path& path, Lsn covered) {
    std::vector<std::byte> bytes = read_whole(path);
    const std::string file = path.string();
    if (bytes.size() < snapshot_header_size)
        throw CorruptionError(
            file, 0,
            "snapshot header truncated (" + std::to_string(bytes.size()) + " of 40 bytes)");
    if (std::memcmp(bytes.data(), snapshot_magic, 8) != 0)
        throw CorruptionError(file, 0, "not a journal snapshot (bad magic)");
    if (!known_version(get_u32(bytes.data() + 8)))
        throw CorruptionError(
            file, 8,
            "unsupported snapshot format version " + std::to_string(get_u32(bytes.data() + 8)));
    if (get_u64(bytes.data() + 16) != covered)
        throw CorruptionError(file, 16, "snapshot LSN does not match its file name");
    const std::uint64_t length = get_u64(bytes.data() + 24);
    if (length != bytes.size() - snapshot_header_size)
        throw CorruptionError(
            file, 24,
            "snapshot length " + std::to_string(length) + " does not match the file size");
    const std::uint32_t stored = get_u32(bytes.data() + 32);
    const std::span<const std::byte> all(bytes);
    const std::uint32_t crc = crc32c(all.subspan(snapshot_header_size), crc32c(all.first(32)));
    if (crc != stored)
        throw CorruptionError(
            file, 32,
            "snapshot CRC mismatch (stored " + hex(stored) + ", computed " + hex(crc) + ")");
    bytes.erase(bytes.begin(), bytes.begin() + snapshot_header_size);
    return Snapshot{covered, std::move(bytes)};
}

// Without a manifest, every file must be of the version that never had one: a file of the
// current version is only ever written next to a manifest, so the manifest was lost, and with
// it the knowledge of where the log ends.
void check_legacy(const std::map<Lsn, fs::path>& segments, const std::vector<Lsn>& snapshots,
                  const fs::path& dir) {
    std::vector<fs::path> files;
    for (const auto& [first, path] : segments) files.push_back(path);
    for (const Lsn s : snapshots) files.push_back(dir / snapshot_name(s));
    for (const auto& path : files) {
        const auto head = read_if_exists(path, 12);
        if (!head || head->size() < 12) continue;  // gone, or damage the full read reports
        const std::uint32_t version = get_u32(head->data() + 8);
        if (version != legacy_version)
            throw CorruptionError(
                (dir / manifest_name).string(), 0,
                "the journal's MANIFEST is missing, but '" + path.filename().string() +
                    "' (format version " + std::to_string(version) +
                    ") was written next to one: without it the end of the log is unknown "
                    "(restore the MANIFEST; never delete it)");
    }
}

[[noreturn]] void missing_segment(const fs::path& path, const std::vector<Lsn>& segments,
                                  std::size_t i, Lsn covered) {
    const Lsn first = segments[i];
    const bool newest = i + 1 == segments.size();
    const std::optional<Lsn> last = newest ? std::nullopt : std::optional(segments[i + 1] - 1);
    std::string held =
        newest ? "the newest segment, holding the records from LSN " + std::to_string(first) + " on"
               : "holding records " + std::to_string(first) + " to " + std::to_string(*last);
    if (covered >= first)
        held += " (the snapshot covers those up to " + std::to_string(covered) + ")";
    throw MissingFileError(path.string(), first, last,
                           "journal segment '" + path.string() +
                               "' is missing: the manifest lists it as " + held +
                               "; those records are lost unless the file is restored");
}

[[noreturn]] void missing_snapshot(const fs::path& path, Lsn covered) {
    throw MissingFileError(path.string(), 1, covered,
                           "journal snapshot '" + path.string() +
                               "' is missing: the manifest says the log starts from it (the "
                               "state up to LSN " +
                               std::to_string(covered) +
                               "), which is gone unless the file is restored");
}

}  // namespace

Scan scan_directory(const fs::path& dir) {
    Scan s;
    std::map<Lsn, fs::path> segment_files;
    std::vector<Lsn> snapshot_files;
    for (const auto& entry : fs::directory_iterator(dir)) {
        const std::string name = entry.path().filename().string();
        if (name.ends_with(temporary_suffix)) {
            s.temporaries.push_back(entry.path());
        } else if (auto first = parse_segment_name(name)) {
            segment_files.emplace(*first, entry.path());
        } else if (auto covered = parse_snapshot_name(name)) {
            snapshot_files.push_back(*covered);
        }
    }
    std::sort(snapshot_files.begin(), snapshot_files.end());
    std::sort(s.temporaries.begin(), s.temporaries.end());

    if (auto bytes = read_manifest_bytes(dir)) {
        s.manifest = decode_manifest(*bytes, (dir / manifest_name).string());
    } else if (!segment_files.empty() || !snapshot_files.empty()) {
        check_legacy(segment_files, snapshot_files, dir);
        s.legacy = true;
    }

    // An unfinished cut names its snapshot exactly: an installed one may still be at its
    // temporary name, and none newer can exist.
    const bool cutting = s.manifest && s.manifest->cut;
    const Lsn keep_up_to =
        cutting ? s.manifest->cut.value_or(0) : std::numeric_limits<Lsn>::max();
    if (cutting) {
        const Lsn covered = s.manifest->snapshot;
        const fs::path path = dir / snapshot_name(covered);
        fs::path tmp = path;
        tmp += temporary_suffix;
        if (covered > 0 && s.manifest->snapshot_pending &&
            std::find(s.temporaries.begin(), s.temporaries.end(), tmp) != s.temporaries.end()) {
            std::erase(s.temporaries, tmp);
            try {
                s.snapshot = read_snapshot(tmp, covered);
                s.pending_snapshot = tmp;
            } catch (const SystemError& e) {
                // A writer beside this reader renamed it meanwhile: read it under its name.
                if (e.code().value() != ENOENT) throw;
            }
        }
        std::error_code ec;
        if (!s.snapshot && covered > 0) {
            if (!std::binary_search(snapshot_files.begin(), snapshot_files.end(), covered) &&
                !fs::exists(path, ec))
                missing_snapshot(path, covered);
            s.snapshot = read_snapshot(path, covered);
        }
        for (const Lsn other : snapshot_files) {
            if (other > covered)
                throw CorruptionError((dir / snapshot_name(other)).string(), 0,
                                      "snapshot is newer than the one the manifest's unfinished "
                                      "cut after LSN " +
                                          std::to_string(keep_up_to) + " keeps");
            if (other < covered) s.retired.push_back(dir / snapshot_name(other));
        }
    } else {
        // The newest snapshot on disk: one newer than the manifest's was renamed into place
        // just before a crash could update the manifest. One older than the manifest's cannot be.
        const Lsn newest = snapshot_files.empty() ? 0 : snapshot_files.back();
        if (s.manifest && s.manifest->snapshot > newest)
            missing_snapshot(dir / snapshot_name(s.manifest->snapshot), s.manifest->snapshot);
        if (!snapshot_files.empty()) {
            s.snapshot = read_snapshot(dir / snapshot_name(newest), newest);
            for (std::size_t i = 0; i + 1 < snapshot_files.size(); ++i)
                s.retired.push_back(dir / snapshot_name(snapshot_files[i]));
        }
    }
    const Lsn covered = s.snapshot ? s.snapshot->covered : 0;

    // The segments: the manifest's, plus at most one newer that it does not list yet (created
    // just before a crash could add it). Without a manifest, whatever is there.
    std::vector<Lsn> segments;
    std::optional<Lsn> unlisted;
    if (s.manifest) {
        segments = s.manifest->segments;
        for (const auto& [first, path] : segment_files) {
            if (std::binary_search(segments.begin(), segments.end(), first)) continue;
            if (!segments.empty() && first < segments.front()) {
                s.retired.push_back(path);  // unlinked after the manifest dropped it
            } else if (cutting && (segments.empty() || first > segments.back())) {
                s.cut_off.push_back(path);  // beyond the cut: not yet unlinked
            } else if (segments.empty() || first > segments.back()) {
                if (unlisted)
                    throw CorruptionError(
                        path.string(), 0,
                        "segment is newer than every segment the manifest lists, and so is '" +
                            segment_name(*unlisted) +
                            "': at most one segment can be waiting to be listed");
                unlisted = first;
            } else {
                throw CorruptionError(path.string(), 0,
                                      "segment is not in the manifest, which lists segments "
                                      "before and after it");
            }
        }
        if (unlisted) segments.push_back(*unlisted);
    } else {
        for (const auto& [first, path] : segment_files) segments.push_back(first);
    }

    // Segment i holds LSNs [segments[i], segments[i+1]): those the snapshot covers entirely are
    // retired (gone already, or removable). The newest always stays: its end is unknown.
    std::size_t n = 0;
    while (n + 1 < segments.size() && segments[n + 1] <= covered + 1) {
        if (auto it = segment_files.find(segments[n]); it != segment_files.end())
            s.retired.push_back(it->second);
        ++n;
    }
    segments.erase(segments.begin(), segments.begin() + static_cast<std::ptrdiff_t>(n));
    for (std::size_t i = 0; i < segments.size(); ++i) {
        if (!segment_files.contains(segments[i]))
            missing_segment(dir / segment_name(segments[i]), segments, i, covered);
    }
    if (!segments.empty() && segments.front() > covered + 1)
        throw CorruptionError(segment_files.at(segments.front()).string(), 0,
                              "records " + std::to_string(covered + 1) + " to " +
                                  std::to_string(segments.front() - 1) +
                                  " are missing (no segment or snapshot holds them)");

    Lsn next = covered + 1;
    for (std::size_t i = 0; i < segments.size(); ++i) {
        const bool last = i + 1 == segments.size();
        const fs::path& path = segment_files.at(segments[i]);
        const std::string file = path.string();
        const std::vector<std::byte> bytes = read_whole(path);
        const std::span<const std::byte> buf(bytes);
        if (bytes.size() < segment_header_size)
            throw CorruptionError(
                file, 0,
                "segment header truncated (" + std::to_string(bytes.size()) + " of 32 bytes)");
        if (std::memcmp(bytes.data(), segment_magic, 8) != 0)
            throw CorruptionError(file, 0, "not a journal segment (bad magic)");
        if (!known_version(get_u32(bytes.data() + 8)))
            throw CorruptionError(
                file, 8,
                "unsupported segment format version " + std::to_string(get_u32(bytes.data() + 8)));
        if (crc32c(buf.first(24)) != get_u32(bytes.data() + 24))
            throw CorruptionError(file, 24, "segment header CRC mismatch");
        const Lsn first = get_u64(bytes.data() + 16);
        if (first != segments[i])
            throw CorruptionError(
                file, 16,
                "segment first LSN " + std::to_string(first) + " does not match its file name");
        if (i > 0 && first != next)
            throw CorruptionError(file, 16,
                                  "segment starts at LSN " + std::to_string(first) +
                                      " but the previous one ends at LSN " +
                                      std::to_string(next - 1));
        // Nothing is appended to a segment before the manifest lists it.
        if (unlisted && first == *unlisted && bytes.size() != segment_header_size)
            throw CorruptionError(file, segment_header_size,
                                  "segment holds " +
                                      std::to_string(bytes.size() - segment_header_size) +
                                      " bytes of records but the manifest does not list it");
        Lsn lsn = first;
        std::size_t off = segment_header_size;
        while (off < bytes.size()) {
            // The rest is what an unfinished cut drops (a torn write among it included).
            if (last && lsn > keep_up_to) {
                s.cut_at = std::pair(path, std::uint64_t{off});
                break;
            }
            if (const auto len = valid_record(buf, off)) {
                if (lsn > covered) {
                    const auto* p = bytes.data() + off + record_header_size;
                    s.records.push_back(Record{lsn, std::vector<std::byte>(p, p + *len)});
                }
                off += record_header_size + *len;
                ++lsn;
                continue;
            }
            // Segments before the last were synced before the next was created: damage there
            // is never a torn write.
            if (!last || valid_record_after(buf, off))
                throw CorruptionError(
                    file, off, describe_invalid(buf, off) + " (LSN " + std::to_string(lsn) + ")");
            s.torn_tail = TornTail{file, off, bytes.size() - off, false};
            break;
        }
        next = lsn;
        if (last) s.last_segment_bytes = off;
    }
    s.live.snapshot = covered;
    s.live.segments = segments;
    s.next = next;
    return s;
}

std::uint64_t record_end(const fs::path& path, Lsn first, Lsn last) {
    const std::vector<std::byte> bytes = read_whole(path);
    const std::span<const std::byte> buf(bytes);
    if (bytes.size() < segment_header_size)
        throw CorruptionError(path.string(), 0, "segment header truncated");
    std::size_t off = segment_header_size;
    for (Lsn lsn = first; lsn <= last; ++lsn) {
        const auto len = valid_record(buf, off);
        if (!len)
            throw CorruptionError(path.string(), off,
                                  (off < bytes.size() ? describe_invalid(buf, off)
                                                      : std::string("the segment ends")) +
                                      " (LSN " + std::to_string(lsn) +
                                      ", which the log holds by its count)");
        off += record_header_size + *len;
    }
    return off;
}

}  // namespace detail

namespace {

// The reader takes no lock, so a writer may change the directory while it reads. The writer
// replaces the manifest before it removes anything and whenever it adds a file, so a scan that
// saw the same manifest before and after saw one consistent state; otherwise it is repeated.
constexpr int read_attempts = 8;

}  // namespace

Recovery Log::read(const std::filesystem::path& directory) {
    std::error_code ec;
    if (!std::filesystem::is_directory(directory, ec)) {
        const bool exists = std::filesystem::exists(directory, ec);
        throw JournalError("journal directory '" + directory.string() +
                           (exists ? "' is not a directory" : "' does not exist"));
    }
    for (int attempt = 1;; ++attempt) {
        const auto before = detail::read_manifest_bytes(directory);
        std::optional<detail::Scan> scan;
        std::exception_ptr error;
        try {
            scan = detail::scan_directory(directory);
        } catch (...) {
            error = std::current_exception();
        }
        if (detail::read_manifest_bytes(directory) != before) {
            // Whatever this scan found (an error included) may mix two states of the log.
            if (attempt < read_attempts) continue;
            throw JournalError("journal '" + directory.string() + "' changed " +
                               std::to_string(read_attempts) +
                               " times while it was being read; try again");
        }
        if (error) std::rethrow_exception(error);
        Recovery r;
        r.snapshot = std::move(scan->snapshot);
        r.records = std::move(scan->records);
        r.torn_tail = std::move(scan->torn_tail);
        for (const auto& p : scan->temporaries) r.leftover_files.push_back(p.string());
        for (const auto& p : scan->cut_off) r.leftover_files.push_back(p.string());
        for (const auto& p : scan->retired) r.leftover_files.push_back(p.string());
        if (scan->manifest) r.unfinished_cut = scan->manifest->cut;
        r.legacy = scan->legacy;
        return r;
    }
}

}  // namespace tp::journal
