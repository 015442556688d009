// Package audithead anchors the audit log outside the database. The audit
// chain in the database is hash-linked, so an edited entry shows; but
// someone with database access can rewrite every hash from the edited entry
// on, and the chain is consistent again. So the chain's head (its last
// entry's number and hash), signed with the bot's cross-signing master key,
// is published at an interval as org.caldicott.audit.head state in the
// management room and in the trust's attestation room — rooms the other
// trusts' homeservers hold copies of — and `caldicott audit verify` checks
// the database against the published head, and against every head ever
// published (the rooms' history, from this trust's homeserver and from
// another trust's, which this trust's operator cannot rewrite): each must
// be an earlier point of today's chain, so a chain rewritten and re-signed
// with the bot's own key still shows.
//
// Publication decides through policy (AuditHeadDue, PublishAuditHead) and
// acts through the executor. The signing key stays in package verification,
// reached through the Signer interface. It never imports another capability.
package audithead
