#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace tp::auth {

// One sender's anti-replay state at one receiver, as IPsec's (RFC 4303, 3.4.3) but keyed by
// (incarnation, sequence): the highest sequence accepted in the sender's newest incarnation and a
// bitmap of the `width` sequences up to it. A datagram is fresh when it is from a newer
// incarnation, or from the current one and either above the highest or inside the window and not
// seen. So any reordering of up to `width` datagrams (of this sender to this receiver) is
// tolerated; older ones are refused as too old, even if never delivered.
class ReplayWindow {
public:
    static constexpr std::uint64_t width = 1024;

    enum class Verdict : std::uint8_t {
        fresh,
        replayed,         // this (incarnation, sequence) was accepted before
        too_old,          // more than `width` below the highest accepted
        old_incarnation,  // from an earlier life of the sender
        zero_sequence,    // sequences start at 1
    };

    // Whether a datagram would be accepted; changes nothing. Call it only after the MAC checked,
    // then accept() what you keep: an unauthenticated datagram must never move the window.
    Verdict check(std::uint32_t incarnation, std::uint64_t sequence) const noexcept;
    // Marks a fresh datagram seen (a newer incarnation starts a new window).
    void accept(std::uint32_t incarnation, std::uint64_t sequence) noexcept;

    // A window that takes nothing at or below `highest` of `incarnation`: what a receiver keeps of
    // a sender it forgot (Guard::forget_member) is enough to refuse what it accepted before.
    static ReplayWindow resumed(std::uint32_t incarnation, std::uint64_t highest) noexcept;

    std::uint32_t incarnation() const noexcept { return incarnation_; }
    std::uint64_t highest() const noexcept { return highest_; }

private:
    bool seen(std::uint64_t sequence) const noexcept;

    std::uint32_t incarnation_ = 0;
    std::uint64_t highest_ = 0;
    std::array<std::uint64_t, width / 64>
        bits_{};  // bit (s % width) for s in (highest - width, highest]
};

const char* to_string(ReplayWindow::Verdict verdict) noexcept;

}  // namespace tp::auth
