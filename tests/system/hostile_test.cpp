// Hostile and gray faults against a whole market on the in-memory network (issue 12): datagrams
// forged with a member's source address, and a paused trader. Each case is one reported defect.
#include <boost/test/unit_test.hpp>

#include <spdlog/sinks/ostream_sink.h>

#include <sstream>

#include "market_fixture.hpp"
#include "tp/election/messages.hpp"
#include "tp/wire/codec.hpp"
#include "tp/wire/datagram.hpp"

using namespace tp::system_test;
using tp::wire::RefusalReason;
namespace wire = tp::wire;
namespace election = tp::election;

namespace {

// Sends `bytes` to `to` from member `from`, sealed with its own node's key and sequence: a member
// gone bad holds the key (an outsider without it is refused before decoding: docs/security.md).
void send_as(Market& m, PeerId from, PeerId to, std::span<const std::byte> bytes) {
    std::vector<std::byte> frame(tp::auth::frame_overhead + bytes.size());
    std::copy(bytes.begin(), bytes.end(), frame.begin() + tp::auth::header_size);
    auto* guard = m.node(from).guard();
    BOOST_REQUIRE(guard != nullptr);
    frame.resize(guard->seal(to, frame, bytes.size()));
    m->memory_network()->inject(from, to, frame);
}

// Sends `body` to `to` as member `from`, with a plausible clock.
void forge(Market& m, PeerId from, PeerId to, wire::Body body, wire::Epoch epoch,
           tp::clock::VectorClock clock = {}) {
    if (clock.empty()) clock.set(from, 1);
    const wire::Envelope e{from, to, epoch, std::move(clock), std::move(body)};
    send_as(m, from, to, wire::encode(e));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(hostile)

// Only the current trader's Payment counts: a seller paid by anyone else ignores it.
BOOST_AUTO_TEST_CASE(a_payment_from_a_member_that_is_not_the_trader_is_refused) {
    Market m(TransportKind::memory, {Role::seller, Role::buyer, Role::buyer});
    BOOST_REQUIRE(m.settle_on(3));
    // Buyer 2 pretends to be the trader and pays seller 1 555,555,555.
    forge(m, 2, 1, wire::Payment{77, 1, 1, 555'555'555}, m.node(3).epoch());
    BOOST_REQUIRE(m.run_until([&] { return m.node(1).counters().wrong_role == 1; }));
    BOOST_TEST(m.node(1).seller().earned == 0);
    BOOST_TEST(m.node(1).seller().payments.empty());
}

// A datagram carries several envelopes back to back (issue 17), read up to
// wire::max_envelopes_per_datagram: each is checked as if it came alone, what lies beyond the
// bound or after a malformed piece is dropped and counted (a newer peer's kind is skipped), and
// nothing is read past the datagram.
BOOST_AUTO_TEST_CASE(a_datagram_of_many_envelopes_is_read_within_its_bound) {
    Market m(TransportKind::memory, {Role::seller, Role::buyer, Role::buyer});
    BOOST_REQUIRE(m.settle_on(3));
    const auto payment = [&] {
        tp::clock::VectorClock clock;
        clock.set(2, 1);
        return wire::encode(wire::Envelope{2, 1, m.node(3).epoch(), clock,
                                           wire::Payment{77, 1, 1, 555'555'555}});
    }();
    // Step 1: one more forged Payment than a datagram may carry: each of the first 64 refused
    // for its role, the 65th not read.
    std::vector<std::byte> many;
    for (std::size_t i = 0; i <= wire::max_envelopes_per_datagram; ++i)
        many.insert(many.end(), payment.begin(), payment.end());
    send_as(m, 2, 1, many);
    BOOST_REQUIRE(m.run_until([&] { return m.node(1).counters().malformed == 1; }));
    BOOST_TEST(m.node(1).counters().wrong_role == wire::max_envelopes_per_datagram);
    // Step 2: one Payment, then half of another: the first is read, the rest refused.
    std::vector<std::byte> cut(payment.begin(), payment.end());
    cut.insert(cut.end(), payment.begin(), payment.begin() + payment.size() / 2);
    send_as(m, 2, 1, cut);
    BOOST_REQUIRE(m.run_until([&] { return m.node(1).counters().malformed == 2; }));
    BOOST_TEST(m.node(1).counters().wrong_role == wire::max_envelopes_per_datagram + 1);
    // Step 3: a kind this build does not know (a newer peer's) between two Payments: skipped,
    // and the one after it still read. The kind's tag sits in the root's data section (word 2).
    auto newer = payment;
    newer[8 + 8 + 18] = std::byte{77};
    const auto crafted = wire::decode(newer);
    BOOST_REQUIRE(!crafted.has_value());
    BOOST_REQUIRE(crafted.error().code == wire::DecodeErrc::unknown_kind);
    std::vector<std::byte> mixed(payment.begin(), payment.end());
    mixed.insert(mixed.end(), newer.begin(), newer.end());
    mixed.insert(mixed.end(), payment.begin(), payment.end());
    send_as(m, 2, 1, mixed);
    BOOST_REQUIRE(m.run_until([&] { return m.node(1).counters().malformed == 3; }));
    BOOST_TEST(m.node(1).counters().wrong_role == wire::max_envelopes_per_datagram + 3);
    BOOST_TEST(m.node(1).seller().earned == 0);
}

// Only the current trader's BuyResult counts: a forged answer does not end a request.
BOOST_AUTO_TEST_CASE(a_buy_result_from_a_member_that_is_not_the_trader_is_refused) {
    Market m(TransportKind::memory, {Role::seller, Role::buyer, Role::buyer});
    BOOST_REQUIRE(m.settle_on(3));
    m.deposit(1, tp::system_test::salt, 5, 10);
    // The buyer's request cannot reach the trader for now, so it stays outstanding.
    auto* net = m->memory_network();
    net->cut(2, 3);
    m.node(2).buy(salt, 1);
    BOOST_REQUIRE(m.run_until([&] { return m.node(2).buyer().outstanding.has_value(); }));
    const auto request = m.node(2).buyer().outstanding->request;
    // Seller 1 answers it "as the trader": filled, for nothing.
    wire::BuyResult fake;
    fake.request_id = request;
    fake.filled = true;
    fake.quantity = 1;
    fake.amount = 0;
    forge(m, 1, 2, fake, m.node(3).epoch());
    BOOST_REQUIRE(m.run_until([&] { return m.node(2).counters().wrong_role == 1; }));
    BOOST_TEST(m.node(2).buyer().purchases.empty());
    // The link heals: the real trader's answer is the one the buyer keeps.
    net->restore(2, 3);
    const auto p = m.buy(2, salt, 0 + 1);
    BOOST_TEST(m.node(2).buyer().purchases.front().request == request);
    BOOST_TEST(m.node(2).buyer().purchases.front().amount == 10);
    BOOST_TEST(m.node(2).buyer().purchases.front().trader == 3u);
    (void)p;
}

// Only the payee settles a payment: an ack from anyone else leaves it pending, and the trader
// keeps resending it until the payee acknowledges.
BOOST_AUTO_TEST_CASE(a_payment_ack_from_another_member_does_not_settle_the_payment) {
    Market m(TransportKind::memory, {Role::seller, Role::buyer, Role::buyer});
    BOOST_REQUIRE(m.settle_on(3));
    m.deposit(1, salt, 5, 10);
    // The seller's acks cannot reach the trader, so the payment stays pending.
    auto* net = m->memory_network();
    net->cut(1, 3);
    const auto p = m.buy(2, salt, 2);
    BOOST_REQUIRE(p.filled);
    BOOST_REQUIRE(m.run_until([&] { return m.books().payments().pending_count() == 1; }));
    const auto pending = m.books().payments().pending();
    // Buyer 2 acknowledges the seller's payment.
    forge(m, 2, 3, wire::PaymentAck{pending.front().id}, m.node(3).epoch());
    BOOST_REQUIRE(m.run_until([&] { return m.node(3).counters().wrong_role == 1; }));
    BOOST_TEST(m.books().payments().pending_count() == 1u);
    // The seller's own ack gets through once the link heals: then it is settled.
    net->restore(1, 3);
    BOOST_REQUIRE(m.run_until([&] { return m.books().payments().pending_count() == 0; }));
    BOOST_TEST(m.node(1).seller().earned == 18);
}

// One Election carrying the maximal term, from a listed peer, stopped all trading for good.
BOOST_AUTO_TEST_CASE(one_election_with_a_maximal_epoch_does_not_stop_the_market) {
    Market m(TransportKind::memory, {Role::seller, Role::buyer, Role::buyer, Role::buyer});
    BOOST_REQUIRE(m.settle_on(4));
    m.deposit(1, salt, 10, 10);
    const auto reign = m.node(4).epoch();
    // "Peer 2" asks everyone above it into an election with the last term there is, and claims
    // that term for itself to everyone.
    const auto maximal = election::make_epoch(election::max_term, 2);
    for (PeerId to : {3, 4}) forge(m, 2, to, wire::Election{maximal}, maximal);
    for (PeerId to : {1, 3, 4}) forge(m, 2, to, wire::Coordinator{2, maximal}, maximal);
    BOOST_REQUIRE(
        m.run_until([&] { return m.node(4).election().counters().implausible_ignored >= 2; }));
    // Nothing changed: the same trader, the same epoch, and trade goes on.
    BOOST_TEST(m.node(4).epoch() == reign);
    BOOST_TEST(m.node(1).epoch() == reign);
    BOOST_TEST(m.buy(2, salt, 1).filled);
    // The trader fails: a new one is elected and followed as usual.
    m->crash(4);
    BOOST_REQUIRE(m.settle_on(3));
    BOOST_TEST(election::epoch_term(m.node(3).epoch()) == election::epoch_term(reign) + 1);
    BOOST_TEST(m.buy(2, salt, 1).filled);
}

// A clock naming 1,500 invented peers made every later message ~190x larger; a legal 64 KiB one
// made every later message too big to encode. A peer takes clocks up to the wire's cap (it cannot
// know how many joined since it last heard the trader); what it keeps names members only.
BOOST_AUTO_TEST_CASE(an_inflated_clock_cannot_grow_anyone_s_state) {
    Market m(TransportKind::memory, {Role::seller, Role::buyer, Role::buyer});
    BOOST_REQUIRE(m.settle_on(3));
    tp::clock::VectorClock inflated;
    for (PeerId p = 1; p <= 4000; ++p) inflated.set(p, 1);
    forge(m, 2, 3, wire::Heartbeat{2, m.node(3).epoch()}, m.node(3).epoch(), inflated);
    // Step 1: the 3,997 entries naming no member are counted and left out.
    BOOST_REQUIRE(m.run_until([&] { return m.node(3).counters().foreign_clock_entries == 3997; }));
    BOOST_TEST(m.node(3).clock().size() <= 3u);
    BOOST_TEST(m.node(3).counters().malformed == 0u);
    // Step 2: the same with a few: the members' entries merge, the rest do not.
    tp::clock::VectorClock foreign;
    foreign.set(2, 1);
    for (PeerId p = 100; p < 102; ++p) foreign.set(p, 5);
    forge(m, 2, 3, wire::PaymentAck{12345}, m.node(3).epoch(), foreign);
    BOOST_REQUIRE(m.run_until([&] { return m.node(3).counters().foreign_clock_entries == 3999; }));
    BOOST_TEST(m.node(3).clock().size() <= 3u);
    // And a clock at the counter ceiling for the trader's own entry does not stop it sending.
    tp::clock::VectorClock ceiling;
    ceiling.set(3, tp::clock::max_counter);
    forge(m, 2, 3, wire::PaymentAck{12346}, m.node(3).epoch(), ceiling);
    m.deposit(1, salt, 3, 10);
    BOOST_TEST(m.buy(2, salt, 1).filled);
}

// A paused trader stalled the market silently: buyers are now told trader_unavailable while the
// successor waits for the books, and are served once the paused trader lets go.
BOOST_AUTO_TEST_CASE(a_paused_trader_gets_buyers_a_clear_refusal_then_a_successor) {
    Market m(TransportKind::memory, {Role::seller, Role::buyer, Role::buyer, Role::buyer},
             shared_journal);
    BOOST_REQUIRE(m.settle_on(4));
    m.deposit(1, salt, 10, 10);
    // The trader stops (SIGSTOP): it still holds the journal, and hears and says nothing.
    auto* net = m->memory_network();
    net->pause(4);
    // 3 is elected; buyer 2 asks it and is told the trader cannot serve yet.
    BOOST_REQUIRE(m.run_until([&] { return m.node(2).leader() == PeerId{3}; }));
    m.node(2).buy(salt, 1);
    BOOST_REQUIRE(m.run_until([&] { return m.node(3).counters().unavailable_answers > 0; }));
    BOOST_TEST(m.node(2).buyer().purchases.empty());
    BOOST_TEST(!m.node(3).is_trader());
    // The paused trader runs again: it learns of the newer epoch, steps down and frees the
    // books, and the buyer is served by the successor.
    net->resume(4);
    BOOST_REQUIRE(m.run_until([&] { return m.node(2).buyer().purchases.size() == 1; }));
    const auto& p = m.node(2).buyer().purchases.front();
    BOOST_TEST(p.filled);
    BOOST_TEST(p.trader == 3u);
    BOOST_TEST(!m.node(4).is_trader());
    BOOST_TEST(m.books().check_invariants().empty());
}

// One warning per junk datagram, with raw control bytes from the datagram in the log, let a
// flood of junk flood the log. Now: one line per kind per second, the rest counted, no raw bytes.
BOOST_AUTO_TEST_CASE(a_flood_of_junk_is_logged_once_a_second_and_never_raw) {
    Market m(TransportKind::memory, {Role::seller, Role::buyer, Role::buyer});
    BOOST_REQUIRE(m.settle_on(3));
    // Capture what peer 3 logs.
    std::ostringstream captured;
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(captured);
    auto logger = tp::peer::peer_logger(3);
    logger->sinks().push_back(sink);
    // 1,000 datagrams of junk with control bytes in them, from member 2, all at once.
    std::vector<std::byte> junk(64);
    for (std::size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<std::byte>(i % 32);
    for (int i = 0; i < 1000; ++i) send_as(m, 2, 3, junk);
    BOOST_REQUIRE(m.run_until([&] { return m.node(3).counters().malformed == 1000; }));
    const auto lines_now = [&] {
        const std::string text = captured.str();
        return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
    };
    BOOST_TEST(lines_now() == 1u);
    // A second later the rest is summed up in one more line.
    BOOST_REQUIRE(m.run_until([&] { return lines_now() >= 2; }, 3s));
    const std::string text = captured.str();
    BOOST_TEST(lines_now() == 2u);
    BOOST_TEST(text.find("999 more malformed datagrams") != std::string::npos, text);
    // Nothing but printable text and line ends reached the log.
    BOOST_TEST(std::none_of(text.begin(), text.end(),
                            [](char c) {
                                const auto u = static_cast<unsigned char>(c);
                                return c != '\n' && (u < 0x20 || u >= 0x7f);
                            }),
               text);
    logger->sinks().pop_back();
}

// Issue 13: an outsider without the key, spoofing a member's address. Its datagrams (junk, a
// plain envelope as the original lab would trust, a frame under another key) are refused before
// the decoder sees them, counted by reason, and logged once a second per kind.
BOOST_AUTO_TEST_CASE(an_outsider_without_the_key_is_refused_before_decoding) {
    Market m(TransportKind::memory, {Role::seller, Role::buyer, Role::buyer});
    BOOST_REQUIRE(m.settle_on(3));
    auto* net = m->memory_network();
    const auto& refused = m.node(1).counters().auth_refused;
    const auto count = [&](tp::auth::Refusal r) { return refused[static_cast<std::size_t>(r)]; };
    // Junk, and a plain Payment of 555,555,555 "from the trader".
    std::vector<std::byte> junk(64, std::byte{7});
    for (int i = 0; i < 100; ++i) net->inject(3, 1, junk);
    tp::clock::VectorClock c;
    c.set(3, 1);
    const auto plain = wire::encode(
        wire::Envelope{3, 1, m.node(3).epoch(), c, wire::Payment{77, 1, 1, 555'555'555}});
    net->inject(3, 1, plain);
    // The same Payment in a well-formed frame, MAC'd with a key that is not the members'.
    std::vector<std::byte> frame(tp::auth::frame_overhead + plain.size());
    std::copy(plain.begin(), plain.end(), frame.begin() + tp::auth::header_size);
    const std::vector<tp::auth::PeerId> members{1, 2, 3};
    tp::auth::Guard outsider(3, 1, members, tp::auth::Key::derive(999));
    frame.resize(outsider.seal(1, frame, plain.size()));
    net->inject(3, 1, frame);
    BOOST_REQUIRE(m.run_until([&] {
        return count(tp::auth::Refusal::malformed) == 101 && count(tp::auth::Refusal::bad_mac) == 1;
    }));
    // Nothing reached the decoder or the seller's books.
    BOOST_TEST(m.node(1).counters().malformed == 0u);
    BOOST_TEST(m.node(1).counters().wrong_role == 0u);
    BOOST_TEST(m.node(1).seller().earned == 0);
}

BOOST_AUTO_TEST_SUITE_END()
