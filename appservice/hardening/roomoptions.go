package hardening

import (
	"context"
	"fmt"
	"strings"

	"github.com/caldicott/caldicott/appservice/commands"
	"github.com/caldicott/caldicott/appservice/kit"
	"github.com/caldicott/caldicott/policy"
)

// A clinical room's options say who may be in it (roles, teams), whether
// eligible requesters are let in without an admin, and how unverified
// members are suspended. Each command rewrites the room's
// org.caldicott.policy state event with the class kept (setRoomOption).

var CommandRoles = commands.Def[*Hardening]{
	CommandSpec: policy.CommandSpec{
		Name: "roles", Usage: "!policy roles Consultant, Registrar|any",
		Summary: "Room admins: only staff with these directory roles may be in this clinical room.",
		MinArgs: 1, MaxArgs: -1, Place: policy.InRoom, Needs: policy.RoomPolicyPower,
	},
	Doc: "Only staff with these directory roles may be in this clinical room; members who do not fit are removed — " +
		"but only those below your own power level in the room: the filter acts for you, so it removes only people " +
		"you could have removed yourself. Members at or above your level who do not fit stay (now and at later " +
		"directory checks), and you are told who they are and who in the room has the power to decide about them. An " +
		"IG admin of this trust, in a room of this trust, reaches everyone.",
	Run: (*Hardening).cmdRoles,
}

// cmdRoles lets only staff with the directory roles given stay in the room.
func (s *Hardening) cmdRoles(ctx context.Context, c *commands.Call) error {
	o, ok, err := s.roomOption(ctx, c)
	if !ok {
		return err
	}
	o.content.AllowedRoles, o.content.FiltersBy, o.filter = o.list(), c.Evt.Sender.String(), true
	return s.setRoomOption(ctx, c, o, "Roles allowed in this room: "+kit.OrWord(strings.Join(o.content.AllowedRoles, ", "), "any")+".")
}

var CommandTeams = commands.Def[*Hardening]{
	CommandSpec: policy.CommandSpec{
		Name: "teams", Usage: "!policy teams Cardiology, Ward 7|any",
		Summary: "Room admins: only staff of these directory teams may be in this clinical room.",
		MinArgs: 1, MaxArgs: -1, Place: policy.InRoom, Needs: policy.RoomPolicyPower,
	},
	Doc: "Only staff of these directory teams may be in this clinical room; members who do not fit are removed — " +
		"but, as with `roles`, only those below your own power level in the room; anyone at or above it is left for " +
		"someone with more power, and you are told who.",
	Run: (*Hardening).cmdTeams,
}

// cmdTeams lets only staff of the directory teams given stay in the room.
func (s *Hardening) cmdTeams(ctx context.Context, c *commands.Call) error {
	o, ok, err := s.roomOption(ctx, c)
	if !ok {
		return err
	}
	o.content.AllowedTeams, o.content.FiltersBy, o.filter = o.list(), c.Evt.Sender.String(), true
	return s.setRoomOption(ctx, c, o, "Teams allowed in this room: "+kit.OrWord(strings.Join(o.content.AllowedTeams, ", "), "any")+".")
}

var CommandAutoApprove = commands.Def[*Hardening]{
	CommandSpec: policy.CommandSpec{
		Name: "auto-approve", Usage: "!policy auto-approve directory|off",
		Summary: "Room admins: let eligible staff in on request without waiting for an admin.",
		MinArgs: 1, MaxArgs: 1, Place: policy.InRoom, Needs: policy.RoomPolicyPower,
	},
	Doc: "Let staff the directory shows eligible in on request, without waiting for an admin.",
	Run: (*Hardening).cmdAutoApprove,
}

// cmdAutoApprove lets eligible requesters in without an admin, or not.
func (s *Hardening) cmdAutoApprove(ctx context.Context, c *commands.Call) error {
	o, ok, err := s.roomOption(ctx, c)
	if !ok {
		return err
	}
	var done string
	switch strings.ToLower(o.arg) {
	case "directory":
		o.content.AutoApprove = policy.AutoApproveDirectory
		done = "Requests from staff the directory shows eligible are now approved at once."
	case "off":
		o.content.AutoApprove = ""
		done = "Every request now waits for a room admin."
	default:
		return s.Reply(ctx, c.Evt, "Use `!policy auto-approve directory` or `!policy auto-approve off`.")
	}
	return s.setRoomOption(ctx, c, o, done)
}

var CommandSuspendMode = commands.Def[*Hardening]{
	CommandSpec: policy.CommandSpec{
		Name: "suspend-mode", Usage: "!policy suspend-mode remove|mute",
		Summary: "Room admins: remove unverified members (default) or mute them until verified.",
		MinArgs: 1, MaxArgs: 1, Place: policy.InRoom, Needs: policy.RoomPolicyPower,
	},
	Doc: "How unverified members are suspended here: removed until verified (default), or muted (kept, power level " +
		"-1 so they cannot post) until verified.",
	Run: (*Hardening).cmdSuspendMode,
}

// cmdSuspendMode removes unverified members from the room, or mutes them.
func (s *Hardening) cmdSuspendMode(ctx context.Context, c *commands.Call) error {
	o, ok, err := s.roomOption(ctx, c)
	if !ok {
		return err
	}
	var done string
	switch strings.ToLower(o.arg) {
	case "mute":
		o.content.Suspend = policy.SuspendMute
		done = "Members whose identity is not verified will be muted here (they stay, but cannot post) instead of removed."
	case "remove":
		o.content.Suspend = ""
		done = "Members whose identity is not verified will be removed from this room until verified."
	default:
		return s.Reply(ctx, c.Evt, "Use `!policy suspend-mode remove` or `!policy suspend-mode mute`.")
	}
	return s.setRoomOption(ctx, c, o, done)
}

// roomOption is the room's policy with one option being changed.
type roomOption struct {
	facts   policy.RoomFacts
	content policy.PolicyContent
	// arg is the option's value as typed.
	arg string
	// filter: a roles or teams filter, which may leave out of its reach
	// members who no longer fit (filterLeft).
	filter bool
}

// roomOption reads the room's policy for an option to be changed; only a
// clinical room has options (ok is false, and the caller told, otherwise).
func (s *Hardening) roomOption(ctx context.Context, c *commands.Call) (o roomOption, ok bool, err error) {
	f := c.Facts
	if f.Class != policy.Clinical {
		return o, false, s.Reply(ctx, c.Evt, "These options are for clinical rooms; classify the room first with `!policy classify clinical`.")
	}
	return roomOption{facts: f, content: f.PolicyContent(f.Class), arg: strings.TrimSpace(strings.Join(c.Args, " "))}, true, nil
}

// list reads the value as a comma-separated list; "any" is no list.
func (o roomOption) list() []string {
	if strings.EqualFold(o.arg, "any") {
		return nil
	}
	var out []string
	for _, p := range strings.Split(o.arg, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// setRoomOption writes the room's policy with the option changed, audits
// it, tells the caller done, and judges the members again.
func (s *Hardening) setRoomOption(ctx context.Context, c *commands.Call, o roomOption, done string) error {
	f, content, arg := o.facts, o.content, o.arg
	res, err := s.Exec.Execute(ctx, c.Evt.RoomID, c.Evt.Sender.String(), policy.SetRoomPolicy(content, policy.RuleRoomOption, c.Name+" "+arg, fmt.Sprintf("%s set to %q by %s", c.Name, arg, c.Evt.Sender)))
	if err != nil {
		return err
	}
	if res.DryRun {
		return s.Reply(ctx, c.Evt, "Dry run: I would change this room's policy, but I am configured to change nothing.")
	}
	if len(res.Failures) > 0 {
		return s.Reply(ctx, c.Evt, "I could not change the room's policy: "+strings.Join(res.Failures, " "))
	}
	if err := s.Audit(ctx, c.Evt.Sender.String(), c.Evt.RoomID, "room_option", fmt.Sprintf("%s set to %q", c.Name, arg), nil); err != nil {
		return err
	}
	if err := s.Reply(ctx, c.Evt, done); err != nil {
		return err
	}
	// Members who no longer fit are removed, as on classification, except
	// those the filters cannot reach: the caller could not have removed
	// them, so they go back to the caller for someone with more power.
	f.Policy = content
	if _, err = s.Members.JudgeRoom(ctx, f, policy.OnClassify); err != nil {
		return err
	}
	if !o.filter {
		return nil
	}
	return s.filterLeft(ctx, c, f)
}

// filterLeft tells whoever set a filter which members it left in place
// because they out-rank them, and whom to ask about them.
func (s *Hardening) filterLeft(ctx context.Context, c *commands.Call, f policy.RoomFacts) error {
	left, err := s.Members.FilterLeft(ctx, f)
	if err != nil || len(left) == 0 {
		return err
	}
	members, err := s.Facts.Members(ctx, c.Evt.RoomID)
	if err != nil {
		return err
	}
	highest := f.PowerLevels.UserLevel(left[0])
	for _, u := range left {
		highest = max(highest, f.PowerLevels.UserLevel(u))
	}
	deciders := policy.Deciders(policy.ActRemove, highest, s.People(members), s.BotID.String(), f.PowerLevels)
	if err := s.Audit(ctx, c.Evt.Sender.String(), c.Evt.RoomID, "room_option_left", fmt.Sprintf("%d member(s) failing the new %s filter left in place: at or above the setter's power level", len(left), c.Name), map[string]any{"user_ids": left}); err != nil {
		return err
	}
	return s.Reply(ctx, c.Evt, policy.FilterLeftReply(left, f.PowerLevels.UserLevel(c.Evt.Sender.String()), deciders, f.PowerLevels))
}
