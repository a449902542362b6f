#pragma once

#include <cstddef>
#include <span>
#include <string>

#include "tp/auth/guard.hpp"
#include "tp/auth/key.hpp"

namespace tp::auth::fuzz {

// The market the fuzz target opens frames in: peer 2 receives, peer 1 sends, peer 3 is another
// member; one fixed key (the corpus's valid frames are sealed with it).
inline constexpr PeerId sender = 1;
inline constexpr PeerId receiver = 2;
inline constexpr PeerId members[] = {1, 2, 3};
inline Key key() noexcept {
    return Key::derive(0xa17'f022);
}

// The first byte of an input picks the path:
inline constexpr std::byte raw_mode{0};     // the rest is a datagram, opened as it is
inline constexpr std::byte sealed_mode{1};  // the rest is a payload, sealed by peer 1, then opened
                                            // (past the MAC), and damaged by one bit

struct Outcome {
    std::string failure;      // empty when the property holds, else what broke
    bool accepted = false;    // the guard accepted a data frame
    bool decoded = false;     // and its payload decoded as an envelope
    bool later_life = false;  // the guard refused it as later_life and reported that life
};

// The fuzz property, for libFuzzer and the replay test alike. Opening never crashes; a refused
// frame teaches nothing of its sender, and reports a later life only as a later_life refusal,
// above the guard's own; an accepted one is a data or hello frame from a member, whose payload
// lies inside the input, is refused the second time, and decodes to an envelope or an error with
// a message; a sealed payload is accepted unchanged, and no one-bit change of its frame is
// accepted.
Outcome check_open_property(std::span<const std::byte> input);

}  // namespace tp::auth::fuzz
