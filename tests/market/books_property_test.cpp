// Randomized histories with fixed seeds: invariants after every event, the fold equal to the live
// books, and snapshot + replay equal to the live books.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <map>
#include <random>
#include <type_traits>
#include <variant>

#include "market_test_util.hpp"

using namespace market_test;
using tp::clock::VectorClock;

namespace {

constexpr PeerId sellers = 3;  // peers 0..2 sell, 3..5 buy
constexpr PeerId buyers = 3;

// Drives random commands at live books and checks each step against three followers: the fold of
// its events, the fold of its encoded events, and (now and then) a snapshot + replay.
class History {
public:
    History(Config config, std::uint64_t seed)
        : rng_(seed), live_(config), folded_(config), decoded_(config), config_(config) {
        clocks_.resize(sellers + buyers);
        next_request_.resize(sellers + buyers, 1);
        snapshot_ = live_.snapshot();
    }

    void run(int steps) {
        for (int i = 0; i < steps; ++i) {
            step_once();
            if (i % 37 == 0) check_snapshot_replay();
        }
        check_snapshot_replay();
    }

    const Books& books() const { return live_; }

private:
    int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }

    void step_once() {
        now_ += std::chrono::milliseconds(pick(0, 30));
        Step step;
        const int kind = pick(0, 99);
        if (kind < 25) {
            const Deposited d{static_cast<PeerId>(pick(0, sellers - 1)),
                              static_cast<LotId>(pick(0, 40)), static_cast<ProductId>(pick(0, 2)),
                              static_cast<Quantity>(pick(0, 6)), pick(-1, 25)};
            live_.deposit(d, step);
            BOOST_TEST_REQUIRE(outputs_of<DepositAck>(step).size() == 1u);
        } else if (kind < 75) {
            const PeerId buyer = static_cast<PeerId>(sellers + pick(0, buyers - 1));
            VectorClock& clock = clocks_[buyer];
            // Sometimes the buyer has heard from another buyer: real happened-before chains.
            if (pick(0, 3) == 0) clock.merge(clocks_[sellers + pick(0, buyers - 1)]);
            clock.tick(buyer);
            RequestId request = next_request_[buyer]++;
            if (pick(0, 4) == 0 && request > 1)
                request = static_cast<RequestId>(pick(1, static_cast<int>(request - 1)));  // retry
            const BuyRequest r{buyer, request, static_cast<ProductId>(pick(0, 3)),
                               static_cast<Quantity>(pick(0, 7)), pick(0, 3) == 0};
            const BuyResult* before = live_.result(r.buyer, r.request);
            const std::optional<BuyResult> recorded =
                before ? std::optional<BuyResult>(*before) : std::nullopt;
            const bool stale = is_stale(r);
            live_.submit_buy(r, clock, now_, step);
            if (recorded) {
                // A retry of an answered request: the same answer, nothing executed.
                BOOST_TEST_REQUIRE(step.events.empty());
                BOOST_TEST_REQUIRE((only_result(step) == *recorded));
            } else if (stale) {
                // Older than the buyer's latest answer: refused, nothing executed.
                BOOST_TEST_REQUIRE(step.events.empty());
                BOOST_TEST_REQUIRE((only_result(step) == Books::stale_refusal(r)));
            }
        } else if (kind < 90) {
            live_.poll(now_, step);
        } else {
            const auto pending = live_.payments().pending();
            PaymentId id = static_cast<PaymentId>(pick(0, 3));
            if (!pending.empty())
                id = pending[static_cast<std::size_t>(pick(0, 9)) % pending.size()].id;
            live_.ack_payment(id, step);
        }
        follow(step);
    }

    void follow(const Step& step) {
        for (const Event& e : step.events) {
            Status s = folded_.apply(e);
            BOOST_TEST_REQUIRE(s.ok(), event_name(e) << ": " << s.error().message);
            require_sound(folded_);
            journal_.push_back(encode(e));
            Status d = decoded_.apply_encoded(journal_.back());
            BOOST_TEST_REQUIRE(d.ok(), event_name(e) << ": " << d.error().message);
        }
        BOOST_TEST_REQUIRE((folded_ == live_));
        BOOST_TEST_REQUIRE((decoded_ == live_));
        // Every answer sent is the recorded one, or the refusal of a request its buyer's session
        // has moved past. A buyer's session holds its latest answer at least.
        for (const auto& r : outputs_of<BuyResult>(step)) {
            const BuyResult* recorded = live_.result(r.buyer, r.request);
            const Session* session = live_.session(r.buyer);
            BOOST_TEST_REQUIRE(session);
            if (recorded) {
                BOOST_TEST_REQUIRE((*recorded == r));
                continue;
            }
            // Not held: older than the buyer's latest answer. Either it was queued and is
            // answered now, after a newer one (its event is in this step), or it is refused
            // without executing.
            BOOST_TEST_REQUIRE(r.request < session->latest());
            const bool executed_now =
                std::any_of(step.events.begin(), step.events.end(), [&](const Event& e) {
                    return std::visit(
                        [&](const auto& x) {
                            using T = std::decay_t<decltype(x)>;
                            if constexpr (std::is_same_v<T, BuyFilled> ||
                                          std::is_same_v<T, BuyRefused>)
                                return x.buyer == r.buyer && x.request == r.request;
                            else
                                return false;
                        },
                        e);
                });
            if (!executed_now)
                BOOST_TEST_REQUIRE((r == Books::stale_refusal(BuyRequest{r.buyer, r.request,
                                                                         r.product, r.requested})));
        }
        // The table stays bounded: one session per buyer.
        BOOST_TEST_REQUIRE(live_.sessions_count() <= std::size_t{buyers});
        for (const auto& p : outputs_of<Payment>(step))
            BOOST_TEST_REQUIRE((live_.payments().find(p.id) && *live_.payments().find(p.id) == p));
    }

    // What the books should take for a delayed duplicate: below the buyer's latest answer,
    // neither held nor queued.
    bool is_stale(const BuyRequest& r) const {
        const Session* session = live_.session(r.buyer);
        if (!session || r.request >= session->latest() || live_.result(r.buyer, r.request))
            return false;
        for (const auto& q : live_.queued())
            if (q.buyer == r.buyer && q.request == r.request) return false;
        return true;
    }

    void check_snapshot_replay() {
        // Replay from the last snapshot plus the journal since equals the live books.
        Result<Books> replayed = Books::replay(config_, snapshot_, journal_);
        BOOST_TEST_REQUIRE(replayed.ok(), replayed.error().message);
        BOOST_TEST_REQUIRE((*replayed == live_));
        // A new snapshot restores exactly; the journal restarts after it.
        snapshot_ = live_.snapshot();
        Result<Books> restored = Books::restore(config_, snapshot_);
        BOOST_TEST_REQUIRE(restored.ok(), restored.error().message);
        BOOST_TEST_REQUIRE((*restored == live_));
        // Equal books encode to equal bytes.
        BOOST_TEST_REQUIRE((restored->snapshot() == snapshot_));
        journal_.clear();
    }

    std::mt19937_64 rng_;
    Books live_, folded_, decoded_;
    Config config_;
    std::vector<VectorClock> clocks_;
    std::vector<RequestId> next_request_;
    TimePoint now_{};
    std::vector<std::byte> snapshot_;
    std::vector<std::vector<std::byte>> journal_;
};

Config make_config(std::uint32_t ppm, bool partial, int window_ms) {
    Config c;
    c.commission_ppm = ppm;
    c.allow_partial_fills = partial;
    c.batch_window = std::chrono::milliseconds(window_ms);
    return c;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(market_properties)

BOOST_AUTO_TEST_CASE(random_histories_on_arrival) {
    for (std::uint64_t seed = 1; seed <= 6; ++seed) {
        BOOST_TEST_CONTEXT("seed " << seed) {
            History h(make_config(100'000, seed % 2 == 0, 0), seed);
            h.run(400);
            BOOST_TEST(h.books().sessions_count() > 0u);
        }
    }
}

BOOST_AUTO_TEST_CASE(random_histories_batched) {
    for (std::uint64_t seed = 101; seed <= 106; ++seed) {
        BOOST_TEST_CONTEXT("seed " << seed) {
            History h(make_config(static_cast<std::uint32_t>(seed * 37'000 % 1'000'001),
                                  seed % 2 == 1, 40),
                      seed);
            h.run(400);
            BOOST_TEST(h.books().sessions_count() > 0u);
        }
    }
}

// Within a batch, a request that happened before another is never served after it.
BOOST_AUTO_TEST_CASE(batches_never_overtake_happened_before) {
    std::mt19937_64 rng(7);
    for (int round = 0; round < 50; ++round) {
        Books books(make_config(100'000, false, 100));
        (void)books.deposit(0, 1, 0, 1000, 1);
        std::vector<VectorClock> clocks(sellers + buyers);
        std::map<std::pair<PeerId, RequestId>, VectorClock> stamps;
        for (RequestId req = 1; req <= 12; ++req) {
            const PeerId b = static_cast<PeerId>(sellers + rng() % buyers);
            if (rng() % 2) clocks[b].merge(clocks[sellers + rng() % buyers]);
            clocks[b].tick(b);
            stamps[{b, req}] = clocks[b];
            (void)books.submit_buy(b, req, 0, 1, false, clocks[b],
                                   at_ms(static_cast<int>(rng() % 50)));
        }
        const auto served = outputs_of<BuyResult>(books.poll(at_ms(1000)));
        BOOST_TEST_REQUIRE(served.size() == 12u);
        for (std::size_t i = 0; i < served.size(); ++i)
            for (std::size_t j = i + 1; j < served.size(); ++j)
                BOOST_TEST_REQUIRE(
                    !tp::clock::happened_before(stamps[{served[j].buyer, served[j].request}],
                                                stamps[{served[i].buyer, served[i].request}]));
    }
}

BOOST_AUTO_TEST_SUITE_END()
