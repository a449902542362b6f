#include "tp/transport/tcp_transport.hpp"

#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <algorithm>
#include <array>
#include <cstring>
#include <deque>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>

namespace tp::transport {

namespace {

using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
using Clock = std::chrono::steady_clock;
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

constexpr std::size_t frame_header = 4;
constexpr std::size_t hello_size = 8;
constexpr std::size_t initial_rx_bytes = 8 << 10;
constexpr std::array<std::byte, 4> hello_magic = {std::byte{'T'}, std::byte{'P'}, std::byte{'t'},
                                                  std::byte{'1'}};

void put_u32(std::byte* out, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out[i] = static_cast<std::byte>(v >> (8 * i));
}

std::uint32_t get_u32(const std::byte* in) {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= std::to_integer<std::uint32_t>(in[i]) << (8 * i);
    return v;
}

bool would_block(const asio::error_code& ec) {
    return ec == asio::error::would_block || ec == asio::error::try_again;
}

std::string describe(const tcp::endpoint& ep) {
    return (ep.address().is_v6() ? "[" + ep.address().to_string() + "]"
                                 : ep.address().to_string()) +
           ":" + std::to_string(ep.port());
}

// Internal coroutines catch their own errors; one that escapes is a bug and ends run().
void rethrow(std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
}

}  // namespace

namespace tcp_detail {

// One connection to a peer, dialed or accepted. Replaced, never reused: a coroutine holding an
// old one finds it closed.
struct Conn {
    Conn(const asio::any_io_executor& ex, PeerId peer, bool outbound)
        : socket(ex), room(ex), peer(peer), outbound(outbound) {}

    tcp::socket socket;
    asio::steady_timer room;  // wakes the reader waiting for room in rx
    PeerId peer;
    bool outbound;  // dialed by us
    bool stranger = false;          // accepted from an id in no book (accept_strangers)
    asio::ip::address remote;       // a stranger's connecting address
    bool connected = false;
    bool closed = false;
    bool retired = false;  // the second connection of a pair: no new frames, read until shut
    bool writing = false;  // the writer coroutine owns wbuf
    bool queued = false;   // in Impl::ready
    bool touched = false;  // in Impl::touched (send_all flushes it)
    bool reader_waiting = false;
    std::vector<std::byte> tx;  // frames to write; tx_sent of them written already
    std::size_t tx_sent = 0;
    std::vector<std::byte> wbuf;  // what the writer coroutine is writing
    std::vector<std::byte> rx;    // bytes read, frames from rx_begin to rx_end
    std::size_t rx_begin = 0, rx_end = 0;

    std::size_t available() const { return rx_end - rx_begin; }
    // The length of the next frame, once its header is here.
    std::uint32_t next_length() const { return get_u32(rx.data() + rx_begin); }
    bool has_frame() const {
        return available() >= frame_header && available() >= frame_header + next_length();
    }
    // No room to read into, even after moving what is there to the front.
    bool full() const { return rx_begin == 0 && rx_end == rx.size() && has_frame(); }
};

}  // namespace tcp_detail

using tcp_detail::Conn;

struct TcpTransport::Impl : std::enable_shared_from_this<TcpTransport::Impl> {
    struct Link {
        std::shared_ptr<Conn> conn;  // dialing, or established
        Clock::time_point retry_at{};
        Clock::duration backoff{};
    };

    Impl(const asio::any_io_executor& ex, PeerId self, const TcpConfig& config, AddressBook book)
        : ex(ex),
          self(self),
          config(config),
          book(std::move(book)),
          acceptor(ex),
          signal(ex),
          closing(ex, asio::steady_timer::time_point::max()) {}

    asio::any_io_executor ex;
    PeerId self;
    TcpConfig config;
    AddressBook book;
    tcp::acceptor acceptor;
    asio::ip::address local_address;  // what the acceptor is bound to
    std::uint16_t port = 0;
    asio::steady_timer signal;   // wakes the waiting receive
    asio::steady_timer closing;  // cancelled by close(): ends the handshakes waiting for a hello
    std::unordered_map<PeerId, Link> links;
    std::deque<std::shared_ptr<Conn>> ready;  // connections holding a whole frame
    std::vector<std::shared_ptr<Conn>> touched;
    std::size_t handshakes = 0;
    bool accept_strangers = false;
    std::deque<std::weak_ptr<Conn>> strangers;  // stranger connections, oldest first
    std::optional<asio::ip::udp::endpoint> stranger_from;  // of the last frame handed up
    bool open = true;
    bool warmed = false;
    TcpStats stats;

    void validate(PeerId to, std::size_t size) const {
        if (book.find(to) == nullptr)
            throw std::invalid_argument("TcpTransport::send: peer " + std::to_string(to) +
                                        " is not in peer " + std::to_string(self) +
                                        "'s address book");
        if (size > config.max_datagram)
            throw std::invalid_argument("TcpTransport::send: datagram of " + std::to_string(size) +
                                        " bytes exceeds the maximum " +
                                        std::to_string(config.max_datagram));
    }

    // Queues a frame for `to`, dialing when there is no connection; marks its connection for
    // flush().
    void enqueue(PeerId to, std::span<const std::byte> data) {
        Link& link = links[to];
        // A stranger's connection speaks for the id only from the address the book now has for
        // it: anyone may claim an id nobody knew, and must not receive that peer's frames.
        if (link.conn && link.conn->stranger) {
            const asio::ip::udp::endpoint* known = book.find(to);
            if (known != nullptr && !known->address().is_unspecified() &&
                known->address() != link.conn->remote) {
                ++stats.strangers_evicted;
                const std::shared_ptr<Conn> impostor = std::move(link.conn);
                drop(impostor);
                link.retry_at = {};  // dialed at once, at the book's address
            }
        }
        if (!connect(to, link)) {
            ++stats.unreachable;
            return;
        }
        Conn& conn = *link.conn;
        if (conn.tx.size() - conn.tx_sent + frame_header + data.size() > config.queue_bytes) {
            ++stats.queue_full;
            return;
        }
        const std::size_t at = conn.tx.size();
        conn.tx.resize(at + frame_header + data.size());
        put_u32(conn.tx.data() + at, static_cast<std::uint32_t>(data.size()));
        if (!data.empty()) std::memcpy(conn.tx.data() + at + frame_header, data.data(), data.size());
        ++stats.sent;
        if (!conn.touched) {
            conn.touched = true;
            touched.push_back(link.conn);
        }
    }

    // The link's connection, dialing one when there is none and the backoff allows; false when
    // it does not.
    bool connect(PeerId to, Link& link) {
        if (link.conn) return true;
        if (Clock::now() < link.retry_at) return false;
        link.conn = std::make_shared<Conn>(ex, to, true);
        asio::co_spawn(ex, dial(shared_from_this(), link.conn), rethrow);
        // The dial runs until it first waits: a socket it cannot open or bind (out of
        // descriptors, say) has failed it already.
        return link.conn != nullptr;
    }

    // Once, when receiving starts: dials every peer of the book with a higher id. A pair keeps
    // the connection its lower id dialed, so each pair is dialed once, and before a first
    // election needs it (a market of n peers otherwise dials n(n-1)/2 connections at the
    // moment its first Elections go out, and their Oks come too late).
    void warm() {
        if (warmed) return;
        warmed = true;
        for (PeerId peer : book.peers()) {
            if (peer > self) connect(peer, links[peer]);
        }
    }

    void flush_touched() {
        for (auto& conn : touched) {
            conn->touched = false;
            flush(conn);
        }
        touched.clear();
    }

    // Writes what is queued at once when the socket takes it; the writer coroutine waits for
    // room for the rest.
    void flush(const std::shared_ptr<Conn>& conn) {
        if (!conn->connected || conn->closed || conn->writing || conn->tx_sent == conn->tx.size())
            return;
        asio::error_code ec;
        const std::size_t n = conn->socket.write_some(
            asio::buffer(conn->tx.data() + conn->tx_sent, conn->tx.size() - conn->tx_sent), ec);
        ++stats.send_calls;
        if (ec && !would_block(ec)) {
            drop(conn);
            return;
        }
        conn->tx_sent += n;
        if (conn->tx_sent == conn->tx.size()) {
            conn->tx.clear();
            conn->tx_sent = 0;
            return;
        }
        conn->writing = true;
        asio::co_spawn(ex, write_loop(shared_from_this(), conn), rethrow);
    }

    // Closes a connection; its peer may be dialed again after backoff_min.
    void drop(const std::shared_ptr<Conn>& conn) {
        if (conn->closed) return;
        conn->closed = true;
        if (conn->connected && open) ++stats.disconnects;
        asio::error_code ignored;
        conn->socket.close(ignored);
        conn->room.cancel();
        const auto it = links.find(conn->peer);
        if (it != links.end() && it->second.conn == conn) {
            it->second.conn.reset();
            it->second.retry_at = Clock::now() + config.backoff_min;
        }
    }

    // A connection that lost the tie-break, or that a newer one from the same peer replaces,
    // takes no new frames; what is queued on it is written, then its sending side is shut, and
    // it is read until the other side shuts its own: nothing sent on it is lost.
    void retire(const std::shared_ptr<Conn>& conn) {
        conn->retired = true;
        if (!conn->connected) {
            drop(conn);
            return;
        }
        if (!conn->writing && conn->tx_sent == conn->tx.size()) shut(conn);
    }

    void shut(const std::shared_ptr<Conn>& conn) {
        asio::error_code ignored;
        conn->socket.shutdown(tcp::socket::shutdown_send, ignored);
    }

    // Makes room at the end of rx: moves what is there to the front, or grows the buffer for a
    // frame larger than it. False when it is full of whole frames.
    bool make_room(Conn& conn) {
        if (conn.rx_begin == conn.rx_end) conn.rx_begin = conn.rx_end = 0;
        if (conn.rx_end < conn.rx.size()) return true;
        if (conn.rx_begin > 0) {
            std::memmove(conn.rx.data(), conn.rx.data() + conn.rx_begin, conn.available());
            conn.rx_end -= conn.rx_begin;
            conn.rx_begin = 0;
            return true;
        }
        if (conn.has_frame()) return false;
        // One frame larger than the buffer: grow to hold it, and then some (at most two of the
        // largest frames).
        const std::size_t need = frame_header + conn.next_length();
        conn.rx.resize(std::min(std::max(2 * conn.rx.size(), need),
                                2 * (frame_header + config.max_datagram)));
        return true;
    }

    // Reads what the socket holds, without waiting, until it is empty or rx is full of whole
    // frames. False when the connection ended or broke (and was dropped). Reads are synchronous,
    // here and nowhere else, so receive() may pull too (try_receive) and the offsets stay true.
    bool pull(const std::shared_ptr<Conn>& conn) {
        while (!conn->closed && make_room(*conn)) {
            const std::size_t room = conn->rx.size() - conn->rx_end;
            asio::error_code ec;
            const std::size_t n =
                conn->socket.read_some(asio::buffer(conn->rx.data() + conn->rx_end, room), ec);
            if (would_block(ec)) return true;
            if (ec) {
                drop(conn);
                return false;
            }
            conn->rx_end += n;
            if (!check_next(conn)) return false;
            if (n < room) return true;  // the socket had less than the room: it is empty now
        }
        return !conn->closed;
    }

    // False (and the connection dropped, what it holds discarded) when the next frame's header
    // is here and bad.
    bool check_next(const std::shared_ptr<Conn>& conn) {
        if (conn->available() < frame_header) return true;
        const std::uint32_t length = conn->next_length();
        if (length != 0 && length <= config.max_datagram) return true;
        ++stats.malformed;
        conn->rx_begin = conn->rx_end;
        drop(conn);
        return false;
    }

    void offer(const std::shared_ptr<Conn>& conn) {
        if (conn->queued || !conn->has_frame()) return;
        conn->queued = true;
        ready.push_back(conn);
        signal.cancel();
    }

    std::size_t established() const {
        std::size_t n = 0;
        for (const auto& [peer, link] : links) n += link.conn && link.conn->connected;
        return n;
    }

    // An identified inbound connection: kept unless ours, dialed by the lower id, wins. A
    // stranger's (from an id in no book) is kept too, the oldest closed beyond max_strangers.
    void adopt(PeerId peer, tcp::socket socket, std::optional<asio::ip::address> stranger) {
        Link& link = links[peer];
        std::shared_ptr<Conn> old = link.conn;
        auto conn = std::make_shared<Conn>(ex, peer, false);
        conn->socket = std::move(socket);
        if (stranger) {
            conn->stranger = true;
            conn->remote = *stranger;
            std::erase_if(strangers, [](const auto& c) {
                const auto held = c.lock();
                return !held || held->closed;
            });
            while (strangers.size() >= std::max<std::size_t>(config.max_strangers, 1)) {
                if (const auto oldest = strangers.front().lock()) {
                    ++stats.strangers_evicted;
                    drop(oldest);
                }
                strangers.pop_front();
            }
            strangers.push_back(conn);
        }
        if (old && old->outbound && self < peer) {
            // Ours, dialed by the lower id, wins; theirs is read until they shut it.
            ++stats.superseded;
            start(conn);
            retire(conn);
            return;
        }
        if (old) {
            // Frames still waiting for a dial go out on this connection instead.
            if (!old->connected) std::swap(conn->tx, old->tx);
            ++stats.superseded;
            link.conn.reset();
            retire(old);
        }
        link.conn = conn;
        link.backoff = {};
        ++stats.accepted;
        start(conn);
    }

    // A connection becomes established: reading starts and what was queued is written.
    void start(const std::shared_ptr<Conn>& conn) {
        asio::error_code ignored;
        conn->socket.set_option(tcp::no_delay(true), ignored);
        conn->socket.non_blocking(true, ignored);
        conn->connected = true;
        // Small at first: a market of n peers holds up to n - 1 connections per peer, and most
        // frames are a few hundred bytes. It grows for a larger frame (read_loop).
        conn->rx.resize(initial_rx_bytes);
        asio::co_spawn(ex, read_loop(shared_from_this(), conn), rethrow);
        flush(conn);
    }

    // receive()'s part: the next whole frame that was read, copied into `buffer`.
    std::optional<Datagram> take(std::span<std::byte> buffer);
    // Pulls what waits in every connection's socket; true when a frame is ready after it.
    bool poll();

    static asio::awaitable<void> accept_loop(std::shared_ptr<Impl> self);
    static asio::awaitable<void> handshake(std::shared_ptr<Impl> self, tcp::socket socket);
    static asio::awaitable<void> dial(std::shared_ptr<Impl> self, std::shared_ptr<Conn> conn);
    static asio::awaitable<void> read_loop(std::shared_ptr<Impl> self, std::shared_ptr<Conn> conn);
    static asio::awaitable<void> write_loop(std::shared_ptr<Impl> self,
                                            std::shared_ptr<Conn> conn);
};

asio::awaitable<void> TcpTransport::Impl::accept_loop(std::shared_ptr<Impl> self) {
    try {
        while (self->open) {
            auto [ec, socket] = co_await self->acceptor.async_accept(use_tuple);
            if (!self->open) co_return;
            if (ec) {
                // Out of descriptors, say: wait a little rather than spin.
                asio::steady_timer pause(self->ex, std::chrono::milliseconds(10));
                co_await pause.async_wait(use_tuple);
                continue;
            }
            if (self->handshakes >= self->config.max_handshakes) {
                ++self->stats.rejected;
                continue;
            }
            ++self->handshakes;
            asio::co_spawn(self->ex, handshake(self, std::move(socket)), rethrow);
        }
    } catch (const std::exception&) {
        // Closed under us: nothing to accept any more.
    }
}

asio::awaitable<void> TcpTransport::Impl::handshake(std::shared_ptr<Impl> self,
                                                    tcp::socket socket) {
    std::array<std::byte, hello_size> hello{};
    bool said = false;
    try {
        asio::steady_timer timeout(self->ex, self->config.hello_timeout);
        auto result = co_await (asio::async_read(socket, asio::buffer(hello), use_tuple) ||
                                timeout.async_wait(use_tuple) ||
                                self->closing.async_wait(use_tuple));
        said = result.index() == 0 && !std::get<0>(std::get<0>(result));
    } catch (const std::exception&) {
    }
    --self->handshakes;
    if (!self->open) co_return;
    const PeerId peer = get_u32(hello.data() + 4);
    const asio::ip::udp::endpoint* known = self->book.find(peer);
    asio::error_code ec;
    const tcp::endpoint from = socket.remote_endpoint(ec);
    const bool stranger = known == nullptr && self->accept_strangers && peer != 0;
    const bool good = said && !ec && std::memcmp(hello.data(), hello_magic.data(), 4) == 0 &&
                      peer != self->self &&
                      (stranger || (known != nullptr && (known->address().is_unspecified() ||
                                                         known->address() == from.address())));
    if (!good) {
        ++self->stats.rejected;
        co_return;
    }
    self->adopt(peer, std::move(socket),
                stranger ? std::optional<asio::ip::address>(from.address()) : std::nullopt);
}

asio::awaitable<void> TcpTransport::Impl::dial(std::shared_ptr<Impl> self,
                                               std::shared_ptr<Conn> conn) {
    bool connected = false;
    try {
        const asio::ip::udp::endpoint& known = *self->book.find(conn->peer);
        const tcp::endpoint to(known.address(), known.port());
        // From the address this peer listens on, which is where the acceptor looks it up (a
        // host with several addresses would otherwise pick one by route).
        asio::error_code ec;
        conn->socket.open(to.protocol(), ec);
        const asio::ip::address& local = self->local_address;
        if (!ec && !local.is_unspecified() && local.is_v6() == to.address().is_v6())
            conn->socket.bind(tcp::endpoint(local, 0), ec);
        if (!ec) {
            asio::steady_timer timeout(self->ex, self->config.connect_timeout);
            auto result = co_await (conn->socket.async_connect(to, use_tuple) ||
                                    timeout.async_wait(use_tuple));
            connected = result.index() == 0 && !std::get<0>(std::get<0>(result));
        }
    } catch (const std::exception&) {
    }
    if (conn->closed || !self->open) co_return;  // superseded by an inbound connection, or closed
    Link& link = self->links[conn->peer];
    if (!connected) {
        ++self->stats.connect_failures;
        conn->closed = true;
        asio::error_code ignored;
        conn->socket.close(ignored);
        link.conn.reset();
        link.backoff = link.backoff == Clock::duration{}
                           ? Clock::duration(self->config.backoff_min)
                           : std::min<Clock::duration>(2 * link.backoff, self->config.backoff_max);
        link.retry_at = Clock::now() + link.backoff;
        co_return;
    }
    ++self->stats.connects;
    link.backoff = {};
    // The hello goes ahead of every frame queued while dialing.
    std::array<std::byte, hello_size> hello;
    std::memcpy(hello.data(), hello_magic.data(), 4);
    put_u32(hello.data() + 4, self->self);
    conn->tx.insert(conn->tx.begin(), hello.begin(), hello.end());
    self->start(conn);
}

asio::awaitable<void> TcpTransport::Impl::read_loop(std::shared_ptr<Impl> self,
                                                    std::shared_ptr<Conn> conn) {
    try {
        while (!conn->closed) {
            if (!self->pull(conn)) co_return;
            self->offer(conn);
            if (conn->full()) {
                // Full of whole frames: wait until receive() takes some.
                conn->reader_waiting = true;
                conn->room.expires_at(asio::steady_timer::time_point::max());
                co_await conn->room.async_wait(use_tuple);
                conn->reader_waiting = false;
                continue;
            }
            auto [ec] = co_await conn->socket.async_wait(tcp::socket::wait_read, use_tuple);
            if (conn->closed) co_return;
            if (ec) {
                self->drop(conn);
                co_return;
            }
        }
    } catch (const std::exception&) {
        self->drop(conn);
    }
}

asio::awaitable<void> TcpTransport::Impl::write_loop(std::shared_ptr<Impl> self,
                                                     std::shared_ptr<Conn> conn) {
    try {
        while (!conn->closed && conn->tx_sent < conn->tx.size()) {
            // Sends go on appending to tx while wbuf is written.
            std::swap(conn->tx, conn->wbuf);
            const std::size_t from = std::exchange(conn->tx_sent, 0);
            conn->tx.clear();
            auto [ec, n] = co_await asio::async_write(
                conn->socket, asio::buffer(conn->wbuf.data() + from, conn->wbuf.size() - from),
                use_tuple);
            conn->wbuf.clear();
            ++self->stats.send_calls;
            if (ec) {
                self->drop(conn);
                break;
            }
        }
    } catch (const std::exception&) {
        self->drop(conn);
    }
    conn->writing = false;
    if (conn->retired && !conn->closed) self->shut(conn);
}

TcpTransport::TcpTransport(const asio::any_io_executor& executor, PeerId self,
                           const TcpConfig& config, AddressBook book)
    : impl_(std::make_shared<Impl>(executor, self, config, std::move(book))) {
    const tcp::endpoint want(parse_host(config.host), config.port);
    asio::error_code ec;
    tcp::acceptor& acceptor = impl_->acceptor;
    acceptor.open(want.protocol(), ec);
    // A restarted peer binds its port again while its old connections linger in TIME_WAIT.
    if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor.bind(want, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
        throw std::system_error(ec, "TcpTransport: cannot listen on " + describe(want) +
                                        " for peer " + std::to_string(self));
    impl_->port = acceptor.local_endpoint().port();
    impl_->local_address = want.address();
    asio::co_spawn(executor, Impl::accept_loop(impl_), rethrow);
}

TcpTransport::~TcpTransport() { close(); }

PeerId TcpTransport::self() const noexcept { return impl_->self; }
std::size_t TcpTransport::max_datagram() const noexcept { return impl_->config.max_datagram; }
bool TcpTransport::is_open() const noexcept { return impl_->open; }
std::uint16_t TcpTransport::local_port() const { return impl_->port; }
AddressBook& TcpTransport::address_book() noexcept { return impl_->book; }
void TcpTransport::accept_strangers(bool on) noexcept { impl_->accept_strangers = on; }
std::optional<asio::ip::udp::endpoint> TcpTransport::stranger_source() const {
    return impl_->stranger_from;
}
const TcpStats& TcpTransport::stats() const noexcept { return impl_->stats; }
std::size_t TcpTransport::connections() const noexcept { return impl_->established(); }

asio::awaitable<void> TcpTransport::send(PeerId to, std::span<const std::byte> data) {
    impl_->validate(to, data.size());
    if (!impl_->open) co_return;
    impl_->enqueue(to, data);
    impl_->flush_touched();
}

asio::awaitable<void> TcpTransport::send_all(std::span<const Outgoing> batch) {
    try_send_all(batch);
    co_return;
}

std::size_t TcpTransport::try_send_all(std::span<const Outgoing> batch) {
    // Sending never waits: a connection's queue takes the frame, or it is dropped and counted.
    for (const Outgoing& o : batch) impl_->validate(o.to, o.data.size());
    if (!impl_->open) return batch.size();
    for (const Outgoing& o : batch) impl_->enqueue(o.to, o.data);
    impl_->flush_touched();
    return batch.size();
}

std::optional<Datagram> TcpTransport::try_receive(std::span<std::byte> buffer) {
    if (auto datagram = impl_->take(buffer)) return datagram;
    // What is still in the sockets was said before now too: a driver judging silence at a
    // deadline must see it even when the readers have not run yet (after a stall of the loop,
    // the timers and the sockets are ready together).
    if (!impl_->poll()) return std::nullopt;
    return impl_->take(buffer);
}

std::optional<Datagram> TcpTransport::try_receive_at_hand(std::span<std::byte> buffer) {
    return impl_->take(buffer);
}

bool TcpTransport::Impl::poll() {
    bool any = false;
    for (auto& [peer, link] : links) {
        const std::shared_ptr<Conn> conn = link.conn;
        if (!conn || !conn->connected || conn->closed) continue;
        if (pull(conn)) {
            offer(conn);
            any = any || conn->queued;
        }
    }
    return any;
}

std::optional<Datagram> TcpTransport::Impl::take(std::span<std::byte> buffer) {
    Impl& s = *this;
    while (s.open && !s.ready.empty()) {
        std::shared_ptr<Conn> conn = std::move(s.ready.front());
        s.ready.pop_front();
        conn->queued = false;
        // A closed connection's whole frames were received before it closed: they count.
        if (!conn->has_frame()) continue;
        const std::size_t length = conn->next_length();
        const std::byte* frame = conn->rx.data() + conn->rx_begin + frame_header;
        const bool fits = length <= buffer.size();
        if (fits) std::memcpy(buffer.data(), frame, length);
        conn->rx_begin += frame_header + length;
        if (conn->reader_waiting) conn->room.cancel();
        // Round robin: a connection with more goes behind the others.
        if (s.check_next(conn)) s.offer(conn);
        if (!fits) {
            ++s.stats.truncated;
            continue;
        }
        ++s.stats.received;
        if (conn->stranger && s.book.find(conn->peer) == nullptr) {
            // Whoever the bytes claim to be: the caller checks, as with a UDP stranger.
            ++s.stats.strangers;
            s.stranger_from = asio::ip::udp::endpoint(conn->remote, 0);
            return Datagram{0, length, true};
        }
        return Datagram{conn->peer, length};
    }
    return std::nullopt;
}

asio::awaitable<std::optional<Datagram>> TcpTransport::receive(std::span<std::byte> buffer) {
    const std::shared_ptr<Impl> s = impl_;  // the transport may go while this waits
    if (s->open) s->warm();
    for (;;) {
        if (auto datagram = s->take(buffer)) co_return datagram;
        if (!s->open) co_return std::nullopt;
        s->signal.expires_at(asio::steady_timer::time_point::max());
        co_await s->signal.async_wait(use_tuple);
        if (!s->open) co_return std::nullopt;
        // The signal is cancelled both to wake this and when the caller cancels the receive.
        const asio::cancellation_state state = co_await asio::this_coro::cancellation_state;
        if (state.cancelled() != asio::cancellation_type::none)
            throw std::system_error(asio::error::operation_aborted);
    }
}

void TcpTransport::close() {
    Impl& s = *impl_;
    if (!s.open) return;
    s.open = false;
    asio::error_code ignored;
    s.acceptor.close(ignored);
    for (auto& [peer, link] : s.links) {
        if (link.conn) {
            const auto conn = link.conn;
            s.drop(conn);
        }
    }
    s.ready.clear();
    s.signal.cancel();
    s.closing.cancel();
}

}  // namespace tp::transport
