#pragma once

// The replica's storage work held while its journal writes a snapshot off the event loop: the
// journal takes one writer at a time, so installs, cuts and appends wait for the snapshot, merged
// the way the replica merges its own Ready. Records are kept encoded (the replica may drop them
// from memory meanwhile) and carried out in order (install, cut, append) once the snapshot is
// written. Only the records of one snapshot's duration are ever held.

#include <cstddef>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "tp/replication/replica.hpp"

namespace tp::peer {

class HeldStore {
public:
    using Position = replication::Position;
    struct Record {
        Position position = 0;
        std::vector<std::byte> bytes;
    };

    bool empty() const noexcept { return !install_ && !cut_ && records_.empty(); }

    // A snapshot replaces the whole log: whatever was held before it is moot.
    void install(replication::Snapshot snapshot) {
        install_ = std::move(snapshot);
        cut_.reset();
        records_.clear();
    }
    // The log drops what follows `position`, held records too.
    void truncate_after(Position position) {
        cut_ = cut_ ? std::min(*cut_, position) : position;
        while (!records_.empty() && records_.back().position > position) records_.pop_back();
    }
    // The record at `position`, written anew: it replaces any held at or after it.
    void append(Position position, std::span<const std::byte> bytes) {
        while (!records_.empty() && records_.back().position >= position) records_.pop_back();
        if (!records_.empty() && records_.back().position + 1 != position) {
            throw std::logic_error("held record " + std::to_string(position) + " does not follow " +
                                   std::to_string(records_.back().position));
        }
        records_.push_back({position, std::vector<std::byte>(bytes.begin(), bytes.end())});
    }

    // In order: the install, the cut, the records; empties this.
    // (Moved out, then reset: std::exchange with an empty optional draws a false
    // -Wmaybe-uninitialized from g++ 12 under the sanitizers.)
    std::optional<replication::Snapshot> take_install() {
        std::optional<replication::Snapshot> out = std::move(install_);
        install_.reset();
        return out;
    }
    std::optional<Position> take_cut() {
        const std::optional<Position> out = cut_;
        cut_.reset();
        return out;
    }
    std::vector<Record> take_records() {
        std::vector<Record> out = std::move(records_);
        records_.clear();
        return out;
    }

private:
    std::optional<replication::Snapshot> install_;
    std::optional<Position> cut_;
    std::vector<Record> records_;
};

}  // namespace tp::peer
