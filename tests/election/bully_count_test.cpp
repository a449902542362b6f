// Message counts of one election, asserted against the algorithm.
//
// Peers 1..n, leader n crashes, nothing else is lost, every message is delivered before any
// further timeout fires. Election messages are Election, Ok and Coordinator (Heartbeats are the
// failure detector's and are not counted).
//
// Best case, n-1 detects the failure first: n is the only peer above it and is the suspect, so it
// asks nobody and declares itself: n-2 Coordinators (to 1..n-2), no Election, no Ok.
//
// Worst case, 1 alone detects it: 1 sends n-2 Elections (to 2..n-1, not the suspect). Each of
// 2..n-1 then answers every lower peer (k-1 Oks for peer k) and, not suspecting n itself, asks
// everyone above it (n-k Elections, n included). n-1 hears nothing and declares itself: n-2
// Coordinators. In all:
//   Elections    (n-2) + sum_{k=2}^{n-1} (n-k) = (n-2) + (n-1)(n-2)/2
//   Oks          sum_{k=2}^{n-1} (k-1)         = (n-1)(n-2)/2
//   Coordinators n-2
//   total        (n-2)(n+1), below the quadratic bound n(n-1) of the textbook.

#include "data_test_case.hpp"
#include <boost/test/unit_test.hpp>

#include "fake_network.hpp"

using namespace tp::election;
using namespace tp::election::test;
namespace bdata = boost::unit_test::data;

namespace {

FakeNetwork elected_cluster(PeerId n) {
    FakeNetwork net(FakeNetwork::range(1, n), Config{});
    net.start_all();
    net.deliver_all();
    if (net.agreed_leader() != n) throw std::logic_error("initial election failed");
    return net;
}

struct Totals {
    std::uint64_t election, ok, coordinator;
};

Totals totals(const FakeNetwork& net) {
    return {net.sent(MessageKind::election), net.sent(MessageKind::ok),
            net.sent(MessageKind::coordinator)};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(bully_counts)

BOOST_DATA_TEST_CASE(best_case_next_highest_detects, bdata::make({3, 4, 6, 10, 32, 100}), n_) {
    const auto n = static_cast<PeerId>(n_);
    auto net = elected_cluster(n);
    const auto before = totals(net);
    // The leader dies and n-1 notices first.
    net.crash(n);
    BOOST_TEST(net.suspect(n - 1));
    // It leads at once; its Coordinators reach everyone else.
    BOOST_TEST(net.peer(n - 1).is_leader());
    net.deliver_all();
    BOOST_TEST(*net.agreed_leader() == n - 1);
    const auto after = totals(net);
    BOOST_TEST(after.election - before.election == 0u);
    BOOST_TEST(after.ok - before.ok == 0u);
    BOOST_TEST(after.coordinator - before.coordinator == n - 2);
}

BOOST_DATA_TEST_CASE(worst_case_lowest_id_detects, bdata::make({3, 4, 6, 10, 32, 100}), n_) {
    const std::uint64_t n = static_cast<std::uint64_t>(n_);
    auto net = elected_cluster(static_cast<PeerId>(n));
    const auto before = totals(net);
    // The leader dies and only 1 notices.
    net.crash(static_cast<PeerId>(n));
    BOOST_TEST(net.suspect(1));
    // The cascade of Elections and Oks, all delivered at once.
    net.deliver_all();
    // n-1's answer timeout is the first deadline: it declares itself and tells the others.
    net.advance_to_next_deadline();
    net.deliver_all();
    BOOST_TEST(*net.agreed_leader() == n - 1);
    const auto after = totals(net);
    const std::uint64_t elections = after.election - before.election;
    const std::uint64_t oks = after.ok - before.ok;
    const std::uint64_t coordinators = after.coordinator - before.coordinator;
    BOOST_TEST(elections == (n - 2) + (n - 1) * (n - 2) / 2);
    BOOST_TEST(oks == (n - 1) * (n - 2) / 2);
    BOOST_TEST(coordinators == n - 2);
    BOOST_TEST(elections + oks + coordinators == (n - 2) * (n + 1));
    BOOST_TEST(elections + oks + coordinators <= n * (n - 1));
}

BOOST_AUTO_TEST_SUITE_END()
