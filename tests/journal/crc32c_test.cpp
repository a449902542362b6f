#include <boost/test/unit_test.hpp>

#include <random>
#include <string_view>
#include <vector>

#include "tp/journal/crc32c.hpp"

using tp::journal::crc32c;
using tp::journal::crc32c_software;

namespace {
std::span<const std::byte> as_bytes(std::string_view s) {
    return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}
}  // namespace

BOOST_AUTO_TEST_SUITE(crc32c_checksum)

BOOST_AUTO_TEST_CASE(known_check_values) {
    // The standard check value of CRC-32C, on whichever path this CPU takes and on the table.
    BOOST_TEST(crc32c(as_bytes("123456789")) == 0xE3069283u);
    BOOST_TEST(crc32c_software(as_bytes("123456789")) == 0xE3069283u);
    // RFC 3720 (iSCSI) B.4: 32 bytes of zeros and 32 bytes of 0xFF.
    const std::vector<std::byte> zeros(32, std::byte{0});
    const std::vector<std::byte> ones(32, std::byte{0xFF});
    BOOST_TEST(crc32c(zeros) == 0x8A9136AAu);
    BOOST_TEST(crc32c(ones) == 0x62A8AB43u);
    BOOST_TEST(crc32c_software(zeros) == 0x8A9136AAu);
    BOOST_TEST(crc32c({}) == 0u);
    BOOST_TEST_MESSAGE("hardware crc32c: " << tp::journal::crc32c_hardware());
}

BOOST_AUTO_TEST_CASE(hardware_and_table_agree_on_every_length_and_alignment) {
    std::mt19937 rng(42);
    std::vector<std::byte> buf(300);
    for (auto& b : buf) b = static_cast<std::byte>(rng());
    const std::span<const std::byte> all(buf);
    for (std::size_t start = 0; start < 9; ++start)
        for (std::size_t len = 0; start + len <= buf.size(); ++len)
            BOOST_REQUIRE_EQUAL(crc32c(all.subspan(start, len)),
                                crc32c_software(all.subspan(start, len)));
}

BOOST_AUTO_TEST_CASE(chaining_equals_one_pass) {
    // crc32c(b, crc32c(a)) == crc32c(a + b) at every split point.
    const std::string_view s = "The quick brown fox jumps over the lazy dog";
    const auto whole = crc32c(as_bytes(s));
    for (std::size_t k = 0; k <= s.size(); ++k) {
        BOOST_TEST(crc32c(as_bytes(s.substr(k)), crc32c(as_bytes(s.substr(0, k)))) == whole);
        BOOST_TEST(crc32c_software(as_bytes(s.substr(k)),
                                   crc32c_software(as_bytes(s.substr(0, k)))) == whole);
    }
}

BOOST_AUTO_TEST_SUITE_END()
