#pragma once

// Envelopes that exercise every message kind and the edges of every field. Shared by the round-trip
// tests, the corpus generator and the benchmark.

#include <cstddef>
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

// n bytes counting up from `first` (wrapping): payloads and snapshot pieces.
inline std::vector<std::byte> bytes(std::size_t n, std::uint8_t first = 0) {
    std::vector<std::byte> out(n);
    for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<std::byte>(first + i);
    return out;
}

namespace replica = tp::replication;

// In envelope()'s default epoch (2): a data record, then the reign record of that epoch.
inline Append append() {
    return Append{2, 10, 1, 8,
                  {replica::Entry{1, replica::EntryKind::data, bytes(13, 0x40), 0xC0FFEE01},
                   replica::Entry{2, replica::EntryKind::reign, {}, 0}}};
}

// A piece from the middle of a 100-byte snapshot, in envelope()'s default epoch.
inline SnapshotChunk snapshot_chunk() {
    return SnapshotChunk{2, 40, 1, 32, 100, bytes(32, 32), 0xABCD1234};
}

// n members, founders (no host) then joined ones.
inline std::vector<MemberInfo> members(std::uint32_t n) {
    std::vector<MemberInfo> out;
    for (std::uint32_t i = 1; i <= n; ++i) {
        out.push_back(MemberInfo{i, i % 2 == 1, i % 2 == 0, i > n / 2, i <= 2 ? "" : "10.0.0.1",
                                 static_cast<std::uint16_t>(i <= 2 ? 0 : 9000 + i)});
    }
    return out;
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

    using replica::EntryKind;
    using replica::Refusal;
    Append append_max{u64max, u64max, u64max, u64max, {}};
    append_max.entries.push_back({u64max, EntryKind::data, bytes(9, 0xF7), u32max});
    append_max.entries.push_back({u64max, EntryKind::reign, {}, u32max});
    append_max.entries.push_back({0, EntryKind::data, bytes(64, 0x80), 0});

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
        // Replication: each message's epoch is the envelope's (2 unless given), Recover's aside.
        {"append", envelope(append())},
        {"append_no_entries", envelope(Append{2, 10, 1, 10, {}}, {})},
        {"append_max", envelope(append_max, sparse, u32max, u32max, u64max)},
        {"append_ack", envelope(AppendAck{2, true, Refusal::none, 12, 12})},
        {"append_ack_refused", envelope(AppendAck{2, false, Refusal::too_large, 0, u64max})},
        {"start_view", envelope(StartView{3}, dense_clock(6), 6, 1, 3)},
        {"recover", envelope(Recover{77}, dense_clock(2), 4, 1, 0)},
        {"recover_max", envelope(Recover{u64max}, sparse, u32max, u32max, u64max)},
        {"log_state", envelope(LogState{2, 0, 14, 2, 12, 8, true})},
        {"log_state_max",
         envelope(LogState{u64max, u64max, u64max, u64max, u64max, u64max, false}, sparse, u32max,
                  u32max, u64max)},
        {"fetch", envelope(Fetch{2, 9, 14})},
        {"snapshot_chunk", envelope(snapshot_chunk())},
        // The last piece ends exactly at the total; an empty snapshot is one empty piece.
        {"snapshot_chunk_last", envelope(SnapshotChunk{2, 40, 1, 96, 100, bytes(4, 96), 7})},
        {"snapshot_chunk_empty", envelope(SnapshotChunk{2, 0, 0, 0, 0, {}, 0})},
        {"snapshot_ack", envelope(SnapshotAck{2, 40, 64, Refusal::none})},
        {"snapshot_ack_refused", envelope(SnapshotAck{2, 40, 32, Refusal::out_of_order})},
        // Membership (issue 18).
        {"join", envelope(Join{true, false, "127.0.0.1", 9007}, {}, 7, 0, 0)},
        {"join_max", envelope(Join{true, true, std::string(max_host_bytes, 'h'), u16max}, sparse,
                              u32max, u32max, u64max)},
        {"join_answer", envelope(JoinAnswer{MembershipRefusal::none, 6, members(3)}, {}, 6, 7)},
        {"join_answer_redirect",
         envelope(JoinAnswer{MembershipRefusal::not_trader, 6, {{6, true, true, true, "b", 1}}})},
        {"join_answer_refused", envelope(JoinAnswer{MembershipRefusal::id_in_use, 6, {}})},
        {"join_answer_versioned",
         envelope(JoinAnswer{MembershipRefusal::none, 6, members(3), 41}, {}, 6, 7)},
        {"leave", envelope(Leave{true, {}, 0})},
        {"leave_newcomer", envelope(Leave{false, "127.0.0.1", 9011}, {}, 11, 6)},
        {"leave_max", envelope(Leave{true, std::string(max_host_bytes, 'h'), u16max}, sparse,
                               u32max, u32max, u64max)},
        {"leave_answer", envelope(LeaveAnswer{MembershipRefusal::payments_pending, 0, {}})},
        {"leave_answer_redirect",
         envelope(LeaveAnswer{MembershipRefusal::not_trader, 9, {{9, true, false, true, "b", 1}}})},
        {"members", envelope(Members{u64max, members(8)}, dense_clock(6), 6, 2)},
        // Gathered payments and their acks (issue 17).
        {"payments", envelope(Payments{{{5, 100, 4, 5700}, {6, 100, 1, 1425}, {9, 101, 2, 0}}})},
        {"payments_max",
         envelope(Payments{std::vector<Payment>(max_payments_per_message,
                                                Payment{u64max, u64max, u32max, i64max})},
                  dense_clock(6), 6, 2)},
        {"payment_acks", envelope(PaymentAcks{{5, 6, 9}})},
        {"payment_acks_max",
         envelope(PaymentAcks{std::vector<PaymentId>(max_payments_per_message, u64max)},
                  dense_clock(6), 2, 6)},
    };
}

}  // namespace tp::wire::samples
