#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace tp::peer {

using PeerIdValue = std::uint32_t;
using Duration = std::chrono::nanoseconds;

enum class Role { buyer, seller, both };
enum class TransportKind { udp, memory };
enum class Durability { every, group, none };
enum class RecoveryPolicy { defer, bully };

const char* to_string(Role role) noexcept;
const char* to_string(TransportKind kind) noexcept;
const char* to_string(Durability durability) noexcept;
const char* to_string(RecoveryPolicy policy) noexcept;

// One product on sale, with its list price in integer minor units.
struct Product {
    std::string name;
    std::int64_t price = 0;
};

// One peer of a cluster file (`trading-post peer --id N --config cluster.toml`).
struct PeerSpec {
    PeerIdValue id = 0;
    std::string host;
    std::uint16_t port = 0;
    std::optional<Role> role;  // unset: drawn from the seed
};

// Every key of the configuration, with the seed's defaults. The TOML file mirrors these sections;
// docs/config.example.toml documents each key.
struct Config {
    std::uint64_t seed = 0;  // 0: pick one at start and print it, so the run can be repeated
    std::uint32_t peers = 6;
    std::vector<Role> roles;  // empty: drawn from the seed
    Duration duration{};      // 0: until every buyer is done

    struct Market {
        std::vector<Product> products{{"salt", 5}, {"boar", 20}, {"fish", 10}};
        std::uint32_t commission_ppm = 100'000;  // 10%, parts per million: never floating point
        std::uint32_t seller_stock = 10;         // units per deposit
        Duration batch_window = std::chrono::milliseconds(2);
        bool partial_fills = false;
    } market;

    struct Behaviour {
        double buy_probability = 0.8;
        double update_inventory_probability = 0.2;
        std::uint32_t max_transactions = 20;  // per buyer
        std::uint32_t max_buy_quantity = 3;
        Duration request_timeout = std::chrono::milliseconds(500);
        Duration restock_interval = std::chrono::milliseconds(200);
        Duration think_time = std::chrono::milliseconds(20);  // between a buyer's requests
    } behaviour;

    struct Failure {
        double probability = 0.5;  // per time quantum, for the trader
        Duration time_quantum = std::chrono::milliseconds(300);
        Duration recovery_delay = std::chrono::milliseconds(300);
        RecoveryPolicy policy = RecoveryPolicy::defer;
    } failure;

    struct Election {
        Duration heartbeat_interval = std::chrono::milliseconds(50);
        Duration election_timeout = std::chrono::milliseconds(200);
        Duration answer_timeout = std::chrono::milliseconds(50);
    } election;

    struct Network {
        TransportKind transport = TransportKind::udp;
        std::string host = "127.0.0.1";
        std::uint16_t base_port = 0;  // 0: ephemeral ports (one process); clusters name theirs
    } network;

    struct Storage {
        std::filesystem::path state_dir;  // empty: a fresh temporary directory per run
        Durability durability = Durability::group;
    } storage;

    std::vector<PeerSpec> cluster;  // [[peer]] tables, for one-peer-per-process mode
};

// A configuration error that names where: "cluster.toml:12:5: key 'election.heartbeat_interval':
// expected a duration such as \"100ms\"".
class ConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Parses TOML text; `source` names it in errors. Unknown keys are errors. Throws ConfigError.
Config parse_config(std::string_view text, std::string_view source = "<config>");

// Reads and parses a file. Throws ConfigError (also for a missing or unreadable file).
Config load_config(const std::filesystem::path& path);

// Checks cross-field rules (products non-empty, unique cluster ids, probabilities in [0, 1]...).
// parse_config calls it; call it again after command-line overrides. Throws ConfigError.
void validate(const Config& config, std::string_view source = "<config>");

// "250ms", "2s", "1.5s", "1m", "100us", "0"; throws std::invalid_argument.
Duration parse_duration(std::string_view text);
std::string format_duration(Duration d);

}  // namespace tp::peer
