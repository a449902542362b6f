#include "tp/election/bully.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "tp/mutant/mutant.hpp"

namespace tp::election {

std::string epoch_text(Epoch epoch) {
    return std::to_string(epoch_term(epoch)) + ":" + std::to_string(epoch_leader(epoch));
}

const char* to_string(MessageKind kind) noexcept {
    switch (kind) {
        case MessageKind::election: return "Election";
        case MessageKind::ok: return "Ok";
        case MessageKind::coordinator: return "Coordinator";
        case MessageKind::heartbeat: return "Heartbeat";
    }
    return "?";
}

const char* to_string(Role role) noexcept {
    switch (role) {
        case Role::idle: return "idle";
        case Role::listening: return "listening";
        case Role::follower: return "follower";
        case Role::candidate: return "candidate";
        case Role::awaiting: return "awaiting";
        case Role::leader: return "leader";
    }
    return "?";
}

const char* to_string(EventKind kind) noexcept {
    switch (kind) {
        case EventKind::became_leader: return "became_leader";
        case EventKind::leader_known: return "leader_known";
        case EventKind::leader_lost: return "leader_lost";
    }
    return "?";
}

namespace {

void require_positive(Duration d, const char* field) {
    if (d <= Duration::zero())
        throw std::invalid_argument(std::string("election config: ") + field +
                                    " must be positive, got " + std::to_string(d.count()) + " ns");
}

// An epoch another peer says it has heard of: none yet, or a real term.
bool valid_known(Epoch e) noexcept {
    return e == no_epoch || (epoch_term(e) >= 1 && epoch_term(e) <= max_term);
}

// An epoch `leader` claims to lead.
bool valid_claim(Epoch e, PeerId leader) noexcept {
    return epoch_term(e) >= 1 && epoch_term(e) <= max_term && epoch_leader(e) == leader;
}

// Whether `e`'s term is at most `step` above `base`'s.
bool within(Epoch e, Epoch base, Term step) noexcept {
    return epoch_term(e) <= epoch_term(base) + step;
}

}  // namespace

void validate(const Config& config) {
    require_positive(config.heartbeat_interval, "heartbeat_interval");
    require_positive(config.election_timeout, "election_timeout");
    require_positive(config.answer_timeout, "answer_timeout");
    require_positive(config.coordinator_timeout, "coordinator_timeout");
    if (config.self > max_peer_id)
        throw std::invalid_argument("election config: self " + std::to_string(config.self) +
                                    " is above the largest peer id an epoch can name (" +
                                    std::to_string(max_peer_id) + ")");
    for (PeerId p : config.peers) {
        if (p > max_peer_id)
            throw std::invalid_argument("election config: peer " + std::to_string(p) +
                                        " is above the largest peer id an epoch can name (" +
                                        std::to_string(max_peer_id) + ")");
    }
    if (config.election_timeout <= config.heartbeat_interval)
        throw std::invalid_argument(
            "election config: election_timeout (" +
            std::to_string(config.election_timeout.count()) +
            " ns) must exceed heartbeat_interval (" +
            std::to_string(config.heartbeat_interval.count()) +
            " ns), or a live leader would be suspected between two heartbeats");
}

Bully::Bully(Config config) : config_(std::move(config)) {
    validate(config_);
    auto& peers = config_.peers;
    std::sort(peers.begin(), peers.end());
    peers.erase(std::unique(peers.begin(), peers.end()), peers.end());
    peers.erase(std::remove(peers.begin(), peers.end(), config_.self), peers.end());
}

bool Bully::is_peer(PeerId peer) const noexcept {
    return std::binary_search(config_.peers.begin(), config_.peers.end(), peer);
}

bool Bully::names_member(Epoch epoch) const noexcept {
    const PeerId leader = epoch_leader(epoch);
    return leader == config_.self || is_peer(leader);
}

bool Bully::plausible(Epoch epoch) const noexcept {
    if (epoch == no_epoch) return true;
    if (TP_MUTANT(trust_any_epoch)) return valid_known(epoch);
    // One below the claim's step: a leader takes the term after the highest it heard of.
    return valid_known(epoch) && names_member(epoch) && within(epoch, trusted_, max_term_step - 1);
}

// A claim `leader` makes for `epoch` (already checked to be its own and well formed): believe it
// at once when plausible; when further ahead, only once kept up for a whole election timeout.
bool Bully::believe_claim(PeerId leader, Epoch epoch, Time now) {
    if (TP_MUTANT(trust_any_epoch)) return true;
    if (within(epoch, trusted_, max_term_step)) return true;
    // Only a peer without a live leader to follow is catching up: a follower ignores far claims,
    // so a hostile member cannot walk the term of a settled market forward. A leader may catch
    // up: a reign far ahead of its own is how two sides that missed each other's elections meet.
    if (role_ != Role::follower && within(epoch, trusted_, max_catch_up_step)) {
        // Kept up as a live leader keeps its reign: a heartbeat each interval, one lost at most.
        // Two lone datagrams an election timeout apart are a forger's, not a reign.
        if (pending_claim_ && pending_claim_->leader == leader && pending_claim_->epoch == epoch &&
            now - pending_claim_->last <= 2 * config_.heartbeat_interval) {
            pending_claim_->last = now;
            if (now - pending_claim_->since >= config_.election_timeout) {
                pending_claim_.reset();
                ++counters_.caught_up;
                return true;
            }
        } else {
            pending_claim_ = Pending{leader, epoch, now, now};
        }
    }
    ++counters_.invalid_ignored;
    ++counters_.implausible_ignored;
    return false;
}

void Bully::send(PeerId to, const Message& message) {
    ++counters_.sent[message.index()];
    outbox_.push_back(Outbound{to, message});
}

void Bully::note_epoch(Epoch epoch) noexcept {
    max_epoch_ = std::max(max_epoch_, epoch);
}

void Bully::start(Time now, Epoch floor) {
    if (!valid_known(floor)) throw std::invalid_argument("election start: invalid floor epoch");
    note_epoch(floor);
    trusted_ = std::max(trusted_, floor);
    leaderless_since_ = now;
    begin_election(now);
}

void Bully::restart(Time now, Epoch floor) {
    if (!valid_known(floor)) throw std::invalid_argument("election restart: invalid floor epoch");
    // Memory is lost: only the counters (measurements, not protocol state) survive.
    role_ = Role::listening;
    leader_.reset();
    epoch_ = no_epoch;
    max_epoch_ = floor;
    trusted_ = floor;
    pending_claim_.reset();
    suspected_.reset();
    outbox_.clear();
    events_.clear();
    leaderless_since_ = now;
    deadline_ = now + config_.election_timeout;
}

void Bully::on_message(PeerId from, const Message& message, Time now) {
    if (from == config_.self || !is_peer(from)) {
        ++counters_.invalid_ignored;
        return;
    }
    switch (message.index()) {
        case 0: on_election(from, std::get<Election>(message), now); break;
        case 1: on_ok(from, std::get<Ok>(message), now); break;
        case 2: {
            const auto& m = std::get<Coordinator>(message);
            on_claim(from, MessageKind::coordinator, m.leader, m.epoch, now);
            break;
        }
        case 3: {
            const auto& m = std::get<Heartbeat>(message);
            on_claim(from, MessageKind::heartbeat, m.leader, m.epoch, now);
            break;
        }
        default: ++counters_.invalid_ignored; return;
    }
}

void Bully::on_election(PeerId from, const Election& m, Time now) {
    if (from > config_.self || !valid_known(m.epoch)) {
        ++counters_.invalid_ignored;
        return;
    }
    if (!plausible(m.epoch)) {
        ++counters_.invalid_ignored;
        ++counters_.implausible_ignored;
        return;
    }
    ++counters_.received[static_cast<std::size_t>(MessageKind::election)];
    note_epoch(m.epoch);
    // A peer that never leads must not hold a candidate back: it stays out of the election.
    if (!config_.candidate) return;
    send(from, Ok{max_epoch_});
    switch (role_) {
        case Role::candidate:
        case Role::awaiting: break;
        case Role::leader:
            if (m.epoch <= epoch_)
                send(from, Coordinator{config_.self, epoch_});
            else
                begin_election(now);
            break;
        case Role::idle:
        case Role::listening:
        case Role::follower: begin_election(now); break;
    }
}

void Bully::on_ok(PeerId from, const Ok& m, Time now) {
    if (from < config_.self || !valid_known(m.epoch)) {
        ++counters_.invalid_ignored;
        return;
    }
    if (!plausible(m.epoch)) {
        ++counters_.invalid_ignored;
        ++counters_.implausible_ignored;
        return;
    }
    ++counters_.received[static_cast<std::size_t>(MessageKind::ok)];
    note_epoch(m.epoch);
    // A leader that hears of a newer epoch (a late Ok) must not keep leading an older one: its
    // heartbeats would be stale to the peers that know better, and it would ignore theirs.
    if (role_ == Role::leader && max_epoch_ > epoch_) {
        begin_election(now);
        return;
    }
    if (role_ == Role::candidate) {
        role_ = Role::awaiting;
        deadline_ = now + config_.coordinator_timeout;
    }
}

void Bully::on_claim(PeerId from, MessageKind kind, PeerId leader, Epoch epoch, Time now) {
    if (leader != from || !valid_claim(epoch, leader)) {
        ++counters_.invalid_ignored;
        return;
    }
    if (!believe_claim(leader, epoch, now)) return;
    bool stale = epoch < max_epoch_;
    if (TP_MUTANT(ignore_epochs)) stale = false;  // follows a claim from an older epoch
    if (stale) {
        ++counters_.stale_ignored;
        return;
    }
    ++counters_.received[static_cast<std::size_t>(kind)];
    if (role_ == Role::follower && leader_ == leader && epoch_ == epoch) {
        deadline_ = now + config_.election_timeout;
        return;
    }
    note_epoch(epoch);
    if (leader < config_.self && config_.candidate) {
        const bool electing = role_ == Role::candidate || role_ == Role::awaiting;
        if (config_.policy == RecoveryPolicy::bully) {
            // Takes the lead from a lower leader.
            if (!electing) begin_election(now);
            return;
        }
        // `defer` leaves a working lower leader alone, but a peer running an election that it
        // may win carries on: the highest live id wins (a lower peer whose Oks came late may
        // have declared meanwhile). So does one that won it less than an election timeout ago:
        // that claim crossed its own (a lower peer that suspected a leader it had heard from
        // would have waited out a silence of an election timeout and an answer timeout first).
        // One that may not lead yet (claims held) follows.
        const bool just_won = role_ == Role::leader && led_since_ &&
                              now - *led_since_ < config_.election_timeout;
        if ((electing || just_won) && !claims_held_ && !TP_MUTANT(defer_mid_election)) {
            if (just_won) begin_election(now);  // in an epoch above the lower claim's
            return;
        }
    }
    follow(leader, epoch, now);
}

void Bully::resume(Time now) {
    if (role_ != Role::follower || !deadline_) return;
    if (*deadline_ < now + config_.election_timeout) deadline_ = now + config_.election_timeout;
}

void Bully::on_tick(Time now) {
    if (!deadline_ || now < *deadline_) return;
    switch (role_) {
        case Role::idle: deadline_.reset(); break;
        case Role::leader: {
            for (PeerId p : config_.peers) send(p, Heartbeat{config_.self, epoch_});
            // Keep the cadence, but never queue a burst after a late tick.
            Time next = *deadline_ + config_.heartbeat_interval;
            deadline_ = next > now ? next : now + config_.heartbeat_interval;
            break;
        }
        case Role::follower: suspect(now); break;
        case Role::listening: begin_election(now); break;
        case Role::candidate: become_leader(now); break;
        case Role::awaiting: begin_election(now); break;
    }
}

bool Bully::superseded(Epoch newer, Time now) {
    if (!plausible(newer)) return false;
    note_epoch(newer);
    if (role_ != Role::leader || newer <= epoch_) return false;
    // Leading a superseded epoch, which the replicas refuse: as if its leader's Coordinator had
    // come. Follow it (and suspect it after a silence, if it failed meanwhile), or, under the
    // bully policy against a lower leader, or for an epoch of its own, win a newer one.
    const PeerId leader = epoch_leader(newer);
    if (leader == config_.self || (leader < config_.self && config_.candidate &&
                                   config_.policy == RecoveryPolicy::bully)) {
        begin_election(now);
        return true;
    }
    follow(leader, newer, now);
    return false;
}

bool Bully::suspect_leader(Time now) {
    if (role_ != Role::follower) return false;
    suspect(now);
    return true;
}

void Bully::add_peer(PeerId peer, Time now) {
    (void)now;
    if (peer == config_.self || is_peer(peer)) return;
    auto& peers = config_.peers;
    peers.insert(std::upper_bound(peers.begin(), peers.end(), peer), peer);
    // Tell a newcomer at once rather than at the next heartbeat.
    if (role_ == Role::leader) send(peer, Coordinator{config_.self, epoch_});
}

void Bully::remove_peer(PeerId peer, Time now) {
    auto& peers = config_.peers;
    auto it = std::lower_bound(peers.begin(), peers.end(), peer);
    if (it == peers.end() || *it != peer) return;
    peers.erase(it);
    if (role_ == Role::follower && leader_ == peer) suspect(now);
}

void Bully::suspect(Time now) {
    ++counters_.suspicions;
    suspected_ = leader_;
    leaderless_since_ = now;
    begin_election(now);
}

void Bully::abdicate(Time now) {
    if (role_ != Role::leader) return;
    begin_election(now);
}

void Bully::lose_leader(Time now) {
    if (!leader_) return;
    events_.push_back(Event{EventKind::leader_lost, *leader_, epoch_, now, std::nullopt});
    leader_.reset();
    if (!leaderless_since_) leaderless_since_ = now;
}

void Bully::begin_election(Time now) {
    ++counters_.elections_started;
    lose_leader(now);
    if (!leaderless_since_) leaderless_since_ = now;
    role_ = Role::candidate;
    bool asked = false;
    const auto& peers = config_.peers;
    for (auto it = std::upper_bound(peers.begin(), peers.end(), config_.self); it != peers.end();
         ++it) {
        if (suspected_ == *it) continue;
        send(*it, Election{max_epoch_});
        asked = true;
    }
    if (asked)
        deadline_ = now + config_.answer_timeout;
    else
        become_leader(now);
}

void Bully::become_leader(Time now) {
    if (!config_.candidate || claims_held_) {
        // Nobody higher answered, and this peer may not lead (yet): wait for a claim, then ask
        // again.
        role_ = Role::awaiting;
        deadline_ = now + config_.coordinator_timeout;
        return;
    }
    // Never wraps to an older epoch. Unreachable in practice: plausibility keeps every term within
    // (max_term_step + 1) x reigns of the first.
    const Term term = epoch_term(max_epoch_);
    epoch_ = make_epoch(term < max_term ? term + 1 : max_term, config_.self);
    max_epoch_ = epoch_;
    trusted_ = std::max(trusted_, epoch_);
    pending_claim_.reset();
    role_ = Role::leader;
    leader_ = config_.self;
    led_since_ = now;
    suspected_.reset();
    const auto& peers = config_.peers;
    for (auto it = peers.begin(); it != peers.end() && *it < config_.self; ++it)
        send(*it, Coordinator{config_.self, epoch_});
    deadline_ = now + config_.heartbeat_interval;
    learned(EventKind::became_leader, now);
}

void Bully::follow(PeerId leader, Epoch epoch, Time now) {
    const bool changed = role_ != Role::follower || leader_ != leader || epoch_ != epoch;
    epoch_ = epoch;
    note_epoch(epoch);
    trusted_ = std::max(trusted_, epoch);
    if (pending_claim_ && pending_claim_->epoch <= epoch) pending_claim_.reset();
    leader_ = leader;
    role_ = Role::follower;
    suspected_.reset();
    deadline_ = now + config_.election_timeout;
    if (changed) learned(EventKind::leader_known, now);
}

void Bully::learned(EventKind kind, Time now) {
    std::optional<Duration> spell;
    if (leaderless_since_) {
        spell = now - *leaderless_since_;
        leaderless_since_.reset();
        ++counters_.leaders_learned;
        counters_.last_failover = *spell;
        counters_.max_failover = std::max(counters_.max_failover, *spell);
        counters_.total_failover += *spell;
    }
    events_.push_back(Event{kind, *leader_, epoch_, now, spell});
}

}  // namespace tp::election
