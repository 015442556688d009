package retention

import (
	"context"
	"errors"
	"fmt"
	"time"

	"maunium.net/go/mautrix"

	"github.com/caldicott/caldicott/appservice/executor"
)

// refusal is the homeserver saying no to a deletion (the bot lacks the
// power to redact, say): retrying will not help until someone acts.
type refusal struct{ reason string }

func (r refusal) Error() string { return r.reason }

// plainError says what went wrong in words for status and the IG team.
func plainError(err error) string {
	var ref refusal
	switch {
	case errors.As(err, &ref):
		return "the homeserver refused a deletion (" + ref.reason + ")"
	case executor.IsTransient(err):
		return "the homeserver or the database could not be reached (" + executor.MatrixReason(err) + ")"
	}
	return executor.MatrixReason(err)
}

// Retries of one homeserver call before the pass gives up until the next
// sweep, and the longest wait between them.
const (
	attempts   = 4
	maxBackoff = 30 * time.Second
)

// retry runs fn again while it fails transiently — the homeserver busy,
// rate-limiting or unreachable — waiting longer each time, or as long as a
// rate limit asks.
func (r *Retention) retry(ctx context.Context, fn func() error) error {
	wait := time.Second
	var err error
	for try := 1; ; try++ {
		if err = fn(); err == nil || !executor.IsTransient(err) {
			return err
		}
		if try == attempts {
			return fmt.Errorf("after %d tries: %w", attempts, err)
		}
		d := wait
		if ra := retryAfter(err); ra > 0 {
			d = ra
		}
		r.Log.Debug().Err(err).Dur("wait", d).Msg("Retention sweep backing off")
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(min(d, maxBackoff)):
		}
		wait = min(wait*2, maxBackoff)
	}
}

// retryAfter is how long a rate limit asks to wait, or 0.
func retryAfter(err error) time.Duration {
	var httpErr mautrix.HTTPError
	if !errors.As(err, &httpErr) || httpErr.RespError == nil {
		return 0
	}
	if ms, ok := httpErr.RespError.ExtraData["retry_after_ms"].(float64); ok && ms > 0 {
		return time.Duration(ms) * time.Millisecond
	}
	return 0
}
