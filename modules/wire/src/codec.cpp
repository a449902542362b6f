#include "tp/wire/codec.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <new>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

#include <capnp/any.h>

#include "packed_clock.hpp"
#include "schema.hpp"

namespace tp::wire {

namespace s = tp::wire::schema;

namespace {

constexpr std::size_t word_bytes = sizeof(capnp::word);
constexpr std::size_t max_datagram_words = (max_datagram_size + word_bytes - 1) / word_bytes;

template <typename T>
constexpr std::size_t struct_words() {
    return T::_capnpPrivate::dataWordSize + T::_capnpPrivate::pointerCount;
}

template <typename T>
constexpr T byteswap(T v) {
    T r = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i)
        r = static_cast<T>((r << 8) | ((v >> (8 * i)) & 0xFF));
    return r;
}

// A struct list is a tag word plus its elements; we leave empty lists as null pointers (0 words).
template <typename T>
constexpr std::size_t struct_list_words(std::size_t n) {
    return n == 0 ? 0 : 1 + n * struct_words<T>();
}

// List elements as this schema lays them out (see envelope.capnp; the round-trip tests pin it):
// Fill: seller at 0, quantity at 4, lotId at 8, amount at 16. Encoding writes them directly;
// decoding reads them directly when the list has exactly this layout (a newer schema's wider
// elements take the generated accessors).
constexpr std::size_t fill_bytes = struct_words<s::Fill>() * word_bytes;
static_assert(s::Fill::_capnpPrivate::pointerCount == 0 && fill_bytes == 24);

// The first element's data when every element of a struct list has exactly T's layout (data
// words, no pointers): the list pointer was bounds-checked when read, and a composite list's tag
// gives all elements one size. Null otherwise, or when the list is empty.
template <typename T, typename List>
const kj::byte* exact_layout(List list) {
    if (list.size() == 0) return nullptr;
    const capnp::AnyStruct::Reader first(list[0]);
    const auto data = first.getDataSection();
    if (data.size() != T::_capnpPrivate::dataWordSize * word_bytes) return nullptr;
    if (first.getPointerSection().size() != 0) return nullptr;
    return data.begin();
}

template <typename T>
T load_le(const kj::byte* p) {
    T v;
    std::memcpy(&v, p, sizeof v);
    if constexpr (std::endian::native == std::endian::big) v = byteswap(v);
    return v;
}

template <typename T>
void store_le(kj::byte* p, T v) {
    if constexpr (std::endian::native == std::endian::big) v = byteswap(v);
    std::memcpy(p, &v, sizeof v);
}

// A Data field of n bytes: whole words; an empty one is left a null pointer (0 words).
constexpr std::size_t data_words(std::size_t n) {
    return (n + word_bytes - 1) / word_bytes;
}

using tp::replication::EntryKind;
using tp::replication::Refusal;
constexpr EntryKind last_entry_kind = EntryKind::config;
using tp::replication::last_refusal;

struct BodyWords {
    std::size_t operator()(const Deposit&) const { return struct_words<s::Deposit>(); }
    std::size_t operator()(const DepositAck&) const { return struct_words<s::DepositAck>(); }
    std::size_t operator()(const Buy&) const { return struct_words<s::Buy>(); }
    std::size_t operator()(const BuyResult& m) const {
        return struct_words<s::BuyResult>() + struct_list_words<s::Fill>(m.fills.size());
    }
    std::size_t operator()(const Payment&) const { return struct_words<s::Payment>(); }
    std::size_t operator()(const PaymentAck&) const { return struct_words<s::PaymentAck>(); }
    std::size_t operator()(const Payments& m) const {
        return struct_words<s::Payments>() + struct_list_words<s::Payment>(m.items.size());
    }
    std::size_t operator()(const PaymentAcks& m) const {
        // A list of UInt64 is its elements, no tag word.
        return struct_words<s::PaymentAcks>() + m.payment_ids.size();
    }
    std::size_t operator()(const Election&) const { return struct_words<s::Election>(); }
    std::size_t operator()(const Ok&) const { return struct_words<s::Ok>(); }
    std::size_t operator()(const Coordinator&) const { return struct_words<s::Coordinator>(); }
    std::size_t operator()(const Heartbeat&) const { return struct_words<s::Heartbeat>(); }
    std::size_t operator()(const Append& m) const {
        std::size_t words =
            struct_words<s::Append>() + struct_list_words<s::Entry>(m.entries.size());
        for (const auto& entry : m.entries) words += data_words(entry.payload.size());
        return words;
    }
    std::size_t operator()(const AppendAck&) const { return struct_words<s::AppendAck>(); }
    std::size_t operator()(const StartView&) const { return struct_words<s::StartView>(); }
    std::size_t operator()(const Recover&) const { return struct_words<s::Recover>(); }
    std::size_t operator()(const LogState&) const { return struct_words<s::LogState>(); }
    std::size_t operator()(const Fetch&) const { return struct_words<s::Fetch>(); }
    std::size_t operator()(const SnapshotChunk& m) const {
        return struct_words<s::SnapshotChunk>() + data_words(m.bytes.size());
    }
    std::size_t operator()(const SnapshotAck&) const { return struct_words<s::SnapshotAck>(); }
    // Membership: a text takes its bytes and a NUL; an empty one is not written.
    static std::size_t text_words(const std::string& text) {
        return text.empty() ? 0 : data_words(text.size() + 1);
    }
    std::size_t operator()(const Join& m) const {
        return struct_words<s::Join>() + text_words(m.host);
    }
    std::size_t operator()(const JoinAnswer& m) const {
        return struct_words<s::JoinAnswer>() + members_words(m.members);
    }
    std::size_t operator()(const Leave& m) const {
        return struct_words<s::Leave>() + text_words(m.host);
    }
    std::size_t operator()(const LeaveAnswer& m) const {
        return struct_words<s::LeaveAnswer>() + members_words(m.members);
    }
    std::size_t operator()(const Members& m) const {
        return struct_words<s::Members>() + members_words(m.members);
    }
    static std::size_t members_words(const std::vector<MemberInfo>& members) {
        std::size_t words = struct_list_words<s::MemberInfo>(members.size());
        for (const auto& member : members) words += text_words(member.host);
        return words;
    }
};

// Words of the single segment: root pointer, envelope, clock (`clock_bytes` packed), body.
std::size_t segment_words(const Envelope& e, std::size_t clock_bytes) {
    if (e.body.valueless_by_exception())
        throw std::invalid_argument("wire: envelope body is empty");
    return 1 + struct_words<s::Envelope>() + data_words(clock_bytes) +
           std::visit(BodyWords{}, e.body);
}

// Writes into memory the caller zeroed and sized exactly; never falls back to the heap.
class SpanMessageBuilder final : public capnp::MessageBuilder {
public:
    explicit SpanMessageBuilder(kj::ArrayPtr<capnp::word> segment) : segment_(segment) {}

    kj::ArrayPtr<capnp::word> allocateSegment(unsigned minimum_size) override {
        if (allocated_ || minimum_size > segment_.size()) {
            throw std::logic_error("wire: encoded_size underestimated the message");
        }
        allocated_ = true;
        return segment_;
    }

private:
    kj::ArrayPtr<capnp::word> segment_;
    bool allocated_ = false;
};

void check_reason(RefusalReason reason, const char* field) {
    if (reason > last_refusal_reason) {
        throw std::invalid_argument(std::string("wire: encode ") + field + ": " +
                                    std::to_string(static_cast<unsigned>(reason)) +
                                    " is not a RefusalReason");
    }
}

s::RefusalReason to_schema(RefusalReason reason) {
    return static_cast<s::RefusalReason>(static_cast<std::uint16_t>(reason));
}

// The enumerants are declared in the same order on both sides (see envelope.capnp).
s::ReplicationRefusal to_schema(Refusal refusal) {
    return static_cast<s::ReplicationRefusal>(static_cast<std::uint16_t>(refusal));
}

s::EntryKind to_schema(EntryKind kind) {
    return static_cast<s::EntryKind>(static_cast<std::uint16_t>(kind));
}

s::MembershipRefusal to_schema(MembershipRefusal reason) {
    return static_cast<s::MembershipRefusal>(static_cast<std::uint16_t>(reason));
}

void check_membership(MembershipRefusal reason, const char* field) {
    if (reason > last_membership_refusal) {
        throw std::invalid_argument(std::string("wire: encode ") + field + ": " +
                                    std::to_string(static_cast<unsigned>(reason)) +
                                    " is not a MembershipRefusal");
    }
}

void check_host(const std::string& host, const char* field) {
    if (host.size() > max_host_bytes) {
        throw std::invalid_argument(std::string("wire: encode ") + field + ": " +
                                    std::to_string(host.size()) + " bytes, limit " +
                                    std::to_string(max_host_bytes));
    }
}

kj::StringPtr as_text(const std::string& text) {
    return {text.c_str(), text.size()};
}

// Into a JoinAnswer's or a Members' list.
template <class Builder>
void write_members(Builder owner, const std::vector<MemberInfo>& members, const char* field) {
    if (members.size() > max_members_listed) {
        throw std::invalid_argument(std::string("wire: encode ") + field + ": " +
                                    std::to_string(members.size()) + " members, limit " +
                                    std::to_string(max_members_listed));
    }
    if (members.empty()) return;  // a null pointer, as struct_list_words counts it
    auto list = owner.initMembers(static_cast<unsigned>(members.size()));
    for (unsigned i = 0; i < members.size(); ++i) {
        const MemberInfo& m = members[i];
        check_host(m.host, field);
        auto b = list[i];
        b.setId(m.id);
        b.setBuys(m.buys);
        b.setSells(m.sells);
        b.setVoter(m.voter);
        if (!m.host.empty()) b.setHost(as_text(m.host));
        b.setPort(m.port);
    }
}

capnp::Data::Reader as_data(const std::vector<std::byte>& bytes) {
    return {reinterpret_cast<const kj::byte*>(bytes.data()), bytes.size()};
}

struct BodyWriter {
    mutable s::Envelope::Body::Builder body;

    void operator()(const Deposit& m) const {
        auto b = body.initDeposit();
        b.setLotId(m.lot_id);
        b.setProduct(m.product);
        b.setQuantity(m.quantity);
        b.setUnitPrice(m.unit_price);
    }
    void operator()(const DepositAck& m) const {
        check_reason(m.reason, "depositAck.reason");
        auto b = body.initDepositAck();
        b.setLotId(m.lot_id);
        b.setAccepted(m.accepted);
        b.setReason(to_schema(m.reason));
    }
    void operator()(const Buy& m) const {
        auto b = body.initBuy();
        b.setRequestId(m.request_id);
        b.setProduct(m.product);
        b.setQuantity(m.quantity);
        b.setAllowPartial(m.allow_partial);
    }
    void operator()(const BuyResult& m) const {
        check_reason(m.reason, "buyResult.reason");
        if (m.fills.size() > max_fills) {
            throw std::invalid_argument(
                "wire: encode buyResult.fills: " + std::to_string(m.fills.size()) +
                " fills, limit " + std::to_string(max_fills));
        }
        auto b = body.initBuyResult();
        b.setRequestId(m.request_id);
        b.setFilled(m.filled);
        b.setReason(to_schema(m.reason));
        b.setQuantity(m.quantity);
        b.setAmount(m.amount);
        if (!m.fills.empty()) {
            // We allocated this list, so its layout is known: write the elements directly.
            auto fills = b.initFills(static_cast<unsigned>(m.fills.size()));
            auto* base = capnp::AnyStruct::Builder(fills[0]).getDataSection().begin();
            for (std::size_t i = 0; i < m.fills.size(); ++i) {
                const Fill& f = m.fills[i];
                kj::byte* p = base + fill_bytes * i;
                store_le(p, f.seller);
                store_le(p + 4, f.quantity);
                store_le(p + 8, f.lot_id);
                store_le(p + 16, f.amount);
            }
        }
    }
    void operator()(const Payment& m) const {
        auto b = body.initPayment();
        b.setPaymentId(m.payment_id);
        b.setLotId(m.lot_id);
        b.setQuantity(m.quantity);
        b.setAmount(m.amount);
    }
    void operator()(const PaymentAck& m) const { body.initPaymentAck().setPaymentId(m.payment_id); }
    void operator()(const Payments& m) const {
        check_count(m.items.size(), "payments.items");
        auto b = body.initPayments();
        if (m.items.empty()) return;  // a null pointer, as struct_list_words counts it
        auto items = b.initItems(static_cast<unsigned>(m.items.size()));
        for (unsigned i = 0; i < m.items.size(); ++i) {
            const Payment& p = m.items[i];
            auto item = items[i];
            item.setPaymentId(p.payment_id);
            item.setLotId(p.lot_id);
            item.setQuantity(p.quantity);
            item.setAmount(p.amount);
        }
    }
    void operator()(const PaymentAcks& m) const {
        check_count(m.payment_ids.size(), "paymentAcks.paymentIds");
        auto b = body.initPaymentAcks();
        if (m.payment_ids.empty()) return;
        auto ids = b.initPaymentIds(static_cast<unsigned>(m.payment_ids.size()));
        for (unsigned i = 0; i < m.payment_ids.size(); ++i) ids.set(i, m.payment_ids[i]);
    }
    static void check_count(std::size_t n, const char* field) {
        if (n > max_payments_per_message) {
            throw std::invalid_argument(std::string("wire: encode ") + field + ": " +
                                        std::to_string(n) + " elements, limit " +
                                        std::to_string(max_payments_per_message));
        }
    }
    // An election message's epoch (and a Heartbeat's leader) travel in the envelope.
    void operator()(const Election&) const { body.initElection(); }
    void operator()(const Ok&) const { body.initOk(); }
    void operator()(const Coordinator& m) const {
        auto b = body.initCoordinator();
        b.setLeader(m.leader);
        b.setEpoch(m.epoch);
    }
    void operator()(const Heartbeat&) const { body.initHeartbeat(); }
    // A replication message's epoch travels in the envelope (BodyCheck has held it to the rules).
    void operator()(const Append& m) const {
        auto b = body.initAppend();
        b.setPrev(m.prev);
        b.setPrevEpoch(m.prev_epoch);
        b.setCommit(m.commit);
        if (m.entries.empty()) return;
        auto entries = b.initEntries(static_cast<unsigned>(m.entries.size()));
        for (unsigned i = 0; i < m.entries.size(); ++i) {
            const auto& in = m.entries[i];
            auto e = entries[i];
            e.setEpoch(in.epoch);
            e.setKind(to_schema(in.kind));
            e.setCrc(in.crc);
            if (!in.payload.empty()) e.setPayload(as_data(in.payload));
        }
    }
    void operator()(const AppendAck& m) const {
        auto b = body.initAppendAck();
        b.setOk(m.ok);
        b.setReason(to_schema(m.reason));
        b.setMatch(m.match);
        b.setLast(m.last);
    }
    void operator()(const StartView&) const { body.initStartView(); }
    void operator()(const Recover& m) const { body.initRecover().setQuery(m.query); }
    void operator()(const LogState& m) const {
        auto b = body.initLogState();
        b.setQuery(m.query);
        b.setLast(m.last);
        b.setLastEpoch(m.last_epoch);
        b.setCommit(m.commit);
        b.setSnapshot(m.snapshot);
        b.setSeeded(m.seeded);
    }
    void operator()(const Fetch& m) const {
        auto b = body.initFetch();
        b.setFrom(m.from);
        b.setTo(m.to);
    }
    void operator()(const SnapshotChunk& m) const {
        auto b = body.initSnapshotChunk();
        b.setCovered(m.covered);
        b.setCoveredEpoch(m.covered_epoch);
        b.setOffset(m.offset);
        b.setTotal(m.total);
        if (!m.bytes.empty()) b.setBytes(as_data(m.bytes));
        b.setCrc(m.crc);
    }
    void operator()(const SnapshotAck& m) const {
        auto b = body.initSnapshotAck();
        b.setCovered(m.covered);
        b.setReceived(m.received);
        b.setReason(to_schema(m.reason));
    }
    void operator()(const Join& m) const {
        check_host(m.host, "join.host");
        auto b = body.initJoin();
        b.setBuys(m.buys);
        b.setSells(m.sells);
        if (!m.host.empty()) b.setHost(as_text(m.host));
        b.setPort(m.port);
    }
    void operator()(const JoinAnswer& m) const {
        check_membership(m.reason, "joinAnswer.reason");
        auto b = body.initJoinAnswer();
        b.setReason(to_schema(m.reason));
        b.setTrader(m.trader);
        b.setVersion(m.version);
        write_members(b, m.members, "joinAnswer.members");
    }
    void operator()(const Leave& m) const {
        check_host(m.host, "leave.host");
        auto b = body.initLeave();
        b.setWithdrawLots(m.withdraw_lots);
        if (!m.host.empty()) b.setHost(as_text(m.host));
        b.setPort(m.port);
    }
    void operator()(const LeaveAnswer& m) const {
        check_membership(m.reason, "leaveAnswer.reason");
        auto b = body.initLeaveAnswer();
        b.setReason(to_schema(m.reason));
        b.setTrader(m.trader);
        write_members(b, m.members, "leaveAnswer.members");
    }
    void operator()(const Members& m) const {
        auto b = body.initMembers();
        b.setVersion(m.version);
        write_members(b, m.members, "members.members");
    }
};

std::invalid_argument encode_error(const std::string& field, const std::string& what) {
    return std::invalid_argument("wire: encode " + field + ": " + what);
}

// An election or replication message's epoch travels once, in the envelope, and a Heartbeat's
// leader is its sender: refuse what the wire would silently drop. Replication's bounds are the
// decoder's: never emit what a peer would refuse.
struct BodyCheck {
    const Envelope& e;

    void epoch(const char* kind, Epoch epoch) const {
        if (epoch != e.epoch) {
            throw std::invalid_argument(std::string("wire: encode ") + kind +
                                        ".epoch: " + std::to_string(epoch) +
                                        " differs from the envelope's " + std::to_string(e.epoch));
        }
    }
    static void refusal(Refusal r, const char* field) {
        if (r > last_refusal) {
            throw encode_error(
                field, std::to_string(static_cast<unsigned>(r)) + " is not a replication Refusal");
        }
    }
    void operator()(const Election& m) const { epoch("election", m.epoch); }
    void operator()(const Ok& m) const { epoch("ok", m.epoch); }
    void operator()(const Coordinator& m) const { epoch("coordinator", m.epoch); }
    void operator()(const Heartbeat& m) const {
        epoch("heartbeat", m.epoch);
        if (m.leader != e.sender) {
            throw std::invalid_argument(
                "wire: encode heartbeat.leader: " + std::to_string(m.leader) +
                " is not the sender " + std::to_string(e.sender));
        }
    }
    void operator()(const Append& m) const {
        epoch("append", m.epoch);
        if (m.entries.size() > max_entries) {
            throw encode_error("append.entries", std::to_string(m.entries.size()) +
                                                     " entries, limit " +
                                                     std::to_string(max_entries));
        }
        // The field's name is built only to throw: encode allocates nothing otherwise.
        const auto at = [](std::size_t i, const char* field) {
            return "append.entries[" + std::to_string(i) + "]." + field;
        };
        for (std::size_t i = 0; i < m.entries.size(); ++i) {
            const auto& entry = m.entries[i];
            if (entry.kind > last_entry_kind) {
                throw encode_error(
                    at(i, "kind"),
                    std::to_string(static_cast<unsigned>(entry.kind)) + " is not an EntryKind");
            }
            if (entry.payload.size() > max_payload_bytes) {
                throw encode_error(at(i, "payload"), std::to_string(entry.payload.size()) +
                                                         " bytes, limit " +
                                                         std::to_string(max_payload_bytes));
            }
        }
    }
    void operator()(const AppendAck& m) const {
        epoch("appendAck", m.epoch);
        refusal(m.reason, "appendAck.reason");
    }
    void operator()(const StartView& m) const { epoch("startView", m.epoch); }
    void operator()(const LogState& m) const { epoch("logState", m.epoch); }
    void operator()(const Fetch& m) const { epoch("fetch", m.epoch); }
    void operator()(const SnapshotChunk& m) const {
        epoch("snapshotChunk", m.epoch);
        if (m.bytes.size() > max_chunk_bytes) {
            throw encode_error("snapshotChunk.bytes", std::to_string(m.bytes.size()) +
                                                          " bytes, limit " +
                                                          std::to_string(max_chunk_bytes));
        }
        if (m.total > max_snapshot_bytes) {
            throw encode_error("snapshotChunk.total", std::to_string(m.total) + " bytes, limit " +
                                                          std::to_string(max_snapshot_bytes));
        }
        if (m.offset > m.total || m.bytes.size() > m.total - m.offset) {
            throw encode_error("snapshotChunk", std::to_string(m.bytes.size()) +
                                                    " bytes at offset " + std::to_string(m.offset) +
                                                    " exceed the total " + std::to_string(m.total));
        }
    }
    void operator()(const SnapshotAck& m) const {
        epoch("snapshotAck", m.epoch);
        refusal(m.reason, "snapshotAck.reason");
    }
    // Trading kinds (their limits are checked as they are written) and Recover, which has no
    // epoch: the envelope's is whatever the asker holds.
    void operator()(const auto&) const {}
};

void put_le32(std::byte* out, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out[i] = static_cast<std::byte>(v >> (8 * i));
}

std::uint32_t get_le32(const std::byte* in) {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= std::to_integer<std::uint32_t>(in[i]) << (8 * i);
    return v;
}

// Aligned per-thread scratch for callers whose buffers are not word-aligned (one datagram).
capnp::word* scratch_words() {
    alignas(capnp::word) static thread_local std::array<capnp::word, max_datagram_words + 1> buf;
    return buf.data();
}

bool word_aligned(const void* p) {
    return reinterpret_cast<std::uintptr_t>(p) % alignof(capnp::word) == 0;
}

DecodeError error(DecodeErrc code, std::string detail) {
    return {code, std::move(detail)};
}

std::string num(std::uint64_t v) {
    return std::to_string(v);
}

// Converts a Cap'n Proto reader into our structs, checking every limit. `where` names the field
// being read so that a kj::Exception thrown by the reader can be reported against it.
bool is_replication(s::Envelope::Body::Which kind) {
    switch (kind) {
        case s::Envelope::Body::APPEND:
        case s::Envelope::Body::APPEND_ACK:
        case s::Envelope::Body::START_VIEW:
        case s::Envelope::Body::RECOVER:
        case s::Envelope::Body::LOG_STATE:
        case s::Envelope::Body::FETCH:
        case s::Envelope::Body::SNAPSHOT_CHUNK:
        case s::Envelope::Body::SNAPSHOT_ACK:
        // A membership list may fill a datagram too.
        case s::Envelope::Body::JOIN_ANSWER:
        case s::Envelope::Body::MEMBERS: return true;
        default: return false;
    }
}

DecodeError too_large(std::size_t size, std::size_t limit) {
    return error(DecodeErrc::too_large, "datagram: " + num(size) + " bytes, limit " + num(limit));
}

class Reader {
public:
    Reader(const DecodeLimits& limits, std::size_t size) : limits_(limits), size_(size) {}

    const char* where = "root";

    // Returns the error, or nothing and fills `out`.
    std::optional<DecodeError> read(s::Envelope::Reader root, Envelope& out) {
        // The budget depends on the kind: only replication messages may fill a datagram.
        where = "body";
        const std::size_t budget =
            std::min(is_replication(root.getBody().which()) ? limits_.max_replication_bytes
                                                            : limits_.max_bytes,
                     max_datagram_size);
        if (size_ > budget) return too_large(size_, budget);

        where = "version";
        const std::uint16_t version = root.getVersion();
        if (version != protocol_version && version != 1) {
            return error(DecodeErrc::wrong_version, "version: " + num(version) +
                                                        ", this build reads 1 and " +
                                                        num(protocol_version));
        }
        out.sender = root.getSender();
        out.receiver = root.getReceiver();
        out.epoch = root.getEpoch();

        where = "clock";
        if (auto e = version == 1 ? read_clock_list(root, out) : read_packed_clock(root, out)) {
            return e;
        }

        where = "body";
        return read_body(root.getBody(), out);
    }

private:
    const DecodeLimits& limits_;
    const std::size_t size_;

    std::size_t clock_limit() const {
        return std::min(limits_.max_clock_entries, max_clock_entries);
    }

    // Version 2: the packed clock (envelope.capnp, `clock`).
    std::optional<DecodeError> read_packed_clock(s::Envelope::Reader root, Envelope& out) {
        if (root.hasClockListDeprecated()) {
            return error(DecodeErrc::bad_clock,
                         "clockListDeprecated: version 1's clock list in a version-2 envelope");
        }
        const auto bytes = root.getClock();
        const std::size_t limit = clock_limit();
        // More bytes than the limit's entries could take at their longest: refused unread.
        if (bytes.size() > packed::max_entry_bytes * limit) {
            return error(DecodeErrc::list_too_long, "clock: " + num(bytes.size()) +
                                                        " bytes, more than " + num(limit) +
                                                        " entries take");
        }
        // Validate into a small buffer (an entry takes two bytes at least), then build the clock
        // in one step.
        std::array<tp::clock::Entry, 32> small;
        std::vector<tp::clock::Entry> large;
        const std::size_t room = std::min(bytes.size() / 2, limit);
        if (room > small.size()) large.resize(room);
        tp::clock::Entry* const slots = room > small.size() ? large.data() : small.data();
        const auto unpacked = packed::read(std::as_bytes(std::span(bytes.begin(), bytes.size())),
                                           limit, max_clock_counter, slots);
        if (unpacked.fault) {
            return error(unpacked.fault->kind == packed::Fault::Kind::too_many
                             ? DecodeErrc::list_too_long
                             : DecodeErrc::bad_clock,
                         unpacked.fault->detail);
        }
        out.clock = tp::clock::VectorClock::from_entries(std::span(slots, unpacked.count));
        return std::nullopt;
    }

    // Version 1 (older builds): a list of (peer, counter) structs, sorted and unique.
    std::optional<DecodeError> read_clock_list(s::Envelope::Reader root, Envelope& out) {
        if (root.hasClock()) {
            return error(DecodeErrc::bad_clock, "clock: a packed clock in a version-1 envelope");
        }
        const auto clock = root.getClockListDeprecated();
        const std::size_t limit = clock_limit();
        if (clock.size() > limit) {
            return error(DecodeErrc::list_too_long,
                         "clock: " + num(clock.size()) + " entries, limit " + num(limit));
        }
        const unsigned n = clock.size();
        std::array<tp::clock::Entry, 32> small;
        std::vector<tp::clock::Entry> large;
        if (n > small.size()) large.resize(n);
        const std::span<tp::clock::Entry> entries(n > small.size() ? large.data() : small.data(),
                                                  n);
        for (unsigned i = 0; i < n; ++i) {
            const auto entry = clock[i];
            entries[i] = {entry.getPeer(), entry.getCounter()};
            const auto [peer, counter] = entries[i];
            if (counter == 0) {
                return error(DecodeErrc::bad_clock,
                             "clock[" + num(i) + "]: peer " + num(peer) + " has counter 0");
            }
            if (counter > max_clock_counter) {
                return error(DecodeErrc::bad_clock, "clock[" + num(i) + "]: peer " + num(peer) +
                                                        " has counter " + num(counter) +
                                                        ", limit " + num(max_clock_counter));
            }
            if (i > 0 && peer <= entries[i - 1].peer) {
                return error(DecodeErrc::bad_clock,
                             "clock[" + num(i) + "]: peer " + num(peer) + " after peer " +
                                 num(entries[i - 1].peer) +
                                 " (entries must be sorted by peer and unique)");
            }
        }
        out.clock = tp::clock::VectorClock::from_entries(entries);
        return std::nullopt;
    }

    std::optional<DecodeError> reason(s::RefusalReason in, RefusalReason& out, const char* field) {
        const auto raw = static_cast<std::uint16_t>(in);
        if (raw > static_cast<std::uint16_t>(last_refusal_reason)) {
            return error(DecodeErrc::invalid_value,
                         std::string(field) + ": " + num(raw) + " is not a RefusalReason");
        }
        out = static_cast<RefusalReason>(raw);
        return std::nullopt;
    }

    static std::optional<DecodeError> refusal(s::ReplicationRefusal in, Refusal& out,
                                              const char* field) {
        const auto raw = static_cast<std::uint16_t>(in);
        if (raw > static_cast<std::uint16_t>(last_refusal)) {
            return error(DecodeErrc::invalid_value,
                         std::string(field) + ": " + num(raw) + " is not a replication Refusal");
        }
        out = static_cast<Refusal>(raw);
        return std::nullopt;
    }

    static void copy(capnp::Data::Reader in, std::vector<std::byte>& out) {
        out.resize(in.size());
        if (in.size() != 0) std::memcpy(out.data(), in.begin(), in.size());
    }

    std::optional<DecodeError> read_body(s::Envelope::Body::Reader body, Envelope& envelope) {
        Body& out = envelope.body;
        switch (body.which()) {
            case s::Envelope::Body::DEPOSIT: {
                where = "body.deposit";
                auto r = body.getDeposit();
                out.emplace<Deposit>(
                    Deposit{r.getLotId(), r.getProduct(), r.getQuantity(), r.getUnitPrice()});
                return std::nullopt;
            }
            case s::Envelope::Body::DEPOSIT_ACK: {
                where = "body.depositAck";
                auto r = body.getDepositAck();
                DepositAck m{r.getLotId(), r.getAccepted(), RefusalReason::none};
                if (auto e = reason(r.getReason(), m.reason, "body.depositAck.reason")) return e;
                out.emplace<DepositAck>(m);
                return std::nullopt;
            }
            case s::Envelope::Body::BUY: {
                where = "body.buy";
                auto r = body.getBuy();
                out.emplace<Buy>(
                    Buy{r.getRequestId(), r.getProduct(), r.getQuantity(), r.getAllowPartial()});
                return std::nullopt;
            }
            case s::Envelope::Body::BUY_RESULT: return read_buy_result(body.getBuyResult(), out);
            case s::Envelope::Body::PAYMENT: {
                where = "body.payment";
                auto r = body.getPayment();
                out.emplace<Payment>(
                    Payment{r.getPaymentId(), r.getLotId(), r.getQuantity(), r.getAmount()});
                return std::nullopt;
            }
            case s::Envelope::Body::PAYMENT_ACK:
                where = "body.paymentAck";
                out.emplace<PaymentAck>(PaymentAck{body.getPaymentAck().getPaymentId()});
                return std::nullopt;
            case s::Envelope::Body::ELECTION:
                where = "body.election";
                body.getElection();  // still validates the pointer
                out.emplace<Election>(Election{envelope.epoch});
                return std::nullopt;
            case s::Envelope::Body::OK:
                where = "body.ok";
                body.getOk();
                out.emplace<Ok>(Ok{envelope.epoch});
                return std::nullopt;
            case s::Envelope::Body::COORDINATOR: {
                where = "body.coordinator";
                auto r = body.getCoordinator();
                // One epoch per message: the field must say what the envelope says.
                if (r.getEpoch() != envelope.epoch) {
                    return error(DecodeErrc::invalid_value,
                                 "body.coordinator.epoch: " + num(r.getEpoch()) +
                                     " differs from the envelope's epoch " + num(envelope.epoch));
                }
                out.emplace<Coordinator>(Coordinator{r.getLeader(), r.getEpoch()});
                return std::nullopt;
            }
            case s::Envelope::Body::HEARTBEAT:
                where = "body.heartbeat";
                body.getHeartbeat();
                out.emplace<Heartbeat>(Heartbeat{envelope.sender, envelope.epoch});
                return std::nullopt;
            // Replication: every message but Recover takes the envelope's epoch as its own.
            case s::Envelope::Body::APPEND: return read_append(body.getAppend(), envelope);
            case s::Envelope::Body::APPEND_ACK: {
                where = "body.appendAck";
                auto r = body.getAppendAck();
                AppendAck m{envelope.epoch, r.getOk(), Refusal::none, r.getMatch(), r.getLast()};
                if (auto e = refusal(r.getReason(), m.reason, "body.appendAck.reason")) return e;
                out.emplace<AppendAck>(m);
                return std::nullopt;
            }
            case s::Envelope::Body::START_VIEW:
                where = "body.startView";
                body.getStartView();
                out.emplace<StartView>(StartView{envelope.epoch});
                return std::nullopt;
            case s::Envelope::Body::RECOVER:
                where = "body.recover";
                out.emplace<Recover>(Recover{body.getRecover().getQuery()});
                return std::nullopt;
            case s::Envelope::Body::LOG_STATE: {
                where = "body.logState";
                auto r = body.getLogState();
                out.emplace<LogState>(LogState{envelope.epoch, r.getQuery(), r.getLast(),
                                               r.getLastEpoch(), r.getCommit(), r.getSnapshot(),
                                               r.getSeeded()});
                return std::nullopt;
            }
            case s::Envelope::Body::FETCH: {
                where = "body.fetch";
                auto r = body.getFetch();
                out.emplace<Fetch>(Fetch{envelope.epoch, r.getFrom(), r.getTo()});
                return std::nullopt;
            }
            case s::Envelope::Body::SNAPSHOT_CHUNK:
                return read_snapshot_chunk(body.getSnapshotChunk(), envelope);
            case s::Envelope::Body::SNAPSHOT_ACK: {
                where = "body.snapshotAck";
                auto r = body.getSnapshotAck();
                SnapshotAck m{envelope.epoch, r.getCovered(), r.getReceived(), Refusal::none};
                if (auto e = refusal(r.getReason(), m.reason, "body.snapshotAck.reason")) return e;
                out.emplace<SnapshotAck>(m);
                return std::nullopt;
            }
            case s::Envelope::Body::JOIN: {
                where = "body.join";
                auto r = body.getJoin();
                Join m{r.getBuys(), r.getSells(), {}, r.getPort()};
                if (auto e = host(r.getHost(), m.host, "body.join.host")) return e;
                out.emplace<Join>(std::move(m));
                return std::nullopt;
            }
            case s::Envelope::Body::JOIN_ANSWER: {
                where = "body.joinAnswer";
                auto r = body.getJoinAnswer();
                JoinAnswer m;
                if (auto e = membership_reason(r.getReason(), m.reason, "body.joinAnswer.reason"))
                    return e;
                m.trader = r.getTrader();
                m.version = r.getVersion();
                if (auto e = members(r.getMembers(), m.members, "body.joinAnswer.members"))
                    return e;
                out.emplace<JoinAnswer>(std::move(m));
                return std::nullopt;
            }
            case s::Envelope::Body::LEAVE: {
                where = "body.leave";
                auto r = body.getLeave();
                Leave m{r.getWithdrawLots(), {}, r.getPort()};
                if (auto e = host(r.getHost(), m.host, "body.leave.host")) return e;
                out.emplace<Leave>(std::move(m));
                return std::nullopt;
            }
            case s::Envelope::Body::LEAVE_ANSWER: {
                where = "body.leaveAnswer";
                auto r = body.getLeaveAnswer();
                LeaveAnswer m;
                if (auto e = membership_reason(r.getReason(), m.reason, "body.leaveAnswer.reason"))
                    return e;
                m.trader = r.getTrader();
                if (auto e = members(r.getMembers(), m.members, "body.leaveAnswer.members"))
                    return e;
                out.emplace<LeaveAnswer>(std::move(m));
                return std::nullopt;
            }
            case s::Envelope::Body::MEMBERS: {
                where = "body.members";
                auto r = body.getMembers();
                Members m{r.getVersion(), {}};
                if (auto e = members(r.getMembers(), m.members, "body.members.members")) return e;
                out.emplace<Members>(std::move(m));
                return std::nullopt;
            }
            case s::Envelope::Body::PAYMENTS: return read_payments(body.getPayments(), out);
            case s::Envelope::Body::PAYMENT_ACKS: {
                where = "body.paymentAcks.paymentIds";
                auto ids = body.getPaymentAcks().getPaymentIds();
                if (ids.size() > max_payments_per_message) {
                    return error(DecodeErrc::list_too_long,
                                 "body.paymentAcks.paymentIds: " + num(ids.size()) +
                                     " elements, limit " + num(max_payments_per_message));
                }
                PaymentAcks& m = out.emplace<PaymentAcks>();
                m.payment_ids.reserve(ids.size());
                for (const std::uint64_t id : ids) m.payment_ids.push_back(id);
                return std::nullopt;
            }
        }
        return error(DecodeErrc::unknown_kind, "body: kind tag " +
                                                   num(static_cast<std::uint16_t>(body.which())) +
                                                   " is unknown to this build (newer peer?)");
    }

    // Membership's fields: bounded, and a host of printable characters only (it reaches logs and
    // address books).
    std::optional<DecodeError> host(capnp::Text::Reader text, std::string& out,
                                    const char* field) {
        where = field;
        if (text.size() > max_host_bytes) {
            return error(DecodeErrc::list_too_long, std::string(field) + ": " +
                                                        num(text.size()) + " bytes, limit " +
                                                        num(max_host_bytes));
        }
        for (const char c : text) {
            if (c <= ' ' || c == 0x7f) {
                return error(DecodeErrc::invalid_value,
                             std::string(field) + ": a space or control character");
            }
        }
        out.assign(text.begin(), text.end());
        return std::nullopt;
    }
    std::optional<DecodeError> membership_reason(s::MembershipRefusal r, MembershipRefusal& out,
                                                 const char* field) {
        const auto value = static_cast<std::uint16_t>(r);
        if (value > static_cast<std::uint16_t>(last_membership_refusal)) {
            return error(DecodeErrc::invalid_value,
                         std::string(field) + ": " + num(value) + " is not a MembershipRefusal");
        }
        out = static_cast<MembershipRefusal>(value);
        return std::nullopt;
    }
    std::optional<DecodeError> members(capnp::List<s::MemberInfo>::Reader list,
                                       std::vector<MemberInfo>& out, const char* field) {
        where = field;
        if (list.size() > max_members_listed) {
            return error(DecodeErrc::list_too_long, std::string(field) + ": " +
                                                        num(list.size()) + " members, limit " +
                                                        num(max_members_listed));
        }
        out.reserve(list.size());
        for (auto r : list) {
            MemberInfo& m = out.emplace_back();
            m.id = r.getId();
            m.buys = r.getBuys();
            m.sells = r.getSells();
            m.voter = r.getVoter();
            m.port = r.getPort();
            if (auto e = host(r.getHost(), m.host, field)) return e;
        }
        return std::nullopt;
    }

    std::optional<DecodeError> read_payments(s::Payments::Reader r, Body& out) {
        where = "body.payments.items";
        auto items = r.getItems();
        if (items.size() > max_payments_per_message) {
            return error(DecodeErrc::list_too_long, "body.payments.items: " + num(items.size()) +
                                                        " elements, limit " +
                                                        num(max_payments_per_message));
        }
        Payments& m = out.emplace<Payments>();
        m.items.reserve(items.size());
        for (auto item : items) {
            m.items.push_back(
                Payment{item.getPaymentId(), item.getLotId(), item.getQuantity(), item.getAmount()});
        }
        return std::nullopt;
    }

    std::optional<DecodeError> read_buy_result(s::BuyResult::Reader r, Body& out) {
        where = "body.buyResult";
        BuyResult& m = out.emplace<BuyResult>();
        m.request_id = r.getRequestId();
        m.filled = r.getFilled();
        if (auto e = reason(r.getReason(), m.reason, "body.buyResult.reason")) return e;
        m.quantity = r.getQuantity();
        m.amount = r.getAmount();

        where = "body.buyResult.fills";
        auto fills = r.getFills();
        if (fills.size() > max_fills) {
            return error(DecodeErrc::list_too_long, "body.buyResult.fills: " + num(fills.size()) +
                                                        " elements, limit " + num(max_fills));
        }
        m.fills.resize(fills.size());
        if (const kj::byte* base = exact_layout<s::Fill>(fills)) {
            for (std::size_t i = 0; i < m.fills.size(); ++i) {
                const kj::byte* p = base + fill_bytes * i;
                m.fills[i] = Fill{load_le<std::uint32_t>(p), load_le<std::uint64_t>(p + 8),
                                  load_le<std::uint32_t>(p + 4), load_le<std::int64_t>(p + 16)};
            }
        } else {
            for (unsigned i = 0; i < fills.size(); ++i) {
                const auto f = fills[i];
                m.fills[i] = Fill{f.getSeller(), f.getLotId(), f.getQuantity(), f.getAmount()};
            }
        }
        // detailDeprecated (retired) is never read: an older build's text reaches nothing.
        return std::nullopt;
    }

    // Every count and size is checked before anything is allocated for it.
    std::optional<DecodeError> read_append(s::Append::Reader r, Envelope& envelope) {
        where = "body.append";
        Append& m = envelope.body.emplace<Append>();
        m.epoch = envelope.epoch;
        m.prev = r.getPrev();
        m.prev_epoch = r.getPrevEpoch();
        m.commit = r.getCommit();

        where = "body.append.entries";
        auto entries = r.getEntries();
        if (entries.size() > max_entries) {
            return error(DecodeErrc::list_too_long, "body.append.entries: " + num(entries.size()) +
                                                        " entries, limit " + num(max_entries));
        }
        m.entries.resize(entries.size());
        for (unsigned i = 0; i < entries.size(); ++i) {
            const auto in = entries[i];
            auto& entry = m.entries[i];
            const auto kind = static_cast<std::uint16_t>(in.getKind());
            if (kind > static_cast<std::uint16_t>(last_entry_kind)) {
                return error(DecodeErrc::invalid_value, "body.append.entries[" + num(i) +
                                                            "].kind: " + num(kind) +
                                                            " is not an EntryKind");
            }
            entry.epoch = in.getEpoch();
            entry.kind = static_cast<EntryKind>(kind);
            entry.crc = in.getCrc();
            const auto payload = in.getPayload();
            if (payload.size() > max_payload_bytes) {
                return error(DecodeErrc::list_too_long,
                             "body.append.entries[" + num(i) + "].payload: " + num(payload.size()) +
                                 " bytes, limit " + num(max_payload_bytes));
            }
            copy(payload, entry.payload);
        }
        return std::nullopt;
    }

    std::optional<DecodeError> read_snapshot_chunk(s::SnapshotChunk::Reader r, Envelope& envelope) {
        where = "body.snapshotChunk";
        SnapshotChunk& m = envelope.body.emplace<SnapshotChunk>();
        m.epoch = envelope.epoch;
        m.covered = r.getCovered();
        m.covered_epoch = r.getCoveredEpoch();
        m.offset = r.getOffset();
        m.total = r.getTotal();
        m.crc = r.getCrc();
        if (m.total > max_snapshot_bytes) {
            return error(DecodeErrc::invalid_value, "body.snapshotChunk.total: " + num(m.total) +
                                                        " bytes, limit " + num(max_snapshot_bytes));
        }
        where = "body.snapshotChunk.bytes";
        const auto bytes = r.getBytes();
        if (bytes.size() > max_chunk_bytes) {
            return error(DecodeErrc::list_too_long,
                         "body.snapshotChunk.bytes: " + num(bytes.size()) + " bytes, limit " +
                             num(max_chunk_bytes));
        }
        // Written so that no sum can wrap.
        if (m.offset > m.total || bytes.size() > m.total - m.offset) {
            return error(DecodeErrc::invalid_value, "body.snapshotChunk: " + num(bytes.size()) +
                                                        " bytes at offset " + num(m.offset) +
                                                        " exceed the total " + num(m.total));
        }
        copy(bytes, m.bytes);
        return std::nullopt;
    }
};

// Cap'n Proto's descriptions can quote bytes of the message (e.g. the byte found where a text's
// NUL terminator should be), and details end up in logs: printable ASCII stays, any other byte
// becomes \xNN, and the whole is cut at 200 characters.
std::string loggable(kj::StringPtr description) {
    static constexpr char hex[] = "0123456789abcdef";
    constexpr std::size_t max_len = 200;
    std::string out;
    for (const char c : description) {
        const auto b = static_cast<unsigned char>(c);
        if (out.size() + 4 > max_len) {
            out += "...";
            break;
        }
        if (b >= 0x20 && b < 0x7f) {
            out += c;
        } else {
            out += "\\x";
            out += hex[b >> 4];
            out += hex[b & 0xf];
        }
    }
    return out;
}

DecodeErrc classify(const kj::Exception& e) {
    const kj::StringPtr d = e.getDescription();
    auto contains = [&](const char* needle) { return std::strstr(d.cStr(), needle) != nullptr; };
    if (contains("traversal limit")) return DecodeErrc::traversal_limit;
    if (contains("too deeply-nested") || contains("nesting limit"))
        return DecodeErrc::nesting_limit;
    return DecodeErrc::malformed;
}

}  // namespace

const char* to_string(DecodeErrc code) noexcept {
    switch (code) {
        case DecodeErrc::too_short: return "too_short";
        case DecodeErrc::too_large: return "too_large";
        case DecodeErrc::not_word_aligned_size: return "not_word_aligned_size";
        case DecodeErrc::bad_framing: return "bad_framing";
        case DecodeErrc::wrong_version: return "wrong_version";
        case DecodeErrc::unknown_kind: return "unknown_kind";
        case DecodeErrc::list_too_long: return "list_too_long";
        case DecodeErrc::traversal_limit: return "traversal_limit";
        case DecodeErrc::nesting_limit: return "nesting_limit";
        case DecodeErrc::bad_clock: return "bad_clock";
        case DecodeErrc::invalid_value: return "invalid_value";
        case DecodeErrc::malformed: return "malformed";
    }
    return "?";
}

std::ostream& operator<<(std::ostream& out, DecodeErrc code) {
    return out << to_string(code);
}

std::string DecodeError::message() const {
    return std::string(to_string(code)) + ": " + detail;
}

Envelope& DecodeResult::value() & {
    if (!has_value()) throw std::logic_error("wire: no envelope: " + error().message());
    return std::get<Envelope>(v_);
}

const Envelope& DecodeResult::value() const& {
    if (!has_value()) throw std::logic_error("wire: no envelope: " + error().message());
    return std::get<Envelope>(v_);
}

Envelope&& DecodeResult::value() && {
    if (!has_value()) throw std::logic_error("wire: no envelope: " + error().message());
    return std::get<Envelope>(std::move(v_));
}

std::size_t encoded_size(const Envelope& envelope) {
    const std::size_t clock_bytes = packed::size(envelope.clock.entries());
    return word_bytes + segment_words(envelope, clock_bytes) * word_bytes;
}

std::size_t encode(const Envelope& envelope, std::span<std::byte> out) {
    // Sized once: the segment's words and the clock field both need it.
    const std::size_t clock_bytes = packed::size(envelope.clock.entries());
    const std::size_t words = segment_words(envelope, clock_bytes);
    const std::size_t size = word_bytes + words * word_bytes;
    // First: a message beyond a bound is refused as such, even when it is also too large.
    std::visit(BodyCheck{envelope}, envelope.body);
    if (size > max_datagram_size) {
        throw std::length_error("wire: encode: " + std::to_string(size) +
                                " bytes exceed one datagram (" + std::to_string(max_datagram_size) +
                                ")");
    }
    if (out.size() < size) {
        throw std::length_error("wire: encode: buffer of " + std::to_string(out.size()) +
                                " bytes, need " + std::to_string(size));
    }
    if (envelope.clock.size() > max_clock_entries) {
        throw std::invalid_argument("wire: encode clock: " + std::to_string(envelope.clock.size()) +
                                    " entries, limit " + std::to_string(max_clock_entries));
    }
    for (const auto& entry : envelope.clock.entries()) {
        if (entry.counter > max_clock_counter) {
            throw std::invalid_argument("wire: encode clock: peer " + std::to_string(entry.peer) +
                                        " has counter " + std::to_string(entry.counter) +
                                        ", limit " + std::to_string(max_clock_counter));
        }
    }

    // Build straight into the caller's buffer when it is word-aligned, else via the scratch.
    const bool direct = word_aligned(out.data());
    capnp::word* base = direct ? reinterpret_cast<capnp::word*>(out.data()) : scratch_words();
    std::memset(base, 0, size);  // the builder expects zeroed memory
    {
        SpanMessageBuilder builder(kj::arrayPtr(base + 1, words));
        try {
            auto root = builder.initRoot<s::Envelope>();
            root.setSender(envelope.sender);
            root.setReceiver(envelope.receiver);
            root.setEpoch(envelope.epoch);
            root.setVersion(protocol_version);
            if (const auto entries = envelope.clock.entries(); !entries.empty()) {
                auto clock = root.initClock(static_cast<unsigned>(clock_bytes));
                packed::write(entries, reinterpret_cast<std::byte*>(clock.begin()));
            }
            std::visit(BodyWriter{root.getBody()}, envelope.body);
            if (builder.getSegmentsForOutput()[0].size() != words) {
                throw std::logic_error("wire: encoded_size disagrees with the encoder");
            }
        } catch (const kj::Exception& e) {
            throw std::logic_error(std::string("wire: encode failed: ") +
                                   e.getDescription().cStr());
        }
    }
    auto* header = reinterpret_cast<std::byte*>(base);
    put_le32(header, 0);  // segment count - 1
    put_le32(header + 4, static_cast<std::uint32_t>(words));
    if (!direct) std::memcpy(out.data(), base, size);
    return size;
}

std::vector<std::byte> encode(const Envelope& envelope) {
    std::vector<std::byte> out(encoded_size(envelope));
    const std::size_t n = encode(envelope, out);
    out.resize(n);
    return out;
}

DecodeLimits limits_for_members(std::size_t members) {
    DecodeLimits limits;
    limits.max_clock_entries = std::min(members, max_clock_entries);
    // The largest message: a BuyResult with every fill or Payments at its limit, and a full clock.
    Envelope largest;
    std::vector<tp::clock::Entry> entries;
    for (std::size_t i = 0; i < limits.max_clock_entries; ++i)
        entries.push_back({static_cast<PeerId>(i + 1), max_clock_counter});
    largest.clock = tp::clock::VectorClock::from_entries(entries);
    BuyResult result;
    result.fills.assign(max_fills, Fill{1, 1, 1, 1});
    largest.body = std::move(result);
    std::size_t bytes = encoded_size(largest);
    Payments payments;
    payments.items.assign(max_payments_per_message, Payment{1, 1, 1, 1});
    largest.body = std::move(payments);
    bytes = std::max(bytes, encoded_size(largest));
    limits.max_bytes = std::min(bytes, max_datagram_size);
    // The replication machine fills datagrams with the log's bytes.
    limits.max_replication_bytes = max_datagram_size;
    return limits;
}

DecodeResult decode(std::span<const std::byte> bytes, const DecodeLimits& limits) {
    const std::size_t size = bytes.size();
    // The larger of the two budgets here; the kind's own once its tag is read.
    const std::size_t byte_limit =
        std::min(std::max(limits.max_bytes, limits.max_replication_bytes), max_datagram_size);
    if (size > byte_limit) return too_large(size, byte_limit);
    if (size < 2 * word_bytes) {
        return error(DecodeErrc::too_short,
                     "datagram: " + num(size) + " bytes, need at least " + num(2 * word_bytes));
    }
    if (size % word_bytes != 0) {
        return error(DecodeErrc::not_word_aligned_size,
                     "datagram: " + num(size) + " bytes is not a multiple of 8");
    }

    const capnp::word* words = nullptr;
    if (word_aligned(bytes.data())) {
        words = reinterpret_cast<const capnp::word*>(bytes.data());
    } else {
        std::memcpy(scratch_words(), bytes.data(), size);
        words = scratch_words();
    }
    const std::size_t total_words = size / word_bytes;
    const auto* table = reinterpret_cast<const std::byte*>(words);

    const std::uint64_t segment_count = std::uint64_t{get_le32(table)} + 1;
    if (segment_count > max_segments) {
        return error(DecodeErrc::bad_framing, "segment table: " + num(segment_count) +
                                                  " segments, limit " + num(max_segments));
    }
    const std::size_t table_words = (4 + 4 * segment_count + word_bytes - 1) / word_bytes;
    if (table_words >= total_words) {
        return error(DecodeErrc::bad_framing, "segment table: " + num(segment_count) +
                                                  " segments leave no room for data in " +
                                                  num(size) + " bytes");
    }
    // Left uninitialised: only the first segment_count entries are written and read.
    union Segments {
        Segments() {}
        kj::ArrayPtr<const capnp::word> at[max_segments];
    } segments;
    std::size_t offset = table_words;
    for (std::size_t i = 0; i < segment_count; ++i) {
        const std::size_t n = get_le32(table + 4 + 4 * i);
        if (n == 0) {
            return error(DecodeErrc::bad_framing, "segment table: segment " + num(i) + " is empty");
        }
        if (n > total_words - offset) {
            return error(DecodeErrc::bad_framing, "segment table: segment " + num(i) + " claims " +
                                                      num(n) + " words, only " +
                                                      num(total_words - offset) + " remain");
        }
        new (&segments.at[i]) kj::ArrayPtr<const capnp::word>(words + offset, n);
        offset += n;
    }
    if (offset != total_words) {
        return error(DecodeErrc::bad_framing,
                     "segment table: " + num((total_words - offset) * word_bytes) +
                         " trailing bytes after the last segment");
    }

    capnp::ReaderOptions options;
    options.traversalLimitInWords = limits.traversal_limit_words;
    options.nestingLimit = limits.nesting_limit;
    Reader reader(limits, size);
    try {
        capnp::SegmentArrayMessageReader message(kj::arrayPtr(segments.at, segment_count), options);
        // Decode in place: one Envelope, never moved on the success path.
        DecodeResult result{Envelope{}};
        if (auto e = reader.read(message.getRoot<s::Envelope>(), result.value())) {
            result = std::move(*e);
        } else if (const std::size_t n = encoded_size(result.value()); n > max_datagram_size) {
            // Elements sent without their data (a list of Void read as structs) cost the sender
            // nothing but their full size here: refuse what could not be sent on again.
            result = error(DecodeErrc::too_large, "body: " + num(n) +
                                                      " bytes once encoded by this build, limit " +
                                                      num(max_datagram_size));
        }
        return result;
    } catch (const kj::Exception& e) {
        return error(classify(e), std::string(reader.where) + ": " + loggable(e.getDescription()));
    }
}

}  // namespace tp::wire
