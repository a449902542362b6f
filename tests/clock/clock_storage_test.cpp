// A clock keeps up to 8 entries inline and spills to the heap beyond: every operation must read
// the same on both sides of that line, and across copies and moves between the two.
#include <boost/test/unit_test.hpp>

#include <map>
#include <random>
#include <utility>
#include <vector>

#include "tp/clock/vector_clock.hpp"

using tp::clock::Counter;
using tp::clock::Entry;
using tp::clock::PeerId;
using tp::clock::VectorClock;

namespace {

// The reference: a sorted map without zeros.
using Model = std::map<PeerId, Counter>;

std::vector<Entry> entries_of(const Model& m) {
    std::vector<Entry> out;
    for (auto [p, c] : m) out.push_back({p, c});
    return out;
}

bool same(const VectorClock& v, const Model& m) {
    const auto want = entries_of(m);
    const auto got = v.entries();
    return std::equal(got.begin(), got.end(), want.begin(), want.end());
}

}  // namespace

BOOST_AUTO_TEST_SUITE(clock_storage)

BOOST_AUTO_TEST_CASE(crossing_the_inline_capacity_both_ways_keeps_every_entry) {
    VectorClock v;
    Model m;
    // Step 1: grow to 20 entries, inserting out of order (each insert shifts the ones after).
    for (PeerId p : {10, 2, 18, 0, 7, 15, 3, 12, 1, 19, 5, 9, 17, 4, 11, 6, 16, 8, 14, 13}) {
        v.set(p, p + 1);
        m[p] = p + 1;
        BOOST_REQUIRE(same(v, m));
    }
    // Step 2: copies of the spilled clock, and a move, read the same.
    VectorClock copy = v;
    VectorClock moved = std::move(copy);
    BOOST_TEST(same(moved, m));
    // Step 3: shrink back below 8 by zeroing entries, then grow again.
    for (PeerId p = 0; p < 15; ++p) {
        v.set(p, 0);
        m.erase(p);
        BOOST_REQUIRE(same(v, m));
    }
    v.tick(3);
    m[3] = 1;
    BOOST_TEST(same(v, m));
}

BOOST_AUTO_TEST_CASE(random_operations_match_a_map_across_the_boundary) {
    std::mt19937_64 rng(17);
    std::vector<std::pair<VectorClock, Model>> clocks(4);
    for (int step = 0; step < 20000; ++step) {
        auto& [v, m] = clocks[rng() % clocks.size()];
        const PeerId p = static_cast<PeerId>(rng() % 24);
        switch (rng() % 7) {
            case 0: {
                const Counter c = rng() % 4;  // zero removes
                v.set(p, c);
                if (c == 0) m.erase(p); else m[p] = c;
                break;
            }
            case 1:
                v.tick(p);
                ++m[p];
                break;
            case 2: {  // merge another clock in
                const auto& [w, wm] = clocks[rng() % clocks.size()];
                v.merge(w);
                for (auto [q, c] : wm) m[q] = std::max(m[q], c);
                break;
            }
            case 3: {  // copy-assign another over this one
                const auto& other = clocks[rng() % clocks.size()];
                if (&other.first != &v) {
                    v = other.first;
                    m = other.second;
                }
                break;
            }
            case 4: {  // move through a temporary
                VectorClock t = std::move(v);
                v = std::move(t);
                break;
            }
            case 5:
                v.clear();
                m.clear();
                break;
            default: {  // rebuilt from its entries, as a decoder does
                const auto e = entries_of(m);
                v = VectorClock::from_entries(e);
                break;
            }
        }
        BOOST_REQUIRE_MESSAGE(same(v, m), "step " << step);
    }
}

BOOST_AUTO_TEST_SUITE_END()
