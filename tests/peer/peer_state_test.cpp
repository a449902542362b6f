#include <boost/test/unit_test.hpp>

#include <array>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "temp_dir.hpp"
#include "tp/journal/crc32c.hpp"
#include "tp/peer/peer_state.hpp"
#include "tp/peer/peer_state_store.hpp"

namespace fs = std::filesystem;
using tp::peer::PeerState;
using tp::peer::PeerStateError;

namespace {

using TempDir = tp::peer::test::TempDir;

std::uint32_t next_incarnation(const fs::path& dir, std::uint32_t peer) {
    return tp::peer::start_life(dir, peer).incarnation;
}

// A state file made by hand, as an earlier (or damaged) build left it: `magic`, then `body`, then
// the CRC32C (LE) of everything before it.
void write_by_hand(const fs::path& dir, std::uint32_t peer, const char (&magic)[9],
                   std::vector<std::byte> body) {
    std::vector<std::byte> b;
    for (int i = 0; i < 8; ++i) b.push_back(static_cast<std::byte>(magic[i]));
    b.insert(b.end(), body.begin(), body.end());
    const std::uint32_t crc = tp::journal::crc32c(b);
    for (int i = 0; i < 4; ++i) b.push_back(static_cast<std::byte>(crc >> (8 * i)));
    std::ofstream(dir / fmt::format("peer-{}.state", peer), std::ios::binary)
        .write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

// `n` bytes of `v`, little-endian.
void put_le(std::vector<std::byte>& out, std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out.push_back(static_cast<std::byte>(v >> (8 * i)));
}

std::string error_of(const fs::path& dir, std::uint32_t peer) {
    try {
        tp::peer::read_peer_state(dir, peer);
    } catch (const PeerStateError& e) {
        return e.what();
    }
    return {};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(peer_state)

// A peer's lives were numbered by the wall clock cut to 32 bits; now they count up.
BOOST_AUTO_TEST_CASE(incarnations_count_up_across_restarts_per_peer) {
    TempDir dir;
    // A fresh directory: the first life is 1; each start is one more; peers count apart.
    BOOST_TEST(next_incarnation(dir.path, 3) == 1u);
    BOOST_TEST(next_incarnation(dir.path, 3) == 2u);
    BOOST_TEST(next_incarnation(dir.path, 5) == 1u);
    BOOST_TEST(next_incarnation(dir.path, 3) == 3u);
    BOOST_TEST(!fs::exists(dir.path / "peer-3.state.tmp"));
}

// The highest epoch seen survives a restart and is kept across the next start.
BOOST_AUTO_TEST_CASE(the_epoch_floor_survives_restarts) {
    TempDir dir;
    PeerState s = tp::peer::start_life(dir.path, 2);
    BOOST_TEST(s.epoch == 0u);
    s.epoch = (std::uint64_t{7} << 20) | 2;
    tp::peer::write_peer_state(dir.path, 2, s);
    const PeerState next = tp::peer::start_life(dir.path, 2);
    BOOST_TEST(next.incarnation == 2u);
    BOOST_TEST(next.epoch == s.epoch);
}

// The first version's 16-byte file (incarnation only) still reads, with no epoch.
BOOST_AUTO_TEST_CASE(a_version_1_file_reads_as_epoch_0) {
    TempDir dir;
    // "TPSTATE1", incarnation 4 (LE), CRC32C of the 12 bytes before it (LE).
    std::vector<std::byte> body;
    put_le(body, 4, 4);
    write_by_hand(dir.path, 1, "TPSTATE1", body);
    BOOST_TEST(fs::file_size(dir.path / "peer-1.state") == 16u);
    const PeerState s = tp::peer::read_peer_state(dir.path, 1);
    BOOST_TEST(s.incarnation == 4u);
    BOOST_TEST(s.epoch == 0u);
    BOOST_TEST(!s.seeded);
    // The next life writes the current version (the third: 25 bytes).
    BOOST_TEST(tp::peer::start_life(dir.path, 1).incarnation == 5u);
    BOOST_TEST(fs::file_size(dir.path / "peer-1.state") == 25u);
}

BOOST_AUTO_TEST_CASE(damage_is_an_error_naming_the_file) {
    TempDir dir;
    tp::peer::start_life(dir.path, 1);
    const auto file = dir.path / "peer-1.state";
    // One flipped byte of the counter: the checksum says so.
    {
        std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(8);
        f.put('\x7f');
    }
    auto e = error_of(dir.path, 1);
    BOOST_TEST(e.find(file.string()) != std::string::npos);
    BOOST_TEST(e.find("checksum mismatch") != std::string::npos);
    // A short file.
    fs::resize_file(file, 5);
    BOOST_TEST(error_of(dir.path, 1).find("5 bytes, expected 16, 24 or 25") != std::string::npos);
    // Something else entirely.
    std::ofstream(file, std::ios::trunc) << "hello, this is not it";
    BOOST_TEST(error_of(dir.path, 1).find("bytes, expected 16, 24 or 25") != std::string::npos);
    std::ofstream(file, std::ios::trunc) << "0123456789abcdef";
    BOOST_TEST(error_of(dir.path, 1).find("bad magic") != std::string::npos);
}

// Issue 16: the third version adds whether the peer's replica of the trader's log is seeded.
BOOST_AUTO_TEST_CASE(the_seeded_flag_round_trips_in_version_3) {
    TempDir dir;
    for (const bool seeded : {true, false}) {
        // Written with the flag (and a large epoch and incarnation, so no byte is left out)...
        const PeerState written{0xfedcba98u, (std::uint64_t{0x123456789} << 20) | 7, seeded};
        tp::peer::write_peer_state(dir.path, 4, written);
        BOOST_TEST(fs::file_size(dir.path / "peer-4.state") == 25u);
        // ...it reads back whole, and the next life keeps it.
        BOOST_TEST((tp::peer::read_peer_state(dir.path, 4) == written));
        tp::peer::write_peer_state(dir.path, 4, PeerState{7, 9, seeded});
        const PeerState next = tp::peer::start_life(dir.path, 4);
        BOOST_TEST(next.incarnation == 8u);
        BOOST_TEST(next.epoch == 9u);
        BOOST_TEST(next.seeded == seeded);
    }
}

// A peer upgraded from the second version (shared-directory mode) has no replica: unseeded.
BOOST_AUTO_TEST_CASE(a_version_2_file_reads_unseeded) {
    TempDir dir;
    // "TPSTATE2", incarnation 6, epoch 0x0000000300000002 (LE), CRC32C of the 20 bytes before it.
    std::vector<std::byte> body;
    put_le(body, 6, 4);
    put_le(body, 0x0000000300000002, 8);
    write_by_hand(dir.path, 2, "TPSTATE2", body);
    BOOST_TEST(fs::file_size(dir.path / "peer-2.state") == 24u);
    const PeerState s = tp::peer::read_peer_state(dir.path, 2);
    BOOST_TEST(s.incarnation == 6u);
    BOOST_TEST(s.epoch == 0x0000000300000002u);
    BOOST_TEST(!s.seeded);
    // The next life keeps the epoch and writes the third version.
    const PeerState next = tp::peer::start_life(dir.path, 2);
    BOOST_TEST(next.incarnation == 7u);
    BOOST_TEST(next.epoch == 0x0000000300000002u);
    BOOST_TEST(fs::file_size(dir.path / "peer-2.state") == 25u);
}

BOOST_AUTO_TEST_CASE(damage_to_a_version_3_file_is_an_error_naming_the_file) {
    TempDir dir;
    const auto file = dir.path / "peer-3.state";
    tp::peer::write_peer_state(dir.path, 3, PeerState{2, 5, true});
    // The flags byte flipped: the checksum says so.
    {
        std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(20);
        f.put('\x00');
    }
    auto e = error_of(dir.path, 3);
    BOOST_TEST(e.find(file.string()) != std::string::npos);
    BOOST_TEST(e.find("checksum mismatch") != std::string::npos);
    // One byte too many, one too few.
    tp::peer::write_peer_state(dir.path, 3, PeerState{2, 5, true});
    std::ofstream(file, std::ios::binary | std::ios::app).put('\x00');
    e = error_of(dir.path, 3);
    BOOST_TEST(e.find(file.string()) != std::string::npos);
    BOOST_TEST(e.find("26 bytes, expected 16, 24 or 25") != std::string::npos);
    fs::resize_file(file, 23);
    BOOST_TEST(error_of(dir.path, 3).find("23 bytes, expected 16, 24 or 25") != std::string::npos);
    // A 25-byte file with the second version's magic.
    std::vector<std::byte> body;
    put_le(body, 2, 4);
    put_le(body, 5, 8);
    put_le(body, 1, 1);
    write_by_hand(dir.path, 3, "TPSTATE2", body);
    BOOST_TEST(error_of(dir.path, 3).find("bad magic") != std::string::npos);
    // Flags this build does not know, with a valid checksum: refused, not guessed at.
    body.back() = std::byte{0x03};
    write_by_hand(dir.path, 3, "TPSTATE3", body);
    e = error_of(dir.path, 3);
    BOOST_TEST(e.find(file.string()) != std::string::npos);
    BOOST_TEST(e.find("unknown flags 0x03") != std::string::npos);
}

// note_seeded is durable on return: a new store over the same directory (a restart) sees it, and
// neither note undoes the other.
BOOST_AUTO_TEST_CASE(note_seeded_survives_a_restart_in_files) {
    TempDir dir;
    // A first life, unseeded; seeded later, then a newer epoch.
    {
        const auto store = tp::peer::PeerStateStore::in_files(dir.path);
        BOOST_TEST(!store->start_life(6).seeded);
        store->note_seeded(6);
        BOOST_TEST(tp::peer::read_peer_state(dir.path, 6).seeded);
        store->note_epoch(6, 11);
    }
    // The file holds both; the next life of a new store starts seeded.
    const PeerState on_disk = tp::peer::read_peer_state(dir.path, 6);
    BOOST_TEST(on_disk.seeded);
    BOOST_TEST(on_disk.epoch == 11u);
    const auto store = tp::peer::PeerStateStore::in_files(dir.path);
    const PeerState next = store->start_life(6);
    BOOST_TEST(next.incarnation == 2u);
    BOOST_TEST(next.epoch == 11u);
    BOOST_TEST(next.seeded);
    // Another peer of the same directory stays unseeded.
    BOOST_TEST(!store->start_life(7).seeded);
    // A peer seeded before it ever started here: its file is written with the flag alone.
    store->note_seeded(8);
    BOOST_TEST((tp::peer::read_peer_state(dir.path, 8) == PeerState{0, 0, true}));
}

BOOST_AUTO_TEST_CASE(note_seeded_survives_a_restart_in_memory) {
    const auto store = tp::peer::PeerStateStore::in_memory();
    // A first life, unseeded; seeded, then a newer epoch.
    BOOST_TEST(!store->start_life(6).seeded);
    store->note_seeded(6);
    store->note_epoch(6, 11);
    // The next life starts seeded with the epoch; another peer does not.
    const PeerState next = store->start_life(6);
    BOOST_TEST(next.incarnation == 2u);
    BOOST_TEST(next.epoch == 11u);
    BOOST_TEST(next.seeded);
    BOOST_TEST(!store->start_life(7).seeded);
}

BOOST_AUTO_TEST_SUITE_END()
