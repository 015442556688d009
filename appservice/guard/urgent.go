package guard

import (
	"context"
	"errors"
	"fmt"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/policy"
)

// urgentKey is the kv row holding when a room was last reminded to phone.
func urgentKey(roomID id.RoomID) string { return "urgent_reminder:" + roomID.String() }

// RemindIfUrgent posts the urgent-message reminder (policy.urgent_reminder)
// in a clinical room when a person's message reads as urgent, at most once
// per room per period; in a room shared between trusts, only the bot of
// the sender's trust reminds. Only the time of the last reminder is kept;
// the text is read and forgotten, as for NHS numbers.
func (g *Guard) RemindIfUrgent(ctx context.Context, evt *event.Event, body string) error {
	set := g.Cfg.Policy.UrgentReminder
	rule := policy.UrgentReminder{Words: set.Words, Every: set.Every.Duration}
	// The words first: most messages need no room read at all.
	if !set.Enabled || evt.Sender == g.BotID || !policy.ReadsAsUrgent(body, rule.Words) {
		return nil
	}
	f, err := g.Facts.Room(ctx, evt.RoomID)
	if errors.Is(err, mautrix.MForbidden) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read the room for the urgent reminder: %w", err)
	}
	last, err := g.lastReminder(ctx, evt.RoomID)
	if err != nil {
		return err
	}
	now := g.Now()
	d := rule.Decide(f.Class, body, last, now)
	if len(d.Actions) == 0 {
		return nil
	}
	// In a room shared between trusts, the sender's own trust's bot speaks
	// (by its trust's setting), so the room is not reminded twice.
	if ours, err := g.JudgesHere(ctx, f, evt.Sender.String()); err != nil || !ours {
		return err
	}
	if _, err := g.Exec.Execute(ctx, evt.RoomID, g.BotID.String(), d); err != nil {
		return err
	}
	return g.Store.SetKV(ctx, urgentKey(evt.RoomID), now.UTC().Format(time.RFC3339Nano))
}

// lastReminder is when the room was last reminded; zero: never (or a row
// that cannot be read as a time, which reminds once more rather than never).
func (g *Guard) lastReminder(ctx context.Context, roomID id.RoomID) (time.Time, error) {
	v, ok, err := g.Store.KV(ctx, urgentKey(roomID))
	if err != nil || !ok {
		return time.Time{}, err
	}
	last, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, nil
	}
	return last, nil
}
