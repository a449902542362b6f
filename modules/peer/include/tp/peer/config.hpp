#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "tp/election/messages.hpp"
#include "tp/election/policy.hpp"
#include "tp/journal/durability.hpp"
#include "tp/transport/kind.hpp"

namespace tp::peer {

using PeerIdValue = std::uint32_t;
using Duration = std::chrono::nanoseconds;

// Defined once, by the module that owns each: the configuration names them, the cores and the
// driver pass them on untranslated.
using election::RecoveryPolicy;
using journal::Durability;
using transport::TransportKind;
using election::parse_recovery_policy;
using journal::parse_durability;
using transport::parse_transport_kind;
using election::to_string;
using journal::to_string;
using transport::to_string;

enum class Role { buyer, seller, both };
enum class SecurityMode { on, off };
// Where the trader's log lives (docs/replication.md). `quorum`: every peer keeps its own replica and
// a record counts once durable on a majority, so the market survives the loss of any minority of
// disks, the trader's included. `shared`: the original lab's design, one journal in a state
// directory every peer of the host shares (fenced by a lock), which dies with that disk.
enum class ReplicationMode { quorum, shared };

const char* to_string(Role role) noexcept;
const char* to_string(SecurityMode mode) noexcept;
const char* to_string(ReplicationMode mode) noexcept;

// Limits that keep every legal configuration inside int64 money and the epoch layout. Each is
// checked where it is read (with file:line:column) and again by validate().
namespace limits {

// Peer ids are below 2^20: an epoch packs (44-bit term, 20-bit leader id) in 64 bits.
inline constexpr std::uint32_t peer_id_limit = election::max_peer_id + 1;
inline constexpr std::uint32_t max_peers = 1024;

// Money. int64 holds up to 9.22e18 minor units; these bounds keep every amount and every running
// total at or below 1e18, a margin of 9x (4.6x for the widest sum the checks form):
// - one buy or one lot: max_quantity x max_price = 1e6 x 1e12 = 1e18;
// - the commission is round(amount x rate) with rate <= 1, so it is at most the amount, and
//   earned = amount - commission, pending <= earned: none exceeds the amount it comes from;
// - a run's running totals (a buyer's spent, a seller's earned, pending and commission, the
//   trader's commission total, and the sums over all peers that the invariant check compares)
//   are each at most the run's turnover. Every unit sold was bought by one request of at most
//   max_buy_quantity units at its product's price, and each of the `peers` buyers makes at most
//   max_transactions requests per life, so
//     turnover <= peers x max_transactions x max_buy_quantity x (highest price) <= max_turnover,
//   which validate() checks (max_turnover = 1e18). The invariant check's widest sum, earned +
//   commission against spent, is then at most 2e18.
// A peer that recovers starts a new life with max_transactions more requests, and a run bounded
// by `duration` can outlast any fixed count: there the margin helps, and past it the market's own
// checked arithmetic refuses with a reason; it never wraps.
inline constexpr std::int64_t max_price = 1'000'000'000'000;      // minor units per unit
inline constexpr std::uint32_t max_quantity = 1'000'000;          // units per lot and per buy
inline constexpr std::uint32_t max_transactions = 1'000'000'000;  // requests per buyer life
inline constexpr std::int64_t max_turnover = 1'000'000'000'000'000'000;

}  // namespace limits

// One product on sale, with its list price in integer minor units.
struct Product {
    std::string name;
    std::int64_t price = 0;
};

// One peer of a cluster file (`trading-post peer --id N --config cluster.toml`). Every [[peer]]
// names its id, host and port; no two share an id or a host:port.
struct PeerSpec {
    PeerIdValue id = 0;        // below limits::peer_id_limit
    std::string host;          // a numeric IPv4/IPv6 address or "localhost"; "": missing
    std::uint16_t port = 0;    // 0: missing
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
        // Between a buyer's requests: slow enough that a person can follow the default run's story
        // (about 10 to 30 s over UDP). Experiments set their own pace (bench: the seed's 20 ms).
        Duration think_time = std::chrono::milliseconds(500);
        // How many answered requests a buyer keeps, the newest, at least 1 (unset: all, which
        // `run` and `sim` audit one by one); its totals count every one. Bounds an endless
        // market's memory (a `peer` process keeps 1,000 unless told).
        std::optional<std::size_t> purchase_history;
    } behaviour;

    struct Failure {
        // Unset (the default): the story schedule. The first trader fails once, when the buyers
        // have had a third of their requests answered, and comes back after recovery_delay as a
        // buyer or seller, so every default run shows a failover and the old trader's return.
        // Set: the original lab's schedule, the trader fails in each time_quantum with this
        // chance (0: no failure is injected).
        std::optional<double> probability;
        Duration time_quantum = std::chrono::milliseconds(300);
        Duration recovery_delay = std::chrono::milliseconds(300);
        RecoveryPolicy policy = RecoveryPolicy::defer;
    } failure;

    // Issue 18: peers joining and leaving a running market (`run`), each a Poisson process at
    // this many per second (0: none). Leaves take newcomers only: see Churn.
    struct Churn {
        static constexpr double max_rate = 1000;
        double join_rate = 0;
        double leave_rate = 0;
    } churn;

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
        // Empty: a fresh temporary directory per run. May name the peer, as in "state/peer-{id}":
        // then each peer has a directory of its own (state_dir_of); otherwise the peers of a
        // process keep theirs under it, in peer-<id>/.
        std::filesystem::path state_dir;
        Durability durability = Durability::group;
        // Records between snapshots of the books, at least (more when the books hold more
        // sessions): what a successor or a restarted replica replays is at most about this.
        std::uint64_t snapshot_every = default_snapshot_every;
        static constexpr std::uint64_t default_snapshot_every = 10'000;
        static constexpr std::uint64_t max_snapshot_every = 100'000'000;
    } storage;

    struct Replication {
        // quorum: nothing is shared, the trader's disk may be lost (issue 16); shared: the
        // original lab's one journal in state_dir, for its experiments on one host.
        ReplicationMode mode = ReplicationMode::quorum;
        // How often an unanswered replication message goes out again (and an idle trader says how
        // far the log is committed), and how long a trader waits for acks from a quorum before it
        // refuses requests with no_quorum.
        Duration retry = std::chrono::milliseconds(50);
        Duration quorum_timeout = std::chrono::milliseconds(500);
        // Quorum mode: how many peers keep a replica of the log (the replica set): the
        // `replicas` highest ids, or every peer when there are fewer. The others are customers:
        // they trade, but keep no replica and never lead, so a large market does not wait for
        // every buyer's disk. A record commits on a majority of the replica set.
        std::uint32_t replicas = default_replicas;
        // Issue 18: the trader keeps the set at `replicas` as peers join and leave: it ships its
        // log to the highest customer and, once that copy has caught up, adds it to the set
        // through the log, one change at a time. Off: the set only shrinks as replicas leave.
        bool promote = false;
        static constexpr std::uint32_t default_replicas = 7;
        static constexpr std::uint32_t max_replicas = 64;
    } replication;

    // Every datagram authenticated with the members' shared key (docs/security.md). `off` is the
    // original lab's plain UDP, for its experiments: anyone who can send a datagram to a peer's
    // port can then act as any peer.
    struct Security {
        SecurityMode mode = SecurityMode::on;
        // The shared key (`trading-post keygen FILE` makes one; mode 0600). Required by `peer`;
        // `run` makes a key for the run when none is named.
        std::filesystem::path key_file;
    } security;

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

// Checks every range and cross-field rule (products and prices, the money limits above, unique
// cluster ids and endpoints, hosts, ports...). parse_config runs the same checks and names the
// file, line and column; call this after command-line overrides, where there is no position:
// "<source>: key 'behaviour.max_transactions': ...". Throws ConfigError.
void validate(const Config& config, std::string_view source = "<config>");

// Peer `id`'s own state directory: the template with "{id}" replaced, or <state_dir>/peer-<id>.
std::filesystem::path state_dir_of(const Config& config, std::uint32_t id);

// "250ms", "2s", "1.5s", "1m", "100us", "0"; throws std::invalid_argument.
Duration parse_duration(std::string_view text);
std::string format_duration(Duration d);

}  // namespace tp::peer
