#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "tp/peer/node.hpp"
#include "tp/runtime/runtime.hpp"
#include "tp/sim/simulation.hpp"

namespace tp::sim {

// Observes every peer of a market (NodeContext::observer): forwards each observation to `next`
// (the checker, or null) and, when `events` is given, keeps it as an Event for the ShiViz log,
// the diagram and the message counts. Times are kept relative to `origin` (a run over UDP has
// real steady time; a simulation's virtual time starts at zero).
class Recorder final : public peer::NodeObserver {
public:
    Recorder(runtime::Runtime& rt, peer::NodeObserver* next, std::vector<Event>* events,
             TimePoint origin = {});

    void sent(const peer::Node& self, const wire::Envelope& e) override;
    void received(const peer::Node& self, const wire::Envelope& e) override;
    void became_trader(const peer::Node& self, wire::Epoch epoch, const market::Books& books,
                       std::uint64_t durable) override;
    void persisted(const peer::Node& self, wire::Epoch epoch, const market::Event& event,
                   std::uint64_t lsn) override;
    void proposed(const peer::Node& self, wire::Epoch epoch, const market::Event& event,
                  std::uint64_t lsn) override;
    void synced(const peer::Node& self, std::uint64_t lsn) override;
    void released(const peer::Node& self, wire::Epoch epoch,
                  const market::Output& output) override;

    // An event of the run itself (a crash, a restart...), now.
    void note(Event::Kind kind, PeerId peer, std::string what);

private:
    TimePoint now() const;

    runtime::Runtime& rt_;
    peer::NodeObserver* next_;
    std::vector<Event>* events_;
    TimePoint origin_;
    std::uint64_t next_message_ = 0;
    std::map<std::tuple<PeerId, PeerId, clock::Counter>, std::uint64_t> messages_;
};

// "Buy request 4294967297 product 2 x3" for a message body: its kind, then what identifies it.
std::string describe(const wire::Body& body);

// How many messages of each kind were sent (the first word of each send's text), by kind name.
std::map<std::string, std::uint64_t> message_counts(const std::vector<Event>& events);

}  // namespace tp::sim
