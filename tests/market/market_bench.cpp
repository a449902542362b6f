// Buys per second through the trader's books, in memory: the cost the trader pays per request
// before the journal and the network.
#include <benchmark/benchmark.h>

#include <chrono>

#include "tp/market/books.hpp"
#include "tp/market/codec.hpp"

using namespace tp::market;
using tp::clock::VectorClock;

namespace {

constexpr ProductId products = 3;
constexpr Quantity lot_size = 1000;

// A six-peer market: sellers 0..2 keep every product stocked, buyers 3..5 buy 1 to 3 units, so
// about one buy in 250 spans two lots (two sellers).
struct Market {
    explicit Market(Config config) : books(config) {
        for (ProductId p = 0; p < products; ++p) restock(p);
        // A typical clock in a six-peer market.
        clock = VectorClock{17, 4, 9, 123, 88, 240};
    }

    void restock(ProductId p) {
        const PeerId seller = static_cast<PeerId>(next_lot % 3);
        Step s;
        books.deposit(Deposited{seller, next_lot++, p, lot_size, 10 + p}, s);
    }

    BuyRequest next_request() {
        const ProductId p = static_cast<ProductId>(n % products);
        if (books.in_stock(p) < 2 * lot_size) restock(p);
        BuyRequest r{static_cast<PeerId>(3 + n % 3), n, p, static_cast<Quantity>(1 + n % 3), false};
        ++n;
        return r;
    }

    Books books;
    VectorClock clock;
    LotId next_lot = 1;
    RequestId n = 1;
};

void bm_buy_on_arrival(benchmark::State& state) {
    Market m(Config{});
    Step step;
    for (auto _ : state) {
        step.clear();
        m.books.submit_buy(m.next_request(), m.clock, TimePoint{}, step);
        benchmark::DoNotOptimize(step.events.data());
    }
    state.SetItemsProcessed(state.iterations());
}

// The same, with every event encoded as the journal would store it.
void bm_buy_on_arrival_encoded(benchmark::State& state) {
    Market m(Config{});
    Step step;
    std::vector<std::byte> buffer;
    std::size_t bytes = 0;
    for (auto _ : state) {
        step.clear();
        m.books.submit_buy(m.next_request(), m.clock, TimePoint{}, step);
        for (const Event& e : step.events) {
            encode(e, buffer);
            bytes += buffer.size();
        }
        benchmark::DoNotOptimize(buffer.data());
    }
    state.SetItemsProcessed(state.iterations());
    state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}

// Batched fair ordering: six requests per 1 ms window, then the batch is ordered and served.
void bm_buy_batched(benchmark::State& state) {
    Config config;
    config.batch_window = std::chrono::milliseconds(1);
    Market m(config);
    Step step;
    TimePoint now{};
    for (auto _ : state) {
        step.clear();
        for (int i = 0; i < 6; ++i) {
            m.clock.tick(static_cast<tp::clock::PeerId>(i));
            m.books.submit_buy(m.next_request(), m.clock, now, step);
        }
        now += std::chrono::milliseconds(1);
        m.books.poll(now, step);
        benchmark::DoNotOptimize(step.events.data());
    }
    state.SetItemsProcessed(state.iterations() * 6);
}

// Recovery speed: decode and apply journal records.
void bm_replay(benchmark::State& state) {
    const VectorClock clock{17, 4, 9, 123, 88, 240};
    std::vector<std::vector<std::byte>> journal;
    Books source;
    Step step;
    LotId lot = 1;
    for (ProductId p = 0; p < products; ++p) {
        step.clear();
        source.deposit(Deposited{0, lot++, p, 1'000'000, 10}, step);
        journal.push_back(encode(step.events.at(0)));
    }
    for (RequestId r = 1; r <= 100'000; ++r) {
        step.clear();
        source.submit_buy(BuyRequest{3, r, static_cast<ProductId>(r % products), 1, false}, clock,
                          TimePoint{}, step);
        for (const Event& e : step.events) journal.push_back(encode(e));
    }
    for (auto _ : state) {
        Result<Books> books = Books::replay(Config{}, {}, journal);
        if (!books) state.SkipWithError(books.error().message.c_str());
        benchmark::DoNotOptimize(books);
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(journal.size()));
}

}  // namespace

BENCHMARK(bm_buy_on_arrival);
BENCHMARK(bm_buy_on_arrival_encoded);
BENCHMARK(bm_buy_batched);
BENCHMARK(bm_replay)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
