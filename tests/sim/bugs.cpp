// The switches of the deliberately broken variants. Only this test-only library defines them:
// its copies of the market, election, peer and sim sources are compiled with TP_SIM_BUGS, and the
// shipped libraries, compiled without it, contain no trace of the variants.
namespace tp::sim_bugs {
bool skip_dedup = false;  // market: the trader forgets an answered request, so a retry runs again
bool early_confirm = false;  // peer: outcomes go out before their journal records are durable
bool ignore_epochs = false;  // election: a peer follows a leader's claim from an older epoch
bool unfair_order = false;   // market: a batch is served in reverse logical-time order
bool accept_any_ack = false;   // peer: the trader lets any member settle any payment
bool trust_any_epoch = false;  // election: any well-formed epoch is believed, however far ahead
}  // namespace tp::sim_bugs
