// Package dbcopy moves a trust from trial to production: it copies a
// stopped Caldicott's SQLite database into an empty PostgreSQL database —
// every table the schemas define (Caldicott's store, and the crypto and
// state stores mautrix-go keeps for the bot's encryption device in the same
// database) — in one PostgreSQL transaction, and commits only when the
// audit chain it copied verifies and every table holds what the source did.
//
// A package of its own rather than part of the store: it works on tables as
// the migrations make them, not through the store's verbs, and it needs
// mautrix-go's schemas, which the store does not know. Only the operator's
// command (caldicott db migrate) imports it; the running service never does.
package dbcopy
