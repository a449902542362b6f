#include "manifest.hpp"

#include <cstring>
#include <limits>

#include "files.hpp"
#include "tp/journal/crc32c.hpp"
#include "tp/journal/errors.hpp"

namespace tp::journal::detail {

namespace {

constexpr char manifest_magic[8] = {'T', 'P', 'J', 'M', 'A', 'N', 'I', 'F'};
constexpr std::uint32_t manifest_version = 1;
constexpr std::uint32_t cut_version = 2;  // written once the log has been cut
constexpr std::size_t fixed_size = 24;    // magic, version, count, snapshot
constexpr std::size_t cut_size = 20;      // version 2: cuts, cut, flags
constexpr std::size_t crc_size = 4;
constexpr std::uint32_t flag_cut_unfinished = 1;
constexpr std::uint32_t flag_snapshot_pending = 2;

}  // namespace

std::vector<std::byte> encode_manifest(const Manifest& m) {
    const std::size_t list_end = fixed_size + 8 * m.segments.size();
    const bool v2 = m.cuts > 0 || m.cut;
    std::vector<std::byte> out(list_end + (v2 ? cut_size : 0) + crc_size);
    std::memcpy(out.data(), manifest_magic, 8);
    put_u32(out.data() + 8, v2 ? cut_version : manifest_version);
    put_u32(out.data() + 12, static_cast<std::uint32_t>(m.segments.size()));
    put_u64(out.data() + 16, m.snapshot);
    for (std::size_t i = 0; i < m.segments.size(); ++i)
        put_u64(out.data() + fixed_size + 8 * i, m.segments[i]);
    if (v2) {
        put_u64(out.data() + list_end, m.cuts);
        put_u64(out.data() + list_end + 8, m.cut.value_or(0));
        put_u32(out.data() + list_end + 16,
                (m.cut ? flag_cut_unfinished : 0) |
                    (m.cut && m.snapshot_pending ? flag_snapshot_pending : 0));
    }
    const std::size_t body = out.size() - crc_size;
    put_u32(out.data() + body, crc32c(std::span<const std::byte>(out).first(body)));
    return out;
}

Manifest decode_manifest(std::span<const std::byte> bytes, const std::string& file) {
    if (bytes.size() < fixed_size + crc_size)
        throw CorruptionError(file, 0,
                              "manifest truncated (" + std::to_string(bytes.size()) +
                                  " of at least " + std::to_string(fixed_size + crc_size) +
                                  " bytes)");
    if (std::memcmp(bytes.data(), manifest_magic, 8) != 0)
        throw CorruptionError(file, 0, "not a journal manifest (bad magic)");
    const std::uint32_t version = get_u32(bytes.data() + 8);
    if (version != manifest_version && version != cut_version)
        throw CorruptionError(file, 8, "unsupported manifest version " + std::to_string(version));
    const std::uint64_t count = get_u32(bytes.data() + 12);
    const std::size_t list_end = fixed_size + 8 * count;
    const std::size_t extra = version == cut_version ? cut_size : 0;
    if (bytes.size() != list_end + extra + crc_size)
        throw CorruptionError(file, 12,
                              "manifest lists " + std::to_string(count) + " segments but has " +
                                  std::to_string(bytes.size()) + " bytes");
    const std::size_t body = bytes.size() - crc_size;
    const std::uint32_t stored = get_u32(bytes.data() + body);
    const std::uint32_t crc = crc32c(bytes.first(body));
    if (crc != stored)
        throw CorruptionError(
            file, body,
            "manifest CRC mismatch (stored " + hex(stored) + ", computed " + hex(crc) + ")");
    Manifest m;
    m.snapshot = get_u64(bytes.data() + 16);
    m.segments.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
        const Lsn first = get_u64(bytes.data() + fixed_size + 8 * i);
        const Lsn previous = m.segments.empty() ? 0 : m.segments.back();
        if (first <= previous || first == std::numeric_limits<Lsn>::max())
            throw CorruptionError(file, fixed_size + 8 * i,
                                  "manifest segment " + std::to_string(first) +
                                      " does not follow " + std::to_string(previous));
        m.segments.push_back(first);
    }
    if (version == cut_version) {
        m.cuts = get_u64(bytes.data() + list_end);
        const Lsn cut = get_u64(bytes.data() + list_end + 8);
        const std::uint32_t flags = get_u32(bytes.data() + list_end + 16);
        if ((flags & ~(flag_cut_unfinished | flag_snapshot_pending)) != 0 ||
            flags == flag_snapshot_pending)
            throw CorruptionError(file, list_end + 16, "bad manifest flags " + hex(flags));
        if ((flags & flag_cut_unfinished) != 0) {
            // What the writer lists survives the cut: nothing it names may start after it.
            if (m.snapshot > cut || (!m.segments.empty() && m.segments.back() > cut + 1))
                throw CorruptionError(file, list_end + 8,
                                      "manifest cuts the log after LSN " + std::to_string(cut) +
                                          " but keeps files beyond it");
            if ((flags & flag_snapshot_pending) != 0 && m.snapshot == 0)
                throw CorruptionError(file, list_end + 16,
                                      "manifest has a pending snapshot but names none");
            m.cut = cut;
            m.snapshot_pending = (flags & flag_snapshot_pending) != 0;
        }
    }
    return m;
}

std::optional<std::vector<std::byte>> read_manifest_bytes(const std::filesystem::path& dir) {
    // One open: the writer replaces the file by rename, never in place, so this is one version.
    return read_if_exists(dir / manifest_name);
}

void write_manifest(int dir_fd, const std::filesystem::path& dir, const Manifest& manifest) {
    const auto bytes = encode_manifest(manifest);
    replace_durably(dir_fd, dir, dir / manifest_name, bytes);
}

}  // namespace tp::journal::detail
