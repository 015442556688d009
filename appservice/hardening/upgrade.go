package hardening

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/appservice/executor"
	"github.com/caldicott/caldicott/internal/retry"
	"github.com/caldicott/caldicott/policy"
)

// joinTries and joinPause: Element invites the old room's members, the bot
// among them, just after the upgrade, so a refused first join is tried a
// little longer before the room is told the new one is not protected.
const (
	joinTries = 3
	joinPause = time.Second
)

var typeTombstone = event.Type{Type: policy.TombstoneEventType, Class: event.StateEventType}

// HandleTombstone follows a guarded room to the room that replaces it (a
// room upgrade): the bot joins the new room and carries the old room's
// protection over; if it cannot get in, the old room's members and the IG
// team are told at once that the new room is not protected and what to do.
// The join is tried a few times, then never again: an invitation to the
// new room (handleMember) is what brings the bot in later.
func (s *Hardening) HandleTombstone(ctx context.Context, evt *event.Event) error {
	var content struct {
		ReplacementRoom string `json:"replacement_room"`
	}
	if err := json.Unmarshal(evt.Content.VeryRaw, &content); err != nil || !isRoomID(content.ReplacementRoom) || content.ReplacementRoom == evt.RoomID.String() {
		return nil // closed without a (usable) replacement: nothing to follow
	}
	oldRoom, newRoom := evt.RoomID, id.RoomID(content.ReplacementRoom)
	f, err := s.Facts.Room(ctx, oldRoom)
	if errors.Is(err, mautrix.MForbidden) {
		return nil
	}
	if err != nil {
		return err
	}
	if !policy.Guarded(f.Class) {
		return nil
	}
	by := evt.Sender.String()
	if err := s.Store.NoteRoomUpgrade(ctx, oldRoom.String(), newRoom.String(), by); err != nil {
		return err
	}
	if err := s.Audit(ctx, by, oldRoom, "room_upgraded", "the room was replaced by "+newRoom.String(), map[string]any{"replacement_room": newRoom.String(), "event_id": evt.ID.String()}); err != nil {
		return err
	}
	succ := policy.Succession{OldRoom: oldRoom.String(), NewRoom: newRoom.String(), UpgradedBy: by, Tombstone: newRoom.String()}
	why, err := s.joinReplacement(ctx, succ)
	if err != nil {
		return err
	}
	if why == "" {
		carried, err := s.followUpgrade(ctx, oldRoom, newRoom, by)
		if err != nil || !carried {
			return err
		}
		return s.ReconcileRoom(ctx, newRoom)
	}
	rctx := executor.WithInput(ctx, "upgrade:"+oldRoom.String()+":"+newRoom.String()+":unprotected")
	_, err = s.Exec.Execute(rctx, oldRoom, s.BotID.String(), policy.ReplacementUnprotected(succ, f.Class, s.BotID.String(), why))
	return err
}

// joinReplacement joins the new room; it returns why not when it could not.
// Each try is its own input, so a try that failed is never repeated.
func (s *Hardening) joinReplacement(ctx context.Context, succ policy.Succession) (why string, err error) {
	wait := retry.Delay{Backoff: retry.Backoff{Initial: joinPause}}
	for try := 0; try < joinTries; try++ {
		if try > 0 && !wait.Wait(ctx) {
			return "", ctx.Err()
		}
		tctx := executor.WithInput(ctx, fmt.Sprintf("upgrade:%s:%s:join%d", succ.OldRoom, succ.NewRoom, try))
		res, err := s.Exec.Execute(tctx, id.RoomID(succ.NewRoom), s.BotID.String(), policy.JoinReplacement(succ))
		if err != nil {
			return "", err
		}
		if res.DryRun {
			return "dry run: I am configured to change nothing", nil
		}
		if len(res.Failures) == 0 {
			// Joined now, or a try handled before (then the room's state
			// says whether the bot is in).
			if in, err := s.inRoom(ctx, id.RoomID(succ.NewRoom)); err != nil || in {
				return "", err
			}
			why = "I am not a member"
			continue
		}
		why = strings.TrimPrefix(res.Failures[0], "I could not join the new room "+succ.NewRoom+": ")
	}
	return why, nil
}

func (s *Hardening) inRoom(ctx context.Context, room id.RoomID) (bool, error) {
	var m event.MemberEventContent
	err := s.Bot.StateEvent(ctx, room, event.StateMember, s.BotID.String(), &m)
	switch {
	case errors.Is(err, mautrix.MForbidden), errors.Is(err, mautrix.MNotFound):
		return false, nil
	case err != nil:
		return false, retry.Transient(err)
	}
	return m.Membership == event.MembershipJoin, nil
}

// FollowInvitation: the bot has just joined a room it was invited to. If
// the room was made by upgrading a guarded room (Element invites the old
// room's members, the bot among them), the old room's protection is carried
// over; the caller then reconciles the room as any other.
func (s *Hardening) FollowInvitation(ctx context.Context, room id.RoomID, inviter id.UserID) error {
	pred, err := s.predecessor(ctx, room)
	if err != nil || pred == "" {
		return err
	}
	_, err = s.followUpgrade(ctx, id.RoomID(pred), room, inviter.String())
	return err
}

// followUpgrade carries oldRoom's protection over to newRoom once both
// rooms name each other; otherwise it refuses and says why. It reports
// whether the new room is now guarded as the old one was.
func (s *Hardening) followUpgrade(ctx context.Context, oldRoom, newRoom id.RoomID, by string) (bool, error) {
	old, err := s.Facts.Room(ctx, oldRoom)
	if errors.Is(err, mautrix.MForbidden) {
		return false, nil // a room the bot never guarded
	}
	if err != nil {
		return false, err
	}
	if !policy.Guarded(old.Class) {
		return false, nil
	}
	succ := policy.Succession{OldRoom: oldRoom.String(), NewRoom: newRoom.String(), UpgradedBy: by}
	if succ.Tombstone, err = s.tombstoneTarget(ctx, oldRoom); err != nil {
		return false, err
	}
	if succ.Predecessor, err = s.predecessor(ctx, newRoom); err != nil {
		return false, err
	}
	input := "upgrade:" + oldRoom.String() + ":" + newRoom.String()
	if ok, why := succ.Genuine(); !ok {
		return false, s.refuseUpgrade(executor.WithInput(ctx, input+":refused"), succ, why)
	}
	// A replacement made with the bot at less than its power (a room admin
	// creating it by hand) could be called guarded while the bot can
	// neither repair it nor remove anyone: nothing moves there.
	repl, err := s.Facts.Room(ctx, newRoom)
	if err != nil {
		return false, err
	}
	if lvl := repl.PowerLevels.UserLevel(s.BotID.String()); lvl < policy.BotPowerLevel {
		why := fmt.Sprintf("I have power %d in the new room, not the %d I need to protect it; ask its admin to give me power %d there, then upgrade again or invite me again", lvl, policy.BotPowerLevel, policy.BotPowerLevel)
		return false, s.refuseUpgrade(executor.WithInput(ctx, input+":powerless"), succ, why)
	}
	carried, err := s.Store.CarryOverRoom(ctx, oldRoom.String(), newRoom.String(), by)
	if err != nil {
		return false, err
	}
	if carried.Already {
		return true, nil
	}
	state := policy.CarryOverState(old, repl)
	if _, err := s.Exec.Execute(executor.WithInput(ctx, input+":state"), newRoom, s.BotID.String(), state); err != nil {
		return false, err
	}
	summary := policy.Carried{Class: old.Class, LegalHold: carried.LegalHold, Review: carried.Review, Downgrade: carried.Downgrade, Requests: carried.Requests, Records: carried.Records}
	for _, a := range state.Actions {
		summary.SetBack = append(summary.SetBack, a.Text)
	}
	if err := s.Audit(ctx, by, newRoom, "room_upgrade_carried", "protection carried over from "+oldRoom.String(), map[string]any{
		"predecessor": oldRoom.String(), "class": carried.Class, "legal_hold": carried.LegalHold, "review": carried.Review,
		"downgrade": carried.Downgrade, "requests": carried.Requests, "records": carried.Records,
		"suspensions": carried.Suspensions, "activity": carried.Activity, "set_back": len(state.Actions),
	}); err != nil {
		return false, err
	}
	if _, err := s.Exec.Execute(executor.WithInput(ctx, input+":guarded"), newRoom, s.BotID.String(), policy.ReplacementGuarded(succ, summary)); err != nil {
		return false, err
	}
	// Invitations sent before the bot was in the room never reached it:
	// judge them now, as any invitation to a clinical room.
	if repl, err = s.Facts.Room(ctx, newRoom); err != nil {
		return false, err
	}
	invited, err := s.invited(ctx, newRoom)
	if err != nil {
		return false, err
	}
	if _, err := s.Members.JudgeInvited(ctx, repl, invited); err != nil {
		return false, err
	}
	return true, nil
}

// refuseUpgrade records and reports a room that is not the old room's
// true replacement. The old room's members are told when its tombstone
// sent them there; otherwise the room that claims to replace it is.
func (s *Hardening) refuseUpgrade(ctx context.Context, succ policy.Succession, why string) error {
	if err := s.Store.RefuseRoomUpgrade(ctx, succ.OldRoom, succ.NewRoom, succ.UpgradedBy); err != nil {
		return err
	}
	room := id.RoomID(succ.NewRoom)
	if succ.Tombstone == succ.NewRoom {
		room = id.RoomID(succ.OldRoom)
	}
	if err := s.Audit(ctx, succ.UpgradedBy, room, "refused.room_upgrade", why, map[string]any{"old_room": succ.OldRoom, "new_room": succ.NewRoom}); err != nil {
		return err
	}
	_, err := s.Exec.Execute(ctx, room, s.BotID.String(), policy.RefuseSuccession(succ, why))
	return err
}

// tombstoneTarget reads the room a room's current tombstone points to.
func (s *Hardening) tombstoneTarget(ctx context.Context, room id.RoomID) (string, error) {
	var t struct {
		ReplacementRoom string `json:"replacement_room"`
	}
	err := s.Bot.StateEvent(ctx, room, typeTombstone, "", &t)
	if errors.Is(err, mautrix.MNotFound) {
		return "", nil
	}
	if err != nil {
		return "", retry.Transient(fmt.Errorf("read tombstone of %s: %w", room, err))
	}
	return t.ReplacementRoom, nil
}

// predecessor reads the earlier room a room's creation names, in every
// room version ("" when none).
func (s *Hardening) predecessor(ctx context.Context, room id.RoomID) (string, error) {
	var c struct {
		Predecessor *struct {
			RoomID string `json:"room_id"`
		} `json:"predecessor"`
	}
	err := s.Bot.StateEvent(ctx, room, event.StateCreate, "", &c)
	if errors.Is(err, mautrix.MForbidden) {
		return "", nil
	}
	if err != nil {
		return "", retry.Transient(fmt.Errorf("read creation of %s: %w", room, err))
	}
	if c.Predecessor == nil {
		return "", nil
	}
	return c.Predecessor.RoomID, nil
}

// invited lists who is invited to a room and has not joined.
func (s *Hardening) invited(ctx context.Context, room id.RoomID) ([]string, error) {
	var events []struct {
		Type     string  `json:"type"`
		StateKey *string `json:"state_key"`
		Content  struct {
			Membership event.Membership `json:"membership"`
		} `json:"content"`
	}
	if err := s.Facts.State(ctx, room, &events); err != nil {
		return nil, err
	}
	var out []string
	for _, e := range events {
		if e.Type == event.StateMember.Type && e.StateKey != nil && e.Content.Membership == event.MembershipInvite && *e.StateKey != s.BotID.String() {
			out = append(out, *e.StateKey)
		}
	}
	return out, nil
}

// isRoomID: a room ID as every room version writes it ("!opaque:server",
// or "!opaque" from version 12).
func isRoomID(s string) bool {
	return strings.HasPrefix(s, "!") && len(s) > 1 && !strings.ContainsAny(s, " /\n")
}
