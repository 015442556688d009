// Package executor is the only code that changes anything on the homeserver.
// It carries out a policy.Decision action by action: state, kicks, invites,
// redactions, rooms created, joins and leaves, notices and replies, and the
// homeserver's admin API. Dry run is decided here, once.
//
// Every action is written to the action log, with a transaction ID derived
// from the input that decided it, before the homeserver is asked; its
// outcome and its audit entry are written together after. So a crash at any
// point between deciding and acting loses nothing (pending actions are
// replayed at start-up) and repeats nothing visible (a done action is never
// done again; messages and redactions carry the transaction ID, which the
// homeserver deduplicates; state, kicks and invites are checked first).
//
// Two kinds of homeserver writes stay outside, by design: the to-device
// messages of the emoji-verification protocol and the crypto layer's key
// uploads and key sharing (package verification and mautrix's crypto
// helper), and the bot's own /sync filters. Neither changes a room.
//
// It imports policy and store; it must never import the packages that
// decide (commands, capabilities): they call it, not the other way round.
package executor
