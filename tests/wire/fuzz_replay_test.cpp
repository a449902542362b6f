// Replays the fuzz property over the committed seed corpus and systematic mutations of every seed,
// so the property is checked on every `meson test` even where libFuzzer is not available.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>

#include "corpus_files.hpp"
#include "fuzz_property.hpp"
#include "samples.hpp"
#include "tp/wire/codec.hpp"

#ifndef TP_WIRE_CORPUS_DIR
#error "TP_WIRE_CORPUS_DIR must name tests/wire/corpus"
#endif

namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<std::byte>;

using Seed = tp::test::CorpusFile;

std::vector<Seed> load_corpus() {
    return tp::test::load_corpus(TP_WIRE_CORPUS_DIR);
}

// A corpus file an earlier build wrote, which this build must decode to `env`; returns its bytes.
const Bytes& decodes_to(const std::vector<Seed>& seeds, const std::string& file,
                       const tp::wire::Envelope& env) {
    const auto it =
        std::find_if(seeds.begin(), seeds.end(), [&](const Seed& s) { return s.name == file; });
    BOOST_TEST_REQUIRE((it != seeds.end()), "corpus lacks " << file);
    const auto r = tp::wire::decode(it->bytes);
    BOOST_TEST_REQUIRE(r.has_value(), file << ": " << (r ? "" : r.error().message()));
    BOOST_TEST((r.value() == env), file);
    return it->bytes;
}

// Counts inputs and reports the first few violations with the input that caused them.
struct Runner {
    std::size_t runs = 0;
    std::size_t decoded = 0;
    std::size_t failures = 0;

    void operator()(const std::string& what, const Bytes& input) {
        ++runs;
        const auto broke = tp::wire::fuzz::check_decode_property(input);
        if (!broke.empty()) {
            if (++failures <= 10) BOOST_ERROR(what << ": " << broke);
            return;
        }
        if (tp::wire::decode(input)) ++decoded;
    }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(wire_fuzz_replay)

BOOST_AUTO_TEST_CASE(seeds_decode_as_their_names_say) {
    const auto seeds = load_corpus();
    BOOST_TEST_REQUIRE(seeds.size() >= 24u, "corpus missing from " << TP_WIRE_CORPUS_DIR);
    for (const auto& seed : seeds) {
        BOOST_TEST(tp::wire::fuzz::check_decode_property(seed.bytes).empty(), seed.name);
        if (seed.name.rfind("bad-", 0) == 0) BOOST_TEST(!tp::wire::decode(seed.bytes), seed.name);
    }
}

BOOST_AUTO_TEST_CASE(committed_bytes_still_decode_to_the_samples) {
    // The corpus was written by an earlier build: this is the wire-compatibility check. If it
    // fails after a schema edit, the edit broke peers running the old build.
    const auto seeds = load_corpus();
    for (const auto& [name, env] : tp::wire::samples::all()) {
        const auto file = name + ".bin";
        BOOST_TEST((tp::wire::encode(env) == decodes_to(seeds, file, env)),
                   file << " encodes differently now");
    }
}

BOOST_AUTO_TEST_CASE(version_1_bytes_still_decode_to_the_samples) {
    // Written by the last version-1 build (the clock as a list of structs): this build still
    // reads them, to the same messages, and writes them packed.
    const auto seeds = load_corpus();
    std::size_t seen = 0;
    for (const auto& [name, env] : tp::wire::samples::all()) {
        std::string file = "compat-v1-";  // (g++ 12 -O3 misreads "literal" + string)
        file += name;
        file += ".bin";
        const auto it =
            std::find_if(seeds.begin(), seeds.end(), [&](const Seed& s) { return s.name == file; });
        if (it == seeds.end()) continue;  // a sample newer than version 1
        ++seen;
        const auto r = tp::wire::decode(it->bytes);
        BOOST_TEST_REQUIRE(r.has_value(), file << ": " << (r ? "" : r.error().message()));
        BOOST_TEST((r.value() == env), file);
        // Packed, the clock takes less; the envelope has one pointer (a word) more.
        BOOST_TEST(tp::wire::encode(env).size() <= it->bytes.size() + 8, file);
    }
    BOOST_TEST(seen >= 30u);
}

BOOST_AUTO_TEST_CASE(an_older_build_s_detail_text_is_ignored) {
    // Written by the build before BuyResult.detail was retired (schema: detailDeprecated @6),
    // each with a detail text: they still decode, to the message without it.
    using namespace tp::wire;
    const auto samples = samples::all();
    const auto sample = [&](const std::string& name) {
        const auto it = std::find_if(samples.begin(), samples.end(),
                                     [&](const auto& s) { return s.first == name; });
        BOOST_TEST_REQUIRE((it != samples.end()), name);
        return it->second;
    };
    const std::pair<std::string, Envelope> cases[] = {
        {"compat-detail-buy_result_refused.bin", sample("buy_result_refused")},
        {"compat-detail-buy_result_max.bin", sample("buy_result_max")},
        {"compat-detail-buy_result_embedded_nul.bin",
         samples::envelope(BuyResult{1, false, RefusalReason::invalid_request, 0, 0, {}})},
    };
    const auto seeds = load_corpus();
    for (const auto& [file, env] : cases) {
        // The text was there, and nothing of it is written again.
        BOOST_TEST(encode(env).size() < decodes_to(seeds, file, env).size(), file);
    }
}

BOOST_AUTO_TEST_CASE(an_older_build_s_join_answers_still_decode) {
    // Written by the build before a JoinAnswer said which log position its list is as of
    // (issue 18): they decode to the same answers with version 0 (unknown), and are written one
    // word longer now.
    using namespace tp::wire;
    const auto samples = samples::all();
    const auto seeds = load_corpus();
    for (const std::string name : {"join_answer", "join_answer_redirect", "join_answer_refused"}) {
        const auto it = std::find_if(samples.begin(), samples.end(),
                                     [&](const auto& s) { return s.first == name; });
        BOOST_TEST_REQUIRE((it != samples.end()), name);
        BOOST_TEST(std::get<JoinAnswer>(it->second.body).version == 0u);
        const std::string file = "compat-" + name + "-no-version.bin";
        BOOST_TEST(encode(it->second).size() == decodes_to(seeds, file, it->second).size() + 8,
                   file);
    }
}

BOOST_AUTO_TEST_CASE(an_older_build_s_leave_and_leave_answer_still_decode) {
    // Written by the build before a Leave named where the leaver listens and a LeaveAnswer the
    // trader's entry (issue 18): they decode to the same messages with neither, and are written
    // one pointer (a word) longer now.
    using namespace tp::wire;
    const std::pair<std::string, Envelope> cases[] = {
        {"compat-leave-no-address.bin", samples::envelope(Leave{true, {}, 0})},
        {"compat-leave_answer-no-members.bin",
         samples::envelope(LeaveAnswer{MembershipRefusal::payments_pending, 0, {}})},
    };
    const auto seeds = load_corpus();
    for (const auto& [file, env] : cases) {
        BOOST_TEST(encode(env).size() == decodes_to(seeds, file, env).size() + 8, file);
    }
}

BOOST_AUTO_TEST_CASE(an_older_build_s_coordinator_with_two_epochs_is_refused) {
    // The build before one epoch per election message encoded this sample (leader and epoch
    // fields the largest, envelope epoch 2): the two epochs disagree, so it no longer decodes.
    const auto seeds = load_corpus();
    const auto it = std::find_if(seeds.begin(), seeds.end(), [](const Seed& s) {
        return s.name == "bad-coordinator_max-epoch-v1.bin";
    });
    BOOST_TEST_REQUIRE((it != seeds.end()));
    const auto r = tp::wire::decode(it->bytes);
    BOOST_TEST_REQUIRE(!r.has_value());
    BOOST_TEST(r.error().code == tp::wire::DecodeErrc::invalid_value);
    BOOST_TEST(r.error().detail ==
               "body.coordinator.epoch: 18446744073709551615 differs from the envelope's epoch 2");
}

BOOST_AUTO_TEST_CASE(broken_replication_seeds_break_the_rule_they_name) {
    // Each is a sample with one byte patched (corpus.hpp gives the offsets): the decoder must
    // refuse it for that byte, not for something the patch broke by accident.
    const auto seeds = load_corpus();
    const std::pair<std::string, std::string> cases[] = {
        {"bad-append-entry-kind.bin", "body.append.entries[0].kind: 5 is not an EntryKind"},
        {"bad-snapshot_chunk-beyond-total.bin",
         "body.snapshotChunk: 32 bytes at offset 32 exceed the total 33"},
    };
    for (const auto& [file, says] : cases) {
        const auto it =
            std::find_if(seeds.begin(), seeds.end(), [&](const Seed& s) { return s.name == file; });
        BOOST_TEST_REQUIRE((it != seeds.end()), "corpus lacks " << file);
        const auto r = tp::wire::decode(it->bytes);
        BOOST_TEST_REQUIRE(!r.has_value(), file);
        BOOST_TEST(r.error().code == tp::wire::DecodeErrc::invalid_value, file);
        BOOST_TEST(r.error().detail == says, file);
    }
}

BOOST_AUTO_TEST_CASE(property_holds_over_mutations) {
    Runner run;
    std::mt19937_64 rng(0x7ad1'a9b0'57c0'11e5);  // fixed: a failure here is a reproduction
    for (const auto& seed : load_corpus()) {
        const Bytes& b = seed.bytes;
        // Every truncation.
        for (std::size_t n = 0; n < b.size(); ++n)
            run(seed.name + " cut " + std::to_string(n), Bytes(b.begin(), b.begin() + n));
        // Every byte inverted and, for small seeds, every single bit flipped.
        const std::size_t stride = b.size() <= 512 ? 1 : 8;
        for (std::size_t i = 0; i < b.size(); i += stride) {
            Bytes m = b;
            m[i] = ~m[i];
            run(seed.name + " invert " + std::to_string(i), m);
            if (b.size() > 512) continue;
            for (int bit = 0; bit < 8; ++bit) {
                Bytes f = b;
                f[i] ^= std::byte{static_cast<unsigned char>(1u << bit)};
                run(seed.name + " flip " + std::to_string(i) + "." + std::to_string(bit), f);
            }
        }
        // Random stacked mutations: byte writes, boundary words, inserted and erased words.
        for (int k = 0; k < 200 && !b.empty(); ++k) {
            Bytes m = b;
            const int edits = 1 + static_cast<int>(rng() % 4);
            for (int e = 0; e < edits && !m.empty(); ++e) {
                const std::size_t at = rng() % m.size();
                switch (rng() % 4) {
                    case 0: m[at] = static_cast<std::byte>(rng()); break;
                    case 1: {
                        static constexpr std::uint32_t edge[] = {
                            0, 1, 0x7FFFFFFF, 0xFFFFFFFF, 0xFFFFFFFC, 4096, 257};
                        const auto v = edge[rng() % std::size(edge)];
                        for (std::size_t i = 0; i < 4 && at + i < m.size(); ++i)
                            m[at + i] = static_cast<std::byte>(v >> (8 * i));
                        break;
                    }
                    case 2:
                        m.insert(m.begin() + at - at % 8, 8, static_cast<std::byte>(rng()));
                        break;
                    case 3: m.erase(m.begin() + at, m.begin() + std::min(m.size(), at + 8)); break;
                }
            }
            run(seed.name + " random " + std::to_string(k), m);
        }
    }
    BOOST_TEST(run.failures == 0u);
    BOOST_TEST_MESSAGE(run.runs << " inputs, " << run.decoded << " decoded");
    // The mutations reach both sides of the decoder, not only its first size check.
    BOOST_TEST(run.decoded > 1000u);
    BOOST_TEST(run.runs - run.decoded > 1000u);
}

BOOST_AUTO_TEST_SUITE_END()
