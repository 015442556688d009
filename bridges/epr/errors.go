package epr

import (
	"errors"
	"fmt"
)

// Rejected is the EPR refusing a Communication (HTTP 4xx other than 408 and
// 429): posting it again will not help. Reason is the server's own account,
// from its OperationOutcome, shortened and with NHS numbers masked.
type Rejected struct {
	Status int
	Reason string
}

func (e *Rejected) Error() string {
	return fmt.Sprintf("EPR rejected the communication (HTTP %d): %s", e.Status, e.Reason)
}

// transientError marks a failure that a later retry may not meet; status
// is the EPR's answer, 0 when it gave none (network, timeout).
type transientError struct {
	err    error
	status int
}

func (e *transientError) Error() string { return e.err.Error() }
func (e *transientError) Unwrap() error { return e.err }

// IsTransient reports whether err is a failure worth retrying: the EPR down
// or overloaded (HTTP 5xx, 408, 429), the network failing, the response lost
// or the context ending. A retry is safe: Post creates conditionally on the
// Matrix event ID, so it finds a copy the lost attempt stored.
func IsTransient(err error) bool {
	var t *transientError
	return errors.As(err, &t)
}

// HTTPStatus is the EPR's HTTP status behind err, 0 when the EPR did not
// answer. A log names the status, not the error's text: that can quote the
// EPR's diagnostics, and they can quote the message itself.
func HTTPStatus(err error) int {
	var rej *Rejected
	if errors.As(err, &rej) {
		return rej.Status
	}
	var t *transientError
	if errors.As(err, &t) {
		return t.status
	}
	return 0
}
