// The driver's side of the replicated log (quorum mode): each peer opens its own replica's journal
// at start (nothing is shared, so nothing is waited for), carries out what the core's replica
// asks of storage (install a snapshot, cut a divergent suffix, append, compact), and syncs and
// writes snapshots off the loop (group commit), telling the core how far the replica is durable.
#include <fmt/core.h>
#include <asio/co_spawn.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include "node_reign.hpp"
#include "tp/journal/errors.hpp"
#include "tp/peer/ids.hpp"
#include "tp/peer/replica_log.hpp"

namespace tp::peer {

bool Node::open_replica(bool at_run_time) {
    // A customer keeps none, until the trader ships it the log (Ready::open_replica). One that
    // kept one in an earlier life (the peer state says it is seeded) opens it at start: it may be
    // in the replica set, whose next view change needs it (sim --peers 4 --promote --faults
    // crash,churn seed 510: two promoted newcomers back from crashes asked to join again, and the
    // trader, short of their logs for a quorum, could never answer).
    if (!core_.founding_replica() && !at_run_time && !seeded_) return true;
    JournalStore* store = context_.replica_store ? context_.replica_store(id()) : nullptr;
    if (store == nullptr) {
        fail(fmt::format("peer {} runs in quorum mode but has nowhere to keep its replica", id()));
        return false;
    }
    try {
        OpenedJournal opened = store->open();
        const auto& recovery = opened.recovery;
        if (recovery.torn_tail) {
            log_->warn("replica: cut a torn tail of {} at {}:{}",
                       plural(recovery.torn_tail->dropped_bytes, "byte"),
                       recovery.torn_tail->file, recovery.torn_tail->offset);
        }
        PeerState state;
        state.incarnation = core_.incarnation();
        // Whether an empty replica opened at run time was ever asked for anything is the
        // core's to say (PeerCore::open_replica): it knows the membership.
        state.seeded = seeded_;
        auto restored = restore_replica(recovery, state);
        if (!restored) {
            fail(fmt::format("cannot recover peer {}'s replica from {}: {}", id(), store->where(),
                             restored.error().message));
            return false;
        }
        std::string error;
        if (at_run_time ? !core_.open_replica(std::move(restored.value()), error, core_now())
                        : !core_.restore_replica(std::move(restored.value()), error)) {
            fail(fmt::format("cannot recover peer {}'s replica from {}: {}", id(), store->where(),
                             error));
            return false;
        }
        replica_journal_ = std::move(opened.journal);
        replica_report_.opened(replica_journal_->durable());
        const auto* replica = core_.replica();
        log_->debug("replica: {} from {} on, {}", plural(replica->last() - replica->first() + 1,
                                                         "record"),
                    replica->first(), replica->seeded() ? "seeded" : "not seeded (asks a quorum)");
    } catch (const journal::LockedError& e) {
        fail(fmt::format("cannot open peer {}'s replica at {}: {} (is this peer running elsewhere?)",
                         id(), store->where(), e.what()));
        return false;
    } catch (const std::exception& e) {
        fail(fmt::format("cannot open peer {}'s replica at {}: {}", id(), store->where(),
                         e.what()));
        return false;
    }
    return true;
}

bool Node::store_replica() {
    replication::Replica* replica = core_.replica();
    if (replica == nullptr || !replica_journal_) return true;
    replication::Ready& work = replica->ready();
    Ready& ready = core_.ready();
    Journal& journal = *replica_journal_;
    // While a snapshot is being written the journal is the writing thread's: the work waits.
    const bool hold = snapshot_writing_;
    try {
        if (auto install = std::exchange(work.install, std::nullopt)) {
            // A snapshot from the trader replaces the log: one still to be written is moot.
            pending_snapshot_.reset();
            if (hold) {
                held_store_.install(std::move(*install));
            } else {
                write_install(*install);
            }
        }
        if (const auto cut = std::exchange(work.truncate_after, std::nullopt)) {
            if (hold) {
                held_store_.truncate_after(*cut);
            } else {
                write_cut(*cut);
            }
        }
        if (const Position from = std::exchange(work.append_from, 0); from != 0) {
            for (Position p = from; p <= replica->last(); ++p) {
                const replication::Entry* entry = replica->entry(p);
                if (entry == nullptr) {
                    throw std::logic_error(
                        fmt::format("record {} of the replicated log left memory unwritten", p));
                }
                encode_record(*entry, record_buffer_);
                if (hold) {
                    held_store_.append(p, record_buffer_);
                } else {
                    write_record(p, record_buffer_);
                }
            }
        }
    } catch (const std::exception& e) {
        // A replica that cannot keep its log must not acknowledge anything: stop.
        fail(fmt::format("peer {}'s replica cannot write its journal: {}", id(), e.what()));
        return false;
    }
    if (auto compact = std::exchange(ready.compact, std::nullopt)) {
        // Written by the replica loop, off the event loop (about ten fsyncs); a newer one
        // replaces one not yet started.
        const auto& snapshot = core_.replica()->snapshot();
        if (!snapshot || snapshot->covered != compact->covered) {
            log_->warn("replica: snapshot failed (the log still has every record): the replica "
                       "holds no snapshot at {}",
                       compact->covered);
        } else {
            pending_snapshot_ = PendingSnapshot{
                compact->covered, encode_snapshot(compact->covered_epoch, snapshot->bytes)};
        }
    }
    if (journal.written() > journal.durable() || replica_report_.due(journal.durable()) ||
        pending_snapshot_) {
        wake(replica_timer_);
    }
    return true;
}

void Node::write_install(const replication::Snapshot& snapshot) {
    replica_journal_->install_snapshot(snapshot.covered,
                                       encode_snapshot(snapshot.covered_epoch, snapshot.bytes));
    replica_report_.cut();
}

void Node::write_cut(Position after) {
    replica_journal_->truncate_after(after);
    replica_report_.cut();
}

void Node::write_record(Position position, std::span<const std::byte> bytes) {
    if (const Position at = replica_journal_->append(bytes); at != position) {
        throw std::runtime_error(
            fmt::format("the journal put record {} of the replicated log at {}", position, at));
    }
}

bool Node::store_held() {
    try {
        if (auto install = held_store_.take_install()) write_install(*install);
        if (const auto cut = held_store_.take_cut()) write_cut(*cut);
        for (const auto& record : held_store_.take_records()) {
            write_record(record.position, record.bytes);
        }
    } catch (const std::exception& e) {
        fail(fmt::format("peer {}'s replica cannot write its journal: {}", id(), e.what()));
        return false;
    }
    return true;
}

void Node::began_reign(wire::Epoch epoch) {
    const Trader* trader = core_.trader();
    if (trader == nullptr) return;
    const market::Books& books = trader->books();
    const replication::Replica& replica = *core_.replica();
    log_->info("Dear buyers and sellers, My ID is {}, and I am the new coordinator", id());
    log_->info(
        "took over the books from a quorum's logs: up to record {}, {} answered, {} queued, "
        "{} pending",
        replica.commit(), plural(books.answered_count(), "request"), books.queued().size(),
        plural(books.payments().pending_count(), "payment"));
    if (context_.on_new_trader) context_.on_new_trader(id(), epoch);
    if (context_.observer) context_.observer->became_trader(*this, epoch, books, replica.commit());
}

asio::awaitable<void> Node::replica_loop() {
    if (!replica_journal_) {
        // Shared mode, or a customer: nothing to do until the trader ships it the log.
        co_await wait_until(replica_timer_, runtime::never,
                            [this] { return replica_journal_ != nullptr; });
    }
    const std::shared_ptr<Journal> journal = replica_journal_;
    for (;;) {
        co_await wait_until(replica_timer_, runtime::never, [&] {
            return journal->written() > journal->durable() ||
                   replica_report_.due(journal->durable()) || pending_snapshot_.has_value();
        });
        if (auto snapshot = std::exchange(pending_snapshot_, std::nullopt)) {
            // Meanwhile store_replica() holds the journal's other work (one writer at a time).
            snapshot_writing_ = true;
            try {
                // (In the model a snapshot takes a sync's time, and the work waits meanwhile.)
                const std::function<void()> write =
                    [journal, s = std::make_shared<PendingSnapshot>(std::move(*snapshot))] {
                        journal->write_snapshot(s->covered, s->bytes);
                    };
                co_await on_disk(*journal, write);
            } catch (const std::system_error& e) {
                if (e.code() == asio::error::operation_aborted) throw;  // stop()
                log_->warn("replica: snapshot failed (the log still has every record): {}",
                           e.what());
            } catch (const std::exception& e) {
                log_->warn("replica: snapshot failed (the log still has every record): {}",
                           e.what());
            }
            throw_if_cancelled(co_await asio::this_coro::cancellation_state);
            snapshot_writing_ = false;
            if (!store_held()) co_return;
            continue;  // what was held is written now: sync it
        }
        if (journal->written() > journal->durable()) {
            const std::uint64_t token = replica_report_.sync_started();
            try {
                const std::function<void()> sync = [journal] { journal->sync(); };
                co_await on_disk(*journal, sync);
            } catch (const std::system_error& e) {
                if (e.code() == asio::error::operation_aborted) throw;  // stop()
                fail(fmt::format("peer {}'s replica cannot sync its journal: {}", id(), e.what()));
                co_return;
            } catch (const std::exception& e) {
                fail(fmt::format("peer {}'s replica cannot sync its journal: {}", id(), e.what()));
                co_return;
            }
            throw_if_cancelled(co_await asio::this_coro::cancellation_state);
            // A cut while the sync was in flight: what it made durable may be gone; look again.
            if (replica_report_.stale(token)) continue;
        }
        const Position durable = journal->durable();
        if (!replica_report_.due(durable)) continue;
        replica_report_.reported(durable);
        core_.on_replica_durable(durable, core_now());
        if (!carry_out_now()) co_await flush();
    }
}

}  // namespace tp::peer
