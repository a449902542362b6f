#pragma once

#include <span>
#include <string>
#include <utility>

#include "tp/journal/log.hpp"
#include "tp/market/books.hpp"
#include "tp/peer/config.hpp"
#include "tp/replication/replica.hpp"

namespace tp::peer {

// The market's settings from the configuration, founding members included (peers 1..N).
market::Config market_config(const Config& config);

// The books a journal's recovery describes: its snapshot plus the events after it.
market::Result<market::Books> replay_books(const journal::Recovery& recovery,
                                           const market::Config& config);

// The books a replica's log describes: its snapshot plus the data records after it, every one
// (committed or not: the caller decides which log counts).
market::Result<market::Books> replica_books(const replication::Restored& log,
                                            const market::Config& config);

// The end of a replica's log as a view change orders logs: the epoch of its last record (or of
// what its snapshot covers), then its position.
std::pair<replication::Epoch, replication::Position> log_end(const replication::Restored& log);

// Of several replicas' logs, the one a view change over all of them would adopt: the most
// advanced by log_end (the first of equals). Null when `logs` is empty.
const replication::Restored* most_advanced(std::span<const replication::Restored> logs);

// One line on a torn tail: which file, from which offset, how many bytes, and whether they were
// cut (by a trader's open) or left in place (by a read-only look such as `books`).
std::string describe(const journal::TornTail& tail);

}  // namespace tp::peer
