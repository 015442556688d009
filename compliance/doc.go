// Package compliance is the IG lead's view of a trust: whether its clinical
// rooms meet the rules, who is verified, which reviews are overdue, whether
// deletion runs, what waits for the patient record, what the gatekeeper
// refused and what Caldicott did, the federation's and the audit chain's
// state, and the NHS guidance criteria with how each is met.
//
// It reads only: the store (what the rules decided and recorded, and the
// audit log) and the configuration. It decides nothing anew — a room's
// compliance is what policy's hardening rules recorded, a member's standing
// what the verification rules remembered — and it never imports the
// appservice, its capabilities or the Matrix client: no homeserver read or
// write, so no message content can reach it. Free text it passes on (hold
// reasons, audit reasons, errors) has NHS numbers masked (Clean); patient
// record payloads and access-request reasons are never read out.
package compliance
