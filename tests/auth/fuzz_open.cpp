// libFuzzer target for the authenticated decoder (auth-fuzz, built with -Dfuzzing=true and clang):
// Guard::open, then wire::decode of what it accepts. Also linked into the auth test suite, whose
// replay test runs the same property over tests/auth/corpus.
#include "fuzz_open.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <vector>

#include "tp/wire/codec.hpp"

namespace tp::auth::fuzz {

namespace {

using namespace std::chrono_literals;

std::string check_payload(std::span<const std::byte> payload, Outcome& out) {
    const wire::DecodeResult decoded = wire::decode(payload);
    if (!decoded) {
        if (decoded.error().detail.empty())
            return "decode error without detail: " + decoded.error().message();
        return {};
    }
    out.decoded = true;
    return {};
}

// Opens `frame` in `guard`; checks what an accept or a refusal may do.
std::string open_once(Guard& guard, std::span<const std::byte> frame, Outcome& out,
                      bool& accepted) {
    const auto before = guard.known_incarnation(sender);
    const auto accepted_before = guard.accepted();
    const Guard::Outcome o = guard.open(frame, 1s);
    accepted = o.opened.has_value();
    if (o.later_life &&
        (accepted || o.refusal != Refusal::later_life || *o.later_life <= guard.incarnation()))
        return "reported a later life that is not one";
    out.later_life = out.later_life || o.later_life.has_value();
    if (!accepted) {
        if (guard.accepted() != accepted_before) return "a refused frame counted as accepted";
        if (guard.known_incarnation(sender) != before) return "a refused frame taught a life";
        return {};
    }
    const auto& opened = *o.opened;
    if (opened.from == receiver ||
        std::find(std::begin(members), std::end(members), opened.from) == std::end(members))
        return "accepted a frame from a non-member or from itself";
    if (opened.kind != FrameKind::data && opened.kind != FrameKind::hello)
        return "accepted a frame of an unknown kind";
    const auto* lo = frame.data();
    const auto* hi = frame.data() + frame.size();
    if (!opened.payload.empty() &&
        (opened.payload.data() < lo || opened.payload.data() + opened.payload.size() > hi))
        return "the payload lies outside the frame";
    if (opened.kind == FrameKind::hello && !opened.payload.empty() &&
        opened.payload.size() != hello_payload)
        return "accepted a hello that carries other than nothing or how far it heard";
    if (opened.kind == FrameKind::data) {
        out.accepted = true;
        if (auto broke = check_payload(opened.payload, out); !broke.empty()) return broke;
    }
    // The same frame again is a replay.
    if (guard.open(frame, 2s).opened) return "accepted the same frame twice";
    return {};
}

}  // namespace

Outcome check_open_property(std::span<const std::byte> input) {
    Outcome out;
    if (input.empty()) return out;
    const std::byte mode = input[0];
    const auto rest = input.subspan(1);
    try {
        Guard guard(receiver, 1, members, key());
        bool accepted = false;
        if (mode != sealed_mode) {
            out.failure = open_once(guard, rest, out, accepted);
            return out;
        }
        // Past the MAC: the members' own sender seals the bytes as an envelope's payload.
        Guard peer(sender, 1, members, key());
        std::vector<std::byte> frame(frame_overhead + rest.size());
        std::copy(rest.begin(), rest.end(), frame.begin() + header_size);
        frame.resize(peer.seal(receiver, frame, rest.size()));
        // One bit of the frame, chosen by the input, damaged: never accepted.
        std::vector<std::byte> damaged = frame;
        std::uint64_t pick = rest.size();
        for (std::byte b : rest) pick = pick * 131 + std::to_integer<std::uint64_t>(b);
        const std::uint64_t bit = pick % (damaged.size() * 8);
        damaged[bit / 8] ^= static_cast<std::byte>(1u << (bit % 8));
        bool damaged_accepted = false;
        out.failure = open_once(guard, damaged, out, damaged_accepted);
        if (!out.failure.empty()) return out;
        if (damaged_accepted) {
            out.failure = "accepted a sealed frame with bit " + std::to_string(bit) + " flipped";
            return out;
        }
        out.failure = open_once(guard, frame, out, accepted);
        if (out.failure.empty() && !accepted) out.failure = "refused a frame sealed by a member";
        if (out.failure.empty() && guard.known_incarnation(sender) != 1)
            out.failure = "an accepted frame did not teach its sender's life";
    } catch (const std::exception& e) {
        out.failure = std::string("threw: ") + e.what();
    }
    return out;
}

}  // namespace tp::auth::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto out = tp::auth::fuzz::check_open_property(
        std::span<const std::byte>(reinterpret_cast<const std::byte*>(data), size));
    if (!out.failure.empty()) {
        std::fprintf(stderr, "auth fuzz property violated: %s\n", out.failure.c_str());
        std::abort();
    }
    return 0;
}
