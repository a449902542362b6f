// A peer's side of membership (issue 18): a newcomer asks to join and takes the membership it is
// given; a member points a newcomer to the trader and follows the trader's Members updates. The
// trader's answers come from its books, once durable (Trader).
#include <fmt/core.h>

#include <algorithm>
#include <utility>

#include "tp/mutant/mutant.hpp"
#include "tp/peer/peer_core.hpp"
#include "translate.hpp"

namespace tp::peer {

bool PeerCore::on_membership_message(PeerId from, const wire::Envelope& envelope, Time now) {
    const auto& body = envelope.body;
    if (const auto* join = std::get_if<wire::Join>(&body)) {
        // Where to answer a stranger; a member's address is never replaced.
        if (!std::binary_search(members_.begin(), members_.end(), from)) {
            add_guest(wire::MemberInfo{from, join->buys, join->sells, false, join->host, join->port},
                      now);
        }
        if (trader_) return false;  // a record of the trader's
        wire::JoinAnswer answer{wire::MembershipRefusal::trader_unavailable, 0, {}};
        if (const auto leader = bully_.leader(); leader && *leader != self_ && !loading_) {
            answer.reason = wire::MembershipRefusal::not_trader;
            answer.trader = *leader;
            const auto known = std::find_if(view_.begin(), view_.end(),
                                            [&](const auto& m) { return m.id == *leader; });
            if (known != view_.end()) answer.members.push_back(*known);
        }
        push(scratch_, from, std::move(answer));
        return true;
    }
    if (const auto* leave = std::get_if<wire::Leave>(&body)) {
        // A leaver this peer does not list (its leave took effect, or this peer never heard of
        // it): answered where it says it listens, like a newcomer.
        if (!std::binary_search(members_.begin(), members_.end(), from)) {
            add_guest(wire::MemberInfo{from, false, false, false, leave->host, leave->port}, now);
        }
        if (trader_ && replica_ && std::binary_search(replica_->voters().begin(),
                                                      replica_->voters().end(), from) &&
            !replica_->can_change() && !TP_MUTANT(two_changes_at_once)) {
            // A replica's leave changes the replica set, one change at a time: held back until
            // the previous one is committed, and asked again at the leaver's retry.
            push(scratch_, from, wire::LeaveAnswer{wire::MembershipRefusal::trader_unavailable, 0, {}});
            return true;
        }
        if (trader_ || loading_) return false;  // the trader's
        // Not the trader: name the one this peer follows. A leaver whose leave committed but
        // whose answer was lost is no member of the next trader's, hears nothing from it, and
        // asks the members in turn to find it.
        wire::LeaveAnswer answer{wire::MembershipRefusal::not_trader, 0, {}};
        if (const auto leader = bully_.leader(); leader && *leader != self_) {
            answer.trader = *leader;
            const auto known = std::find_if(view_.begin(), view_.end(),
                                            [&](const auto& m) { return m.id == *leader; });
            if (known != view_.end()) answer.members.push_back(*known);
        }
        push(scratch_, from, std::move(answer));
        return true;
    }
    if (const auto* answer = std::get_if<wire::JoinAnswer>(&body)) {
        if ((!joining_ && !asking_members_) || from != join_to_) {
            ++counters_.wrong_role;
            dropped(DropKind::wrong_role, from, "a join answer this peer did not ask it for", now);
            return true;
        }
        on_join_answer(from, *answer, now);
        return true;
    }
    if (const auto* answer = std::get_if<wire::LeaveAnswer>(&body)) {
        if (answer->reason == wire::MembershipRefusal::not_trader) {
            // A member that is not the trader names the one it follows: asked next, at once.
            // The leaver may not list it (a newcomer promoted since): its entry says where.
            const PeerId trader = answer->trader;
            if (!leaving_ || trader == 0 || trader == self_ || leave_to_ == trader) return true;
            const bool listed = std::binary_search(members_.begin(), members_.end(), trader);
            const auto entry =
                std::find_if(answer->members.begin(), answer->members.end(),
                             [&](const auto& m) { return m.id == trader && !m.host.empty(); });
            if (!listed && entry == answer->members.end()) return true;
            if (!listed) add_guest(*entry, now);
            leave_to_ = trader;
            push(scratch_, trader, leave_message());
            stamp_all(scratch_);
            return true;
        }
        // The trader's, or a newer one's (an epoch names its leader): a trader that took the
        // leave over from a failed one tells a peer that, no longer a member, never learns it.
        const bool trader = bully_.leader() == from || leave_to_ == from ||
                            (envelope.epoch > bully_.epoch() &&
                             election::epoch_leader(envelope.epoch) == from &&
                             bully_.plausible(envelope.epoch));
        if (!leaving_ || !trader) {
            ++counters_.wrong_role;
            dropped(DropKind::wrong_role, from, "a leave answer not from the trader", now);
        } else if (answer->reason == wire::MembershipRefusal::none ||
                   answer->reason == wire::MembershipRefusal::not_a_member) {
            // not_a_member: it left already, and that answer was lost.
            leaving_.reset();
            left_ = true;
            log_.info("left the market");
        } else {
            // payments_pending: asked again at the next retry, once they are settled.
            log_.info("the trader holds the leave back: {}", wire::to_string(answer->reason));
        }
        return true;
    }
    if (const auto* update = std::get_if<wire::Members>(&body)) {
        // Only the current trader's, in its reign, and only news.
        if (bully_.leader() == from && envelope.epoch == bully_.epoch()) {
            take_members(*update, now);
        } else if (envelope.epoch > bully_.epoch() &&
                   election::epoch_leader(envelope.epoch) == from) {
            // A new trader's update ahead of its Coordinator (they crossed): it may be the only
            // one that names a leave its view change applied. Kept (the latest), and taken once
            // this peer follows that reign, never on the update's word alone.
            early_members_ = std::make_pair(envelope.epoch, *update);
        } else {
            ++counters_.wrong_role;
            dropped(DropKind::wrong_role, from, "a membership update not from the trader", now);
        }
        return true;
    }
    return false;
}

void PeerCore::take_members(const wire::Members& update, Time now) {
    asking_members_ = false;  // the trader's word, as good as an answer
    if (update.version <= view_version_) return;
    view_version_ = update.version;
    view_covers_ = std::max(view_covers_, update.version);
    adopt_members(update.members, now);
}

void PeerCore::take_early_members(Time now) {
    if (!early_members_ || bully_.epoch() < early_members_->first) return;
    const auto [epoch, update] = *std::exchange(early_members_, std::nullopt);
    if (bully_.epoch() == epoch && bully_.leader() == election::epoch_leader(epoch))
        take_members(update, now);
}

void PeerCore::on_join_answer(PeerId from, const wire::JoinAnswer& answer, Time now) {
    switch (answer.reason) {
        case wire::MembershipRefusal::none:
            // The list is as of `version`: an update older than that changes nothing.
            view_version_ = std::max(view_version_, answer.version);
            view_covers_ = std::max(view_covers_, answer.version);
            if (asking_members_) {
                // A member back from a crash: the membership as the trader's books hold it.
                asking_members_ = false;
                if (replica_) view_covers_ = std::max(view_covers_, replica_->last());
                adopt_members(answer.members, now);
                log_.info("heard the members from the trader, peer {}: {} members", from,
                          answer.members.size());
                return;
            }
            joining_.reset();
            join_retry_.reset();
            adopt_members(answer.members, now);
            // A member now: it listens for the trader's heartbeats (it never leads). One that
            // follows the trader already keeps its reign: an epoch never goes back.
            if (bully_.epoch() == election::no_epoch)
                bully_.restart(now, std::max(epoch_floor_, bully_.max_epoch()));
            log_.info("joined the market of {} members; the trader is peer {}",
                      answer.members.size(), from);
            return;
        case wire::MembershipRefusal::not_trader:
            if (answer.trader == 0 || answer.trader == from || answer.trader == self_) return;
            for (const auto& m : answer.members) {
                if (m.id != answer.trader || m.host.empty()) continue;
                if (asking_members_) {
                    // A member back from a crash, told of a trader it does not know (a newcomer
                    // promoted while it was down): a member on a member's word, so its reign is
                    // plausible here. Until then this peer refused it, and may have claimed a
                    // reign of its own that nobody follows (sim --peers 4 --promote --faults
                    // crash,churn seed 276).
                    add_members({m}, now);
                } else {
                    add_guest(m, now);
                }
            }
            send_join(answer.trader, now);
            return;
        case wire::MembershipRefusal::trader_unavailable: return;  // asked again at the retry
        default:
            if (asking_members_) {
                // A member that left before its crash is one no more: nothing to learn.
                asking_members_ = false;
                log_.info("the trader, peer {}, lists it as no member: {}", from,
                          wire::to_string(answer.reason));
                return;
            }
            // The market will not take this peer as it is (an id in use, a bad address...).
            ready_.failure = fmt::format("the market refused to let peer {} join: {}", self_,
                                         wire::to_string(answer.reason));
            joining_.reset();
            join_retry_.reset();
            return;
    }
}

void PeerCore::send_join(PeerId to, Time now) {
    if (!joining_ && !asking_members_) return;
    join_to_ = to;
    join_retry_ = now + join_interval_;
    // Where it listens: a newcomer's address, also once a member (the trader's books hold it, so
    // a member's question matches its record and is answered from the books; it named none, and
    // was refused as no member). A founder's address is the config's: its Join names none.
    push(scratch_, to, wire::Join{is_buyer(), is_seller(), host_, port_});
    stamp_all(scratch_);
}

void PeerCore::leave(bool withdraw_lots, Time now) {
    if (joining_ || left_) return;
    leaving_ = withdraw_lots;
    // Its removal goes into the logs before it is in its own: it must not lead meanwhile.
    bully_.set_candidate(false);
    join_retry_ = now;  // asked at once, then again until answered
    on_join_tick(now);
    collect(now);
}

void PeerCore::on_join_tick(Time now) {
    if (!join_retry_ || now < *join_retry_) return;
    if (joining_) {
        // The trader may have changed: start over, and through another member each time (the
        // contact may have failed or left): the founders it knows, in turn.
        std::vector<PeerId> contacts{joining_->contact};
        for (PeerId m : members_) {
            if (m != self_ && m != joining_->contact) contacts.push_back(m);
        }
        send_join(contacts[join_attempts_++ % contacts.size()], now);
    } else if (leaving_) {
        if (++leave_attempts_ > max_leave_attempts) {
            // The members forget a peer that left soon after this: asking on is pointless.
            ready_.failure = fmt::format("the trader did not answer this peer's leave in {} attempts",
                                         max_leave_attempts);
            leaving_.reset();
            join_retry_.reset();
            return;
        }
        join_retry_ = now + join_interval_;
        // The trader, or the one it asked last: a peer whose leave took effect is no member of
        // that trader's any more and hears no heartbeat from it, but its answer was lost. With
        // no trader known, the members in turn: one that is not the trader names it.
        if (const auto partner = trading_partner()) {
            leave_to_ = partner;
        } else if (trader_) {
            // The trader leaves too: its own books record it like anyone's (a replica's leave
            // through the log), it answers itself once that is durable, and the members elect
            // another once it has gone.
            leave_to_ = self_;
        } else if (leave_attempts_ > 1 && members_.size() > 1) {
            PeerId next = members_[leave_attempts_ % members_.size()];
            if (next == self_) next = members_[(leave_attempts_ + 1) % members_.size()];
            leave_to_ = next;
        }
        if (leave_to_) {
            push(scratch_, *leave_to_, leave_message());
            stamp_all(scratch_);
        }
    } else if (asking_members_ && !trader_) {
        // The trader it follows, else the members in turn: one that is not the trader names it.
        // A trader has the membership in its books; one still collecting the logs asks on, since
        // a reign it cannot complete may be one the members do not follow.
        PeerId to = 0;
        if (const auto partner = trading_partner()) {
            to = *partner;
        } else if (members_.size() > 1) {
            to = members_[join_attempts_++ % members_.size()];
            if (to == self_) to = members_[join_attempts_++ % members_.size()];
        }
        if (to != 0) {
            send_join(to, now);
        } else {
            join_retry_ = now + join_interval_;
        }
    } else {
        asking_members_ = false;
        join_retry_.reset();
    }
}

// A reign led by a peer this one does not list is beyond belief here, and each of its datagrams
// is dropped: a newcomer promoted while this peer was cut off may lead it. The members are asked
// in turn (the trader through them) who leads and where it listens, as a member back from a crash
// asks; a forged epoch costs one question per retry until a member answers.
void PeerCore::ask_about_leader(wire::Epoch epoch, Time now) {
    const PeerId leader = election::epoch_leader(epoch);
    if (leader == 0 || leader == self_ ||
        std::binary_search(members_.begin(), members_.end(), leader))
        return;
    if (epoch <= bully_.epoch() || joining_ || leaving_ || left_ || trader_ || asking_members_)
        return;
    log_.info("heard of a reign led by peer {}, which it does not list: asking the members",
              leader);
    asking_members_ = true;
    join_retry_ = now;
    on_join_tick(now);
}

// A member cut off while peers joined missed the trader's Members updates, which are sent once:
// it lists too few members until the next change, and drops the datagrams of those it does not
// list. The trader's clock names them (it keeps members' entries only), so a peer whose trader's
// clocks name a peer it neither lists nor has just seen go asks the trader who the members are,
// as a member back from a crash does: once that has lasted a retry interval, since right after a
// join the trader's clock may name the newcomer before its update arrives.
void PeerCore::notice_strangers(const wire::Envelope& envelope, Time now) {
    if (joining_ || leaving_ || left_ || trader_ || asking_members_) return;
    if (bully_.leader() != envelope.sender || envelope.epoch != bully_.epoch()) return;
    std::optional<PeerId> stranger;
    for (const auto& entry : envelope.clock.entries()) {
        if (entry.peer == self_ || std::binary_search(members_.begin(), members_.end(), entry.peer))
            continue;
        if (std::any_of(forgetting_.begin(), forgetting_.end(),
                        [&](const auto& f) { return f.first == entry.peer; }))
            continue;  // it left: the trader's clock may name it a while yet
        stranger = entry.peer;
        break;
    }
    if (!stranger) return;
    if (!strangers_since_) {
        strangers_since_ = now;
        return;
    }
    if (now < *strangers_since_ + join_interval_) return;
    strangers_since_.reset();
    log_.info("the trader's clock names peer {}, which it does not list: asking the trader for the "
              "members",
              *stranger);
    asking_members_ = true;
    join_retry_ = now;
    on_join_tick(now);
}

void PeerCore::adopt_members(std::vector<wire::MemberInfo> members, Time now) {
    strangers_since_.reset();  // a new word on the members
    std::sort(members.begin(), members.end(),
              [](const auto& a, const auto& b) { return a.id < b.id; });
    std::vector<PeerId> ids;
    ids.reserve(members.size() + 1);
    for (const auto& m : members) ids.push_back(m.id);
    ids.push_back(self_);
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    // The election runs over the members.
    for (PeerId id : members_) {
        if (id != self_ && !std::binary_search(ids.begin(), ids.end(), id)) {
            bully_.remove_peer(id, now);
            forget_later(id, now);
        }
    }
    for (PeerId id : ids) {
        if (!std::binary_search(members_.begin(), members_.end(), id)) bully_.add_peer(id, now);
    }
    members_ = std::move(ids);
    // A member that left is counted no more: the clocks every peer sends stay bounded by the
    // membership, however many peers came and went.
    clock_.retain(members_);
    view_ = std::move(members);
    ready_.members = view_;
}

void PeerCore::add_members(std::vector<wire::MemberInfo> added, Time now) {
    std::vector<wire::MemberInfo> members = view_;
    for (PeerId id : members_) {
        if (std::none_of(members.begin(), members.end(), [&](const auto& m) { return m.id == id; }))
            members.push_back(wire::MemberInfo{id, true, true, false, {}, 0});
    }
    bool any = false;
    for (auto& m : added) {
        if (std::binary_search(members_.begin(), members_.end(), m.id)) continue;
        members.push_back(std::move(m));
        any = true;
    }
    if (any) adopt_members(std::move(members), now);
}

void PeerCore::add_guest(wire::MemberInfo guest, Time now) {
    forget_later(guest.id, now);
    ready_.guests.push_back(std::move(guest));
}

void PeerCore::forget_later(PeerId peer, Time now) {
    // Later than the last retry of a leave the trader may answer (the leaver's first attempt
    // came before its leave took effect), so no answer it still waits for needs the session.
    const Time at = now + join_interval_ * static_cast<int>(max_leave_attempts + 2);
    std::erase_if(forgetting_, [peer](const auto& f) { return f.first == peer; });
    forgetting_.emplace_back(peer, at);
}

void PeerCore::forget_due(Time now) {
    while (!forgetting_.empty() && forgetting_.front().second <= now) {
        const PeerId peer = forgetting_.front().first;
        forgetting_.pop_front();
        if (peer != self_ && !std::binary_search(members_.begin(), members_.end(), peer))
            ready_.forget.push_back(peer);
    }
}

void PeerCore::adopt_books_members(Time now) {
    if (!trader_) return;
    const auto& membership = trader_->books().membership();
    if (membership.size() == 0) return;  // books without a registry (no founders configured)
    std::vector<wire::MemberInfo> members;
    members.reserve(membership.size());
    for (const auto& [id, m] : membership.members()) members.push_back(to_wire(m));
    adopt_members(std::move(members), now);
}

}  // namespace tp::peer
