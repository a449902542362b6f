// `trading-post books`: replays and checks the durable books of a state directory, read-only.
// Shared mode: the trader's journal in DIR/journal. Quorum mode: the replicas of the trader's log,
// DIR/replica (one peer's directory) or DIR/*/replica (a cluster's), of which the most advanced
// is what a view change would adopt.
#include <fmt/core.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "commands.hpp"
#include "tp/election/messages.hpp"
#include "tp/journal/log.hpp"
#include "tp/market/books.hpp"
#include "tp/peer/books.hpp"
#include "tp/peer/config.hpp"
#include "tp/peer/replica_log.hpp"

namespace tp::app {

namespace {

namespace fs = std::filesystem;

void print_journal_notes(const journal::Recovery& recovery, const std::string& where) {
    if (recovery.torn_tail) fmt::print("  {}: {}\n", where, peer::describe(*recovery.torn_tail));
    if (recovery.legacy) {
        fmt::print(
            "  {}: no MANIFEST (an earlier version wrote it), so a lost newest segment cannot be "
            "told from the end of the log; the next writer's open adds one\n",
            where);
    }
    if (!recovery.leftover_files.empty()) {
        fmt::print("  {}: {} leftover files the next writer's open removes\n", where,
                   recovery.leftover_files.size());
    }
}

int print_books(const market::Books& books, const peer::Config& config) {
    for (const auto& [product, book] : books.products()) {
        const auto& name = product < config.market.products.size()
                               ? config.market.products[product].name
                               : std::to_string(product);
        fmt::print("  {:<8} deposited {}, sold {}, in stock {}\n", name, book.deposited, book.sold,
                   book.in_stock);
    }
    for (const auto& [seller, l] : books.sellers()) {
        fmt::print("  seller {:<4} sold {}, earned {} ({} pending)\n", seller, l.sold, l.earned,
                   l.pending);
    }
    fmt::print("  commission {}; {} requests answered\n", books.commission_total(),
               books.answered_count());
    const auto violations = books.check_invariants();
    for (const auto& v : violations) fmt::print("  VIOLATION: {}\n", v);
    if (violations.empty()) fmt::print("  invariants OK: goods and money conserved\n");
    return violations.empty() ? exit_ok : exit_failed;
}

int shared_books(const fs::path& dir, const peer::Config& config) {
    journal::Recovery recovery;
    try {
        recovery = journal::Log::read(dir / "journal");
    } catch (const std::exception& e) {
        fmt::print(stderr, "trading-post: books: {}\n", e.what());
        return exit_failed;
    }
    auto books = peer::replay_books(recovery, peer::market_config(config));
    if (!books) {
        fmt::print(stderr, "trading-post: the books do not replay: {}\n", books.error().message);
        return exit_failed;
    }
    fmt::print("books of {}: {} events{}\n", dir.string(), recovery.records.size(),
               recovery.snapshot ? " after a snapshot" : "");
    print_journal_notes(recovery, "journal");
    return print_books(*books, config);
}

int replicated_books(const fs::path& dir, const std::vector<fs::path>& replicas,
                     const peer::Config& config) {
    std::vector<replication::Restored> logs;
    for (const auto& replica : replicas) {
        try {
            const journal::Recovery recovery = journal::Log::read(replica);
            auto restored = peer::restore_replica(recovery, peer::PeerState{});
            if (!restored) {
                fmt::print(stderr, "trading-post: books: {}: {}\n", replica.string(),
                           restored.error().message);
                return exit_failed;
            }
            print_journal_notes(recovery, replica.string());
            logs.push_back(std::move(restored.value()));
        } catch (const std::exception& e) {
            fmt::print(stderr, "trading-post: books: {}\n", e.what());
            return exit_failed;
        }
    }
    const replication::Restored* best = peer::most_advanced(logs);
    const auto at = static_cast<std::size_t>(best - logs.data());
    auto books = peer::replica_books(*best, peer::market_config(config));
    if (!books) {
        fmt::print(stderr, "trading-post: books: {}: the log does not replay: {}\n",
                   replicas[at].string(), books.error().message);
        return exit_failed;
    }
    const auto [epoch, last] = peer::log_end(*best);
    fmt::print("books of {}: the most advanced of {} replica{}, {}: {} records (the last of epoch "
               "{}){}\n",
               dir.string(), replicas.size(), replicas.size() == 1 ? "" : "s",
               replicas[at].parent_path().filename().string(), last, election::epoch_text(epoch),
               best->snapshot ? ", after a snapshot" : "");
    return print_books(*books, config);
}

}  // namespace

Runner add_books_command(CLI::App& app) {
    struct Flags {
        std::string state_dir;
        std::string config;
    };
    auto flags = std::make_shared<Flags>();
    auto* cmd = app.add_subcommand(
        "books",
        "Replay and check the durable books of a state directory (read-only: writes nothing, "
        "takes no lock, safe beside running peers): the shared journal, or the replicas of the "
        "trader's log (a peer's directory, or a folder of them) and the one a new trader would "
        "adopt");
    cmd->add_option("--state-dir", flags->state_dir,
                    "A state directory: the shared one, one peer's, or the folder of every "
                    "peer's")
        ->required();
    cmd->add_option("--config", flags->config, "Configuration (for product names and rates)");
    return [flags] {
        const peer::Config config =
            flags->config.empty() ? peer::Config{} : peer::load_config(flags->config);
        const fs::path dir(flags->state_dir);
        // No directory at all is a wrong path (bad input), not a damaged journal (a failed check).
        std::error_code ec;
        if (!fs::is_directory(dir, ec)) {
            throw peer::ConfigError(
                fmt::format("books: --state-dir '{}' is not a directory", flags->state_dir));
        }
        if (fs::is_directory(dir / "journal", ec)) return shared_books(dir, config);
        std::vector<fs::path> replicas;
        if (fs::is_directory(dir / "replica", ec)) {
            replicas.push_back(dir / "replica");
        } else {
            for (const auto& entry : fs::directory_iterator(dir, ec)) {
                if (fs::is_directory(entry.path() / "replica", ec))
                    replicas.push_back(entry.path() / "replica");
            }
            std::sort(replicas.begin(), replicas.end());
        }
        if (replicas.empty()) {
            throw peer::ConfigError(fmt::format(
                "books: --state-dir '{}' holds neither a shared journal ('journal') nor "
                "replicas of the trader's log ('replica', or '*/replica')",
                flags->state_dir));
        }
        return replicated_books(dir, replicas, config);
    };
}

}  // namespace tp::app
