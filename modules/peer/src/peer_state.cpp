#include "tp/peer/peer_state.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <limits>
#include <string>

#include <fmt/core.h>

#include "tp/journal/crc32c.hpp"

namespace tp::peer {

namespace {

constexpr std::array<char, 8> magic{'T', 'P', 'S', 'T', 'A', 'T', 'E', '1'};
constexpr std::size_t file_size = 16;

[[noreturn]] void fail(const std::filesystem::path& file, const std::string& what) {
    throw PeerStateError(fmt::format("peer state {}: {}", file.string(), what));
}

struct Fd {
    int fd = -1;
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
};

std::uint32_t crc_of(const std::array<std::byte, file_size>& b) {
    return journal::crc32c(std::span<const std::byte>(b.data(), 12));
}

std::uint32_t get32(const std::byte* p) {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= std::to_integer<std::uint32_t>(p[i]) << (8 * i);
    return v;
}

void put32(std::byte* p, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) p[i] = static_cast<std::byte>(v >> (8 * i));
}

std::uint32_t read_incarnation(const std::filesystem::path& file) {
    Fd f{::open(file.c_str(), O_RDONLY | O_CLOEXEC)};
    if (f.fd < 0) {
        if (errno == ENOENT) return 0;
        fail(file, std::string("cannot open: ") + std::strerror(errno));
    }
    std::array<std::byte, file_size + 1> b{};
    std::size_t got = 0;
    while (got < b.size()) {
        const ssize_t n = ::read(f.fd, b.data() + got, b.size() - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) fail(file, std::string("cannot read: ") + std::strerror(errno));
        if (n == 0) break;
        got += static_cast<std::size_t>(n);
    }
    if (got != file_size) {
        fail(file, fmt::format("{} bytes, expected {}: damaged (restore it, or give the peer a "
                               "fresh state directory and its members a new key)",
                               got, file_size));
    }
    if (std::memcmp(b.data(), magic.data(), magic.size()) != 0) {
        fail(file, "not a peer state file (bad magic)");
    }
    std::array<std::byte, file_size> body{};
    std::memcpy(body.data(), b.data(), file_size);
    if (crc_of(body) != get32(b.data() + 12)) fail(file, "checksum mismatch: damaged");
    return get32(b.data() + 8);
}

void write_all(const std::filesystem::path& file, int fd, const std::byte* data, std::size_t n) {
    while (n > 0) {
        const ssize_t w = ::write(fd, data, n);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) fail(file, std::string("cannot write: ") + std::strerror(errno));
        data += w;
        n -= static_cast<std::size_t>(w);
    }
}

}  // namespace

std::uint32_t next_incarnation(const std::filesystem::path& state_dir, std::uint32_t peer) {
    const auto file = state_dir / fmt::format("peer-{}.state", peer);
    const std::uint32_t last = read_incarnation(file);
    if (last == std::numeric_limits<std::uint32_t>::max()) fail(file, "incarnations exhausted");
    const std::uint32_t next = last + 1;

    std::array<std::byte, file_size> b{};
    std::memcpy(b.data(), magic.data(), magic.size());
    put32(b.data() + 8, next);
    put32(b.data() + 12, crc_of(b));
    const auto tmp = std::filesystem::path(file.string() + ".tmp");
    {
        Fd f{::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)};
        if (f.fd < 0) fail(tmp, std::string("cannot create: ") + std::strerror(errno));
        write_all(tmp, f.fd, b.data(), b.size());
        if (::fdatasync(f.fd) != 0) fail(tmp, std::string("cannot sync: ") + std::strerror(errno));
    }
    if (::rename(tmp.c_str(), file.c_str()) != 0) {
        fail(file, std::string("cannot rename into place: ") + std::strerror(errno));
    }
    Fd dir{::open(state_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
    if (dir.fd < 0 || ::fsync(dir.fd) != 0) {
        fail(file, std::string("cannot sync its directory: ") + std::strerror(errno));
    }
    return next;
}

}  // namespace tp::peer
