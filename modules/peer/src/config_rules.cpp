#include "config_rules.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <set>
#include <stdexcept>
#include <utility>

#include "tp/transport/address_book.hpp"

namespace tp::peer {

namespace detail {

// The arithmetic of limits:: in config.hpp.
static_assert(std::int64_t{limits::max_quantity} * limits::max_price <= limits::max_turnover);
static_assert(limits::max_turnover <= std::numeric_limits<std::int64_t>::max() / 4);
static_assert(std::uint64_t{limits::max_peers} < limits::peer_id_limit);

namespace {

std::optional<Finding> finding(std::string key, std::string what) {
    return Finding{{std::move(key)}, std::move(what)};
}

std::string peer_key(std::size_t index, std::string_view field) {
    return "peer[" + std::to_string(index) + "]." + std::string(field);
}

// a x b, or nothing when it exceeds uint64.
std::optional<std::uint64_t> times(std::uint64_t a, std::uint64_t b) {
    std::uint64_t product = 0;
    if (__builtin_mul_overflow(a, b, &product)) return std::nullopt;
    return product;
}

// The largest legal run's turnover (see limits in config.hpp), or a finding when it is too large.
std::optional<Finding> check_turnover(const Config& c) {
    const Product* dearest = &c.market.products.front();
    for (const auto& p : c.market.products) {
        if (p.price > dearest->price) dearest = &p;
    }
    std::optional<std::uint64_t> turnover = c.peers;
    for (std::uint64_t factor :
         {std::uint64_t{c.behaviour.max_transactions}, std::uint64_t{c.behaviour.max_buy_quantity},
          static_cast<std::uint64_t>(dearest->price)}) {
        if (turnover) turnover = times(*turnover, factor);
    }
    if (turnover && *turnover <= static_cast<std::uint64_t>(limits::max_turnover)) {
        return std::nullopt;
    }
    Finding f;
    f.keys = {"behaviour.max_transactions", "behaviour.max_buy_quantity",
              "market.prices." + dearest->name, c.cluster.empty() ? "peers" : "peer"};
    f.what = "the largest run these settings allow could trade " + std::to_string(c.peers) +
             " peers x " + std::to_string(c.behaviour.max_transactions) + " requests x " +
             std::to_string(c.behaviour.max_buy_quantity) + " units x " +
             std::to_string(dearest->price) + " (" + dearest->name +
             ") = " + (turnover ? std::to_string(*turnover) : "more than 2^64") +
             " minor units, above the limit of " + std::to_string(limits::max_turnover) +
             " that keeps every total of money from overflowing; lower peers, " +
             "behaviour.max_transactions, behaviour.max_buy_quantity or the prices";
    return f;
}

// Parses a host as the transport will; "" when it is good, else why not.
std::string bad_host(const std::string& host) {
    try {
        if (tp::transport::parse_host(host).is_unspecified()) {
            return "'" + host + "' listens on every address but names none: peers send to " +
                   "this address, so give one they can reach";
        }
    } catch (const std::invalid_argument&) {
        return "'" + host + "' is not a numeric IPv4/IPv6 address or localhost";
    }
    return {};
}

std::optional<Finding> check_cluster(const Config& c) {
    const auto& cluster = c.cluster;
    if (cluster.size() > limits::max_peers) {
        return finding(peer_key(limits::max_peers, "id"),
                       "a cluster has at most " + std::to_string(limits::max_peers) + " peers");
    }
    std::map<PeerIdValue, std::size_t> ids;
    // Keyed by the parsed address, so "localhost" and "127.0.0.1" are one host.
    std::map<std::pair<std::string, std::uint16_t>, std::size_t> endpoints;
    for (std::size_t i = 0; i < cluster.size(); ++i) {
        const PeerSpec& p = cluster[i];
        if (p.id >= limits::peer_id_limit) {
            return finding(peer_key(i, "id"), std::to_string(p.id) +
                                                  " is too large: peer ids must be below " +
                                                  std::to_string(limits::peer_id_limit) +
                                                  " (an epoch packs the leader's id in 20 bits)");
        }
        if (auto [it, fresh] = ids.emplace(p.id, i); !fresh) {
            return finding(peer_key(i, "id"), "peer id " + std::to_string(p.id) +
                                                  " is listed twice (also peer[" +
                                                  std::to_string(it->second) + "])");
        }
        if (p.host.empty()) {
            return finding(peer_key(i, "host"), "missing: every [[peer]] needs a host");
        }
        if (auto why = bad_host(p.host); !why.empty()) return finding(peer_key(i, "host"), why);
        if (p.port == 0)
            return finding(peer_key(i, "port"), "missing: every [[peer]] needs a port");
        const auto address = tp::transport::parse_host(p.host).to_string();
        if (auto [it, fresh] = endpoints.emplace(std::pair{address, p.port}, i); !fresh) {
            const PeerSpec& other = cluster[it->second];
            return finding(peer_key(i, "port"),
                           p.host + " port " + std::to_string(p.port) + " is already peer " +
                               std::to_string(other.id) + "'s endpoint (peer[" +
                               std::to_string(it->second) + "]); every peer needs its own");
        }
    }
    return std::nullopt;
}

}  // namespace

std::optional<Finding> check(const Config& c) {
    const std::string peers_key = c.cluster.empty() ? "peers" : "peer";
    if (c.peers < 2) {
        return finding(peers_key,
                       "at least 2 peers are needed (a trader and someone to trade with)");
    }
    if (c.peers > limits::max_peers) {
        return finding(peers_key, "at most " + std::to_string(limits::max_peers) + " peers");
    }
    if (!c.roles.empty() && c.roles.size() != c.peers) {
        return finding("roles", "lists " + std::to_string(c.roles.size()) + " roles for " +
                                    std::to_string(c.peers) + " peers");
    }
    const auto& products = c.market.products;
    if (products.empty()) return finding("market.products", "no products");
    if (products.size() > 65535) return finding("market.products", "more than 65535 products");
    std::set<std::string> names;
    for (std::size_t i = 0; i < products.size(); ++i) {
        const Product& p = products[i];
        const std::string key = "market.products[" + std::to_string(i) + "]";
        if (!names.insert(p.name).second) {
            return finding(key, "product '" + p.name + "' is listed twice");
        }
        if (p.price <= 0) {
            return finding(key, "product '" + p.name + "' has no price in 'market.prices'");
        }
        if (p.price > limits::max_price) {
            return finding("market.prices." + p.name, "must be between 1 and " +
                                                          std::to_string(limits::max_price) + " (" +
                                                          std::string(money_limit) + ")");
        }
    }
    if (c.market.commission_ppm > 1'000'000) {
        return finding("market.commission", "must be a rate between 0 and 1");
    }
    auto in_range = [&](std::uint64_t value, std::uint64_t min, std::uint64_t max,
                        const char* key) -> std::optional<Finding> {
        if (value >= min && value <= max) return std::nullopt;
        return finding(key, "must be between " + std::to_string(min) + " and " +
                                std::to_string(max) + " (" + std::string(money_limit) + ")");
    };
    if (auto f = in_range(c.market.seller_stock, 1, limits::max_quantity, "market.seller_stock")) {
        return f;
    }
    if (auto f = in_range(c.behaviour.max_buy_quantity, 1, limits::max_quantity,
                          "behaviour.max_buy_quantity")) {
        return f;
    }
    if (auto f = in_range(c.behaviour.max_transactions, 0, limits::max_transactions,
                          "behaviour.max_transactions")) {
        return f;
    }
    if (auto f = check_turnover(c)) return f;
    if (c.election.heartbeat_interval <= Duration{0}) {
        return finding("election.heartbeat_interval", "must be positive");
    }
    if (c.election.election_timeout <= c.election.heartbeat_interval) {
        return finding("election.election_timeout",
                       "must be longer than 'election.heartbeat_interval'");
    }
    if (c.behaviour.request_timeout <= Duration{0}) {
        return finding("behaviour.request_timeout", "must be positive");
    }
    if (c.failure.probability && !(*c.failure.probability >= 0.0 && *c.failure.probability <= 1.0)) {
        return finding("failure.probability", "must be between 0 and 1");
    }
    if (c.failure.time_quantum <= Duration{0}) {
        return finding("failure.time_quantum", "must be positive");
    }
    for (const auto& [key, rate] : {std::pair{"churn.join_rate", c.churn.join_rate},
                                    std::pair{"churn.leave_rate", c.churn.leave_rate}}) {
        if (!(rate >= 0 && rate <= Config::Churn::max_rate)) {
            return finding(key, "must be between 0 and 1000 per second");
        }
    }
    if (c.replication.retry <= Duration{0}) {
        return finding("replication.retry", "must be positive");
    }
    if (c.replication.quorum_timeout <= c.replication.retry) {
        return finding("replication.quorum_timeout",
                       "must be longer than 'replication.retry' (a quorum's acks need a round)");
    }
    if (const std::string dir = c.storage.state_dir.string();
        std::count(dir.begin(), dir.end(), '{') != std::count(dir.begin(), dir.end(), '}') ||
        std::count(dir.begin(), dir.end(), '{') > 1 ||
        (dir.find('{') != std::string::npos && dir.find("{id}") == std::string::npos)) {
        return finding("storage.state_dir",
                       "names a template other than {id} (at most one, as in \"state/peer-{id}\")");
    }
    if (auto why = bad_host(c.network.host); !why.empty()) return finding("network.host", why);
    // In one process, peer N listens on base_port + N (N = 1..peers).
    if (c.network.base_port != 0 && std::uint32_t{c.network.base_port} + c.peers > 65535) {
        return finding("network.base_port",
                       "peer " + std::to_string(c.peers) + " would listen on port " +
                           std::to_string(std::uint32_t{c.network.base_port} + c.peers) +
                           ", above 65535 (peer N listens on base_port + N)");
    }
    return check_cluster(c);
}

}  // namespace detail

void validate(const Config& c, std::string_view source) {
    if (auto f = detail::check(c)) {
        throw ConfigError(std::string(source) + ": key '" + f->keys.front() + "': " + f->what);
    }
}

}  // namespace tp::peer
