package retention

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/appservice/commands"
	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

var CommandHold = commands.Def[*Retention]{
	CommandSpec: policy.CommandSpec{
		Name: "hold", Usage: "!policy hold on <reason>|off|list",
		Summary: "IG admins: stop deletion in this room (legal hold) or resume it; list held rooms in the management " +
			"room.",
		MinArgs: 1, MaxArgs: -1, Place: policy.Anywhere, Needs: policy.IGAdmin,
	},
	Doc: "In a room: `!policy hold on <reason>` stops the deletion of its messages until `!policy hold off`; " +
		"deletion then resumes at once. In the management room: `!policy hold list` shows every held room with who " +
		"placed the hold, when and why; `!policy hold on #room:server <reason>` and `!policy hold off #room:server` " +
		"work from there too. Holds are audited and shown by `!policy status`.",
	Run: (*Retention).cmdHold,
}

// cmdHold: an IG admin stops deletion in a room (a legal hold, a complaint,
// an inquiry) and resumes it; in the management room, lists the holds.
//
//	in the room:            !policy hold on <reason> | off
//	in the management room: !policy hold list | on <room> <reason> | off <room>
func (r *Retention) cmdHold(ctx context.Context, c *commands.Call) error {
	inManagement := c.Evt.RoomID == r.Exec.ManagementRoom()
	verb := strings.ToLower(c.Args[0])
	args := c.Args[1:]
	switch verb {
	case "list":
		if !inManagement {
			return r.Reply(ctx, c.Evt, "The list of holds is shown in the management room only: use `!policy hold list` there.")
		}
		return r.listHolds(ctx, c)
	case "on", "off":
	default:
		return r.Reply(ctx, c.Evt, fmt.Sprintf("%q is not something a hold does. Use `!policy hold on <reason>`, `!policy hold off` or, in the management room, `!policy hold list`.", c.Args[0]))
	}
	roomID := c.Evt.RoomID
	if inManagement {
		if len(args) == 0 {
			return r.Reply(ctx, c.Evt, fmt.Sprintf("Say which room: `!policy hold %s #ward7:%s%s`.", verb, r.Cfg.Homeserver.Domain, map[string]string{"on": " <reason>", "off": ""}[verb]))
		}
		var bad string
		var err error
		if roomID, bad, err = r.RoomArg(ctx, args[0], "!policy hold "+verb+" #ward7:"+r.Cfg.Homeserver.Domain); err != nil {
			return err
		} else if bad != "" {
			return r.Reply(ctx, c.Evt, bad)
		}
		args = args[1:]
	}
	if verb == "off" {
		return r.liftHold(ctx, c, roomID)
	}
	reason := strings.TrimSpace(strings.Join(args, " "))
	if reason == "" {
		return r.Reply(ctx, c.Evt, "Give the reason for the hold (it is kept in the audit log), e.g. `!policy hold on complaint 2026/114`.")
	}
	return r.placeHold(ctx, c, roomID, reason)
}

func (r *Retention) placeHold(ctx context.Context, c *commands.Call, roomID id.RoomID, reason string) error {
	if err := r.Store.AddLegalHold(ctx, store.LegalHold{RoomID: roomID.String(), Reason: reason, HeldBy: c.Evt.Sender.String()}); err != nil {
		return err
	}
	if err := r.Audit(ctx, c.Evt.Sender.String(), roomID, "legal_hold.on", reason, nil); err != nil {
		return err
	}
	return r.Reply(ctx, c.Evt, fmt.Sprintf("Legal hold placed on %s: nothing there is deleted until an IG admin lifts it with `!policy hold off`. Reason recorded: %s", roomID, reason))
}

func (r *Retention) liftHold(ctx context.Context, c *commands.Call, roomID id.RoomID) error {
	err := r.Store.LiftLegalHold(ctx, roomID.String())
	if errors.Is(err, store.ErrNotFound) {
		return r.Reply(ctx, c.Evt, fmt.Sprintf("%s is not on legal hold.", roomID))
	}
	if err != nil {
		return err
	}
	if err := r.Audit(ctx, c.Evt.Sender.String(), roomID, "legal_hold.off", "legal hold lifted", nil); err != nil {
		return err
	}
	// Deletion resumes now, not at the next sweep.
	go r.SweepSoon(r.Life, roomID)
	return r.Reply(ctx, c.Evt, fmt.Sprintf("Legal hold lifted on %s: messages past the room's retention period are deleted again, starting now.", roomID))
}

func (r *Retention) listHolds(ctx context.Context, c *commands.Call) error {
	holds, err := r.Store.LegalHolds(ctx)
	if err != nil {
		return err
	}
	if len(holds) == 0 {
		return r.Reply(ctx, c.Evt, "No room is on legal hold: deletion runs everywhere on schedule.")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Rooms on legal hold (nothing in them is deleted): %d\n", len(holds))
	for _, h := range holds {
		ref := h.RoomID
		if f, err := r.Facts.Room(ctx, id.RoomID(h.RoomID)); err == nil && f.Alias != "" {
			ref = f.Alias + " (" + h.RoomID + ")"
		}
		fmt.Fprintf(&b, "• %s — since %s, by %s: %s\n", ref, h.Since.UTC().Format("2 Jan 2006"), h.HeldBy, h.Reason)
	}
	return r.Reply(ctx, c.Evt, strings.TrimSpace(b.String()))
}
