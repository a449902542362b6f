#include "packed_clock.hpp"

namespace tp::wire::packed {

namespace {

constexpr std::size_t varint_size(std::uint64_t v) noexcept {
    std::size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        ++n;
    }
    return n;
}

std::byte* put_varint(std::uint64_t v, std::byte* out) noexcept {
    while (v >= 0x80) {
        *out++ = static_cast<std::byte>((v & 0x7F) | 0x80);
        v >>= 7;
    }
    *out++ = static_cast<std::byte>(v);
    return out;
}

// Reads one minimal varint of at most `max_bytes` bytes at `at`; false when it runs past the end,
// is longer than `max_bytes` or ends in a needless zero byte.
bool get_varint(std::span<const std::byte> bytes, std::size_t& at, std::size_t max_bytes,
                std::uint64_t& v) noexcept {
    v = 0;
    for (std::size_t i = 0; i < max_bytes && at < bytes.size(); ++i) {
        const auto b = std::to_integer<std::uint8_t>(bytes[at++]);
        v |= std::uint64_t{b & 0x7Fu} << (7 * i);
        if ((b & 0x80) == 0) return b != 0 || i == 0;
    }
    return false;
}

std::string num(std::uint64_t v) { return std::to_string(v); }

}  // namespace

std::size_t size(std::span<const tp::clock::Entry> entries) noexcept {
    std::size_t n = 0;
    std::uint64_t next = 0;  // the lowest peer the next entry may name
    for (const auto& e : entries) {
        n += varint_size(e.peer - next) + varint_size(e.counter);
        next = std::uint64_t{e.peer} + 1;
    }
    return n;
}

void write(std::span<const tp::clock::Entry> entries, std::byte* out) noexcept {
    std::uint64_t next = 0;
    for (const auto& e : entries) {
        out = put_varint(e.peer - next, out);
        out = put_varint(e.counter, out);
        next = std::uint64_t{e.peer} + 1;
    }
}

Unpacked read(std::span<const std::byte> bytes, std::size_t limit, std::uint64_t max_counter,
              tp::clock::Entry* out) {
    Unpacked r;
    std::uint64_t next = 0;
    std::size_t at = 0;
    while (at < bytes.size()) {
        const std::size_t i = r.count;
        if (i == limit) {
            r.fault = Fault{Fault::Kind::too_many, "clock: more than " + num(limit) + " entries"};
            return r;
        }
        const std::size_t start = at;
        std::uint64_t gap = 0;
        std::uint64_t counter = 0;
        // Five bytes hold any 32-bit gap (and nothing that overflows `next + gap`).
        if (!get_varint(bytes, at, 5, gap)) {
            r.fault = Fault{Fault::Kind::malformed, "clock[" + num(i) + "]: bad peer varint at byte " +
                                                        num(start) + " of " + num(bytes.size())};
            return r;
        }
        const std::uint64_t peer = next + gap;
        if (peer > UINT32_MAX) {
            r.fault = Fault{Fault::Kind::malformed,
                            "clock[" + num(i) + "]: peer " + num(peer) + " is beyond 32 bits"};
            return r;
        }
        const std::size_t counter_at = at;
        // No more bytes than max_counter needs: a longer varint could only overflow.
        if (!get_varint(bytes, at, varint_size(max_counter), counter)) {
            r.fault = Fault{Fault::Kind::malformed, "clock[" + num(i) + "]: peer " + num(peer) +
                                                        ": bad counter varint at byte " +
                                                        num(counter_at) + " of " +
                                                        num(bytes.size())};
            return r;
        }
        if (counter == 0) {
            r.fault = Fault{Fault::Kind::malformed,
                            "clock[" + num(i) + "]: peer " + num(peer) + " has counter 0"};
            return r;
        }
        if (counter > max_counter) {
            r.fault = Fault{Fault::Kind::malformed, "clock[" + num(i) + "]: peer " + num(peer) +
                                                        " has counter " + num(counter) +
                                                        ", limit " + num(max_counter)};
            return r;
        }
        out[i] = {static_cast<tp::clock::PeerId>(peer), counter};
        ++r.count;
        next = peer + 1;
    }
    return r;
}

}  // namespace tp::wire::packed
