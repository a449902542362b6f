#include "tp/runtime/random.hpp"

#include <cmath>

namespace tp::runtime {

namespace {

constexpr std::uint64_t rotl(std::uint64_t x, int k) noexcept {
    return (x << k) | (x >> (64 - k));
}

// __extension__ keeps -Wpedantic quiet about the 128-bit type, which g++ and clang both have.
__extension__ typedef unsigned __int128 u128;

}  // namespace

Rng::Rng(std::uint64_t seed) noexcept {
    SplitMix64 sm(seed);
    for (auto& s : s_) s = sm.next();
}

Rng::result_type Rng::operator()() noexcept {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
}

std::uint64_t Rng::uniform_int(std::uint64_t lo, std::uint64_t hi) noexcept {
    const std::uint64_t span = hi - lo;
    if (span == std::numeric_limits<std::uint64_t>::max()) return (*this)();
    const std::uint64_t range = span + 1;
    // Lemire's multiply-and-reject: unbiased, one draw in the common case.
    u128 m = static_cast<u128>((*this)()) * range;
    auto low = static_cast<std::uint64_t>(m);
    if (low < range) {
        const std::uint64_t threshold = (0 - range) % range;
        while (low < threshold) {
            m = static_cast<u128>((*this)()) * range;
            low = static_cast<std::uint64_t>(m);
        }
    }
    return lo + static_cast<std::uint64_t>(m >> 64);
}

double Rng::uniform_real() noexcept {
    return static_cast<double>((*this)() >> 11) * 0x1.0p-53;
}

bool Rng::bernoulli(double p) noexcept {
    return uniform_real() < p;
}

double Rng::exponential(double mean) noexcept {
    // 1 - u lies in (0, 1], so the log is finite.
    return -mean * std::log(1.0 - uniform_real());
}

std::uint64_t RandomStreams::stream_seed(std::string_view name,
                                         std::uint64_t index) const noexcept {
    std::uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a over the name
    for (const char c : name) {
        h ^= static_cast<unsigned char>(c);
        h *= 0x100000001b3ULL;
    }
    return mix64(mix64(seed_ ^ mix64(h)) + index);
}

}  // namespace tp::runtime
