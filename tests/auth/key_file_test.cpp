#include <boost/test/unit_test.hpp>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "tp/auth/key.hpp"

namespace fs = std::filesystem;
using namespace tp::auth;

namespace {

// A temporary directory, removed at the end.
struct TempDir {
    fs::path path;
    TempDir() {
        path =
            fs::temp_directory_path() / ("tp-key-test-" + std::to_string(std::random_device{}()));
        fs::create_directories(path);
    }
    ~TempDir() { fs::remove_all(path); }
};

void write_file(const fs::path& p, const std::string& text, fs::perms perms) {
    std::ofstream(p) << text;
    fs::permissions(p, perms);
}

// The one line load_key throws.
std::string error_of(const fs::path& p) {
    try {
        load_key(p);
    } catch (const KeyFileError& e) {
        return e.what();
    }
    BOOST_FAIL("no error for " << p);
    return {};
}

bool contains(const std::string& s, const std::string& part) {
    return s.find(part) != std::string::npos;
}

const std::string digits64(64, 'a');

}  // namespace

BOOST_AUTO_TEST_SUITE(key_file)

BOOST_AUTO_TEST_CASE(saved_key_loads_back) {
    TempDir dir;
    const Key key = Key::generate();
    save_key(dir.path / "k", key);
    BOOST_TEST(((fs::status(dir.path / "k").permissions() & fs::perms::all) ==
                (fs::perms::owner_read | fs::perms::owner_write)));
    BOOST_TEST((load_key(dir.path / "k") == key));
    BOOST_TEST(!(Key::generate() == key));
}

BOOST_AUTO_TEST_CASE(save_never_overwrites) {
    TempDir dir;
    save_key(dir.path / "k", Key::generate());
    BOOST_CHECK_THROW(save_key(dir.path / "k", Key::generate()), KeyFileError);
}

BOOST_AUTO_TEST_CASE(missing_file) {
    TempDir dir;
    const auto e = error_of(dir.path / "nope");
    BOOST_TEST(contains(e, "nope"));
    BOOST_TEST(contains(e, "missing"));
    BOOST_TEST(contains(e, "keygen"));
}

BOOST_AUTO_TEST_CASE(readable_by_others_is_refused) {
    TempDir dir;
    write_file(dir.path / "k", digits64 + "\n",
               fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                   fs::perms::others_read);
    const auto e = error_of(dir.path / "k");
    BOOST_TEST(contains(e, "group or others"));
    BOOST_TEST(contains(e, "0644"));
    BOOST_TEST(contains(e, "chmod 600"));
    fs::permissions(dir.path / "k", fs::perms::owner_read | fs::perms::group_read);
    BOOST_TEST(contains(error_of(dir.path / "k"), "0440"));
}

BOOST_AUTO_TEST_CASE(wrong_size_is_refused) {
    TempDir dir;
    const auto owner = fs::perms::owner_read | fs::perms::owner_write;
    write_file(dir.path / "short", std::string(63, 'a') + "\n", owner);
    BOOST_TEST(
        contains(error_of(dir.path / "short"), "holds 63 characters, a key is 64 hex digits"));
    write_file(dir.path / "long", std::string(65, 'a'), owner);
    BOOST_TEST(contains(error_of(dir.path / "long"), "holds 65 characters"));
    write_file(dir.path / "huge", std::string(4096, 'a'), owner);
    BOOST_TEST(contains(error_of(dir.path / "huge"), "at least"));
    write_file(dir.path / "empty", "", owner);
    BOOST_TEST(contains(error_of(dir.path / "empty"), "holds 0 characters"));
}

BOOST_AUTO_TEST_CASE(not_hex_is_refused) {
    TempDir dir;
    std::string text = digits64;
    text[9] = 'g';
    write_file(dir.path / "k", text, fs::perms::owner_read);
    BOOST_TEST(contains(error_of(dir.path / "k"), "character 10 is not a hex digit"));
}

BOOST_AUTO_TEST_CASE(a_directory_is_refused) {
    TempDir dir;
    fs::create_directory(dir.path / "d");
    fs::permissions(dir.path / "d", fs::perms::owner_all);
    BOOST_TEST(contains(error_of(dir.path / "d"), "not a regular file"));
}

BOOST_AUTO_TEST_CASE(derived_keys_are_stable_and_distinct) {
    BOOST_TEST((Key::derive(7) == Key::derive(7)));
    BOOST_TEST(!(Key::derive(7) == Key::derive(8)));
}

BOOST_AUTO_TEST_SUITE_END()
