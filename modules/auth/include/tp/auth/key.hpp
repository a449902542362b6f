#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <stdexcept>
#include <string>

namespace tp::auth {

// The members' shared secret: 32 bytes, the key of the frames' keyed BLAKE2b MAC. Wiped
// from memory when destroyed; never printed.
class Key {
public:
    static constexpr std::size_t size = 32;

    Key() = default;  // all zero: a placeholder, never a key to use
    explicit Key(std::span<const std::byte, size> bytes) noexcept;
    ~Key();
    Key(const Key& other) noexcept;
    Key& operator=(const Key& other) noexcept;

    // A new key from the operating system's random source.
    static Key generate();
    // A key that is a function of `seed` (simulations and tests: the same seed, the same key,
    // so a run repeats byte for byte). Never for a market that handles real money.
    static Key derive(std::uint64_t seed) noexcept;

    std::span<const std::byte, size> bytes() const noexcept { return bytes_; }

    friend bool operator==(const Key& a, const Key& b) noexcept;  // constant time

private:
    std::array<std::byte, size> bytes_{};
};

// A key file is one line: the key's 64 hex digits (a trailing newline is allowed). It must be
// a regular file readable by its owner only (mode 0600 or 0400): a key others can read is
// refused, as ssh refuses such a private key.
struct KeyFileError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Reads and checks a key file. Throws KeyFileError with one line that names the file and what is
// wrong (missing, not a regular file, readable by group or others, wrong length, not hex).
Key load_key(const std::filesystem::path& file);

// Writes a new key file with mode 0600; refuses (KeyFileError) to overwrite an existing file.
void save_key(const std::filesystem::path& file, const Key& key);

}  // namespace tp::auth
