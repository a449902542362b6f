#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tp::peer {

// Bytes from the network made safe for a log line: printable ASCII stays, '"' and '\' become \"
// and \\, every other byte (control bytes, DEL, anything above 0x7f) becomes \xNN. The result is
// at most `max_len` characters (an escape is never split); when input is left over it ends in
// "... (N bytes in all)", N being the input's length.
std::string escape_untrusted(std::string_view bytes, std::size_t max_len = 120);

// Why a received datagram was dropped. New kinds go before `count_`.
enum class DropKind : std::uint8_t {
    malformed,          // did not decode
    unknown_kind,       // decoded, but a message kind this build does not know
    misaddressed,       // the envelope's sender or receiver does not match the datagram
    wrong_role,         // e.g. a Payment not from the current trader
    implausible_epoch,  // an epoch no honest member could send
    replay,             // seen before (anti-replay window)
    bad_mac,            // failed authentication
    replication_refused,  // a replication message the replica refused (replication::Refusal)
    count_,
};
inline constexpr std::size_t drop_kind_count = static_cast<std::size_t>(DropKind::count_);

const char* to_string(DropKind kind) noexcept;

// Rate-limited log lines for dropped input, sans-IO: the caller passes `now` (any monotonic
// scale, e.g. the runtime's now().time_since_epoch()) and logs what comes back; nothing here
// reads a clock or logs. Per kind, the first drop of an interval is reported with its escaped
// detail; later ones in the same interval are only counted, and the next line of that kind (the
// next report, or flush) says how many and from how many peers:
//   dropped a malformed datagram from peer 3: too_short: datagram: 5 bytes, need at least 16
//   dropped 341 more malformed datagrams from 3 peers in the last 1.0 s
// Every drop is either reported or counted in a later line. The state is fixed-size: a flood from
// any number of peers cannot grow it.
class JunkReporter {
public:
    using Time = std::chrono::nanoseconds;

    // Counts distinct senders up to this many per interval; beyond, "from more than 16 peers".
    static constexpr std::size_t max_tracked_peers = 16;

    explicit JunkReporter(Time interval = std::chrono::seconds(1));

    // One dropped datagram of `kind` from peer `from`; `detail` is raw and is escaped here.
    // Returns the line to log, or nothing when this one is only counted.
    std::optional<std::string> note(DropKind kind, std::uint32_t from, std::string_view detail,
                                    Time now);

    // Summary lines for every kind whose interval has ended with drops not yet reported, in
    // DropKind order; each such interval is closed. Call it at next_flush() (or periodically).
    std::vector<std::string> flush(Time now);

    // When flush() next has something to say, if ever.
    std::optional<Time> next_flush() const noexcept;

    // Every drop of `kind` noted so far, reported or not.
    std::uint64_t total(DropKind kind) const noexcept;

    Time interval() const noexcept { return interval_; }

private:
    struct Window {
        bool open = false;
        Time start{};
        std::uint64_t suppressed = 0;  // noted since the reported one, not yet in any line
        std::array<std::uint32_t, max_tracked_peers> peers{};  // distinct senders of those
        std::size_t peer_count = 0;
        bool more_peers = false;  // more distinct senders than peers can hold
        std::uint64_t total = 0;
    };

    std::string summary(DropKind kind, const Window& w, Time now) const;

    Time interval_;
    std::array<Window, drop_kind_count> windows_{};
};

}  // namespace tp::peer
