#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "tp/peer/peer_state.hpp"

namespace fs = std::filesystem;
using tp::peer::next_incarnation;
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

std::string error_of(const fs::path& dir, std::uint32_t peer) {
    try {
        next_incarnation(dir, peer);
    } catch (const PeerStateError& e) {
        return e.what();
    }
    return {};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(peer_state)

// The regression of issue 14/15: a peer's lives were numbered by the wall clock cut to 32 bits.
BOOST_AUTO_TEST_CASE(incarnations_count_up_across_restarts_per_peer) {
    TempDir dir;
    // A fresh directory: the first life is 1; each start is one more; peers count apart.
    BOOST_TEST(next_incarnation(dir.path, 3) == 1u);
    BOOST_TEST(next_incarnation(dir.path, 3) == 2u);
    BOOST_TEST(next_incarnation(dir.path, 5) == 1u);
    BOOST_TEST(next_incarnation(dir.path, 3) == 3u);
    BOOST_TEST(!fs::exists(dir.path / "peer-3.state.tmp"));
}

BOOST_AUTO_TEST_CASE(damage_is_an_error_naming_the_file) {
    TempDir dir;
    next_incarnation(dir.path, 1);
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
    BOOST_TEST(error_of(dir.path, 1).find("5 bytes, expected 16") != std::string::npos);
    // Something else entirely.
    std::ofstream(file, std::ios::trunc) << "hello, this is not it";
    BOOST_TEST(error_of(dir.path, 1).find("bytes, expected 16") != std::string::npos);
    std::ofstream(file, std::ios::trunc) << "0123456789abcdef";
    BOOST_TEST(error_of(dir.path, 1).find("bad magic") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
