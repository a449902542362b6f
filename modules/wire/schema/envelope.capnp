# Trading Post network schema: every datagram is one Envelope.
#
# Evolution rules (this file is a wire contract between peers of different builds):
# - Field and ordinal numbers only grow. Never renumber, never change a field's type.
# - A retired message kind or field is renamed `...Deprecated` (e.g. `buyDeprecated`) and its
#   ordinal is never reused; decoders treat a deprecated kind like an unknown one.
# - A new message kind is a new struct and a new union member with the next ordinal. Old decoders
#   report it as an unknown kind, which the receiver logs and drops.
# - Empty kinds are (empty) structs rather than Void so they can grow fields later.
# - `version` is the protocol version; bump it only for changes the rules above cannot express.

@0x8bd53bd687576eec;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("tp::wire::schema");

struct ClockEntry {
  peer @0 :UInt32;
  counter @1 :UInt64;
}

enum RefusalReason {
  none @0;
  noSeller @1;
  insufficientStock @2;
  invalidRequest @3;
  notTrader @4;
  traderUnavailable @5;   # elected, but cannot serve yet (its books are held elsewhere)
  amountOverflow @6;      # a total would leave the range of Money
  noQuorum @7;            # the trader cannot reach enough replicas to commit
}

# Seller -> trader: put a lot up for sale.
struct Deposit {
  lotId @0 :UInt64;
  product @1 :UInt16;
  quantity @2 :UInt32;
  unitPrice @3 :Int64;     # integer minor units
}

# Trader -> seller.
struct DepositAck {
  lotId @0 :UInt64;
  accepted @1 :Bool;
  reason @2 :RefusalReason;
}

# Buyer -> trader.
struct Buy {
  requestId @0 :UInt64;
  product @1 :UInt16;
  quantity @2 :UInt32;
  allowPartial @3 :Bool;
}

# One lot's share of a buy: whose lot, which, how many units and what the buyer paid for them.
struct Fill {
  seller @0 :UInt32;
  lotId @1 :UInt64;
  quantity @2 :UInt32;
  amount @3 :Int64;        # gross, minor units
}

# Trader -> buyer.
struct BuyResult {
  requestId @0 :UInt64;
  filled @1 :Bool;
  reason @2 :RefusalReason;
  quantity @3 :UInt32;
  amount @4 :Int64;        # minor units
  fills @5 :List(Fill);    # at most 256
  detailDeprecated @6 :Text;  # retired: never filled by any build; decoders ignore it
}

# Trader -> seller: proceeds of a sale, after commission.
struct Payment {
  paymentId @0 :UInt64;
  lotId @1 :UInt64;
  quantity @2 :UInt32;
  amount @3 :Int64;        # minor units
}

struct PaymentAck {
  paymentId @0 :UInt64;
}

# Trader -> seller: several payments at once (issue 17: one message per seller per batch, not
# one per lot sold), at most 128. Each is settled on its own, as if it came alone.
struct Payments {
  items @0 :List(Payment);
}

# Seller -> trader: the payments of one Payments (or of several), at most 128.
struct PaymentAcks {
  paymentIds @0 :List(UInt64);
}

# Bully election. The message's epoch is the envelope's; a heartbeat's leader is its sender.
struct Election {}
struct Ok {}
struct Coordinator {
  leader @0 :UInt32;
  epoch @1 :UInt64;        # must equal the envelope's epoch (decoders refuse a mismatch)
}
struct Heartbeat {}

# Replication of the trader's log (modules/replication). Each message's epoch is the envelope's
# (Recover has none); decoders bound every list and byte field (see tp/wire/codec.hpp).
enum EntryKind {
  data @0;
  reign @1;                # the first record of an epoch: no payload
  config @2;               # a change of the replica set by one member (issue 18)
}

# Why a replica refused an Append or a snapshot chunk.
enum ReplicationRefusal {
  none @0;
  staleEpoch @1;
  gap @2;
  mismatch @3;
  badCrc @4;
  outOfOrder @5;
  beyondLog @6;
  conflict @7;
  tooLarge @8;
}

# One record of the replicated log.
struct Entry {
  epoch @0 :UInt64;
  kind @1 :EntryKind;
  payload @2 :Data;        # at most 32 KiB
  crc @3 :UInt32;          # CRC32C of the payload
}

# Trader -> replica: the entries after `prev`, and the commit position.
struct Append {
  prev @0 :UInt64;
  prevEpoch @1 :UInt64;
  commit @2 :UInt64;
  entries @3 :List(Entry); # at most 1024
}

# Replica -> trader: durable up to `match`, or refused.
struct AppendAck {
  ok @0 :Bool;
  reason @1 :ReplicationRefusal;
  match @2 :UInt64;
  last @3 :UInt64;
}

# The winner of the envelope's epoch -> every replica: join it, tell me your log.
struct StartView {}

# A replica that lost its disk -> every replica: which epochs have you joined?
struct Recover {
  query @0 :UInt64;
}

# Replica -> the asker: the state of its durable log.
struct LogState {
  query @0 :UInt64;
  last @1 :UInt64;
  lastEpoch @2 :UInt64;
  commit @3 :UInt64;
  snapshot @4 :UInt64;
  seeded @5 :Bool;
}

# The winner -> the most advanced replica: send me your log from `from` up to `to`.
struct Fetch {
  from @0 :UInt64;
  to @1 :UInt64;
}

# A piece of the snapshot covering `covered`: bytes [offset, offset + size) of `total`.
struct SnapshotChunk {
  covered @0 :UInt64;
  coveredEpoch @1 :UInt64;
  offset @2 :UInt64;
  total @3 :UInt64;        # at most 1 GiB
  bytes @4 :Data;          # at most 32 KiB, and offset + size <= total
  crc @5 :UInt32;          # CRC32C of the whole snapshot
}

# Receiver of chunks -> sender: the next offset it expects, or a refusal.
struct SnapshotAck {
  covered @0 :UInt64;
  received @1 :UInt64;
  reason @2 :ReplicationRefusal;
}

# ---- Membership (issue 18). Hosts are at most 253 bytes; lists at most 1024 members.
enum MembershipRefusal {
  none @0;
  idInUse @1;
  notAMember @2;
  lastReplica @3;
  paymentsPending @4;
  invalidMember @5;
  tooManyMembers @6;
  notTrader @7;
  traderUnavailable @8;
  addressMismatch @9;
}

struct MemberInfo {
  id @0 :UInt32;
  buys @1 :Bool;
  sells @2 :Bool;
  voter @3 :Bool;
  host @4 :Text;           # empty for a founding member
  port @5 :UInt16;
}

struct Join {
  buys @0 :Bool;
  sells @1 :Bool;
  host @2 :Text;
  port @3 :UInt16;
}

struct JoinAnswer {
  reason @0 :MembershipRefusal;
  trader @1 :UInt32;
  members @2 :List(MemberInfo);
  version @3 :UInt64;      # the log position the list is as of, ordered with Members.version (0: unknown)
}

struct Leave {
  withdrawLots @0 :Bool;
  host @1 :Text;           # where the leaver listens; empty for a founding member
  port @2 :UInt16;
}

struct LeaveAnswer {
  reason @0 :MembershipRefusal;
  trader @1 :UInt32;  # notTrader: the trader the answering member follows (0: none known)
  members @2 :List(MemberInfo);  # notTrader: that trader's entry, when the member knows it
}

struct Members {
  version @0 :UInt64;
  members @1 :List(MemberInfo);
}

struct Envelope {
  sender @0 :UInt32;
  receiver @1 :UInt32;
  epoch @2 :UInt64;
  version @3 :UInt16;            # protocol version, currently 1
  # Version 1's clock (16 bytes an entry; sorted by peer, unique, no zero counters): read from
  # older builds, never written; version 2 packs the clock in `clock`.
  clockListDeprecated @4 :List(ClockEntry);

  body :union {
    deposit @5 :Deposit;
    depositAck @6 :DepositAck;
    buy @7 :Buy;
    buyResult @8 :BuyResult;
    payment @9 :Payment;
    paymentAck @10 :PaymentAck;
    election @11 :Election;
    ok @12 :Ok;
    coordinator @13 :Coordinator;
    heartbeat @14 :Heartbeat;
    append @15 :Append;
    appendAck @16 :AppendAck;
    startView @17 :StartView;
    recover @18 :Recover;
    logState @19 :LogState;
    fetch @20 :Fetch;
    snapshotChunk @21 :SnapshotChunk;
    snapshotAck @22 :SnapshotAck;
    join @24 :Join;
    joinAnswer @25 :JoinAnswer;
    leave @26 :Leave;
    leaveAnswer @27 :LeaveAnswer;
    members @28 :Members;
    payments @29 :Payments;
    paymentAcks @30 :PaymentAcks;
  }

  # The vector clock (version 2), packed: at most 4096 entries in increasing peer order, each two
  # unsigned LEB128 varints (7 bits a byte, low bits first, the high bit set on every byte but the
  # last, no needless trailing byte): the peer's gap (the first entry: its peer id; later ones:
  # peer - previous peer - 1), then the counter (1 to 2^48). About 4 bytes an entry against
  # version 1's 16: at 64 buyers the clock was most of every datagram, and of what is MACed.
  clock @23 :Data;
}
