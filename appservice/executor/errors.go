package executor

import (
	"context"
	"errors"
	"net"
	"net/url"

	"maunium.net/go/mautrix"
)

// transientError marks an error worth retrying.
type transientError struct{ error }

func (e transientError) Unwrap() error { return e.error }

// Transient marks err as worth retrying: the database or the homeserver
// was unavailable, so the whole input is tried again later.
func Transient(err error) error {
	if err == nil {
		return nil
	}
	return transientError{err}
}

// IsTransient is true for errors that may go away: the homeserver or the
// database unreachable, overloaded or timing out.
func IsTransient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var te transientError
	if errors.As(err, &te) {
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

// MatrixReason is the homeserver's own explanation, without Go wrapping.
func MatrixReason(err error) string {
	var httpErr mautrix.HTTPError
	if errors.As(err, &httpErr) && httpErr.RespError != nil {
		return httpErr.RespError.Err
	}
	return err.Error()
}
