#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <vector>

#include "tp/auth/frame.hpp"
#include "tp/auth/replay_window.hpp"

namespace tp::auth {

// Why a datagram was refused. New reasons go before `count_`.
enum class Refusal : std::uint8_t {
    malformed,        // too short, or not a version-1 header
    not_for_me,       // names another receiver
    unknown_sender,   // names a sender that is not a member
    bad_mac,          // the MAC does not verify: forged, damaged, or another key
    replayed,         // accepted before
    too_old,          // below the replay window
    old_incarnation,  // from an earlier life of its sender
    stale_receiver,   // made for an earlier life of this peer (or by a sender that does not
                      // know this life yet): possibly captured before a restart
    later_life,       // made for a later life of this peer: it lost its durable state
    count_,
};
inline constexpr std::size_t refusal_count = static_cast<std::size_t>(Refusal::count_);
const char* to_string(Refusal refusal) noexcept;

// One peer's end of the authenticated protocol, sans-IO (no clock, no socket): seals what it
// sends, opens what it receives, and keeps per member the sequence it sends with, the life it
// knows the member is in, and the member's replay window.
//
// Lives: each peer has an incarnation that grows across its restarts (durable peer state). A
// datagram names both ends' incarnations. A receiver refuses one made for an earlier life of its
// own, since it may be a recording from before a restart, when the windows were lost with the
// memory. A sender learns a member's incarnation from any datagram the member sends it. A peer
// in its first life (incarnation 1) accepts "not known yet" (0): there is no earlier life a
// recording could come from. Otherwise the sender has to learn first: a peer that restarts greets
// every member with a hello, and a peer that refuses a datagram as stale_receiver (or gets a
// hello that does not know its life) answers with a hello, at most once per `hello_interval` per
// member. Retries do the rest.
//
// A peer whose state directory was lost starts again at an earlier life than its members know,
// or at the same life if it lost it in its first one.
// A member refuses its frames as old_incarnation and answers with a hello, which names the life
// it knows (rate-limited as above). An authenticated frame naming a life of this peer above its
// own is refused as later_life and reported: the driver records that life and restarts the peer
// as the next one. In the same life, its frames are refused as replayed or too old, and the
// member answers with a hello (rate-limited as above) that carries the highest sequence it
// accepted from that life: a peer that has not sent that sequence yet is that life restarted
// without its state, and is told so the same way (later_life, naming its own life). Only a frame
// with a valid MAC can report it, and only news is reported (a life above any this Guard was told
// of, or this life once), so a replay changes nothing: a live peer has sent every sequence a
// member accepted.
class Guard {
public:
    using Time = std::chrono::nanoseconds;

    // `members`: every peer of the market (self may be among them); `incarnation` >= 1.
    Guard(PeerId self, std::uint32_t incarnation, std::span<const PeerId> members, const Key& key,
          Time hello_interval = std::chrono::milliseconds(100));

    PeerId self() const noexcept { return self_; }
    std::uint32_t incarnation() const noexcept { return incarnation_; }
    // A peer that joined the market (issue 18): its frames are checked like any member's from now
    // on, its life not known yet. Adding self or a member already known changes nothing.
    void add_member(PeerId peer);
    bool is_member(PeerId peer) const noexcept { return find(peer) != nullptr; }
    // A peer that left the market: its session goes, so a market that peers join and leave for
    // hours keeps sessions for its members only. Kept is what refuses the frames it sent before,
    // should it be added again: its life, the highest sequence accepted from it, and ours to it
    // (for the last max_forgotten peers forgotten; an older one added again starts afresh).
    // Forgetting self or a peer that is no member changes nothing.
    void forget_member(PeerId peer);
    static constexpr std::size_t max_forgotten = 4096;
    std::size_t sessions() const noexcept { return sessions_.size(); }
    std::size_t forgotten() const noexcept { return forgotten_.size(); }

    // Seals a frame in place: `frame` holds the payload at [header_size, header_size + payload)
    // and room for the MAC after it. Writes the header and the MAC; returns the frame's size.
    // Throws std::invalid_argument unless `to` is a member other than self, std::length_error if
    // `frame` has no room for the header, the payload and the MAC.
    std::size_t seal(PeerId to, std::span<std::byte> frame, std::size_t payload,
                     FrameKind kind = FrameKind::data);
    // A hello for `to` in `out` (at least hello_size bytes); returns its size. It carries the
    // highest sequence accepted here from the life of `to` it names. `ask`: it names no life of
    // `to`, which `to` answers with a hello of its own (rate-limited) whatever it knows.
    std::size_t seal_hello(PeerId to, std::span<std::byte> out, bool ask = false);

    struct Opened {
        PeerId from = 0;
        FrameKind kind = FrameKind::data;
        std::span<const std::byte> payload;  // inside the frame given to open()
    };
    struct Outcome {
        std::optional<Opened> opened;  // set when accepted
        Refusal refusal = Refusal::malformed;
        PeerId from =
            0;  // the header's sender (0 when it did not parse); unauthenticated if refused
        // Send this member a hello now (it does not know this peer's life, or this peer is in
        // an earlier life than it knows of the member).
        std::optional<PeerId> greet;
        // A later life of this peer, first told by this frame: this peer lost its durable state
        // and has to continue after that life (refusal later_life).
        std::optional<std::uint32_t> later_life;
    };
    // Checks a received frame, in this order: shape, receiver, sender, MAC, then (authenticated)
    // the replay window and lives. Only an accepted frame changes what is known of a member.
    Outcome open(std::span<const std::byte> frame, Time now);

    // Issue 18: a data frame from a peer that is not a member (a newcomer's Join): shape, receiver
    // and MAC are checked, nothing else (it has no session, so no replay window: what it may
    // carry, a Join, is idempotent). A member's frame, or a hello, is refused here as malformed:
    // those go through open().
    Outcome open_stranger(std::span<const std::byte> frame);

    // The highest later life of this peer that an authenticated frame named (0: none).
    std::uint32_t later_life_seen() const noexcept { return later_life_seen_; }

    // The incarnation known for `member` (0: not known).
    std::uint32_t known_incarnation(PeerId member) const noexcept;

    const std::array<std::uint64_t, refusal_count>& refused() const noexcept { return refused_; }
    std::uint64_t accepted() const noexcept { return accepted_; }

private:
    struct Session {
        PeerId peer = 0;
        std::uint64_t next_sequence = 1;    // ours, to it
        std::uint32_t incarnation = 0;      // its, as known
        ReplayWindow window;                // its, to us
        std::optional<Time> last_greeting;  // when we last sent it an unasked hello
    };
    Session* find(PeerId peer) noexcept;
    const Session* find(PeerId peer) const noexcept;
    std::size_t seal(Session& to, std::span<std::byte> frame, std::size_t payload, FrameKind kind,
                     std::uint32_t receiver_incarnation);
    Outcome refuse(Refusal why, PeerId from, std::optional<PeerId> greet = std::nullopt);
    bool greeting_due(Session& session, Time now);

    PeerId self_;
    std::uint32_t incarnation_;
    Mac mac_;
    Time hello_interval_;
    std::vector<Session> sessions_;  // sorted by peer
    struct Forgotten {
        PeerId peer = 0;
        std::uint32_t incarnation = 0;         // its life, as known
        std::uint32_t window_incarnation = 0;  // its life its accepted frames came from
        std::uint64_t highest = 0;             // the highest sequence accepted from that life
        std::uint64_t next_sequence = 1;       // ours, to it
    };
    std::deque<Forgotten> forgotten_;  // oldest first
    std::array<std::uint64_t, refusal_count> refused_{};
    std::uint64_t accepted_ = 0;
    std::uint32_t later_life_seen_ = 0;
};

}  // namespace tp::auth
