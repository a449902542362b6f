// The log reads as prose (issue 14): short lot and request ids, quantities and prices in buys,
// singular and plural right, the election's messages at debug level, the level of warnings and
// errors shown, the seed's own lines unchanged.
#include <boost/test/unit_test.hpp>

#include <spdlog/details/log_msg.h>
#include <spdlog/sinks/ostream_sink.h>

#include <algorithm>
#include <cctype>
#include <sstream>
#include <string>

#include "market_fixture.hpp"
#include "tp/peer/ids.hpp"

using namespace tp::system_test;
namespace peer = tp::peer;

namespace {

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

// The message of a line of the seed's shape "DD.MM.YYYY HH:MM:SS.mmm [peer 3] message", or
// "(not the seed's shape)". (No std::regex: g++ 12 warns inside it under -O2 and sanitizers.)
std::string message_of(std::string line) {
    const std::string shape = "dd.dd.dddd dd:dd:dd.ddd [peer 3] ";
    if (!line.empty() && line.back() == '\n') line.pop_back();
    if (line.size() < shape.size()) return "(not the seed's shape)";
    for (std::size_t i = 0; i < shape.size(); ++i) {
        const bool ok = shape[i] == 'd' ? std::isdigit(static_cast<unsigned char>(line[i])) != 0
                                        : line[i] == shape[i];
        if (!ok) return "(not the seed's shape)";
    }
    return line.substr(shape.size());
}

// The longest run of digits: a raw 64-bit id would be ten or more.
std::size_t longest_number(const std::string& text) {
    std::size_t longest = 0, run = 0;
    for (char c : text) {
        run = std::isdigit(static_cast<unsigned char>(c)) != 0 ? run + 1 : 0;
        longest = std::max(longest, run);
    }
    return longest;
}

std::string formatted(spdlog::level::level_enum level, const std::string& text) {
    const spdlog::details::log_msg msg("peer 3", level, text);
    spdlog::memory_buf_t out;
    peer::make_log_formatter()->format(msg, out);
    return fmt::to_string(out);
}

// Copies what some peers log (through the real formatter) into a string, for one test.
class Captured {
public:
    explicit Captured(std::vector<PeerId> peers) : peers_(std::move(peers)) {
        sink_ = std::make_shared<spdlog::sinks::ostream_sink_st>(out_);
        sink_->set_formatter(peer::make_log_formatter());
        for (PeerId id : peers_) peer::peer_logger(id)->sinks().push_back(sink_);
    }
    ~Captured() {
        for (PeerId id : peers_) {
            auto& sinks = peer::peer_logger(id)->sinks();
            sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
        }
    }
    std::string text() const { return out_.str(); }

private:
    std::vector<PeerId> peers_;
    std::ostringstream out_;
    std::shared_ptr<spdlog::sinks::ostream_sink_st> sink_;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(log_text)

BOOST_AUTO_TEST_CASE(ids_print_as_incarnation_dot_counter) {
    BOOST_TEST(peer::short_id((std::uint64_t{6} << 32) | 3) == "6.3");
    BOOST_TEST(peer::lot_text((std::uint64_t{6} << 32) | 3) == "lot 6.3");
    BOOST_TEST(peer::request_text((std::uint64_t{2} << 32) | 17) == "req 2.17");
    // A wall-clock incarnation (a peer process) and the largest counter stay two short numbers.
    BOOST_TEST(peer::short_id((std::uint64_t{732249601} << 32) | 0xffff'ffffu) ==
               "732249601.4294967295");
}

BOOST_AUTO_TEST_CASE(plural_is_singular_for_exactly_one) {
    BOOST_TEST(peer::plural(0, "unit") == "0 units");
    BOOST_TEST(peer::plural(1, "unit") == "1 unit");
    BOOST_TEST(peer::plural(2, "trader") == "2 traders");
}

BOOST_AUTO_TEST_CASE(warnings_and_errors_name_their_level_info_keeps_the_seed_shape) {
    BOOST_TEST(message_of(formatted(spdlog::level::info, "bought 3 fish from 2 for 27")) ==
               "bought 3 fish from 2 for 27");
    BOOST_TEST(message_of(formatted(spdlog::level::debug, "asks peer 4 to elect")) ==
               "asks peer 4 to elect");
    BOOST_TEST(message_of(formatted(spdlog::level::warn, "the trader refused lot 6.3")) ==
               "warning: the trader refused lot 6.3");
    BOOST_TEST(message_of(formatted(spdlog::level::err, "cannot open the journal")) ==
               "error: cannot open the journal");
}

// Peer 1 sells, 2 buys, 3 (the highest id) trades.
BOOST_AUTO_TEST_CASE(a_market_logs_buys_payments_and_the_election_readably) {
    Market m(TransportKind::memory, {Role::seller, Role::buyer, Role::buyer});
    Captured log({1, 2, 3});
    peer::configure_logging({spdlog::level::debug, false});
    BOOST_REQUIRE(m.settle_on(3));
    m.deposit(1, salt, 10, 3);
    const auto p = m.buy(2, salt, 3);
    BOOST_REQUIRE(p.filled);
    BOOST_REQUIRE(m.run_until([&] { return m.node(1).seller().earned > 0; }));
    const auto one_unit = m.buy(2, salt, 1);
    BOOST_REQUIRE(one_unit.filled);
    BOOST_REQUIRE(m.run_until([&] { return m.node(1).seller().sold == 4; }));
    const auto refused = m.buy(2, tp::system_test::fish, 2);
    BOOST_REQUIRE(!refused.filled);
    peer::configure_logging({spdlog::level::warn, true});
    const std::string text = log.text();
    BOOST_TEST_MESSAGE(text);

    // The seed's required lines, unchanged.
    BOOST_TEST(contains(text,
                        "[peer 3] Dear buyers and sellers, My ID is 3, and I am the new "
                        "coordinator"));
    // Quantity, product, seller and amount; a refusal with quantity and reason.
    BOOST_TEST(contains(text, "[peer 2] bought 3 salt from 1 for 9\n"));
    BOOST_TEST(contains(text, "[peer 2] bought 1 salt from 1 for 3\n"));
    BOOST_TEST(contains(text, "[peer 2] could not buy 2 fish: no_seller"));
    // Lots as incarnation.counter (a LocalMarket peer's first life is incarnation 1), plural right.
    BOOST_TEST(contains(text, " for 3 units of lot 1.1\n"));
    BOOST_TEST(contains(text, " for 1 unit of lot 1.1\n"));
    BOOST_TEST(!contains(text, "1 units"));
    // The election at debug level, epochs as term:leader (the first term is 1): the highest
    // peer announces itself and the others follow it.
    BOOST_TEST(contains(text, "[peer 3] tells peers 1, 2 it leads (epoch 1:3)"));
    BOOST_TEST(contains(text, "[peer 2] follows peer 3 (epoch 1:3)"));
    // No raw 64-bit ids anywhere (a date's year is the longest number).
    BOOST_TEST(longest_number(text) <= 4u);
}

BOOST_AUTO_TEST_SUITE_END()
