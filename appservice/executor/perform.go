package executor

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/policy"
)

// perform asks the homeserver to do one action. It returns the room a
// CreateRoom made, a Join entered or an Upgrade replaced the room with.
func (e *Executor) perform(ctx context.Context, s actionStep) (id.RoomID, error) {
	a := s.action
	switch a.Kind {
	case policy.SetState:
		return "", e.setState(ctx, s)
	case policy.Kick:
		if s.resumed && e.membershipIs(ctx, s.room, a.UserID, event.MembershipLeave, event.MembershipBan) {
			return "", nil
		}
		if _, err := e.bot.KickUser(ctx, s.room, &mautrix.ReqKickUser{UserID: id.UserID(a.UserID), Reason: a.Text}); err != nil {
			return "", fmt.Errorf("remove %s from %s: %w", a.UserID, s.room, err)
		}
	case policy.Invite:
		if s.resumed && e.membershipIs(ctx, s.room, a.UserID, event.MembershipInvite, event.MembershipJoin) {
			return "", nil
		}
		if _, err := e.bot.InviteUser(ctx, s.room, &mautrix.ReqInviteUser{UserID: id.UserID(a.UserID), Reason: a.Text}); err != nil {
			return "", fmt.Errorf("invite %s to %s: %w", a.UserID, s.room, err)
		}
	case policy.Redact:
		return "", e.redact(ctx, s)
	case policy.NotifyRoom:
		return "", e.send(ctx, s.room, s, calling(noticeContent(a.Text), a.Mentions))
	case policy.Reply:
		content := calling(noticeContent(a.Text), a.Mentions)
		content.RelatesTo = (&event.RelatesTo{}).SetReplyTo(id.EventID(a.EventID))
		return "", e.send(ctx, s.room, s, content)
	case policy.NotifyManagement:
		mgmt := e.ManagementRoom()
		if mgmt == "" {
			e.log.Warn().Stringer("room_id", s.room).Msg("No management room configured; report only logged")
			return "", nil
		}
		return "", e.send(ctx, mgmt, s, noticeContent(a.Text))
	case policy.NotifyUser:
		room, err := e.directChat(ctx, s)
		if err != nil {
			return "", err
		}
		return "", e.send(ctx, room, s, noticeContent(a.Text))
	case policy.CreateRoom:
		return e.createRoom(ctx, a.Plan, s.txn, s.resumed)
	case policy.Join:
		target := a.Target
		if target == "" {
			target = s.room.String()
		}
		resp, err := e.bot.JoinRoom(ctx, target, nil)
		if err != nil {
			return "", e.joinError(target, a.Rule, err)
		}
		return resp.RoomID, nil
	case policy.Leave:
		if _, err := e.bot.LeaveRoom(ctx, s.room, nil); err != nil {
			return "", fmt.Errorf("leave %s: %w", s.room, err)
		}
	case policy.SignOutDevices:
		return "", e.signOutEverywhere(ctx, id.UserID(a.UserID))
	case policy.QuietBot:
		return "", e.quietBot(ctx)
	case policy.DeleteMedia:
		return "", e.deleteMedia(a.Target, a.Hash)
	case policy.Upgrade:
		return e.upgradeRoom(ctx, s)
	default:
		return "", fmt.Errorf("unknown action kind %q", a.Kind)
	}
	return "", nil
}

// setState sends a state event; a resumed one is skipped when the room
// already holds exactly that content, so a repair is never shown twice.
func (e *Executor) setState(ctx context.Context, s actionStep) error {
	a := s.action
	t := event.Type{Type: a.EventType, Class: event.StateEventType}
	if s.resumed {
		var current map[string]any
		if err := e.bot.StateEvent(ctx, s.room, t, a.StateKey, &current); err == nil && sameJSON(current, a.Content) {
			return nil
		}
	}
	if _, err := e.bot.SendStateEvent(ctx, s.room, t, a.StateKey, a.Content); err != nil {
		return fmt.Errorf("set %s in %s: %w", a.EventType, s.room, err)
	}
	return nil
}

// redact deletes an event; a resumed deletion is skipped when the event is
// deleted already. Dendrite drops a repeated transaction ID only once it
// has answered the first request, so a process killed while its request
// was on the way would otherwise delete the event twice.
func (e *Executor) redact(ctx context.Context, s actionStep) error {
	target := id.EventID(s.action.EventID)
	if s.resumed && e.alreadyRedacted(ctx, s.room, target, s.lookUntil) {
		return nil
	}
	if _, err := e.bot.RedactEvent(ctx, s.room, target, mautrix.ReqRedact{Reason: s.action.Text, TxnID: s.txn}); err != nil {
		return fmt.Errorf("redact %s in %s: %w", target, s.room, err)
	}
	return nil
}

// alreadyRedacted reports whether the homeserver shows eventID redacted,
// allowing for its lag until until; an event it cannot read counts as not
// (the redaction is sent, and the homeserver judges).
func (e *Executor) alreadyRedacted(ctx context.Context, roomID id.RoomID, eventID id.EventID, until time.Time) bool {
	shown, err := shownWithinLag(ctx, until, func() (bool, error) {
		evt, err := e.bot.GetEvent(ctx, roomID, eventID)
		if err != nil {
			return false, err
		}
		return evt.Unsigned.RedactedBecause != nil, nil
	})
	return err == nil && shown
}

// membershipIs: user's membership of roomID is one of want (false when it
// cannot be read: then the action is simply tried).
func (e *Executor) membershipIs(ctx context.Context, roomID id.RoomID, user string, want ...event.Membership) bool {
	var m event.MemberEventContent
	if err := e.bot.StateEvent(ctx, roomID, event.StateMember, user, &m); err != nil {
		return errors.Is(err, mautrix.MNotFound) && contains(want, event.MembershipLeave)
	}
	return contains(want, m.Membership)
}

func contains(list []event.Membership, m event.Membership) bool {
	for _, x := range list {
		if x == m {
			return true
		}
	}
	return false
}

// joinError says in plain words why a join failed. Dendrite answers a
// join to a room that does not exist, or whose servers cannot be reached,
// with a bare 500; a homeserver that is down does not answer at all (or
// its proxy answers 502-504), and stays a transient error. A tombstone
// pointing at a room that does not exist must be reported, not retried:
// taken as transient, its join would be retried for ever, holding the old
// room's lane and, left pending, every start-up. Any other join (an
// invitation accepted, the list or management room) is worth retrying
// through a brief failure, so only a room upgrade's join takes a 500 as
// final. A refused join (403) Dendrite explains as "InputWasRejected",
// which tells nobody anything.
func (e *Executor) joinError(target, rule string, err error) error {
	var httpErr mautrix.HTTPError
	if !errors.As(err, &httpErr) || httpErr.Response == nil {
		return fmt.Errorf("join %s: %w", target, err)
	}
	switch httpErr.Response.StatusCode {
	case http.StatusInternalServerError:
		if rule != policy.RuleRoomUpgrade {
			return fmt.Errorf("join %s: %w", target, err) // a 5xx: transient, retried
		}
		e.log.Debug().Err(err).Str("target", target).Msg("The homeserver failed a room upgrade's join; reported, not retried")
		return errNoSuchRoom // the room is in the action; people read this
	case http.StatusForbidden:
		e.log.Debug().Err(err).Str("target", target).Msg("The homeserver refused a join")
		return errJoinRefused
	}
	return fmt.Errorf("join %s: %w", target, err)
}

// What people are told of a join the homeserver failed or refused.
var (
	errNoSuchRoom  = errors.New("the room does not exist or its servers cannot be reached")
	errJoinRefused = errors.New("not invited to it (it is invite-only), or banned from it")
)
