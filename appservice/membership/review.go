package membership

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/appservice/commands"
	"github.com/caldicott/caldicott/appservice/executor"
	"github.com/caldicott/caldicott/appservice/kit"
	"github.com/caldicott/caldicott/config"
	"github.com/caldicott/caldicott/internal/retry"
	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

func (s *Membership) reviewTimes() policy.ReviewTimes {
	return policy.ReviewTimes{Grace: s.Cfg.Review.Grace.Duration, RemovalAfter: s.Cfg.Review.RemovalAfter.Duration}
}

// RunReviews moves every due or open review on by one step.
func (s *Membership) RunReviews(ctx context.Context) {
	now := s.Now()
	reviews, err := s.Store.ActiveReviews(ctx, now)
	if err != nil {
		s.Log.Error().Err(err).Msg("Cannot read review schedule")
		return
	}
	for _, r := range reviews {
		if ctx.Err() != nil {
			return
		}
		step := policy.NextReviewStep(policy.ReviewState{NextDue: r.NextDue, Started: r.Started, Escalated: r.Escalated}, s.reviewTimes(), now)
		if step == policy.ReviewNothing {
			continue
		}
		// One input per review and step: repeated after a crash, it finds
		// what it already did.
		stepCtx := executor.WithInput(ctx, fmt.Sprintf("review:%s:%d:%d:%d", r.RoomID, r.NextDue.UnixMilli(), r.Started.UnixMilli(), step))
		s.lanes.SubmitAndWait(ctx, r.RoomID, true, func() {
			if err := s.reviewStep(stepCtx, r, step); err != nil {
				s.Log.Warn().Err(err).Str("room_id", r.RoomID).Msg("Review step failed; will retry")
			}
		})
	}
}

func (s *Membership) reviewStep(ctx context.Context, r store.Review, step policy.ReviewStep) error {
	roomID := id.RoomID(r.RoomID)
	f, err := s.Facts.Room(ctx, roomID)
	if err != nil {
		return err
	}
	if f.Class != policy.Clinical {
		// No longer clinical: nothing to review until it is again.
		r.Started, r.Escalated, r.NextDue = time.Time{}, false, s.Now().Add(r.Interval)
		return s.Store.SaveReview(ctx, r)
	}
	switch step {
	case policy.ReviewStart:
		return s.startReview(ctx, f, r, s.BotID.String())
	case policy.ReviewEscalate:
		// Act first, then record: the input key makes a repeat after a
		// crash in between find the notices already posted.
		if err := s.Audit(ctx, s.BotID.String(), roomID, "review_escalated", fmt.Sprintf("review started %s not confirmed within %s", r.Started.UTC().Format(time.RFC3339), config.FormatDuration(s.Cfg.Review.Grace.Duration)), nil); err != nil {
			return err
		}
		if err := s.Notice(ctx, roomID, policy.RuleReviewEscalated, "Reminder: this room's membership review has not been confirmed. Room admins: `!policy review confirm` once the member list is right. I have told the trust's IG team."); err != nil {
			return err
		}
		if err := s.NotifyManagement(ctx, policy.RuleReviewEscalated, fmt.Sprintf("The membership review of clinical room %s, started %s, has not been confirmed by its admins.", roomID, r.Started.UTC().Format("2006-01-02"))); err != nil {
			return err
		}
		r.Escalated = true
		return s.Store.SaveReview(ctx, r)
	case policy.ReviewRemoveUnconfirmed:
		members, err := s.Facts.Members(ctx, roomID)
		if err != nil {
			return err
		}
		ids := make([]string, 0, len(members))
		for uid := range members {
			ids = append(ids, uid)
		}
		sort.Strings(ids)
		d := policy.RemoveUnconfirmed(ids, f.PowerLevels, func(u string) bool { return s.IsIGAdmin(id.UserID(u)) }, s.BotID.String())
		if _, err := s.Exec.Execute(ctx, roomID, s.BotID.String(), d); err != nil {
			return err
		}
		if err := s.NotifyManagement(ctx, policy.RuleReviewUnconfirmed, fmt.Sprintf("The membership review of clinical room %s was never confirmed; I removed its %d member(s) who are not room admins.", roomID, len(d.Actions))); err != nil {
			return err
		}
		r.Started, r.Escalated, r.NextDue = time.Time{}, false, s.Now().Add(r.Interval)
		return s.Store.SaveReview(ctx, r)
	}
	return nil
}

// startReview posts the member list, with identities and last activity, for
// the room's admins to confirm.
func (s *Membership) startReview(ctx context.Context, f policy.RoomFacts, r store.Review, by string) error {
	roomID := id.RoomID(f.RoomID)
	members, err := s.Facts.Members(ctx, roomID)
	if err != nil {
		return err
	}
	activity, err := s.Store.Activity(ctx, f.RoomID)
	if err != nil {
		return err
	}
	now := s.Now()
	ids := make([]string, 0, len(members))
	for uid := range members {
		if uid != s.BotID.String() {
			ids = append(ids, uid)
		}
	}
	sort.Strings(ids)
	var b strings.Builder
	fmt.Fprintf(&b, "Membership review of this clinical room (%d members). Is everyone here someone who should be?\n", len(ids))
	for _, uid := range ids {
		j, err := s.JoinFacts(ctx, f, uid, policy.MembershipJoin)
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "• %s", describePerson(j, s.Cfg.Trust.Name))
		if policy.IsRoomAdmin(uid, f.PowerLevels, false) {
			b.WriteString(" — room admin")
		}
		last, seen := activity[uid]
		switch {
		case !seen:
			b.WriteString(" — no messages seen")
		case policy.Inactive(last, now, s.Cfg.Review.InactiveAfter.Duration):
			fmt.Fprintf(&b, " — ⚠ inactive since %s", last.UTC().Format("2006-01-02"))
		default:
			fmt.Fprintf(&b, " — last active %s", last.UTC().Format("2006-01-02"))
		}
		if j.Entry == nil && id.UserID(uid).Homeserver() == s.Cfg.Homeserver.Domain {
			b.WriteString(" — ⚠ not in the staff directory")
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "Room admins: `!policy review confirm` if this is right, or `!policy remove @user [reason]` for anyone who should not be here. Unconfirmed after %s, the review goes to the trust's IG team.", config.FormatDuration(s.Cfg.Review.Grace.Duration))
	if err := s.Audit(ctx, by, roomID, "review_started", fmt.Sprintf("membership review of %d members started", len(ids)), nil); err != nil {
		return err
	}
	if err := s.Notice(ctx, roomID, policy.RuleReviewStarted, strings.TrimSpace(b.String())); err != nil {
		return err
	}
	r.Started, r.Escalated = now, false
	if err := s.Store.SaveReview(ctx, r); err != nil {
		return err
	}
	return nil
}

// roomReview returns the room's schedule, creating it if missing.
func (s *Membership) roomReview(ctx context.Context, roomID string) (store.Review, error) {
	if err := s.Store.EnsureReview(ctx, roomID, s.Cfg.Review.Interval.Duration); err != nil {
		return store.Review{}, err
	}
	r, err := s.Store.ReviewOf(ctx, roomID)
	if err != nil {
		return r, retry.Transient(err)
	}
	return r, nil
}

var CommandReview = commands.Def[*Membership]{
	CommandSpec: policy.CommandSpec{
		Name: "review", Usage: "!policy review [confirm]",
		Summary: "Room admins: start a membership review now, or confirm the open one.",
		MaxArgs: 1, Place: policy.InRoom, Needs: policy.RoomPolicyPower,
	},
	Doc: "`!policy review`: Start a membership review now: the member list with identities and last activity is " +
		"posted. `!policy review confirm`: Confirm the open review; the next one is scheduled.",
	Run: (*Membership).cmdReview,
}

func (s *Membership) cmdReview(ctx context.Context, c *commands.Call) error {
	if c.Facts.Class != policy.Clinical {
		return s.Reply(ctx, c.Evt, "Membership reviews are for clinical rooms; this room is "+kit.OrWord(string(c.Facts.Class), "not classified")+".")
	}
	r, err := s.roomReview(ctx, c.Facts.RoomID)
	if err != nil {
		return err
	}
	if len(c.Args) == 0 {
		if !r.Started.IsZero() {
			return s.Reply(ctx, c.Evt, fmt.Sprintf("A review is already open since %s. Confirm it with `!policy review confirm`.", r.Started.UTC().Format("2006-01-02 15:04")))
		}
		return s.startReview(ctx, c.Facts, r, c.Evt.Sender.String())
	}
	if strings.ToLower(c.Args[0]) != "confirm" {
		return s.Reply(ctx, c.Evt, fmt.Sprintf("%q is not a review command. Use `!policy review` to start one or `!policy review confirm` to confirm it.", c.Args[0]))
	}
	if r.Started.IsZero() {
		return s.Reply(ctx, c.Evt, "No review is open in this room. Start one with `!policy review`.")
	}
	now := s.Now()
	r.Started, r.Escalated, r.LastConfirmed, r.LastConfirmedBy, r.NextDue = time.Time{}, false, now, c.Evt.Sender.String(), now.Add(r.Interval)
	if err := s.Store.SaveReview(ctx, r); err != nil {
		return err
	}
	if err := s.Audit(ctx, c.Evt.Sender.String(), c.Evt.RoomID, "review_confirmed", "member list confirmed", nil); err != nil {
		return err
	}
	return s.Reply(ctx, c.Evt, fmt.Sprintf("Thank you: the member list is confirmed by %s. The next review is due on %s.", c.Evt.Sender, r.NextDue.UTC().Format("2006-01-02")))
}

var CommandReviewInterval = commands.Def[*Membership]{
	CommandSpec: policy.CommandSpec{
		Name: "review-interval", Usage: "!policy review-interval 30d",
		Summary: "Room admins: how often this room's membership is reviewed.",
		MinArgs: 1, MaxArgs: 1, Place: policy.InRoom, Needs: policy.RoomPolicyPower,
	},
	Doc: "How often this room is reviewed (1d–366d; default from `review.interval`, 90d).",
	Run: (*Membership).cmdReviewInterval,
}

func (s *Membership) cmdReviewInterval(ctx context.Context, c *commands.Call) error {
	d, err := config.ParseDuration(c.Args[0])
	if err != nil || d < 24*time.Hour || d > 366*24*time.Hour {
		return s.Reply(ctx, c.Evt, fmt.Sprintf("%q is not a review interval between 1d and 366d. Write it in days, e.g. `!policy review-interval 30d`.", c.Args[0]))
	}
	r, err := s.roomReview(ctx, c.Facts.RoomID)
	if err != nil {
		return err
	}
	from := r.LastConfirmed
	if from.IsZero() {
		from = s.Now()
	}
	r.Interval, r.NextDue = d, from.Add(d)
	if err := s.Store.SaveReview(ctx, r); err != nil {
		return err
	}
	if err := s.Audit(ctx, c.Evt.Sender.String(), c.Evt.RoomID, "review_interval", "review interval set to "+config.FormatDuration(d), nil); err != nil {
		return err
	}
	return s.Reply(ctx, c.Evt, fmt.Sprintf("This room's membership will be reviewed every %s; the next review is due on %s.", config.FormatDuration(d), r.NextDue.UTC().Format("2006-01-02")))
}

var CommandRemove = commands.Def[*Membership]{
	CommandSpec: policy.CommandSpec{
		Name: "remove", Usage: "!policy remove @user:server [reason]",
		Summary: "Room admins: remove someone from this room, with a reason they are shown.",
		MinArgs: 1, MaxArgs: -1, Place: policy.InRoom, Needs: policy.RoomPolicyPower,
	},
	Doc: "Remove someone, with the reason they are shown. Only someone you could remove yourself: you need the " +
		"room's kick level and more power than they have (Matrix's own rule). Otherwise you are told why and who in " +
		"the room could do it. An IG admin of this trust may remove anyone below the bot in a room of this trust; in " +
		"a room another trust created, they have only the power that room gave them.",
	Run: (*Membership).cmdRemove,
}

func (s *Membership) cmdRemove(ctx context.Context, c *commands.Call) error {
	user, bad := s.ParseUserArg(c.Args[0], "!policy remove")
	if bad != "" {
		return s.Reply(ctx, c.Evt, bad)
	}
	members, err := s.Facts.Members(ctx, c.Evt.RoomID)
	if err != nil {
		return err
	}
	if _, ok := members[user.String()]; !ok {
		return s.Reply(ctx, c.Evt, fmt.Sprintf("%s is not a member of this room.", user))
	}
	if user == s.BotID {
		return s.Reply(ctx, c.Evt, "I cannot remove myself: a clinical room needs me to stay protected.")
	}
	reason := strings.Join(c.Args[1:], " ")
	// The room's own hierarchy holds: nobody removes through the bot
	// someone they could not have removed themselves.
	act := s.ActOnPerson(policy.ActRemove, c.Evt.Sender, user, c.Facts, members)
	if ok, refusal := policy.MayActFor(act); !ok {
		if err := s.Audit(ctx, c.Evt.Sender.String(), c.Evt.RoomID, "refused.remove", fmt.Sprintf("!policy remove %s: caller at power %d, target at %d, kick needs %d", user, act.CallerLevel, act.TargetLevel, act.Required),
			map[string]any{"user_id": user.String(), "caller_level": act.CallerLevel, "target_level": act.TargetLevel}); err != nil {
			return err
		}
		return s.Reply(ctx, c.Evt, refusal)
	}
	res, err := s.Exec.Execute(ctx, c.Evt.RoomID, c.Evt.Sender.String(), policy.RemoveByAdmin(user.String(), c.Evt.Sender.String(), reason))
	if err != nil {
		return err
	}
	if len(res.Failures) > 0 {
		return s.Reply(ctx, c.Evt, strings.Join(res.Failures, " "))
	}
	return s.Reply(ctx, c.Evt, fmt.Sprintf("I have removed %s.", user))
}
