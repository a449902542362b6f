// tp-clock alone: happened-before and concurrency as the vector clocks see them.
#include <cstdio>
#include <tp/clock/vector_clock.hpp>

int main() {
    using tp::clock::VectorClock;
    VectorClock a;
    a.tick(1);  // peer 1 sends
    VectorClock b;
    b.receive(2, a);  // peer 2 receives it
    VectorClock c;
    c.tick(3);  // peer 3, on its own
    int failures = 0;
    if (!tp::clock::happened_before(a, b)) ++failures, std::puts("send should precede receive");
    if (!tp::clock::concurrent(b, c)) ++failures, std::puts("b and c should be concurrent");
    if (b.get(1) != 1 || b.get(2) != 1) ++failures, std::puts("receive should merge and tick");
    std::printf("clock: %s -> %s, %d failure(s)\n", a.to_string().c_str(), b.to_string().c_str(),
                failures);
    return failures == 0 ? 0 : 1;
}
