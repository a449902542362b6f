#include "tp/wire/datagram.hpp"

#include <cstdint>

namespace tp::wire {

namespace {

std::uint64_t le32(const std::byte* p) noexcept {
    return std::uint64_t{std::to_integer<std::uint8_t>(p[0])} |
           std::uint64_t{std::to_integer<std::uint8_t>(p[1])} << 8 |
           std::uint64_t{std::to_integer<std::uint8_t>(p[2])} << 16 |
           std::uint64_t{std::to_integer<std::uint8_t>(p[3])} << 24;
}

}  // namespace

std::size_t first_message_size(std::span<const std::byte> bytes) noexcept {
    // The segment table: (segments - 1), then each segment's size in words, padded to a word.
    constexpr std::uint64_t word = 8;
    if (bytes.size() < word) return 0;
    const std::uint64_t segments = le32(bytes.data()) + 1;
    const std::uint64_t table = (4 + 4 * segments + word - 1) / word * word;
    if (table > bytes.size()) return 0;
    std::uint64_t total = table;
    for (std::uint64_t i = 0; i < segments; ++i) {
        total += le32(bytes.data() + 4 + 4 * i) * word;
        if (total > bytes.size()) return 0;
    }
    return static_cast<std::size_t>(total);
}

}  // namespace tp::wire
