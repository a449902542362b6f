// What a buy costs the heap in steady state, whole market (issue 17): encode buffers, batches and
// send lists are recycled, clocks of up to 8 peers live inline, the driver carries a Ready out
// from plain functions (no coroutine frame per message), the journal names its file once, and
// Asio's recycling allocator keeps 16 blocks of each kind. About 13 allocations per buy are left
// (docs/benchmarks.md): the records a buy adds to state (the buyer's purchase and its sellers,
// the seller's payment, the trader's held reply), the fills of a BuyResult built and decoded, and
// Asio's handlers for the waits that a message ends (a wake of the receive loop, a timer). Counts this thread's calls to operator new, replaced
// for this program only; the market runs on this thread, in virtual time.
#include <boost/test/unit_test.hpp>

#include <cstdint>

#include "counting_new.hpp"
#include "market_fixture.hpp"

using namespace tp::system_test;
using tp::test::allocations;

namespace {

std::uint64_t messages_sent(Market& m) {
    std::uint64_t sent = 0;
    for (PeerId id : m->peers()) sent += m.node(id).counters().sent;
    return sent;
}

// Buys one unit and runs until it is answered, with nothing of the test's own on the heap.
bool buy_one(Market& m, PeerId buyer) {
    tp::peer::Node& b = m.node(buyer);
    const std::uint64_t answered = b.core().buyer().answered_count();
    b.buy(salt, 1);
    for (int i = 0; i < 1000 && b.core().buyer().answered_count() == answered; ++i) {
        m.runtime().run_for(1ms);
    }
    return b.core().buyer().answered_count() > answered;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(message_path_alloc)

BOOST_AUTO_TEST_CASE(a_steady_state_buy_allocates_at_most_15_times) {
    // Step 1: the default market's size, three buyers and three sellers, authenticated, on the
    // in-memory network; peer 6 trades from the original lab's shared journal.
    Market m(TransportKind::memory,
             {Role::buyer, Role::seller, Role::buyer, Role::seller, Role::buyer, Role::seller},
             shared_journal);
    BOOST_REQUIRE(m.settle_on(6));
    m.deposit(2, salt, 1'000'000, 1);

    // Step 2: warm up, so pools, caches and tables reach their working size.
    for (int i = 0; i < 300; ++i) BOOST_REQUIRE(buy_one(m, 1 + 2 * (i % 3)));

    // Step 3: 1,000 buys by the three buyers in turn, counted: each is a Buy, a BuyResult, a
    // Payment and a PaymentAck, beside the heartbeats.
    const std::uint64_t messages_before = messages_sent(m);
    const std::size_t before = allocations();
    int answered = 0;
    for (int i = 0; i < 1000; ++i) answered += buy_one(m, 1 + 2 * (i % 3)) ? 1 : 0;
    const std::size_t spent = allocations() - before;
    const std::uint64_t messages = messages_sent(m) - messages_before;

    BOOST_TEST(answered == 1000);
    BOOST_TEST(messages >= 4000u);
    BOOST_TEST_MESSAGE(spent << " allocations for 1000 buys, " << messages << " messages");
    // Before this work (measured on `run` under valgrind's DHAT, docs/benchmarks.md) a request
    // cost 5 times as many: two coroutine frames per message, a clock copied into every envelope
    // and out of every datagram, a path built for every journal write.
    BOOST_TEST(spent <= 15u * 1000u);
}

BOOST_AUTO_TEST_SUITE_END()
