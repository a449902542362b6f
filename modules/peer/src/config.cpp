#include "tp/peer/config.hpp"

#include <fmt/core.h>
#include <toml++/toml.h>

#include "config_rules.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

namespace tp::peer {

const char* to_string(Role role) noexcept {
    switch (role) {
        case Role::buyer: return "buyer";
        case Role::seller: return "seller";
        case Role::both: return "both";
    }
    return "?";
}

const char* to_string(SecurityMode mode) noexcept {
    return mode == SecurityMode::on ? "on" : "off";
}

const char* to_string(ReplicationMode mode) noexcept {
    return mode == ReplicationMode::quorum ? "quorum" : "shared";
}

std::filesystem::path state_dir_of(const Config& config, std::uint32_t id) {
    const std::string dir = config.storage.state_dir.string();
    if (const auto at = dir.find("{id}"); at != std::string::npos) {
        std::string own = dir;
        own.replace(at, 4, std::to_string(id));
        return own;
    }
    return config.storage.state_dir / ("peer-" + std::to_string(id));
}

Duration parse_duration(std::string_view text) {
    auto fail = [&] {
        throw std::invalid_argument("'" + std::string(text) +
                                    "' is not a duration such as \"100ms\", \"2s\" or \"1m\"");
    };
    if (text == "0") return Duration{0};
    std::size_t unit_at = 0;
    while (unit_at < text.size() &&
           ((text[unit_at] >= '0' && text[unit_at] <= '9') || text[unit_at] == '.')) {
        ++unit_at;
    }
    if (unit_at == 0) fail();
    double value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + unit_at, value);
    if (ec != std::errc{} || end != text.data() + unit_at) fail();
    const std::string_view unit = text.substr(unit_at);
    double ns_per_unit = 0;
    if (unit == "ns") {
        ns_per_unit = 1;
    } else if (unit == "us") {
        ns_per_unit = 1e3;
    } else if (unit == "ms") {
        ns_per_unit = 1e6;
    } else if (unit == "s") {
        ns_per_unit = 1e9;
    } else if (unit == "m" || unit == "min") {
        ns_per_unit = 60e9;
    } else if (unit == "h") {
        ns_per_unit = 3600e9;
    } else {
        fail();
    }
    const double ns = std::round(value * ns_per_unit);
    if (!(ns < 9.2e18)) fail();
    return Duration{static_cast<std::int64_t>(ns)};
}

std::string format_duration(Duration d) {
    const auto ns = d.count();
    if (ns == 0) return "0";
    if (ns % 3'600'000'000'000 == 0) return std::to_string(ns / 3'600'000'000'000) + "h";
    if (ns % 60'000'000'000 == 0) return std::to_string(ns / 60'000'000'000) + "m";
    if (ns % 1'000'000'000 == 0) return std::to_string(ns / 1'000'000'000) + "s";
    if (ns % 1'000'000 == 0) return std::to_string(ns / 1'000'000) + "ms";
    if (ns % 1'000 == 0) return std::to_string(ns / 1'000) + "us";
    return std::to_string(ns) + "ns";
}

namespace {

// Walks one TOML table, reads typed keys and remembers which it used, so that whatever is left
// over is reported as unknown. Every error names source, line, column and the dotted key.
class TableReader {
public:
    TableReader(const toml::table& table, std::string_view source, std::string prefix)
        : table_(table), source_(source), prefix_(std::move(prefix)) {}

    template <typename F>
    void with(std::string_view key, F&& read) {
        used_.insert(std::string(key));
        if (const toml::node* node = table_.get(key)) read(*node, dotted(key));
    }

    [[noreturn]] void fail(const toml::node& node, const std::string& key,
                           const std::string& what) const {
        throw ConfigError(where(node.source()) + ": key '" + key + "': " + what);
    }

    std::string where(const toml::source_region& region) const {
        std::ostringstream out;
        out << source_ << ':' << region.begin.line << ':' << region.begin.column;
        return out.str();
    }

    std::string dotted(std::string_view key) const {
        return prefix_.empty() ? std::string(key) : prefix_ + "." + std::string(key);
    }

    // `why`, if given, says why the range is what it is.
    template <typename T>
    void integer(std::string_view key, T& out, std::int64_t min, std::int64_t max,
                 std::string_view why = {}) {
        with(key, [&](const toml::node& node, const std::string& name) {
            auto v = node.value_exact<std::int64_t>();
            if (!v) fail(node, name, "expected an integer");
            if (*v < min || *v > max) {
                fail(node, name,
                     "must be between " + std::to_string(min) + " and " + std::to_string(max) +
                         (why.empty() ? "" : " (" + std::string(why) + ")"));
            }
            out = static_cast<T>(*v);
        });
    }

    // `given`, when asked for: whether the key was there at all.
    void probability(std::string_view key, double& out, bool* given = nullptr) {
        with(key, [&](const toml::node& node, const std::string& name) {
            auto v = node.value<double>();
            if (!v) fail(node, name, "expected a number between 0 and 1");
            if (!(*v >= 0.0 && *v <= 1.0)) fail(node, name, "must be between 0 and 1");
            out = *v;
            if (given) *given = true;
        });
    }

    void number(std::string_view key, double& out, double min, double max) {
        with(key, [&](const toml::node& node, const std::string& name) {
            auto v = node.value<double>();
            if (!v) fail(node, name, "expected a number");
            if (!(*v >= min && *v <= max)) {
                fail(node, name, fmt::format("must be between {} and {}", min, max));
            }
            out = *v;
        });
    }

    void boolean(std::string_view key, bool& out) {
        with(key, [&](const toml::node& node, const std::string& name) {
            auto v = node.value_exact<bool>();
            if (!v) fail(node, name, "expected true or false");
            out = *v;
        });
    }

    void string(std::string_view key, std::string& out) {
        with(key, [&](const toml::node& node, const std::string& name) {
            auto v = node.value_exact<std::string>();
            if (!v) fail(node, name, "expected a string");
            out = *v;
        });
    }

    void duration(std::string_view key, Duration& out) {
        with(key, [&](const toml::node& node, const std::string& name) {
            auto v = node.value_exact<std::string>();
            if (!v) fail(node, name, "expected a duration string such as \"100ms\" or \"2s\"");
            try {
                out = parse_duration(*v);
            } catch (const std::invalid_argument& e) {
                fail(node, name, e.what());
            }
        });
    }

    template <typename E, std::size_t N>
    void choice(std::string_view key, E& out, const std::pair<const char*, E> (&options)[N]) {
        with(key, [&](const toml::node& node, const std::string& name) {
            auto v = node.value_exact<std::string>();
            std::string allowed;
            for (const auto& [text, value] : options) {
                if (v && *v == text) {
                    out = value;
                    return;
                }
                allowed += allowed.empty() ? "" : ", ";
                allowed += '"' + std::string(text) + '"';
            }
            fail(node, name, "expected one of " + allowed);
        });
    }

    // A sub-table, read by `read(TableReader&)`.
    template <typename F>
    void table(std::string_view key, F&& read) {
        with(key, [&](const toml::node& node, const std::string& name) {
            const toml::table* t = node.as_table();
            if (!t) fail(node, name, "expected a table");
            TableReader sub(*t, source_, name);
            read(sub);
            sub.reject_unknown();
        });
    }

    void reject_unknown() const {
        for (const auto& [key, node] : table_) {
            if (!used_.count(std::string(key.str()))) {
                throw ConfigError(where(key.source()) + ": unknown key '" + dotted(key.str()) +
                                  "'");
            }
        }
    }

    const toml::table& raw() const { return table_; }
    std::string_view source() const { return source_; }

private:
    const toml::table& table_;
    std::string_view source_;
    std::string prefix_;
    std::set<std::string> used_;
};

constexpr std::pair<const char*, Role> role_names[] = {
    {"buyer", Role::buyer}, {"seller", Role::seller}, {"both", Role::both}};

Role parse_role(TableReader& r, const toml::node& node, const std::string& name) {
    auto v = node.value_exact<std::string>();
    for (const auto& [text, value] : role_names) {
        if (v && *v == text) return value;
    }
    r.fail(node, name, "expected \"buyer\", \"seller\" or \"both\"");
}

void read_market(TableReader& r, Config::Market& m) {
    r.with("products", [&](const toml::node& node, const std::string& name) {
        const toml::array* a = node.as_array();
        if (!a || a->empty()) r.fail(node, name, "expected a non-empty array of product names");
        std::vector<Product> products;
        for (const toml::node& item : *a) {
            auto v = item.value_exact<std::string>();
            if (!v || v->empty()) r.fail(item, name, "expected product names as strings");
            // Keep a price already known for this name (from the defaults), else none yet.
            std::int64_t price = 0;
            for (const auto& p : m.products) {
                if (p.name == *v) price = p.price;
            }
            products.push_back({*v, price});
        }
        m.products = std::move(products);
    });
    r.table("prices", [&](TableReader& prices) {
        for (const auto& [key, node] : prices.raw()) {
            auto it = std::find_if(m.products.begin(), m.products.end(),
                                   [&](const Product& p) { return p.name == key.str(); });
            if (it == m.products.end()) {
                throw ConfigError(prices.where(key.source()) + ": key '" +
                                  prices.dotted(key.str()) + "': no such product in " +
                                  "'market.products'");
            }
            prices.integer(key.str(), it->price, 1, limits::max_price, detail::money_limit);
        }
    });
    r.with("commission", [&](const toml::node& node, const std::string& name) {
        auto v = node.value<double>();
        if (!v || !(*v >= 0.0 && *v <= 1.0)) {
            r.fail(node, name, "expected a rate between 0 and 1, such as 0.1 for 10%");
        }
        // A rate, not money: converted once to integer parts per million.
        m.commission_ppm = static_cast<std::uint32_t>(std::llround(*v * 1e6));
    });
    r.integer("seller_stock", m.seller_stock, 1, limits::max_quantity, detail::money_limit);
    r.duration("batch_window", m.batch_window);
    r.boolean("partial_fills", m.partial_fills);
}

void read_behaviour(TableReader& r, Config::Behaviour& b) {
    r.probability("buy_probability", b.buy_probability);
    r.probability("update_inventory_probability", b.update_inventory_probability);
    r.integer("max_transactions", b.max_transactions, 0, limits::max_transactions,
              detail::money_limit);
    r.integer("max_buy_quantity", b.max_buy_quantity, 1, limits::max_quantity, detail::money_limit);
    r.duration("request_timeout", b.request_timeout);
    r.duration("restock_interval", b.restock_interval);
    r.duration("think_time", b.think_time);
    r.with("purchase_history", [&](const toml::node&, const std::string&) {
        std::size_t kept = 0;
        r.integer("purchase_history", kept, 1, limits::max_transactions);
        b.purchase_history = kept;
    });
}

void read_failure(TableReader& r, Config::Failure& f) {
    double probability = 0;
    bool given = false;
    r.probability("probability", probability, &given);
    if (given) f.probability = probability;
    r.duration("time_quantum", f.time_quantum);
    r.duration("recovery_delay", f.recovery_delay);
    r.choice("policy", f.policy, election::recovery_policy_names);
}

void read_churn(TableReader& r, Config::Churn& c) {
    r.number("join_rate", c.join_rate, 0, Config::Churn::max_rate);
    r.number("leave_rate", c.leave_rate, 0, Config::Churn::max_rate);
}

void read_election(TableReader& r, Config::Election& e) {
    r.duration("heartbeat_interval", e.heartbeat_interval);
    r.duration("election_timeout", e.election_timeout);
    r.duration("answer_timeout", e.answer_timeout);
}

void read_network(TableReader& r, Config::Network& n) {
    r.choice("transport", n.transport, transport::transport_kind_names);
    r.string("host", n.host);
    r.integer("base_port", n.base_port, 0, 65535);
}

void read_storage(TableReader& r, Config::Storage& s) {
    r.with("state_dir", [&](const toml::node& node, const std::string& name) {
        auto v = node.value_exact<std::string>();
        if (!v) r.fail(node, name, "expected a directory path as a string");
        s.state_dir = *v;
    });
    r.choice("durability", s.durability, journal::durability_names);
    r.integer("snapshot_every", s.snapshot_every, 1, Config::Storage::max_snapshot_every);
}

constexpr std::pair<const char*, ReplicationMode> replication_mode_names[] = {
    {"quorum", ReplicationMode::quorum},
    {"shared", ReplicationMode::shared},
};

void read_replication(TableReader& r, Config::Replication& c) {
    r.choice("mode", c.mode, replication_mode_names);
    r.duration("retry", c.retry);
    r.duration("quorum_timeout", c.quorum_timeout);
    r.integer("replicas", c.replicas, 1, Config::Replication::max_replicas);
    r.boolean("promote", c.promote);
}

constexpr std::pair<const char*, SecurityMode> security_mode_names[] = {
    {"on", SecurityMode::on},
    {"off", SecurityMode::off},
};

void read_security(TableReader& r, Config::Security& s) {
    r.choice("mode", s.mode, security_mode_names);
    r.with("key_file", [&](const toml::node& node, const std::string& name) {
        auto v = node.value_exact<std::string>();
        if (!v || v->empty()) r.fail(node, name, "expected the key file's path as a string");
        s.key_file = *v;
    });
}

void read_cluster(TableReader& r, std::vector<PeerSpec>& cluster) {
    r.with("peer", [&](const toml::node& node, const std::string& name) {
        const toml::array* a = node.as_array();
        if (!a || !a->is_array_of_tables()) {
            r.fail(node, name, "expected [[peer]] tables with id, host and port");
        }
        for (std::size_t i = 0; i < a->size(); ++i) {
            const toml::table& t = *a->get(i)->as_table();
            TableReader p(t, r.source(), name + "[" + std::to_string(i) + "]");
            PeerSpec spec;
            // An id of 0 is legal, so a missing one is seen here; missing hosts and ports are
            // left empty and reported by check().
            if (!t.contains("id")) p.fail(t, p.dotted("id"), "missing: every [[peer]] needs an id");
            p.integer("id", spec.id, 0, std::numeric_limits<std::uint32_t>::max());
            p.string("host", spec.host);
            p.integer("port", spec.port, 1, 65535);
            p.with("role", [&](const toml::node& n, const std::string& key) {
                spec.role = parse_role(p, n, key);
            });
            p.reject_unknown();
            cluster.push_back(std::move(spec));
        }
    });
}

// "source:line:column: key 'K': what", at the first of the finding's keys that the file has, or
// at the nearest table around the first key.
ConfigError located(const toml::table& root, std::string_view source, const detail::Finding& f) {
    auto at = [&](const std::string& key, const toml::node& node) {
        const auto& begin = node.source().begin;
        std::ostringstream out;
        out << source << ':' << begin.line << ':' << begin.column << ": key '" << key
            << "': " << f.what;
        return ConfigError(out.str());
    };
    for (const auto& key : f.keys) {
        if (const toml::node* node = toml::at_path(root, key).node()) return at(key, *node);
    }
    std::string around = f.keys.front();
    while (!around.empty()) {
        const auto cut = around.find_last_of(".[");
        around.resize(cut == std::string::npos ? 0 : cut);
        if (around.empty()) break;
        if (const toml::node* node = toml::at_path(root, around).node()) {
            return at(f.keys.front(), *node);
        }
    }
    return ConfigError(std::string(source) + ": key '" + f.keys.front() + "': " + f.what);
}

}  // namespace

Config parse_config(std::string_view text, std::string_view source) {
    toml::table root;
    try {
        root = toml::parse(text, source);
    } catch (const toml::parse_error& e) {
        std::ostringstream out;
        out << source << ':' << e.source().begin.line << ':' << e.source().begin.column << ": "
            << e.description();
        throw ConfigError(out.str());
    }

    Config c;
    TableReader r(root, source, "");
    r.integer("seed", c.seed, 0, std::numeric_limits<std::int64_t>::max());
    r.integer("peers", c.peers, 2, limits::max_peers);
    r.duration("duration", c.duration);
    r.with("roles", [&](const toml::node& node, const std::string& name) {
        const toml::array* a = node.as_array();
        if (!a) r.fail(node, name, "expected an array such as [\"seller\", \"buyer\"]");
        for (const toml::node& item : *a) c.roles.push_back(parse_role(r, item, name));
    });
    r.table("market", [&](TableReader& t) { read_market(t, c.market); });
    r.table("behaviour", [&](TableReader& t) { read_behaviour(t, c.behaviour); });
    r.table("failure", [&](TableReader& t) { read_failure(t, c.failure); });
    r.table("churn", [&](TableReader& t) { read_churn(t, c.churn); });
    r.table("election", [&](TableReader& t) { read_election(t, c.election); });
    r.table("network", [&](TableReader& t) { read_network(t, c.network); });
    r.table("storage", [&](TableReader& t) { read_storage(t, c.storage); });
    r.table("replication", [&](TableReader& t) { read_replication(t, c.replication); });
    r.table("security", [&](TableReader& t) { read_security(t, c.security); });
    read_cluster(r, c.cluster);
    r.reject_unknown();

    if (!c.cluster.empty() && !root.contains("peers")) {
        c.peers = static_cast<std::uint32_t>(c.cluster.size());
    }
    if (auto f = detail::check(c)) throw located(root, source, *f);
    return c;
}

Config load_config(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw ConfigError(path.string() + ": cannot open the configuration file");
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) throw ConfigError(path.string() + ": cannot read the configuration file");
    return parse_config(text.str(), path.string());
}

}  // namespace tp::peer
