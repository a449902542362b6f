// The configuration's rules between keys: cluster endpoints, hosts and ids, and the money limits
// that keep every legal market inside int64. Each error names file:line:column and the key.
#include <boost/test/unit_test.hpp>

#include <string>

#include "tp/peer/config.hpp"

using tp::peer::Config;
using tp::peer::ConfigError;
using tp::peer::parse_config;
namespace limits = tp::peer::limits;

namespace {

std::string error_of(const std::string& text) {
    try {
        parse_config(text, "test.toml");
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "";
}

std::string validate_error(const Config& c) {
    try {
        tp::peer::validate(c, "command line");
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "";
}

// One [[peer]] table: five lines ([[peer]], id, host, port, blank).
std::string peer_table(unsigned id, const std::string& host, unsigned port) {
    return "[[peer]]\nid = " + std::to_string(id) + "\nhost = \"" + host +
           "\"\nport = " + std::to_string(port) + "\n\n";
}

const std::string two_peers = peer_table(1, "127.0.0.1", 47001) + peer_table(2, "::1", 47001);

}  // namespace

BOOST_AUTO_TEST_SUITE(config_cluster)

BOOST_AUTO_TEST_CASE(a_peer_without_a_port_is_an_error_at_its_table) {
    BOOST_TEST(error_of(two_peers + "[[peer]]\nid = 3\nhost = \"127.0.0.1\"\n") ==
               "test.toml:11:1: key 'peer[2].port': missing: every [[peer]] needs a port");
}

BOOST_AUTO_TEST_CASE(a_peer_without_a_host_or_an_id_is_an_error_at_its_table) {
    BOOST_TEST(error_of(two_peers + "[[peer]]\nid = 3\nport = 47003\n") ==
               "test.toml:11:1: key 'peer[2].host': missing: every [[peer]] needs a host");
    BOOST_TEST(error_of(two_peers + "[[peer]]\nhost = \"127.0.0.1\"\nport = 47003\n") ==
               "test.toml:11:1: key 'peer[2].id': missing: every [[peer]] needs an id");
}

BOOST_AUTO_TEST_CASE(two_peers_on_one_endpoint_are_an_error) {
    BOOST_TEST(error_of(peer_table(1, "127.0.0.1", 47001) + peer_table(2, "127.0.0.1", 47001)) ==
               "test.toml:9:8: key 'peer[1].port': 127.0.0.1 port 47001 is already peer 1's "
               "endpoint (peer[0]); every peer needs its own");
    // The same address spelled another way is the same endpoint.
    BOOST_TEST(error_of(peer_table(7, "127.0.0.1", 47001) + peer_table(2, "::1", 47002) +
                        peer_table(3, "localhost", 47001)) ==
               "test.toml:14:8: key 'peer[2].port': localhost port 47001 is already peer 7's "
               "endpoint (peer[0]); every peer needs its own");
    // One port on two addresses is two endpoints.
    const Config c = parse_config(two_peers + peer_table(3, "127.0.0.2", 47001), "test.toml");
    BOOST_TEST(c.cluster.size() == 3u);
}

BOOST_AUTO_TEST_CASE(duplicate_ids_are_an_error_at_the_second) {
    BOOST_TEST(error_of(two_peers + peer_table(2, "127.0.0.1", 47003)) ==
               "test.toml:12:6: key 'peer[2].id': peer id 2 is listed twice (also peer[1])");
}

BOOST_AUTO_TEST_CASE(bad_hosts_are_errors_at_the_host) {
    BOOST_TEST(error_of(two_peers + peer_table(3, "peer3.example", 47003)) ==
               "test.toml:13:8: key 'peer[2].host': 'peer3.example' is not a numeric IPv4/IPv6 "
               "address or localhost");
    // A wildcard address binds, but no peer can send to it.
    BOOST_TEST(error_of(two_peers + peer_table(3, "0.0.0.0", 47003)) ==
               "test.toml:13:8: key 'peer[2].host': '0.0.0.0' listens on every address but "
               "names none: peers send to this address, so give one they can reach");
    BOOST_TEST(error_of("[network]\nhost = \"my laptop\"\n") ==
               "test.toml:2:8: key 'network.host': 'my laptop' is not a numeric IPv4/IPv6 "
               "address or localhost");
}

BOOST_AUTO_TEST_CASE(peer_ids_fit_the_epochs_leader_bits) {
    const unsigned last = limits::peer_id_limit - 1;
    BOOST_TEST(last == 1'048'575u);
    const Config c = parse_config(peer_table(last, "127.0.0.1", 47000) + two_peers, "test.toml");
    BOOST_TEST(c.cluster[0].id == last);
    BOOST_TEST(error_of(two_peers + peer_table(last + 1, "127.0.0.1", 47003)) ==
               "test.toml:12:6: key 'peer[2].id': 1048576 is too large: peer ids must be below "
               "1048576 (an epoch packs the leader's id in 20 bits)");
}

BOOST_AUTO_TEST_CASE(base_port_leaves_room_for_every_peer) {
    // Peer N of `run` listens on base_port + N; 6 peers from 65529 end at 65535.
    BOOST_TEST(parse_config("[network]\nbase_port = 65529\n").network.base_port == 65529);
    BOOST_TEST(error_of("[network]\nbase_port = 65530\n") ==
               "test.toml:2:13: key 'network.base_port': peer 6 would listen on port 65536, "
               "above 65535 (peer N listens on base_port + N)");
}

BOOST_AUTO_TEST_CASE(validate_checks_what_the_command_line_changed) {
    // After overrides there is no position, but the key is still named.
    Config c = parse_config(two_peers, "test.toml");
    BOOST_TEST(validate_error(c) == "");
    c.cluster.push_back({3, "127.0.0.1", 47001, std::nullopt});
    BOOST_TEST(validate_error(c) ==
               "command line: key 'peer[2].port': 127.0.0.1 port 47001 is already peer 1's "
               "endpoint (peer[0]); every peer needs its own");
    c.cluster.back().port = 0;
    BOOST_TEST(validate_error(c) ==
               "command line: key 'peer[2].port': missing: every [[peer]] "
               "needs a port");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(config_money)

BOOST_AUTO_TEST_CASE(one_sale_or_lot_fits_at_the_limits) {
    // A lot of 1e6 units at 1e12 is 1e18 minor units: inside int64 with margin.
    const Config lot = parse_config(
        "[market]\nprices = { salt = 1000000000000 }\nseller_stock = 1000000\n", "test.toml");
    BOOST_TEST(lot.market.products[0].price == limits::max_price);
    BOOST_TEST(lot.market.seller_stock == limits::max_quantity);
    const Config buy = parse_config("[behaviour]\nmax_buy_quantity = 1000000\n", "test.toml");
    BOOST_TEST(buy.behaviour.max_buy_quantity == limits::max_quantity);
}

BOOST_AUTO_TEST_CASE(prices_and_quantities_beyond_the_limits_are_errors) {
    BOOST_TEST(error_of("[market]\nprices = { salt = 1000000000001 }\n") ==
               "test.toml:2:19: key 'market.prices.salt': must be between 1 and 1000000000000 "
               "(so that no sum of money can overflow)");
    BOOST_TEST(error_of("[market]\nseller_stock = 1000001\n") ==
               "test.toml:2:16: key 'market.seller_stock': must be between 1 and 1000000 (so "
               "that no sum of money can overflow)");
    BOOST_TEST(error_of("[behaviour]\nmax_buy_quantity = 1000001\n") ==
               "test.toml:2:20: key 'behaviour.max_buy_quantity': must be between 1 and 1000000 "
               "(so that no sum of money can overflow)");
    BOOST_TEST(error_of("[behaviour]\nmax_transactions = 1000000001\n") ==
               "test.toml:2:20: key 'behaviour.max_transactions': must be between 0 and "
               "1000000000 (so that no sum of money can overflow)");
}

BOOST_AUTO_TEST_CASE(the_largest_run_fits_up_to_the_turnover_limit) {
    // 2 peers x 5e8 requests x 1e6 units x 1000 = 1e18: exactly the limit, accepted.
    const std::string run =
        "peers = 2\n[behaviour]\nmax_transactions = 500000000\n"
        "max_buy_quantity = 1000000\n[market]\nproducts = [\"salt\"]\n";
    BOOST_TEST(parse_config(run + "prices = { salt = 1000 }\n").market.products[0].price == 1000);
    // One minor unit more per unit and the run's totals could pass 1e18.
    BOOST_TEST(
        error_of(run + "prices = { salt = 1001 }\n") ==
        "test.toml:3:20: key 'behaviour.max_transactions': the largest run these settings allow "
        "could trade 2 peers x 500000000 requests x 1000000 units x 1001 (salt) = "
        "1001000000000000000 minor units, above the limit of 1000000000000000000 that "
        "keeps every total of money from overflowing; lower peers, "
        "behaviour.max_transactions, behaviour.max_buy_quantity or the prices");
}

BOOST_AUTO_TEST_CASE(turnover_beyond_64_bits_is_reported_without_wrapping) {
    // 6 x 20 x 1e6 x 1e12 = 1.2e20 > 2^64; reported at the first key of the rule the file has.
    BOOST_TEST(
        error_of("[behaviour]\nmax_buy_quantity = 1000000\n[market]\n"
                 "prices = { boar = 1000000000000 }\n") ==
        "test.toml:2:20: key 'behaviour.max_buy_quantity': the largest run these settings allow "
        "could trade 6 peers x 20 requests x 1000000 units x 1000000000000 (boar) = more than "
        "2^64 minor units, above the limit of 1000000000000000000 that keeps every total "
        "of money from overflowing; lower peers, behaviour.max_transactions, "
        "behaviour.max_buy_quantity or the prices");
}

BOOST_AUTO_TEST_CASE(validate_applies_the_money_limits_after_overrides) {
    Config c;
    BOOST_TEST(validate_error(c) == "");
    c.behaviour.max_transactions = 4'000'000'000u;  // e.g. --max-transactions
    BOOST_TEST(validate_error(c) ==
               "command line: key 'behaviour.max_transactions': must be between 0 and "
               "1000000000 (so that no sum of money can overflow)");
    c = Config{};
    c.market.commission_ppm = 1'000'001;
    BOOST_TEST(validate_error(c) ==
               "command line: key 'market.commission': must be a rate between 0 and 1");
    c = Config{};
    c.market.products[1].price = limits::max_price + 1;
    BOOST_TEST(validate_error(c) ==
               "command line: key 'market.prices.boar': must be between 1 and 1000000000000 (so "
               "that no sum of money can overflow)");
}

BOOST_AUTO_TEST_SUITE_END()
