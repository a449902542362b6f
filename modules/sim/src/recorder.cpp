#include "tp/sim/recorder.hpp"

#include <fmt/core.h>

#include "tp/election/messages.hpp"
#include "tp/wire/message.hpp"

namespace tp::sim {

std::string describe(const wire::Body& body) {
    std::string what = wire::kind_name(body);
    if (const auto* b = std::get_if<wire::Buy>(&body)) {
        what += fmt::format(" request {} product {} x{}", b->request_id, b->product, b->quantity);
    } else if (const auto* r = std::get_if<wire::BuyResult>(&body)) {
        what += fmt::format(" request {} {} x{} for {}", r->request_id,
                            r->filled ? "filled" : "refused", r->quantity, r->amount);
    } else if (const auto* c = std::get_if<wire::Coordinator>(&body)) {
        what += fmt::format(" leader {} epoch {}", c->leader, election::epoch_text(c->epoch));
    } else if (const auto* p = std::get_if<wire::Payment>(&body)) {
        what += fmt::format(" payment {} x{} for {}", p->payment_id, p->quantity, p->amount);
    } else if (const auto* many = std::get_if<wire::Payments>(&body)) {
        for (const wire::Payment& item : many->items)
            what += fmt::format(" payment {} x{} for {}", item.payment_id, item.quantity,
                                item.amount);
    } else if (const auto* d = std::get_if<wire::Deposit>(&body)) {
        what += fmt::format(" lot {} product {} x{}", d->lot_id, d->product, d->quantity);
    }
    return what;
}

Recorder::Recorder(runtime::Runtime& rt, peer::NodeObserver* next, std::vector<Event>* events,
                   TimePoint origin)
    : rt_(rt), next_(next), events_(events), origin_(origin) {}

TimePoint Recorder::now() const {
    return TimePoint(rt_.now() - origin_);
}

void Recorder::sent(const peer::Node& self, const wire::Envelope& e) {
    if (next_) next_->sent(self, e);
    if (!events_) return;
    const std::uint64_t id = ++next_message_;
    messages_[{e.sender, e.receiver, e.clock.get(e.sender)}] = id;
    events_->push_back(
        Event{now(), Event::Kind::send, self.id(), e.receiver, describe(e.body), e.clock, id});
}

void Recorder::received(const peer::Node& self, const wire::Envelope& e) {
    if (next_) next_->received(self, e);
    if (!events_) return;
    auto it = messages_.find({e.sender, e.receiver, e.clock.get(e.sender)});
    events_->push_back(Event{now(), Event::Kind::receive, self.id(), e.sender, describe(e.body),
                             self.clock(), it == messages_.end() ? 0 : it->second});
}

void Recorder::became_trader(const peer::Node& self, wire::Epoch epoch,
                             const market::Books& books, std::uint64_t durable) {
    if (next_) next_->became_trader(self, epoch, books, durable);
    note(Event::Kind::trader, self.id(),
         fmt::format("trader, epoch {}", election::epoch_text(epoch)));
}

void Recorder::persisted(const peer::Node& self, wire::Epoch epoch, const market::Event& event,
                         std::uint64_t lsn) {
    if (next_) next_->persisted(self, epoch, event, lsn);
}

void Recorder::proposed(const peer::Node& self, wire::Epoch epoch, const market::Event& event,
                        std::uint64_t lsn) {
    if (next_) next_->proposed(self, epoch, event, lsn);
}

void Recorder::synced(const peer::Node& self, std::uint64_t lsn) {
    if (next_) next_->synced(self, lsn);
}

void Recorder::released(const peer::Node& self, wire::Epoch epoch, const market::Output& output) {
    if (next_) next_->released(self, epoch, output);
}

void Recorder::note(Event::Kind kind, PeerId peer, std::string what) {
    if (events_) events_->push_back(Event{now(), kind, peer, 0, std::move(what), {}, 0});
}

std::map<std::string, std::uint64_t> message_counts(const std::vector<Event>& events) {
    std::map<std::string, std::uint64_t> counts;
    for (const auto& e : events) {
        if (e.kind != Event::Kind::send) continue;
        ++counts[e.what.substr(0, e.what.find(' '))];
    }
    return counts;
}

}  // namespace tp::sim
