#pragma once

#include <asio/error_code.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <system_error>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "tp/runtime/random.hpp"
#include "tp/runtime/runtime.hpp"
#include "tp/runtime/timer.hpp"
#include "tp/transport/transport.hpp"

namespace tp::transport {

using runtime::Duration;

// How long a datagram takes: fixed + jitter, the jitter uniform in [0, jitter] or exponential
// with mean jitter.
struct Delay {
    enum class Jitter { uniform, exponential };
    Duration fixed{0};
    Duration jitter{0};
    Jitter kind = Jitter::uniform;
};

struct LinkFaults {
    double drop = 0.0;       // probability a datagram is lost
    double duplicate = 0.0;  // probability a second copy is delivered (with its own delay)
    double reorder = 0.0;    // probability a datagram is held back by reorder_delay extra, so
                             // later ones overtake it
    Duration reorder_delay = std::chrono::milliseconds(10);
    Delay delay;
};

struct LinkCounters {
    std::uint64_t sent = 0;
    std::uint64_t delivered = 0;  // copies put into the receiver's inbox
    std::uint64_t dropped = 0;
    std::uint64_t duplicated = 0;
    std::uint64_t reordered = 0;

    LinkCounters& operator+=(const LinkCounters& o) noexcept;
    friend bool operator==(const LinkCounters&, const LinkCounters&) = default;
};

// Why a datagram was dropped: the value of its trace drop event.
enum class DropReason : std::uint8_t {
    loss = 1,         // the drop probability
    cut = 2,          // the link is cut (partition)
    crashed = 3,      // sender or receiver crashed
    unreachable = 4,  // no open endpoint for the receiver
    queue_full = 5,   // the receiver's inbox is full
};

struct MemoryNetworkConfig {
    std::size_t max_datagram = 65507;
    std::size_t inbox_capacity = 1 << 16;  // datagrams queued per endpoint before queue_full
};

class MemoryNetwork;

namespace detail {
// A parked receive's completion handler, type-erased: at most one per endpoint.
struct ParkedReceive {
    virtual ~ParkedReceive() = default;
    // Posts the handler with ec to its executor and frees this.
    virtual void complete(std::error_code ec) = 0;
};
}  // namespace detail

// One peer's Transport on a MemoryNetwork. Its inbox is a plain queue plus at most one parked
// receive: a receive that finds a datagram waiting never suspends (this replaced an
// asio::experimental::channel, which cost about twice as many instructions per hop).
class MemoryEndpoint final : public Transport {
public:
    struct Packet {
        PeerId from = 0;
        std::uint64_t id = 0;
        std::vector<std::byte> data;
    };

    ~MemoryEndpoint() override;
    MemoryEndpoint(const MemoryEndpoint&) = delete;
    MemoryEndpoint& operator=(const MemoryEndpoint&) = delete;

    PeerId self() const noexcept override { return self_; }
    std::size_t max_datagram() const noexcept override;
    asio::awaitable<void> send(PeerId to, std::span<const std::byte> data) override;
    std::size_t try_send_all(std::span<const Outgoing> batch) override;
    asio::awaitable<std::optional<Datagram>> receive(std::span<std::byte> buffer) override;
    std::optional<Datagram> try_receive(std::span<std::byte> buffer) override;
    void close() override;
    bool is_open() const noexcept override { return open_; }

    // Datagrams dropped at receive because the caller's buffer was too small.
    std::uint64_t truncated() const noexcept { return truncated_; }

private:
    friend class MemoryNetwork;
    MemoryEndpoint(MemoryNetwork& network, PeerId self, std::size_t capacity);
    template <typename Token>
    auto async_wait_ready(Token&& token);
    // Queues a packet and wakes the parked receive; false when full or closed.
    bool push(Packet&& packet);
    void wake(std::error_code ec);

    MemoryNetwork* network_;
    PeerId self_;
    std::size_t capacity_;
    bool open_ = true;
    std::uint64_t truncated_ = 0;
    std::deque<Packet> inbox_;
    detail::ParkedReceive* parked_ = nullptr;
};

// An in-process network of endpoints with injected faults, driven by the runtime's time (so
// virtual time drives the delays) and one seeded random stream: with a virtual-time runtime on
// one thread, the same seed gives the same run, recorded in runtime.trace() (every send,
// delivery, drop and duplicate). Settings may change at any time while running.
class MemoryNetwork {
public:
    MemoryNetwork(runtime::Runtime& runtime, runtime::Rng rng, MemoryNetworkConfig config = {});
    ~MemoryNetwork();
    MemoryNetwork(const MemoryNetwork&) = delete;
    MemoryNetwork& operator=(const MemoryNetwork&) = delete;

    // A new endpoint for `peer`. Throws std::invalid_argument if the peer already has a live
    // endpoint, std::logic_error if it is crashed (recover() it first).
    std::unique_ptr<MemoryEndpoint> attach(PeerId peer);

    // Faults for every link without its own setting.
    void set_faults(const LinkFaults& faults) { default_faults_ = faults; }
    const LinkFaults& faults() const noexcept { return default_faults_; }
    void set_link_faults(PeerId from, PeerId to, const LinkFaults& faults);
    void clear_link_faults(PeerId from, PeerId to);

    // Partitions. cut() is one-way: from -> to fails, to -> from still works.
    void cut(PeerId from, PeerId to) { cuts_.insert(key(from, to)); }
    void restore(PeerId from, PeerId to) { cuts_.erase(key(from, to)); }
    bool is_cut(PeerId from, PeerId to) const { return cuts_.contains(key(from, to)); }
    // Cuts every link, both ways, between peers of different groups.
    void partition(const std::vector<std::vector<PeerId>>& groups);
    // Restores every cut link.
    void heal() { cuts_.clear(); }

    // A crashed peer's endpoint is closed (a pending receive returns nullopt) and datagrams to
    // and from it are dropped until recover().
    void crash(PeerId peer);
    void recover(PeerId peer) { crashed_.erase(peer); }
    bool is_crashed(PeerId peer) const { return crashed_.contains(peer); }

    // A paused process (SIGSTOP, a long GC, a VM migration): nothing it sends leaves and nothing
    // sent to it is read until resume(), when its inbound datagrams are delivered (up to its
    // inbox capacity; the rest overflow as from a full socket buffer) and then its outbound ones
    // are sent, as a burst of stale messages. Its memory is kept. A crash ends the pause.
    void pause(PeerId peer);
    void resume(PeerId peer);
    bool is_paused(PeerId peer) const { return paused_.contains(peer); }

    // A datagram that `from` never sent: a forger that can spoof any member's source address
    // (the simulator's hostile member). It takes the same path, faults and trace as any other.
    void inject(PeerId from, PeerId to, std::span<const std::byte> data) {
        send(from, to, data, false);
    }

    // An eavesdropper on the wire (the simulator's outsider): called, in send order, with every
    // datagram a peer's endpoint sends as it leaves the sender (a paused peer's when it
    // resumes), before any fault applies; never for inject()ed ones. The span lives for the
    // call only. An empty function removes the tap.
    using Tap = std::function<void(PeerId from, PeerId to, std::span<const std::byte> data)>;
    void set_tap(Tap tap) { tap_ = std::move(tap); }

    LinkCounters counters(PeerId from, PeerId to) const;
    LinkCounters totals() const;
    // Datagrams delayed and not yet delivered.
    std::size_t in_flight() const noexcept { return in_flight_.size(); }

    runtime::Runtime& runtime() noexcept { return *runtime_; }
    const MemoryNetworkConfig& config() const noexcept { return config_; }

private:
    friend class MemoryEndpoint;
    using Packet = MemoryEndpoint::Packet;
    struct InFlight {
        runtime::TimePoint at;
        std::uint64_t seq;
        PeerId to;
        Packet packet;
    };

    static std::uint64_t key(PeerId from, PeerId to) noexcept {
        return (static_cast<std::uint64_t>(from) << 32) | to;
    }
    void send(PeerId from, PeerId to, std::span<const std::byte> data, bool tapped = true);
    void schedule(PeerId to, Packet packet, Duration delay);
    void deliver(PeerId to, Packet packet);
    void drop(PeerId from, PeerId to, std::uint64_t id, DropReason reason);
    Duration sample_delay(const Delay& delay);
    void arm();
    void deliver_due();
    void detach(MemoryEndpoint* endpoint) noexcept;
    std::vector<std::byte> take_buffer();
    void recycle(std::vector<std::byte>&& buffer);

    runtime::Runtime* runtime_;
    runtime::Rng rng_;
    MemoryNetworkConfig config_;
    LinkFaults default_faults_;
    std::unordered_map<std::uint64_t, LinkFaults> link_faults_;
    std::unordered_set<std::uint64_t> cuts_;
    std::unordered_set<PeerId> crashed_;
    std::unordered_map<PeerId, MemoryEndpoint*> endpoints_;
    mutable std::unordered_map<std::uint64_t, LinkCounters> counters_;
    std::vector<InFlight> in_flight_;  // min-heap on (at, seq)
    std::uint64_t next_id_ = 0;
    std::uint64_t next_seq_ = 0;
    runtime::Timer timer_;
    bool armed_ = false;
    runtime::TimePoint armed_at_{};
    std::vector<std::vector<std::byte>> pool_;  // recycled datagram buffers
    struct Held {
        std::deque<Packet> inbound;
        std::vector<std::pair<PeerId, std::vector<std::byte>>> outbound;  // (to, bytes)
    };
    std::unordered_map<PeerId, Held> paused_;
    Tap tap_;
};

}  // namespace tp::transport
