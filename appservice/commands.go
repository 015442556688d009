package appservice

import (
	"context"
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/policy"
)

// commandContext is one command being handled.
type commandContext struct {
	evt   *event.Event
	cmd   policy.Command
	spec  policy.CommandSpec
	facts policy.RoomFacts
}

type commandHandler func(ctx context.Context, c *commandContext) error

func (s *Service) commandHandlers() map[string]commandHandler {
	return map[string]commandHandler{
		"help":            s.cmdHelp,
		"status":          s.cmdStatus,
		"classify":        s.cmdClassify,
		"new-room":        s.cmdNewRoom,
		"leaver":          s.cmdLeaver,
		"request":         s.cmdRequest,
		"approve":         s.cmdApprove,
		"deny":            s.cmdDeny,
		"directory":       s.cmdDirectory,
		"lost-device":     s.cmdLostDevice,
		"release":         s.cmdRelease,
		"report":          s.cmdReport,
		"review":          s.cmdReview,
		"review-interval": s.cmdReviewInterval,
		"remove":          s.cmdRemove,
		"roles":           s.cmdRoomOption,
		"teams":           s.cmdRoomOption,
		"auto-approve":    s.cmdRoomOption,
		"suspend-mode":    s.cmdRoomOption,
		"verification":    s.cmdVerification,
		"attest":          s.cmdAttest,
		"verify":          s.cmdVerify,
		"trust-key":       s.cmdTrustKey,
	}
}

// handleCommand validates, authorises and runs one command. Every path
// ends in a reply: a typo, a missing argument or a refusal is explained,
// and a panic in a handler is logged and answered, never silent.
func (s *Service) handleCommand(ctx context.Context, evt *event.Event, cmd policy.Command) (err error) {
	log := zerolog.Ctx(ctx).With().Str("command", cmd.Name).Logger()
	defer func() {
		if p := recover(); p != nil {
			log.Error().Any("panic", p).Str("stack", string(debug.Stack())).Msg("Command handler panicked")
			err = s.reply(ctx, evt, "Something went wrong on my side while handling that command. It has been logged for your administrator; please try again later.")
		}
	}()
	spec, ok := policy.LookupCommand(cmd.Name)
	if !ok {
		return s.reply(ctx, evt, policy.UnknownCommandReply(cmd.Name))
	}
	if msg := policy.CheckArgs(spec, cmd.Args); msg != "" {
		return s.reply(ctx, evt, msg)
	}
	c := &commandContext{evt: evt, cmd: cmd, spec: spec}
	if spec.Place == policy.InManagementOrDM {
		inPlace, err := s.isManagementOrDM(ctx, evt.RoomID)
		if err != nil {
			return err
		}
		if !inPlace {
			return s.reply(ctx, evt, fmt.Sprintf("`%s` works in the trust's management room or in a direct chat with me, not in an ordinary room.", spec.Usage))
		}
	}
	if spec.Place == policy.InManagement && evt.RoomID != s.ManagementRoom() {
		return s.reply(ctx, c.evt, fmt.Sprintf("`%s` works only in the trust's management room.", spec.Usage))
	}
	if spec.Place == policy.InRoom || spec.Needs == policy.RoomPolicyPower {
		if c.facts, err = s.loadFacts(ctx, evt.RoomID); err != nil {
			return err
		}
	}
	actor := policy.Actor{
		UserID:    evt.Sender.String(),
		Level:     c.facts.PowerLevels.UserLevel(evt.Sender.String()),
		IsIGAdmin: s.isIGAdmin(evt.Sender),
		OwnServer: s.cfg.Homeserver.Domain,
	}
	if ok, refusal := policy.Authorize(spec, actor, c.facts.PowerLevels); !ok {
		if err := s.audit(ctx, evt.Sender.String(), evt.RoomID, "refused.command", "!policy "+cmd.Name+": "+refusal, nil); err != nil {
			return err
		}
		return s.reply(ctx, evt, refusal)
	}
	return s.commandHandlers()[spec.Name](ctx, c)
}

// isManagementOrDM: the management room, or a room of just the bot and one person.
func (s *Service) isManagementOrDM(ctx context.Context, roomID id.RoomID) (bool, error) {
	if mgmt := s.ManagementRoom(); mgmt != "" && mgmt == roomID {
		return true, nil
	}
	members, err := s.bot.JoinedMembers(ctx, roomID)
	if err != nil {
		return false, fmt.Errorf("list members of %s: %w", roomID, err)
	}
	return len(members.Joined) == 2, nil
}

func (s *Service) cmdHelp(ctx context.Context, c *commandContext) error {
	return s.reply(ctx, c.evt, policy.HelpText())
}

func (s *Service) cmdStatus(ctx context.Context, c *commandContext) error {
	f := c.facts
	var b strings.Builder
	if f.Class == policy.Unclassified {
		b.WriteString("This room is not classified. A room admin can classify it with `!policy classify clinical|operational|social`.")
		return s.reply(ctx, c.evt, b.String())
	}
	fmt.Fprintf(&b, "This room is %s.\n", f.Class.Describe())
	if f.Class != policy.Clinical {
		b.WriteString("Rooms of this class have no hardening requirements.")
		return s.reply(ctx, c.evt, b.String())
	}
	d := policy.Harden(f, s.req)
	if d.Compliant() {
		b.WriteString("It is compliant: every protection is in place.\n")
	} else {
		b.WriteString("It is NOT compliant.\n")
	}
	for _, ch := range policy.Checks(f, s.req) {
		mark := "✅"
		if !ch.OK {
			mark = "❌"
		}
		fmt.Fprintf(&b, "%s %s: %s\n", mark, ch.What, ch.Current)
	}
	for _, p := range d.Problems {
		fmt.Fprintf(&b, "• %s\n", p.Text)
	}
	if len(d.Fixes()) > 0 && len(d.Problems) == 0 {
		b.WriteString("I will restore the missing protections now.\n")
	}
	if lines, err := s.memberVerificationLines(ctx, c.evt.RoomID); err != nil {
		if isTransient(err) {
			return err
		}
		b.WriteString("Members' verification could not be read: " + matrixReason(err))
	} else if len(lines) > 0 {
		b.WriteString("Members' identity verification:\n" + strings.Join(lines, "\n"))
	}
	if err := s.reply(ctx, c.evt, strings.TrimSpace(b.String())); err != nil {
		return err
	}
	if len(d.Fixes()) > 0 {
		return s.enforce(ctx, f, policy.Cause{Kind: policy.CauseReconcile})
	}
	return nil
}

func (s *Service) cmdClassify(ctx context.Context, c *commandContext) error {
	class, ok := policy.ParseClass(c.cmd.Args[0])
	if !ok {
		return s.reply(ctx, c.evt, fmt.Sprintf("%q is not a room class. Use `!policy classify clinical`, `operational` or `social`.", c.cmd.Args[0]))
	}
	f := c.facts
	botLevel := f.PowerLevels.UserLevel(s.botID.String())
	need := f.PowerLevels.EventLevel(policy.PolicyEventType, true)
	if botLevel < need {
		if err := s.audit(ctx, c.evt.Sender.String(), c.evt.RoomID, "failed.classify", fmt.Sprintf("bot at power %d, needs %d", botLevel, need), nil); err != nil {
			return err
		}
		return s.reply(ctx, c.evt, fmt.Sprintf("I cannot record this room's class: that needs power level %d and I have %d. Make %s an admin of this room (power level %d) and type the command again.", need, botLevel, s.botID, policy.BotPowerLevel))
	}
	content := policy.PolicyContent{Class: class, ClassifiedBy: c.evt.Sender.String()}
	res, err := s.exec.Execute(ctx, c.evt.RoomID, c.evt.Sender.String(), policy.SetRoomPolicy(content, policy.RuleClassification, "classify as "+string(class), "classified by "+c.evt.Sender.String()))
	if err != nil {
		return err
	}
	if res.DryRun {
		return s.reply(ctx, c.evt, fmt.Sprintf("Dry run: I would classify this room as %s, but I am configured to change nothing.", class))
	}
	if len(res.Failures) > 0 {
		return s.reply(ctx, c.evt, "I could not record this room's class: "+strings.Join(res.Failures, " "))
	}
	previous := f.Class
	f.Class = class
	if err := s.audit(ctx, c.evt.Sender.String(), c.evt.RoomID, "classify", fmt.Sprintf("classified %s (was %s)", class, orNone(previous)), nil); err != nil {
		return err
	}
	if class != policy.Clinical {
		if err := s.savePolicy(ctx, f, nil, c.evt.Sender.String()); err != nil {
			return err
		}
		return s.reply(ctx, c.evt, fmt.Sprintf("This room is now %s.", class.Describe()))
	}
	if policy.Harden(f, s.req).Compliant() {
		if err := s.reply(ctx, c.evt, "This room is now clinical. It already has every protection clinical rooms need."); err != nil {
			return err
		}
	}
	if err := s.enforce(ctx, f, policy.Cause{Kind: policy.CauseClassified, Sender: c.evt.Sender.String()}); err != nil {
		return err
	}
	_, err = s.sweepRoom(ctx, f, policy.OnClassify)
	return err
}

func orNone(c policy.Class) string {
	if c == policy.Unclassified {
		return "unclassified"
	}
	return string(c)
}

func (s *Service) cmdNewRoom(ctx context.Context, c *commandContext) error {
	class, ok := policy.ParseClass(c.cmd.Args[0])
	if !ok {
		return s.reply(ctx, c.evt, fmt.Sprintf("%q is not a room class. Usage: `%s`", c.cmd.Args[0], c.spec.Usage))
	}
	name := strings.Join(c.cmd.Args[1:], " ")
	plan := policy.PlanNewRoom(class, name, c.evt.Sender.String(), s.req)
	res, err := s.exec.Execute(ctx, c.evt.RoomID, c.evt.Sender.String(), policy.CreatePlannedRoom(plan, policy.RuleNewRoom, fmt.Sprintf("%s room created for %s", class, c.evt.Sender)))
	if err != nil {
		return err
	}
	if res.DryRun {
		return s.reply(ctx, c.evt, "Dry run: I would create the room, but I am configured to change nothing.")
	}
	if len(res.Failures) > 0 || res.Room == "" {
		return s.reply(ctx, c.evt, "I could not create the room: "+strings.Join(res.Failures, " "))
	}
	f, err := s.loadFacts(ctx, res.Room)
	if err != nil {
		return err
	}
	if err := s.enforce(ctx, f, policy.Cause{Kind: policy.CauseReconcile}); err != nil {
		return err
	}
	return s.reply(ctx, c.evt, fmt.Sprintf("I have created the %s room %q (%s) and invited you as its admin. Accept the invitation to open it.", class, name, res.Room))
}
