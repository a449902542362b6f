// Replays the auth fuzz property over the committed seed corpus and systematic mutations of every
// seed, so the property is checked on every `meson test` even where libFuzzer is not available.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>

#include "corpus_files.hpp"
#include "fuzz_open.hpp"

#ifndef TP_AUTH_CORPUS_DIR
#error "TP_AUTH_CORPUS_DIR must name tests/auth/corpus"
#endif

namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<std::byte>;
using tp::auth::fuzz::check_open_property;

using Seed = tp::test::CorpusFile;

std::vector<Seed> load_corpus() {
    return tp::test::load_corpus(TP_AUTH_CORPUS_DIR);
}

bool starts_with(const std::string& s, const char* prefix) {
    return s.rfind(prefix, 0) == 0;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(auth_fuzz_replay)

BOOST_AUTO_TEST_CASE(seeds_open_as_their_names_say) {
    const auto seeds = load_corpus();
    BOOST_TEST_REQUIRE(seeds.size() >= 8u, "corpus missing from " << TP_AUTH_CORPUS_DIR);
    bool later_life_seed = false;
    for (const auto& seed : seeds) {
        const auto out = check_open_property(seed.bytes);
        BOOST_TEST(out.failure.empty(), seed.name << ": " << out.failure);
        // Frames sealed with the key are accepted, and their envelopes decode.
        if (starts_with(seed.name, "raw-valid-") && seed.name != "raw-valid-hello.bin") {
            BOOST_TEST(out.accepted, seed.name);
            BOOST_TEST(out.decoded, seed.name);
        }
        if (starts_with(seed.name, "raw-wrong-key")) BOOST_TEST(!out.accepted, seed.name);
        // A member's hello for a later life of the receiver is refused, and reports that life.
        if (seed.name == "raw-later-life.bin") {
            later_life_seed = true;
            BOOST_TEST(!out.accepted);
            BOOST_TEST(out.later_life);
        }
        if (starts_with(seed.name, "sealed-")) {
            BOOST_TEST(out.accepted, seed.name);
            BOOST_TEST(out.decoded == (seed.name != "sealed-garbage.bin"), seed.name);
        }
    }
    BOOST_TEST(later_life_seed, "raw-later-life.bin missing from the corpus");
}

BOOST_AUTO_TEST_CASE(property_holds_over_mutations) {
    std::size_t runs = 0, accepted = 0, decoded = 0, failures = 0;
    auto run = [&](const std::string& what, const Bytes& input) {
        ++runs;
        const auto out = check_open_property(input);
        if (!out.failure.empty() && ++failures <= 10) BOOST_ERROR(what << ": " << out.failure);
        accepted += out.accepted;
        decoded += out.decoded;
    };
    std::mt19937_64 rng(0x0a17'f022'5eed);  // fixed: a failure here is a reproduction
    for (const auto& seed : load_corpus()) {
        const Bytes& b = seed.bytes;
        for (std::size_t n = 0; n < b.size(); ++n)
            run(seed.name + " cut " + std::to_string(n), Bytes(b.begin(), b.begin() + n));
        // Every bit flipped (raw frames: each one must now be refused, or be the mode byte).
        for (std::size_t i = 0; i < b.size(); ++i) {
            for (int bit = 0; bit < 8; ++bit) {
                Bytes f = b;
                f[i] ^= std::byte{static_cast<unsigned char>(1u << bit)};
                run(seed.name + " flip " + std::to_string(i) + "." + std::to_string(bit), f);
            }
        }
        for (int k = 0; k < 100 && b.size() > 1; ++k) {
            Bytes m = b;
            for (int e = 0; e < 1 + static_cast<int>(rng() % 4); ++e)
                m[1 + rng() % (m.size() - 1)] = static_cast<std::byte>(rng());
            run(seed.name + " random " + std::to_string(k), m);
        }
    }
    BOOST_TEST(failures == 0u);
    BOOST_TEST_MESSAGE(runs << " inputs, " << accepted << " accepted, " << decoded << " decoded");
    // Both sides of the MAC and of the decoder are reached.
    BOOST_TEST(accepted > 100u);
    BOOST_TEST(decoded > 100u);
    BOOST_TEST(runs - accepted > 1000u);
}

BOOST_AUTO_TEST_SUITE_END()
