# A peer's replica of the trader's log, as its journal stores it (issue 16): one journal record per
# replicated log entry (journal LSN == log position), and what the journal's snapshot file holds.
# Field numbers only grow; a retired field or enumerant is renamed ...Deprecated, never reused.
@0x9d9a9cd8a96c517f;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("tp::peer::schema");

enum EntryKind {
  data @0;    # an event of the books
  reign @1;   # the first record of an epoch, which its trader commits before it serves
  config @2;  # an event of the books that changes the replica set (issue 18)
}

# One entry of the replicated log. Its CRC32C is not stored: the journal frames every record with
# a CRC32C of its own, and decoding recomputes the entry's from the payload.
struct ReplicaRecord {
  epoch @0 :UInt64;
  kind @1 :EntryKind;
  payload @2 :Data;
}

# The journal snapshot of a replica: the books' state up to the position the snapshot covers
# (the journal file names it), and the epoch of the entry at that position.
struct ReplicaSnapshot {
  coveredEpoch @0 :UInt64;
  state @1 :Data;
}
