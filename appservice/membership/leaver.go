package membership

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/appservice/commands"
	"github.com/caldicott/caldicott/appservice/kit"
	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

var CommandLeaver = commands.Def[*Membership]{
	CommandSpec: policy.CommandSpec{
		Name: "leaver", Usage: "!policy leaver @user:server [reason]",
		Summary: "IG admins: record that someone has left and remove them from every clinical room now.",
		MinArgs: 1, MaxArgs: -1, Place: policy.InManagement, Needs: policy.IGAdmin,
	},
	Doc: "Records the person as having left and removes them from every clinical room now; their identity " +
		"confirmation is withdrawn, here and for the other trusts.",
	Run: (*Membership).cmdLeaver,
}

// cmdLeaver records a leaver in the directory and removes them from every
// clinical room now, rather than at the next sweep.
func (s *Membership) cmdLeaver(ctx context.Context, c *commands.Call) error {
	user, bad := s.ParseUserArg(c.Args[0], "!policy leaver")
	if bad != "" {
		return s.Reply(ctx, c.Evt, bad)
	}
	if user.Homeserver() != s.Cfg.Homeserver.Domain {
		return s.Reply(ctx, c.Evt, fmt.Sprintf("%s is not a user of %s; only their own trust can record them as a leaver.", user, s.Cfg.Trust.Name))
	}
	reason := strings.Join(c.Args[1:], " ")
	err := s.Store.SetStaffStatus(ctx, user.String(), string(policy.StatusLeft))
	if errors.Is(err, store.ErrNotFound) {
		err = s.Store.UpsertStaff(ctx, []store.StaffRecord{{UserID: user.String(), Name: user.String(), Status: string(policy.StatusLeft), Source: "command"}})
	}
	if err != nil {
		return err
	}
	if err := s.Audit(ctx, c.Evt.Sender.String(), "", "leaver", fmt.Sprintf("%s recorded as left by %s; %s", user, c.Evt.Sender, kit.OrWord(reason, "no reason given")), map[string]any{"user_id": user.String()}); err != nil {
		return err
	}
	removed, err := s.RemoveFromClinicalRooms(ctx, user)
	if err != nil {
		return err
	}
	if err := s.Verify.WithdrawIfLeft(ctx, user.String()); err != nil {
		return err
	}
	if s.List != nil {
		// The other trusts hear now, not at the next read of the journal.
		if err := s.List.PublishStanding(ctx, user.String()); err != nil {
			return err
		}
	}
	return s.Reply(ctx, c.Evt, fmt.Sprintf("%s is recorded as having left %s and was removed from %d clinical room(s).", user, s.Cfg.Trust.Name, removed))
}

// RemoveFromClinicalRooms judges one user in every clinical room they are
// in (the member cache answers which), and counts the rooms they lost.
func (s *Membership) RemoveFromClinicalRooms(ctx context.Context, user id.UserID) (int, error) {
	rooms, err := s.Store.RoomPolicies(ctx)
	if err != nil {
		return 0, err
	}
	removed := 0
	for _, rp := range rooms {
		if rp.Class != string(policy.Clinical) {
			continue
		}
		members, err := s.Facts.Members(ctx, id.RoomID(rp.RoomID))
		if err != nil {
			s.Log.Warn().Err(err).Str("room_id", rp.RoomID).Msg("Cannot list members")
			continue
		}
		name, ok := members[user.String()]
		if !ok {
			continue
		}
		f, err := s.Facts.Room(ctx, id.RoomID(rp.RoomID))
		if err != nil {
			return removed, err
		}
		gone, err := s.judgeMember(ctx, f, user.String(), policy.MembershipJoin, name, policy.OnSweep, nil)
		if err != nil {
			return removed, err
		}
		if gone {
			removed++
		}
	}
	return removed, nil
}
