package appservice

import (
	"context"
	"fmt"
	"strings"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/appservice/commands"
	"github.com/caldicott/caldicott/policy"
)

// commandContext is one command being handled (see package commands).
type commandContext = commands.Call

// commandEnv gives the command registry what it needs of the service.
type commandEnv struct{ s *Service }

func (e commandEnv) Reply(ctx context.Context, evt *event.Event, text string) error {
	return e.s.reply(ctx, evt, text)
}

func (e commandEnv) Audit(ctx context.Context, actor string, roomID id.RoomID, action, reason string, detail map[string]any) error {
	return e.s.audit(ctx, actor, roomID, action, reason, detail)
}

func (e commandEnv) LoadFacts(ctx context.Context, roomID id.RoomID) (policy.RoomFacts, error) {
	return e.s.facts.Room(ctx, roomID)
}

func (e commandEnv) IsManagementOrDM(ctx context.Context, roomID id.RoomID) (bool, error) {
	return e.s.isManagementOrDM(ctx, roomID)
}

func (e commandEnv) ManagementRoom() id.RoomID     { return e.s.ManagementRoom() }
func (e commandEnv) IsIGAdmin(user id.UserID) bool { return e.s.isIGAdmin(user) }
func (e commandEnv) OwnServer() string             { return e.s.cfg.Homeserver.Domain }

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
	return s.reply(ctx, c.Evt, s.commands.Help())
}

func (s *Service) cmdStatus(ctx context.Context, c *commandContext) error {
	f := c.Facts
	var b strings.Builder
	if f.Class == policy.Unclassified {
		b.WriteString("This room is not classified. A room admin can classify it with `!policy classify clinical|operational|social`.")
		return s.reply(ctx, c.Evt, b.String())
	}
	fmt.Fprintf(&b, "This room is %s.\n", f.Class.Describe())
	if f.Class != policy.Clinical {
		b.WriteString("Rooms of this class have no hardening requirements.")
		return s.reply(ctx, c.Evt, b.String())
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
	if lines, err := s.memberVerificationLines(ctx, c.Evt.RoomID); err != nil {
		if isTransient(err) {
			return err
		}
		b.WriteString("Members' verification could not be read: " + matrixReason(err))
	} else if len(lines) > 0 {
		b.WriteString("Members' identity verification:\n" + strings.Join(lines, "\n"))
	}
	if err := s.reply(ctx, c.Evt, strings.TrimSpace(b.String())); err != nil {
		return err
	}
	if len(d.Fixes()) > 0 {
		return s.enforce(ctx, f, policy.Cause{Kind: policy.CauseReconcile})
	}
	return nil
}

func (s *Service) cmdClassify(ctx context.Context, c *commandContext) error {
	class, ok := policy.ParseClass(c.Args[0])
	if !ok {
		return s.reply(ctx, c.Evt, fmt.Sprintf("%q is not a room class. Use `!policy classify clinical`, `operational` or `social`.", c.Args[0]))
	}
	f := c.Facts
	botLevel := f.PowerLevels.UserLevel(s.botID.String())
	need := f.PowerLevels.EventLevel(policy.PolicyEventType, true)
	if botLevel < need {
		if err := s.audit(ctx, c.Evt.Sender.String(), c.Evt.RoomID, "failed.classify", fmt.Sprintf("bot at power %d, needs %d", botLevel, need), nil); err != nil {
			return err
		}
		return s.reply(ctx, c.Evt, fmt.Sprintf("I cannot record this room's class: that needs power level %d and I have %d. Make %s an admin of this room (power level %d) and type the command again.", need, botLevel, s.botID, policy.BotPowerLevel))
	}
	content := policy.PolicyContent{Class: class, ClassifiedBy: c.Evt.Sender.String()}
	res, err := s.exec.Execute(ctx, c.Evt.RoomID, c.Evt.Sender.String(), policy.SetRoomPolicy(content, policy.RuleClassification, "classify as "+string(class), "classified by "+c.Evt.Sender.String()))
	if err != nil {
		return err
	}
	if res.DryRun {
		return s.reply(ctx, c.Evt, fmt.Sprintf("Dry run: I would classify this room as %s, but I am configured to change nothing.", class))
	}
	if len(res.Failures) > 0 {
		return s.reply(ctx, c.Evt, "I could not record this room's class: "+strings.Join(res.Failures, " "))
	}
	previous := f.Class
	f.Class = class
	if err := s.audit(ctx, c.Evt.Sender.String(), c.Evt.RoomID, "classify", fmt.Sprintf("classified %s (was %s)", class, orNone(previous)), nil); err != nil {
		return err
	}
	if class != policy.Clinical {
		if err := s.savePolicy(ctx, f, nil, c.Evt.Sender.String()); err != nil {
			return err
		}
		return s.reply(ctx, c.Evt, fmt.Sprintf("This room is now %s.", class.Describe()))
	}
	if policy.Harden(f, s.req).Compliant() {
		if err := s.reply(ctx, c.Evt, "This room is now clinical. It already has every protection clinical rooms need."); err != nil {
			return err
		}
	}
	if err := s.enforce(ctx, f, policy.Cause{Kind: policy.CauseClassified, Sender: c.Evt.Sender.String()}); err != nil {
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
	class, ok := policy.ParseClass(c.Args[0])
	if !ok {
		return s.reply(ctx, c.Evt, fmt.Sprintf("%q is not a room class. Usage: `%s`", c.Args[0], c.Spec.Usage))
	}
	name := strings.Join(c.Args[1:], " ")
	plan := policy.PlanNewRoom(class, name, c.Evt.Sender.String(), s.req)
	res, err := s.exec.Execute(ctx, c.Evt.RoomID, c.Evt.Sender.String(), policy.CreatePlannedRoom(plan, policy.RuleNewRoom, fmt.Sprintf("%s room created for %s", class, c.Evt.Sender)))
	if err != nil {
		return err
	}
	if res.DryRun {
		return s.reply(ctx, c.Evt, "Dry run: I would create the room, but I am configured to change nothing.")
	}
	if len(res.Failures) > 0 || res.Room == "" {
		return s.reply(ctx, c.Evt, "I could not create the room: "+strings.Join(res.Failures, " "))
	}
	f, err := s.facts.Room(ctx, res.Room)
	if err != nil {
		return err
	}
	if err := s.enforce(ctx, f, policy.Cause{Kind: policy.CauseReconcile}); err != nil {
		return err
	}
	return s.reply(ctx, c.Evt, fmt.Sprintf("I have created the %s room %q (%s) and invited you as its admin. Accept the invitation to open it.", class, name, res.Room))
}
