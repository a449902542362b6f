#include <boost/test/unit_test.hpp>

#include <array>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "tp/journal/crc32c.hpp"
#include "tp/peer/peer_state.hpp"

namespace fs = std::filesystem;
using tp::peer::PeerState;
using tp::peer::PeerStateError;

namespace {

struct TempDir {
    fs::path path;
    TempDir() {
        path =
            fs::temp_directory_path() / ("tp-peer-state-" + std::to_string(std::random_device{}()));
        fs::create_directories(path);
    }
    ~TempDir() { fs::remove_all(path); }
};

std::uint32_t next_incarnation(const fs::path& dir, std::uint32_t peer) {
    return tp::peer::start_life(dir, peer).incarnation;
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
    std::array<std::byte, 16> v1{};
    const char magic[] = "TPSTATE1";
    for (int i = 0; i < 8; ++i) v1[static_cast<std::size_t>(i)] = static_cast<std::byte>(magic[i]);
    v1[8] = std::byte{4};
    const std::uint32_t crc = tp::journal::crc32c(std::span<const std::byte>(v1.data(), 12));
    for (int i = 0; i < 4; ++i)
        v1[12 + static_cast<std::size_t>(i)] = static_cast<std::byte>(crc >> (8 * i));
    std::ofstream(dir.path / "peer-1.state", std::ios::binary)
        .write(reinterpret_cast<const char*>(v1.data()), v1.size());
    const PeerState s = tp::peer::read_peer_state(dir.path, 1);
    BOOST_TEST(s.incarnation == 4u);
    BOOST_TEST(s.epoch == 0u);
    // The next life writes the second version.
    BOOST_TEST(tp::peer::start_life(dir.path, 1).incarnation == 5u);
    BOOST_TEST(fs::file_size(dir.path / "peer-1.state") == 24u);
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
    BOOST_TEST(error_of(dir.path, 1).find("5 bytes, expected 16 or 24") != std::string::npos);
    // Something else entirely.
    std::ofstream(file, std::ios::trunc) << "hello, this is not it";
    BOOST_TEST(error_of(dir.path, 1).find("bytes, expected 16 or 24") != std::string::npos);
    std::ofstream(file, std::ios::trunc) << "0123456789abcdef";
    BOOST_TEST(error_of(dir.path, 1).find("bad magic") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
