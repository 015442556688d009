package retry

import (
	"context"
	"errors"
	"net"
	"net/url"
	"time"

	"maunium.net/go/mautrix"
)

// transientError marks an error worth retrying.
type transientError struct{ error }

func (e transientError) Unwrap() error { return e.error }

// Transient reports that the error is worth retrying.
func (transientError) Transient() bool { return true }

// Transient marks err as worth retrying: the database or the homeserver
// was unavailable, so the whole input is tried again later.
func Transient(err error) error {
	if err == nil {
		return nil
	}
	return transientError{err}
}

// marked is an error that says for itself whether it is worth retrying:
// Transient's mark, and the store's database failures (the store does not
// import this package, so it marks them with the same method).
type marked interface{ Transient() bool }

// IsTransient is true for errors that may go away: the homeserver or the
// database unreachable, overloaded or timing out. A cancelled context is
// never transient: it means stop.
func IsTransient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var m marked
	if errors.As(err, &m) && m.Transient() {
		return true
	}
	var httpErr mautrix.HTTPError
	var httpErrPtr *mautrix.HTTPError
	if errors.As(err, &httpErrPtr) && httpErrPtr != nil {
		httpErr, err = *httpErrPtr, httpErrPtr
	}
	if httpErr.Response != nil || errors.As(err, &httpErr) {
		if httpErr.Response == nil {
			return true // no answer at all: connection refused, reset or timed out
		}
		code := httpErr.Response.StatusCode
		return code >= 500 || code == 429
	}
	var opErr *net.OpError
	var urlErr *url.Error
	return errors.As(err, &opErr) || errors.As(err, &urlErr) || errors.Is(err, context.DeadlineExceeded)
}

// RetryAfter is how long a homeserver's rate limit asks to wait
// (retry_after_ms), or 0.
func RetryAfter(err error) time.Duration {
	var httpErr mautrix.HTTPError
	if !errors.As(err, &httpErr) || httpErr.RespError == nil {
		return 0
	}
	if ms, ok := httpErr.RespError.ExtraData["retry_after_ms"].(float64); ok && ms > 0 {
		return time.Duration(ms) * time.Millisecond
	}
	return 0
}
