package hardening

import (
	"context"
	"fmt"
	"strings"

	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/appservice/commands"
	"github.com/caldicott/caldicott/appservice/executor"
	"github.com/caldicott/caldicott/internal/retry"
	"github.com/caldicott/caldicott/policy"
)

var CommandStatus = commands.Def[*Hardening]{
	CommandSpec: policy.CommandSpec{
		Name: "status", Usage: "!policy status", Place: policy.InRoom, Needs: policy.AnyMember,
		Summary: "Show this room's class, its retention and deletion, its protections and anything non-compliant.",
	},
	Doc: "Shows the room's class; for any classified room, its retention period and where it comes from, how " +
		"deletion stands (last and next sweep, deleted so far, the oldest message kept, the backlog, any error), a " +
		"legal hold and messages waiting for the patient record; for a clinical room, each protection with ✅ or ❌, " +
		"what is wrong and who must fix it, and members' identity verification. If a protection is missing and the " +
		"bot can restore it, it does so at once. A last line says which Caldicott leads (its host and process), at " +
		"which epoch of the leader's lease and since when, for a trust that runs two or more on one database.",
	Run: (*Hardening).cmdStatus,
}

func (s *Hardening) cmdStatus(ctx context.Context, c *commands.Call) error {
	f := c.Facts
	var b strings.Builder
	lead := s.leaderLine(ctx)
	if f.Class == policy.Unclassified {
		b.WriteString("This room is not classified. A room admin can classify it with `!policy classify clinical|operational|social`.")
		return s.Reply(ctx, c.Evt, b.String()+lead)
	}
	fmt.Fprintf(&b, "This room is %s.\n", f.Class.Describe())
	if line := s.retentionLine(ctx, f); line != "" {
		b.WriteString(line + "\n")
	}
	if f.Class != policy.Clinical {
		b.WriteString("Rooms of this class have no hardening requirements.")
		return s.Reply(ctx, c.Evt, b.String()+lead)
	}
	d := policy.Harden(f, s.Requirements())
	if d.Compliant() {
		b.WriteString("It is compliant: every protection is in place.\n")
	} else {
		b.WriteString("It is NOT compliant.\n")
	}
	for _, ch := range policy.Checks(f, s.Requirements()) {
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
	if lines, err := s.Verify.MemberLines(ctx, c.Evt.RoomID); err != nil {
		if retry.IsTransient(err) {
			return err
		}
		b.WriteString("Members' verification could not be read: " + executor.MatrixReason(err))
	} else if len(lines) > 0 {
		b.WriteString("Members' identity verification:\n" + strings.Join(lines, "\n"))
	}
	if err := s.Reply(ctx, c.Evt, strings.TrimSpace(b.String())+lead); err != nil {
		return err
	}
	if len(d.Fixes()) > 0 {
		return s.Protect(ctx, f, policy.Cause{Kind: policy.CauseReconcile})
	}
	return nil
}

// leaderLine is the status's last line: which Caldicott leads, at which
// epoch and since when ("" when the lease cannot be read). The holder is
// named by host and process only, without its random part.
func (s *Hardening) leaderLine(ctx context.Context) string {
	st, err := s.Store.LeaseHolder(ctx)
	if err != nil || st.Epoch == 0 {
		if err != nil {
			s.Log.Warn().Err(err).Msg("Could not read the leader's lease for the room's status")
		}
		return ""
	}
	line := fmt.Sprintf("\nLeading: %s (epoch %d)", LeaderName(st.Holder), st.Epoch)
	if !st.Since.IsZero() {
		line += ", since " + st.Since.UTC().Format("2006-01-02 15:04:05 UTC")
	}
	return line + "."
}

// LeaderName is a lease holder's host and process ("host/pid"), leaving
// out the random part that only keeps restarts apart.
func LeaderName(holder string) string {
	parts := strings.Split(holder, "/")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" {
		return holder
	}
	return parts[0] + "/" + parts[1]
}

var CommandClassify = commands.Def[*Hardening]{
	CommandSpec: policy.CommandSpec{
		Name: "classify", Usage: "!policy classify clinical|operational|social [reason]",
		Summary: "Set this room's class; clinical rooms are hardened at once. Moving a room out of clinical needs " +
			"the IG team.",
		MinArgs: 1, MaxArgs: -1, Place: policy.InRoom, Needs: policy.RoomPolicyPower,
	},
	Doc: "Records the class in the room's `org.caldicott.policy` state. `clinical` hardens the room at once. Moving " +
		"a clinical room to another class is the IG team's decision: a room admin's request (with the reason given) " +
		"goes to the management room and the room stays clinical until an IG admin confirms it; an IG admin's takes " +
		"effect at once. Changing the class in room state directly is set back in the same way. A room in version 12 " +
		"or later, or created with additional creators, cannot be made clinical: its creators outrank every power " +
		"level, the bot's included.",
	Run: (*Hardening).cmdClassify,
}

func (s *Hardening) cmdClassify(ctx context.Context, c *commands.Call) error {
	class, ok := policy.ParseClass(c.Args[0])
	if !ok {
		return s.Reply(ctx, c.Evt, fmt.Sprintf("%q is not a room class. Use `!policy classify clinical`, `operational` or `social`.", c.Args[0]))
	}
	f := c.Facts
	switch policy.DecideClassChange(f.Class, class, s.IGAdminIn(c.Evt.Sender, f)) {
	case policy.ChangeNothing:
		return s.Reply(ctx, c.Evt, fmt.Sprintf("This room is already %s.", class.Describe()))
	case policy.ChangeNeedsIG:
		if !policy.OwnTrustRoom(f.Creator, s.Cfg.Homeserver.Domain) {
			// Our IG team has no say over another trust's room.
			return s.Reply(ctx, c.Evt, fmt.Sprintf("This room was created by another trust (%s), so moving it out of clinical is for that trust's IG team, not %s's. Ask them; the room stays clinical meanwhile.", id.UserID(f.Creator).Homeserver(), s.Cfg.Trust.Name))
		}
		return s.requestDowngrade(ctx, c, f, class)
	}
	if refusal, err := s.clinicalVersionRefusal(ctx, c.Evt.RoomID, class); err != nil || refusal != "" {
		if err != nil {
			return err
		}
		return s.Reply(ctx, c.Evt, refusal)
	}
	botLevel := f.PowerLevels.UserLevel(s.BotID.String())
	need := f.PowerLevels.EventLevel(policy.PolicyEventType, true)
	if botLevel < need {
		if err := s.Audit(ctx, c.Evt.Sender.String(), c.Evt.RoomID, "failed.classify", fmt.Sprintf("bot at power %d, needs %d", botLevel, need), nil); err != nil {
			return err
		}
		return s.Reply(ctx, c.Evt, fmt.Sprintf("I cannot record this room's class: that needs power level %d and I have %d. Make %s an admin of this room (power level %d) and type the command again.", need, botLevel, s.BotID, policy.BotPowerLevel))
	}
	content := policy.PolicyContent{Class: class, ClassifiedBy: c.Evt.Sender.String()}
	res, err := s.Exec.Execute(ctx, c.Evt.RoomID, c.Evt.Sender.String(), policy.SetRoomPolicy(content, policy.RuleClassification, "classify as "+string(class), "classified by "+c.Evt.Sender.String()))
	if err != nil {
		return err
	}
	if res.DryRun {
		return s.Reply(ctx, c.Evt, fmt.Sprintf("Dry run: I would classify this room as %s, but I am configured to change nothing.", class))
	}
	if len(res.Failures) > 0 {
		return s.Reply(ctx, c.Evt, "I could not record this room's class: "+strings.Join(res.Failures, " "))
	}
	previous := f.Class
	f.Class = class
	if err := s.Audit(ctx, c.Evt.Sender.String(), c.Evt.RoomID, "classify", fmt.Sprintf("classified %s (was %s)", class, orNone(previous)), nil); err != nil {
		return err
	}
	if class != policy.Clinical {
		if err := s.savePolicy(ctx, f, nil, c.Evt.Sender.String()); err != nil {
			return err
		}
		return s.Reply(ctx, c.Evt, fmt.Sprintf("This room is now %s.", class.Describe()))
	}
	if policy.Harden(f, s.Requirements()).Compliant() {
		if err := s.Reply(ctx, c.Evt, "This room is now clinical. It already has every protection clinical rooms need."); err != nil {
			return err
		}
	}
	if err := s.Protect(ctx, f, policy.Cause{Kind: policy.CauseClassified, Sender: c.Evt.Sender.String()}); err != nil {
		return err
	}
	_, err = s.Members.JudgeRoom(ctx, f, policy.OnClassify)
	return err
}

func orNone(c policy.Class) string {
	if c == policy.Unclassified {
		return "unclassified"
	}
	return string(c)
}

var CommandNewRoom = commands.Def[*Hardening]{
	CommandSpec: policy.CommandSpec{
		Name: "new-room", Usage: "!policy new-room clinical|operational|social <name>",
		Summary: "Create a room already classified (and hardened if clinical), with you as its admin.",
		MinArgs: 2, MaxArgs: -1, Place: policy.InManagementOrDM, Needs: policy.OwnTrustUser,
	},
	Doc: "Creates a room already classified — and, if clinical, already protected — with the bot as creator and you " +
		"invited as admin (power 100).",
	Run: (*Hardening).cmdNewRoom,
}

func (s *Hardening) cmdNewRoom(ctx context.Context, c *commands.Call) error {
	class, ok := policy.ParseClass(c.Args[0])
	if !ok {
		return s.Reply(ctx, c.Evt, fmt.Sprintf("%q is not a room class. Usage: `%s`", c.Args[0], c.Spec.Usage))
	}
	name := strings.Join(c.Args[1:], " ")
	plan := policy.PlanNewRoom(class, name, c.Evt.Sender.String(), s.Requirements())
	res, err := s.Exec.Execute(ctx, c.Evt.RoomID, c.Evt.Sender.String(), policy.CreatePlannedRoom(plan, policy.RuleNewRoom, fmt.Sprintf("%s room created for %s", class, c.Evt.Sender)))
	if err != nil {
		return err
	}
	if res.DryRun {
		return s.Reply(ctx, c.Evt, "Dry run: I would create the room, but I am configured to change nothing.")
	}
	if len(res.Failures) > 0 || res.Room == "" {
		return s.Reply(ctx, c.Evt, "I could not create the room: "+strings.Join(res.Failures, " "))
	}
	f, err := s.Facts.Room(ctx, res.Room)
	if err != nil {
		return err
	}
	if err := s.Protect(ctx, f, policy.Cause{Kind: policy.CauseReconcile}); err != nil {
		return err
	}
	return s.Reply(ctx, c.Evt, fmt.Sprintf("I have created the %s room %q (%s) and invited you as its admin. Accept the invitation to open it.", class, name, res.Room))
}
