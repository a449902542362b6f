#pragma once
// Mutation points: the deliberately broken variants that prove the simulator's checker catches
// bugs (tests/sim/broken_variants_test.cpp). Code marks one with `if (TP_MUTANT(name)) ...`.
//
// Every shipped library and program is compiled without TP_MUTANTS: there each point is a
// constexpr false, the compiler drops the branch, and no symbol of it exists. Only the mutant
// flavours of the libraries (tp_<module>_mutant_dep, built for the tests; Meson option `mutants`)
// define TP_MUTANTS: there each point is a runtime switch `tp::mutant::name`, off until a test sets
// it. A name not declared here compiles in neither build.

#ifdef TP_MUTANTS
#define TP_MUTANT_POINT(name) inline bool name = false
#else
#define TP_MUTANT_POINT(name) inline constexpr bool name = false
#endif

namespace tp::mutant {

// market (Books::submit_buy): the trader forgets an answered request, so a retry runs again.
TP_MUTANT_POINT(skip_dedup);
// market (Books::poll): a batch is served latest first, against happened-before.
TP_MUTANT_POINT(unfair_order);
// market (Books, codec): a queued buy's deadline on the old trader's steady clock is journalled,
// and a new trader keeps it instead of giving recovered batches a fresh window on its own clock.
TP_MUTANT_POINT(process_time_in_books);
// election (Bully::on_claim): a peer follows a leader's claim from an older epoch.
TP_MUTANT_POINT(ignore_epochs);
// election (Bully::on_claim): under `defer`, a peer running an election it may win follows a
// lower peer's claim (stop 31's CI failure: the market settled on a lower peer, TC_05 broken).
TP_MUTANT_POINT(defer_mid_election);
// election (Bully): any well-formed epoch is believed, however far ahead.
TP_MUTANT_POINT(trust_any_epoch);
// auth (Guard::open): every MAC is taken as valid, so anyone speaks for any member.
TP_MUTANT_POINT(skip_mac_check);
// peer (the trader): outcomes go out before their journal records are durable.
TP_MUTANT_POINT(early_confirm);
// peer (PeerCore::drive_replica): a replicated trader's answers are released once their records
// are in its log, so they leave in the same batch as the Appends that carry those records out,
// ahead of the quorum's acks (issue 17: batching must not break reply-after-commit).
TP_MUTANT_POINT(reply_in_append_batch);
// peer (the trader): the payments retry gathers every pending payment into each seller's
// Payments, those whose sale is not yet durable included (issue 17: batching payments must not
// send one ahead of its commit).
TP_MUTANT_POINT(gather_held_payments);
// peer (the trader): a join or leave is announced (JoinAnswer, Members) before its record is
// durable and committed, so a failover may forget a member that was told it joined.
TP_MUTANT_POINT(membership_before_commit);
// peer (the trader): any member may settle any payment by acknowledging it.
TP_MUTANT_POINT(accept_any_ack);
// replication (Replica::propose): a record counts as committed once the trader appended it, with
// no quorum.
TP_MUTANT_POINT(commit_before_quorum);
// replication (Replica::lead): a new trader serves from its own log without collecting a
// quorum's logs first.
TP_MUTANT_POINT(skip_log_collection);
// replication (Replica::on_append): a replica accepts appends from an epoch older than it joined.
TP_MUTANT_POINT(accept_old_epoch_append);
// replication (Replica::join): an ack held for a sync still leaves after the replica joined a
// newer reign, whose trader its log state told only what was durable then.
TP_MUTANT_POINT(ack_after_newer_reign);
// replication (Replica::propose): a change of the replica set is proposed while the previous
// one is uncommitted, so two sets whose quorums need not meet both count (issue 18).
TP_MUTANT_POINT(two_changes_at_once);
// replication (Replica::set_moved): a new trader serves after adopting a log that names another
// replica set than the one it heard a quorum of, without collecting from that set (issue 18).
TP_MUTANT_POINT(count_an_unheard_set);

}  // namespace tp::mutant

#undef TP_MUTANT_POINT

// True where the broken variant `name` is switched on: a constant false in a normal build.
#define TP_MUTANT(name) (::tp::mutant::name)
