// Log hygiene for dropped input: escaping bytes from the network, and one line per interval per
// kind with counts. Time is driven explicitly; nothing here reads a clock.
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <optional>
#include <string>

#include "tp/peer/junk_report.hpp"

using namespace std::chrono_literals;
using tp::peer::DropKind;
using tp::peer::escape_untrusted;
using tp::peer::JunkReporter;
using Time = JunkReporter::Time;

namespace {

bool printable_ascii(const std::string& s) {
    for (unsigned char c : s) {
        if (c < 0x20 || c >= 0x7f) return false;
    }
    return true;
}

// The inverse of escape_untrusted (for text that was not cut).
std::string unescape(const std::string& s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '\\') {
            out += s[i];
        } else if (s[i + 1] == 'x') {
            out += static_cast<char>(std::stoi(s.substr(i + 2, 2), nullptr, 16));
            i += 3;
        } else {
            out += s[++i];
        }
    }
    return out;
}

// "... and N more" counted in a line, 0 if it has none.
std::uint64_t more_in(const std::string& line) {
    const auto at = line.find(" more ");
    if (at == std::string::npos) return 0;
    auto digits = at;
    while (digits > 0 && line[digits - 1] >= '0' && line[digits - 1] <= '9') --digits;
    return std::stoull(line.substr(digits, at - digits));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(escape)

BOOST_AUTO_TEST_CASE(printable_ascii_is_kept) {
    BOOST_TEST(escape_untrusted("body.buyResult.fills: 300 elements, limit 256") ==
               "body.buyResult.fills: 300 elements, limit 256");
    BOOST_TEST(escape_untrusted("") == "");
}

BOOST_AUTO_TEST_CASE(control_bytes_and_non_ascii_become_hex) {
    using namespace std::string_literals;
    // A terminal escape, a newline that would forge a log line, a NUL, DEL and UTF-8.
    BOOST_TEST(escape_untrusted("a\x1b[31m\nforged\0b\x7f\xc3\xa9"s) ==
               R"(a\x1b[31m\x0aforged\x00b\x7f\xc3\xa9)");
}

BOOST_AUTO_TEST_CASE(quotes_and_backslashes_are_escaped) {
    BOOST_TEST(escape_untrusted(R"(say "hi" \x41)") == R"(say \"hi\" \\x41)");
}

BOOST_AUTO_TEST_CASE(every_byte_comes_out_printable_and_round_trips) {
    std::string all;
    for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
    const std::string escaped = escape_untrusted(all, 10'000);
    BOOST_TEST(printable_ascii(escaped));
    BOOST_TEST(escaped.find("...") == std::string::npos);
    BOOST_TEST(unescape(escaped) == all);
}

BOOST_AUTO_TEST_CASE(long_input_is_cut_with_its_length) {
    BOOST_TEST(escape_untrusted(std::string(120, 'a')) == std::string(120, 'a'));
    BOOST_TEST(escape_untrusted(std::string(300, 'a')) ==
               std::string(120, 'a') + "... (300 bytes in all)");
    // The limit counts escaped characters, and an escape is never split.
    BOOST_TEST(escape_untrusted(std::string(50, '\x01'), 10) == R"(\x01\x01... (50 bytes in all))");
    BOOST_TEST(escape_untrusted("ab\"", 3) == "ab... (3 bytes in all)");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(junk_reporter)

BOOST_AUTO_TEST_CASE(first_drop_is_reported_with_its_escaped_detail) {
    JunkReporter r;
    const auto line = r.note(DropKind::malformed, 3, "bad_clock: \x1b[2J\n", 5s);
    BOOST_TEST_REQUIRE(line.has_value());
    BOOST_TEST(*line == R"(dropped a malformed datagram from peer 3: bad_clock: \x1b[2J\x0a)");
}

BOOST_AUTO_TEST_CASE(later_drops_in_the_interval_are_counted_then_summarised) {
    JunkReporter r;  // 1 s
    BOOST_TEST(r.note(DropKind::malformed, 3, "first", 10s).has_value());
    for (int i = 0; i < 341; ++i) {
        const Time t = 10s + std::chrono::milliseconds(1 + i * 2);
        BOOST_TEST(!r.note(DropKind::malformed, 3 + i % 3, "junk", t).has_value());
    }
    BOOST_TEST(r.total(DropKind::malformed) == 342u);
    // The interval ends: the next drop is reported, and carries the count of the last one.
    const auto line = r.note(DropKind::malformed, 9, "next", 11s);
    BOOST_TEST_REQUIRE(line.has_value());
    BOOST_TEST(*line ==
               "dropped a malformed datagram from peer 9: next (and 341 more malformed datagrams "
               "from 3 peers in the last 1.0 s)");
    // That count was said once: the following interval starts from nothing.
    BOOST_TEST(!r.note(DropKind::malformed, 9, "again", 11s + 10ms).has_value());
    BOOST_TEST(r.flush(12s) ==
               std::vector<std::string>{
                   "dropped 1 more malformed datagram from peer 9 in the last 1.0 s"});
}

BOOST_AUTO_TEST_CASE(flush_reports_intervals_that_ended_with_unreported_drops) {
    JunkReporter r(250ms);
    BOOST_TEST(!r.next_flush().has_value());
    BOOST_TEST(r.note(DropKind::misaddressed, 2, "says it is from 4 to 9", 0s).has_value());
    // Only the first: nothing to summarise, ever.
    BOOST_TEST(!r.next_flush().has_value());
    BOOST_TEST(r.flush(1s).empty());

    BOOST_TEST(r.note(DropKind::replay, 4, "seq 7", 2s).has_value());
    BOOST_TEST(!r.note(DropKind::replay, 4, "seq 7", 2s + 100ms).has_value());
    BOOST_TEST(!r.note(DropKind::replay, 5, "seq 9", 2s + 200ms).has_value());
    BOOST_TEST_REQUIRE(r.next_flush().has_value());
    BOOST_TEST(r.next_flush()->count() == Time(2s + 250ms).count());
    BOOST_TEST(r.flush(2s + 249ms).empty());  // the interval is not over yet
    BOOST_TEST(r.flush(2s + 250ms) ==
               std::vector<std::string>{"dropped 2 more replayed datagrams from 2 peers in the "
                                        "last 250 ms"});
    BOOST_TEST(!r.next_flush().has_value());
    BOOST_TEST(r.flush(5s).empty());  // said once
    // After a flush the next drop starts a fresh interval and is reported alone.
    BOOST_TEST(*r.note(DropKind::replay, 4, "seq 8", 2s + 300ms) ==
               "dropped a replayed datagram from peer 4: seq 8");
}

BOOST_AUTO_TEST_CASE(kinds_are_limited_separately) {
    JunkReporter r;
    BOOST_TEST(r.note(DropKind::malformed, 1, "x", 0s).has_value());
    BOOST_TEST(!r.note(DropKind::malformed, 1, "x", 1ms).has_value());
    BOOST_TEST(r.note(DropKind::wrong_role, 1, "Payment not from the trader", 2ms).has_value());
    BOOST_TEST(r.note(DropKind::bad_mac, 1, "", 3ms).has_value());
    BOOST_TEST(r.total(DropKind::malformed) == 2u);
    BOOST_TEST(r.total(DropKind::wrong_role) == 1u);
    BOOST_TEST(r.total(DropKind::implausible_epoch) == 0u);
}

BOOST_AUTO_TEST_CASE(many_senders_do_not_grow_the_state) {
    JunkReporter r;
    BOOST_TEST(r.note(DropKind::malformed, 0, "x", 0s).has_value());
    for (std::uint32_t peer = 1; peer <= 1000; ++peer) {
        BOOST_TEST(!r.note(DropKind::malformed, peer, "x", 1ms).has_value());
    }
    BOOST_TEST(r.flush(1s) ==
               std::vector<std::string>{"dropped 1000 more malformed datagrams from more than 16 "
                                        "peers in the last 1.0 s"});
}

BOOST_AUTO_TEST_CASE(a_flood_gives_one_line_per_interval_and_loses_no_count) {
    // Two kinds, a drop every 700 us for 10 s: at most one line per kind per interval, and every
    // drop is either a reported one or counted in some line.
    JunkReporter r(1s);
    std::uint64_t notes = 0;
    std::uint64_t reported = 0;
    std::uint64_t counted = 0;
    std::array<std::vector<Time>, 2> line_times;
    const DropKind kinds[] = {DropKind::malformed, DropKind::implausible_epoch};
    for (Time t{0}; t < 10s; t += 700us) {
        for (int k = 0; k < 2; ++k) {
            ++notes;
            if (auto line =
                    r.note(kinds[k], static_cast<std::uint32_t>(t.count() % 5), "junk", t)) {
                ++reported;
                counted += more_in(*line);
                BOOST_TEST(printable_ascii(*line));
                line_times[k].push_back(t);
            }
        }
        if (r.next_flush() && *r.next_flush() <= t) {
            for (const auto& line : r.flush(t)) counted += more_in(line);
        }
    }
    for (const auto& line : r.flush(20s)) counted += more_in(line);
    BOOST_TEST(reported + counted == notes);
    for (const auto& times : line_times) {
        BOOST_TEST(times.size() >= 9u);
        for (std::size_t i = 1; i < times.size(); ++i) BOOST_TEST((times[i] - times[i - 1] >= 1s));
    }
}

BOOST_AUTO_TEST_SUITE_END()
