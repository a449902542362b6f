#include "tp/auth/guard.hpp"

#include <algorithm>
#include <cassert>
#include <stdexcept>

#include "tp/mutant/mutant.hpp"

namespace tp::auth {

const char* to_string(Refusal refusal) noexcept {
    switch (refusal) {
        case Refusal::malformed: return "malformed";
        case Refusal::not_for_me: return "not for me";
        case Refusal::unknown_sender: return "unknown sender";
        case Refusal::bad_mac: return "bad MAC";
        case Refusal::replayed: return "replayed";
        case Refusal::too_old: return "too old";
        case Refusal::old_incarnation: return "old incarnation";
        case Refusal::stale_receiver: return "stale receiver";
        case Refusal::later_life: return "later life";
        case Refusal::count_: break;
    }
    return "?";
}

Guard::Guard(PeerId self, std::uint32_t incarnation, std::span<const PeerId> members,
             const Key& key, Time hello_interval)
    : self_(self), incarnation_(incarnation), mac_(key), hello_interval_(hello_interval) {
    assert(incarnation >= 1);
    for (PeerId p : members) {
        if (p != self) {
            Session s;
            s.peer = p;
            sessions_.push_back(s);
        }
    }
    std::sort(sessions_.begin(), sessions_.end(),
              [](const Session& a, const Session& b) { return a.peer < b.peer; });
    sessions_.erase(
        std::unique(sessions_.begin(), sessions_.end(),
                    [](const Session& a, const Session& b) { return a.peer == b.peer; }),
        sessions_.end());
}

void Guard::add_member(PeerId peer) {
    if (peer == self_) return;
    auto it = std::lower_bound(sessions_.begin(), sessions_.end(), peer,
                               [](const Session& s, PeerId p) { return s.peer < p; });
    if (it != sessions_.end() && it->peer == peer) return;
    Session s;
    s.peer = peer;
    // Back after it left: what it sent before stays refused, and ours go on where they stopped.
    const auto gone = std::find_if(forgotten_.begin(), forgotten_.end(),
                                   [peer](const Forgotten& f) { return f.peer == peer; });
    if (gone != forgotten_.end()) {
        s.incarnation = gone->incarnation;
        s.window = ReplayWindow::resumed(gone->window_incarnation, gone->highest);
        s.next_sequence = gone->next_sequence;
        forgotten_.erase(gone);
    }
    sessions_.insert(it, s);
}

void Guard::forget_member(PeerId peer) {
    auto it = std::lower_bound(sessions_.begin(), sessions_.end(), peer,
                               [](const Session& s, PeerId p) { return s.peer < p; });
    if (it == sessions_.end() || it->peer != peer) return;
    if (forgotten_.size() == max_forgotten) forgotten_.pop_front();
    forgotten_.push_back({peer, it->incarnation, it->window.incarnation(), it->window.highest(),
                          it->next_sequence});
    sessions_.erase(it);
}

Guard::Session* Guard::find(PeerId peer) noexcept {
    auto it = std::lower_bound(sessions_.begin(), sessions_.end(), peer,
                               [](const Session& s, PeerId p) { return s.peer < p; });
    return it != sessions_.end() && it->peer == peer ? &*it : nullptr;
}

const Guard::Session* Guard::find(PeerId peer) const noexcept {
    return const_cast<Guard*>(this)->find(peer);
}

std::uint32_t Guard::known_incarnation(PeerId member) const noexcept {
    const Session* s = find(member);
    return s ? s->incarnation : 0;
}

std::size_t Guard::seal(PeerId to, std::span<std::byte> frame, std::size_t payload,
                        FrameKind kind) {
    Session* s = find(to);
    if (s == nullptr) throw std::invalid_argument("auth::Guard::seal: peer is not a member");
    return seal(*s, frame, payload, kind, s->incarnation);
}

std::size_t Guard::seal(Session& s, std::span<std::byte> frame, std::size_t payload,
                        FrameKind kind, std::uint32_t receiver_incarnation) {
    if (frame.size() < frame_overhead + payload) {
        throw std::length_error("auth::Guard::seal: no room for the header and the MAC");
    }
    const Header header{kind, self_, s.peer, incarnation_, receiver_incarnation,
                        s.next_sequence++};
    write_header(header, frame.first<header_size>());
    const std::size_t covered = header_size + payload;
    mac_.compute(frame.first(covered), frame.subspan(covered).first<mac_size>());
    return covered + mac_size;
}

std::size_t Guard::seal_hello(PeerId to, std::span<std::byte> out, bool ask) {
    Session* s = find(to);
    if (s == nullptr) throw std::invalid_argument("auth::Guard::seal: peer is not a member");
    if (out.size() < hello_size) {
        throw std::length_error("auth::Guard::seal_hello: no room for a hello");
    }
    // How far this peer heard the life of `to` it knows: a `to` that has not got that far in that
    // life lost its state.
    const std::uint32_t names = ask ? 0 : s->incarnation;
    const std::uint64_t heard =
        names != 0 && s->window.incarnation() == names ? s->window.highest() : 0;
    for (std::size_t i = 0; i < hello_payload; ++i) {
        out[header_size + i] = static_cast<std::byte>((heard >> (8 * i)) & 0xff);
    }
    return seal(*s, out, hello_payload, FrameKind::hello, names);
}

Guard::Outcome Guard::refuse(Refusal why, PeerId from, std::optional<PeerId> greet) {
    ++refused_[static_cast<std::size_t>(why)];
    Outcome out;
    out.refusal = why;
    out.from = from;
    out.greet = greet;
    return out;
}

bool Guard::greeting_due(Session& session, Time now) {
    if (session.last_greeting && now - *session.last_greeting < hello_interval_) return false;
    session.last_greeting = now;
    return true;
}

Guard::Outcome Guard::open_stranger(std::span<const std::byte> frame) {
    Header h;
    if (parse_header(frame, h) != ParseErrc::ok) return refuse(Refusal::malformed, 0);
    if (h.receiver != self_) return refuse(Refusal::not_for_me, h.sender);
    if (h.kind != FrameKind::data || find(h.sender) != nullptr || h.sender == self_)
        return refuse(Refusal::malformed, h.sender);
    const std::size_t covered = frame.size() - mac_size;
    bool authentic = mac_.verify(frame.first(covered), frame.subspan(covered).first<mac_size>());
    if (TP_MUTANT(skip_mac_check)) authentic = true;
    if (!authentic) return refuse(Refusal::bad_mac, h.sender);
    ++accepted_;
    Outcome out;
    out.opened = Opened{h.sender, h.kind, frame.subspan(header_size, covered - header_size)};
    out.from = h.sender;
    return out;
}

Guard::Outcome Guard::open(std::span<const std::byte> frame, Time now) {
    Header h;
    if (parse_header(frame, h) != ParseErrc::ok) return refuse(Refusal::malformed, 0);
    if (h.receiver != self_) return refuse(Refusal::not_for_me, h.sender);
    Session* s = find(h.sender);
    if (s == nullptr) return refuse(Refusal::unknown_sender, h.sender);
    const std::size_t covered = frame.size() - mac_size;
    const std::size_t payload = covered - header_size;
    if (h.kind == FrameKind::hello && payload != 0 && payload != hello_payload) {
        return refuse(Refusal::malformed, h.sender);
    }
    bool authentic = mac_.verify(frame.first(covered), frame.subspan(covered).first<mac_size>());
    if (TP_MUTANT(skip_mac_check)) authentic = true;  // anyone may speak for any member
    if (!authentic) return refuse(Refusal::bad_mac, h.sender);
    // Authenticated from here on: the header is what the sender wrote (or replays of it).
    const auto verdict = s->window.check(h.sender_incarnation, h.sequence);
    switch (verdict) {
        case ReplayWindow::Verdict::fresh: break;
        case ReplayWindow::Verdict::replayed:
        case ReplayWindow::Verdict::too_old:
        case ReplayWindow::Verdict::zero_sequence: {
            // A replay, or the sender's life restarted without its state: the hello says how far
            // this life was heard, which only the latter has not reached.
            std::optional<PeerId> greet;
            if (h.sender_incarnation == s->window.incarnation() && greeting_due(*s, now))
                greet = h.sender;
            return refuse(verdict == ReplayWindow::Verdict::replayed ? Refusal::replayed
                                                                     : Refusal::too_old,
                          h.sender, greet);
        }
        case ReplayWindow::Verdict::old_incarnation: {
            // The sender may have lost its state and not know its later life: the hello names
            // the life known here. Rate-limited, as a recording of an earlier life gets here too.
            std::optional<PeerId> greet;
            if (greeting_due(*s, now)) greet = h.sender;
            return refuse(Refusal::old_incarnation, h.sender, greet);
        }
    }
    if (h.receiver_incarnation > incarnation_) {
        // Only a member that knew a later life of this peer seals this, so this peer lost its
        // state. The window is left alone (a refused frame teaches nothing of its sender), so
        // replays get here too: only news is reported, once.
        Outcome out = refuse(Refusal::later_life, h.sender);
        if (h.receiver_incarnation > later_life_seen_) {
            later_life_seen_ = h.receiver_incarnation;
            out.later_life = later_life_seen_;
        }
        return out;
    }
    if (h.kind == FrameKind::hello && payload == hello_payload &&
        h.receiver_incarnation == incarnation_) {
        std::uint64_t heard = 0;
        for (std::size_t i = 0; i < hello_payload; ++i) {
            heard |= std::uint64_t{std::to_integer<std::uint8_t>(frame[header_size + i])} << (8 * i);
        }
        if (heard >= s->next_sequence) {
            // The member accepted a sequence of this life that this peer has not sent: this life
            // restarted without its state. It continues as the next life, as after a later one.
            Outcome out = refuse(Refusal::later_life, h.sender);
            if (incarnation_ > later_life_seen_) {
                later_life_seen_ = incarnation_;
                out.later_life = incarnation_;
            }
            return out;
        }
    }
    const bool knows_me = h.receiver_incarnation == incarnation_ ||
                          (h.receiver_incarnation == 0 && incarnation_ == 1);
    // A hello that names no life of this peer (one from a peer starting without durable state
    // names none) is answered too: the answer says how far the sender's life was heard here,
    // which tells a peer whose disk was lost before it sends any data into its earlier life's
    // window.
    const bool answer = !knows_me || (h.kind == FrameKind::hello && h.receiver_incarnation == 0);
    std::optional<PeerId> greet;
    if (answer && greeting_due(*s, now)) greet = h.sender;
    if (!knows_me && h.kind == FrameKind::data) {
        return refuse(Refusal::stale_receiver, h.sender, greet);
    }
    // A hello carries nothing that acts; one that does not know this life is still news of the
    // sender's, and gets a hello back.
    s->window.accept(h.sender_incarnation, h.sequence);
    s->incarnation = std::max(s->incarnation, h.sender_incarnation);
    ++accepted_;
    Outcome out;
    out.opened = Opened{h.sender, h.kind, frame.subspan(header_size, covered - header_size)};
    out.from = h.sender;
    out.greet = greet;
    return out;
}

}  // namespace tp::auth
