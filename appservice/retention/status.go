package retention

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/store"
)

// DeletionStatus says, for `!policy status`, whether deletion runs in the
// room and how it stands: the hold, the last and next sweep, the oldest
// message kept, what is waiting and what went wrong. An operator never has
// to guess whether deletion runs.
func (r *Retention) DeletionStatus(ctx context.Context, roomID id.RoomID) string {
	// The hold first, whatever else holds deletion back: lifting the
	// trust-wide switch must not be the first time anyone sees it.
	var lines []string
	if h, err := r.Store.LegalHoldOf(ctx, roomID.String()); err == nil {
		lines = append(lines, fmt.Sprintf("⏸ On legal hold since %s (%s, by %s): nothing here is deleted until an IG admin lifts it.", h.Since.UTC().Format("2 Jan 2006 15:04 MST"), h.Reason, h.HeldBy))
	} else if !errors.Is(err, store.ErrNotFound) {
		lines = append(lines, "The legal hold could not be read: "+err.Error())
	}
	switch {
	case !r.Cfg.Retention.Deleting():
		return strings.Join(append(lines, "Deletion: switched off for this trust (`retention.delete: false`): messages are not deleted."), "\n")
	case r.Cfg.Policy.DryRun:
		return strings.Join(append(lines, "Deletion: Caldicott runs in dry-run mode: messages are not deleted."), "\n")
	}
	st, err := r.Store.SweepStateOf(ctx, roomID.String())
	if err != nil {
		return strings.Join(append(lines, "Deletion: its state could not be read: "+err.Error()), "\n")
	}
	now := r.Now()
	interval := r.Cfg.Retention.SweepInterval.Duration
	switch {
	case interval <= 0 && st.LastStarted.IsZero():
		lines = append(lines, "Deletion: scheduled sweeps are off (`retention.sweep_interval: 0s`) and this room has never been swept: expired messages stay until sweeps are switched back on.")
		return strings.Join(lines, "\n")
	case interval <= 0:
		lines = append(lines, fmt.Sprintf("Deletion: scheduled sweeps are off (`retention.sweep_interval: 0s`); last swept %s ago, %d deleted so far. Expired messages stay until sweeps are switched back on.", ago(now.Sub(st.LastStarted)), st.Redacted))
	case st.LastStarted.IsZero():
		lines = append(lines, fmt.Sprintf("Deletion: not swept yet; sweeps run every %s.", every(interval)))
		return strings.Join(lines, "\n")
	default:
		next := st.LastStarted.Add(interval).Sub(now)
		lines = append(lines, fmt.Sprintf("Deletion: last swept %s ago, next in about %s; %d deleted so far.", ago(now.Sub(st.LastStarted)), ago(max(next, time.Minute)), st.Redacted))
	}
	if !st.OldestKept.IsZero() {
		lines = append(lines, fmt.Sprintf("Oldest message kept: %s old.", ago(now.Sub(st.OldestKept))))
	} else if !st.LastFinished.IsZero() {
		lines = append(lines, "No messages kept: everything here has expired and been deleted.")
	}
	if st.Backlog > 0 {
		lines = append(lines, fmt.Sprintf("Waiting to be deleted: at least %d expired events (deleted a batch at a time, so the homeserver stays responsive).", st.Backlog))
	}
	if st.LastError != "" {
		lines = append(lines, fmt.Sprintf("⚠ The last sweep failed (%d in a row): %s.", st.Failures, st.LastError))
	}
	return strings.Join(lines, "\n")
}

// every says a sweep interval as people do: "15 minutes", "30 seconds".
func every(d time.Duration) string {
	if d < time.Minute {
		return plural(int(d/time.Second), "second")
	}
	return ago(d)
}

// ago says a duration as people do: "3 minutes", "2 days".
func ago(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "less than a minute"
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute")
	case d < 48*time.Hour:
		return plural(int(d/time.Hour), "hour")
	}
	return plural(int(d/(24*time.Hour)), "day")
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
