#include "tp/auth/key.hpp"

#include <sodium.h>
#include <sys/stat.h>

#include <fcntl.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>

#include <fmt/core.h>

namespace tp::auth {

namespace {

void ensure_sodium() {
    // Idempotent and thread-safe; -1 only if the system has no usable random source.
    if (sodium_init() < 0) throw std::runtime_error("libsodium cannot start: no random source");
}

int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Closes on scope exit.
struct Fd {
    int fd = -1;
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
};

}  // namespace

Key::Key(std::span<const std::byte, size> bytes) noexcept {
    std::memcpy(bytes_.data(), bytes.data(), size);
}

Key::~Key() {
    sodium_memzero(bytes_.data(), bytes_.size());
}

Key::Key(const Key& other) noexcept : bytes_(other.bytes_) {}

Key& Key::operator=(const Key& other) noexcept {
    bytes_ = other.bytes_;
    return *this;
}

Key Key::generate() {
    ensure_sodium();
    Key key;
    randombytes_buf(key.bytes_.data(), key.bytes_.size());
    return key;
}

Key Key::derive(std::uint64_t seed) noexcept {
    // BLAKE2b of a fixed label and the seed: a stable function of the seed, nothing more.
    std::array<unsigned char, 8 + 24> input{};
    for (int i = 0; i < 8; ++i)
        input[static_cast<std::size_t>(i)] = static_cast<unsigned char>(seed >> (8 * i));
    constexpr char label[] = "trading-post simulation key v1";
    std::memcpy(input.data() + 8, label, 24);
    Key key;
    crypto_generichash(reinterpret_cast<unsigned char*>(key.bytes_.data()), size, input.data(),
                       input.size(), nullptr, 0);
    return key;
}

bool operator==(const Key& a, const Key& b) noexcept {
    return sodium_memcmp(a.bytes_.data(), b.bytes_.data(), Key::size) == 0;
}

Key load_key(const std::filesystem::path& file) {
    const std::string name = file.string();
    Fd f{::open(name.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW)};
    if (f.fd < 0) {
        const int e = errno;
        if (e == ENOENT) {
            throw KeyFileError(fmt::format(
                "key file {}: missing (make one with `trading-post keygen {}`)", name, name));
        }
        if (e == ELOOP) throw KeyFileError(fmt::format("key file {}: is a symbolic link", name));
        throw KeyFileError(fmt::format("key file {}: cannot open: {}", name, std::strerror(e)));
    }
    struct stat st {};
    if (::fstat(f.fd, &st) != 0) {
        throw KeyFileError(fmt::format("key file {}: cannot stat: {}", name, std::strerror(errno)));
    }
    if (!S_ISREG(st.st_mode))
        throw KeyFileError(fmt::format("key file {}: not a regular file", name));
    if ((st.st_mode & 077) != 0) {
        throw KeyFileError(fmt::format(
            "key file {}: readable or writable by group or others (mode {:04o}); run chmod 600 {}",
            name, st.st_mode & 07777, name));
    }
    // A key is 64 digits and maybe a newline; read a little more so a longer file shows.
    std::array<char, 128> text{};
    std::size_t got = 0;
    while (got < text.size()) {
        const ssize_t n = ::read(f.fd, text.data() + got, text.size() - got);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw KeyFileError(
                fmt::format("key file {}: cannot read: {}", name, std::strerror(errno)));
        }
        if (n == 0) break;
        got += static_cast<std::size_t>(n);
    }
    std::size_t digits = got;
    if (digits > 0 && text[digits - 1] == '\n') --digits;
    if (digits > 0 && text[digits - 1] == '\r') --digits;
    if (digits != 2 * Key::size) {
        throw KeyFileError(
            fmt::format("key file {}: holds {}{} characters, a key is {} hex digits (make one with "
                        "`trading-post keygen`)",
                        name, got == text.size() ? "at least " : "", digits, 2 * Key::size));
    }
    std::array<std::byte, Key::size> bytes{};
    for (std::size_t i = 0; i < Key::size; ++i) {
        const int hi = hex_value(text[2 * i]);
        const int lo = hex_value(text[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            sodium_memzero(text.data(), text.size());
            throw KeyFileError(fmt::format("key file {}: character {} is not a hex digit", name,
                                           hi < 0 ? 2 * i + 1 : 2 * i + 2));
        }
        bytes[i] = static_cast<std::byte>(hi * 16 + lo);
    }
    Key key{std::span<const std::byte, Key::size>(bytes)};
    sodium_memzero(bytes.data(), bytes.size());
    sodium_memzero(text.data(), text.size());
    return key;
}

void save_key(const std::filesystem::path& file, const Key& key) {
    const std::string name = file.string();
    Fd f{::open(name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)};
    if (f.fd < 0) {
        const int e = errno;
        if (e == EEXIST) {
            throw KeyFileError(fmt::format("key file {}: exists already; not overwritten", name));
        }
        throw KeyFileError(fmt::format("key file {}: cannot create: {}", name, std::strerror(e)));
    }
    std::array<char, 2 * Key::size + 1> text{};
    constexpr char digits[] = "0123456789abcdef";
    const auto bytes = key.bytes();
    for (std::size_t i = 0; i < Key::size; ++i) {
        const auto b = std::to_integer<unsigned>(bytes[i]);
        text[2 * i] = digits[b >> 4];
        text[2 * i + 1] = digits[b & 15];
    }
    text.back() = '\n';
    const ssize_t n = ::write(f.fd, text.data(), text.size());
    const int e = errno;
    sodium_memzero(text.data(), text.size());
    if (n != static_cast<ssize_t>(text.size()) || ::fsync(f.fd) != 0) {
        ::unlink(name.c_str());
        throw KeyFileError(
            fmt::format("key file {}: cannot write: {}", name, std::strerror(n < 0 ? e : EIO)));
    }
}

}  // namespace tp::auth
