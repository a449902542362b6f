// A replica appends every entry it receives: encoding one into a warm buffer must not touch the
// heap. Counts this thread's calls to the global operator new, replaced for this program only.
#include <boost/test/unit_test.hpp>

#include <vector>

#include "counting_new.hpp"
#include "tp/election/messages.hpp"
#include "tp/journal/crc32c.hpp"
#include "tp/peer/replica_log.hpp"

using tp::test::allocations;

BOOST_AUTO_TEST_SUITE(replica_log_alloc)

BOOST_AUTO_TEST_CASE(encoding_into_a_warm_buffer_allocates_nothing) {
    namespace rep = tp::replication;
    const rep::Epoch epoch = tp::election::make_epoch(3, 2);
    const auto entry = [&](rep::EntryKind kind, std::size_t size) {
        std::vector<std::byte> payload(size, std::byte{0x5a});
        const std::uint32_t crc = tp::journal::crc32c(payload);
        return rep::Entry{epoch, kind, std::move(payload), crc};
    };
    const std::vector<rep::Entry> entries{
        entry(rep::EntryKind::reign, 0), entry(rep::EntryKind::data, 1),
        entry(rep::EntryKind::data, 100), entry(rep::EntryKind::data, rep::max_payload_bytes)};

    // Warm the buffer once with the largest entry.
    std::vector<std::byte> buffer;
    tp::peer::encode_record(entries.back(), buffer);
    // Then every size, twice over: no allocation at all.
    const std::size_t before = allocations();
    std::size_t total = 0;
    for (int round = 0; round < 2; ++round) {
        for (const rep::Entry& e : entries) {
            tp::peer::encode_record(e, buffer);
            total += buffer.size();
        }
    }
    BOOST_TEST(allocations() - before == 0u);
    BOOST_TEST(total > 2 * rep::max_payload_bytes);

    // The counter does see allocations: decoding copies the payload out.
    const std::size_t before_decode = allocations();
    BOOST_TEST(tp::peer::decode_record(buffer, 1).ok());
    BOOST_TEST(allocations() - before_decode > 0u);
}

BOOST_AUTO_TEST_SUITE_END()
