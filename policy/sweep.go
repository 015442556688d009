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

// SweepWorthReading says whether a pass must read a room's history at
// all. Not when the room is on hold or unclassified; nor when the last pass
// caught up (nothing expired left waiting, none kept for the record) and
// its oldest surviving message is still within the room's lifetime: all
// the rest is younger, so nothing can have expired since. A room swept
// often then costs one read of its state, not a page of its history.
func SweepWorthReading(now time.Time, r Retention, held bool, oldestKept time.Time, backlog int64) bool {
	switch {
	case held || r.MaxLifetime <= 0:
		return false
	case oldestKept.IsZero() || backlog > 0:
		return true
	}
	return !now.Before(oldestKept.Add(max(r.MaxLifetime, r.MinLifetime)))
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
// when it starts failing or falls behind, once when it recovers. lastError
// is why passes fail; a room that is behind has no error, so the alert
// says how much is waiting and since when instead.
func SweepAlert(was, now, room, lastError string, backlog int64, lastCaughtUp, at time.Time) Decision {
	if was == now {
		return Decision{}
	}
	var text string
	switch now {
	case SweepFailing:
		text = fmt.Sprintf("⚠ Messages in %s are not being deleted on schedule: %s. Expired messages stay until this is fixed; `!policy status` in the room shows the details.", room, OrUnknown(lastError))
	case SweepBehind:
		text = fmt.Sprintf("⚠ Deletion in %s has fallen behind: %s. Caldicott keeps working through it; if this persists, check the homeserver's load.", room, behindDetail(backlog, lastCaughtUp, at))
	default:
		text = fmt.Sprintf("✅ Deletion in %s is back on schedule.", room)
	}
	return ManagementNotice(RuleRetentionAlert, text, "retention sweep health: "+OrNone(now))
}

// behindDetail says how far behind a room's deletion is, in numbers an
// operator can compare with the next alert.
func behindDetail(backlog int64, lastCaughtUp, at time.Time) string {
	waiting := fmt.Sprintf("%d expired messages are still waiting", backlog)
	if backlog == 1 {
		waiting = "1 expired message is still waiting"
	}
	if lastCaughtUp.IsZero() {
		return waiting + " and the room has never been fully swept"
	}
	return waiting + ", and the room was last fully swept " + FormatAgo(at.Sub(lastCaughtUp)) + " ago"
}

// FormatAgo says an elapsed time to the minute ("3 h 20 min", "45 min").
func FormatAgo(d time.Duration) string {
	d = d.Round(time.Minute)
	switch h, m := int(d/time.Hour), int(d%time.Hour/time.Minute); {
	case h >= 48:
		return fmt.Sprintf("%d days", h/24)
	case h > 0 && m > 0:
		return fmt.Sprintf("%d h %d min", h, m)
	case h > 0:
		return fmt.Sprintf("%d h", h)
	default:
		return fmt.Sprintf("%d min", m)
	}
}

// OrUnknown is s, or a plain word for a reason nobody recorded.
func OrUnknown(s string) string {
	if s == "" {
		return "the reason was not recorded"
	}
	return s
}

// OrNone is s, or "healthy" when s is empty.
func OrNone(s string) string {
	if s == "" {
		return "healthy"
	}
	return s
}
