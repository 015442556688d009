package retention

import (
	"context"
	"fmt"

	"maunium.net/go/mautrix/event"

	"github.com/caldicott/caldicott/policy"
)

// HandleRetentionChange tells a room what its retention setting now means
// when someone sets m.room.retention directly (not with `!policy
// retention`): an unreadable setting means the class default, one outside
// the trust's limits is held to them — never "delete everything", never
// "keep forever" — and the room should know.
func (r *Retention) HandleRetentionChange(ctx context.Context, evt *event.Event) error {
	if evt.Sender == r.BotID {
		return nil
	}
	f, err := r.Facts.Room(ctx, evt.RoomID)
	if err != nil {
		return err
	}
	ret := policy.EffectiveRetention(f.Class, f.Retention, r.RetentionRules())
	if ret.MaxLifetime == 0 {
		return nil // unclassified: nothing is deleted here
	}
	text := fmt.Sprintf("This room now keeps messages for %s; older ones are deleted.", policy.FormatDays(ret.MaxLifetime))
	if ret.Problem != "" {
		text = "⚠ " + ret.Problem
	}
	return r.Notice(ctx, evt.RoomID, policy.RuleRetention, text)
}
