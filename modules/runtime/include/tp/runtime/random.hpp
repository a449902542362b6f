#pragma once

#include <cstdint>
#include <limits>
#include <string_view>

namespace tp::runtime {

// SplitMix64's finalizer: a bijective 64-bit mix, used to derive seeds and to hash traces.
constexpr std::uint64_t mix64(std::uint64_t x) noexcept {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

// SplitMix64 generator: expands one seed into the state of a Rng.
class SplitMix64 {
public:
    explicit constexpr SplitMix64(std::uint64_t seed) noexcept : state_(seed) {}
    constexpr std::uint64_t next() noexcept {
        const std::uint64_t x = mix64(state_);
        state_ += 0x9e3779b97f4a7c15ULL;
        return x;
    }

private:
    std::uint64_t state_;
};

// xoshiro256** with its own distributions. The standard distributions are not specified
// bit-for-bit, so a seeded run would differ between standard libraries; these helpers are.
class Rng {
public:
    using result_type = std::uint64_t;

    explicit Rng(std::uint64_t seed = 0) noexcept;

    static constexpr result_type min() noexcept { return 0; }
    static constexpr result_type max() noexcept { return std::numeric_limits<result_type>::max(); }
    result_type operator()() noexcept;

    // Uniform in [lo, hi], both inclusive, without modulo bias. Requires lo <= hi.
    std::uint64_t uniform_int(std::uint64_t lo, std::uint64_t hi) noexcept;
    // Uniform in [0, 1) with 53 random bits.
    double uniform_real() noexcept;
    double uniform_real(double lo, double hi) noexcept { return lo + (hi - lo) * uniform_real(); }
    // True with probability p (p <= 0 never, p >= 1 always; no draw is skipped either way, so
    // changing a probability does not shift the rest of the stream).
    bool bernoulli(double p) noexcept;
    // Exponentially distributed with the given mean (> 0).
    double exponential(double mean) noexcept;

private:
    std::uint64_t s_[4];
};

// One root seed; an independent, reproducible stream per (name, index), e.g. ("peer", 3) or
// ("network", 0). Streams do not depend on the order in which they are asked for.
class RandomStreams {
public:
    explicit RandomStreams(std::uint64_t seed) noexcept : seed_(seed) {}
    std::uint64_t seed() const noexcept { return seed_; }
    std::uint64_t stream_seed(std::string_view name, std::uint64_t index = 0) const noexcept;
    Rng stream(std::string_view name, std::uint64_t index = 0) const noexcept {
        return Rng(stream_seed(name, index));
    }

private:
    std::uint64_t seed_;
};

}  // namespace tp::runtime
