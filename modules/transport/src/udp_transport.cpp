#include "tp/transport/udp_transport.hpp"

#include <sys/socket.h>
#include <sys/uio.h>

#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>
#include <algorithm>
#include <array>
#include <cerrno>
#include <stdexcept>
#include <string>
#include <system_error>

namespace tp::transport {

namespace {

using asio::ip::udp;
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

// With MSG_TRUNC, Linux reports a datagram's real length even when it did not fit, which is how
// oversized and truncated datagrams are told apart from ones that exactly fill the buffer.
#ifdef MSG_TRUNC
constexpr int kReceiveFlags = MSG_TRUNC;
#else
constexpr int kReceiveFlags = 0;
#endif

bool would_block(const asio::error_code& ec) {
    return ec == asio::error::would_block || ec == asio::error::try_again;
}

std::string describe(const udp::endpoint& ep) {
    return (ep.address().is_v6() ? "[" + ep.address().to_string() + "]"
                                 : ep.address().to_string()) +
           ":" + std::to_string(ep.port());
}

}  // namespace

UdpTransport::UdpTransport(const asio::any_io_executor& executor, PeerId self,
                           const UdpConfig& config, AddressBook book)
    : self_(self),
      max_datagram_(config.max_datagram),
      book_(std::move(book)),
      socket_(executor),
      receive_batch_(config.receive_batch) {
    if (receive_batch_ == 0 || receive_batch_ > UdpConfig::max_receive_batch)
        throw std::invalid_argument("UdpTransport: receive_batch " +
                                    std::to_string(receive_batch_) + " is not within 1 to " +
                                    std::to_string(UdpConfig::max_receive_batch));
    const udp::endpoint want(parse_host(config.host), config.port);
    asio::error_code ec;
    socket_.open(want.protocol(), ec);
    if (!ec) socket_.bind(want, ec);
    if (ec)
        throw std::system_error(ec, "UdpTransport: cannot bind " + describe(want) + " for peer " +
                                        std::to_string(self));
    if (config.socket_buffer_bytes > 0) {
        // Best effort: the kernel caps these, and a smaller buffer is not an error.
        socket_.set_option(asio::socket_base::receive_buffer_size(config.socket_buffer_bytes), ec);
        socket_.set_option(asio::socket_base::send_buffer_size(config.socket_buffer_bytes), ec);
    }
    socket_.non_blocking(true);
    local_ = socket_.local_endpoint();
}

int UdpTransport::receive_buffer_bytes() const {
    asio::socket_base::receive_buffer_size option;
    socket_.get_option(option);
    return option.value();
}

const udp::endpoint& UdpTransport::destination(PeerId to, std::size_t size) const {
    const udp::endpoint* found = book_.find(to);
    if (found == nullptr)
        throw std::invalid_argument("UdpTransport::send: peer " + std::to_string(to) +
                                    " is not in peer " + std::to_string(self_) + "'s address book");
    if (size > max_datagram_)
        throw std::invalid_argument("UdpTransport::send: datagram of " + std::to_string(size) +
                                    " bytes exceeds the maximum " + std::to_string(max_datagram_));
    return *found;
}

asio::awaitable<void> UdpTransport::send(PeerId to, std::span<const std::byte> data) {
    const udp::endpoint& to_endpoint = destination(to, data.size());
    if (!open_) co_return;
    const auto buffer = asio::buffer(data.data(), data.size());
    asio::error_code ec;
    socket_.send_to(buffer, to_endpoint, 0, ec);
    if (would_block(ec)) {
        // The send buffer is full: wait for room instead of dropping.
        auto [wait_ec, n] = co_await socket_.async_send_to(buffer, to_endpoint, use_tuple);
        ec = wait_ec;
    }
    if (ec) {
        ++stats_.send_errors;
        co_return;
    }
    ++stats_.sent;
    ++stats_.send_calls;
}

asio::awaitable<void> UdpTransport::send_all(std::span<const Outgoing> batch) {
    std::size_t next = try_send_all(batch);
    while (next < batch.size() && open_) {
        // The next one would block: send() waits for room.
        co_await send(batch[next].to, batch[next].data);
        ++next;
        next += try_send_all(batch.subspan(next));
    }
}

std::size_t UdpTransport::try_send_all(std::span<const Outgoing> batch) {
    for (const Outgoing& o : batch) destination(o.to, o.data.size());
    if (!open_) return batch.size();
    std::size_t next = 0;
    while (next < batch.size()) {
#if defined(__linux__)
        if (const std::size_t sent = send_some(batch.subspan(next))) {
            next += sent;
            continue;
        }
#endif
        // sendmmsg stopped at the first datagram: one alone tells why. An error it reported may
        // be an earlier datagram's (an ICMP port unreachable), and then this one goes now.
        asio::error_code ec;
        socket_.send_to(asio::buffer(batch[next].data.data(), batch[next].data.size()),
                        *book_.find(batch[next].to), 0, ec);
        if (would_block(ec)) return next;  // the rest waits for room: send_all
        if (ec) {
            ++stats_.send_errors;
        } else {
            ++stats_.sent;
            ++stats_.send_calls;
        }
        ++next;
    }
    return next;
}

#if defined(__linux__)
std::size_t UdpTransport::send_some(std::span<const Outgoing> batch) {
    // Here, not in send_all's coroutine frame: the frame stays small (and g++ 12 at -O2 with
    // sanitizers draws a false -Wmismatched-new-delete from a large one).
    constexpr std::size_t max_per_call = 64;
    std::array<mmsghdr, max_per_call> messages;
    std::array<iovec, max_per_call> parts;
    const std::size_t n = std::min(batch.size(), max_per_call);
    for (std::size_t i = 0; i < n; ++i) {
        const udp::endpoint& to = *book_.find(batch[i].to);
        parts[i] = iovec{const_cast<std::byte*>(batch[i].data.data()), batch[i].data.size()};
        messages[i] = mmsghdr{};
        messages[i].msg_hdr.msg_name = const_cast<sockaddr*>(to.data());
        messages[i].msg_hdr.msg_namelen = static_cast<socklen_t>(to.size());
        messages[i].msg_hdr.msg_iov = &parts[i];
        messages[i].msg_hdr.msg_iovlen = 1;
    }
    const int sent =
        ::sendmmsg(socket_.native_handle(), messages.data(), static_cast<unsigned>(n), 0);
    if (sent <= 0) return 0;
    stats_.sent += static_cast<std::uint64_t>(sent);
    ++stats_.send_calls;
    return static_cast<std::size_t>(sent);
}
#endif

asio::awaitable<std::optional<Datagram>> UdpTransport::receive(std::span<std::byte> buffer) {
    for (;;) {
        if (auto datagram = try_receive(buffer)) co_return datagram;
        if (!open_) co_return std::nullopt;
        auto [wait_ec] = co_await socket_.async_wait(udp::socket::wait_read, use_tuple);
        if (!open_) co_return std::nullopt;
        if (wait_ec == asio::error::operation_aborted) throw std::system_error(wait_ec);
    }
}

std::optional<Datagram> UdpTransport::try_receive(std::span<std::byte> buffer) {
    while (open_) {
        if (held_next_ == held_count_ && !read_some()) return std::nullopt;
        const std::size_t i = held_next_++;
        const std::size_t n = lengths_[i];
        sender_ = sources_[i];
        if (n > max_datagram_) {
            ++stats_.oversized;
            continue;
        }
        if (n > buffer.size()) {
            ++stats_.truncated;
            continue;
        }
        const auto from = book_.find(sender_);
        if (!from && !accept_strangers_) {
            ++stats_.unknown_sender;
            continue;
        }
        std::copy_n(slot(i), n, buffer.data());
        if (!from) {
            ++stats_.strangers;
            return Datagram{0, n, true};
        }
        ++stats_.received;
        return Datagram{*from, n};
    }
    return std::nullopt;
}

bool UdpTransport::read_some() {
    held_next_ = held_count_ = 0;
    if (!slots_) {
        slots_.reset(new std::byte[receive_batch_ * max_datagram_]);
        lengths_.resize(receive_batch_);
        sources_.resize(receive_batch_);
    }
    while (open_) {
#if defined(__linux__)
        if (receive_batch_ > 1) {
            std::array<mmsghdr, UdpConfig::max_receive_batch> messages;
            std::array<iovec, UdpConfig::max_receive_batch> parts;
            for (std::size_t i = 0; i < receive_batch_; ++i) {
                parts[i] = iovec{slot(i), max_datagram_};
                messages[i] = mmsghdr{};
                messages[i].msg_hdr.msg_name = sources_[i].data();
                messages[i].msg_hdr.msg_namelen = static_cast<socklen_t>(sources_[i].capacity());
                messages[i].msg_hdr.msg_iov = &parts[i];
                messages[i].msg_hdr.msg_iovlen = 1;
            }
            // With MSG_TRUNC each length is the datagram's own, as kReceiveFlags says.
            const int got = ::recvmmsg(socket_.native_handle(), messages.data(),
                                       static_cast<unsigned>(receive_batch_),
                                       MSG_DONTWAIT | kReceiveFlags, nullptr);
            if (got > 0) {
                for (std::size_t i = 0; i < static_cast<std::size_t>(got); ++i) {
                    lengths_[i] = messages[i].msg_len;
                    sources_[i].resize(messages[i].msg_hdr.msg_namelen);
                }
                held_count_ = static_cast<std::size_t>(got);
                ++stats_.receive_calls;
                return true;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
            ++stats_.receive_errors;  // e.g. an ICMP error reported on the socket
            continue;
        }
#endif
        asio::error_code ec;
        lengths_[0] = socket_.receive_from(asio::buffer(slot(0), max_datagram_), sources_[0],
                                           kReceiveFlags, ec);
        if (would_block(ec)) return false;
        if (ec) {
            ++stats_.receive_errors;
            continue;
        }
        held_count_ = 1;
        ++stats_.receive_calls;
        return true;
    }
    return false;
}

void UdpTransport::close() {
    if (!open_) return;
    open_ = false;
    asio::error_code ignored;
    socket_.close(ignored);  // a pending wait completes with operation_aborted
}

}  // namespace tp::transport
