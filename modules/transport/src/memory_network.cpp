#include "tp/transport/memory_network.hpp"

#include <algorithm>
#include <asio/associated_allocator.hpp>
#include <asio/associated_cancellation_slot.hpp>
#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/cancellation_type.hpp>
#include <asio/error.hpp>
#include <asio/post.hpp>
#include <asio/recycling_allocator.hpp>
#include <asio/use_awaitable.hpp>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>

namespace tp::transport {

using runtime::EventKind;

namespace {

constexpr std::size_t kPoolLimit = 4096;

// Min-heap order on (at, seq) for std::push_heap/pop_heap, which build max-heaps.
struct Later {
    template <typename T>
    bool operator()(const T& a, const T& b) const noexcept {
        return a.at > b.at || (a.at == b.at && a.seq > b.seq);
    }
};

}  // namespace

LinkCounters& LinkCounters::operator+=(const LinkCounters& o) noexcept {
    sent += o.sent;
    delivered += o.delivered;
    dropped += o.dropped;
    duplicated += o.duplicated;
    reordered += o.reordered;
    return *this;
}

// ---- MemoryEndpoint ----

namespace {

template <typename Handler>
struct Parked final : detail::ParkedReceive {
    using allocator_type = typename std::allocator_traits<asio::associated_allocator_t<
        Handler, asio::recycling_allocator<void>>>::template rebind_alloc<Parked>;

    Parked(Handler&& h, asio::any_io_executor fallback)
        : handler(std::move(h)), fallback(std::move(fallback)) {}
    Handler handler;
    asio::any_io_executor fallback;

    void complete(std::error_code ec) override {
        auto slot = asio::get_associated_cancellation_slot(handler);
        if (slot.is_connected()) slot.clear();
        Handler h(std::move(handler));
        auto ex = asio::get_associated_executor(h, fallback);
        allocator_type alloc(asio::get_associated_allocator(h, asio::recycling_allocator<void>()));
        std::allocator_traits<allocator_type>::destroy(alloc, this);
        std::allocator_traits<allocator_type>::deallocate(alloc, this, 1);
        asio::post(ex, [h = std::move(h), ec]() mutable { std::move(h)(ec); });
    }
};

}  // namespace

MemoryEndpoint::MemoryEndpoint(MemoryNetwork& network, PeerId self, std::size_t capacity)
    : network_(&network), self_(self), capacity_(capacity) {}

MemoryEndpoint::~MemoryEndpoint() {
    if (network_) network_->detach(this);
    // Like an asio socket destroyed with an operation pending: the receive completes with
    // operation_aborted (and so never touches this endpoint again).
    wake(asio::error::operation_aborted);
}

// Completes (with no error) when a datagram is queued or the endpoint closes; with
// operation_aborted when cancelled through the handler's cancellation slot.
template <typename Token>
auto MemoryEndpoint::async_wait_ready(Token&& token) {
    return asio::async_initiate<Token, void(std::error_code)>(
        [this](auto handler) {
            using H = decltype(handler);
            using P = Parked<H>;
            typename P::allocator_type alloc(
                asio::get_associated_allocator(handler, asio::recycling_allocator<void>()));
            P* p = std::allocator_traits<typename P::allocator_type>::allocate(alloc, 1);
            std::allocator_traits<typename P::allocator_type>::construct(
                alloc, p, std::move(handler), network_->runtime().get_executor());
            auto slot = asio::get_associated_cancellation_slot(p->handler);
            if (slot.is_connected()) {
                slot.assign([this](asio::cancellation_type type) {
                    if ((type &
                         (asio::cancellation_type::terminal | asio::cancellation_type::partial |
                          asio::cancellation_type::total)) != asio::cancellation_type::none)
                        wake(asio::error::operation_aborted);
                });
            }
            parked_ = p;
        },
        token);
}

void MemoryEndpoint::wake(std::error_code ec) {
    if (auto* p = std::exchange(parked_, nullptr)) p->complete(ec);
}

bool MemoryEndpoint::push(Packet&& packet) {
    if (!open_ || inbox_.size() >= capacity_) return false;
    inbox_.push_back(std::move(packet));
    wake({});
    return true;
}

std::size_t MemoryEndpoint::max_datagram() const noexcept {
    return network_ ? network_->config().max_datagram : 0;
}

asio::awaitable<void> MemoryEndpoint::send(PeerId to, std::span<const std::byte> data) {
    const Outgoing one{to, data};
    try_send_all(std::span(&one, 1));
    co_return;
}

std::size_t MemoryEndpoint::try_send_all(std::span<const Outgoing> batch) {
    // The network never holds a sender up: it delivers, delays, or drops.
    if (network_ == nullptr) return batch.size();
    for (const Outgoing& o : batch) {
        if (o.data.size() > network_->config_.max_datagram)
            throw std::invalid_argument("MemoryEndpoint::send: datagram of " +
                                        std::to_string(o.data.size()) +
                                        " bytes exceeds the maximum " +
                                        std::to_string(network_->config_.max_datagram));
    }
    if (!open_ && !network_->is_crashed(self_)) return batch.size();
    for (const Outgoing& o : batch) network_->send(self_, o.to, o.data);
    return batch.size();
}

asio::awaitable<std::optional<Datagram>> MemoryEndpoint::receive(std::span<std::byte> buffer) {
    for (;;) {
        if (auto datagram = try_receive(buffer)) co_return datagram;
        if (!open_ || network_ == nullptr) co_return std::nullopt;
        if (parked_)
            throw std::logic_error("MemoryEndpoint::receive: peer " + std::to_string(self_) +
                                   " already has a receive pending");
        co_await async_wait_ready(asio::use_awaitable);  // throws when cancelled
    }
}

std::optional<Datagram> MemoryEndpoint::try_receive(std::span<std::byte> buffer) {
    while (!inbox_.empty()) {
        Packet packet = std::move(inbox_.front());
        inbox_.pop_front();
        const std::size_t n = packet.data.size();
        if (n <= buffer.size() && n != 0) std::memcpy(buffer.data(), packet.data.data(), n);
        if (network_) network_->recycle(std::move(packet.data));
        if (n > buffer.size()) {
            ++truncated_;
            continue;
        }
        return Datagram{packet.from, n};
    }
    return std::nullopt;
}

void MemoryEndpoint::close() {
    if (!open_) return;
    open_ = false;
    for (auto& p : inbox_)
        if (network_) network_->recycle(std::move(p.data));
    inbox_.clear();
    wake({});  // a pending receive returns nullopt
}

// ---- MemoryNetwork ----

MemoryNetwork::MemoryNetwork(runtime::Runtime& runtime, runtime::Rng rng,
                             MemoryNetworkConfig config)
    : runtime_(&runtime), rng_(rng), config_(config), timer_(runtime) {}

MemoryNetwork::~MemoryNetwork() {
    for (auto& [peer, endpoint] : endpoints_) {
        endpoint->close();
        endpoint->network_ = nullptr;
    }
}

std::unique_ptr<MemoryEndpoint> MemoryNetwork::attach(PeerId peer) {
    if (endpoints_.contains(peer))
        throw std::invalid_argument("MemoryNetwork::attach: peer " + std::to_string(peer) +
                                    " already has an endpoint");
    if (is_crashed(peer))
        throw std::logic_error("MemoryNetwork::attach: peer " + std::to_string(peer) +
                               " is crashed; recover() it first");
    std::unique_ptr<MemoryEndpoint> endpoint(
        new MemoryEndpoint(*this, peer, config_.inbox_capacity));
    endpoints_.emplace(peer, endpoint.get());
    return endpoint;
}

void MemoryNetwork::detach(MemoryEndpoint* endpoint) noexcept {
    auto it = endpoints_.find(endpoint->self_);
    if (it != endpoints_.end() && it->second == endpoint) endpoints_.erase(it);
}

void MemoryNetwork::set_link_faults(PeerId from, PeerId to, const LinkFaults& faults) {
    link_faults_[key(from, to)] = faults;
}

void MemoryNetwork::clear_link_faults(PeerId from, PeerId to) {
    link_faults_.erase(key(from, to));
}

void MemoryNetwork::partition(const std::vector<std::vector<PeerId>>& groups) {
    for (std::size_t g = 0; g < groups.size(); ++g)
        for (std::size_t h = 0; h < groups.size(); ++h)
            if (g != h)
                for (PeerId a : groups[g])
                    for (PeerId b : groups[h]) cut(a, b);
}

void MemoryNetwork::pause(PeerId peer) {
    if (!is_crashed(peer)) paused_.try_emplace(peer);
}

void MemoryNetwork::resume(PeerId peer) {
    auto it = paused_.find(peer);
    if (it == paused_.end()) return;
    Held held = std::move(it->second);
    paused_.erase(it);
    for (Packet& packet : held.inbound) deliver(peer, std::move(packet));
    for (auto& [to, bytes] : held.outbound) {
        send(peer, to, bytes);
        recycle(std::move(bytes));
    }
}

void MemoryNetwork::crash(PeerId peer) {
    if (auto it = paused_.find(peer); it != paused_.end()) {
        for (Packet& packet : it->second.inbound) recycle(std::move(packet.data));
        paused_.erase(it);
    }
    crashed_.insert(peer);
    if (auto it = endpoints_.find(peer); it != endpoints_.end()) it->second->close();
}

LinkCounters MemoryNetwork::counters(PeerId from, PeerId to) const {
    auto it = counters_.find(key(from, to));
    return it == counters_.end() ? LinkCounters{} : it->second;
}

LinkCounters MemoryNetwork::totals() const {
    LinkCounters total;
    for (const auto& [k, c] : counters_) total += c;
    return total;
}

void MemoryNetwork::drop(PeerId from, PeerId to, std::uint64_t id, DropReason reason) {
    ++counters_[key(from, to)].dropped;
    runtime_->trace().record(runtime_->now(), EventKind::drop, from, to, id,
                             static_cast<std::uint64_t>(reason));
}

void MemoryNetwork::send(PeerId from, PeerId to, std::span<const std::byte> data, bool tapped) {
    if (auto it = paused_.find(from); it != paused_.end()) {
        // Not sent yet: it leaves when the sender runs again.
        std::vector<std::byte> bytes = take_buffer();
        bytes.assign(data.begin(), data.end());
        it->second.outbound.emplace_back(to, std::move(bytes));
        return;
    }
    if (tapped && tap_) tap_(from, to, data);
    const std::uint64_t id = ++next_id_;
    auto& counters = counters_[key(from, to)];
    ++counters.sent;
    runtime_->trace().record(runtime_->now(), EventKind::send, from, to, id, data.size());
    if (is_crashed(from) || is_crashed(to)) return drop(from, to, id, DropReason::crashed);
    if (is_cut(from, to)) return drop(from, to, id, DropReason::cut);

    auto it = link_faults_.find(key(from, to));
    const LinkFaults& f = it == link_faults_.end() ? default_faults_ : it->second;
    // Always the same draws in the same order, whatever the probabilities: a run depends only on
    // the seed and the settings.
    const bool lost = rng_.bernoulli(f.drop);
    const bool duplicated = rng_.bernoulli(f.duplicate);
    if (lost) return drop(from, to, id, DropReason::loss);

    Duration delay = sample_delay(f.delay);
    if (f.reorder > 0 && rng_.bernoulli(f.reorder)) {
        ++counters.reordered;
        delay += f.reorder_delay;
    }
    if (duplicated) {
        ++counters.duplicated;
        runtime_->trace().record(runtime_->now(), EventKind::duplicate, from, to, id, data.size());
        Packet copy{from, id, take_buffer()};
        copy.data.assign(data.begin(), data.end());
        schedule(to, std::move(copy), sample_delay(f.delay));
    }
    Packet packet{from, id, take_buffer()};
    packet.data.assign(data.begin(), data.end());
    schedule(to, std::move(packet), delay);
}

Duration MemoryNetwork::sample_delay(const Delay& d) {
    Duration delay = d.fixed;
    if (d.jitter > Duration::zero()) {
        if (d.kind == Delay::Jitter::uniform) {
            delay += Duration(static_cast<Duration::rep>(
                rng_.uniform_int(0, static_cast<std::uint64_t>(d.jitter.count()))));
        } else {
            delay += Duration(static_cast<Duration::rep>(
                std::llround(rng_.exponential(static_cast<double>(d.jitter.count())))));
        }
    }
    return delay;
}

void MemoryNetwork::schedule(PeerId to, Packet packet, Duration delay) {
    if (delay <= Duration::zero()) return deliver(to, std::move(packet));
    in_flight_.push_back(InFlight{runtime_->now() + delay, next_seq_++, to, std::move(packet)});
    std::push_heap(in_flight_.begin(), in_flight_.end(), Later{});
    arm();
}

void MemoryNetwork::deliver(PeerId to, Packet packet) {
    const PeerId from = packet.from;
    const std::uint64_t id = packet.id;
    if (is_crashed(to)) {
        recycle(std::move(packet.data));
        return drop(from, to, id, DropReason::crashed);
    }
    if (auto held = paused_.find(to); held != paused_.end()) {
        // Waits in the socket buffer until the receiver runs again.
        if (held->second.inbound.size() >= config_.inbox_capacity) {
            recycle(std::move(packet.data));
            return drop(from, to, id, DropReason::queue_full);
        }
        held->second.inbound.push_back(std::move(packet));
        return;
    }
    auto it = endpoints_.find(to);
    if (it == endpoints_.end() || !it->second->open_) {
        recycle(std::move(packet.data));
        return drop(from, to, id, DropReason::unreachable);
    }
    const std::size_t size = packet.data.size();
    // push leaves the packet alone when it fails.
    if (!it->second->push(std::move(packet))) {
        recycle(std::move(packet.data));
        return drop(from, to, id, DropReason::queue_full);
    }
    ++counters_[key(from, to)].delivered;
    runtime_->trace().record(runtime_->now(), EventKind::deliver, from, to, id, size);
}

void MemoryNetwork::arm() {
    if (in_flight_.empty()) return;
    const auto next = in_flight_.front().at;
    if (armed_ && armed_at_ <= next) return;
    armed_ = true;
    armed_at_ = next;
    timer_.expires_at(next);  // aborts the wait for a later deadline, if any
    timer_.async_wait([this](std::error_code ec) {
        // An aborted wait was replaced, or the network is being destroyed: touch nothing.
        if (ec) return;
        armed_ = false;
        deliver_due();
        arm();
    });
}

void MemoryNetwork::deliver_due() {
    const auto now = runtime_->now();
    while (!in_flight_.empty() && in_flight_.front().at <= now) {
        std::pop_heap(in_flight_.begin(), in_flight_.end(), Later{});
        InFlight item = std::move(in_flight_.back());
        in_flight_.pop_back();
        deliver(item.to, std::move(item.packet));
    }
}

std::vector<std::byte> MemoryNetwork::take_buffer() {
    if (pool_.empty()) return {};
    auto buffer = std::move(pool_.back());
    pool_.pop_back();
    return buffer;
}

void MemoryNetwork::recycle(std::vector<std::byte>&& buffer) {
    if (pool_.size() < kPoolLimit && buffer.capacity() != 0) {
        buffer.clear();
        pool_.push_back(std::move(buffer));
    }
}

}  // namespace tp::transport
