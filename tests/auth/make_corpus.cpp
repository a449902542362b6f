// Writes the auth fuzz seed corpus: `auth-make-corpus tests/auth/corpus`. Files named sealed-* take
// the sealed path (the rest is an envelope's bytes), raw-* the raw path (the rest is a datagram);
// raw-valid-* are frames the fuzz target's receiver accepts; raw-later-life is a hello it refuses
// as made for a later life of its own (it reports that life).
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "fuzz_open.hpp"
#include "samples.hpp"

namespace {

using Bytes = std::vector<std::byte>;
using namespace tp;

Bytes with_mode(std::byte mode, const Bytes& rest) {
    Bytes out(1 + rest.size());
    out[0] = mode;
    std::copy(rest.begin(), rest.end(), out.begin() + 1);
    return out;
}

Bytes sealed_frame(const auth::Key& key, const Bytes& payload, auth::FrameKind kind) {
    auth::Guard peer(auth::fuzz::sender, 1, auth::fuzz::members, key);
    Bytes frame(auth::frame_overhead + payload.size());
    std::copy(payload.begin(), payload.end(), frame.begin() + auth::header_size);
    frame.resize(peer.seal(auth::fuzz::receiver, frame, payload.size(), kind));
    return frame;
}

// A hello from the sender after it knew the receiver in life 3 (the receiver is in life 1).
Bytes later_life_hello(const auth::Key& key) {
    auth::Guard peer(auth::fuzz::sender, 1, auth::fuzz::members, key);
    auth::Guard receiver_life_3(auth::fuzz::receiver, 3, auth::fuzz::members, key);
    Bytes hello(auth::hello_size);
    hello.resize(receiver_life_3.seal_hello(auth::fuzz::sender, hello));
    if (!peer.open(hello, {}).opened) std::fprintf(stderr, "the life-3 hello was refused\n");
    Bytes frame(auth::hello_size);
    frame.resize(peer.seal_hello(auth::fuzz::receiver, frame));
    return frame;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s OUTPUT_DIR\n", argv[0]);
        return 2;
    }
    std::vector<std::pair<std::string, Bytes>> seeds;
    for (const auto& [name, env] : wire::samples::all()) {
        if (name != "deposit" && name != "buy" && name != "buy_result_3_fills") continue;
        const Bytes bytes = wire::encode(env);
        seeds.emplace_back("sealed-" + name, with_mode(auth::fuzz::sealed_mode, bytes));
        seeds.emplace_back("raw-valid-" + name,
                           with_mode(auth::fuzz::raw_mode, sealed_frame(auth::fuzz::key(), bytes,
                                                                        auth::FrameKind::data)));
    }
    const std::string text = "not an envelope";
    Bytes garbage(text.size());
    std::transform(text.begin(), text.end(), garbage.begin(),
                   [](char c) { return static_cast<std::byte>(c); });
    seeds.emplace_back("sealed-garbage", with_mode(auth::fuzz::sealed_mode, garbage));
    seeds.emplace_back("raw-valid-hello",
                       with_mode(auth::fuzz::raw_mode,
                                 sealed_frame(auth::fuzz::key(), {}, auth::FrameKind::hello)));
    seeds.emplace_back("raw-later-life",
                       with_mode(auth::fuzz::raw_mode, later_life_hello(auth::fuzz::key())));
    seeds.emplace_back("raw-wrong-key",
                       with_mode(auth::fuzz::raw_mode, sealed_frame(auth::Key::derive(1), garbage,
                                                                    auth::FrameKind::data)));

    const std::filesystem::path dir = argv[1];
    std::filesystem::create_directories(dir);
    for (const auto& [name, bytes] : seeds) {
        std::ofstream out(dir / (name + ".bin"), std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(bytes.data()),
                  static_cast<std::streamsize>(bytes.size()));
        if (!out) {
            std::fprintf(stderr, "cannot write %s\n", (dir / name).c_str());
            return 1;
        }
    }
    return 0;
}
