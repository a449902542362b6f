#include "tp/peer/peer_state_store.hpp"

#include <limits>
#include <utility>

namespace tp::peer {

namespace {

class MemoryStore : public PeerStateStore {
public:
    PeerState start_life(clock::PeerId peer) override {
        PeerState& s = states_[peer];
        if (s.incarnation == std::numeric_limits<std::uint32_t>::max()) {
            throw PeerStateError("peer state of peer " + std::to_string(peer) +
                                 ": incarnations exhausted");
        }
        ++s.incarnation;
        return s;
    }
    void note_epoch(clock::PeerId peer, wire::Epoch epoch) override {
        PeerState& s = states_[peer];
        if (epoch > s.epoch) s.epoch = epoch;
    }
    void note_seeded(clock::PeerId peer) override { states_[peer].seeded = true; }
    void lose(clock::PeerId peer) override {
        PeerState& s = states_[peer];
        s = PeerState{s.incarnation, 0, false};
    }

private:
    std::map<clock::PeerId, PeerState> states_;
};

class FileStore : public PeerStateStore {
public:
    explicit FileStore(std::filesystem::path dir) : dir_(std::move(dir)) {}

    PeerState start_life(clock::PeerId peer) override {
        PeerState s = peer::start_life(dir_, peer);
        states_[peer] = s;
        return s;
    }
    void note_epoch(clock::PeerId peer, wire::Epoch epoch) override {
        PeerState s = known(peer);
        if (epoch <= s.epoch) return;
        s.epoch = epoch;
        write_peer_state(dir_, peer, s);
        states_[peer] = s;
    }
    void note_seeded(clock::PeerId peer) override {
        PeerState s = known(peer);
        if (s.seeded) return;
        s.seeded = true;
        write_peer_state(dir_, peer, s);
        states_[peer] = s;
    }
    void lose(clock::PeerId peer) override {
        const PeerState s{known(peer).incarnation, 0, false};
        write_peer_state(dir_, peer, s);
        states_[peer] = s;
    }

private:
    // A peer never started here has no incarnation to keep: its state is read from its file.
    PeerState known(clock::PeerId peer) const {
        auto it = states_.find(peer);
        return it != states_.end() ? it->second : read_peer_state(dir_, peer);
    }

    std::filesystem::path dir_;
    std::map<clock::PeerId, PeerState> states_;  // what the files hold: no read per epoch
};

}  // namespace

std::unique_ptr<PeerStateStore> PeerStateStore::in_files(std::filesystem::path state_dir) {
    return std::make_unique<FileStore>(std::move(state_dir));
}

std::unique_ptr<PeerStateStore> PeerStateStore::in_memory() {
    return std::make_unique<MemoryStore>();
}

}  // namespace tp::peer
