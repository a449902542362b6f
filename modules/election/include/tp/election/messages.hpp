#pragma once

#include <chrono>
#include <cstdint>
#include <limits>
#include <variant>

#include "tp/clock/vector_clock.hpp"

namespace tp::election {

using PeerId = tp::clock::PeerId;

// Durations and instants in nanoseconds. An instant is measured from an origin the driver picks
// (steady_clock's epoch, or zero in simulation); the machine only ever compares and adds them.
using Duration = std::chrono::nanoseconds;
using Time = std::chrono::nanoseconds;

// An epoch names one reign. It packs (term, leader): the term in the high 32 bits and the leader's
// id in the low 32, compared as one integer. A new leader takes the next term after the highest
// epoch it has heard of, so epochs only grow; and because the leader is part of the epoch, two
// peers that both win the same term (a lost Ok under message loss) still claim different epochs,
// and the higher id's is the newer. 0 means "no epoch yet".
using Epoch = std::uint64_t;
using Term = std::uint32_t;

inline constexpr Epoch no_epoch = 0;
// The last term is reserved as invalid so that computing "next term" can never wrap.
inline constexpr Term max_term = std::numeric_limits<Term>::max() - 1;

constexpr Epoch make_epoch(Term term, PeerId leader) noexcept {
    return (static_cast<Epoch>(term) << 32) | leader;
}
constexpr Term epoch_term(Epoch epoch) noexcept {
    return static_cast<Term>(epoch >> 32);
}
constexpr PeerId epoch_leader(Epoch epoch) noexcept {
    return static_cast<PeerId>(epoch);
}

// The election protocol's messages. Sender and receiver travel in the envelope.
struct Election {
    Epoch epoch = no_epoch;  // the highest epoch the candidate has heard of
};
struct Ok {
    Epoch epoch = no_epoch;  // the highest epoch the answering peer has heard of
};
struct Coordinator {
    PeerId leader = 0;
    Epoch epoch = no_epoch;
};
struct Heartbeat {
    PeerId leader = 0;
    Epoch epoch = no_epoch;
};

using Message = std::variant<Election, Ok, Coordinator, Heartbeat>;

// Indexes the variant, so `counters.sent[kind]` and `kind_of` stay in step with it.
enum class MessageKind : std::uint8_t { election, ok, coordinator, heartbeat };
inline constexpr std::size_t message_kinds = std::variant_size_v<Message>;

inline MessageKind kind_of(const Message& message) noexcept {
    return static_cast<MessageKind>(message.index());
}
const char* to_string(MessageKind kind) noexcept;

// A message the driver must send.
struct Outbound {
    PeerId to = 0;
    Message msg;
};

}  // namespace tp::election
