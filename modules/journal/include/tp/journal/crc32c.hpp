#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace tp::journal {

// CRC32C (Castagnoli), as used by iSCSI, ext4 and most storage formats. `crc` is the value
// returned by a previous call, so a checksum can be computed over several pieces:
// crc32c(b, crc32c(a)) == crc32c(a + b). crc32c("123456789") == 0xE3069283.
std::uint32_t crc32c(std::span<const std::byte> data, std::uint32_t crc = 0) noexcept;

// The portable table-driven (slice-by-8) implementation, exposed so tests can compare it with
// the hardware path.
std::uint32_t crc32c_software(std::span<const std::byte> data, std::uint32_t crc = 0) noexcept;

// True when crc32c() uses the SSE4.2 crc32 instruction on this CPU.
bool crc32c_hardware() noexcept;

}  // namespace tp::journal
