package executor

import (
	"errors"

	"maunium.net/go/mautrix"

	"github.com/caldicott/caldicott/internal/retry"
)

// Transient marks err as worth retrying: the database or the homeserver
// was unavailable, so the whole input is tried again later. It forwards
// to retry.Transient, where the classification lives.
func Transient(err error) error { return retry.Transient(err) }

// IsTransient is true for errors that may go away (retry.IsTransient).
func IsTransient(err error) bool { return retry.IsTransient(err) }

// MatrixReason is the homeserver's own explanation, without Go wrapping.
func MatrixReason(err error) string {
	var httpErr mautrix.HTTPError
	if errors.As(err, &httpErr) && httpErr.RespError != nil {
		return httpErr.RespError.Err
	}
	return err.Error()
}
