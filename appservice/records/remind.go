package records

import (
	"context"
	"fmt"
	"strings"

	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/appservice/executor"
	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

// Keep says whether retention must keep a message: it is waiting for the
// patient record. When the database cannot say, it keeps it.
func (r *Records) Keep(roomID, eventID string) bool {
	waiting, err := r.Store.RecordAwaited(context.Background(), roomID, eventID)
	return err != nil || waiting
}

// Remind warns room admins once about each message still waiting for the
// record when its retention period is nearly over (a periodic job).
func (r *Records) Remind(ctx context.Context) {
	if r.Cfg.Records.RemindBefore.Duration <= 0 {
		return // records.remind_before: 0s — no reminders
	}
	waiting, err := r.Store.WaitingRecords(ctx, "")
	if err != nil {
		r.Log.Warn().Err(err).Msg("Could not read the patient record queue for reminders")
		return
	}
	now := r.Now()
	for _, rec := range waiting {
		if rec.Reminded {
			continue
		}
		// One read of the room's state gives its settings and the admins
		// to call on.
		f, members, err := r.Facts.RoomAndMembers(ctx, id.RoomID(rec.RoomID))
		if err != nil {
			continue
		}
		ret := policy.EffectiveRetention(f.Class, f.Retention, r.RetentionRules())
		if ret.MaxLifetime == 0 {
			continue
		}
		expires := rec.SentAt.Add(max(ret.MaxLifetime, ret.MinLifetime))
		if now.Before(expires.Add(-r.Cfg.Records.RemindBefore.Duration)) {
			continue
		}
		rctx := executor.WithInput(ctx, "record-reminder:"+rec.EventID)
		if rec.NotifyRoom != "" && rec.NotifyRoom != rec.RoomID {
			// The room was replaced: its admins are those of the new room.
			if f, members, err = r.Facts.RoomAndMembers(ctx, id.RoomID(rec.NotifyRoom)); err != nil {
				continue
			}
		}
		admins := policy.RoomAdmins(f.PowerLevels, members, r.BotID.String())
		tell, d := told(rec, policy.RecordReminder(rec.CommandID, expires, admins))
		if _, err := r.Exec.Execute(rctx, tell, r.BotID.String(), d); err != nil {
			continue
		}
		_ = r.Store.RecordReminded(ctx, rec.RoomID, rec.EventID)
	}
}

// StatusLine says, for `!policy status`, what is waiting for the record.
func (r *Records) StatusLine(ctx context.Context, roomID id.RoomID) string {
	waiting, err := r.Store.WaitingRecords(ctx, roomID.String())
	if err != nil {
		return "Patient record: the queue could not be read: " + err.Error()
	}
	switch {
	case !r.Enabled() && len(waiting) == 0:
		return ""
	case !r.Enabled():
		// Disconnected with messages marked earlier: they are still kept
		// from deletion, and someone must know why.
		return fmt.Sprintf("Patient record: not connected at this trust now (`records.fhir_base_url` is not set), but %d message(s) marked for it wait here and are kept from deletion until it is connected again; ask your IG team.", len(waiting))
	case len(waiting) == 0:
		return "Patient record: nothing waiting."
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Patient record: %d message(s) waiting (kept until accepted):", len(waiting))
	for _, w := range waiting {
		state := "being sent"
		if w.State == store.RecordRejected {
			state = "refused"
		}
		fmt.Fprintf(&b, "\n• marked %s by %s — %s, %d attempt(s)", w.RequestedAt.UTC().Format("2 Jan 15:04"), w.RecordedBy, state, w.Attempts)
		if w.LastError != "" {
			fmt.Fprintf(&b, "; last: %s", w.LastError)
		}
		if !w.NextAttempt.IsZero() {
			fmt.Fprintf(&b, "; next try %s", w.NextAttempt.UTC().Format("15:04:05 MST"))
		}
	}
	return b.String()
}
