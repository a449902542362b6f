#pragma once

// What the driver's files (node, node_reign, behaviour) share: the idle wait, and one reign's
// hold on the trader's journal.

#include <memory>

#include "tp/peer/journal.hpp"
#include "tp/peer/node.hpp"
#include "tp/runtime/timer.hpp"

namespace tp::peer {

// How long a coroutine with nothing to wait for sleeps before looking again. Finite, so virtual
// time never jumps to the end of time.
inline constexpr runtime::Duration idle = std::chrono::hours(1);

// One reign as trader: the journal that makes the core's books durable. Shared with the reign's
// coroutines, so it lives until the last of them ends (an fdatasync in flight holds the journal
// open).
struct Node::Reign {
    explicit Reign(runtime::Runtime& rt) : wake(rt), poll(rt) {}

    wire::Epoch epoch = 0;
    std::shared_ptr<Journal> journal;  // set once open
    runtime::Timer wake;               // the commit loop's
    runtime::Timer poll;               // the journal lock's
    bool active = true;                // false once stepped down
};

}  // namespace tp::peer
