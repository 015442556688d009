// Package store persists Caldicott's state behind one type, on two engines:
// embedded SQLite (modernc.org/sqlite, pure Go) and PostgreSQL (lib/pq). Both
// share one set of numbered migrations in upgrades/, applied by go.mau.fi's
// dbutil, and one test suite run against each engine.
//
// It holds the transaction inbox (what the homeserver sent, persisted before
// it is acknowledged), room policies, the hash-chained audit log, the action
// log (decided actions and their outcome), and the staff directory (its names
// indexed by internal/lookalike's key, the one the rules compare) with its
// change journal (who changed, in commit order, for a service to hear of
// changes another process made).
//
// A failure of the database itself says it is worth retrying (dberror.go:
// a Transient method, which internal/retry recognises), so callers need not
// mark the store's errors; the store's own answers (ErrNotFound,
// ErrDuplicate, a refused directory update) stay permanent.
//
// It must not import the appservice, the policy rules or any Matrix client.
package store
