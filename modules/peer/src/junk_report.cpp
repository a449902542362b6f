#include "tp/peer/junk_report.hpp"

#include <algorithm>
#include <stdexcept>

namespace tp::peer {

std::string escape_untrusted(std::string_view bytes, std::size_t max_len) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(std::min(bytes.size(), max_len) + 24);
    std::size_t used = 0;
    for (; used < bytes.size(); ++used) {
        const auto b = static_cast<unsigned char>(bytes[used]);
        char piece[4];
        std::size_t n = 0;
        if (b == '"' || b == '\\') {
            piece[n++] = '\\';
            piece[n++] = static_cast<char>(b);
        } else if (b >= 0x20 && b < 0x7f) {
            piece[n++] = static_cast<char>(b);
        } else {
            piece[n++] = '\\';
            piece[n++] = 'x';
            piece[n++] = hex[b >> 4];
            piece[n++] = hex[b & 0xf];
        }
        if (out.size() + n > max_len) break;
        out.append(piece, n);
    }
    if (used < bytes.size()) out += "... (" + std::to_string(bytes.size()) + " bytes in all)";
    return out;
}

namespace {

struct Noun {
    const char* one;   // with its article: "a malformed datagram"
    const char* unit;  // "malformed datagram", after a count of 1
    const char* many;  // "malformed datagrams"
};

constexpr std::array<Noun, drop_kind_count> nouns{{
    {"a malformed datagram", "malformed datagram", "malformed datagrams"},
    {"a message of an unknown kind", "message of an unknown kind", "messages of an unknown kind"},
    {"a misaddressed datagram", "misaddressed datagram", "misaddressed datagrams"},
    {"a message from the wrong role", "message from the wrong role",
     "messages from the wrong role"},
    {"a message with an implausible epoch", "message with an implausible epoch",
     "messages with an implausible epoch"},
    {"a replayed datagram", "replayed datagram", "replayed datagrams"},
    {"a datagram with a bad MAC", "datagram with a bad MAC", "datagrams with a bad MAC"},
    {"a replication message it refused", "replication message it refused",
     "replication messages it refused"},
}};

std::size_t index(DropKind kind) {
    const auto i = static_cast<std::size_t>(kind);
    if (i >= drop_kind_count) throw std::invalid_argument("JunkReporter: no such DropKind");
    return i;
}

// "1.0 s" from a second up, "250 ms" below (never "0.0 s" for a short interval).
std::string span(JunkReporter::Time d) {
    using namespace std::chrono;
    if (d < seconds(1)) {
        return std::to_string((d + microseconds(500)) / milliseconds(1)) + " ms";
    }
    const auto tenths = (d + milliseconds(50)) / milliseconds(100);
    return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) + " s";
}

}  // namespace

const char* to_string(DropKind kind) noexcept {
    switch (kind) {
        case DropKind::malformed: return "malformed";
        case DropKind::unknown_kind: return "unknown_kind";
        case DropKind::misaddressed: return "misaddressed";
        case DropKind::wrong_role: return "wrong_role";
        case DropKind::implausible_epoch: return "implausible_epoch";
        case DropKind::replay: return "replay";
        case DropKind::bad_mac: return "bad_mac";
        case DropKind::replication_refused: return "replication_refused";
        case DropKind::count_: break;
    }
    return "?";
}

JunkReporter::JunkReporter(Time interval) : interval_(interval) {
    if (interval <= Time{0}) throw std::invalid_argument("JunkReporter: interval must be positive");
}

std::optional<std::string> JunkReporter::note(DropKind kind, std::uint32_t from,
                                              std::string_view detail, Time now) {
    Window& w = windows_[index(kind)];
    ++w.total;
    if (w.open && now - w.start < interval_) {
        ++w.suppressed;
        const auto end = w.peers.begin() + static_cast<std::ptrdiff_t>(w.peer_count);
        if (std::find(w.peers.begin(), end, from) == end) {
            if (w.peer_count < w.peers.size()) {
                w.peers[w.peer_count++] = from;
            } else {
                w.more_peers = true;
            }
        }
        return std::nullopt;
    }
    std::string line = "dropped " + std::string(nouns[index(kind)].one) + " from peer " +
                       std::to_string(from) + ": " + escape_untrusted(detail);
    if (w.open && w.suppressed > 0) line += " (and " + summary(kind, w, now) + ")";
    const std::uint64_t total = w.total;
    w = Window{};
    w.open = true;
    w.start = now;
    w.total = total;
    return line;
}

std::vector<std::string> JunkReporter::flush(Time now) {
    std::vector<std::string> lines;
    for (std::size_t i = 0; i < drop_kind_count; ++i) {
        Window& w = windows_[i];
        if (!w.open || now - w.start < interval_) continue;
        if (w.suppressed > 0) lines.push_back("dropped " + summary(DropKind(i), w, now));
        const std::uint64_t total = w.total;
        w = Window{};
        w.total = total;
    }
    return lines;
}

std::optional<JunkReporter::Time> JunkReporter::next_flush() const noexcept {
    std::optional<Time> next;
    for (const Window& w : windows_) {
        if (w.open && w.suppressed > 0 && (!next || w.start + interval_ < *next)) {
            next = w.start + interval_;
        }
    }
    return next;
}

std::uint64_t JunkReporter::total(DropKind kind) const noexcept {
    const auto i = static_cast<std::size_t>(kind);
    return i < drop_kind_count ? windows_[i].total : 0;
}

// "341 more malformed datagrams from 3 peers in the last 1.0 s"
std::string JunkReporter::summary(DropKind kind, const Window& w, Time now) const {
    const Noun& noun = nouns[index(kind)];
    std::string out = std::to_string(w.suppressed) + " more " +
                      (w.suppressed == 1 ? noun.unit : noun.many) + " from ";
    if (w.more_peers) {
        out += "more than " + std::to_string(w.peers.size()) + " peers";
    } else if (w.peer_count == 1) {
        out += "peer " + std::to_string(w.peers[0]);
    } else {
        out += std::to_string(w.peer_count) + " peers";
    }
    return out + " in the last " + span(now - w.start);
}

}  // namespace tp::peer
