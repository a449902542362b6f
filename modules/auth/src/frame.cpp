#include "tp/auth/frame.hpp"

#include <sodium.h>

#include <cstring>

namespace tp::auth {

namespace {

using State = crypto_generichash_blake2b_state;
static_assert(sizeof(State) <= 416);
static_assert(alignof(State) <= 64);
static_assert(mac_size >= crypto_generichash_blake2b_BYTES_MIN &&
              mac_size <= crypto_generichash_blake2b_BYTES_MAX);
static_assert(Key::size >= crypto_generichash_blake2b_KEYBYTES_MIN &&
              Key::size <= crypto_generichash_blake2b_KEYBYTES_MAX);

template <class T>
void put(std::byte* at, T value) noexcept {
    for (std::size_t i = 0; i < sizeof(T); ++i) at[i] = static_cast<std::byte>(value >> (8 * i));
}

template <class T>
T get(const std::byte* at) noexcept {
    T value = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i)
        value |= static_cast<T>(std::to_integer<T>(at[i]) << (8 * i));
    return value;
}

const unsigned char* uc(const std::byte* p) noexcept {
    return reinterpret_cast<const unsigned char*>(p);
}

}  // namespace

void write_header(const Header& h, std::span<std::byte, header_size> out) noexcept {
    std::byte* p = out.data();
    p[0] = std::byte{frame_version};
    p[1] = static_cast<std::byte>(h.kind);
    p[2] = std::byte{0};
    p[3] = std::byte{0};
    put<std::uint32_t>(p + 4, h.sender);
    put<std::uint32_t>(p + 8, h.receiver);
    put<std::uint32_t>(p + 12, h.sender_incarnation);
    put<std::uint32_t>(p + 16, h.receiver_incarnation);
    put<std::uint64_t>(p + 20, h.sequence);
}

ParseErrc parse_header(std::span<const std::byte> frame, Header& out) noexcept {
    if (frame.size() < frame_overhead) return ParseErrc::too_short;
    const std::byte* p = frame.data();
    if (std::to_integer<std::uint8_t>(p[0]) != frame_version) return ParseErrc::bad_version;
    const auto kind = std::to_integer<std::uint8_t>(p[1]);
    if (kind > static_cast<std::uint8_t>(FrameKind::hello)) return ParseErrc::bad_kind;
    if (p[2] != std::byte{0} || p[3] != std::byte{0}) return ParseErrc::bad_reserved;
    out.kind = static_cast<FrameKind>(kind);
    out.sender = get<std::uint32_t>(p + 4);
    out.receiver = get<std::uint32_t>(p + 8);
    out.sender_incarnation = get<std::uint32_t>(p + 12);
    out.receiver_incarnation = get<std::uint32_t>(p + 16);
    out.sequence = get<std::uint64_t>(p + 20);
    return ParseErrc::ok;
}

Mac::Mac(const Key& key) noexcept {
    State state;
    crypto_generichash_blake2b_init(&state, uc(key.bytes().data()), Key::size, mac_size);
    std::memcpy(state_.data(), &state, sizeof state);
    sodium_memzero(&state, sizeof state);
}

Mac::~Mac() {
    sodium_memzero(state_.data(), state_.size());
}

void Mac::compute(std::span<const std::byte> bytes,
                  std::span<std::byte, mac_size> out) const noexcept {
    // A copy of the keyed state: the key's block is absorbed already.
    State state;
    std::memcpy(&state, state_.data(), sizeof state);
    crypto_generichash_blake2b_update(&state, uc(bytes.data()), bytes.size());
    crypto_generichash_blake2b_final(&state, reinterpret_cast<unsigned char*>(out.data()),
                                     mac_size);
    sodium_memzero(&state, sizeof state);
}

bool Mac::verify(std::span<const std::byte> bytes,
                 std::span<const std::byte, mac_size> mac) const noexcept {
    std::array<std::byte, mac_size> expected;
    compute(bytes, expected);
    return crypto_verify_32(uc(expected.data()), uc(mac.data())) == 0;
}

}  // namespace tp::auth
