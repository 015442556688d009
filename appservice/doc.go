// Package appservice is Caldicott's Matrix side: the HTTP endpoints Dendrite
// calls (mautrix-go's appservice router mounted under chi, with our own
// transaction intake that persists before it acknowledges), the worker that
// turns stored events, commands and timer ticks into inputs for the policy
// rules, and the executor — the only code that changes anything on the
// homeserver, and the code that writes the audit log.
//
// It must not contain rules: what to do is decided in package policy.
package appservice
