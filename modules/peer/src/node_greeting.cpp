// The node's side of authentication: opening members' frames, hellos, and the greeting a peer
// without durable state holds its messages for.

#include <fmt/core.h>

#include <algorithm>

#include "node_reign.hpp"
#include "tp/peer/node.hpp"

namespace tp::peer {

bool Node::send_hello(PeerId to, bool ask) {
    if (stopped_ || !guard_ || to == id()) return true;
    if (!guard_->is_member(to)) {
        // A peer this one holds no session for (it was forgotten meanwhile): nothing to greet.
        log_->debug("no hello for peer {}: not a member this peer knows", to);
        return true;
    }
    std::vector<std::byte> buffer = take_pooled(send_buffers_);
    buffer.resize(auth::hello_size);
    const std::size_t size = guard_->seal_hello(to, buffer, ask);
    ++core_.counters().hellos_sent;
    std::vector<std::vector<std::byte>> buffers = take_pooled(send_batches_);
    std::vector<transport::Outgoing> outgoing = take_pooled(outgoing_pool_);
    outgoing.push_back({to, std::span<const std::byte>(buffer.data(), size)});
    buffers.push_back(std::move(buffer));
    const bool all_sent = hand_on(outgoing, buffers);
    send_batches_.push_back(std::move(buffers));
    outgoing_pool_.push_back(std::move(outgoing));
    return all_sent;
}

bool Node::greet(std::span<const PeerId> members, bool ask) {
    bool all_sent = true;
    for (PeerId p : members) all_sent = send_hello(p, ask) && all_sent;
    return all_sent;
}

bool Node::greet_before_speaking() {
    // A first life may be a peer whose disk was lost: its members know an earlier life 1, and
    // their replay windows have gaps (what they never got of it) that its sequences would fill
    // unnoticed. A member answers a hello that names none of its lives with how far it heard
    // this peer, which tells it (open(): later_life); until a member's hello is in, what goes to
    // that member is held. Bounded: one that is down or cut off gets it after the election
    // timeout, as it would have without the wait.
    for (PeerId p : core_.members()) {
        if (p != id()) unheard_.push_back(p);
    }
    greeting_until_ = now() + config_.election.election_timeout;
    next_greeting_ = now() + config_.election.heartbeat_interval;
    return greet(unheard_, true);
}

bool Node::hold_for_greeting(const wire::Envelope& envelope, bool& all_sent) {
    if (std::find(unheard_.begin(), unheard_.end(), envelope.receiver) == unheard_.end())
        return false;
    // More than a greeting's worth of messages (to the silent members together) are lost, as
    // the network would lose them: the cores send again.
    constexpr std::size_t max_held = 1024;
    if (held_.size() < max_held) held_.push_back(envelope);
    all_sent = end_greeting_if_due() && all_sent;
    return true;
}

bool Node::end_greeting_if_due() {
    if (unheard_.empty()) return true;
    // Also for a member nothing more is sent to: the timer loop looks at each of its wakes (the
    // core's deadlines: heartbeats, answer and election timeouts).
    if (now() >= greeting_until_) return release_held(true);
    if (now() < next_greeting_) return true;
    // A hello or its answer may have been lost. Ask: a hello that named the member's life
    // (learnt from its data meanwhile) would be news to it, not a question.
    next_greeting_ = now() + config_.election.heartbeat_interval;
    return greet(unheard_, true);
}

bool Node::release_held(bool everything) {
    if (everything) {
        core_.counters().greetings_unanswered += unheard_.size();
        unheard_.clear();
    }
    std::vector<wire::Envelope> going;
    std::erase_if(held_, [&](wire::Envelope& e) {
        if (std::find(unheard_.begin(), unheard_.end(), e.receiver) != unheard_.end())
            return false;
        going.push_back(std::move(e));
        return true;
    });
    return going.empty() || send(going);
}

std::optional<std::span<const std::byte>> Node::open(std::span<const std::byte> frame, PeerId from,
                                                     std::optional<PeerId>& greet) {
    const auto out = guard_->open(frame, core_now());
    greet = out.greet;
    if (out.opened) {
        if (out.opened->kind == auth::FrameKind::hello) {
            // Its hello says how far it heard this life (no later one): what waits for it goes.
            if (std::erase(unheard_, out.from) > 0) heard_greeting_ = true;
            return std::nullopt;
        }
        return out.opened->payload;
    }
    ++core_.counters().auth_refused[static_cast<std::size_t>(out.refusal)];
    switch (out.refusal) {
        case auth::Refusal::stale_receiver:
            // Routine after this peer restarts: the sender learns this life from the hello.
            break;
        case auth::Refusal::bad_mac:
            dropped(DropKind::bad_mac, from,
                    "it fails authentication (forged, damaged or another key)");
            break;
        case auth::Refusal::replayed:
        case auth::Refusal::too_old:
        case auth::Refusal::old_incarnation:
            dropped(
                DropKind::replay, from,
                fmt::format("peer {}'s datagram is {}", out.from, auth::to_string(out.refusal)));
            break;
        case auth::Refusal::later_life:
            // This peer's state was lost: a member knows a later life of it. Until the driver
            // restarts it as the next life, the members refuse what it sends.
            if (out.later_life && context_.on_later_life) {
                if (*out.later_life == core_.incarnation()) {
                    log_->warn(
                        "peer {} heard more of this life ({}) than it has said: its durable state "
                        "was lost; it starts again as the next life",
                        out.from, *out.later_life);
                } else {
                    log_->warn(
                        "peer {} knows a later life of this peer ({}, this is {}): its durable "
                        "state was lost; it starts again as the next life",
                        out.from, *out.later_life, core_.incarnation());
                }
                context_.on_later_life(id(), *out.later_life);
            } else if (out.later_life) {
                log_->error(
                    "peer {} knows a later life of this peer ({}, this is {}): its durable state "
                    "was lost; restart it to take part again",
                    out.from, *out.later_life, core_.incarnation());
            }
            break;
        case auth::Refusal::malformed:
        case auth::Refusal::not_for_me:
        case auth::Refusal::unknown_sender:
        case auth::Refusal::count_:
            dropped(DropKind::malformed, from,
                    fmt::format("not an authenticated datagram for this peer: {}",
                                auth::to_string(out.refusal)));
            break;
    }
    return std::nullopt;
}

}  // namespace tp::peer
