# The market's own schema: the trader's book events (one journal record each) and snapshots.
# Field numbers only grow; a retired field or union member is renamed ...Deprecated, never reused.
@0xf8fab2f199ec2a5d;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("tp::market::schema");

struct ClockEntry {
  peer @0 :UInt32;
  counter @1 :UInt64;
}

enum RefuseReason {
  noSeller @0;
  insufficientStock @1;
  invalidRequest @2;
  amountOverflow @3;   # the sale or a running total it adds to would leave the range of Int64
}

enum BuyStatus {
  filled @0;
  partial @1;
  refused @2;
}

struct Deposited {
  seller @0 :UInt32;
  lot @1 :UInt64;
  product @2 :UInt16;
  quantity @3 :UInt32;
  unitPrice @4 :Int64;
}

struct BuyQueued {
  buyer @0 :UInt32;
  request @1 :UInt64;
  product @2 :UInt16;
  quantity @3 :UInt32;
  allowPartial @4 :Bool;
  clock @5 :List(ClockEntry);
  # Retired: the batch's deadline on the queuing trader's own steady clock, which means nothing to
  # the trader that recovers it. Old journals still carry it; it is read as absent.
  batchCloseNsDeprecated @6 :Int64;
  batch @7 :UInt64;    # the batch's number, in the order batches open (0 in old journals)
}

struct Fill {
  seller @0 :UInt32;
  lot @1 :UInt64;
  quantity @2 :UInt32;
  amount @3 :Int64;
  commission @4 :Int64;
  payment @5 :UInt64;
}

struct BuyFilled {
  buyer @0 :UInt32;
  request @1 :UInt64;
  product @2 :UInt16;
  requested @3 :UInt32;
  fills @4 :List(Fill);
}

struct BuyRefused {
  buyer @0 :UInt32;
  request @1 :UInt64;
  product @2 :UInt16;
  requested @3 :UInt32;
  reason @4 :RefuseReason;
}

struct PaymentAcked {
  payment @0 :UInt64;
}

# A member of the market (issue 18). A founder's host is empty: the cluster's config has it.
struct Member {
  id @0 :UInt32;
  buys @1 :Bool;
  sells @2 :Bool;
  voter @3 :Bool;      # keeps a replica of the trader's log
  host @4 :Text;       # at most 253 bytes
  port @5 :UInt16;
}

struct MemberLeft {
  id @0 :UInt32;
  withdrawLots @1 :Bool;
}

struct VoterChanged {
  id @0 :UInt32;
  voter @1 :Bool;
}

struct Event {
  union {
    deposited @0 :Deposited;
    buyQueued @1 :BuyQueued;
    buyFilled @2 :BuyFilled;
    buyRefused @3 :BuyRefused;
    paymentAcked @4 :PaymentAcked;
    memberJoined @5 :Member;
    memberLeft @6 :MemberLeft;
    voterChanged @7 :VoterChanged;
  }
}

# ---- Snapshot: the whole state, so restore needs no events before it.

struct Lot {
  seller @0 :UInt32;
  lot @1 :UInt64;
  remaining @2 :UInt32;
  unitPrice @3 :Int64;
}

struct ProductBook {
  product @0 :UInt16;
  deposited @1 :UInt64;
  sold @2 :UInt64;
  lots @3 :List(Lot);
  withdrawn @4 :UInt64;        # units that left with their sellers
}

struct SellerLedger {
  seller @0 :UInt32;
  sold @1 :UInt64;
  earned @2 :Int64;
  commission @3 :Int64;
  pending @4 :Int64;
  pendingCount @5 :UInt64;
}

struct BuyerTotals {
  buyer @0 :UInt32;
  filled @1 :UInt64;
  refused @2 :UInt64;
  quantity @3 :UInt64;
  spent @4 :Int64;
}

struct Payment {
  id @0 :UInt64;
  seller @1 :UInt32;
  lot @2 :UInt64;
  product @3 :UInt16;
  quantity @4 :UInt32;
  amount @5 :Int64;
}

struct BuyResult {
  buyer @0 :UInt32;
  request @1 :UInt64;
  product @2 :UInt16;
  status @3 :BuyStatus;
  reason @4 :RefuseReason;
  requested @5 :UInt32;
  quantity @6 :UInt32;
  amount @7 :Int64;
  sellers @8 :List(UInt32);
  fills @9 :List(Fill);         # empty in records written before it existed
}

struct Snapshot {
  version @0 :UInt32;
  nextPayment @1 :UInt64;
  commissionTotal @2 :Int64;
  executions @3 :UInt64;
  products @4 :List(ProductBook);
  lotsSeen @5 :List(Deposited);
  sellers @6 :List(SellerLedger);
  buyers @7 :List(BuyerTotals);
  payments @8 :List(Payment);   # pending only, ascending ids
  # Retired with version 2: every answer ever given, sorted by (buyer, request). A version 1
  # snapshot still restores: its buyers' sessions are rebuilt from it.
  resultsDeprecated @9 :List(BuyResult);
  queued @10 :List(BuyQueued);  # arrival order
  nextBatch @11 :UInt64;        # the number the next batch opened gets
  sessions @12 :List(Session);  # version 2: one per buyer, by buyer id
  members @13 :List(Member);    # version 3: the membership, by id (before: the config's founders)
}

# A buyer's client session: the answers a retry can still ask for.
struct Session {
  buyer @0 :UInt32;
  answers @1 :List(BuyResult);  # ascending request ids, never empty
}
