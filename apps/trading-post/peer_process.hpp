#pragma once

#include <cstdint>
#include <optional>

#include "tp/auth/key.hpp"
#include "tp/peer/config.hpp"
#include "tp/peer/peer_core.hpp"

namespace tp::app {

// `trading-post peer`: one peer of a cluster in this process, until a signal, the configured
// duration, or an error it cannot recover from. Its durable state lives in its own directory in
// quorum mode (state_dir_of: the peer state, its replica of the trader's log, the `trader` file
// launchers read); in shared mode the peers of one host share storage.state_dir. A peer told by a
// member that it lost its durable state (a later life) starts again as the next life, in this
// process. With `join` (issue 18) it is a newcomer that joins the running market through a member;
// SIGTERM then leaves the market gracefully (a second signal stops it at once). Returns the exit
// status.
int run_peer_process(const peer::Config& config, const peer::PeerSpec& self,
                     const auth::Key* key,
                     const std::optional<peer::PeerCoreOptions::Joining>& join = std::nullopt);

}  // namespace tp::app
