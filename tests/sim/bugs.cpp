// The switches of the deliberately broken variants. Only this test-only library defines them:
// its copies of the market, election, auth, peer and sim sources are compiled with TP_SIM_BUGS, and the
// shipped libraries, compiled without it, contain no trace of the variants.
namespace tp::sim_bugs {
bool skip_dedup = false;  // market: the trader forgets an answered request, so a retry runs again
bool early_confirm = false;  // peer: outcomes go out before their journal records are durable
bool ignore_epochs = false;  // election: a peer follows a leader's claim from an older epoch
bool unfair_order = false;   // market: a batch is served in reverse logical-time order
bool accept_any_ack = false;   // peer: the trader lets any member settle any payment
bool trust_any_epoch = false;  // election: any well-formed epoch is believed, however far ahead
// market: a queued buy's deadline (the old trader's steady clock) is journalled, and a new trader
// keeps it instead of giving recovered batches a fresh window on its own clock
bool process_time_in_books = false;
bool skip_mac_check = false;  // auth: every MAC is taken as valid, so anyone speaks for a member
}  // namespace tp::sim_bugs
