package membership

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/appservice/worker"
	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

// gateRules are the join gate's rules from config.
func (s *Membership) gateRules() policy.GateRules {
	return policy.GateRules{Requirements: s.Requirements(), TrustName: s.Cfg.Trust.Name, BridgeNamespaces: s.bridgeNamespaces}
}

// StaffEntry looks a user of this trust up in the directory. Users of other
// servers have no entry here (their own trust's directory judges them).
func (s *Membership) StaffEntry(ctx context.Context, userID string) (entry *policy.StaffEntry, directoryEmpty bool, err error) {
	if id.UserID(userID).Homeserver() != s.Cfg.Homeserver.Domain {
		return nil, false, nil
	}
	rec, err := s.Store.Staff(ctx, userID)
	if errors.Is(err, store.ErrNotFound) {
		counts, err := s.Store.StaffCounts(ctx)
		if err != nil {
			return nil, false, err
		}
		total := 0
		for _, n := range counts {
			total += n
		}
		return nil, total == 0, nil
	}
	if err != nil {
		return nil, false, err
	}
	st, _ := policy.ParseStaffStatus(rec.Status)
	return &policy.StaffEntry{UserID: rec.UserID, Name: rec.Name, Role: rec.Role, Team: rec.Team, Registration: rec.Registration, Status: st}, false, nil
}

// judgeMember runs the gate for one member of a room and executes the
// outcome; removed says whether they were removed.
func (s *Membership) judgeMember(ctx context.Context, f policy.RoomFacts, userID string, membership policy.Membership, displayName string, mode policy.GateMode, others map[string]string) (removed bool, err error) {
	if f.Class == policy.Clinical {
		// In a room several trusts share, each trust's bot judges its own.
		if here, err := s.JudgesHere(ctx, f, userID); err != nil || !here {
			return false, err
		}
	}
	j, err := s.JoinFacts(ctx, f, userID, membership)
	if err != nil {
		return false, err
	}
	// Only a joiner's name is compared with the directory's: one indexed
	// lookup of the staff whose name looks like the one they show.
	var staffNames map[string]string
	if mode == policy.OnJoin && membership == policy.MembershipJoin {
		if staffNames, err = s.Store.StaffNamed(ctx, policy.ShownName(userID, displayName)); err != nil {
			return false, err
		}
	}
	d := policy.JudgeMember(policy.MemberCheck{JoinFacts: j, Mode: mode, DisplayName: displayName, Others: others, StaffNames: staffNames}, s.gateRules())
	d = s.limitEmptyDirectoryWarnings(d)
	res, err := s.Exec.Execute(ctx, id.RoomID(f.RoomID), userID, d)
	removed = err == nil && len(res.Failures) == 0 && d.Removes(userID)
	if removed && !s.Exec.DryRun() {
		// Gone now; their leave event, when it comes, says the same.
		s.Facts.ForgetMember(id.RoomID(f.RoomID), userID)
	}
	return removed, err
}

// emptyDirectoryWarningEvery spaces the "directory is empty" warnings: one
// an hour tells the IG team; one per join would bury the management room.
const emptyDirectoryWarningEvery = time.Hour

func (s *Membership) limitEmptyDirectoryWarnings(d policy.Decision) policy.Decision {
	s.warnMu.Lock()
	defer s.warnMu.Unlock()
	return d.Without(func(a policy.Action) bool {
		if a.Kind != policy.NotifyManagement || a.Rule != policy.GateDirectoryMissing {
			return false
		}
		now := s.Now()
		if now.Sub(s.lastEmptyDirectoryWarning) < emptyDirectoryWarningEvery {
			return true
		}
		s.lastEmptyDirectoryWarning = now
		return false
	})
}

// HandleMembershipChange gates every join and invite in a clinical room.
func (s *Membership) HandleMembershipChange(ctx context.Context, evt *event.Event) error {
	content := evt.Content.AsMember()
	var membership policy.Membership
	switch content.Membership {
	case event.MembershipJoin:
		membership = policy.MembershipJoin
	case event.MembershipInvite:
		membership = policy.MembershipInvite
	case event.MembershipKnock:
		return s.handleKnock(ctx, evt, content.Reason)
	default:
		return nil
	}
	f, err := s.Facts.Room(ctx, evt.RoomID)
	if err != nil || f.Class != policy.Clinical {
		return err
	}
	if membership == policy.MembershipInvite && evt.Sender != s.BotID && !policy.IsRoomAdmin(evt.Sender.String(), f.PowerLevels, s.IGAdminIn(evt.Sender, f)) {
		j, err := s.JoinFacts(ctx, f, evt.GetStateKey(), membership)
		if err != nil {
			return err
		}
		// Someone the gate refuses is removed as usual; an eligible invitee
		// of a non-admin waits for an admin.
		if policy.JoinGate(j, s.gateRules()).Allow {
			return s.invitationToRequest(ctx, f, evt.Sender.String(), evt.GetStateKey(), "invited by "+evt.Sender.String())
		}
	}
	var others map[string]string
	if membership == policy.MembershipJoin {
		if others, err = s.Facts.Members(ctx, evt.RoomID); err != nil {
			return err
		}
		if _, still := others[evt.GetStateKey()]; !still {
			// Gone already (judged at start-up as a joiner, or left): the
			// late event changes nothing.
			return nil
		}
	}
	removed, err := s.judgeMember(ctx, f, evt.GetStateKey(), membership, content.Displayname, policy.OnJoin, others)
	if err != nil || removed || membership != policy.MembershipJoin || evt.GetStateKey() == s.BotID.String() {
		return err
	}
	return s.Verify.CheckIdentities(ctx, evt.GetStateKey())
}

// JudgeRoom judges every member of a clinical room against the directory.
func (s *Membership) JudgeRoom(ctx context.Context, f policy.RoomFacts, mode policy.GateMode) (removed int, err error) {
	if f.Class != policy.Clinical {
		return 0, nil
	}
	members, err := s.Facts.Members(ctx, id.RoomID(f.RoomID))
	if err != nil {
		return 0, err
	}
	removed, err = s.JudgeMembers(ctx, f, members, nil, mode)
	if err != nil {
		return removed, err
	}
	// Record who was judged: the next start judges anyone new as a joiner.
	if current, err := s.Facts.Members(ctx, id.RoomID(f.RoomID)); err == nil {
		if err := s.Store.SaveRoomMembers(ctx, f.RoomID, current); err != nil {
			return removed, err
		}
	}
	return removed, nil
}

// JudgeMembers judges each member: those in joiners as joiners (they came
// in while Caldicott was away), the rest in mode.
func (s *Membership) JudgeMembers(ctx context.Context, f policy.RoomFacts, members map[string]string, joiners map[string]bool, mode policy.GateMode) (removed int, err error) {
	for uid, name := range members {
		m, others := mode, map[string]string(nil)
		if joiners[uid] {
			m, others = policy.OnJoin, members
		}
		gone, err := s.judgeMember(ctx, f, uid, policy.MembershipJoin, name, m, others)
		if err != nil {
			return removed, err
		}
		if gone {
			removed++
		}
	}
	return removed, nil
}

// SweepDirectory checks every clinical room's members against the
// directory, so a leaver loses every room within one sync interval.
func (s *Membership) SweepDirectory(ctx context.Context) {
	rooms, err := s.Store.RoomPolicies(ctx)
	if err != nil {
		s.Log.Error().Err(err).Msg("Directory sweep: cannot list rooms")
		return
	}
	var total atomic.Int64
	var wg sync.WaitGroup
	for _, rp := range rooms {
		if rp.Class != string(policy.Clinical) {
			continue
		}
		wg.Add(1)
		s.lanes.Submit(ctx, rp.RoomID, true, func() {
			defer wg.Done()
			f, err := s.Facts.Room(ctx, id.RoomID(rp.RoomID))
			if err != nil {
				s.Log.Warn().Err(err).Str("room_id", rp.RoomID).Msg("Directory sweep: cannot read room")
				return
			}
			n, err := s.JudgeRoom(ctx, f, policy.OnSweep)
			if err != nil {
				s.Log.Warn().Err(err).Str("room_id", rp.RoomID).Msg("Directory sweep: room not finished")
			}
			total.Add(int64(n))
		})
	}
	worker.WaitOrDone(ctx, &wg)
	s.Log.Info().Int64("removed", total.Load()).Msg("Directory sweep done")
}

// handleKnock treats a knock (on homeservers that support knocking) exactly
// like a request through the bot, except the person has no direct chat to be
// answered in: approval reaches them as an invitation.
func (s *Membership) handleKnock(ctx context.Context, evt *event.Event, reason string) error {
	f, err := s.Facts.Room(ctx, evt.RoomID)
	if err != nil || f.Class != policy.Clinical {
		return err
	}
	user := evt.GetStateKey()
	j, err := s.JoinFacts(ctx, f, user, policy.MembershipInvite)
	if err != nil {
		return err
	}
	outcome, gd := policy.DecideRequest(j, f.Policy.AutoApprove, s.gateRules())
	switch outcome {
	case policy.RequestRefused:
		return s.Audit(ctx, user, evt.RoomID, "refused.request", "knock refused by the "+gd.Rule+" rule", nil)
	case policy.RequestAutoApproved:
		return s.inviteApproved(ctx, evt.RoomID, user, s.BotID.String(), "auto-approved knock: eligible by the staff directory")
	}
	err = s.Store.AddRequest(ctx, store.AccessRequest{RoomID: f.RoomID, UserID: user, RequestedBy: user, Reason: reason})
	if errors.Is(err, store.ErrDuplicate) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := s.Audit(ctx, user, evt.RoomID, "request", "knocked", nil); err != nil {
		return err
	}
	return s.Notice(ctx, evt.RoomID, policy.RuleRequest, fmt.Sprintf("%s knocked and asks to join this room.\nRoom admins: `!policy approve %s` or `!policy deny %s [reason]`.", describePerson(j, s.Cfg.Trust.Name), user, user))
}

// FilterLeft lists, sorted, the members of a clinical room this trust's bot
// judges who fail its role or team filter but are out of the filter's
// reach: at or above the power level of whoever set it.
func (s *Membership) FilterLeft(ctx context.Context, f policy.RoomFacts) ([]string, error) {
	if f.Class != policy.Clinical {
		return nil, nil
	}
	members, err := s.Facts.Members(ctx, id.RoomID(f.RoomID))
	if err != nil {
		return nil, err
	}
	var left []string
	for uid := range members {
		here, err := s.JudgesHere(ctx, f, uid)
		if err != nil {
			return nil, err
		}
		if !here {
			continue
		}
		j, err := s.JoinFacts(ctx, f, uid, policy.MembershipJoin)
		if err != nil {
			return nil, err
		}
		if policy.JoinGate(j, s.gateRules()).Rule == policy.GateOutranksFilters {
			left = append(left, uid)
		}
	}
	sort.Strings(left)
	return left, nil
}
