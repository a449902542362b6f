#pragma once
// Replica-set changes (issue 18) on the fake network: the records' format for these tests, and
// the scenarios a test of the correct machine and of a broken variant share.

#include <charconv>
#include <string_view>

#include "cluster.hpp"

namespace tp::replication::test {

// A config record here is "+N" (peer N joins the set) or "-N" (it leaves); a snapshot that names
// its set starts with "voters" and lists them ("voters 1 2 4").
inline std::optional<VoterChange> read_change(std::span<const std::byte> payload) {
    const std::string_view text(reinterpret_cast<const char*>(payload.data()), payload.size());
    if (text.size() < 2 || (text[0] != '+' && text[0] != '-')) return std::nullopt;
    PeerId peer = 0;
    const auto [end, error] = std::from_chars(text.data() + 1, text.data() + text.size(), peer);
    if (error != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    return VoterChange{peer, text[0] == '+'};
}

inline std::optional<std::vector<PeerId>> read_voters(std::span<const std::byte> snapshot) {
    std::string_view text(reinterpret_cast<const char*>(snapshot.data()), snapshot.size());
    if (!text.starts_with("voters")) return std::nullopt;
    text.remove_prefix(6);
    std::vector<PeerId> ids;
    while (!text.empty()) {
        text.remove_prefix(std::min(text.find_first_not_of(' '), text.size()));
        PeerId id = 0;
        const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), id);
        if (error != std::errc{}) break;
        ids.push_back(id);
        text.remove_prefix(static_cast<std::size_t>(end - text.data()));
    }
    return ids;
}

// Options whose initial set is `ids` (the other peers are learners) and that read the records
// above.
inline Options with_set(std::vector<PeerId> ids) {
    Options o;
    o.replicas = std::move(ids);
    o.read_change = read_change;
    o.read_voters = read_voters;
    return o;
}

// Trader 3 serves the set {1,2,3} and ships its log to `learners` too, which catch up.
inline void serve_with_learners(Cluster& c, std::vector<PeerId> learners) {
    start_serving(c, 3);
    c[3].set_learners(std::move(learners), c.now());
    c.carry(3);
    c.deliver();
}

// Whether a new trader serves without a committed record: it heard a quorum of the set its own
// stale log names ({1,2,3}), adopted a log naming a set two changes newer ({1..5}), and began
// its reign without hearing a quorum of that one, whose quorum {3,4,5} had committed "x" (its
// reign record then overwrites "x" where that was not yet known committed).
inline bool a_view_change_serves_without_a_quorum_of_the_set_it_adopted() {
    Cluster c(5, {}, with_set({1, 2, 3}));
    // Peer 1 hears nothing of trader 3's reign; 4 and 5 are caught up as learners.
    c.cut(3, 1);
    serve_with_learners(c, {4, 5});
    // Two changes, one after the other, each committed: the set is 1..5.
    if (!c.propose(3, "+4", EntryKind::config)) return false;
    c.deliver();
    if (!c.propose(3, "+5", EntryKind::config)) return false;
    c.deliver();
    // 2 is cut off too; "x" is committed by 3, 4 and 5.
    c.cut(3, 2);
    const auto x = c.propose(3, "x");
    c.deliver();
    if (!x || c[3].commit() < *x) return false;
    // 3 fails before 4 and 5 learn that "x" is committed. Peer 1, its log empty, leads while it
    // cannot reach 4 and 5: 1 and 2 are a quorum of {1,2,3}, and 2's log (which names 1..5,
    // without "x") is the most advanced it hears.
    c.crash(3);
    c.heal();
    c.cut(1, 4);
    c.cut(1, 5);
    c.lead(1, epoch(2, 1));
    c.deliver();
    // Then it reaches them: whatever it serves must hold "x".
    c.heal();
    c.settle(5);
    const Entry* e = c[1].entry(*x);
    return c[1].serving() && (e == nullptr || e->payload != bytes("x"));
}

// Whether two changes proposed back to back, the first uncommitted, let a set commit what a
// quorum of the other never holds: trader 3 adds 4 and 5 while 1 and 2 hear nothing, commits
// "x" with 4 and 5; then 2 leads with 1, a quorum of the set their logs name, without "x".
inline bool two_changes_at_once_lose_a_record() {
    Cluster c(5, {}, with_set({1, 2, 3}));
    serve_with_learners(c, {4, 5});
    c.cut(3, 1);
    c.cut(3, 2);
    const auto first = c.propose(3, "+4", EntryKind::config);
    const auto second = c.propose(3, "+5", EntryKind::config);
    const auto x = c.propose(3, "x");
    c.deliver();
    if (!first || !second || !x || c[3].commit() < *x) return false;
    c.crash(3);
    c.crash(4);
    c.crash(5);
    c.heal();
    c.lead(2, epoch(2, 2));
    c.settle(5);
    const Entry* e = c[2].entry(*x);
    return c[2].serving() && (e == nullptr || e->payload != bytes("x"));
}

}  // namespace tp::replication::test
