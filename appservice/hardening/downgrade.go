package hardening

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/appservice/commands"
	"github.com/caldicott/caldicott/appservice/executor"
	"github.com/caldicott/caldicott/internal/retry"
	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

// requestDowngrade records a room admin's wish to move a clinical room out
// of clinical and puts it to the IG team; the room stays clinical.
func (s *Hardening) requestDowngrade(ctx context.Context, c *commands.Call, f policy.RoomFacts, to policy.Class) error {
	r := policy.DowngradeRequest{RoomID: f.RoomID, Alias: f.Alias, To: to, By: c.Evt.Sender.String(), Reason: strings.Join(c.Args[1:], " ")}
	if err := s.Store.AddDowngradeRequest(ctx, store.DowngradeRequest{RoomID: r.RoomID, ToClass: string(to), RequestedBy: r.By, Reason: r.Reason}); err != nil {
		return err
	}
	if err := s.Audit(ctx, r.By, c.Evt.RoomID, "downgrade_requested", fmt.Sprintf("asked to move the room to %s; reason: %s", to, r.Reason), map[string]any{"to": string(to)}); err != nil {
		return err
	}
	if _, err := s.Exec.Execute(ctx, c.Evt.RoomID, r.By, policy.RequestDowngrade(r)); err != nil {
		return err
	}
	return s.Reply(ctx, c.Evt, "Moving a room out of clinical is your trust's IG team's decision: I have asked them. Until they confirm, this room stays clinical, with every protection.")
}

var CommandConfirmDowngrade = commands.Def[*Hardening]{
	CommandSpec: policy.CommandSpec{
		Name: "confirm-downgrade", Usage: "!policy confirm-downgrade <!room:server or #alias:server>",
		Summary: "IG admins: agree to move a clinical room to the class its admin asked for.",
		MinArgs: 1, MaxArgs: 1, Place: policy.InManagement, Needs: policy.IGAdmin,
	},
	Doc: "Agrees to a room admin's request to move a clinical room out of clinical: the room takes the class asked " +
		"for, its members are told that patient information no longer belongs there, and the IG team sees it done.",
	Run: (*Hardening).cmdConfirmDowngrade,
}

// cmdConfirmDowngrade: an IG admin agrees to move a room out of clinical.
func (s *Hardening) cmdConfirmDowngrade(ctx context.Context, c *commands.Call) error {
	return s.closeDowngrade(ctx, c, true)
}

var CommandRefuseDowngrade = commands.Def[*Hardening]{
	CommandSpec: policy.CommandSpec{
		Name: "refuse-downgrade", Usage: "!policy refuse-downgrade <!room:server or #alias:server> [reason]",
		Summary: "IG admins: turn down a request to move a room out of clinical.",
		MinArgs: 1, MaxArgs: -1, Place: policy.InManagement, Needs: policy.IGAdmin,
	},
	Doc: "Turns the request down: the room stays clinical and its members are told, with your reason.",
	Run: (*Hardening).cmdRefuseDowngrade,
}

// cmdRefuseDowngrade: an IG admin turns a downgrade request down.
func (s *Hardening) cmdRefuseDowngrade(ctx context.Context, c *commands.Call) error {
	return s.closeDowngrade(ctx, c, false)
}

func (s *Hardening) closeDowngrade(ctx context.Context, c *commands.Call, confirm bool) error {
	verb := "refuse-downgrade"
	if confirm {
		verb = "confirm-downgrade"
	}
	roomID, bad, err := s.RoomArg(ctx, c.Args[0], "!policy "+verb+" #ward7:"+s.Cfg.Homeserver.Domain)
	if err != nil {
		return err
	}
	if bad != "" {
		return s.Reply(ctx, c.Evt, bad)
	}
	req, err := s.Store.DowngradeRequestOf(ctx, roomID.String())
	if errors.Is(err, store.ErrNotFound) {
		return s.Reply(ctx, c.Evt, fmt.Sprintf("No request to move %s out of clinical is waiting. A room admin asks with `!policy classify social [reason]` in the room.", roomID))
	}
	if err != nil {
		return err
	}
	f, err := s.Facts.Room(ctx, roomID)
	if err != nil {
		if retry.IsTransient(err) {
			return err
		}
		return s.Reply(ctx, c.Evt, fmt.Sprintf("I cannot read room %s: %s", roomID, executor.MatrixReason(err)))
	}
	if !policy.OwnTrustRoom(f.Creator, s.Cfg.Homeserver.Domain) {
		return s.Reply(ctx, c.Evt, fmt.Sprintf("%s was created by another trust (%s): whether it stays clinical is for that trust's IG team, not ours. Nothing is changed.", roomID, id.UserID(f.Creator).Homeserver()))
	}
	ig := c.Evt.Sender.String()
	r := policy.DowngradeRequest{RoomID: roomID.String(), Alias: f.Alias, To: policy.Class(req.ToClass), By: req.RequestedBy, Reason: req.Reason}
	if !confirm {
		reason := strings.Join(c.Args[1:], " ")
		if err := s.Audit(ctx, ig, roomID, "downgrade_refused", fmt.Sprintf("move to %s asked by %s refused; %s", req.ToClass, req.RequestedBy, reason), nil); err != nil {
			return err
		}
		if _, err := s.Exec.Execute(ctx, roomID, ig, policy.RefuseDowngrade(r, ig, reason)); err != nil {
			return err
		}
		if err := s.Store.CloseDowngradeRequest(ctx, roomID.String()); err != nil {
			return err
		}
		return s.Reply(ctx, c.Evt, fmt.Sprintf("Refused: %s stays clinical. I have told the room.", policy.RoomRef(r.RoomID, r.Alias)))
	}
	res, err := s.Exec.Execute(ctx, roomID, ig, policy.ApplyDowngrade(r, f.PolicyContent(f.Class), ig))
	if err != nil {
		return err
	}
	if res.DryRun {
		return s.Reply(ctx, c.Evt, "Dry run: I would move the room out of clinical, but I am configured to change nothing.")
	}
	if len(res.Failures) > 0 {
		return s.Reply(ctx, c.Evt, "I could not change the room's class: "+strings.Join(res.Failures, " "))
	}
	if err := s.Audit(ctx, ig, roomID, "downgrade_confirmed", fmt.Sprintf("moved to %s, asked by %s", req.ToClass, req.RequestedBy), nil); err != nil {
		return err
	}
	if err := s.Store.CloseDowngradeRequest(ctx, roomID.String()); err != nil {
		return err
	}
	f.Class = r.To
	if err := s.savePolicy(ctx, f, nil, ig); err != nil {
		return err
	}
	return s.Reply(ctx, c.Evt, fmt.Sprintf("Done: %s is now %s. Its members have been told.", policy.RoomRef(r.RoomID, r.Alias), r.To))
}

// revertDirectDowngrade sets a room's class back to clinical after someone
// who is not an IG admin moved it out in room state (with devtools, say).
func (s *Hardening) revertDirectDowngrade(ctx context.Context, evt *event.Event, f policy.RoomFacts) (bool, error) {
	was, err := s.Store.RoomPolicy(ctx, f.RoomID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if policy.DecideClassChange(policy.Class(was.Class), f.Class, s.IGAdminIn(evt.Sender, f)) != policy.ChangeNeedsIG {
		return false, nil
	}
	if err := s.Audit(ctx, evt.Sender.String(), evt.RoomID, "refused.downgrade", fmt.Sprintf("class changed to %s in room state by someone who is not an IG admin; set back", orNone(f.Class)), nil); err != nil {
		return false, err
	}
	restored := f.PolicyContent(policy.Clinical)
	restored.ClassifiedBy = was.ClassifiedBy
	if _, err := s.Exec.Execute(ctx, evt.RoomID, evt.Sender.String(), policy.RevertDowngrade(f.RoomID, f.Alias, restored, evt.Sender.String(), f.Class)); err != nil {
		return false, err
	}
	// Whatever else drifted is repaired as in any clinical room.
	f.Class = policy.Clinical
	return true, s.Protect(ctx, f, policy.Cause{Kind: policy.CauseDrift, Sender: evt.Sender.String(), EventType: evt.Type.Type})
}
