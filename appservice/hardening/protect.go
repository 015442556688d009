package hardening

import (
	"context"
	"strings"

	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// HandleStateChange checks a clinical room after someone changes one of
// its protected settings, and records classifications made directly in
// room state (e.g. with Element's devtools).
func (s *Hardening) HandleStateChange(ctx context.Context, evt *event.Event) error {
	if evt.Sender == s.BotID {
		return nil
	}
	f, err := s.Facts.Room(ctx, evt.RoomID)
	if err != nil {
		return err
	}
	cause := policy.Cause{Kind: policy.CauseDrift, Sender: evt.Sender.String(), EventType: evt.Type.Type}
	if evt.Type.Type == policy.PolicyEventType {
		reverted, err := s.revertDirectDowngrade(ctx, evt, f)
		if err != nil || reverted {
			return err
		}
		if err := s.Audit(ctx, evt.Sender.String(), evt.RoomID, "classify", "room policy set to "+string(f.Class)+" in room state", nil); err != nil {
			return err
		}
		cause.Kind = policy.CauseClassified
	}
	if err := s.Protect(ctx, f, cause); err != nil {
		return err
	}
	if cause.Kind == policy.CauseClassified {
		_, err = s.Members.JudgeRoom(ctx, f, policy.OnClassify)
	}
	return err
}

// Protect applies the rules to a room's facts, executes the decision and
// records the room's class and compliance.
func (s *Hardening) Protect(ctx context.Context, f policy.RoomFacts, cause policy.Cause) error {
	if f.Class == policy.Clinical {
		here, err := s.HardensHere(ctx, f)
		if err != nil {
			return err
		}
		if !here {
			// Another trust's bot (the room creator's) keeps this shared
			// room hardened; two bots acting on one drift could fight.
			return s.savePolicy(ctx, f, nil, cause.Sender)
		}
	}
	d := policy.Protect(f, s.Requirements(), cause)
	actor := cause.Sender
	if actor == "" {
		actor = s.BotID.String()
	}
	if cause.Kind == policy.CauseDrift && !d.Compliant() {
		if err := s.Audit(ctx, actor, id.RoomID(f.RoomID), "drift", "changed "+cause.EventType+" in a clinical room", nil); err != nil {
			return err
		}
	}
	res, err := s.Exec.Execute(ctx, id.RoomID(f.RoomID), actor, d)
	if err != nil {
		return err
	}
	if len(res.Failures) > 0 {
		// Tell the room what could not be done, once, after trying everything.
		text := "Some protections of this clinical room could not be applied:\n• " + strings.Join(res.Failures, "\n• ")
		if err := s.Notice(ctx, id.RoomID(f.RoomID), policy.RuleNotice, text); err != nil {
			return err
		}
	}
	if f.Class == policy.Unclassified {
		return nil
	}
	problems := append(d.ProblemTexts(), res.Failures...)
	if s.Exec.DryRun() {
		for _, fix := range d.Fixes() {
			problems = append(problems, "not fixed (dry run): "+fix.Text)
		}
	}
	return s.savePolicy(ctx, f, problems, cause.Sender)
}

func (s *Hardening) savePolicy(ctx context.Context, f policy.RoomFacts, problems []string, by string) error {
	if f.Class == policy.Clinical {
		// A room replaced by an upgrade gave its reviews to the new room.
		replaced, err := s.Store.ReplacedBy(ctx, f.RoomID)
		if err != nil {
			return err
		}
		if replaced == "" {
			if err := s.Store.EnsureReview(ctx, f.RoomID, s.Cfg.Review.Interval.Duration); err != nil {
				return err
			}
		}
	}
	if err := s.Store.SaveRoomPolicy(ctx, store.RoomPolicy{
		RoomID: f.RoomID, Class: string(f.Class), Compliant: len(problems) == 0, Problems: problems, ClassifiedBy: by,
	}); err != nil {
		return err
	}
	return nil
}
