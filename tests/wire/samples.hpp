#pragma once

// Envelopes that exercise every message kind and the edges of every field. Shared by the round-trip
// tests, the corpus generator and the benchmark.

#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "tp/wire/codec.hpp"
#include "tp/wire/message.hpp"

namespace tp::wire::samples {

inline tp::clock::VectorClock dense_clock(std::uint32_t peers, std::uint64_t base = 1) {
    tp::clock::VectorClock c;
    c.reserve(peers);
    for (std::uint32_t p = 0; p < peers; ++p) c.set(p, base + p);
    return c;
}

inline Envelope envelope(Body body, tp::clock::VectorClock clock = dense_clock(6),
                         PeerId sender = 3, PeerId receiver = 5, Epoch epoch = 2) {
    return Envelope{sender, receiver, epoch, std::move(clock), std::move(body)};
}

// The same for one message kind, built in place: no Body is moved, which spares g++ 12 (under
// -fsanitize=address at -O2) a false -Wmaybe-uninitialized in std::variant's move of a BuyResult.
template <typename Message>
    requires(!std::is_same_v<std::remove_cvref_t<Message>, Body>)
inline Envelope envelope(Message message, tp::clock::VectorClock clock = dense_clock(6),
                         PeerId sender = 3, PeerId receiver = 5, Epoch epoch = 2) {
    Envelope e{sender, receiver, epoch, std::move(clock), {}};
    e.body.emplace<std::remove_cvref_t<Message>>(std::move(message));
    return e;
}

inline Buy buy() {
    return Buy{42, 1, 3, true};
}

inline BuyResult buy_result_3_fills() {
    return BuyResult{42, true,  RefusalReason::none,
                     9,  13500, {{1, 100, 4, 6000}, {2, 101, 3, 4500}, {4, 102, 2, 3000}}};
}

// A heartbeat as envelope()'s default sender (its leader) sends it in its default epoch.
inline Heartbeat heartbeat() {
    return Heartbeat{3, 2};
}

// (name, envelope): names become corpus file names.
inline std::vector<std::pair<std::string, Envelope>> all() {
    constexpr auto u16max = std::numeric_limits<std::uint16_t>::max();
    constexpr auto u32max = std::numeric_limits<std::uint32_t>::max();
    constexpr auto u64max = std::numeric_limits<std::uint64_t>::max();
    constexpr auto i64max = std::numeric_limits<std::int64_t>::max();
    constexpr auto i64min = std::numeric_limits<std::int64_t>::min();

    tp::clock::VectorClock sparse;
    sparse.set(0, 1);
    sparse.set(1000, 7);
    sparse.set(u32max, max_clock_counter);  // the largest counter decode accepts

    BuyResult refused{7, false, RefusalReason::no_seller, 0, 0, {}};
    BuyResult partial{8, false, RefusalReason::insufficient_stock, 2, 300, {{9, 5, 2, 300}}};
    BuyResult max_result{u64max, true, RefusalReason::not_trader, u32max, i64min, {}};
    for (std::uint32_t i = 0; i < max_fills; ++i)
        max_result.fills.push_back(Fill{u32max - i, u64max - i, u32max, i64max});

    return {
        {"deposit", envelope(Deposit{1, 2, 10, 150})},
        {"deposit_max",
         envelope(Deposit{u64max, u16max, u32max, i64max}, sparse, u32max, u32max, u64max)},
        {"deposit_negative_price", envelope(Deposit{3, 0, 1, i64min})},
        {"deposit_ack", envelope(DepositAck{1, true, RefusalReason::none})},
        {"deposit_ack_refused", envelope(DepositAck{2, false, RefusalReason::not_trader})},
        {"buy", envelope(buy())},
        {"buy_empty_clock", envelope(Buy{1, 0, 1, false}, {})},
        {"buy_sparse_clock", envelope(Buy{u64max, u16max, u32max, true}, sparse)},
        {"buy_result_3_fills", envelope(buy_result_3_fills())},
        {"buy_result_refused", envelope(refused)},
        {"buy_result_partial", envelope(partial)},
        {"buy_result_max", envelope(max_result)},
        {"payment", envelope(Payment{5, 100, 4, 5700})},
        {"payment_max", envelope(Payment{u64max, u64max, u32max, i64max})},
        {"payment_ack", envelope(PaymentAck{5})},
        {"election", envelope(Election{0}, dense_clock(3), 2, 6, 0)},
        {"ok", envelope(Ok{0}, dense_clock(3), 6, 2, 0)},
        {"coordinator", envelope(Coordinator{6, 3}, dense_clock(6), 6, 0, 3)},
        {"coordinator_max", envelope(Coordinator{u32max, u64max}, sparse, u32max, 5, u64max)},
        {"heartbeat", envelope(heartbeat(), {})},
        {"heartbeat_64_peers", envelope(heartbeat(), dense_clock(64))},
        {"election_large_clock", envelope(Election{2}, dense_clock(1000, 1ull << 40))},
    };
}

}  // namespace tp::wire::samples
