// tp-spoof: what an attacker on the path without the key sends. It forges datagrams "from" one
// member (its UDP source port, on loopback, through a raw socket) to another: a Payment of
// 555,555,555, BuyResults for the request ids a buyer's first life uses, or a Coordinator. Each
// forgery goes twice: as a plain envelope (what the original lab's peers trust) and as an
// authenticated frame with a MAC under a key it does not have. Used by tests/system/spoof_test.sh.
//
//   tp-spoof --from ID:[ADDRESS:]PORT --to ID:[ADDRESS:]PORT --kind payment|result|coordinator
//            [--host 127.0.0.1]   (the address of endpoints that name none)
//            [--epoch E]          (the packed epoch a payment or result claims; default term 1 of
//                                  the sender: a plain-UDP eavesdropper would copy the real one)
//
// Exit status: 0 sent; 77 no permission for a raw socket (not root: the test is skipped); 2 bad
// arguments; 1 a send failed.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tp/auth/frame.hpp"
#include "tp/election/messages.hpp"
#include "tp/wire/codec.hpp"

namespace {

struct Endpoint {
    std::uint32_t id = 0;
    std::uint16_t port = 0;
    std::optional<in_addr> host;  // unset: --host
};

// ID:PORT, or ID:ADDRESS:PORT (a peer on an address of its own).
bool parse_endpoint(const char* text, Endpoint& out) {
    unsigned id = 0, port = 0;
    char address[64] = {};
    if (std::sscanf(text, "%u:%63[0-9.]:%u", &id, address, &port) == 3) {
        in_addr a{};
        if (inet_pton(AF_INET, address, &a) != 1 || port == 0 || port > 65535) return false;
        out = {id, static_cast<std::uint16_t>(port), a};
        return true;
    }
    if (std::sscanf(text, "%u:%u", &id, &port) != 2 || port == 0 || port > 65535) return false;
    out = {id, static_cast<std::uint16_t>(port), std::nullopt};
    return true;
}

// One UDP datagram with a forged source, IPv4 header included (the kernel fills in the checksum
// and total length; a zero UDP checksum means none, legal over IPv4).
bool send_raw(int fd, in_addr from_host, std::uint16_t from_port, in_addr to_host,
              std::uint16_t to_port, const std::vector<std::byte>& payload) {
    std::vector<std::byte> packet(sizeof(iphdr) + sizeof(udphdr) + payload.size());
    iphdr ip{};
    ip.version = 4;
    ip.ihl = 5;
    ip.ttl = 64;
    ip.protocol = IPPROTO_UDP;
    ip.saddr = from_host.s_addr;
    ip.daddr = to_host.s_addr;
    ip.tot_len = htons(static_cast<std::uint16_t>(packet.size()));
    udphdr udp{};
    udp.source = htons(from_port);
    udp.dest = htons(to_port);
    udp.len = htons(static_cast<std::uint16_t>(sizeof(udphdr) + payload.size()));
    std::memcpy(packet.data(), &ip, sizeof ip);
    std::memcpy(packet.data() + sizeof ip, &udp, sizeof udp);
    std::memcpy(packet.data() + sizeof ip + sizeof udp, payload.data(), payload.size());
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr = to_host;
    to.sin_port = htons(to_port);
    return ::sendto(fd, packet.data(), packet.size(), 0, reinterpret_cast<const sockaddr*>(&to),
                    sizeof to) == static_cast<ssize_t>(packet.size());
}

// The envelope as a frame sealed with a key that is not the members'.
std::vector<std::byte> framed(const Endpoint& from, const Endpoint& to,
                              const std::vector<std::byte>& envelope, std::uint64_t sequence) {
    std::vector<std::byte> frame(tp::auth::frame_overhead + envelope.size());
    const tp::auth::Header h{tp::auth::FrameKind::data, from.id, to.id, 1, 1, sequence};
    tp::auth::write_header(h, std::span(frame).first<tp::auth::header_size>());
    std::copy(envelope.begin(), envelope.end(), frame.begin() + tp::auth::header_size);
    const tp::auth::Mac wrong(tp::auth::Key::derive(0x5eed));
    const auto covered = tp::auth::header_size + envelope.size();
    wrong.compute(std::span(frame).first(covered), std::span(frame).subspan(covered).first<32>());
    return frame;
}

}  // namespace

int main(int argc, char** argv) {
    Endpoint from, to;
    std::string kind;
    in_addr host{};
    std::optional<std::uint64_t> epoch_flag;
    inet_pton(AF_INET, "127.0.0.1", &host);
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string_view flag = argv[i];
        if (flag == "--from" && parse_endpoint(argv[i + 1], from)) continue;
        if (flag == "--to" && parse_endpoint(argv[i + 1], to)) continue;
        if (flag == "--kind") {
            kind = argv[i + 1];
            continue;
        }
        if (flag == "--host" && inet_pton(AF_INET, argv[i + 1], &host) == 1) continue;
        if (flag == "--epoch") {
            std::uint64_t e = 0;
            const std::string_view v = argv[i + 1];
            const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), e);
            if (ec == std::errc{} && end == v.data() + v.size()) {
                epoch_flag = e;
                continue;
            }
        }
        std::fprintf(stderr, "tp-spoof: bad argument %s %s\n", argv[i], argv[i + 1]);
        return 2;
    }
    if (from.port == 0 || to.port == 0 || kind.empty() || argc % 2 == 0) {
        std::fprintf(stderr, "usage: tp-spoof --from ID:PORT --to ID:PORT --kind K\n");
        return 2;
    }
    const int fd = ::socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
    if (fd < 0) {
        if (errno == EPERM || errno == EACCES) {
            std::fprintf(stderr, "tp-spoof: no raw sockets without root (CAP_NET_RAW)\n");
            return 77;
        }
        std::fprintf(stderr, "tp-spoof: socket: %s\n", std::strerror(errno));
        return 1;
    }

    // What a trader "from" would send: in its reign (the first, unless told), with a clock far ahead.
    std::vector<tp::wire::Envelope> forged;
    const auto epoch = epoch_flag.value_or(tp::election::make_epoch(1, from.id));
    tp::clock::VectorClock clock;
    clock.set(from.id, 1000);
    if (kind == "payment") {
        forged.push_back({from.id, to.id, epoch, clock,
                          tp::wire::Payment{(std::uint64_t{1} << 62) | 7, 1, 1, 555'555'555}});
    } else if (kind == "result") {
        // A buyer's first life numbers its requests (1 << 32) | n.
        for (std::uint64_t n = 1; n <= 64; ++n) {
            tp::wire::BuyResult r;
            r.request_id = (std::uint64_t{1} << 32) | n;
            r.filled = true;
            r.quantity = 3;
            r.amount = 0;
            forged.push_back({from.id, to.id, epoch, clock, std::move(r)});
        }
    } else if (kind == "coordinator") {
        const auto claim = tp::election::make_epoch(1000, from.id);
        forged.push_back({from.id, to.id, claim, clock, tp::wire::Coordinator{from.id, claim}});
    } else {
        std::fprintf(stderr, "tp-spoof: --kind %s: payment, result or coordinator\n", kind.c_str());
        return 2;
    }
    std::uint64_t sequence = 1u << 20;
    for (const auto& e : forged) {
        const auto plain = tp::wire::encode(e);
        const in_addr from_host = from.host.value_or(host), to_host = to.host.value_or(host);
        if (!send_raw(fd, from_host, from.port, to_host, to.port, plain) ||
            !send_raw(fd, from_host, from.port, to_host, to.port,
                      framed(from, to, plain, ++sequence))) {
            std::fprintf(stderr, "tp-spoof: sendto: %s\n", std::strerror(errno));
            return 1;
        }
    }
    std::printf("tp-spoof: %zu forged %s datagrams as peer %u (port %u) to peer %u (port %u)\n",
                2 * forged.size(), kind.c_str(), from.id, from.port, to.id, to.port);
    ::close(fd);
    return 0;
}
