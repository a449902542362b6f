#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "tp/journal/crc32c.hpp"
#include "tp/journal/log.hpp"

namespace journal_test {

namespace fs = std::filesystem;

// A fresh directory under the system temp dir, removed with everything in it at scope exit.
class TempDir {
public:
    TempDir() {
        std::string pattern = (fs::temp_directory_path() / "tp-journal-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        path_ = pattern;
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const fs::path& path() const { return path_; }
    fs::path operator/(const std::string& name) const { return path_ / name; }

private:
    fs::path path_;
};

inline std::vector<std::byte> bytes_of(std::string_view s) {
    const auto* p = reinterpret_cast<const std::byte*>(s.data());
    return {p, p + s.size()};
}

inline bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

inline std::string text_of(const std::vector<std::byte>& b) {
    return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// The payload the tests append as record number `i`: varying lengths, recognizable content.
inline std::string payload(std::uint64_t i) {
    return "record-" + std::to_string(i) + std::string(i % 23, static_cast<char>('a' + i % 26));
}

inline std::vector<std::byte> read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::vector<char> c((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto* b = reinterpret_cast<const std::byte*>(c.data());
    return {b, b + c.size()};
}

inline void write_file(const fs::path& p, const std::vector<std::byte>& bytes) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
}

// Files in `dir` whose names start with `prefix`, sorted.
inline std::vector<fs::path> files_with_prefix(const fs::path& dir, std::string_view prefix) {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.path().filename().string().starts_with(prefix)) out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
}

inline std::vector<fs::path> segments(const fs::path& dir) {
    return files_with_prefix(dir, "log-");
}

// Asserts are done by the callers; this just lists what recovery returned.
inline std::vector<std::string> texts(const tp::journal::Recovery& r) {
    std::vector<std::string> out;
    for (const auto& rec : r.records) out.push_back(text_of(rec.bytes));
    return out;
}

inline std::vector<std::string> expected_payloads(std::uint64_t from, std::uint64_t to) {
    std::vector<std::string> out;
    for (std::uint64_t i = from; i <= to; ++i) out.push_back(payload(i));
    return out;
}

// Every regular file in `dir` by name, with its bytes: two equal states mean nothing was
// created, removed, truncated, renamed or rewritten in between.
using DirState = std::map<std::string, std::vector<std::byte>>;
inline DirState dir_state(const fs::path& dir) {
    DirState out;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.is_regular_file()) out[e.path().filename().string()] = read_file(e.path());
    return out;
}

// The first LSN a segment's file name gives.
inline tp::journal::Lsn first_lsn_of(const fs::path& segment) {
    return std::stoull(segment.filename().string().substr(4, 20));
}

inline void put_le(std::vector<std::byte>& b, std::size_t at, std::uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) b.at(at + i) = static_cast<std::byte>(v >> (8 * i));
}

// Rewrites the directory as the version before the manifest wrote it (docs/journal.md): no
// MANIFEST, format version 1 in every segment and snapshot header, checksums to match.
inline void make_legacy(const fs::path& dir) {
    fs::remove(dir / "MANIFEST");
    for (const auto& seg : files_with_prefix(dir, "log-")) {
        auto b = read_file(seg);
        put_le(b, 8, 1, 4);
        put_le(b, 24, tp::journal::crc32c(std::span<const std::byte>(b).first(24)), 4);
        write_file(seg, b);
    }
    for (const auto& snap : files_with_prefix(dir, "snapshot-")) {
        auto b = read_file(snap);
        put_le(b, 8, 1, 4);
        const std::span<const std::byte> all(b);
        put_le(b, 32, tp::journal::crc32c(all.subspan(40), tp::journal::crc32c(all.first(32))), 4);
        write_file(snap, b);
    }
}

// A complete segment that holds no record yet, as create_segment() renames it into place.
inline fs::path write_empty_segment(const fs::path& dir, tp::journal::Lsn first) {
    std::vector<std::byte> b(32);
    const char magic[8] = {'T', 'P', 'J', 'L', 'O', 'G', '\r', '\n'};
    for (int i = 0; i < 8; ++i) b[i] = static_cast<std::byte>(magic[i]);
    put_le(b, 8, 2, 4);
    put_le(b, 16, first, 8);
    put_le(b, 24, tp::journal::crc32c(std::span<const std::byte>(b).first(24)), 4);
    char name[64];
    std::snprintf(name, sizeof name, "log-%020llu.tpj", static_cast<unsigned long long>(first));
    write_file(dir / name, b);
    return dir / name;
}

}  // namespace journal_test
