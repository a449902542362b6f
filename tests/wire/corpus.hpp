#pragma once

// The fuzz seed corpus: every sample envelope, plus a few broken ones made from them byte by byte.
// Written once into tests/wire/corpus/ by `build/tests/wire/wire-make-corpus tests/wire/corpus`.
// In that directory, <sample>.bin is the exact encoding of a samples::all() entry (the replay suite
// keeps it as a wire-compatibility fixture: don't regenerate it to paper over a schema break; it
// was regenerated once, for protocol version 2, when the version-1 files became compat-v1-*.bin);
// bad-*.bin must not decode; compat-*.bin are an older build's bytes (not written here) that must
// still decode; any other file (e.g. an input promoted from tools/fuzz) only has to satisfy the
// fuzz property.

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "samples.hpp"

namespace tp::wire::corpus {

inline std::vector<std::pair<std::string, std::vector<std::byte>>> seeds() {
    std::vector<std::pair<std::string, std::vector<std::byte>>> out;
    for (const auto& [name, env] : samples::all()) out.emplace_back(name, encode(env));

    const auto buy = encode(samples::envelope(samples::buy()));
    auto patched = [&](std::string name, std::size_t at, std::byte value) {
        auto b = buy;
        b.at(at) = value;
        out.emplace_back("bad-" + std::move(name), std::move(b));
    };
    // Offsets: segment table 0..7, root pointer 8..15, envelope data 16..39 (version at 32,
    // union tag at 34), version 1's clock list pointer 40, body pointer 48, clock pointer 56.
    patched("version-3", 32, std::byte{3});
    patched("unknown-kind", 34, std::byte{77});
    patched("segment-count", 0, std::byte{200});
    patched("segment-size", 4, std::byte{0xFF});
    patched("body-pointer", 51, std::byte{0x7F});
    out.emplace_back("bad-truncated", std::vector<std::byte>(buy.begin(), buy.begin() + 24));
    out.emplace_back("bad-odd-size", std::vector<std::byte>(buy.begin(), buy.end() - 3));
    auto trailing = buy;
    trailing.resize(buy.size() + 8);
    out.emplace_back("bad-trailing", std::move(trailing));
    // A Coordinator whose epoch field disagrees with its envelope's (epoch at offset 24).
    auto coordinator =
        encode(samples::envelope(Coordinator{6, 3}, samples::dense_clock(6), 6, 0, 3));
    coordinator.at(24) = std::byte{4};
    out.emplace_back("bad-coordinator-epoch", std::move(coordinator));

    // Replication, with an empty clock: the body struct starts at offset 64 (table, root pointer,
    // envelope data, its three pointers). An Append's first entry follows its 3 data words, its
    // entries pointer and the list tag: at 104, with the entry's kind at 112.
    auto append = encode(samples::envelope(samples::append(), {}));
    append.at(112) = std::byte{5};
    out.emplace_back("bad-append-entry-kind", std::move(append));
    // A chunk's total (its fourth data word, at 88) below offset + size: 32 + 32 > 33.
    auto chunk = encode(samples::envelope(samples::snapshot_chunk(), {}));
    chunk.at(88) = std::byte{33};
    out.emplace_back("bad-snapshot_chunk-beyond-total", std::move(chunk));
    return out;
}

}  // namespace tp::wire::corpus
