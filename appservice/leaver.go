package appservice

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

// cmdLeaver records a leaver in the directory and removes them from every
// clinical room now, rather than at the next sweep.
func (s *Service) cmdLeaver(ctx context.Context, c *commandContext) error {
	user, bad := s.parseUserArg(c.Args[0], "!policy leaver")
	if bad != "" {
		return s.reply(ctx, c.Evt, bad)
	}
	if user.Homeserver() != s.cfg.Homeserver.Domain {
		return s.reply(ctx, c.Evt, fmt.Sprintf("%s is not a user of %s; only their own trust can record them as a leaver.", user, s.cfg.Trust.Name))
	}
	reason := strings.Join(c.Args[1:], " ")
	err := s.store.SetStaffStatus(ctx, user.String(), string(policy.StatusLeft))
	if errors.Is(err, store.ErrNotFound) {
		err = s.store.UpsertStaff(ctx, []store.StaffRecord{{UserID: user.String(), Name: user.String(), Status: string(policy.StatusLeft), Source: "command"}})
	}
	if err != nil {
		return transient(err)
	}
	if err := s.audit(ctx, c.Evt.Sender.String(), "", "leaver", fmt.Sprintf("%s recorded as left by %s; %s", user, c.Evt.Sender, orWord(reason, "no reason given")), map[string]any{"user_id": user.String()}); err != nil {
		return err
	}
	removed, err := s.removeFromClinicalRooms(ctx, user)
	if err != nil {
		return err
	}
	if err := s.withdrawIfLeft(ctx, user.String()); err != nil {
		return err
	}
	return s.reply(ctx, c.Evt, fmt.Sprintf("%s is recorded as having left %s and was removed from %d clinical room(s).", user, s.cfg.Trust.Name, removed))
}

// removeFromClinicalRooms judges one user in every clinical room they are
// in (the member cache answers which), and counts the rooms they lost.
func (s *Service) removeFromClinicalRooms(ctx context.Context, user id.UserID) (int, error) {
	rooms, err := s.store.RoomPolicies(ctx)
	if err != nil {
		return 0, transient(err)
	}
	removed := 0
	for _, rp := range rooms {
		if rp.Class != string(policy.Clinical) {
			continue
		}
		members, err := s.facts.Members(ctx, id.RoomID(rp.RoomID))
		if err != nil {
			s.log.Warn().Err(err).Str("room_id", rp.RoomID).Msg("Cannot list members")
			continue
		}
		name, ok := members[user.String()]
		if !ok {
			continue
		}
		f, err := s.facts.Room(ctx, id.RoomID(rp.RoomID))
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

func orWord(v, word string) string {
	if v == "" {
		return word
	}
	return v
}
