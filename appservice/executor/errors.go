package executor

import (
	"errors"

	"maunium.net/go/mautrix"
)

// MatrixReason is the homeserver's own explanation, without Go wrapping.
func MatrixReason(err error) string {
	var httpErr mautrix.HTTPError
	if errors.As(err, &httpErr) && httpErr.RespError != nil {
		return httpErr.RespError.Err
	}
	return err.Error()
}
