package policy

import (
	"fmt"
	"time"
)

// SweepEvent is what a retention sweep knows of one event in a room's
// history.
type SweepEvent struct {
	ID   string
	Type string
	Sent time.Time
	// State events are the room's settings and membership, never deleted.
	State bool
	// Redacted events have no content left to delete.
	Redacted bool
	// Keep: marked for the patient record and not yet recorded.
	Keep bool
}

// SweepResult is what one page of history comes to.
type SweepResult struct {
	Decision Decision
	// Done: the page holds a message that has not expired, so nothing
	// after it has either (history is read oldest first); the pass ends.
	Done bool
	// OldestKept is the send time of that message.
	OldestKept time.Time
	// Backlog counts expired events left for a later pass: beyond the
	// budget, or kept for the patient record.
	Backlog int
	// Kept counts expired events kept because they await the record.
	Kept int
}

// Deletable reports whether the sweep deletes this kind of event at all:
// every event with content that is not room state (messages, files,
// reactions, edits, encrypted events), except redactions themselves.
func (e SweepEvent) Deletable() bool {
	return !e.State && !e.Redacted && e.Type != "m.room.redaction"
}

// SweepPage decides, for one page of a room's history read oldest first,
// which events have expired under the room's retention and are deleted —
// at most budget of them. Nothing younger than the room's minimum lifetime
// is deleted, whatever its maximum. Unclassified rooms (no retention) and
// rooms on legal hold lose nothing.
func SweepPage(now time.Time, r Retention, held bool, events []SweepEvent, budget int) SweepResult {
	var res SweepResult
	if r.MaxLifetime <= 0 || held {
		res.Done = true
		return res
	}
	expiry := max(r.MaxLifetime, r.MinLifetime)
	cutoff := now.Add(-expiry)
	why := fmt.Sprintf("Deleted under this room's retention period (%s).", FormatDays(r.MaxLifetime))
	for _, e := range events {
		if !e.Deletable() {
			continue
		}
		if e.Sent.After(cutoff) {
			res.Done, res.OldestKept = true, e.Sent
			return res
		}
		switch {
		case e.Keep:
			res.Kept++
			res.Backlog++
		case len(res.Decision.Actions) >= budget:
			res.Backlog++
		default:
			res.Decision.Actions = append(res.Decision.Actions, Action{Kind: Redact, Rule: RuleRetentionExpiry, EventID: e.ID, Text: why, Reason: why})
		}
	}
	return res
}

// Sweep health, as the management room was last told of it.
const (
	SweepHealthy = ""
	SweepFailing = "failing"
	SweepBehind  = "behind"
)

// SweepHealth judges a room's deletion after a pass: failing when passes
// keep failing (or the homeserver refused outright), behind when expired
// messages have waited longer than two sweep intervals.
func SweepHealth(failures int64, refused bool, backlog int64, lastCaughtUp, now time.Time, interval time.Duration) string {
	switch {
	case refused || failures >= 2:
		return SweepFailing
	case backlog > 0 && !lastCaughtUp.IsZero() && now.Sub(lastCaughtUp) > 2*interval:
		return SweepBehind
	}
	return SweepHealthy
}

// SweepAlert tells the IG team when a room's deletion changes health: once
// when it starts failing or falls behind, once when it recovers.
func SweepAlert(was, now, room, detail string) Decision {
	if was == now {
		return Decision{}
	}
	var text string
	switch now {
	case SweepFailing:
		text = fmt.Sprintf("⚠ Messages in %s are not being deleted on schedule: %s. Expired messages stay until this is fixed; `!policy status` in the room shows the details.", room, detail)
	case SweepBehind:
		text = fmt.Sprintf("⚠ Deletion in %s has fallen behind: %s. Caldicott keeps working through it; if this persists, check the homeserver's load.", room, detail)
	default:
		text = fmt.Sprintf("✅ Deletion in %s is back on schedule.", room)
	}
	return ManagementNotice(RuleRetentionAlert, text, "retention sweep health: "+OrNone(now))
}

// OrNone is s, or "healthy" when s is empty.
func OrNone(s string) string {
	if s == "" {
		return "healthy"
	}
	return s
}
