// A market run twice on one state directory: the second run's peers start from the first run's
// durable peer state (incarnation, epoch floor), so their request and lot ids are new to the
// books the second run inherits. Each life once started again at incarnation 1: the second
// run's first request had the first run's id, and the trader's retry de-duplication answered it
// with the first run's answer.
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "market_fixture.hpp"
#include "tp/peer/peer_state.hpp"

using namespace tp::system_test;

namespace {

struct TempDir {
    std::filesystem::path path;
    TempDir() {
        path = std::filesystem::temp_directory_path() /
               ("tp-state-dir-" + std::to_string(std::random_device{}()));
        std::filesystem::create_directories(path);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(state_dir)

// Peer 1 sells, 2 buys, 3 is the first trader.
TP_ON_EVERY_TRANSPORT(a_second_run_on_one_state_dir_gets_its_own_answers) {
    TempDir dir;
    auto on_dir = [&](tp::peer::Config& c) { c.storage.state_dir = dir.path; };
    tp::peer::Purchase first;
    tp::wire::Epoch first_epoch = 0;
    {
        Market m(kind, {Role::seller, Role::buyer, Role::buyer}, on_dir);
        BOOST_REQUIRE(m.settle_on(3));
        m.deposit(1, salt, 5, 10);
        first = m.buy(2, salt, 1);
        BOOST_TEST(first.filled);
        BOOST_TEST(first.amount == 10);
        first_epoch = m.node(3).epoch();
    }
    // Every peer's life is on file: incarnation 1, and an epoch floor the election reached.
    for (PeerId id : {1u, 2u, 3u}) {
        const auto state = tp::peer::read_peer_state(dir.path, id);
        BOOST_TEST(state.incarnation == 1u);
        BOOST_TEST(state.epoch == first_epoch);
    }

    // Restarted peers listen for a leader first, so on a loaded machine a lower peer may win the
    // second run's first election (CI once saw peer 1 claim epoch 2:1), and under `defer` peer 3
    // would then follow it; under `bully` peer 3 takes the lead back.
    Market m(kind, {Role::seller, Role::buyer, Role::buyer}, [&](tp::peer::Config& c) {
        on_dir(c);
        c.failure.policy = tp::peer::RecoveryPolicy::bully;
    });
    BOOST_REQUIRE(m.settle_on(3));
    for (PeerId id : {1u, 2u, 3u}) BOOST_TEST(m.node(id).incarnation() == 2u);
    // The trader's reign is a new one, above every epoch of the first run.
    BOOST_TEST(m.node(3).epoch() > first_epoch);
    // A new lot and a new request: executed now, not answered from the first run's books.
    m.deposit(1, fish, 4, 3);
    const auto second = m.buy(2, fish, 2);
    BOOST_TEST(second.request != first.request);
    BOOST_TEST(second.filled);
    BOOST_TEST(second.bought == 2u);
    BOOST_TEST(second.amount == 6);
    const auto& books = m.books();
    BOOST_TEST(books.product(fish) != nullptr);
    BOOST_TEST(books.product(fish)->deposited == 4u);
    BOOST_TEST(books.product(salt)->deposited == 5u);
    BOOST_TEST(books.check_invariants().empty());
    // The second run's summary checks its own answers and payments against the inherited books:
    // the first run's sale, settled then, is not a payment this run owes.
    BOOST_REQUIRE(m.run_until([&] { return m.books().payments().pending_count() == 0; }));
    m->request_stop();
    BOOST_REQUIRE(m.run_until([&] { return m->done(); }));
    const auto summary = m->summary();
    for (const auto& v : summary.violations) BOOST_ERROR(v);
    BOOST_TEST(summary.requests == 1u);
}

// A market continued from its state directory is in later lives, and started its election at
// once: every Election went out before the hellos that teach the members each new life, so each
// was refused as addressed to an earlier life, no answer came, and every peer claimed an epoch
// of its own. Its peers now listen first, like any restarted peer: the highest wins alone.
TP_ON_EVERY_TRANSPORT(a_continued_market_elects_only_its_highest_peer) {
    TempDir dir;
    // The default election timings (the fixture's are shorter).
    auto on_dir = [&](tp::peer::Config& c) {
        c.storage.state_dir = dir.path;
        c.election = tp::peer::Config{}.election;
    };
    const std::vector<Role> roles{Role::seller, Role::buyer, Role::buyer, Role::buyer};
    // Step 1: a first run settles on peer 4 and ends.
    {
        Market m(kind, roles, on_dir);
        BOOST_REQUIRE(m.settle_on(4));
    }
    // Step 2: the second run notes every epoch any peer hears of or claims.
    std::vector<std::pair<PeerId, tp::wire::Epoch>> seen;
    Market m(kind, roles, on_dir, [&](tp::peer::LocalMarket& lm) {
        auto before = lm.context().on_epoch;
        lm.context().on_epoch = [&seen, before](PeerId peer, tp::wire::Epoch epoch) {
            seen.emplace_back(peer, epoch);
            if (before) before(peer, epoch);
        };
    });
    BOOST_REQUIRE(m.settle_on(4));
    // Nobody but peer 4 claimed an epoch.
    BOOST_TEST(!seen.empty());
    for (const auto& [peer, epoch] : seen) {
        BOOST_TEST(tp::election::epoch_leader(epoch) == 4u,
                   "peer " << peer << " saw epoch " << tp::election::epoch_text(epoch));
    }
}

BOOST_AUTO_TEST_SUITE_END()
