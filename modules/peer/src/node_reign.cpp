// The driver's side of the trader's journal: a reign opens it (waiting while another holds it),
// loads the books into the core, appends what the core decides, and syncs off the loop (group
// commit), telling the core how far the journal is durable.
#include <fmt/core.h>
#include <asio/co_spawn.hpp>
#include <asio/use_awaitable.hpp>

#include <unistd.h>

#include "node_reign.hpp"
#include "tp/journal/errors.hpp"
#include "tp/peer/books.hpp"
#include "tp/peer/ids.hpp"

namespace tp::peer {

namespace {

using namespace std::chrono_literals;


// How long the journal's lock file has been held, from its last write (the holder writes its pid
// there when it takes the lock).
std::string lock_age(const std::filesystem::path& journal_dir) {
    std::error_code ec;
    const auto written = std::filesystem::last_write_time(journal_dir / "LOCK", ec);
    if (ec) return "since an unknown time";
    const auto age = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::filesystem::file_time_type::clock::now() - written);
    return fmt::format("{:.1f} s", static_cast<double>(age.count()) / 1000.0);
}

// A sync on the pool's thread. The journal is a parameter, so the coroutine's frame holds it (a
// lambda's capture would die with the lambda before the coroutine runs).
asio::awaitable<Position> sync_on(std::shared_ptr<Journal> journal) {
    co_return journal->sync();
}

}  // namespace

bool Node::persist() {
    Trader* trader = core_.trader();
    if (trader == nullptr || !reign_ || !reign_->journal) return true;
    Journal& journal = *reign_->journal;
    try {
        for (auto& record : trader->records()) {
            const Position at = journal.append(record.bytes);
            if (at != record.position) {
                throw std::runtime_error(fmt::format(
                    "the journal put a record at {}, the trader expected {}", at, record.position));
            }
            if (context_.observer) {
                context_.observer->persisted(*this, trader->epoch(), record.event, at);
            }
        }
        trader->clear_records();
    } catch (const std::exception& e) {
        // A journal that cannot write is a failed trader: stop, and let a new one recover.
        fail(fmt::format("journal append failed: {}", e.what()));
        return false;
    }
    if (auto snapshot = trader->take_snapshot()) {
        try {
            journal.write_snapshot(snapshot->first, snapshot->second);
            if (context_.observer) context_.observer->synced(*this, journal.durable());
        } catch (const std::exception& e) {
            log_->warn("snapshot failed (the log still has every event): {}", e.what());
        }
    }
    // Under `every` an append is durable at once; otherwise the commit loop syncs.
    if (journal.durable() > trader->durable()) core_.on_durable(journal.durable(), core_now());
    if (journal.written() > journal.durable()) wake(reign_->wake);
    return true;
}

asio::awaitable<void> Node::load_reign(std::shared_ptr<Reign> reign) {
    JournalStore* store = context_.journal_store;
    if (store == nullptr) {
        if (!file_store_) {
            journal::Options options;
            options.durability = config_.storage.durability;
            file_store_ = make_file_journal_store(context_.journal_dir, options);
        }
        store = file_store_.get();
    }
    std::optional<OpenedJournal> opened;
    const TimePoint waiting_from = now();
    TimePoint next_warning = waiting_from;
    while (reign->active && !stopped_ && !opened) {
        std::optional<journal::LockedError> locked;
        try {
            opened = store->open();
        } catch (const journal::LockedError& e) {
            // Another trader's process (or this process's previous reign, for a moment) holds
            // the journal. Buyers are told trader_unavailable meanwhile.
            locked = e;
        } catch (const std::exception& e) {
            fail(fmt::format("cannot open the books' journal: {}", e.what()));
            co_return;
        }
        if (locked) {
            // Another process is worth a warning at once (a paused or stuck trader); this
            // process's own previous reign only if it does not let go within a second.
            const bool other = locked->holder() > 0 && locked->holder() != ::getpid();
            if (now() >= next_warning && (other || now() - waiting_from >= 1s)) {
                log_->warn(
                    "cannot serve yet: {}, held for {}; buyers are told "
                    "trader_unavailable until it frees",
                    locked->what(), lock_age(context_.journal_dir));
                next_warning = now() + 5s;
            }
            co_await wait_until(reign->poll, now() + 10ms, [&] { return !reign->active; });
        }
    }
    if (!opened || !reign->active || stopped_) co_return;
    if (!load_books(*reign, std::move(*opened), store->where())) co_return;
    spawn(commit_loop(reign));
    co_await carry_out();
}

bool Node::load_books(Reign& reign, OpenedJournal opened, const std::string& where) {
    reign.journal = std::move(opened.journal);
    const auto& recovery = opened.recovery;
    if (recovery.torn_tail) {
        log_->warn("journal: cut a torn tail of {} at {}:{}",
                   plural(recovery.torn_tail->dropped_bytes, "byte"), recovery.torn_tail->file,
                   recovery.torn_tail->offset);
    }
    auto books = replay_books(recovery, market_config(config_));
    if (!books) {
        fail(fmt::format("cannot recover the books from {}: {}", where, books.error().message));
        return false;
    }
    if (!core_.trader_loaded(reign.epoch, std::move(books.value()), reign.journal->written(),
                             core_now())) {
        return false;  // the reign ended meanwhile
    }
    const market::Books& loaded = core_.trader()->books();
    log_->info("Dear buyers and sellers, My ID is {}, and I am the new coordinator", id());
    log_->info("recovered the books: {}, {} answered, {} queued, {} pending",
               plural(recovery.records.size(), "event"), plural(loaded.answered_count(), "request"),
               loaded.queued().size(), plural(loaded.payments().pending_count(), "payment"));
    if (context_.on_new_trader) context_.on_new_trader(id(), reign.epoch);
    if (context_.observer) {
        context_.observer->became_trader(*this, reign.epoch, loaded, reign.journal->durable());
    }
    return true;
}

void Node::end_reign() {
    if (!reign_) return;
    reign_->active = false;
    wake(reign_->wake);
    wake(reign_->poll);
    reign_.reset();  // the reign's coroutines hold it until they end, then the journal closes
}

asio::awaitable<void> Node::commit_loop(std::shared_ptr<Reign> reign) {
    const std::shared_ptr<Journal> journal = reign->journal;
    while (reign->active && !stopped_) {
        if (journal->written() <= journal->durable()) {
            co_await wait_until(reign->wake, now() + idle, [&] {
                return !reign->active || stopped_ || journal->written() > journal->durable();
            });
            continue;
        }
        try {
            if (journal->sync_blocks() && context_.sync_pool != nullptr) {
                // Group commit: requests keep arriving on the loop while fdatasync runs on the
                // pool; each batch is released when its sync returns.
                co_await asio::co_spawn(context_.sync_pool->get_executor(), sync_on(journal),
                                        asio::use_awaitable);
            } else {
                if (const auto latency = journal->modelled_sync_latency(); latency.count() > 0) {
                    // The modelled fdatasync takes time; a crash meanwhile loses the tail.
                    runtime::Timer disk(context_.runtime);
                    co_await pause(disk, latency);
                    if (!reign->active || stopped_) co_return;
                }
                journal->sync();
            }
            ++core_.trader_counters().syncs;
            if (context_.observer) context_.observer->synced(*this, journal->durable());
        } catch (const std::exception& e) {
            fail(fmt::format("journal sync failed: {}", e.what()));
            co_return;
        }
        if (!reign->active || stopped_) co_return;
        core_.on_durable(journal->durable(), core_now());
        co_await carry_out();
    }
}

}  // namespace tp::peer
