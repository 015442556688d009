// Package policylist is the federation's shared policy list as a pure model:
// it takes the list room's MSC2313 policy events (m.policy.rule.*) and answers
// questions about them — is this person banned, which servers are member
// trusts, what was refused and why.
//
// It is modelled on Meowlnir's policylist package (Update in, Match out, no
// I/O), with one addition Meowlnir does not need: an Authority. Meowlnir
// trusts every sender the room's power levels let through; a list shared by
// NHS trusts cannot, because each trust's bot must speak only for its own
// staff and only the federation's admins may change who is a member. Every
// event that fails that test is refused, kept with its reason, and never
// applied — and it never removes a rule that an authorised sender published.
//
// The package does no I/O and reads no clock: it imports the standard
// library, go.mau.fi/util/glob and gomatrixserverlib/spec (the same
// server-name and user-ID grammar config validation uses) and nothing else.
// It must never import net/http, database/sql, a Matrix client, or
// Caldicott's store, appservice or bridges; purity_test.go fails the build if
// it does.
package policylist
