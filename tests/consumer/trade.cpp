// tp-market + tp-journal + tp-transport: a sale on the books, its events in a journal in a temporary
// directory, the books rebuilt from the journal alone; and the in-memory network's partitions.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <tp/journal/log.hpp>
#include <tp/market/books.hpp>
#include <tp/market/codec.hpp>
#include <tp/runtime/runtime.hpp>
#include <tp/transport/memory_network.hpp>

namespace {

int failures = 0;

void check(bool ok, const char* what) {
    if (!ok) {
        ++failures;
        std::printf("FAILED: %s\n", what);
    }
}

}  // namespace

int main() {
    namespace fs = std::filesystem;
    using namespace tp::market;

    // Seller 1 deposits two fish at 10; buyer 2 buys one.
    Books books;
    std::vector<Event> events;
    const auto keep = [&](const Step& step) {
        events.insert(events.end(), step.events.begin(), step.events.end());
    };
    keep(books.deposit(1, 100, 2, 2, 10));
    keep(books.submit_buy(2, 7, 2, 1, false, tp::clock::VectorClock{0, 1}, TimePoint{}));
    check(books.buyer(2).spent == 10, "buyer 2 spent 10");
    check(books.seller(1).earned + books.commission_total() == 10, "the 10 went to seller and trader");

    // The events go to a journal, which is reopened and replayed into fresh books.
    const fs::path dir = fs::temp_directory_path() /
                         ("tp-consumer-" + std::to_string(std::chrono::steady_clock::now()
                                                              .time_since_epoch()
                                                              .count()));
    {
        auto opened = tp::journal::Log::open(dir);
        for (const Event& e : events) opened.log->append(encode(e));
        opened.log->sync();
    }
    std::vector<std::vector<std::byte>> recovered;
    {
        auto reopened = tp::journal::Log::open(dir);
        for (auto& record : reopened.recovery.records) recovered.push_back(std::move(record.bytes));
    }
    fs::remove_all(dir);
    check(recovered.size() == events.size(), "every event came back from the journal");
    auto replayed = Books::replay(Config{}, {}, recovered);
    check(replayed.ok(), "the journal replays");
    if (replayed.ok()) check(*replayed == books, "the replayed books equal the live ones");

    // Two peers on the in-memory network: a cut link is cut one way only, and heals.
    tp::runtime::Runtime runtime(tp::runtime::Mode::virtual_time);
    tp::transport::MemoryNetwork network(runtime, tp::runtime::Rng(1));
    auto one = network.attach(1);
    auto two = network.attach(2);
    network.cut(1, 2);
    check(network.is_cut(1, 2) && !network.is_cut(2, 1), "a cut is one-way");
    network.heal();
    check(!network.is_cut(1, 2), "heal() restores every link");

    std::printf("trade: %zu events journalled and replayed, %d failure(s)\n", events.size(), failures);
    return failures == 0 ? 0 : 1;
}
