// Cap'n Proto encoding of events and snapshots (schema/books.capnp). The generated header is
// private to this file.
#include "tp/market/codec.hpp"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/io.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <exception>
#include <map>
#include <string>
#include <tuple>

#include "books.capnp.h"
#include "tp/market/books.hpp"
#include "tp/mutant/mutant.hpp"
#include "wide.hpp"

namespace tp::market {

namespace s = schema;

namespace {

// 2: client sessions (one per buyer) instead of every answer ever given. Version 1 still restores.
// 3: the membership (issue 18). Versions 1 and 2 restore with the config's founders.
constexpr std::uint32_t snapshot_version = 3;
constexpr std::uint32_t snapshot_version_sessions = 2;
constexpr std::uint32_t snapshot_version_every_answer = 1;

// Reused first segment: small events are built without touching the heap. The builder zeroes what
// it used when it is destroyed, as the next use requires.
constexpr std::size_t scratch_words = 128;
thread_local capnp::word scratch[scratch_words] = {};

void to_bytes(capnp::MessageBuilder& message, std::vector<std::byte>& out) {
    const auto segments = message.getSegmentsForOutput();
    out.resize(capnp::computeSerializedSizeInWords(segments) * sizeof(capnp::word));
    kj::ArrayOutputStream stream(kj::arrayPtr(reinterpret_cast<kj::byte*>(out.data()), out.size()));
    capnp::writeMessage(stream, segments);
}

// ---- Writers

void write(s::Deposited::Builder b, const Deposited& e) {
    b.setSeller(e.seller);
    b.setLot(e.lot);
    b.setProduct(e.product);
    b.setQuantity(e.quantity);
    b.setUnitPrice(e.unit_price);
}

void write(s::BuyQueued::Builder b, const BuyQueued& e) {
    b.setBuyer(e.buyer);
    b.setRequest(e.request);
    b.setProduct(e.product);
    b.setQuantity(e.quantity);
    b.setAllowPartial(e.allow_partial);
    const auto entries = e.clock.entries();
    auto list = b.initClock(static_cast<unsigned>(entries.size()));
    for (unsigned i = 0; i < entries.size(); ++i) {
        list[i].setPeer(entries[i].peer);
        list[i].setCounter(entries[i].counter);
    }
    b.setBatch(e.batch);
    // The broken variant journals the deadline of the trader's own clock, as the field once did.
    if (TP_MUTANT(process_time_in_books)) b.setBatchCloseNsDeprecated(e.batch_close_ns_deprecated);
}

void write(capnp::List<s::Fill>::Builder out, const InlineVec<Fill, 2>& fills) {
    for (unsigned i = 0; i < fills.size(); ++i) {
        const Fill& f = fills[i];
        out[i].setSeller(f.seller);
        out[i].setLot(f.lot);
        out[i].setQuantity(f.quantity);
        out[i].setAmount(f.amount);
        out[i].setCommission(f.commission);
        out[i].setPayment(f.payment);
    }
}

void write(s::BuyFilled::Builder b, const BuyFilled& e) {
    b.setBuyer(e.buyer);
    b.setRequest(e.request);
    b.setProduct(e.product);
    b.setRequested(e.requested);
    write(b.initFills(static_cast<unsigned>(e.fills.size())), e.fills);
}

s::RefuseReason to_schema(RefuseReason r) {
    switch (r) {
        case RefuseReason::no_seller: return s::RefuseReason::NO_SELLER;
        case RefuseReason::insufficient_stock: return s::RefuseReason::INSUFFICIENT_STOCK;
        case RefuseReason::invalid_request: return s::RefuseReason::INVALID_REQUEST;
        case RefuseReason::amount_overflow: return s::RefuseReason::AMOUNT_OVERFLOW;
    }
    return s::RefuseReason::INVALID_REQUEST;
}

s::BuyStatus to_schema(BuyStatus st) {
    switch (st) {
        case BuyStatus::filled: return s::BuyStatus::FILLED;
        case BuyStatus::partial: return s::BuyStatus::PARTIAL;
        case BuyStatus::refused: return s::BuyStatus::REFUSED;
    }
    return s::BuyStatus::REFUSED;
}

void write(s::BuyResult::Builder b, const BuyResult& r) {
    b.setBuyer(r.buyer);
    b.setRequest(r.request);
    b.setProduct(r.product);
    b.setStatus(to_schema(r.status));
    b.setReason(to_schema(r.reason));
    b.setRequested(r.requested);
    b.setQuantity(r.quantity);
    b.setAmount(r.amount);
    auto sellers = b.initSellers(static_cast<unsigned>(r.sellers.size()));
    for (unsigned k = 0; k < r.sellers.size(); ++k) sellers.set(k, r.sellers[k]);
    write(b.initFills(static_cast<unsigned>(r.fills.size())), r.fills);
}

void write(s::BuyRefused::Builder b, const BuyRefused& e) {
    b.setBuyer(e.buyer);
    b.setRequest(e.request);
    b.setProduct(e.product);
    b.setRequested(e.requested);
    b.setReason(to_schema(e.reason));
}

void write(s::Member::Builder b, const Member& m) {
    b.setId(m.id);
    b.setBuys(m.buys);
    b.setSells(m.sells);
    b.setVoter(m.voter);
    b.setHost(kj::StringPtr(m.host.c_str(), m.host.size()));
    b.setPort(m.port);
}

void write(s::Event::Builder b, const Event& event) {
    std::visit(
        [&](const auto& e) {
            using T = std::decay_t<decltype(e)>;
            if constexpr (std::is_same_v<T, Deposited>)
                write(b.initDeposited(), e);
            else if constexpr (std::is_same_v<T, BuyQueued>)
                write(b.initBuyQueued(), e);
            else if constexpr (std::is_same_v<T, BuyFilled>)
                write(b.initBuyFilled(), e);
            else if constexpr (std::is_same_v<T, BuyRefused>)
                write(b.initBuyRefused(), e);
            else if constexpr (std::is_same_v<T, PaymentAcked>)
                b.initPaymentAcked().setPayment(e.payment);
            else if constexpr (std::is_same_v<T, MemberJoined>)
                write(b.initMemberJoined(), e.member);
            else if constexpr (std::is_same_v<T, MemberLeft>) {
                auto l = b.initMemberLeft();
                l.setId(e.id);
                l.setWithdrawLots(e.withdraw_lots);
            } else {
                auto v = b.initVoterChanged();
                v.setId(e.id);
                v.setVoter(e.voter);
            }
        },
        event);
}

// ---- Readers. A failed read throws Bad; decode turns it into an Error.

struct Bad {
    ErrorCode code;
    std::string message;
};

RefuseReason from_schema(s::RefuseReason r, const char* where) {
    switch (r) {
        case s::RefuseReason::NO_SELLER: return RefuseReason::no_seller;
        case s::RefuseReason::INSUFFICIENT_STOCK: return RefuseReason::insufficient_stock;
        case s::RefuseReason::INVALID_REQUEST: return RefuseReason::invalid_request;
        case s::RefuseReason::AMOUNT_OVERFLOW: return RefuseReason::amount_overflow;
    }
    throw Bad{ErrorCode::invalid, std::string(where) + ": unknown refuse reason " +
                                      std::to_string(static_cast<unsigned>(r))};
}

BuyStatus from_schema(s::BuyStatus st, const char* where) {
    switch (st) {
        case s::BuyStatus::FILLED: return BuyStatus::filled;
        case s::BuyStatus::PARTIAL: return BuyStatus::partial;
        case s::BuyStatus::REFUSED: return BuyStatus::refused;
    }
    throw Bad{ErrorCode::invalid, std::string(where) + ": unknown buy status " +
                                      std::to_string(static_cast<unsigned>(st))};
}

Deposited read(s::Deposited::Reader r) {
    return Deposited{r.getSeller(), r.getLot(), r.getProduct(), r.getQuantity(), r.getUnitPrice()};
}

BuyQueued read(s::BuyQueued::Reader r) {
    BuyQueued e;
    e.buyer = r.getBuyer();
    e.request = r.getRequest();
    e.product = r.getProduct();
    e.quantity = r.getQuantity();
    e.allow_partial = r.getAllowPartial();
    std::vector<clock::Entry> entries;
    const auto list = r.getClock();
    entries.reserve(list.size());
    for (auto entry : list) entries.push_back(clock::Entry{entry.getPeer(), entry.getCounter()});
    try {
        e.clock = clock::VectorClock::from_entries(entries);
    } catch (const std::invalid_argument& ex) {
        throw Bad{ErrorCode::invalid, std::string("BuyQueued clock: ") + ex.what()};
    }
    // batchCloseNsDeprecated, which old journals carry, is another process's clock: ignored.
    e.batch = r.getBatch();
    if (e.batch == UINT64_MAX) throw Bad{ErrorCode::invalid, "BuyQueued batch: out of range"};
    if (TP_MUTANT(process_time_in_books))
        e.batch_close_ns_deprecated = r.getBatchCloseNsDeprecated();
    return e;
}

void read(capnp::List<s::Fill>::Reader in, InlineVec<Fill, 2>& fills) {
    fills.reserve(in.size());
    for (auto f : in)
        fills.push_back(Fill{f.getSeller(), f.getLot(), f.getQuantity(), f.getAmount(),
                             f.getCommission(), f.getPayment()});
}

BuyFilled read(s::BuyFilled::Reader r) {
    BuyFilled e;
    e.buyer = r.getBuyer();
    e.request = r.getRequest();
    e.product = r.getProduct();
    e.requested = r.getRequested();
    read(r.getFills(), e.fills);
    return e;
}

BuyRefused read(s::BuyRefused::Reader r) {
    return BuyRefused{r.getBuyer(), r.getRequest(), r.getProduct(), r.getRequested(),
                      from_schema(r.getReason(), "BuyRefused")};
}

BuyResult read(s::BuyResult::Reader r) {
    BuyResult result;
    result.buyer = r.getBuyer();
    result.request = r.getRequest();
    result.product = r.getProduct();
    result.status = from_schema(r.getStatus(), "result");
    result.reason = from_schema(r.getReason(), "result");
    result.requested = r.getRequested();
    result.quantity = r.getQuantity();
    result.amount = r.getAmount();
    for (auto seller : r.getSellers()) result.sellers.push_back(seller);
    read(r.getFills(), result.fills);
    return result;
}

// Bounded: the host comes from the network (a join) before it is journalled.
Member read(s::Member::Reader r) {
    Member m{r.getId(), r.getBuys(), r.getSells(), r.getVoter(), {}, r.getPort()};
    if (!r.hasHost()) return m;
    const auto host = r.getHost();
    if (host.size() > max_host_length)
        throw Bad{ErrorCode::invalid, "member " + std::to_string(m.id) + ": host of " +
                                          std::to_string(host.size()) + " bytes (at most " +
                                          std::to_string(max_host_length) + ")"};
    m.host.assign(host.begin(), host.end());
    if (!valid_member(m))
        throw Bad{ErrorCode::invalid, "member " + std::to_string(m.id) +
                                          ": zero id, no role, or a control character in its host"};
    return m;
}

Event read(s::Event::Reader r) {
    switch (r.which()) {
        case s::Event::DEPOSITED: return read(r.getDeposited());
        case s::Event::BUY_QUEUED: return read(r.getBuyQueued());
        case s::Event::BUY_FILLED: return read(r.getBuyFilled());
        case s::Event::BUY_REFUSED: return read(r.getBuyRefused());
        case s::Event::PAYMENT_ACKED: return PaymentAcked{r.getPaymentAcked().getPayment()};
        case s::Event::MEMBER_JOINED: return MemberJoined{read(r.getMemberJoined())};
        case s::Event::MEMBER_LEFT:
            return MemberLeft{r.getMemberLeft().getId(), r.getMemberLeft().getWithdrawLots()};
        case s::Event::VOTER_CHANGED:
            return VoterChanged{r.getVoterChanged().getId(), r.getVoterChanged().getVoter()};
    }
    throw Bad{ErrorCode::malformed,
              "unknown event kind " + std::to_string(static_cast<unsigned>(r.which()))};
}

// Runs `body` on a strict reader over `bytes`; any failure becomes an Error naming `what`.
template <class Root, class F>
auto with_reader(const char* what, std::span<const std::byte> bytes, F&& body)
    -> Result<decltype(body(std::declval<typename Root::Reader>()))> {
    const auto fail = [&](ErrorCode code, const std::string& msg) {
        return Error{code, std::string(what) + ": " + msg};
    };
    if (bytes.empty()) return fail(ErrorCode::malformed, "empty input");
    if (bytes.size() % sizeof(capnp::word) != 0)
        return fail(ErrorCode::malformed,
                    std::to_string(bytes.size()) + " bytes is not a whole number of 8-byte words");
    const std::size_t words = bytes.size() / sizeof(capnp::word);
    // Cap'n Proto reads words in place: copy input that is not word-aligned.
    std::vector<capnp::word> aligned;
    const capnp::word* data = reinterpret_cast<const capnp::word*>(bytes.data());
    if (reinterpret_cast<std::uintptr_t>(bytes.data()) % alignof(capnp::word) != 0) {
        aligned.resize(words);
        std::memcpy(aligned.data(), bytes.data(), bytes.size());
        data = aligned.data();
    }
    capnp::ReaderOptions options;
    // Strict: no amplification beyond the input (a little slack for the header), shallow nesting.
    options.traversalLimitInWords = words * 2 + 16;
    options.nestingLimit = 8;
    try {
        capnp::FlatArrayMessageReader reader(kj::arrayPtr(data, words), options);
        if (reader.getEnd() != data + words)
            return fail(ErrorCode::malformed,
                        std::to_string((data + words - reader.getEnd()) * sizeof(capnp::word)) +
                            " trailing bytes after the message");
        return body(reader.getRoot<Root>());
    } catch (const Bad& bad) {
        return fail(bad.code, bad.message);
    } catch (const kj::Exception& e) {
        return fail(ErrorCode::malformed, e.getDescription().cStr());
    }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Events

void encode(const Event& event, std::vector<std::byte>& out) {
    capnp::MallocMessageBuilder message(kj::arrayPtr(scratch, scratch_words));
    write(message.initRoot<s::Event>(), event);
    to_bytes(message, out);
}

std::vector<std::byte> encode(const Event& event) {
    std::vector<std::byte> out;
    encode(event, out);
    return out;
}

Result<Event> decode_event(std::span<const std::byte> bytes) {
    return with_reader<s::Event>("market event", bytes,
                                 [](s::Event::Reader r) -> Event { return read(r); });
}

Status Books::apply_encoded(std::span<const std::byte> bytes) {
    Result<Event> event = decode_event(bytes);
    if (!event) return event.error();
    return apply(*event);
}

// ---------------------------------------------------------------------------------------------
// Snapshots

namespace detail {

struct SnapshotCodec {
    static void encode(const Books& books, std::vector<std::byte>& out) {
        capnp::MallocMessageBuilder message;
        auto root = message.initRoot<s::Snapshot>();
        root.setVersion(snapshot_version);
        root.setNextPayment(books.payments_.next_id());
        root.setCommissionTotal(books.commission_total_);
        root.setExecutions(books.executions_);

        auto products = root.initProducts(static_cast<unsigned>(books.products_.size()));
        unsigned i = 0;
        for (const auto& [id, book] : books.products_) {
            auto p = products[i++];
            p.setProduct(id);
            p.setDeposited(book.deposited);
            p.setSold(book.sold);
            p.setWithdrawn(book.withdrawn);
            auto lots = p.initLots(static_cast<unsigned>(book.lots.size()));
            for (unsigned j = 0; j < book.lots.size(); ++j) {
                const Lot& lot = book.lots[j];
                lots[j].setSeller(lot.seller);
                lots[j].setLot(lot.id);
                lots[j].setRemaining(lot.remaining);
                lots[j].setUnitPrice(lot.unit_price);
            }
        }

        // Hash-table contents go out sorted, so equal books give equal bytes.
        std::vector<const Deposited*> seen;
        seen.reserve(books.lots_seen_.size());
        for (const auto& [key, d] : books.lots_seen_) seen.push_back(&d);
        std::sort(seen.begin(), seen.end(), [](const Deposited* a, const Deposited* b) {
            return std::tie(a->seller, a->lot) < std::tie(b->seller, b->lot);
        });
        auto lots_seen = root.initLotsSeen(static_cast<unsigned>(seen.size()));
        for (unsigned j = 0; j < seen.size(); ++j) write(lots_seen[j], *seen[j]);

        auto sellers = root.initSellers(static_cast<unsigned>(books.sellers_.size()));
        i = 0;
        for (const auto& [id, l] : books.sellers_) {
            auto b = sellers[i++];
            b.setSeller(id);
            b.setSold(l.sold);
            b.setEarned(l.earned);
            b.setCommission(l.commission);
            b.setPending(l.pending);
            b.setPendingCount(l.pending_count);
        }

        auto buyers = root.initBuyers(static_cast<unsigned>(books.buyers_.size()));
        i = 0;
        for (const auto& [id, t] : books.buyers_) {
            auto b = buyers[i++];
            b.setBuyer(id);
            b.setFilled(t.filled);
            b.setRefused(t.refused);
            b.setQuantity(t.quantity);
            b.setSpent(t.spent);
        }

        auto payments = root.initPayments(static_cast<unsigned>(books.payments_.pending_count()));
        i = 0;
        books.payments_.for_each([&](const Payment& p) {
            auto b = payments[i++];
            b.setId(p.id);
            b.setSeller(p.seller);
            b.setLot(p.lot);
            b.setProduct(p.product);
            b.setQuantity(p.quantity);
            b.setAmount(p.amount);
        });

        // Sessions: a std::map, so in buyer order and equal books give equal bytes.
        auto sessions = root.initSessions(static_cast<unsigned>(books.sessions_.size()));
        i = 0;
        for (const auto& [buyer, session] : books.sessions_) {
            auto b = sessions[i++];
            b.setBuyer(buyer);
            auto answers = b.initAnswers(static_cast<unsigned>(session.answers.size()));
            for (unsigned j = 0; j < session.answers.size(); ++j)
                write(answers[j], session.answers[j]);
        }

        auto queued = root.initQueued(static_cast<unsigned>(books.queued_.size()));
        for (unsigned j = 0; j < books.queued_.size(); ++j) write(queued[j], books.queued_[j]);
        root.setNextBatch(books.next_batch_);

        const auto& members = books.membership_.members();
        auto listed = root.initMembers(static_cast<unsigned>(members.size()));
        i = 0;
        for (const auto& [id, member] : members) write(listed[i++], member);

        to_bytes(message, out);
    }

    // A version 1 snapshot lists every answer: they must add up to the buyer totals (exactly, so a
    // sum that left the range of its type is caught) before all but the sessions are dropped.
    static void check_every_answer(const Books& books, capnp::List<s::BuyResult>::Reader answers) {
        struct Sums {
            std::uint64_t filled = 0;
            std::uint64_t refused = 0;
            detail::Int128 quantity = 0;
            detail::Int128 spent = 0;
        };
        std::map<PeerId, Sums> sums;
        for (auto r : answers) {
            Sums& sum = sums[r.getBuyer()];
            if (r.getStatus() == s::BuyStatus::REFUSED) {
                ++sum.refused;
            } else {
                ++sum.filled;
                sum.quantity += r.getQuantity();
                sum.spent += r.getAmount();
            }
        }
        for (const auto& [buyer, t] : books.buyers_) sums.try_emplace(buyer);
        for (const auto& [buyer, sum] : sums) {
            const BuyerTotals t = books.buyer(buyer);
            if (sum.filled != t.filled || sum.refused != t.refused || sum.quantity != t.quantity ||
                sum.spent != t.spent)
                throw Bad{ErrorCode::inconsistent,
                          "breaks an invariant: buyer " + std::to_string(buyer) +
                              ": totals differ from the recorded results (spent " +
                              std::to_string(t.spent) + ", results add up to " +
                              detail::to_string(sum.spent) + "; " + std::to_string(t.quantity) +
                              " units, results " + detail::to_string(sum.quantity) + ")"};
        }
    }

    static Books decode(const Config& config, s::Snapshot::Reader root) {
        auto bad = [](ErrorCode code, std::string msg) { return Bad{code, std::move(msg)}; };
        const std::uint32_t version = root.getVersion();
        if (version != snapshot_version && version != snapshot_version_sessions &&
            version != snapshot_version_every_answer)
            throw bad(ErrorCode::invalid,
                      "unsupported version " + std::to_string(root.getVersion()));
        Books books(config);
        books.commission_total_ = root.getCommissionTotal();
        books.executions_ = root.getExecutions();

        for (auto p : root.getProducts()) {
            auto [it, fresh] = books.products_.try_emplace(p.getProduct());
            if (!fresh)
                throw bad(ErrorCode::invalid,
                          "product " + std::to_string(p.getProduct()) + " listed twice");
            ProductBook& book = it->second;
            book.deposited = p.getDeposited();
            book.sold = p.getSold();
            book.withdrawn = p.getWithdrawn();
            for (auto lot : p.getLots()) {
                book.lots.push_back(
                    Lot{lot.getSeller(), lot.getLot(), lot.getRemaining(), lot.getUnitPrice()});
                if (__builtin_add_overflow(book.in_stock, lot.getRemaining(), &book.in_stock))
                    throw bad(ErrorCode::invalid, "product " + std::to_string(p.getProduct()) +
                                                      ": units in its lots overflow");
            }
        }
        if (version >= 3) {
            if (root.getMembers().size() > max_members)
                throw bad(ErrorCode::invalid, std::to_string(root.getMembers().size()) +
                                                  " members (at most " +
                                                  std::to_string(max_members) + ")");
            std::vector<Member> members;
            members.reserve(root.getMembers().size());
            for (auto m : root.getMembers()) {
                members.push_back(read(m));
                if (members.size() > 1 && members[members.size() - 2].id >= members.back().id)
                    throw bad(ErrorCode::invalid, "member " + std::to_string(members.back().id) +
                                                      " listed twice or out of order");
            }
            books.membership_ = Membership(members);
        }
        for (auto d : root.getLotsSeen()) {
            const Deposited dep = read(d);
            if (!books.lots_seen_.try_emplace(PeerKey{dep.seller, dep.lot}, dep).second)
                throw bad(ErrorCode::invalid, "lot (" + std::to_string(dep.seller) + ", " +
                                                  std::to_string(dep.lot) + ") listed twice");
        }
        for (auto l : root.getSellers()) {
            SellerLedger ledger{l.getSold(), l.getEarned(), l.getCommission(), l.getPending(),
                                l.getPendingCount()};
            if (!books.sellers_.try_emplace(l.getSeller(), ledger).second)
                throw bad(ErrorCode::invalid,
                          "seller " + std::to_string(l.getSeller()) + " listed twice");
        }
        for (auto t : root.getBuyers()) {
            BuyerTotals totals{t.getFilled(), t.getRefused(), t.getQuantity(), t.getSpent()};
            if (!books.buyers_.try_emplace(t.getBuyer(), totals).second)
                throw bad(ErrorCode::invalid,
                          "buyer " + std::to_string(t.getBuyer()) + " listed twice");
            books.answered_ += totals.filled + totals.refused;  // may wrap: checked below
        }
        for (auto p : root.getPayments()) {
            if (!books.payments_.restore(Payment{p.getId(), p.getSeller(), p.getLot(),
                                                 p.getProduct(), p.getQuantity(), p.getAmount()}))
                throw bad(ErrorCode::invalid,
                          "payment " + std::to_string(p.getId()) + " out of order");
        }
        if (!books.payments_.set_next_id(root.getNextPayment()))
            throw bad(ErrorCode::invalid, "next payment id " +
                                              std::to_string(root.getNextPayment()) +
                                              " not above every pending payment");
        // Answers go into their buyers' sessions, checked for order; what no retry can ask for
        // any more is dropped below, once the queue is known.
        const auto add_answer = [&](s::BuyResult::Reader r) {
            BuyResult result = read(r);
            auto& answers = books.sessions_[result.buyer].answers;
            if (!answers.empty() && answers.back().request >= result.request)
                throw bad(ErrorCode::invalid, "answer to request (" + std::to_string(result.buyer) +
                                                  ", " + std::to_string(result.request) +
                                                  ") listed twice or out of order");
            answers.push_back(std::move(result));
        };
        if (version == snapshot_version_every_answer) {
            for (auto r : root.getResultsDeprecated()) add_answer(r);
            check_every_answer(books, root.getResultsDeprecated());
        } else {
            for (auto session : root.getSessions()) {
                if (books.sessions_.contains(session.getBuyer()))
                    throw bad(
                        ErrorCode::invalid,
                        "session of buyer " + std::to_string(session.getBuyer()) + " listed twice");
                if (session.getAnswers().size() == 0)
                    throw bad(ErrorCode::invalid, "session of buyer " +
                                                      std::to_string(session.getBuyer()) +
                                                      " without an answer");
                for (auto r : session.getAnswers()) {
                    if (r.getBuyer() != session.getBuyer())
                        throw bad(ErrorCode::invalid,
                                  "session of buyer " + std::to_string(session.getBuyer()) +
                                      " holds an answer to buyer " + std::to_string(r.getBuyer()));
                    add_answer(r);
                }
            }
        }
        for (auto q : root.getQueued()) {
            BuyQueued e = read(q);
            if (books.find_queued(PeerKey{e.buyer, e.request}) != books.queued_.end())
                throw bad(ErrorCode::invalid, "queued request (" + std::to_string(e.buyer) + ", " +
                                                  std::to_string(e.request) + ") listed twice");
            books.queued_.push_back(std::move(e));
        }
        // Batch numbers: above every queued one. 0 (absent) in snapshots older than the field.
        std::uint64_t next_batch = std::max<std::uint64_t>(root.getNextBatch(), 1);
        for (const BuyQueued& q : books.queued_) {
            if (root.getNextBatch() != 0 && q.batch >= root.getNextBatch())
                throw bad(ErrorCode::invalid,
                          "queued request (" + std::to_string(q.buyer) + ", " +
                              std::to_string(q.request) + ") in batch " + std::to_string(q.batch) +
                              ", not below the next batch " + std::to_string(root.getNextBatch()));
            next_batch = std::max(next_batch, q.batch + 1);
        }
        books.next_batch_ = next_batch;
        for (const auto& [buyer, session] : books.sessions_) books.prune_session(buyer);
        // Recovered batches have no deadline until their trader resumes the books.
        books.unscheduled_ = !books.queued_.empty();

        if (auto violations = books.check_invariants(); !violations.empty()) {
            std::string msg = "breaks an invariant: " + violations.front();
            if (violations.size() > 1)
                msg += " (and " + std::to_string(violations.size() - 1) + " more)";
            throw bad(ErrorCode::inconsistent, std::move(msg));
        }
        return books;
    }
};

}  // namespace detail

void Books::snapshot(std::vector<std::byte>& out) const {
    detail::SnapshotCodec::encode(*this, out);
}

std::vector<std::byte> Books::snapshot() const {
    std::vector<std::byte> out;
    snapshot(out);
    return out;
}

Result<Books> Books::restore(const Config& config, std::span<const std::byte> bytes) {
    return with_reader<s::Snapshot>("market snapshot", bytes, [&](s::Snapshot::Reader r) {
        return detail::SnapshotCodec::decode(config, r);
    });
}

}  // namespace tp::market
