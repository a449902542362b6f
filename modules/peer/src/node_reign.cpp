// The driver's side of the trader's journal: a reign opens it (waiting while another holds it),
// loads the books into the core, appends what the core decides, and syncs off the loop (group
// commit), telling the core how far the journal is durable.
#include <fmt/core.h>
#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/this_coro.hpp>
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
    if (ec) return "an unknown time";
    const auto age = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::filesystem::file_time_type::clock::now() - written);
    return fmt::format("{:.1f} s", static_cast<double>(age.count()) / 1000.0);
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

asio::awaitable<void> Node::reign_loop() {
    for (;;) {
        co_await wait_until(reign_timer_, runtime::never,
                            [&] { return reign_ != nullptr && !reign_->served; });
        const std::shared_ptr<Reign> reign = reign_;
        reign->served = true;
        // Until the reign ends (and its last sync has returned): one reign at a time holds the
        // journal in this peer.
        co_await serve(reign);
    }
}

asio::awaitable<void> Node::serve(std::shared_ptr<Reign> reign) {
    JournalStore* store = context_.journal_store;
    if (store == nullptr) {
        if (!file_store_) {
            journal::Options options;
            options.durability = config_.storage.durability;
            file_store_ = make_file_journal_store(context_.journal_dir, options);
        }
        store = file_store_.get();
    }
    auto opened = co_await open_journal(*reign, *store);
    if (!opened || !reign->active) co_return;
    if (!load_books(*reign, std::move(*opened), store->where())) co_return;
    if (!carry_out_now()) co_await flush();
    co_await commit_loop(*reign);
}

asio::awaitable<std::optional<OpenedJournal>> Node::open_journal(Reign& reign,
                                                                 JournalStore& store) {
    using namespace asio::experimental::awaitable_operators;
    const TimePoint waiting_from = now();
    std::optional<TimePoint> next_warning;
    std::unique_ptr<ReleaseWatch> watch;
    bool released = false;  // a journal of this store closed in this process
    bool recheck = false;   // a wake that did not win the lock: look once more, shortly
    while (reign.active) {
        try {
            co_return store.open();
        } catch (const journal::LockedError& locked) {
            // Another trader's process (or a reign of this process, for a moment) holds the
            // journal. Buyers are told trader_unavailable meanwhile.
            if (!watch) {
                // Watch first, then try again: a release between the two is not missed.
                watch = store.watch_release([&] {
                    released = true;
                    wake(reign.wake);
                });
                continue;
            }
            // Another process is worth a warning at once (a paused or stuck trader); this
            // process's own previous reign only if it does not let go within a second.
            const bool other = locked.holder() > 0 && locked.holder() != ::getpid();
            if (!next_warning) next_warning = other ? waiting_from : waiting_from + 1s;
            if (now() >= *next_warning) {
                log_->warn(
                    "cannot serve yet: {}, held for {}; buyers are told "
                    "trader_unavailable until it frees",
                    locked.what(), lock_age(context_.journal_dir));
                *next_warning = now() + 5s;
            }
        } catch (const std::exception& e) {
            fail(fmt::format("cannot open the books' journal: {}", e.what()));
            co_return std::nullopt;
        }
        // Wait for a release (in this process, or on the watch's descriptor), the reign's end,
        // or the next warning. A holder that dies closes its files in no set order, so a wake
        // can come a moment before the lock is free: then one more look after 50 ms.
        throw_if_cancelled(co_await asio::this_coro::cancellation_state);
        const TimePoint until = recheck ? std::min(*next_warning, now() + 50ms) : *next_warning;
        const auto woken = [&] { return released || !reign.active; };
        bool event = false;
        if (watch->fd() >= 0) {
            asio::posix::stream_descriptor descriptor(context_.runtime.get_executor(),
                                                      ::dup(watch->fd()));
            const auto first = co_await (
                descriptor.async_wait(asio::posix::stream_descriptor::wait_read,
                                      asio::experimental::as_tuple(asio::use_awaitable)) ||
                wait_until(reign.wake, until, woken));
            event = first.index() == 0;
        } else {
            co_await wait_until(reign.wake, until, woken);
        }
        throw_if_cancelled(co_await asio::this_coro::cancellation_state);
        if (event) watch->drain();
        recheck = event || released;
        released = false;
        watch.reset();  // a new one before the next attempt
    }
    co_return std::nullopt;
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
                             core_now(), recovery.records.size())) {
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

asio::awaitable<bool> Node::on_disk(const Journal& journal, const std::function<void()>& work,
                                    const std::function<bool()>* still_wanted) {
    if (journal.sync_blocks() && context_.sync_pool != nullptr) {
        co_await asio::co_spawn(context_.sync_pool->get_executor(), run_on_pool(work),
                                asio::use_awaitable);
        co_return true;
    }
    if (const auto latency = journal.modelled_sync_latency(); latency.count() > 0) {
        runtime::Timer disk(context_.runtime);
        co_await pause(disk, latency);
        throw_if_cancelled(co_await asio::this_coro::cancellation_state);
        if (still_wanted != nullptr && !(*still_wanted)()) co_return false;
    }
    work();
    co_return true;
}

void Node::end_reign() {
    if (!reign_) return;
    reign_->active = false;
    wake(reign_->wake);
    reign_.reset();  // serve() holds it until it ends, then the journal closes
}

asio::awaitable<void> Node::commit_loop(Reign& reign) {
    const std::shared_ptr<Journal> journal = reign.journal;
    while (reign.active) {
        if (journal->written() <= journal->durable()) {
            co_await wait_until(reign.wake, runtime::never, [&] {
                return !reign.active || journal->written() > journal->durable();
            });
            continue;
        }
        try {
            // Group commit: requests keep arriving on the loop while fdatasync runs; each batch
            // is released when its sync returns. (In the model, a crash during the modelled
            // fdatasync loses the tail.)
            // A plain pointer (this frame holds the journal meanwhile) keeps the function
            // within std::function's own storage: no allocation per sync.
            Journal* const writer = journal.get();
            const std::function<void()> sync = [writer] { writer->sync(); };
            const std::function<bool()> active = [&reign] { return reign.active; };
            const bool synced = co_await on_disk(*journal, sync, &active);
            if (!synced) co_return;
            ++core_.trader_counters().syncs;
            if (context_.observer) context_.observer->synced(*this, journal->durable());
        } catch (const std::system_error& e) {
            if (e.code() == asio::error::operation_aborted) throw;  // stop()
            fail(fmt::format("journal sync failed: {}", e.what()));
            co_return;
        } catch (const std::exception& e) {
            fail(fmt::format("journal sync failed: {}", e.what()));
            co_return;
        }
        // The sync returned; the reign may have ended (or the node stopped) meanwhile.
        throw_if_cancelled(co_await asio::this_coro::cancellation_state);
        if (!reign.active) co_return;
        core_.on_durable(journal->durable(), core_now());
        if (!carry_out_now()) co_await flush();
    }
}

}  // namespace tp::peer
