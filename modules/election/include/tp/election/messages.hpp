#pragma once

#include <chrono>
#include <cstdint>
#include <limits>
#include <string>
#include <variant>

#include "tp/clock/vector_clock.hpp"

namespace tp::election {

using PeerId = tp::clock::PeerId;

// Durations and instants in nanoseconds. An instant is measured from an origin the driver picks
// (steady_clock's epoch, or zero in simulation); the machine only ever compares and adds them.
using Duration = std::chrono::nanoseconds;
using Time = std::chrono::nanoseconds;

// An epoch names one reign. It packs (term, leader): the term in the high 44 bits and the leader's
// id in the low 20, compared as one integer. A new leader takes the next term after the highest
// epoch it has heard of, so epochs only grow; and because the leader is part of the epoch, two
// peers that both win the same term (a lost Ok under message loss) still claim different epochs,
// and the higher id's is the newer. 0 means "no epoch yet".
//
// Terms cannot be exhausted: a peer accepts an epoch at once only within max_term_step terms of
// the newest reign it has itself led or followed (see Bully), and a peer that follows no leader
// one within max_catch_up_step only from a leader that keeps claiming it; so each reign raises
// the term by at most max_catch_up_step + 1, and the 2^44 terms last at least 2^28 reigns (at ten
// forced reigns a second, ten months of attack by a member that holds the key). docs/election.md
// states the rule and why it is safe.
using Epoch = std::uint64_t;
using Term = std::uint64_t;

inline constexpr unsigned leader_bits = 20;
inline constexpr unsigned term_bits = 64 - leader_bits;
// Peer ids an epoch can name: the configuration refuses larger ones.
inline constexpr PeerId max_peer_id = (PeerId{1} << leader_bits) - 1;

inline constexpr Epoch no_epoch = 0;
// The last term is reserved as invalid so that computing "next term" can never wrap.
inline constexpr Term max_term = (Term{1} << term_bits) - 2;
// How far above its newest reign a peer believes an epoch at once.
inline constexpr Term max_term_step = 1024;
// How far above it a peer without a live leader believes a leader that keeps claiming the same
// epoch for a whole election timeout (a peer that missed many elections catching up); never
// further. 2^16 reigns: a peer away for longer needs its durable epoch floor.
inline constexpr Term max_catch_up_step = Term{1} << 16;

constexpr Epoch make_epoch(Term term, PeerId leader) noexcept {
    return (term << leader_bits) | (leader & max_peer_id);
}
constexpr Term epoch_term(Epoch epoch) noexcept {
    return epoch >> leader_bits;
}
constexpr PeerId epoch_leader(Epoch epoch) noexcept {
    return static_cast<PeerId>(epoch & max_peer_id);
}
// "term:leader", e.g. "3:6": how logs and reports show an epoch.
std::string epoch_text(Epoch epoch);

// The election protocol's messages: the one definition, which the wire carries as it is
// (tp::wire::Body holds these). Sender and receiver travel in the envelope; so does the epoch,
// which must equal the message's own (the wire refuses a mismatch), and a Heartbeat's leader is its
// sender.
struct Election {
    Epoch epoch = no_epoch;  // the highest epoch the candidate has heard of

    friend bool operator==(const Election&, const Election&) = default;
};
struct Ok {
    Epoch epoch = no_epoch;  // the highest epoch the answering peer has heard of

    friend bool operator==(const Ok&, const Ok&) = default;
};
struct Coordinator {
    PeerId leader = 0;
    Epoch epoch = no_epoch;

    friend bool operator==(const Coordinator&, const Coordinator&) = default;
};
struct Heartbeat {
    PeerId leader = 0;
    Epoch epoch = no_epoch;

    friend bool operator==(const Heartbeat&, const Heartbeat&) = default;
};

using Message = std::variant<Election, Ok, Coordinator, Heartbeat>;

// Indexes the variant, so `counters.sent[kind]` and `kind_of` stay in step with it.
enum class MessageKind : std::uint8_t { election, ok, coordinator, heartbeat };
inline constexpr std::size_t message_kinds = std::variant_size_v<Message>;

inline MessageKind kind_of(const Message& message) noexcept {
    return static_cast<MessageKind>(message.index());
}
const char* to_string(MessageKind kind) noexcept;

// The epoch a message carries, whatever its kind.
inline Epoch epoch_of(const Message& message) noexcept {
    return std::visit([](const auto& m) { return m.epoch; }, message);
}

// A message the driver must send.
struct Outbound {
    PeerId to = 0;
    Message msg;
};

}  // namespace tp::election
