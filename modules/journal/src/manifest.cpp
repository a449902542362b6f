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
constexpr std::size_t fixed_size = 24;  // magic, version, count, snapshot
constexpr std::size_t crc_size = 4;

}  // namespace

std::vector<std::byte> encode_manifest(const Manifest& m) {
    std::vector<std::byte> out(fixed_size + 8 * m.segments.size() + crc_size);
    std::memcpy(out.data(), manifest_magic, 8);
    put_u32(out.data() + 8, manifest_version);
    put_u32(out.data() + 12, static_cast<std::uint32_t>(m.segments.size()));
    put_u64(out.data() + 16, m.snapshot);
    for (std::size_t i = 0; i < m.segments.size(); ++i)
        put_u64(out.data() + fixed_size + 8 * i, m.segments[i]);
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
    if (get_u32(bytes.data() + 8) != manifest_version)
        throw CorruptionError(
            file, 8, "unsupported manifest version " + std::to_string(get_u32(bytes.data() + 8)));
    const std::uint64_t count = get_u32(bytes.data() + 12);
    if (bytes.size() != fixed_size + 8 * count + crc_size)
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
