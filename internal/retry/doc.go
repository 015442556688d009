// Package retry holds the one rule for what is worth trying again and the
// one way of waiting between tries.
//
// IsTransient classifies an error: the homeserver or the database
// unreachable, overloaded, rate-limiting or timing out is transient; a
// refusal, a bad request or a bug is permanent. Backoff, Delay and Policy
// space the tries: a first wait, doubling to a cap, an optional limit on
// tries, a rate limit's own wait honoured, and the context's end obeyed.
// Their Sleep is injectable, so tests never wait in real time.
//
// It imports mautrix only to read a homeserver's answer, and nothing of
// Caldicott's: the store marks its own errors with a Transient method
// (see IsTransient) rather than importing this package.
package retry
