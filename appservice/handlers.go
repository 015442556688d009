package appservice

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/event"

	"github.com/caldicott/caldicott/appservice/federation"
	"github.com/caldicott/caldicott/appservice/guard"
	"github.com/caldicott/caldicott/appservice/hardening"
	"github.com/caldicott/caldicott/appservice/verification"
	"github.com/caldicott/caldicott/internal/retry"
	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

// handleStored turns one stored event into an input for the rules.
func (s *Service) handleStored(ctx context.Context, stored store.InboxEvent) error {
	var evt event.Event
	if err := json.Unmarshal(stored.JSON, &evt); err != nil {
		s.metrics.EventsIgnored.WithLabelValues("unparseable").Inc()
		return fmt.Errorf("decode event %s: %w", stored.EventID, err)
	}
	// Content we cannot parse is still handled by type; rules read raw content.
	_ = evt.Content.ParseRaw(evt.Type)
	log := s.Log.With().Stringer("room_id", evt.RoomID).Stringer("event_id", evt.ID).Str("event_type", evt.Type.Type).Logger()
	ctx = log.WithContext(ctx)
	if err := s.retention.IndexFiles(ctx, &evt); err != nil {
		return retry.Transient(err)
	}
	if evt.Type == event.StateEncryption && evt.GetStateKey() == "" {
		s.Exec.NoteEncryption(evt.RoomID, evt.Content.AsEncryption())
	}

	switch {
	case s.federation.IsListRoom(evt.RoomID) && federation.IsListEvent(evt.Type):
		return s.federation.HandleEvent(ctx, &evt)
	case evt.Type == event.StateMember:
		if evt.Sender != s.BotID {
			s.lanes.NoteActivity() // long jobs give way while people come and go
		}
		if err := s.Facts.NoteMembership(ctx, &evt); err != nil {
			return retry.Transient(err)
		}
		return s.handleMember(ctx, &evt)
	case evt.Type == event.EventMessage:
		return s.handleMessage(ctx, &evt)
	case evt.Type == event.EventEncrypted:
		return s.handleEncrypted(ctx, &evt)
	case isVerificationEvent(evt.Type):
		return s.verification.OnRoomVerification(ctx, &evt)
	case evt.Type.Type == verification.AttestationEventType.Type:
		return s.verification.HandleAttestationEvent(ctx, &evt)
	case evt.Type == hardening.TypeSpaceChild || evt.Type == hardening.TypeSpaceParent:
		return s.hardening.HandleSpaceLink(ctx, &evt)
	case guard.IsRoomText(evt.Type) && evt.GetStateKey() == "":
		return s.guard.CheckRoomText(ctx, &evt)
	case evt.Type.Type == policy.TombstoneEventType && evt.GetStateKey() == "":
		return s.hardening.HandleTombstone(ctx, &evt)
	case evt.Type.Type == policy.RetentionEventType && evt.GetStateKey() == "":
		return s.retention.HandleRetentionChange(ctx, &evt)
	case evt.StateKey != nil && *evt.StateKey == "" && slices.Contains(policy.HardeningEventTypes, evt.Type.Type):
		return s.hardening.HandleStateChange(ctx, &evt)
	default:
		s.metrics.EventsIgnored.WithLabelValues("not_relevant").Inc()
		return nil
	}
}

// handleMember joins rooms the bot is invited to by its own trust's users
// (or an IG admin); invites from elsewhere are declined.
func (s *Service) handleMember(ctx context.Context, evt *event.Event) error {
	if evt.GetStateKey() != s.BotID.String() {
		return s.membership.HandleMembershipChange(ctx, evt)
	}
	content := evt.Content.AsMember()
	if content.Membership != event.MembershipInvite {
		return nil
	}
	own := s.IsOwnTrust(evt.Sender)
	res, err := s.Exec.Execute(ctx, evt.RoomID, evt.Sender.String(), policy.AnswerBotInvitation(evt.Sender.String(), own, s.Cfg.Homeserver.Domain))
	if err != nil || !own || len(res.Failures) > 0 || res.DryRun {
		return err
	}
	// The room may replace a guarded room (Element's upgrade invites the
	// old room's members, the bot among them): its protection comes along.
	if err := s.hardening.FollowInvitation(ctx, evt.RoomID, evt.Sender); err != nil {
		return err
	}
	// A room may already be classified clinical when the bot arrives.
	return s.hardening.ReconcileRoom(ctx, evt.RoomID)
}

// isVerificationEvent: the in-room messages of an emoji verification.
func isVerificationEvent(t event.Type) bool {
	return strings.HasPrefix(t.Type, "m.key.verification.") && t.Type != "m.key.verification.request"
}

// handleEncrypted decrypts a message in an encrypted room so commands work
// there as anywhere; only the time of activity is kept, never the text.
func (s *Service) handleEncrypted(ctx context.Context, evt *event.Event) error {
	if evt.Sender == s.BotID {
		return nil
	}
	if err := s.Store.TouchActivity(ctx, evt.RoomID.String(), evt.Sender.String(), time.UnixMilli(evt.Timestamp)); err != nil {
		return retry.Transient(err)
	}
	if !s.verification.HasEncryption() {
		s.metrics.EventsIgnored.WithLabelValues("encrypted_no_device").Inc()
		return nil
	}
	plain, err := s.verification.Decrypt(ctx, evt)
	var late *verification.SessionLateError
	if errors.As(err, &late) {
		// Its key may yet come (a busy homeserver, a device back online):
		// kept until then, and handled in this room's lane (latekeys.go).
		s.awaitKey(late)
		zerolog.Ctx(ctx).Debug().Msg("Waiting for an encrypted event's room key")
		return nil
	}
	if err != nil {
		s.metrics.EventsIgnored.WithLabelValues("undecryptable").Inc()
		zerolog.Ctx(ctx).Debug().Err(err).Msg("Could not decrypt event")
		return nil
	}
	return s.handleDecrypted(ctx, plain, false)
}

// handleDecrypted handles an encrypted room's event once decrypted; late
// says its key reached the bot's device after the wait in Decrypt.
func (s *Service) handleDecrypted(ctx context.Context, plain *event.Event, late bool) error {
	if err := s.retention.IndexFiles(ctx, plain); err != nil {
		return retry.Transient(err)
	}
	if isVerificationEvent(plain.Type) {
		return s.verification.OnRoomVerification(ctx, plain)
	}
	if plain.Type != event.EventMessage {
		return nil
	}
	if late {
		return s.handleLateMessage(ctx, plain)
	}
	return s.handleMessage(ctx, plain)
}

// handleMessage runs commands addressed to the bot; other text messages
// are read for the guard (NHS numbers, the urgent reminder).
func (s *Service) handleMessage(ctx context.Context, evt *event.Event) error {
	if evt.Sender == s.BotID {
		return nil
	}
	// Activity feeds the membership review's "last active"; only the time is kept.
	if err := s.Store.TouchActivity(ctx, evt.RoomID.String(), evt.Sender.String(), time.UnixMilli(evt.Timestamp)); err != nil {
		return retry.Transient(err)
	}
	msg := evt.Content.AsMessage()
	if msg.MsgType == event.MsgVerificationRequest {
		return s.verification.OnRoomVerification(ctx, evt)
	}
	if removed, err := s.guard.CheckMessage(ctx, evt, msg.Body+"\n"+msg.FormattedBody); removed || err != nil {
		return err
	}
	if msg.MsgType != event.MsgText {
		return nil
	}
	cmd, ok := policy.ParseCommand(msg.Body, s.BotID.String(), s.Cfg.AppService.BotDisplayName)
	if !ok {
		return s.guard.RemindIfUrgent(ctx, evt, msg.Body)
	}
	return s.commands.Handle(ctx, evt, cmd)
}
