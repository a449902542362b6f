#include "tp/peer/peer_state.hpp"

#include <array>
#include <cstring>
#include <limits>
#include <string>

#include <fmt/core.h>

#include "tp/journal/crc32c.hpp"
#include "tp/journal/file.hpp"

namespace tp::peer {

namespace {

constexpr std::array<char, 8> magic_v1{'T', 'P', 'S', 'T', 'A', 'T', 'E', '1'};
constexpr std::array<char, 8> magic_v2{'T', 'P', 'S', 'T', 'A', 'T', 'E', '2'};
constexpr std::array<char, 8> magic_v3{'T', 'P', 'S', 'T', 'A', 'T', 'E', '3'};
constexpr std::size_t size_v1 = 16;
constexpr std::size_t size_v2 = 24;
constexpr std::size_t size_v3 = 25;
constexpr std::uint8_t flag_seeded = 1;

std::filesystem::path file_of(const std::filesystem::path& state_dir, std::uint32_t peer) {
    return state_dir / fmt::format("peer-{}.state", peer);
}

[[noreturn]] void fail(const std::filesystem::path& file, const std::string& what) {
    throw PeerStateError(fmt::format("peer state {}: {}", file.string(), what));
}

template <class T>
T get(const std::byte* p) {
    T v = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i)
        v |= static_cast<T>(std::to_integer<T>(p[i]) << (8 * i));
    return v;
}

template <class T>
void put(std::byte* p, T v) {
    for (std::size_t i = 0; i < sizeof(T); ++i) p[i] = static_cast<std::byte>(v >> (8 * i));
}

}  // namespace

PeerState read_peer_state(const std::filesystem::path& state_dir, std::uint32_t peer) {
    const auto file = file_of(state_dir, peer);
    std::optional<std::vector<std::byte>> read;
    try {
        read = journal::read_file_if_exists(file, size_v3 + 1);  // one more: a longer file shows
    } catch (const std::exception& e) {
        fail(file, e.what());
    }
    if (!read) return {};
    const std::vector<std::byte>& b = *read;
    const std::size_t got = b.size();
    // The size tells the version; the magic must agree with it.
    const std::array<char, 8>* magic = got == size_v1   ? &magic_v1
                                       : got == size_v2 ? &magic_v2
                                       : got == size_v3 ? &magic_v3
                                                        : nullptr;
    if (magic == nullptr) {
        fail(file, fmt::format("{} bytes, expected {}, {} or {}: damaged (restore it, or give the "
                               "peer a fresh state directory and its members a new key)",
                               got, size_v1, size_v2, size_v3));
    }
    if (std::memcmp(b.data(), magic->data(), magic->size()) != 0) {
        fail(file, "not a peer state file (bad magic)");
    }
    const std::size_t body = got - 4;
    if (journal::crc32c(std::span<const std::byte>(b.data(), body)) !=
        get<std::uint32_t>(b.data() + body)) {
        fail(file, "checksum mismatch: damaged");
    }
    PeerState state;
    state.incarnation = get<std::uint32_t>(b.data() + 8);
    if (got >= size_v2) state.epoch = get<std::uint64_t>(b.data() + 12);
    if (got == size_v3) {
        const auto flags = std::to_integer<std::uint8_t>(b[20]);
        // A flag this build does not know could mean anything: refuse rather than guess.
        if ((flags & ~flag_seeded) != 0) {
            fail(file, fmt::format("unknown flags {:#04x} (written by a newer build?)", flags));
        }
        state.seeded = (flags & flag_seeded) != 0;
    }
    return state;
}

void write_peer_state(const std::filesystem::path& state_dir, std::uint32_t peer,
                      const PeerState& state) {
    const auto file = file_of(state_dir, peer);
    std::array<std::byte, size_v3> b{};
    std::memcpy(b.data(), magic_v3.data(), magic_v3.size());
    put<std::uint32_t>(b.data() + 8, state.incarnation);
    put<std::uint64_t>(b.data() + 12, state.epoch);
    b[20] = std::byte{state.seeded ? flag_seeded : std::uint8_t{0}};
    put<std::uint32_t>(b.data() + 21, journal::crc32c(std::span<const std::byte>(b.data(), 21)));
    try {
        journal::replace_file_durably(file, b);
    } catch (const std::exception& e) {
        fail(file, e.what());
    }
}

PeerState start_life(const std::filesystem::path& state_dir, std::uint32_t peer) {
    PeerState state = read_peer_state(state_dir, peer);
    if (state.incarnation == std::numeric_limits<std::uint32_t>::max()) {
        fail(file_of(state_dir, peer), "incarnations exhausted");
    }
    ++state.incarnation;
    write_peer_state(state_dir, peer, state);
    return state;
}

}  // namespace tp::peer
