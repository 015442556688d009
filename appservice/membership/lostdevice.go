package membership

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/caldicott/caldicott/appservice/commands"
	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

var CommandLostDevice = commands.Def[*Membership]{
	CommandSpec: policy.CommandSpec{
		Name: "lost-device", Usage: "!policy lost-device @user:server",
		Summary: "IG admins: sign out every device of someone whose phone is lost, and hold them out of clinical " +
			"rooms.",
		MinArgs: 1, MaxArgs: 1, Place: policy.InManagement, Needs: policy.IGAdmin,
	},
	Doc: "Signs out every device of the person (Dendrite's admin API; Element deletes its local data when signed " +
		"out), removes them from clinical rooms and holds them out until released. Needs `homeserver.admin_token`.",
	Run: (*Membership).cmdLostDevice,
}

// cmdLostDevice is the remote-wipe answer for a lost or stolen phone: every
// device of the user is signed out through Dendrite's admin API (Element
// deletes its local data when its session is ended), and the user is held
// out of clinical rooms until an IG admin releases them after they have
// verified their identity again.
func (s *Membership) cmdLostDevice(ctx context.Context, c *commands.Call) error {
	user, bad := s.ParseUserArg(c.Args[0], "!policy lost-device")
	if bad != "" {
		return s.Reply(ctx, c.Evt, bad)
	}
	if user.Homeserver() != s.Cfg.Homeserver.Domain {
		return s.Reply(ctx, c.Evt, fmt.Sprintf("%s is not a user of %s; ask their own trust's IG team.", user, s.Cfg.Trust.Name))
	}
	if s.Cfg.Homeserver.AdminToken == "" {
		return s.Reply(ctx, c.Evt, "I cannot sign anyone out: no Dendrite admin token is configured (homeserver.admin_token or CALDICOTT_ADMIN_TOKEN). Ask your Matrix operator.")
	}
	res, err := s.Exec.Execute(ctx, c.Evt.RoomID, c.Evt.Sender.String(), policy.SignOutEverywhere(user.String(), c.Evt.Sender.String()))
	if err != nil {
		return err
	}
	if len(res.Failures) > 0 {
		return s.Reply(ctx, c.Evt, fmt.Sprintf("Dendrite refused to sign out %s: %s. Nobody has been signed out.", user, strings.Join(res.Failures, " ")))
	}
	if err := s.Store.AddHold(ctx, store.Hold{UserID: user.String(), Reason: "their devices were signed out after a report of a lost device", HeldBy: c.Evt.Sender.String()}); err != nil {
		return err
	}
	if err := s.Audit(ctx, c.Evt.Sender.String(), "", "lost_device", fmt.Sprintf("all devices of %s signed out and %s held out of clinical rooms", user, user), map[string]any{"user_id": user.String()}); err != nil {
		return err
	}
	removed, err := s.RemoveFromClinicalRooms(ctx, user)
	if err != nil {
		return err
	}
	return s.Reply(ctx, c.Evt, fmt.Sprintf("Every device of %s has been signed out; Element deletes its local copy of their messages when it is signed out. They were removed from %d clinical room(s) and are held out of them. Give them new credentials through your usual process; once they have verified their identity, type `!policy release %s`.", user, removed, user))
}

var CommandRelease = commands.Def[*Membership]{
	CommandSpec: policy.CommandSpec{
		Name: "release", Usage: "!policy release @user:server",
		Summary: "IG admins: let someone held out of clinical rooms back in.",
		MinArgs: 1, MaxArgs: 1, Place: policy.InManagement, Needs: policy.IGAdmin,
	},
	Doc: "Ends a hold, e.g. once the person has verified their identity again.",
	Run: (*Membership).cmdRelease,
}

// cmdRelease ends a hold.
func (s *Membership) cmdRelease(ctx context.Context, c *commands.Call) error {
	user, bad := s.ParseUserArg(c.Args[0], "!policy release")
	if bad != "" {
		return s.Reply(ctx, c.Evt, bad)
	}
	err := s.Store.ReleaseHold(ctx, user.String())
	if errors.Is(err, store.ErrNotFound) {
		return s.Reply(ctx, c.Evt, fmt.Sprintf("%s is not held out of clinical rooms.", user))
	}
	if err != nil {
		return err
	}
	if err := s.Audit(ctx, c.Evt.Sender.String(), "", "release", user.String()+" released", map[string]any{"user_id": user.String()}); err != nil {
		return err
	}
	return s.Reply(ctx, c.Evt, fmt.Sprintf("%s may join clinical rooms again; their rooms' admins can invite them.", user))
}
