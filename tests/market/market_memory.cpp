// Memory of the trader's books over a long run (measured, never asserted): three buyers send one
// request at a time, the seller acknowledges every payment, stock comes in a few large lots, so
// the de-duplication table is the only state that could grow with the number of requests.
// Prints CSV: requests answered, the process's resident set (VmRSS), the snapshot's size, the
// table's entries. Usage: market-memory-bench [requests] (default 1,000,000).
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "tp/market/books.hpp"

using namespace tp::market;

namespace {

long rss_kb() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line))
        if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
    return -1;
}

}  // namespace

int main(int argc, char** argv) {
    const long total = argc > 1 ? std::atol(argv[1]) : 1'000'000;
    if (total < 5) {
        std::fprintf(stderr, "market-memory-bench: requests must be at least 5, not %s\n", argv[1]);
        return 2;
    }
    Books books;
    LotId lot = 1;
    const tp::clock::VectorClock clock{17, 4, 9, 123, 88, 240};
    const auto sample = [&](long n) {
        std::printf("%ld,%ld,%zu,%zu\n", n, rss_kb(), books.snapshot().size(),
                    books.sessions_count());
    };
    std::printf("requests,rss_kb,snapshot_bytes,sessions\n");
    sample(0);
    for (long n = 1; n <= total; ++n) {
        if (books.in_stock(0) < 10) (void)books.deposit(1, lot++, 0, 1'000'000, 10);
        const PeerId buyer = static_cast<PeerId>(3 + n % 3);
        // Request ids as a peer makes them: (incarnation << 32) | counter.
        const Step step = books.submit_buy(buyer, (RequestId{1} << 32) | static_cast<RequestId>(n),
                                           0, 1, false, clock, TimePoint{});
        for (const auto& output : step.outputs)
            if (const Payment* p = std::get_if<Payment>(&output)) (void)books.ack_payment(p->id);
        if (n % (total / 5) == 0) sample(n);
    }
    return books.check_invariants().empty() ? 0 : 1;
}
