// What the replication machine itself costs, with no I/O: records of 100 bytes proposed at the
// trader of n replicas (3, 5) and carried over the fake network (cluster.hpp) until every replica
// acknowledged them and the commit position covers them. Disks sync at once, so this is the
// protocol's CPU per record (encoding and the transport come on top).
//
// bm_replicate/n/batch: `batch` records proposed in one step, then delivered. items_per_second is
// committed records per second.
#include <benchmark/benchmark.h>

#include "cluster.hpp"

using namespace tp::replication;
using namespace tp::replication::test;

namespace {

void bm_replicate(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    const auto batch = static_cast<int>(state.range(1));
    Cluster c(n);
    const PeerId trader = static_cast<PeerId>(n);
    c.lead(trader, epoch(1, trader));
    c.deliver();
    const std::vector<std::byte> payload(100, std::byte{7});
    std::int64_t committed = 0;
    for (auto _ : state) {
        for (int i = 0; i < batch; ++i) c[trader].propose(payload, c.now());
        c.carry(trader);
        c.deliver();
        committed += batch;
        // Keep memory flat: compact what is committed now and then.
        if (c[trader].commit() - c[trader].first() > 50'000) {
            for (PeerId p = 1; p <= n; ++p) c[p].compacted(c[p].commit(), {});
        }
    }
    if (c[trader].commit() != c[trader].last()) state.SkipWithError("not everything committed");
    state.SetItemsProcessed(committed);
}

}  // namespace

BENCHMARK(bm_replicate)->ArgsProduct({{3, 5}, {1, 16, 128}});
BENCHMARK_MAIN();
