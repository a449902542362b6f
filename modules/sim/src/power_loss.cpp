#include "tp/sim/power_loss.hpp"

#include <algorithm>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace tp::sim {

namespace {

// From tp/journal/log.hpp: a 32-byte segment header, then records framed as
// u32 LE length, u32 LE CRC32C, bytes.
constexpr std::uint64_t segment_header = 32;
constexpr std::uint64_t record_header = 8;

std::vector<unsigned char> read_all(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

std::uint64_t discard_after(const std::filesystem::path& dir, std::uint64_t durable) {
    namespace fs = std::filesystem;
    if (!fs::exists(dir)) return 0;
    // Segments by first LSN: "log-<20 digits>.tpj".
    std::map<std::uint64_t, fs::path> segments;
    for (const auto& entry : fs::directory_iterator(dir)) {
        const std::string name = entry.path().filename().string();
        if (name.size() == 28 && name.rfind("log-", 0) == 0 && name.ends_with(".tpj")) {
            segments.emplace(std::stoull(name.substr(4, 20)), entry.path());
        }
    }
    std::uint64_t discarded = 0;
    for (const auto& [first, path] : segments) {
        const auto bytes = read_all(path);
        std::uint64_t offset = segment_header;
        std::uint64_t lsn = first;
        std::uint64_t cut = bytes.size();
        std::uint64_t records = 0;
        while (offset + record_header <= bytes.size()) {
            const std::uint64_t n =
                std::uint64_t{bytes[offset]} | (std::uint64_t{bytes[offset + 1]} << 8) |
                (std::uint64_t{bytes[offset + 2]} << 16) | (std::uint64_t{bytes[offset + 3]} << 24);
            if (offset + record_header + n > bytes.size()) break;
            if (lsn > durable && cut == bytes.size()) cut = offset;
            if (lsn > durable) ++records;
            offset += record_header + n;
            ++lsn;
        }
        if (first > durable) {
            // Created after the last sync: the whole segment is lost (an empty one stays, so the
            // log still has a segment to append to).
            if (first == durable + 1) {
                fs::resize_file(path, std::min<std::uint64_t>(segment_header, bytes.size()));
            } else {
                fs::remove(path);
            }
        } else if (cut < bytes.size()) {
            fs::resize_file(path, cut);
        }
        discarded += records;
    }
    return discarded;
}

}  // namespace tp::sim
