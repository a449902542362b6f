#include "tp/sim/outsider.hpp"

#include <fmt/core.h>

#include <algorithm>

#include "tp/election/messages.hpp"
#include "tp/wire/codec.hpp"

namespace tp::sim {

namespace {

enum class Kind : std::uint8_t {
    replay,
    redirect,
    bit_flip,
    forged_payment,
    forged_result,
    forged_claim,
};
constexpr std::uint64_t kinds = 6;

}  // namespace

Outsider::Outsider(transport::MemoryNetwork& network, runtime::Rng rng, runtime::Rng capture_rng,
                   std::uint64_t wrong_key_seed)
    : network_(network),
      rng_(rng),
      capture_rng_(capture_rng),
      wrong_mac_(auth::Key::derive(wrong_key_seed)) {
    sample_.reserve(sample_size);
}

void Outsider::capture(PeerId from, PeerId to, std::span<const std::byte> frame) {
    ++heard_;
    auth::Header h;
    if (auth::parse_header(frame, h) == auth::ParseErrc::ok && h.kind == auth::FrameKind::data) {
        auto& newest = latest_[{from, to}];
        if (h.sender_incarnation > newest.sender_incarnation ||
            (h.sender_incarnation == newest.sender_incarnation && h.sequence > newest.sequence)) {
            newest = h;
        }
    }
    // Reservoir sampling: every datagram heard so far is in the sample with equal chance.
    std::size_t slot = sample_.size();
    if (sample_.size() == sample_size) {
        const std::uint64_t j = capture_rng_.uniform_int(0, heard_ - 1);
        if (j >= sample_size) return;
        slot = static_cast<std::size_t>(j);
    } else {
        sample_.emplace_back();
    }
    Captured& c = sample_[slot];
    c.from = from;
    c.to = to;
    c.bytes.assign(frame.begin(), frame.end());  // reuses the slot's buffer once it has grown
}

const Outsider::Captured* Outsider::pick_captured() {
    if (sample_.empty()) return nullptr;
    return &sample_[rng_.uniform_int(0, sample_.size() - 1)];
}

std::string Outsider::forge(PeerId from, PeerId to, wire::Epoch epoch, wire::Body body) {
    const bool random_mac = rng_.bernoulli(0.5);
    const std::uint64_t ahead = rng_.uniform_int(1, 16);
    clock::VectorClock clock;
    clock.set(from, 1 + rng_.uniform_int(0, 1000));
    const wire::Envelope e{from, to, epoch, std::move(clock), std::move(body)};
    std::vector<std::byte> payload;
    try {
        payload = wire::encode(e);
    } catch (const std::exception&) {
        return {};
    }
    // The newest header heard on the link, moved on: the lives it names are the current ones and
    // its sequence is fresh, so only the MAC can give the forgery away.
    auth::Header h;
    if (auto it = latest_.find({from, to}); it != latest_.end()) h = it->second;
    h.kind = auth::FrameKind::data;
    h.sender = from;
    h.receiver = to;
    if (h.sender_incarnation == 0) h.sender_incarnation = 1;
    h.sequence += ahead;
    std::vector<std::byte> frame(auth::frame_overhead + payload.size());
    auth::write_header(h, std::span(frame).first<auth::header_size>());
    std::copy(payload.begin(), payload.end(), frame.begin() + auth::header_size);
    const std::size_t covered = auth::header_size + payload.size();
    const auto mac = std::span(frame).subspan(covered).first<auth::mac_size>();
    if (random_mac) {
        for (auto& b : mac) b = static_cast<std::byte>(rng_.uniform_int(0, 255));
    } else {
        wrong_mac_.compute(std::span(frame).first(covered), mac);
    }
    network_.inject(from, to, frame);
    ++sent_;
    return random_mac ? "a random MAC" : "a wrong key";
}

std::string Outsider::strike(peer::LocalMarket& market) {
    const auto kind = static_cast<Kind>(rng_.uniform_int(0, kinds - 1));
    const auto& ids = market.peers();
    if (ids.size() < 2) return {};
    switch (kind) {
        case Kind::replay: {
            const Captured* c = pick_captured();
            if (c == nullptr) return {};
            network_.inject(c->from, c->to, c->bytes);
            ++sent_;
            return fmt::format("outsider replays a frame of peer {} to peer {}", c->from, c->to);
        }
        case Kind::redirect: {
            const Captured* c = pick_captured();
            if (c == nullptr) return {};
            std::vector<PeerId> others;
            for (PeerId p : ids) {
                if (p != c->from && p != c->to) others.push_back(p);
            }
            if (others.empty()) return {};
            const PeerId to = others[rng_.uniform_int(0, others.size() - 1)];
            network_.inject(c->from, to, c->bytes);
            ++sent_;
            return fmt::format("outsider sends peer {}'s frame for peer {} to peer {}", c->from,
                               c->to, to);
        }
        case Kind::bit_flip: {
            const Captured* c = pick_captured();
            if (c == nullptr || c->bytes.empty()) return {};
            std::vector<std::byte> damaged = c->bytes;
            const std::uint64_t bit = rng_.uniform_int(0, damaged.size() * 8 - 1);
            damaged[bit / 8] ^= static_cast<std::byte>(1u << (bit % 8));
            network_.inject(c->from, c->to, damaged);
            ++sent_;
            return fmt::format("outsider flips bit {} of a frame of peer {} to peer {}", bit,
                               c->from, c->to);
        }
        default: break;
    }

    // The forgeries speak for the current trader.
    const auto trader = market.trader();
    const peer::Node* t = trader ? market.node(*trader) : nullptr;
    if (t == nullptr) return {};
    const PeerId from = *trader;
    const wire::Epoch epoch = t->epoch();
    std::vector<PeerId> others;
    for (PeerId p : ids) {
        if (p != from) others.push_back(p);
    }
    switch (kind) {
        case Kind::forged_payment: {
            std::vector<PeerId> sellers;
            for (PeerId p : others) {
                const peer::Node* n = market.node(p);
                if (n != nullptr && n->is_seller()) sellers.push_back(p);
            }
            if (sellers.empty()) return {};
            const PeerId to = sellers[rng_.uniform_int(0, sellers.size() - 1)];
            const auto amount = static_cast<wire::Money>(rng_.uniform_int(1, 555'555'555));
            const auto how =
                forge(from, to, epoch,
                      wire::Payment{(std::uint64_t{1} << 61) | ++next_id_, 1, 1, amount});
            if (how.empty()) return {};
            return fmt::format("outsider, as trader {}, pays peer {} {} (sealed with {})", from, to,
                               amount, how);
        }
        case Kind::forged_result: {
            std::vector<std::pair<PeerId, std::uint64_t>> waiting;
            std::vector<std::uint32_t> quantities;
            for (PeerId p : others) {
                const peer::Node* n = market.node(p);
                if (n == nullptr || !n->is_buyer()) continue;
                const auto& out = n->buyer().outstanding;
                if (out && !out->answered) {
                    waiting.emplace_back(p, out->request);
                    quantities.push_back(out->quantity);
                }
            }
            if (waiting.empty()) return {};
            const std::size_t i = rng_.uniform_int(0, waiting.size() - 1);
            wire::BuyResult r;
            r.request_id = waiting[i].second;
            r.filled = true;
            r.quantity = quantities[i];
            r.amount = 0;
            const auto how = forge(from, waiting[i].first, epoch, std::move(r));
            if (how.empty()) return {};
            return fmt::format(
                "outsider, as trader {}, fills peer {}'s request {} for free (sealed with {})",
                from, waiting[i].first, waiting[i].second, how);
        }
        case Kind::forged_claim: {
            const PeerId to = others[rng_.uniform_int(0, others.size() - 1)];
            const PeerId leader = others[rng_.uniform_int(0, others.size() - 1)];
            const auto e = election::make_epoch(election::epoch_term(epoch) + 1, leader);
            const auto how = forge(from, to, e, wire::Coordinator{leader, e});
            if (how.empty()) return {};
            return fmt::format(
                "outsider, as trader {}, tells peer {} that peer {} leads term {} (sealed with {})",
                from, to, leader, election::epoch_term(e), how);
        }
        default: break;
    }
    return {};
}

}  // namespace tp::sim
