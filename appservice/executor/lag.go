package executor

import (
	"context"
	"time"

	"github.com/caldicott/caldicott/internal/retry"
)

// historyLag is how far the homeserver's history may follow a send: Dendrite
// serves history and events from its sync side, which follows the room by
// up to a few seconds under load. A step resumed within milliseconds of a
// crash read its own redaction, and in a kill trial its own notice, as
// missing, and did it twice.
const historyLag = 3 * time.Second

// lagBackoff paces the reads while a resumed step waits for the history.
var lagBackoff = retry.Backoff{Initial: 200 * time.Millisecond, Max: time.Second}

// HistorySettlesAfter tells the executor when the last leader (another
// process, or this one before a restart) could last have acted: a step
// resumed from its action log then waits, for what it looks for, until
// historyLag after that, and no longer. The leader says so when it takes
// the lease: after a failover the lease has lapsed, so the wait is short
// or nothing, and however many steps are resumed they share the one
// deadline instead of waiting in turn. Untold, a replay counts from its own
// start.
func (e *Executor) HistorySettlesAfter(lastActed time.Time) {
	t := lastActed.Add(historyLag)
	e.settles.Store(&t)
}

// replayLookUntil is until when a step resumed from the action log waits
// for the history.
func (e *Executor) replayLookUntil() time.Time {
	if t := e.settles.Load(); t != nil {
		return *t
	}
	return freshLookUntil()
}

// freshLookUntil is until when a step that just failed part-way (the
// homeserver's answer lost) waits for the history, when it is resumed.
func freshLookUntil() time.Time { return time.Now().Add(historyLag) }

// shownWithinLag asks look until it says shown, until has passed (false,
// after one last look), or it fails (its error, at once: a history that
// cannot be read is never a guess either way).
func shownWithinLag(ctx context.Context, until time.Time, look func() (bool, error)) (bool, error) {
	var wait time.Duration
	for {
		shown, err := look()
		if err != nil || shown {
			return shown, err
		}
		left := time.Until(until)
		if left <= 0 {
			return false, nil
		}
		wait = lagBackoff.Next(wait)
		if !retry.Sleep(ctx, min(wait, left)) {
			return false, ctx.Err()
		}
	}
}
