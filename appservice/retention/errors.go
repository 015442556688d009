package retention

import (
	"context"
	"errors"
	"time"

	"github.com/caldicott/caldicott/appservice/executor"
	"github.com/caldicott/caldicott/internal/retry"
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
	case retry.IsTransient(err):
		return "the homeserver or the database could not be reached (" + executor.MatrixReason(err) + ")"
	}
	return executor.MatrixReason(err)
}

// sweepRetry tries one homeserver call four times before the pass gives up
// until the next sweep, while it fails transiently (the homeserver busy,
// rate-limiting or unreachable), waiting longer each time or as long as a
// rate limit asks, never more than 30 s.
var sweepRetry = retry.Policy{
	Backoff:    retry.Backoff{Initial: time.Second, Max: 30 * time.Second},
	Attempts:   4,
	Retryable:  retry.IsTransient,
	RetryAfter: retry.RetryAfter,
}

// retry runs fn under sweepRetry.
func (r *Retention) retry(ctx context.Context, fn func() error) error {
	p := sweepRetry
	p.OnRetry = func(err error, _ int, wait time.Duration) {
		r.Log.Debug().Err(err).Dur("wait", wait).Msg("Retention sweep backing off")
	}
	return p.Do(ctx, fn)
}
