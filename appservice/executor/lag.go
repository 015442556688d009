package executor

import (
	"context"
	"errors"
	"time"

	"github.com/caldicott/caldicott/internal/retry"
)

// errNotShownYet: what a resumed step looks for does not show yet.
var errNotShownYet = errors.New("not shown by the homeserver yet")

// homeserverLag bounds how long a resumed step waits for the homeserver to
// show what an attempt before a crash did (a message sent, an event
// redacted). Dendrite serves history and events from its sync side, which
// follows the room by up to a few seconds under load: a step resumed within
// milliseconds of the crash read its own redaction, and in a kill trial its
// own notice, as missing and did it twice. Resumed steps are few (the ones a
// crash left on the way), so the wait, about 3 s when nothing shows, is
// cheap.
var homeserverLag = retry.Policy{Backoff: retry.Backoff{Initial: 200 * time.Millisecond, Max: time.Second}, Attempts: 6,
	Retryable: func(err error) bool { return errors.Is(err, errNotShownYet) }}

// shownWithinLag asks look until it says shown, the lag is out (false), or
// it fails (its error, at once: a history that cannot be read is never a
// guess either way).
func shownWithinLag(ctx context.Context, look func() (bool, error)) (bool, error) {
	err := homeserverLag.Do(ctx, func() error {
		shown, err := look()
		switch {
		case err != nil:
			return err
		case !shown:
			return errNotShownYet
		}
		return nil
	})
	if errors.Is(err, errNotShownYet) {
		return false, nil
	}
	return err == nil, err
}
