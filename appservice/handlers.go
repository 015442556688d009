package appservice

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

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
	log := s.log.With().Stringer("room_id", evt.RoomID).Stringer("event_id", evt.ID).Str("event_type", evt.Type.Type).Logger()
	ctx = log.WithContext(ctx)

	switch {
	case evt.Type == event.StateMember:
		if err := s.facts.NoteMembership(ctx, &evt); err != nil {
			return transient(err)
		}
		return s.handleMember(ctx, &evt)
	case evt.Type == event.EventMessage:
		return s.handleMessage(ctx, &evt)
	case evt.Type == event.EventEncrypted:
		return s.handleEncrypted(ctx, &evt)
	case isVerificationEvent(evt.Type):
		return s.onRoomVerification(ctx, &evt)
	case evt.Type.Type == attestationEventType.Type:
		return s.handleAttestationEvent(ctx, &evt)
	case evt.Type == typeSpaceChild || evt.Type == typeSpaceParent:
		return s.handleSpaceLink(ctx, &evt)
	case evt.StateKey != nil && *evt.StateKey == "" && slices.Contains(policy.HardeningEventTypes, evt.Type.Type):
		return s.handleStateChange(ctx, &evt)
	default:
		s.metrics.EventsIgnored.WithLabelValues("not_relevant").Inc()
		return nil
	}
}

// handleMember joins rooms the bot is invited to by its own trust's users
// (or an IG admin); invites from elsewhere are declined.
func (s *Service) handleMember(ctx context.Context, evt *event.Event) error {
	if evt.GetStateKey() != s.botID.String() {
		return s.handleMembershipChange(ctx, evt)
	}
	content := evt.Content.AsMember()
	if content.Membership != event.MembershipInvite {
		return nil
	}
	own := s.isOwnTrust(evt.Sender)
	res, err := s.exec.Execute(ctx, evt.RoomID, evt.Sender.String(), policy.AnswerBotInvitation(evt.Sender.String(), own, s.cfg.Homeserver.Domain))
	if err != nil || !own || len(res.Failures) > 0 || res.DryRun {
		return err
	}
	// A room may already be classified clinical when the bot arrives.
	return s.reconcileRoom(ctx, evt.RoomID)
}

// isVerificationEvent: the in-room messages of an emoji verification.
func isVerificationEvent(t event.Type) bool {
	return strings.HasPrefix(t.Type, "m.key.verification.") && t.Type != "m.key.verification.request"
}

func (s *Service) isOwnTrust(user id.UserID) bool {
	return user.Homeserver() == s.cfg.Homeserver.Domain || s.isIGAdmin(user)
}

func (s *Service) isIGAdmin(user id.UserID) bool {
	return slices.Contains(s.cfg.Trust.IGAdmins, user.String())
}

// handleEncrypted decrypts a message in an encrypted room so commands work
// there as anywhere; only the time of activity is kept, never the text.
func (s *Service) handleEncrypted(ctx context.Context, evt *event.Event) error {
	if evt.Sender == s.botID {
		return nil
	}
	if err := s.store.TouchActivity(ctx, evt.RoomID.String(), evt.Sender.String(), time.UnixMilli(evt.Timestamp)); err != nil {
		return transient(err)
	}
	if s.crypto == nil {
		s.metrics.EventsIgnored.WithLabelValues("encrypted_no_device").Inc()
		return nil
	}
	plain, err := s.decrypt(ctx, evt)
	if err != nil {
		s.metrics.EventsIgnored.WithLabelValues("undecryptable").Inc()
		zerolog.Ctx(ctx).Debug().Err(err).Msg("Could not decrypt event")
		return nil
	}
	if isVerificationEvent(plain.Type) {
		return s.onRoomVerification(ctx, plain)
	}
	if plain.Type != event.EventMessage {
		return nil
	}
	return s.handleMessage(ctx, plain)
}

// handleMessage runs commands addressed to the bot.
func (s *Service) handleMessage(ctx context.Context, evt *event.Event) error {
	if evt.Sender == s.botID {
		return nil
	}
	// Activity feeds the membership review's "last active"; only the time is kept.
	if err := s.store.TouchActivity(ctx, evt.RoomID.String(), evt.Sender.String(), time.UnixMilli(evt.Timestamp)); err != nil {
		return transient(err)
	}
	msg := evt.Content.AsMessage()
	if msg.MsgType == event.MsgVerificationRequest {
		return s.onRoomVerification(ctx, evt)
	}
	if msg.MsgType != event.MsgText {
		return nil
	}
	cmd, ok := policy.ParseCommand(msg.Body, s.botID.String(), s.cfg.AppService.BotDisplayName)
	if !ok {
		return nil
	}
	return s.commands.Handle(ctx, evt, cmd)
}

// handleStateChange checks a clinical room after someone changes one of
// its protected settings, and records classifications made directly in
// room state (e.g. with Element's devtools).
func (s *Service) handleStateChange(ctx context.Context, evt *event.Event) error {
	if evt.Sender == s.botID {
		return nil
	}
	f, err := s.facts.Room(ctx, evt.RoomID)
	if err != nil {
		return err
	}
	cause := policy.Cause{Kind: policy.CauseDrift, Sender: evt.Sender.String(), EventType: evt.Type.Type}
	if evt.Type.Type == policy.PolicyEventType {
		if err := s.audit(ctx, evt.Sender.String(), evt.RoomID, "classify", "room policy set to "+string(f.Class)+" in room state", nil); err != nil {
			return err
		}
		cause.Kind = policy.CauseClassified
	}
	if err := s.enforce(ctx, f, cause); err != nil {
		return err
	}
	if cause.Kind == policy.CauseClassified {
		_, err = s.sweepRoom(ctx, f, policy.OnClassify)
	}
	return err
}

// enforce applies the rules to a room's facts, executes the decision and
// records the room's class and compliance.
func (s *Service) enforce(ctx context.Context, f policy.RoomFacts, cause policy.Cause) error {
	d := policy.Enforce(f, s.req, cause)
	actor := cause.Sender
	if actor == "" {
		actor = s.botID.String()
	}
	if cause.Kind == policy.CauseDrift && !d.Compliant() {
		if err := s.audit(ctx, actor, id.RoomID(f.RoomID), "drift", "changed "+cause.EventType+" in a clinical room", nil); err != nil {
			return err
		}
	}
	failures, err := s.execute(ctx, id.RoomID(f.RoomID), actor, d)
	if err != nil {
		return err
	}
	if len(failures) > 0 {
		// Tell the room what could not be done, once, after trying everything.
		text := "Some protections of this clinical room could not be applied:\n• " + strings.Join(failures, "\n• ")
		if err := s.notice(ctx, id.RoomID(f.RoomID), policy.RuleNotice, text); err != nil {
			return err
		}
	}
	if f.Class == policy.Unclassified {
		return nil
	}
	problems := append(d.ProblemTexts(), failures...)
	if s.exec.DryRun() {
		for _, fix := range d.Fixes() {
			problems = append(problems, "not fixed (dry run): "+fix.Text)
		}
	}
	return s.savePolicy(ctx, f, problems, cause.Sender)
}

func (s *Service) savePolicy(ctx context.Context, f policy.RoomFacts, problems []string, by string) error {
	if f.Class == policy.Clinical {
		if err := s.store.EnsureReview(ctx, f.RoomID, s.cfg.Review.Interval.Duration); err != nil {
			return transient(err)
		}
	}
	if err := s.store.SaveRoomPolicy(ctx, store.RoomPolicy{
		RoomID: f.RoomID, Class: string(f.Class), Compliant: len(problems) == 0, Problems: problems, ClassifiedBy: by,
	}); err != nil {
		return transient(err)
	}
	return nil
}
